// Elementwise ops on the cpu: uc_add, uc_mul, uc_activate.
#include "activation.h"
#include "cpu.h"
#include "cpu_math.h"

#include <algorithm>

namespace {

enum class Binary { kAdd, kMul };

template <Binary kOp>
void binary(const float *a, const float *b, float *out, int64_t n, int64_t nb) {
    // Chunks of the output for the threads (a split by rows of nb left an unbroadcast add, one
    // row, on one thread after forking the team); within a chunk, runs that stay inside one row of
    // nb, so the broadcast index needs no modulo per element.
    constexpr int64_t kChunk = 16384;
    const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n >= uc::cpu::kParallelCopyElements)
    for (int64_t c = 0; c < chunks; ++c) {
        const int64_t end = std::min(n, (c + 1) * kChunk);
        for (int64_t i = c * kChunk; i < end;) {
            const int64_t j = i % nb, len = std::min(end - i, nb - j);
            const float *ar = a + i, *br = b + j;
            float *orow = out + i;
#pragma omp simd
            for (int64_t t = 0; t < len; ++t) orow[t] = kOp == Binary::kAdd ? ar[t] + br[t] : ar[t] * br[t];
            i += len;
        }
    }
}

template <Binary kOp>
uc_status binary_op(uc_context *ctx, uc_dtype dtype, const void *a, const void *b, void *out,
                    int64_t n, int64_t nb) {
    return uc::guarded(ctx, [&] {
        if (uc_status s = uc::check_elementwise(ctx, dtype, a, b, out, n, nb)) return s;
        if (uc_status s = uc::cpu::require_f32(ctx, dtype)) return s;
        if (uc_status s = uc::cpu::check_cancel(ctx)) return s;
        binary<kOp>(static_cast<const float *>(a), static_cast<const float *>(b), static_cast<float *>(out), n, nb);
        return UC_OK;
    });
}

// The activations, one loop each so that each vectorises (a switch per element would not).
// SiLU, QuickGELU and GELU-tanh use the vectorisable exp of cpu_math.h; GELU-erf keeps libm's
// erff (no vectorisable erf of the needed accuracy here yet).
UC_MULTIVERSION void activate_chunk(uc_activation act, const float *x, float *out, int64_t n) {
    switch (act) {
        case UC_ACT_SILU:
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) out[i] = x[i] * uc::cpu::sigmoid_fast(x[i]);
            break;
        case UC_ACT_QUICK_GELU:
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) out[i] = x[i] * uc::cpu::sigmoid_fast(1.702f * x[i]);
            break;
        case UC_ACT_GELU_TANH:
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) {
                const float v = x[i];
                out[i] = 0.5f * v * (1.0f + uc::cpu::tanh_fast(0.7978845608028654f * (v + 0.044715f * v * v * v)));
            }
            break;
        default:
            for (int64_t i = 0; i < n; ++i) out[i] = uc::activate(act, x[i]);
            break;
    }
}

}  // namespace

extern "C" {

UC_API uc_status uc_add(uc_context *ctx, uc_dtype dtype, const void *a, const void *b, void *out,
                        int64_t n, int64_t nb) {
    return binary_op<Binary::kAdd>(ctx, dtype, a, b, out, n, nb);
}

UC_API uc_status uc_mul(uc_context *ctx, uc_dtype dtype, const void *a, const void *b, void *out,
                        int64_t n, int64_t nb) {
    return binary_op<Binary::kMul>(ctx, dtype, a, b, out, n, nb);
}

UC_API uc_status uc_activate(uc_context *ctx, uc_activation act, uc_dtype dtype, const void *x,
                             void *out, int64_t n) {
    return uc::guarded(ctx, [&] {
        if (uc_status s = uc::check_activate(ctx, act, dtype, x, out, n)) return s;
        if (uc_status s = uc::cpu::require_f32(ctx, dtype)) return s;
        if (uc_status s = uc::cpu::check_cancel(ctx)) return s;
        const float *xf = static_cast<const float *>(x);
        float *of = static_cast<float *>(out);
        // Chunks of 4096: a few pages per task, many tasks per thread for balance. GELU-erf calls
        // libm's erff per element (~3.4 ns, 14× the vectorised ones): it forks from less.
        constexpr int64_t kChunk = 4096;
        const int64_t chunks = (n + kChunk - 1) / kChunk;
        const int64_t parallel_from =
            act == UC_ACT_GELU_ERF ? uc::cpu::kParallelElements : uc::cpu::kParallelLightElements;
#pragma omp parallel for schedule(static) if (n >= parallel_from)
        for (int64_t c = 0; c < chunks; ++c) {
            const int64_t begin = c * kChunk;
            activate_chunk(act, xf + begin, of + begin, std::min(kChunk, n - begin));
        }
        return UC_OK;
    });
}

}  // extern "C"
