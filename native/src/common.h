// Internal helpers shared by the cpu (native/src) and cuda (cuda/) implementations of
// unclip.h: the error slot every context carries, the exception boundary every extern "C"
// function goes through, and the argument checks every op makes on both backends.
#pragma once

#include "unclip.h"

#include <atomic>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <exception>
#include <initializer_list>
#include <new>
#include <string>

#if defined(_OPENMP)
#include <omp.h>
#endif

// The part of a context both backends share. Each backend derives its uc_context from it.
struct uc_context_base {
    std::string last_error;
    std::atomic<bool> cancel_requested{false};
    // OpenMP threads of this context's calls (uc_context_set_threads); 0 where OpenMP is not used.
    int threads = 0;
};

namespace uc {

// Records a failure in the context and returns its status, printf-style.
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
inline uc_status fail(uc_context_base *ctx, uc_status status, const char *fmt, ...) {
    if (ctx != nullptr) {
        char buf[1024];
        va_list args;
        va_start(args, fmt);
        std::vsnprintf(buf, sizeof buf, fmt, args);
        va_end(args);
        ctx->last_error = buf;
    }
    return status;
}

// Runs an op body, turning any C++ exception into a status: nothing crosses the C ABI.
template <class Body>
uc_status guarded(uc_context_base *ctx, Body &&body) noexcept {
    if (ctx == nullptr) return UC_ERR_INVALID_ARGUMENT;  // nowhere to put a message
    ctx->last_error.clear();
#if defined(_OPENMP)
    // OpenMP's team size is a setting of the calling thread, and a context's calls may come from
    // any JVM thread: each call sets it for the thread that makes it.
    if (ctx->threads > 0) omp_set_num_threads(ctx->threads);
#endif
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return fail(ctx, UC_ERR_OUT_OF_MEMORY, "out of host memory");
    } catch (const std::exception &e) {
        return fail(ctx, UC_ERR_INTERNAL, "internal error: %s", e.what());
    } catch (...) {
        return fail(ctx, UC_ERR_INTERNAL, "internal error: unknown exception");
    }
}

inline const char *dtype_name(uc_dtype dtype) {
    switch (dtype) {
        case UC_F32: return "f32";
        case UC_F16: return "f16";
        case UC_BF16: return "bf16";
    }
    return "unknown dtype";
}

inline bool valid_dtype(uc_dtype dtype) {
    return dtype == UC_F32 || dtype == UC_F16 || dtype == UC_BF16;
}

inline bool valid_activation(uc_activation act) {
    return act >= UC_ACT_NONE && act <= UC_ACT_QUICK_GELU;
}

// ---- argument checks, identical on both backends ----------------------------------------
// Each returns UC_OK or records what is wrong, naming the argument.

inline uc_status check_elementwise(uc_context_base *ctx, uc_dtype dtype, const void *a,
                                   const void *b, const void *out, int64_t n, int64_t nb) {
    if (!valid_dtype(dtype)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (n < 0) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "n = %lld must be >= 0", (long long)n);
    if (nb <= 0) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "nb = %lld must be > 0", (long long)nb);
    if (n % nb != 0)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "nb = %lld does not divide n = %lld",
                    (long long)nb, (long long)n);
    if (n > 0 && (a == nullptr || b == nullptr || out == nullptr))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (a=%p b=%p out=%p)", a, b, out);
    // The cuda kernel reads b through a __restrict__ pointer (and a broadcast b would be overwritten).
    if (n > 0 && out == b) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "out must not alias b");
    return UC_OK;
}

inline uc_status check_activate(uc_context_base *ctx, uc_activation act, uc_dtype dtype,
                                const void *x, const void *out, int64_t n) {
    if (!valid_dtype(dtype)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (!valid_activation(act) || act == UC_ACT_NONE)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "activation %d is not one of silu, gelu_tanh, gelu_erf, quick_gelu", (int)act);
    if (n < 0) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "n = %lld must be >= 0", (long long)n);
    if (n > 0 && (x == nullptr || out == nullptr))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (x=%p out=%p)", x, out);
    return UC_OK;
}

