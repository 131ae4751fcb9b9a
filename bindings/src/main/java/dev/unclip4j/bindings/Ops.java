package dev.unclip4j.bindings;

import java.lang.foreign.MemorySegment;

/**
 * The ops of native/include/unclip.h on one {@link Context}, one method per symbol, with the
 * same arguments (see the header for shapes and layouts). A non-zero status becomes an
 * {@link UnclipException} naming the op and carrying the native message.
 */
public final class Ops {
    private final Context context;

    Ops(Context context) {
        this.context = context;
    }

    /** {@code uc_add}: out[i] = a[i] + b[i % nb]. */
    public void add(DType dtype, MemorySegment a, MemorySegment b, MemorySegment out, long n, long nb) {
        try {
            context.check("uc_add", (int) context.library().add.invokeExact(context.handle(), dtype.code, a, b, out, n, nb));
        } catch (Throwable t) {
            throw Context.wrap("uc_add", t);
        }
    }

    /** {@code uc_mul}: out[i] = a[i] * b[i % nb]. */
    public void mul(DType dtype, MemorySegment a, MemorySegment b, MemorySegment out, long n, long nb) {
        try {
            context.check("uc_mul", (int) context.library().mul.invokeExact(context.handle(), dtype.code, a, b, out, n, nb));
        } catch (Throwable t) {
            throw Context.wrap("uc_mul", t);
        }
    }

    /** {@code uc_activate}: out[i] = act(x[i]). */
    public void activate(Activation act, DType dtype, MemorySegment x, MemorySegment out, long n) {
        try {
            context.check("uc_activate",
                    (int) context.library().activate.invokeExact(context.handle(), act.code(), dtype.code, x, out, n));
        } catch (Throwable t) {
            throw Context.wrap("uc_activate", t);
        }
    }

    /** {@code uc_copy_2d}: dst[r·dstStride + c] = src[r·srcStride + c] for r < rows, c < cols. */
    public void copy2d(DType dtype, MemorySegment src, long srcStride, MemorySegment dst, long dstStride, long rows,
                       long cols) {
        try {
            context.check("uc_copy_2d", (int) context.library().copy2d.invokeExact(context.handle(), dtype.code, src,
                    srcStride, dst, dstStride, rows, cols));
        } catch (Throwable t) {
            throw Context.wrap("uc_copy_2d", t);
        }
    }

    /**
     * {@code uc_linear}: out[m,n] = act(x[m,k] · w[n,k]ᵀ + bias[n]) + residual[m,n]; bias and
     * residual may be {@link MemorySegment#NULL}.
     */
    public void linear(DType dtype, MemorySegment x, MemorySegment w, MemorySegment bias, MemorySegment residual,
                       MemorySegment out, long m, long n, long k, Activation act) {
        try {
            context.check("uc_linear", (int) context.library().linear.invokeExact(context.handle(), dtype.code, x, w,
                    bias, residual, out, m, n, k, act.code()));
        } catch (Throwable t) {
            throw Context.wrap("uc_linear", t);
        }
    }

    // ---- transformer --------------------------------------------------------------------------

    /**
     * {@code uc_attention}: out[B,Lq,H,D] = softmax(scale·q·kᵀ + masks)·v; q, k, v rows at the given
     * element strides; mask [B, Lk] (nonzero = attend) or {@link MemorySegment#NULL}.
     */
    public void attention(DType dtype, MemorySegment q, long qStride, MemorySegment k, long kStride, MemorySegment v,
                          long vStride, MemorySegment mask, MemorySegment out, long batch, long lq, long lk, long heads,
                          long headDim, float scale, boolean causal) {
        try {
            context.check("uc_attention", (int) context.library().attention.invokeExact(context.handle(), dtype.code, q,
                    qStride, k, kStride, v, vStride, mask, out, batch, lq, lk, heads, headDim, scale, causal ? 1 : 0));
        } catch (Throwable t) {
            throw Context.wrap("uc_attention", t);
        }
    }

    /**
     * {@code uc_attention_added_kv}: attention over the text keys/values (masked by textMask, or
     * {@link MemorySegment#NULL}) followed by the spatial ones, without concatenating them.
     */
    public void attentionAddedKv(DType dtype, MemorySegment q, long qStride, MemorySegment kText, MemorySegment vText,
                                 long textStride, MemorySegment textMask, long lt, MemorySegment kSelf,
                                 MemorySegment vSelf, long selfStride, long ls, MemorySegment out, long batch, long lq,
                                 long heads, long headDim, float scale) {
        try {
            context.check("uc_attention_added_kv", (int) context.library().attentionAddedKv.invokeExact(context.handle(),
                    dtype.code, q, qStride, kText, vText, textStride, textMask, lt, kSelf, vSelf, selfStride, ls, out,
                    batch, lq, heads, headDim, scale));
        } catch (Throwable t) {
            throw Context.wrap("uc_attention_added_kv", t);
        }
    }

    /** {@code uc_layer_norm}: per row of [rows, c]; gamma/beta [c] or {@link MemorySegment#NULL}. */
    public void layerNorm(DType dtype, MemorySegment x, MemorySegment gamma, MemorySegment beta, MemorySegment out,
                          long rows, long c, float eps) {
        try {
            context.check("uc_layer_norm", (int) context.library().layerNorm.invokeExact(context.handle(), dtype.code, x,
                    gamma, beta, out, rows, c, eps));
        } catch (Throwable t) {
            throw Context.wrap("uc_layer_norm", t);
        }
    }

