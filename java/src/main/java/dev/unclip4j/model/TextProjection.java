package dev.unclip4j.model;

import dev.unclip4j.bindings.Activation;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.io.Checkpoint;
import dev.unclip4j.io.WeightReader;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * diffusers v0.20.0 {@code UnCLIPTextProjModel} (pipelines/unclip/text_proj.py): turns the prior's
 * image embedding and the text encoder's outputs into the decoder's conditioning, readable top to
 * bottom in {@link #forward} in the order of diffusers' forward (lines 55-86):
 *
 * <ol>
 *   <li>the image embedding per row: with classifier-free guidance the learned embedding for the
 *       unconditional first half, the given image embeddings for the second;
 *   <li>additive_clip_time_embeddings = embedding_proj(prompt) + clip_image_embeddings_project_to_time_embeddings(image);
 *   <li>k extra context tokens from the image embedding (clip_extra_context_tokens_proj);
 *   <li>the text tokens: encoder_hidden_states_proj, then text_encoder_hidden_states_norm;
 *   <li>the decoder's context: [extra tokens (k), text tokens (L)].
 * </ol>
 *
 * <p>Weights are uploaded once (typed fields named after the checkpoint keys) and owned here;
 * activations come from the caller's {@link Workspace}.
 */
public final class TextProjection implements AutoCloseable {
    static final String COMPONENT = TextProjectionConfig.CLASS_NAME;
    private static final float EPS = 1e-5f;  // nn.LayerNorm's default

    private final Backend backend;
    private final DType dtype;
    private final TextProjectionConfig config;

    private final Tensor learnedClassifierFreeGuidanceEmbeddings;                          // [1, clip] (stored [clip])
    private final Tensor embeddingProjWeight, embeddingProjBias;                           // [T, clip], [T]
    private final Tensor clipImageEmbeddingsProjectToTimeEmbeddingsWeight;                 // [T, clip]
    private final Tensor clipImageEmbeddingsProjectToTimeEmbeddingsBias;                   // [T]
    private final Tensor clipExtraContextTokensProjWeight, clipExtraContextTokensProjBias; // [k·X, clip], [k·X]: rows permuted
    private final Tensor encoderHiddenStatesProjWeight, encoderHiddenStatesProjBias;       // [X, clip], [X]
    private final Tensor textEncoderHiddenStatesNormWeight, textEncoderHiddenStatesNormBias;  // [X]
    private final List<Tensor> owned;

    /**
     * The outputs of one pass, workspace tensors valid until the workspace's next reset.
     *
     * @param textEncoderHiddenStates [B, k + L, cross_attention_dim] the decoder's context tokens
     * @param additiveClipTimeEmbeddings [B, time_embed_dim] added to the decoder's time embedding
     */
    public record Output(Tensor textEncoderHiddenStates, Tensor additiveClipTimeEmbeddings) {}

    /** Reads {@code dir}/config.json (every key checked before any weight moves) and {@code dir}/diffusion_pytorch_model.safetensors. */
    public static TextProjection load(Path dir, Backend backend, DType dtype) {
        TextProjectionConfig config = TextProjectionConfig.read(dir.resolve("config.json"));
        try (Checkpoint weights = Checkpoint.open(dir.resolve("diffusion_pytorch_model.safetensors"))) {
            return new TextProjection(backend, config, weights, dtype);
        }
    }

    /** Uploads the weights in {@code dtype}; a missing, misshapen or unexpected tensor is a WeightFormatException naming it. */
    public TextProjection(Backend backend, TextProjectionConfig config, Checkpoint weights, DType dtype) {
        this.backend = backend;
        this.dtype = dtype;
        this.config = config;
        long clip = config.clipEmbeddingsDim(), t = config.timeEmbedDim(), x = config.crossAttentionDim();
        int k = config.clipExtraContextTokens();
        try (WeightReader r = new WeightReader(COMPONENT, weights, backend, dtype)) {
            learnedClassifierFreeGuidanceEmbeddings = r.get("learned_classifier_free_guidance_embeddings", clip).reshape(1, clip);
            embeddingProjWeight = r.get("embedding_proj.weight", t, clip);
            embeddingProjBias = r.get("embedding_proj.bias", t);
            clipImageEmbeddingsProjectToTimeEmbeddingsWeight = r.get("clip_image_embeddings_project_to_time_embeddings.weight", t, clip);
            clipImageEmbeddingsProjectToTimeEmbeddingsBias = r.get("clip_image_embeddings_project_to_time_embeddings.bias", t);
            clipExtraContextTokensProjWeight = tokenMajor(r, "clip_extra_context_tokens_proj.weight", k, x, clip);
            clipExtraContextTokensProjBias = tokenMajor(r, "clip_extra_context_tokens_proj.bias", k, x, 1);
            encoderHiddenStatesProjWeight = r.get("encoder_hidden_states_proj.weight", x, clip);
            encoderHiddenStatesProjBias = r.get("encoder_hidden_states_proj.bias", x);
            textEncoderHiddenStatesNormWeight = r.get("text_encoder_hidden_states_norm.weight", x);
            textEncoderHiddenStatesNormBias = r.get("text_encoder_hidden_states_norm.bias", x);
            owned = r.finish();
        }
    }

    /**
     * clip_extra_context_tokens_proj's rows reordered once so that its output is already [B, k, X].
     * diffusers reshapes the projection [B, k·X] to [B, X, k] and permutes it to [B, k, X] (lines 78-80):
     * output feature n is channel c = n / k of token t = n % k. Putting stored row c·k + t at row t·X + c
     * (weight and bias alike) makes the Linear write token t's channels contiguously: the transpose costs
     * nothing per call. {@code cols} is 1 for the bias.
     */
    private static Tensor tokenMajor(WeightReader r, String name, int k, long x, long cols) {
        float[] stored = cols == 1 ? r.floats(name, k * x) : r.floats(name, k * x, cols);
        float[] out = new float[stored.length];
        for (int c = 0; c < x; c++) {
            for (int t = 0; t < k; t++) {
                System.arraycopy(stored, (int) ((c * k + t) * cols), out, (int) ((t * x + c) * cols), (int) cols);
            }
        }
        long[] shape = cols == 1 ? new long[] {k * x} : new long[] {k * x, cols};
        return r.track(r.backend().fromFloats(r.dtype(), out, shape));
    }

    public TextProjectionConfig config() {
        return config;
    }

    public DType dtype() {
        return dtype;
    }

    /**
     * One pass, inputs as UnCLIPPipeline passes them (pipeline_unclip.py:352-357).
     *
     * @param imageEmbeddings [N, clip] the prior's post-processed output: N = B/2 with guidance (one
     *     per image; the unconditional half takes the learned embedding), N = B without
     * @param promptEmbeds [B, clip] the CLIP text embeddings (with guidance: unconditional half first)
     * @param textEncoderHiddenStates [B, L, clip] the text's last hidden state (same order)
     * @param doClassifierFreeGuidance UnCLIPPipeline's flag: prior or decoder guidance scale > 1
     */
    public Output forward(Tensor imageEmbeddings, Tensor promptEmbeds, Tensor textEncoderHiddenStates,
                          boolean doClassifierFreeGuidance, Workspace ws) {
        int clip = config.clipEmbeddingsDim(), k = config.clipExtraContextTokens(), x = config.crossAttentionDim();
        int b = checkInputs(imageEmbeddings, promptEmbeds, textEncoderHiddenStates, doClassifierFreeGuidance);
        int textLen = Math.toIntExact(textEncoderHiddenStates.dim(1));

        // 1. the image embedding per row: [learned × N, imageEmbeddings] with guidance (lines 56-63)
        Tensor image = imageEmbeddings;
        if (doClassifierFreeGuidance) {
            int n = b / 2;
            image = ws.allocate(dtype, b, clip);                                             // [B, clip]
            Tensor flat = image.reshape(1, (long) b * clip);                                 // [1, B·clip]
            for (int i = 0; i < n; i++) backend.copyColumns(learnedClassifierFreeGuidanceEmbeddings, 0, flat, (long) i * clip, clip);
            backend.copyColumns(imageEmbeddings.reshape(1, (long) n * clip), 0, flat, (long) n * clip, (long) n * clip);
        }

        // 2. additive clip time embeddings: the projected image embedding + the projected prompt embedding
        Tensor additive = ws.allocate(dtype, b, config.timeEmbedDim());                      // [B, T]
        backend.linear(promptEmbeds, embeddingProjWeight, embeddingProjBias, null, additive, Activation.NONE);
        backend.linear(image, clipImageEmbeddingsProjectToTimeEmbeddingsWeight, clipImageEmbeddingsProjectToTimeEmbeddingsBias,
                additive, additive, Activation.NONE);                                        // [B, T]  += …

        // 3. the extra context tokens: [B, k·X] read as [B, k, X] (rows permuted at load, see tokenMajor)
        Tensor extra = ws.allocate(dtype, b, (long) k * x);                                  // [B, k·X]
        backend.linear(image, clipExtraContextTokensProjWeight, clipExtraContextTokensProjBias, null, extra, Activation.NONE);

        // 4. the text tokens: encoder_hidden_states_proj, text_encoder_hidden_states_norm
        Tensor text = ws.allocate(dtype, b, textLen, x);                                     // [B, L, X]
        backend.linear(textEncoderHiddenStates, encoderHiddenStatesProjWeight, encoderHiddenStatesProjBias, null, text,
                Activation.NONE);
        backend.layerNorm(text, textEncoderHiddenStatesNormWeight, textEncoderHiddenStatesNormBias, text, EPS);

        // 5. the decoder's context: torch.cat([extra tokens, text tokens], dim=1)
        Tensor context = ws.allocate(dtype, b, k + textLen, x);                              // [B, k + L, X]
        Tensor rows = context.reshape(b, (long) (k + textLen) * x);                          // [B, (k + L)·X]
        backend.copyColumns(extra, 0, rows, 0, (long) k * x);
        backend.copyColumns(text.reshape(b, (long) textLen * x), 0, rows, (long) k * x, (long) textLen * x);
        return new Output(context, additive);
    }

    /** The batch B, after checking every input's shape and dtype. */
    private int checkInputs(Tensor image, Tensor prompt, Tensor text, boolean guidance) {
        int clip = config.clipEmbeddingsDim();
        checkInput("imageEmbeddings", image);
        checkInput("promptEmbeds", prompt);
        checkInput("textEncoderHiddenStates", text);
        if (prompt.rank() != 2 || prompt.dim(0) < 1 || prompt.dim(1) != clip) {
            throw UnclipException.invalidArgument(COMPONENT, "promptEmbeds is " + Arrays.toString(prompt.shape())
                    + ", expected [B ≥ 1, clip_embeddings_dim = " + clip + "]");
        }
        long b = prompt.dim(0);
        if (guidance && b % 2 != 0) {
            throw UnclipException.invalidArgument(COMPONENT, "with classifier-free guidance the batch is an unconditional and a "
                    + "conditional half, but promptEmbeds has " + b + " rows");
        }
        long n = guidance ? b / 2 : b;
        if (!Arrays.equals(image.shape(), new long[] {n, clip})) {
            throw UnclipException.invalidArgument(COMPONENT, "imageEmbeddings is " + Arrays.toString(image.shape()) + ", expected ["
                    + n + ", " + clip + "] (" + (guidance ? "one per conditional row: the learned embedding fills the "
                    + "unconditional half" : "one per row") + ")");
        }
        if (text.rank() != 3 || text.dim(0) != b || text.dim(1) < 1 || text.dim(2) != clip) {
            throw UnclipException.invalidArgument(COMPONENT, "textEncoderHiddenStates is " + Arrays.toString(text.shape())
                    + ", expected [" + b + ", L ≥ 1, " + clip + "]");
        }
        return Math.toIntExact(b);
    }

    private void checkInput(String name, Tensor t) {
        if (t == null) throw UnclipException.invalidArgument(COMPONENT, name + " is null");
        if (t.dtype() != dtype) {
            throw UnclipException.invalidArgument(COMPONENT, name + " is " + t.dtype() + ", the model runs in " + dtype);
        }
    }

    @Override
    public void close() {
        owned.forEach(Tensor::close);
    }
}