inline uc_status check_linear(uc_context_base *ctx, uc_dtype dtype, const void *x, const void *w,
                              const void *out, int64_t m, int64_t n, int64_t k, uc_activation act) {
    if (!valid_dtype(dtype)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (!valid_activation(act)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown activation %d", (int)act);
    if (m < 0 || n < 0 || k < 0)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "sizes m=%lld n=%lld k=%lld must be >= 0",
                    (long long)m, (long long)n, (long long)k);
    if (m > 0 && n > 0 && (out == nullptr || (k > 0 && (x == nullptr || w == nullptr))))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (x=%p w=%p out=%p)", x, w, out);
    return UC_OK;
}

inline uc_status check_weight_prepare(uc_context_base *ctx, uc_dtype dtype, const void *w, int64_t n, int64_t k) {
    if (!valid_dtype(dtype)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (n < 0 || k < 0)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "sizes n=%lld k=%lld must be >= 0", (long long)n, (long long)k);
    if (n * k > 0 && w == nullptr) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer w");
    return UC_OK;
}

inline uc_status check_copy_2d(uc_context_base *ctx, uc_dtype dtype, const void *src, int64_t src_stride,
                               const void *dst, int64_t dst_stride, int64_t rows, int64_t cols) {
    if (!valid_dtype(dtype)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (rows < 0 || cols < 0)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "rows = %lld and cols = %lld must be >= 0", (long long)rows,
                    (long long)cols);
    if (src_stride < cols || dst_stride < cols)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "strides (src %lld, dst %lld) must be >= cols = %lld",
                    (long long)src_stride, (long long)dst_stride, (long long)cols);
    if (rows * cols > 0 && (src == nullptr || dst == nullptr))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (src=%p dst=%p)", src, dst);
    return UC_OK;
}

// ---- convolution stack ---------------------------------------------------------------------

inline uc_status check_dims(uc_context_base *ctx, const char *names, std::initializer_list<int64_t> dims) {
    for (int64_t d : dims)
        if (d < 0) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "sizes (%s) must be >= 0, got %lld", names, (long long)d);
    return UC_OK;
}

inline uc_status check_group_norm(uc_context_base *ctx, uc_dtype dtype, const void *x, const void *out, int64_t n,
                                  int64_t hw, int64_t c, int64_t groups, float eps, uc_activation act) {
    if (!valid_dtype(dtype)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (!valid_activation(act)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown activation %d", (int)act);
    if (uc_status s = check_dims(ctx, "n, hw, c", {n, hw, c})) return s;
    if (groups <= 0) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "groups = %lld must be > 0", (long long)groups);
    if (c % groups != 0)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "groups = %lld does not divide c = %lld", (long long)groups,
                    (long long)c);
    if (!(eps > 0.0f)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "eps = %g must be > 0", (double)eps);
    if (n * hw * c > 0 && (x == nullptr || out == nullptr))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (x=%p out=%p)", x, out);
    return UC_OK;
}

// Output extent of a convolution along one axis, or -1 when the kernel does not fit.
inline int64_t conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad) {
    const int64_t span = in + 2 * pad - k;
    return span < 0 ? -1 : span / stride + 1;
}

inline uc_status check_conv2d(uc_context_base *ctx, uc_dtype dtype, const void *x, const void *w, const void *residual,
                              const void *out, int64_t n, int64_t h, int64_t w_in, int64_t cin, int64_t cout,
                              int64_t kh, int64_t kw, int64_t stride, int64_t pad, float output_scale_factor) {
    if (!valid_dtype(dtype)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (uc_status s = check_dims(ctx, "n, h, w, cin, cout", {n, h, w_in, cin, cout})) return s;
    if (kh <= 0 || kw <= 0)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "kernel kh=%lld kw=%lld must be > 0", (long long)kh, (long long)kw);
    if (stride <= 0) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "stride = %lld must be > 0", (long long)stride);
    if (pad < 0) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "pad = %lld must be >= 0", (long long)pad);
    if (pad >= kh || pad >= kw)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "pad = %lld must be smaller than the kernel %lldx%lld", (long long)pad,
                    (long long)kh, (long long)kw);
    if (!(output_scale_factor > 0.0f))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "output_scale_factor = %g must be > 0", (double)output_scale_factor);
    const int64_t oh = conv_out_size(h, kh, stride, pad), ow = conv_out_size(w_in, kw, stride, pad);
    if (n > 0 && (oh < 0 || ow < 0))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "kernel %lldx%lld with pad %lld does not fit the %lldx%lld input",
                    (long long)kh, (long long)kw, (long long)pad, (long long)h, (long long)w_in);
    if (n > 0 && oh > 0 && ow > 0 && cout > 0 && (out == nullptr || (cin > 0 && (x == nullptr || w == nullptr))))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (x=%p w=%p out=%p)", x, w, out);
    if (residual != nullptr && residual == x)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "residual must not alias x");
    return UC_OK;
}

