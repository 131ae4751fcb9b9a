// uc_softmax on the cpu: per row, max, exp(x − max) and its sum, then one scaling pass.
#include "cpu.h"
#include "cpu_math.h"

#include <algorithm>
#include <cmath>

namespace {

UC_MULTIVERSION void softmax_row(const float *x, float *out, int64_t n) {
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; ++i) {
        out[i] = uc::cpu::exp_f32(x[i] - mx);
        sum += out[i];
    }
    const float inv = 1.0f / sum;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] *= inv;
}

}  // namespace

extern "C" UC_API uc_status uc_softmax(uc_context *ctx, uc_dtype dtype, const void *x, void *out, int64_t rows,
                                       int64_t n) {
    return uc::guarded(ctx, [&] {
        if (uc_status s = uc::check_softmax(ctx, dtype, x, out, rows, n)) return s;
        if (uc_status s = uc::cpu::require_f32(ctx, dtype)) return s;
        if (uc_status s = uc::cpu::check_cancel(ctx)) return s;
        const float *xf = static_cast<const float *>(x);
        float *of = static_cast<float *>(out);
#pragma omp parallel for schedule(static) if (rows * n >= uc::cpu::kParallelElements)
        for (int64_t r = 0; r < rows; ++r) softmax_row(xf + r * n, of + r * n, n);
        return UC_OK;
    });
}
