package dev.unclip4j.clip;

import dev.unclip4j.bindings.Activation;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * One pre-LayerNorm CLIP transformer block, shared by the text and vision towers
 * (openai/CLIP's {@code ResidualAttentionBlock}, transformers' {@code CLIPEncoderLayer}):
 *
 * <pre>
 * x = x + out_proj(attention(qkv(ln_1(x))))     uc_layer_norm, uc_linear, uc_attention, uc_linear (+ residual fused)
 * x = x + fc2(act(fc1(ln_2(x))))                uc_layer_norm, uc_linear (+ act fused), uc_linear (+ residual fused)
 * </pre>
 *
 * q, k and v are one fused projection [3·d, d] (OpenAI's {@code in_proj_weight}; Hugging Face's
 * {@code q_proj}, {@code k_proj}, {@code v_proj} stacked once at load), read in place by
 * {@link Backend#attentionQkv}. The residual stream x is updated in place (uc_linear's residual
 * may alias its output). Fields are named after the checkpoint roles; the tensors are owned here.
 */
final class ClipEncoderLayer implements AutoCloseable {
    private final Backend backend;
    private final int heads, headDim;
    private final float eps, scale;
    private final Activation act;

    final Tensor layerNorm1Weight, layerNorm1Bias;   // [d]
    final Tensor qkvWeight, qkvBias;                 // [3d, d], [3d]: q, k, v rows one after the other
    final Tensor outProjWeight, outProjBias;         // [d, d], [d]
    final Tensor layerNorm2Weight, layerNorm2Bias;   // [d]
    final Tensor fc1Weight, fc1Bias;                 // [I, d], [I]
    final Tensor fc2Weight, fc2Bias;                 // [d, I], [d]
    private final List<Tensor> owned = new ArrayList<>();

    /** Activation buffers for one forward pass, shared by every layer of the tower. */
    record Scratch(Tensor normed, Tensor qkv, Tensor attention, Tensor mlp) {}

    ClipEncoderLayer(Backend backend, DType dtype, ClipWeights.Layer w, int heads, ClipActivation hiddenAct,
                     double layerNormEps) {
        this.backend = backend;
        int d = (int) w.q().weight().shape()[1];
        this.heads = heads;
        this.headDim = d / heads;
        this.eps = (float) layerNormEps;
        this.scale = (float) (1.0 / Math.sqrt(headDim));
        this.act = activation(hiddenAct);
        try {
            layerNorm1Weight = own(w.layerNorm1().weight().upload(backend, dtype));
            layerNorm1Bias = own(w.layerNorm1().bias().upload(backend, dtype));
            qkvWeight = own(stack(backend, dtype, w.q().weight(), w.k().weight(), w.v().weight()));
            qkvBias = own(stack(backend, dtype, w.q().bias(), w.k().bias(), w.v().bias()));
            outProjWeight = own(w.out().weight().upload(backend, dtype));
            outProjBias = own(w.out().bias().upload(backend, dtype));
            layerNorm2Weight = own(w.layerNorm2().weight().upload(backend, dtype));
            layerNorm2Bias = own(w.layerNorm2().bias().upload(backend, dtype));
            fc1Weight = own(w.fc1().weight().upload(backend, dtype));
            fc1Bias = own(w.fc1().bias().upload(backend, dtype));
            fc2Weight = own(w.fc2().weight().upload(backend, dtype));
            fc2Bias = own(w.fc2().bias().upload(backend, dtype));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    static Activation activation(ClipActivation a) {
        return switch (a) {
            case QUICK_GELU -> Activation.QUICK_GELU;  // x·σ(1.702x), OpenAI's
            case GELU -> Activation.GELU_ERF;          // transformers' "gelu" is the exact erf form
        };
    }

    /** q, k, v weights (or biases) concatenated along the first axis, on the host, once. */
    private static Tensor stack(Backend backend, DType dtype, Weight q, Weight k, Weight v) {
        if (q == null || k == null || v == null) {
            throw UnclipException.invalidArgument("ClipEncoderLayer", "the attention projection needs q, k and v with biases");
        }
        float[] a = q.floats(), b = k.floats(), c = v.floats();
        float[] all = new float[a.length + b.length + c.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        System.arraycopy(c, 0, all, a.length + b.length, c.length);
        long[] s = q.shape().clone();
        s[0] *= 3;
        return backend.fromFloats(dtype, all, s).markConstant();
    }

    private Tensor own(Tensor t) {
        owned.add(t);
        return t;
    }

    /**
     * x = block(x), in place. x: [B, L, d]; mask: [B, L] key-padding mask (nonzero = attend) or
     * null; causal: query i sees keys j ≤ i.
     */
    void forward(Tensor x, Tensor mask, boolean causal, Scratch s) {
        long b = x.dim(0), l = x.dim(1);
        Tensor qkv = s.qkv().reshape(b, l, 3, heads, headDim);                        // [B, L, 3, H, Dh]
        Tensor attn = s.attention().reshape(b, l, heads, headDim);                    // [B, L, H, Dh]
        // 1. self-attention
        backend.layerNorm(x, layerNorm1Weight, layerNorm1Bias, s.normed(), eps);      // [B, L, d]
        backend.linear(s.normed(), qkvWeight, qkvBias, null, s.qkv(), Activation.NONE);  // [B, L, 3d]
        backend.attentionQkv(qkv, mask, attn, scale, causal);                         // [B, L, H, Dh]
        backend.linear(s.attention(), outProjWeight, outProjBias, x, x, Activation.NONE);  // [B, L, d]  x += …
        // 2. MLP
        backend.layerNorm(x, layerNorm2Weight, layerNorm2Bias, s.normed(), eps);      // [B, L, d]
        backend.linear(s.normed(), fc1Weight, fc1Bias, null, s.mlp(), act);           // [B, L, I]
        backend.linear(s.mlp(), fc2Weight, fc2Bias, x, x, Activation.NONE);           // [B, L, d]  x += …
    }

    @Override
    public void close() {
        owned.forEach(Tensor::close);
        owned.clear();
    }
}
