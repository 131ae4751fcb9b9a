// Elementwise ops on the cpu: uc_add, uc_mul, uc_activate.
#include "activation.h"
#include "cpu.h"

namespace {

enum class Binary { kAdd, kMul };

template <Binary kOp>
void binary(const float *a, const float *b, float *out, int64_t n, int64_t nb) {
    // Walk the output in rows of nb so the broadcast index needs no modulo per element.
    const int64_t rows = n / nb;
#pragma omp parallel for schedule(static) if (n >= uc::cpu::kParallelThreshold)
    for (int64_t r = 0; r < rows; ++r) {
        const float *ar = a + r * nb;
        float *orow = out + r * nb;
#pragma omp simd
        for (int64_t i = 0; i < nb; ++i) orow[i] = kOp == Binary::kAdd ? ar[i] + b[i] : ar[i] * b[i];
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
#pragma omp parallel for simd schedule(static) if (n >= uc::cpu::kParallelThreshold)
        for (int64_t i = 0; i < n; ++i) of[i] = uc::activate(act, xf[i]);
        return UC_OK;
    });
}

}  // extern "C"