inline uc_status check_conv2d_weight_ohwi(uc_context_base *ctx, uc_dtype dtype, const void *w, const void *out,
                                          int64_t cout, int64_t cin, int64_t kh, int64_t kw) {
    if (!valid_dtype(dtype)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (uc_status s = check_dims(ctx, "cout, cin, kh, kw", {cout, cin, kh, kw})) return s;
    if (cout * cin * kh * kw > 0 && (w == nullptr || out == nullptr))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (w=%p out=%p)", w, out);
    if (cout * cin * kh * kw > 0 && w == out) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "out must not alias w");
    return UC_OK;
}

// uc_upsample_nearest2x, uc_avg_pool2x2 and uc_resize_bicubic_aa: x [n, h, w, c] to out.
inline uc_status check_resize(uc_context_base *ctx, uc_dtype dtype, const void *x, const void *out, int64_t n,
                              int64_t h, int64_t w, int64_t c, int64_t oh, int64_t ow) {
    if (!valid_dtype(dtype)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (uc_status s = check_dims(ctx, "n, h, w, c", {n, h, w, c})) return s;
    if (oh < 0 || ow < 0)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "output size oh=%lld ow=%lld must be >= 0", (long long)oh,
                    (long long)ow);
    if (n * c * oh * ow > 0 && (h == 0 || w == 0))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "cannot resize an empty %lldx%lld image to %lldx%lld", (long long)h,
                    (long long)w, (long long)oh, (long long)ow);
    if (n * c * oh * ow > 0 && (x == nullptr || out == nullptr))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (x=%p out=%p)", x, out);
    if (n * c * oh * ow > 0 && x == out) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "out must not alias x");
    return UC_OK;
}

// ---- transformer ops (attention, layer norm, softmax, embeddings) ------------------------

// One source of keys and values for attention: [B, len, H, D] each, rows k_stride/v_stride
// elements apart, with an optional key-padding mask [B, len] (nonzero = attend).
struct KvSegment {
    const void *k;
    const void *v;
    int64_t k_stride, v_stride;
    const void *mask;
    int64_t len;
};

// Both attention entry points reduce to this: uc_attention has one segment, causal or not;
// uc_attention_added_kv has two (text, then spatial), never causal.
struct AttentionArgs {
    uc_dtype dtype;
    const void *q;
    int64_t q_stride;
    KvSegment seg[2];
    int num_segments;
    void *out;
    int64_t batch, lq, heads, head_dim;
    float scale;
    bool causal;

    int64_t lk() const { return seg[0].len + (num_segments > 1 ? seg[1].len : 0); }
};

// Head dims the kernels take: the CUDA kernel holds a query row's slice of q and of the output
// in registers sized for 128; the small end admits the tiny configurations of the fixtures.
constexpr int64_t kMaxHeadDim = 128;

inline uc_status check_stride(uc_context_base *ctx, const char *name, int64_t stride, int64_t row) {
    if (stride < row)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "%s = %lld is smaller than heads·head_dim = %lld", name,
                    (long long)stride, (long long)row);
    return UC_OK;
}

inline uc_status check_attention(uc_context_base *ctx, const AttentionArgs &a) {
    if (!valid_dtype(a.dtype)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)a.dtype);
    if (a.batch < 0 || a.lq < 0)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "sizes batch=%lld lq=%lld must be >= 0", (long long)a.batch,
                    (long long)a.lq);
    if (a.heads < 1) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "heads = %lld must be >= 1", (long long)a.heads);
    if (a.head_dim < 1 || a.head_dim > kMaxHeadDim)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "head_dim = %lld is outside the supported range [1, %lld]",
                    (long long)a.head_dim, (long long)kMaxHeadDim);
    for (int s = 0; s < a.num_segments; ++s)
        if (a.seg[s].len < 0)
            return fail(ctx, UC_ERR_INVALID_ARGUMENT, "%s = %lld must be >= 0",
                        a.num_segments == 1 ? "lk" : (s == 0 ? "lt" : "ls"), (long long)a.seg[s].len);
    if (a.lk() < 1)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT,
                    a.num_segments == 1 ? "lk = 0: attention needs at least one key"
                                        : "lt + ls = 0: attention needs at least one key");
    if (!(a.scale == a.scale) || a.scale - a.scale != 0.0f)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "scale = %g is not finite", (double)a.scale);
    const int64_t row = a.heads * a.head_dim;
    if (uc_status s = check_stride(ctx, "q_stride", a.q_stride, row)) return s;
    if (a.num_segments == 1) {
        if (uc_status s = check_stride(ctx, "k_stride", a.seg[0].k_stride, row)) return s;
        if (uc_status s = check_stride(ctx, "v_stride", a.seg[0].v_stride, row)) return s;
    } else {
        for (int s = 0; s < 2; ++s)
            if (a.seg[s].len > 0)
                if (uc_status st = check_stride(ctx, s == 0 ? "text_stride" : "self_stride", a.seg[s].k_stride, row))
                    return st;
    }
    if (a.batch > 0 && a.lq > 0) {
        if (a.q == nullptr || a.out == nullptr)
            return fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (q=%p out=%p)", a.q, a.out);
        for (int s = 0; s < a.num_segments; ++s)
            if (a.seg[s].len > 0 && (a.seg[s].k == nullptr || a.seg[s].v == nullptr))
                return fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (%s k=%p v=%p)",
                            a.num_segments == 1 ? "" : (s == 0 ? "text" : "self"), a.seg[s].k, a.seg[s].v);
    }
    return UC_OK;
}

