package dev.unclip4j.unet;

import dev.unclip4j.bindings.Activation;
import dev.unclip4j.io.WeightReader;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import dev.unclip4j.unet.UNetConfig.AttentionKind;
import dev.unclip4j.unet.UNetConfig.CrossNorm;
import java.util.Arrays;

/**
 * diffusers' {@code Attention} (models/attention_processor.py) over a U-Net's pixels, with either
 * of the processors the unCLIP U-Nets use, NHWC:
 *
 * <pre>
 * ADDED_KV (AttnAddedKVProcessor, the SimpleCrossAttn blocks):
 *   text = norm_cross(text)                            uc_layer_norm / uc_group_norm (cross_attention_norm)
 *   h = group_norm(x)                                  uc_group_norm          [N, S, C], S = H·W
 *   q, k, v = to_q(h), to_k(h), to_v(h)                uc_linear              [N, S, heads, d]
 *   kt, vt = add_k_proj(text), add_v_proj(text)        uc_linear              [N, L, heads, d]
 *   a = softmax(q·[kt ‖ k]ᵀ/√d + mask)·[vt ‖ v]        uc_attention_added_kv  (text keys first, masked; never concatenated)
 *   out = to_out(a) + x                                uc_linear (bias, residual fused)
 * SELF (AttnProcessor, UNet2DModel's Attn blocks and mid block):
 *   h = group_norm(x) (absent under the mid block's scale_shift quirk)
 *   a = softmax(q·kᵀ/√d)·v                             uc_attention
 *   out = (to_out(a) + x) / rescale_output_factor      uc_linear (bias, residual fused), uc_mul when ≠ 1
 * </pre>
 *
 * The text mask is diffusers' {@code (1 − mask) · −10000} bias padded with zeros over the pixels'
 * keys (prepare_attention_mask pads by the target length, which is exactly the S spatial keys
 * that follow the text ones). The kernel drops masked keys instead of adding −10000: the same in
 * float32, since exp(−10000 + s) underflows to 0 next to the unmasked keys, and every query keeps
 * its S ≥ 1 pixel keys, so no row is left with only masked keys.
 */
final class UNetAttention {
    private final UNetConfig.Attention spec;
    private final Backend backend;
    private final Tensor groupNormWeight, groupNormBias;        // [C] or null
    private final Tensor toQWeight, toQBias, toKWeight, toKBias, toVWeight, toVBias;  // [inner, C], [inner]
    private final Tensor addKProjWeight, addKProjBias, addVProjWeight, addVProjBias;  // [inner, cross], [inner]
    private final Tensor normCrossWeight, normCrossBias;        // [cross] or null
    private final Tensor toOutWeight, toOutBias;                // [C, inner], [C]
    private final Tensor rescale;                               // [C] of 1 / rescale_output_factor, or null
    private final int inner;

    UNetAttention(WeightReader r, String prefix, UNetConfig.Attention spec) {
        this.spec = spec;
        this.backend = r.backend();
        int c = spec.channels();
        this.inner = spec.heads() * spec.headDim();
        boolean norm = spec.groups() > 0;
        groupNormWeight = norm ? r.get(prefix + "group_norm.weight", c) : null;
        groupNormBias = norm ? r.get(prefix + "group_norm.bias", c) : null;
        toQWeight = r.get(prefix + "to_q.weight", inner, c);
        toQBias = r.get(prefix + "to_q.bias", inner);
        toKWeight = r.get(prefix + "to_k.weight", inner, c);
        toKBias = r.get(prefix + "to_k.bias", inner);
        toVWeight = r.get(prefix + "to_v.weight", inner, c);
        toVBias = r.get(prefix + "to_v.bias", inner);
        boolean added = spec.kind() == AttentionKind.ADDED_KV;
        int cross = spec.crossDim();
        addKProjWeight = added ? r.get(prefix + "add_k_proj.weight", inner, cross) : null;
        addKProjBias = added ? r.get(prefix + "add_k_proj.bias", inner) : null;
        addVProjWeight = added ? r.get(prefix + "add_v_proj.weight", inner, cross) : null;
        addVProjBias = added ? r.get(prefix + "add_v_proj.bias", inner) : null;
        boolean crossNorm = added && spec.crossNorm() != CrossNorm.NONE;
        normCrossWeight = crossNorm ? r.get(prefix + "norm_cross.weight", cross) : null;
        normCrossBias = crossNorm ? r.get(prefix + "norm_cross.bias", cross) : null;
        toOutWeight = r.get(prefix + "to_out.0.weight", c, inner);
        toOutBias = r.get(prefix + "to_out.0.bias", c);
        if (spec.rescaleOutputFactor() != 1f) {
            float[] v = new float[c];
            Arrays.fill(v, 1f / spec.rescaleOutputFactor());
            rescale = r.track(r.backend().fromFloats(r.dtype(), v, c));
        } else {
            rescale = null;
        }
    }

