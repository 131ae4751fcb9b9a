package dev.unclip4j.clip;

import dev.unclip4j.bindings.Activation;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import java.util.ArrayList;
import java.util.List;

/**
 * CLIP's text tower (openai/CLIP {@code encode_text}, transformers {@code CLIPTextModelWithProjection}),
 * readable top to bottom in {@link #forward}:
 *
 * <ol>
 *   <li>token embedding + learned positions;
 *   <li>N pre-LayerNorm blocks ({@link ClipEncoderLayer}) with a causal mask, plus a key-padding
 *       mask when the caller passes an attention mask (transformers does when given one;
 *       openai/CLIP never does — see below);
 *   <li>the final LayerNorm: the per-token last hidden state (the prior and decoder read it);
 *   <li>the pooled output: the last hidden state at each prompt's end token;
 *   <li>the text projection (no bias): the text embedding.
 * </ol>
 *
 * <p><b>Attention mask.</b> With the causal mask every token up to the end token attends only
 * real tokens, so the pooled output and the embedding are the same with or without the padding
 * mask; only the hidden states of the padding positions (after the end token) differ.
 * openai/CLIP and diffusers' UnCLIP pipeline pass none; pass {@code null} to match them.
 *
 * <p><b>Where it pools.</b> At the first position holding {@code eos_token_id} when the config
 * names one other than 2 and the row holds it (transformers ≥ 4.31); otherwise at the highest
 * id of the row, its first occurrence ({@code argmax}, openai/CLIP's rule and transformers' for
 * legacy configs with eos_token_id 2). With CLIP's vocabularies both rules pick the same
 * position: the end token 49407 is the highest id.
 *
 * <p>Weights are uploaded once at construction (typed fields named after the checkpoint roles)
 * and owned here; activations come from the caller's {@link Workspace}.
 */
public final class ClipTextEncoder implements AutoCloseable {
    private final Backend backend;
    private final DType dtype;
    private final ClipTextConfig config;

    private final Tensor tokenEmbedding;       // [vocab, d]
    private final Tensor positionEmbedding;    // [context, d]
    private final List<ClipEncoderLayer> layers = new ArrayList<>();
    private final Tensor finalLayerNormWeight, finalLayerNormBias;  // [d]
    private final Tensor textProjection;       // [proj, d], or null (a tower without one)

    /**
     * The outputs of one pass, workspace tensors valid until the workspace's next reset.
     *
     * @param lastHiddenState [B, L, d] after the final LayerNorm
     * @param pooledOutput [B, d] the last hidden state at the end token
     * @param textEmbeds [B, proj] the projected pooled output, or null without a projection
     * @param endIndex per prompt, where it pooled
     */
    public record Output(Tensor lastHiddenState, Tensor pooledOutput, Tensor textEmbeds, int[] endIndex) {}

    /** Uploads the weights to {@code backend} in {@code dtype} (F32 on the CPU; F32, BF16 or F16 on CUDA). */
    public ClipTextEncoder(Backend backend, ClipWeights.Text weights, DType dtype) {
        this.backend = backend;
        this.dtype = dtype;
        this.config = weights.config();
        Tensor tok = null, pos = null, lnw = null, lnb = null, proj = null;
        try {
            tok = weights.tokenEmbedding().upload(backend, dtype);
            pos = weights.positionEmbedding().upload(backend, dtype);
            for (ClipWeights.Layer l : weights.layers()) {
                layers.add(new ClipEncoderLayer(backend, dtype, l, config.numAttentionHeads(), config.hiddenAct(),
                        config.layerNormEps()));
            }
            lnw = weights.finalLayerNorm().weight().upload(backend, dtype);
            lnb = weights.finalLayerNorm().bias().upload(backend, dtype);
            proj = weights.projection() == null ? null : weights.projection().weight().upload(backend, dtype);
        } catch (RuntimeException e) {
            for (Tensor t : new Tensor[] {tok, pos, lnw, lnb, proj}) if (t != null) t.close();
            layers.forEach(ClipEncoderLayer::close);
            throw e;
        }
        this.tokenEmbedding = tok;
        this.positionEmbedding = pos;
        this.finalLayerNormWeight = lnw;
        this.finalLayerNormBias = lnb;
        this.textProjection = proj;
    }

    public ClipTextConfig config() {
        return config;
    }

    public DType dtype() {
        return dtype;
    }

    /** {@link #forward(int[][], int[][], Workspace)} without a padding mask (openai/CLIP's way). */
    public Output forward(int[][] ids, Workspace ws) {
        return forward(ids, null, ws);
    }