inline uc_status check_layer_norm(uc_context_base *ctx, uc_dtype dtype, const void *x, const void *out,
                                  int64_t rows, int64_t c, float eps) {
    if (!valid_dtype(dtype)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (rows < 0 || c < 1)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "sizes rows=%lld c=%lld: need rows >= 0, c >= 1", (long long)rows,
                    (long long)c);
    if (!(eps >= 0.0f) || eps - eps != 0.0f)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "eps = %g must be finite and >= 0", (double)eps);
    if (rows > 0 && (x == nullptr || out == nullptr))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (x=%p out=%p)", x, out);
    return UC_OK;
}

inline uc_status check_softmax(uc_context_base *ctx, uc_dtype dtype, const void *x, const void *out, int64_t rows,
                               int64_t n) {
    if (!valid_dtype(dtype)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (rows < 0 || n < 1)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "sizes rows=%lld n=%lld: need rows >= 0, n >= 1", (long long)rows,
                    (long long)n);
    if (rows > 0 && (x == nullptr || out == nullptr))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (x=%p out=%p)", x, out);
    return UC_OK;
}

// The argument t·freq_i of uc_timestep_embedding, in torch's float32 arithmetic
// (diffusers' get_timestep_embedding): exponent = float(−ln max_period) · i, divided by
// (half − shift), exp'd, times t — each a float32 operation. At t ≈ 1000 the float32 rounding of
// the argument moves the sine by up to ~3e-5, which diffusers' outputs carry; computing it
// in double would differ from them by that much.
#if defined(__CUDACC__)
__host__ __device__
#endif
inline float timestep_argument(float t, int64_t i, int64_t half, float shift, float max_period) {
    const float neg_log = (float)(-log((double)max_period));
    const float exponent = (neg_log * (float)i) / ((float)half - shift);
    const float freq = (float)exp((double)exponent);
    return t * freq;
}

inline uc_status check_timestep_embedding(uc_context_base *ctx, uc_dtype dtype, const float *timesteps,
                                          const void *out, int64_t n, int64_t dim, float shift, float max_period) {
    if (!valid_dtype(dtype)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (n < 0) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "n = %lld must be >= 0", (long long)n);
    if (dim < 2) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "dim = %lld must be >= 2", (long long)dim);
    if (!((double)(dim / 2) - (double)shift > 0.0))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "downscale_freq_shift = %g must be below dim/2 = %lld",
                    (double)shift, (long long)(dim / 2));
    if (!(max_period > 0.0f) || max_period - max_period != 0.0f)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "max_period = %g must be finite and > 0", (double)max_period);
    if (n > 0 && (timesteps == nullptr || out == nullptr))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (timesteps=%p out=%p)", (const void *)timesteps, out);
    return UC_OK;
}

inline uc_status check_embedding(uc_context_base *ctx, uc_dtype dtype, const void *table, const int32_t *ids,
                                 const void *out, int64_t n, int64_t vocab, int64_t dim) {
    if (!valid_dtype(dtype)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (n < 0 || vocab < 1 || dim < 1)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "sizes n=%lld vocab=%lld dim=%lld: need n >= 0, vocab >= 1, dim >= 1",
                    (long long)n, (long long)vocab, (long long)dim);
    if (n > 0 && (table == nullptr || ids == nullptr || out == nullptr))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (table=%p ids=%p out=%p)", table, (const void *)ids, out);
    return UC_OK;
}


}  // namespace uc