    /** {@code uc_softmax}: per row of [rows, n]. */
    public void softmax(DType dtype, MemorySegment x, MemorySegment out, long rows, long n) {
        try {
            context.check("uc_softmax", (int) context.library().softmax.invokeExact(context.handle(), dtype.code, x, out,
                    rows, n));
        } catch (Throwable t) {
            throw Context.wrap("uc_softmax", t);
        }
    }

    /** {@code uc_timestep_embedding}: timesteps [n] float32, out [n, dim] in dtype. */
    public void timestepEmbedding(DType dtype, MemorySegment timesteps, MemorySegment out, long n, long dim,
                                  boolean flipSinToCos, float downscaleFreqShift, float maxPeriod) {
        try {
            context.check("uc_timestep_embedding", (int) context.library().timestepEmbedding.invokeExact(
                    context.handle(), dtype.code, timesteps, out, n, dim, flipSinToCos ? 1 : 0, downscaleFreqShift,
                    maxPeriod));
        } catch (Throwable t) {
            throw Context.wrap("uc_timestep_embedding", t);
        }
    }

    /** {@code uc_embedding}: out[i,:] = table[ids[i],:]; ids: n int32 in backend memory. */
    public void embedding(DType dtype, MemorySegment table, MemorySegment ids, MemorySegment out, long n, long vocab,
                          long dim) {
        try {
            context.check("uc_embedding", (int) context.library().embedding.invokeExact(context.handle(), dtype.code,
                    table, ids, out, n, vocab, dim));
        } catch (Throwable t) {
            throw Context.wrap("uc_embedding", t);
        }
    }

    // ---- convolution stack --------------------------------------------------------------------

    /**
     * {@code uc_group_norm}: out[n,hw,c] = act((norm(x)·gamma + beta)·(1 + scale) + shift), statistics per
     * (image, group); gamma, beta ([c]) and scaleShift ([n, 2c]: scale then shift) may be {@link MemorySegment#NULL}.
     */
    public void groupNorm(DType dtype, MemorySegment x, MemorySegment gamma, MemorySegment beta, MemorySegment scaleShift,
                          MemorySegment out, long n, long hw, long c, long groups, float eps, Activation act) {
        try {
            context.check("uc_group_norm", (int) context.library().groupNorm.invokeExact(context.handle(), dtype.code, x,
                    gamma, beta, scaleShift, out, n, hw, c, groups, eps, act.code()));
        } catch (Throwable t) {
            throw Context.wrap("uc_group_norm", t);
        }
    }

    /**
     * {@code uc_conv2d}: out[n,oh,ow,cout] = (conv(x[n,h,w,cin], w[cout,kh,kw,cin]) + bias + residual) /
     * outputScaleFactor; bias and residual may be {@link MemorySegment#NULL}.
     */
    public void conv2d(DType dtype, MemorySegment x, MemorySegment w, MemorySegment bias, MemorySegment residual,
                       MemorySegment out, long n, long h, long width, long cin, long cout, long kh, long kw, long stride,
                       long pad, float outputScaleFactor) {
        try {
            context.check("uc_conv2d", (int) context.library().conv2d.invokeExact(context.handle(), dtype.code, x, w, bias,
                    residual, out, n, h, width, cin, cout, kh, kw, stride, pad, outputScaleFactor));
        } catch (Throwable t) {
            throw Context.wrap("uc_conv2d", t);
        }
    }

    /** {@code uc_conv2d_weight_ohwi}: out[o,y,x,i] = w[o,i,y,x]. */
    public void conv2dWeightOhwi(DType dtype, MemorySegment w, MemorySegment out, long cout, long cin, long kh, long kw) {
        try {
            context.check("uc_conv2d_weight_ohwi", (int) context.library().conv2dWeightOhwi.invokeExact(context.handle(),
                    dtype.code, w, out, cout, cin, kh, kw));
        } catch (Throwable t) {
            throw Context.wrap("uc_conv2d_weight_ohwi", t);
        }
    }

    /** {@code uc_upsample_nearest2x}: out[n,2h,2w,c] = x[n,h,w,c] repeated 2×2. */
    public void upsampleNearest2x(DType dtype, MemorySegment x, MemorySegment out, long n, long h, long w, long c) {
        try {
            context.check("uc_upsample_nearest2x", (int) context.library().upsampleNearest2x.invokeExact(context.handle(),
                    dtype.code, x, out, n, h, w, c));
        } catch (Throwable t) {
            throw Context.wrap("uc_upsample_nearest2x", t);
        }
    }

    /** {@code uc_avg_pool2x2}: out[n,h/2,w/2,c] = mean of each 2×2 window of x[n,h,w,c]. */
    public void avgPool2x2(DType dtype, MemorySegment x, MemorySegment out, long n, long h, long w, long c) {
        try {
            context.check("uc_avg_pool2x2", (int) context.library().avgPool2x2.invokeExact(context.handle(), dtype.code, x,
                    out, n, h, w, c));
        } catch (Throwable t) {
            throw Context.wrap("uc_avg_pool2x2", t);
        }
    }

    /** {@code uc_resize_bicubic_aa}: torch's bicubic antialiased resize, x[n,h,w,c] to out[n,oh,ow,c]. */
    public void resizeBicubicAa(DType dtype, MemorySegment x, MemorySegment out, long n, long h, long w, long c, long oh,
                                long ow) {
        try {
            context.check("uc_resize_bicubic_aa", (int) context.library().resizeBicubicAa.invokeExact(context.handle(),
                    dtype.code, x, out, n, h, w, c, oh, ow));
        } catch (Throwable t) {
            throw Context.wrap("uc_resize_bicubic_aa", t);
        }
    }
}