    /**
     * out = Attention(x). x, out: [N, H, W, C] (out must not alias x); text: [N, L, cross] (ADDED_KV
     * only); mask: [N, L] 1 = attend, 0 = padding, or null.
     */
    void forward(Tensor x, Tensor text, Tensor mask, Tensor out, Workspace ws) {
        try (Workspace.Scope _ = ws.scope()) {
            attend(x, text, mask, out, ws);
        }
    }

    private void attend(Tensor x, Tensor text, Tensor mask, Tensor out, Workspace ws) {
        Backend b = backend;
        long n = x.dim(0), s = x.dim(1) * x.dim(2);
        int c = spec.channels(), heads = spec.heads(), d = spec.headDim();
        Tensor pixels = x.reshape(n, s, c);                                                   // [N, S, C]
        // 1. h = group_norm(x)
        Tensor h = pixels;
        if (groupNormWeight != null) {
            h = ws.allocate(x.dtype(), n, s, c);                                             // [N, S, C]
            b.groupNorm(pixels, groupNormWeight, groupNormBias, null, h, spec.groups(), spec.eps(), Activation.NONE);
        }
        // 2. the pixels' queries, keys and values
        Tensor q = ws.allocate(x.dtype(), n, s, inner), k = ws.allocate(x.dtype(), n, s, inner);  // [N, S, inner]
        Tensor v = ws.allocate(x.dtype(), n, s, inner);
        b.linear(h, toQWeight, toQBias, null, q, Activation.NONE);
        b.linear(h, toKWeight, toKBias, null, k, Activation.NONE);
        b.linear(h, toVWeight, toVBias, null, v, Activation.NONE);
        Tensor a = ws.allocate(x.dtype(), n, s, heads, d);                                    // [N, S, heads, d]
        float scale = (float) (1.0 / Math.sqrt(d));
        if (spec.kind() == AttentionKind.ADDED_KV) {
            // 3. the text tokens' keys and values (after norm_cross), text keys first
            long l = text.dim(1);
            Tensor t = text;
            if (spec.crossNorm() == CrossNorm.LAYER_NORM) {
                t = ws.allocate(x.dtype(), text.shape());                                    // [N, L, cross]
                b.layerNorm(text, normCrossWeight, normCrossBias, t, 1e-5f);
            } else if (spec.crossNorm() == CrossNorm.GROUP_NORM) {
                // GroupNorm over the hidden dim of [N, L, cross] = uc_group_norm with L as the pixels.
                t = ws.allocate(x.dtype(), text.shape());
                b.groupNorm(text, normCrossWeight, normCrossBias, null, t, 32, 1e-5f, Activation.NONE);
            }
            Tensor kt = ws.allocate(x.dtype(), n, l, inner), vt = ws.allocate(x.dtype(), n, l, inner);  // [N, L, inner]
            b.linear(t, addKProjWeight, addKProjBias, null, kt, Activation.NONE);
            b.linear(t, addVProjWeight, addVProjBias, null, vt, Activation.NONE);
            b.attentionAddedKv(q.reshape(n, s, heads, d), kt.reshape(n, l, heads, d), vt.reshape(n, l, heads, d), mask,
                    k.reshape(n, s, heads, d), v.reshape(n, s, heads, d), a, scale);
        } else {
            b.attention(q.reshape(n, s, heads, d), k.reshape(n, s, heads, d), v.reshape(n, s, heads, d), null, a, scale,
                    false);
        }
        // 4. out = (to_out(a) + x) / rescale_output_factor
        Tensor o = out.reshape(n, s, c);                                                      // [N, S, C]
        b.linear(a.reshape(n, s, inner), toOutWeight, toOutBias, pixels, o, Activation.NONE);
        if (rescale != null) b.mul(o, rescale, o);
    }
}
