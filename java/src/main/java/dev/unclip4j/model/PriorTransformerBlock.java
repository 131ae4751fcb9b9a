package dev.unclip4j.model;

import dev.unclip4j.bindings.Activation;
import dev.unclip4j.io.WeightReader;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;

/**
 * One of the prior's {@code transformer_blocks}: diffusers' BasicTransformerBlock as
 * PriorTransformer builds it (models/prior_transformer.py:129-136: activation_fn "gelu",
 * attention_bias True, no cross-attention, so attn2/norm2 do not exist):
 *
 * <pre>
 * y = x + to_out(attention(to_q, to_k, to_v of norm1(x)))   attention.py:188-202
 * y = y + ff.net.2(gelu(ff.net.0.proj(norm3(y))))            attention.py:224-247, GELU 304-320 (exact erf)
 * </pre>
 *
 * to_q, to_k and to_v are stacked once at load into one [3·inner, inner] projection, read in place
 * by {@link Backend#attentionQkv}. Weights are typed fields named after the checkpoint keys; the
 * {@link WeightReader} that read them owns them (the model closes them all).
 */
final class PriorTransformerBlock {
    private static final float EPS = 1e-5f;  // nn.LayerNorm's default

    private final Backend backend;
    private final int heads, headDim;
    private final float scale;

    final Tensor norm1Weight, norm1Bias;           // [inner]
    final Tensor attn1QkvWeight, attn1QkvBias;     // [3·inner, inner], [3·inner]: to_q, to_k, to_v rows
    final Tensor attn1ToOutWeight, attn1ToOutBias; // [inner, inner], [inner]  (to_out.0)
    final Tensor norm3Weight, norm3Bias;           // [inner]
    final Tensor ffNet0ProjWeight, ffNet0ProjBias; // [4·inner, inner], [4·inner]
    final Tensor ffNet2Weight, ffNet2Bias;         // [inner, 4·inner], [inner]

    /** Activation buffers of one pass, shared by every block. */
    record Scratch(Tensor normed, Tensor qkv, Tensor attention, Tensor ff) {}

    PriorTransformerBlock(WeightReader r, String prefix, int heads, int headDim) {
        this.backend = r.backend();
        this.heads = heads;
        this.headDim = headDim;
        // Attention.scale = dim_head**-0.5 (attention_processor.py:89)
        this.scale = (float) (1.0 / Math.sqrt(headDim));
        long inner = (long) heads * headDim, ff = 4 * inner;  // FeedForward's mult = 4
        norm1Weight = r.get(prefix + "norm1.weight", inner);
        norm1Bias = r.get(prefix + "norm1.bias", inner);
        attn1QkvWeight = stack(r, prefix + "attn1.", "weight", inner, inner);
        attn1QkvBias = stack(r, prefix + "attn1.", "bias", inner);
        attn1ToOutWeight = r.get(prefix + "attn1.to_out.0.weight", inner, inner);
        attn1ToOutBias = r.get(prefix + "attn1.to_out.0.bias", inner);
        norm3Weight = r.get(prefix + "norm3.weight", inner);
        norm3Bias = r.get(prefix + "norm3.bias", inner);
        ffNet0ProjWeight = r.get(prefix + "ff.net.0.proj.weight", ff, inner);
        ffNet0ProjBias = r.get(prefix + "ff.net.0.proj.bias", ff);
        ffNet2Weight = r.get(prefix + "ff.net.2.weight", inner, ff);
        ffNet2Bias = r.get(prefix + "ff.net.2.bias", inner);
    }

    /** to_q, to_k, to_v's {@code leaf} ("weight" [inner, inner] or "bias" [inner]) stacked along the first axis. */
    private static Tensor stack(WeightReader r, String attn, String leaf, long... shape) {
        float[] q = r.floats(attn + "to_q." + leaf, shape);
        float[] k = r.floats(attn + "to_k." + leaf, shape);
        float[] v = r.floats(attn + "to_v." + leaf, shape);
        float[] all = new float[3 * q.length];
        System.arraycopy(q, 0, all, 0, q.length);
        System.arraycopy(k, 0, all, q.length, k.length);
        System.arraycopy(v, 0, all, 2 * q.length, v.length);
        long[] stacked = shape.clone();
        stacked[0] *= 3;
        return r.track(r.backend().fromFloats(r.dtype(), all, stacked));
    }

    /**
     * out = block(x). x, out: [B, S, inner], out may be x (in place); mask: [B, S] key mask
     * (nonzero = attend) or null; causal: query i sees keys j ≤ i.
     */
    void forward(Tensor x, Tensor out, Tensor mask, boolean causal, Scratch s) {
        long b = x.dim(0), len = x.dim(1);
        Tensor qkv = s.qkv().reshape(b, len, 3, heads, headDim);                               // [B, S, 3, H, D]
        Tensor attn = s.attention().reshape(b, len, heads, headDim);                           // [B, S, H, D]
        // 1. self-attention
        backend.layerNorm(x, norm1Weight, norm1Bias, s.normed(), EPS);                         // [B, S, inner]
        backend.linear(s.normed(), attn1QkvWeight, attn1QkvBias, null, s.qkv(), Activation.NONE);  // [B, S, 3·inner]
        backend.attentionQkv(qkv, mask, attn, scale, causal);                                  // [B, S, H, D]
        backend.linear(s.attention(), attn1ToOutWeight, attn1ToOutBias, x, out, Activation.NONE);  // [B, S, inner]  out = x + …
        // 3. feed-forward (diffusers' numbering: 2 is the cross-attention this block does not have)
        backend.layerNorm(out, norm3Weight, norm3Bias, s.normed(), EPS);                       // [B, S, inner]
        backend.linear(s.normed(), ffNet0ProjWeight, ffNet0ProjBias, null, s.ff(), Activation.GELU_ERF);  // [B, S, 4·inner]
        backend.linear(s.ff(), ffNet2Weight, ffNet2Bias, out, out, Activation.NONE);           // [B, S, inner]  out += …
    }
}
