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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The unCLIP diffusion prior, diffusers v0.20.0 {@code PriorTransformer} (models/prior_transformer.py),
 * readable top to bottom in {@link #forward} in the order of diffusers' forward (lines 261-355):
 *
 * <ol>
 *   <li>time: the sinusoidal projection (flip_sin_to_cos, shift 0) and TimestepEmbedding's MLP;
 *   <li>proj_embedding (the CLIP text embedding): embedding_proj_norm, embedding_proj;
 *   <li>encoder_hidden_states (the text's last hidden state): encoder_hidden_states_proj;
 *   <li>hidden_states (the noisy image embedding): proj_in;
 *   <li>the token sequence {@code [text (L), proj, time, hidden, prd]} plus positional_embedding;
 *   <li>the attention mask: text padding and causal, as diffusers' additive −10000 (see {@link #keyMask});
 *   <li>norm_in, the transformer blocks ({@link PriorTransformerBlock});
 *   <li>norm_out and proj_to_clip_embeddings at the last token.
 * </ol>
 *
 * <p>Weights are uploaded once (typed fields named after the checkpoint keys) and owned here;
 * activations come from the caller's {@link Workspace}: after the first pass at a batch size a
 * forward allocates nothing outside it.
 */
public final class PriorTransformer implements AutoCloseable {
    static final String COMPONENT = PriorConfig.CLASS_NAME;
    private static final float EPS = 1e-5f;  // nn.LayerNorm's default, every LayerNorm here

    private final Backend backend;
    private final DType dtype;
    private final PriorConfig config;
    private final int inner;

    private final Tensor timeEmbeddingLinear1Weight, timeEmbeddingLinear1Bias;        // [T, inner], [T]
    private final Tensor timeEmbeddingLinear2Weight, timeEmbeddingLinear2Bias;        // [inner, T], [inner]
    private final Tensor projInWeight, projInBias;                                    // [inner, E], [inner]
    private final Tensor embeddingProjNormWeight, embeddingProjNormBias;              // [Ep] or null
    private final Tensor embeddingProjWeight, embeddingProjBias;                      // [inner, Ep], [inner]
    private final Tensor encoderHiddenStatesProjWeight, encoderHiddenStatesProjBias;  // [inner, E] or null
    private final Tensor positionalEmbedding;                                         // [P, inner] (stored [1, P, inner])
    private final Tensor prdEmbedding;                                                // [1, inner] (stored [1, 1, inner]) or null
    private final List<PriorTransformerBlock> transformerBlocks = new ArrayList<>();
    private final Tensor normInWeight, normInBias;                                    // [inner] or null
    private final Tensor normOutWeight, normOutBias;                                  // [inner]
    private final Tensor projToClipEmbeddingsWeight, projToClipEmbeddingsBias;        // [C, inner], [C]
    private final Tensor clipMean, clipStd;                                           // [C] (stored [1, C])
    private final List<Tensor> owned;

    /**
     * The outputs of one pass, workspace tensors valid until the workspace's next reset.
     *
     * @param predictedImageEmbedding [B, clip_embed_dim] (diffusers returns [B, 1, clip_embed_dim]
     *     when added_emb_type is null: the same values)
     * @param timeEmbedding [B, inner] TimestepEmbedding's output (the time token)
     * @param sequence [B, S, inner] the tokens after the positional embedding, before norm_in
     * @param block0 [B, S, inner] the first block's output, or null without blocks
     */
    public record Output(Tensor predictedImageEmbedding, Tensor timeEmbedding, Tensor sequence, Tensor block0) {}

    /** Reads {@code dir}/config.json (every key checked before any weight moves) and {@code dir}/diffusion_pytorch_model.safetensors. */
    public static PriorTransformer load(Path dir, Backend backend, DType dtype) {
        PriorConfig config = PriorConfig.read(dir.resolve("config.json"));
        try (Checkpoint weights = Checkpoint.open(dir.resolve("diffusion_pytorch_model.safetensors"))) {
            return new PriorTransformer(backend, config, weights, dtype);
        }
    }

    /**
     * Uploads the weights to {@code backend} in {@code dtype} (F32 on the CPU; F32, BF16 or F16 on
     * CUDA), each looked up by its checkpoint key and shape-checked against {@code config}; a
     * missing, misshapen or unexpected tensor is a WeightFormatException naming it.
     */
    public PriorTransformer(Backend backend, PriorConfig config, Checkpoint weights, DType dtype) {
        this.backend = backend;
        this.dtype = dtype;
        this.config = config;
        this.inner = config.innerDim();
        long e = config.embeddingDim(), ep = config.embeddingProjDim(), t = config.timeEmbedDim(), c = config.clipEmbedDim();
        try (WeightReader r = new WeightReader(COMPONENT, weights, backend, dtype)) {
            timeEmbeddingLinear1Weight = r.get("time_embedding.linear_1.weight", t, inner);
            timeEmbeddingLinear1Bias = r.get("time_embedding.linear_1.bias", t);
            timeEmbeddingLinear2Weight = r.get("time_embedding.linear_2.weight", inner, t);
            timeEmbeddingLinear2Bias = r.get("time_embedding.linear_2.bias", inner);
            projInWeight = r.get("proj_in.weight", inner, e);
            projInBias = r.get("proj_in.bias", inner);
            embeddingProjNormWeight = config.embeddingProjNorm() ? r.get("embedding_proj_norm.weight", ep) : null;
            embeddingProjNormBias = config.embeddingProjNorm() ? r.get("embedding_proj_norm.bias", ep) : null;
            embeddingProjWeight = r.get("embedding_proj.weight", inner, ep);
            embeddingProjBias = r.get("embedding_proj.bias", inner);
            encoderHiddenStatesProjWeight = config.encoderHidProj() ? r.get("encoder_hidden_states_proj.weight", inner, e) : null;
            encoderHiddenStatesProjBias = config.encoderHidProj() ? r.get("encoder_hidden_states_proj.bias", inner) : null;
            positionalEmbedding = r.get("positional_embedding", 1, config.positions(), inner).reshape(config.positions(), inner);
            prdEmbedding = config.prdEmbedding() ? r.get("prd_embedding", 1, 1, inner).reshape(1, inner) : null;
            for (int i = 0; i < config.numLayers(); i++) {
                transformerBlocks.add(new PriorTransformerBlock(r, "transformer_blocks." + i + ".", config.numAttentionHeads(),
                        config.attentionHeadDim()));
            }
            normInWeight = config.normIn() ? r.get("norm_in.weight", inner) : null;
            normInBias = config.normIn() ? r.get("norm_in.bias", inner) : null;
            normOutWeight = r.get("norm_out.weight", inner);
            normOutBias = r.get("norm_out.bias", inner);
            projToClipEmbeddingsWeight = r.get("proj_to_clip_embeddings.weight", c, inner);
            projToClipEmbeddingsBias = r.get("proj_to_clip_embeddings.bias", c);
            clipMean = r.get("clip_mean", 1, c).reshape(c);
            clipStd = r.get("clip_std", 1, c).reshape(c);
            owned = r.finish();
        }
    }

    public PriorConfig config() {
        return config;
    }

    public DType dtype() {
        return dtype;
    }

    /** {@link #forward(Tensor, float[], Tensor, Tensor, int[][], Workspace)} with one timestep for every row (the pipeline's way). */
    public Output forward(Tensor hiddenStates, int timestep, Tensor projEmbedding, Tensor encoderHiddenStates,
                          int[][] attentionMask, Workspace ws) {
        return forward(hiddenStates, new float[] {timestep}, projEmbedding, encoderHiddenStates, attentionMask, ws);
    }

    /**
     * One pass, inputs as UnCLIPPipeline passes them (pipeline_unclip.py:317-323).
     *
     * @param hiddenStates [B, embedding_dim] the noisy image embedding (with guidance: the latents twice)
     * @param timesteps one (for every row) or B timesteps, as torch's {@code timesteps.float()} sees them
     * @param projEmbedding [B, embedding_proj_dim] the CLIP text embedding
     * @param encoderHiddenStates [B, L, embedding_dim] the text's last hidden state ([B, L, inner]
     *     when encoder_hid_proj_type is null: used as is), or null (only without that projection)
     * @param attentionMask [B][L'] 1 = real text token, 0 = padding, or null: then diffusers applies
     *     no mask at all, not even the causal one. L' + additional_embeddings must be the sequence
     *     length (diffusers' broadcast fails otherwise), i.e. L' = L in the usual layouts.
     */
    public Output forward(Tensor hiddenStates, float[] timesteps, Tensor projEmbedding, Tensor encoderHiddenStates,
                          int[][] attentionMask, Workspace ws) {
        int b = checkBatch(hiddenStates, projEmbedding);
        int textLen = checkText(encoderHiddenStates, b);
        int len = textLen + 3 + (prdEmbedding != null ? 1 : 0);                                // S
        int positions = checkPositions(len);
        float[] perRow = perRow(timesteps, b);

        // 1. time: Timesteps(inner, flip_sin_to_cos=True, downscale_freq_shift=0), TimestepEmbedding
        Tensor t = ws.allocate(DType.F32, b).copyFrom(perRow);                                 // [B]
        Tensor timeProj = ws.allocate(dtype, b, inner);                                        // [B, inner]
        backend.timestepEmbedding(t, timeProj, true, 0f, 10000f);
        Tensor timeHidden = ws.allocate(dtype, b, config.timeEmbedDim());                      // [B, T]
        backend.linear(timeProj, timeEmbeddingLinear1Weight, timeEmbeddingLinear1Bias, null, timeHidden, config.timeEmbedAct());
        Tensor time = ws.allocate(dtype, b, inner);                                            // [B, inner]
        backend.linear(timeHidden, timeEmbeddingLinear2Weight, timeEmbeddingLinear2Bias, null, time, Activation.NONE);

        // 2. the text embedding: embedding_proj_norm, embedding_proj
        Tensor projIn = projEmbedding;
        if (embeddingProjNormWeight != null) {
            projIn = ws.allocate(dtype, b, config.embeddingProjDim());                         // [B, Ep]
            backend.layerNorm(projEmbedding, embeddingProjNormWeight, embeddingProjNormBias, projIn, EPS);
        }
        Tensor proj = ws.allocate(dtype, b, inner);                                            // [B, inner]
        backend.linear(projIn, embeddingProjWeight, embeddingProjBias, null, proj, Activation.NONE);

        // 3. the text tokens: encoder_hidden_states_proj, or as given when there is none
        Tensor text = encoderHiddenStates;
        if (encoderHiddenStatesProjWeight != null) {
            text = ws.allocate(dtype, b, textLen, inner);                                      // [B, L, inner]
            backend.linear(encoderHiddenStates, encoderHiddenStatesProjWeight, encoderHiddenStatesProjBias, null, text,
                    Activation.NONE);
        }

        // 4. the noisy image embedding: proj_in
        Tensor hidden = ws.allocate(dtype, b, inner);                                          // [B, inner]
        backend.linear(hiddenStates, projInWeight, projInBias, null, hidden, Activation.NONE);

        // 5. the sequence [text…, proj, time, hidden, prd] + positional_embedding. With one position row
        //    diffusers pads it with zeros onto every other token (lines 320-332): it lands on hidden.
        if (positions == 1) backend.add(hidden, positionalEmbedding.reshape(inner), hidden);  // [B, inner]
        Tensor sequence = ws.allocate(dtype, b, len, inner);                                   // [B, S, inner]
        Tensor rows = sequence.reshape(b, (long) len * inner);                                 // [B, S·inner]
        long at = (long) textLen * inner;
        if (textLen > 0) backend.copyColumns(text.reshape(b, at), 0, rows, 0, at);
        backend.copyColumns(proj, 0, rows, at, inner);
        backend.copyColumns(time, 0, rows, at + inner, inner);
        backend.copyColumns(hidden, 0, rows, at + 2L * inner, inner);
        if (prdEmbedding != null) {
            // prd_embedding.expand(B, 1, inner): one row copied into every batch row's last token
            for (int i = 0; i < b; i++) {
                backend.copyColumns(prdEmbedding, 0, rows.view((long) i * len * inner, 1, (long) len * inner), at + 3L * inner,
                        inner);
            }
        }
        if (positions == len) backend.add(sequence, positionalEmbedding, sequence);            // [B, S, inner]

        // 6. attention mask: text padding, then the additional tokens always attended; causal only with a mask
        Tensor mask = null;
        boolean causal = false;
        if (attentionMask != null) {
            mask = ws.allocate(dtype, b, len).copyFrom(keyMask(attentionMask, b, len));        // [B, S]
            causal = positions > 1;  // a one-row causal_attention_mask is [[0]]: nothing masked
        }

        // 7. norm_in, then the blocks: block 0 writes its own buffer (kept for the Output), the rest x
        Tensor x = sequence;
        if (normInWeight != null) {
            x = ws.allocate(dtype, b, len, inner);                                             // [B, S, inner]
            backend.layerNorm(sequence, normInWeight, normInBias, x, EPS);
        }
        Tensor block0 = null;
        if (!transformerBlocks.isEmpty()) {
            PriorTransformerBlock.Scratch scratch = new PriorTransformerBlock.Scratch(
                    ws.allocate(dtype, b, len, inner),                                         // [B, S, inner]    norm output
                    ws.allocate(dtype, b, len, 3L * inner),                                    // [B, S, 3·inner]  q | k | v
                    ws.allocate(dtype, b, len, inner),                                         // [B, S, inner]    attention
                    ws.allocate(dtype, b, len, 4L * inner));                                   // [B, S, 4·inner]  feed-forward
            block0 = ws.allocate(dtype, b, len, inner);                                        // [B, S, inner]
            transformerBlocks.getFirst().forward(x, block0, mask, causal, scratch);
            x = block0;
            if (transformerBlocks.size() > 1) {
                Tensor out = ws.allocate(dtype, b, len, inner);                                // [B, S, inner]
                for (PriorTransformerBlock block : transformerBlocks.subList(1, transformerBlocks.size())) {
                    block.forward(x, out, mask, causal, scratch);
                    x = out;
                }
            }
        }

        // 8. norm_out and proj_to_clip_embeddings at the last token: prd when there is one (line 351), else
        //    hidden_states[:, L + 2:] (line 353), which is hidden, the last token too. LayerNorm is per token,
        //    so norming only that token gives diffusers' values.
        Tensor last = ws.allocate(dtype, b, inner);                                            // [B, inner]
        backend.copyColumns(x.reshape(b, (long) len * inner), (long) (len - 1) * inner, last, 0, inner);
        backend.layerNorm(last, normOutWeight, normOutBias, last, EPS);
        Tensor predicted = ws.allocate(dtype, b, config.clipEmbedDim());                       // [B, C]
        backend.linear(last, projToClipEmbeddingsWeight, projToClipEmbeddingsBias, null, predicted, Activation.NONE);
        return new Output(predicted, time, sequence, block0);
    }

    /** post_process_latents (line 362): out = latents · clip_std + clip_mean. latents, out: [B, clip_embed_dim]; out may be latents. */
    public void postProcessLatents(Tensor latents, Tensor out) {
        if (latents == null || latents.rank() != 2 || latents.dim(1) != config.clipEmbedDim()) {
            throw UnclipException.invalidArgument(COMPONENT, "latents must be [B, " + config.clipEmbedDim() + "], not "
                    + (latents == null ? "null" : Arrays.toString(latents.shape())));
        }
        backend.mul(latents, clipStd, out);
        backend.add(out, clipMean, out);
    }

    /**
     * The key mask [B, S] for uc_attention: text key j < L' attended where attentionMask is nonzero,
     * the additional tokens always (diffusers pads its bias with zeros for them, line 338).
     *
     * <p>Why a 0/1 mask that excludes keys equals diffusers' additive −10000 (lines 336-340): a masked
     * key's score is s − 10000 (−20000 where padding and causal both apply) next to a row maximum m of at
     * least one unmasked score; exp(s − 10000 − m) is below float32's smallest subnormal (e^−103.3) unless
     * s − m > 9896, far beyond any score of a LayerNormed sequence, so it underflows to exactly 0 and the
     * softmax is that over the unmasked keys, as uc_attention computes it. That needs an unmasked key in
     * every row that matters:
     *
     * <ul>
     *   <li>The output row S − 1 always has one when additional_embeddings ≥ 1: key S − 1 is never padding
     *       and causality allows j = i. The rows it reads from are unmasked tokens, whose own rows include
     *       their own key, recursively; so rows left without a key (queries before a row's first real token:
     *       left padding, which CLIP tokenisation never produces) feed no row that reaches the output.
     *       There uc_attention writes zeros where diffusers softmaxes over −10000-shifted scores; only those
     *       rows of the intermediate sequences differ, never the prediction.
     *   <li>With additional_embeddings = 0 a mask row of all zeros leaves the output row without a key. Every
     *       key of such a row then carries the same −10000 (non-causal), or −10000 up to i and −20000
     *       beyond (causal), and the softmax is that of no padding mask at all, up to the rounding of
     *       s − 10000 in float32 (ulp 2^−10; 1.5e-4 relative on the fixture's output). Such a row is
     *       therefore given all ones here.
     * </ul>
     */
    private float[] keyMask(int[][] attentionMask, int b, int len) {
        if (attentionMask.length != b) {
            throw UnclipException.invalidArgument(COMPONENT, "attentionMask has " + attentionMask.length + " rows for a batch of " + b);
        }
        int textLen = len - config.additionalEmbeddings();
        float[] m = new float[b * len];
        for (int i = 0; i < b; i++) {
            int[] row = attentionMask[i];
            if (row == null || row.length != textLen) {
                throw UnclipException.invalidArgument(COMPONENT, "attentionMask row " + i + " has " + (row == null ? 0 : row.length)
                        + " entries; with " + len + " tokens and additional_embeddings " + config.additionalEmbeddings()
                        + " it needs " + textLen + " (diffusers cannot broadcast its bias otherwise)");
            }
            boolean any = false;
            for (int j = 0; j < len; j++) {
                m[i * len + j] = j >= textLen || row[j] != 0 ? 1f : 0f;
                any |= m[i * len + j] != 0;
            }
            if (!any) Arrays.fill(m, i * len, (i + 1) * len, 1f);
        }
        return m;
    }

    private int checkBatch(Tensor hiddenStates, Tensor projEmbedding) {
        checkInput("hiddenStates", hiddenStates);
        checkInput("projEmbedding", projEmbedding);
        if (hiddenStates.rank() != 2 || hiddenStates.dim(0) < 1 || hiddenStates.dim(1) != config.embeddingDim()) {
            throw UnclipException.invalidArgument(COMPONENT, "hiddenStates is " + Arrays.toString(hiddenStates.shape())
                    + ", expected [B ≥ 1, embedding_dim = " + config.embeddingDim() + "]");
        }
        long b = hiddenStates.dim(0);
        if (!Arrays.equals(projEmbedding.shape(), new long[] {b, config.embeddingProjDim()})) {
            throw UnclipException.invalidArgument(COMPONENT, "projEmbedding is " + Arrays.toString(projEmbedding.shape())
                    + ", expected [" + b + ", embedding_proj_dim = " + config.embeddingProjDim() + "]");
        }
        return Math.toIntExact(b);
    }

    /** The text length L (0 without text tokens). */
    private int checkText(Tensor ehs, int b) {
        if (ehs == null) {
            if (encoderHiddenStatesProjWeight != null) {
                // diffusers: "`encoder_hidden_states_proj` requires `encoder_hidden_states` to be set" (line 286)
                throw UnclipException.invalidArgument(COMPONENT, "encoderHiddenStates is null, but encoder_hid_proj_type is "
                        + "\"linear\": the text hidden states are required");
            }
            return 0;
        }
        checkInput("encoderHiddenStates", ehs);
        long width = encoderHiddenStatesProjWeight != null ? config.embeddingDim() : inner;
        if (ehs.rank() != 3 || ehs.dim(0) != b || ehs.dim(1) < 1 || ehs.dim(2) != width) {
            throw UnclipException.invalidArgument(COMPONENT, "encoderHiddenStates is " + Arrays.toString(ehs.shape())
                    + ", expected [" + b + ", L ≥ 1, " + width + "] (" + (encoderHiddenStatesProjWeight != null
                    ? "embedding_dim" : "the inner dim: encoder_hid_proj_type is null, they enter unprojected") + ")");
        }
        return Math.toIntExact(ehs.dim(1));
    }

    /** positional_embedding's rows P: diffusers adds them to all S tokens (P = S) or, P = 1, to the hidden token only. */
    private int checkPositions(int len) {
        int p = config.positions(), fixed = 3 + (prdEmbedding != null ? 1 : 0);  // proj, time, hidden (, prd)
        if (p != len && p != 1) {
            throw UnclipException.invalidArgument(COMPONENT, "the sequence has " + len + " tokens (" + (len - fixed)
                    + " text + " + fixed + "), positional_embedding " + p + " rows (num_embeddings " + config.numEmbeddings()
                    + " + additional_embeddings " + config.additionalEmbeddings() + "): diffusers cannot add them; "
                    + (p > fixed ? "the text must be " + (p - fixed) + " tokens long" : "no text length fits"));
        }
        return p;
    }

    private void checkInput(String name, Tensor t) {
        if (t == null) throw UnclipException.invalidArgument(COMPONENT, name + " is null");
        if (t.dtype() != dtype) {
            throw UnclipException.invalidArgument(COMPONENT, name + " is " + t.dtype() + ", the model runs in " + dtype);
        }
    }

    /** One timestep per row: diffusers' {@code timesteps * torch.ones(batch_size)} (line 270). */
    private static float[] perRow(float[] timesteps, int b) {
        if (timesteps == null || (timesteps.length != 1 && timesteps.length != b)) {
            throw UnclipException.invalidArgument(COMPONENT, (timesteps == null ? "no" : timesteps.length)
                    + " timesteps for a batch of " + b + " (1 for every row, or one per row)");
        }
        for (float v : timesteps) {
            if (!Float.isFinite(v)) throw UnclipException.invalidArgument(COMPONENT, "timestep " + v + " is not finite");
        }
        if (timesteps.length == b) return timesteps.clone();
        float[] out = new float[b];
        Arrays.fill(out, timesteps[0]);
        return out;
    }

    @Override
    public void close() {
        owned.forEach(Tensor::close);
    }
}
