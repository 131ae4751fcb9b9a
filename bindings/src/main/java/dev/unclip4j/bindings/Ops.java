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

    // ---- convolution stack --------------------------------------------------------------------
}