    /**
     * One pass. ids: [B][L] token ids, 1 ≤ L ≤ max_position_embeddings, every row the same
     * length; attentionMask: [B][L] (1 = real token, 0 = padding) or null.
     */
    public Output forward(int[][] ids, int[][] attentionMask, Workspace ws) {
        int b = ids.length, l = checkIds(ids);
        int d = config.hiddenSize();
        int[] flat = new int[b * l];
        for (int i = 0; i < b; i++) System.arraycopy(ids[i], 0, flat, i * l, l);
        int[] endIndex = endIndex(ids);

        // 1. embeddings: token + position
        Tensor x = ws.allocate(dtype, b, l, d);                                             // [B, L, d]
        backend.embedding(tokenEmbedding, flat, x.reshape((long) b * l, d));               // [B·L, d]
        backend.add(x, positionEmbedding.view(0, l, d), x);                                // [B, L, d]
        Tensor mask = attentionMask == null ? null : maskTensor(attentionMask, b, l, ws);  // [B, L]

        // 2. the blocks: causal self-attention (+ padding mask), MLP; x updated in place
        ClipEncoderLayer.Scratch scratch = new ClipEncoderLayer.Scratch(
                ws.allocate(dtype, b, l, d),                                                // [B, L, d]   ln output
                ws.allocate(dtype, b, l, 3L * d),                                           // [B, L, 3d]  q | k | v
                ws.allocate(dtype, b, l, d),                                                // [B, L, d]   attention
                ws.allocate(dtype, b, l, config.intermediateSize()));                       // [B, L, I]   MLP hidden
        for (ClipEncoderLayer layer : layers) layer.forward(x, mask, true, scratch);

        // 3. final LayerNorm: the last hidden state
        Tensor last = ws.allocate(dtype, b, l, d);                                          // [B, L, d]
        backend.layerNorm(x, finalLayerNormWeight, finalLayerNormBias, last, (float) config.layerNormEps());

        // 4. pooled output: row b·L + end[b] of the last hidden state (a gather, done by uc_embedding)
        int[] rows = new int[b];
        for (int i = 0; i < b; i++) rows[i] = i * l + endIndex[i];
        Tensor pooled = ws.allocate(dtype, b, d);                                           // [B, d]
        backend.embedding(last.reshape((long) b * l, d), rows, pooled);

        // 5. text projection (no bias)
        Tensor embeds = null;
        if (textProjection != null) {
            embeds = ws.allocate(dtype, b, textProjection.dim(0));                          // [B, proj]
            backend.linear(pooled, textProjection, null, null, embeds, Activation.NONE);
        }
        return new Output(last, pooled, embeds, endIndex);
    }

    private int checkIds(int[][] ids) {
        String op = "ClipTextEncoder";
        if (ids == null || ids.length == 0) throw UnclipException.invalidArgument(op, "no prompts (ids is empty)");
        int l = ids[0] == null ? 0 : ids[0].length;
        if (l < 1 || l > config.maxPositionEmbeddings()) {
            throw UnclipException.invalidArgument(op, "sequence length " + l + " is outside [1, max_position_embeddings = "
                    + config.maxPositionEmbeddings() + "]");
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == null || ids[i].length != l) {
                throw UnclipException.invalidArgument(op, "row " + i + " has " + (ids[i] == null ? 0 : ids[i].length)
                        + " ids, row 0 has " + l + " (pad every prompt to one length)");
            }
        }
        return l;
    }

    /** Where each row pools (see the class comment). */
    int[] endIndex(int[][] ids) {
        Integer eos = config.eosTokenId();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            int[] row = ids[i];
            int at = -1;
            if (eos != null && eos != 2) {
                for (int j = 0; j < row.length && at < 0; j++) if (row[j] == eos) at = j;
            }
            if (at < 0) {
                at = 0;
                for (int j = 1; j < row.length; j++) if (row[j] > row[at]) at = j;
            }
            out[i] = at;
        }
        return out;
    }

    private Tensor maskTensor(int[][] attentionMask, int b, int l, Workspace ws) {
        if (attentionMask.length != b) {
            throw UnclipException.invalidArgument("ClipTextEncoder", "attention mask has " + attentionMask.length
                    + " rows for " + b + " prompts");
        }
        float[] m = new float[b * l];
        for (int i = 0; i < b; i++) {
            if (attentionMask[i] == null || attentionMask[i].length != l) {
                throw UnclipException.invalidArgument("ClipTextEncoder", "attention mask row " + i + " is not " + l + " long");
            }
            for (int j = 0; j < l; j++) m[i * l + j] = attentionMask[i][j] != 0 ? 1f : 0f;
        }
        return ws.allocate(dtype, b, l).copyFrom(m);
    }

    @Override
    public void close() {
        layers.forEach(ClipEncoderLayer::close);
        for (Tensor t : new Tensor[] {tokenEmbedding, positionEmbedding, finalLayerNormWeight, finalLayerNormBias,
                textProjection}) {
            if (t != null) t.close();
        }
    }
}
