// uc_layer_norm on the cpu: per row, mean and biased variance in float32 (two passes, the
// second over the centred values, so large means do not cancel), then the affine map.
#include "cpu.h"

#include <cmath>

namespace {

UC_MULTIVERSION void layer_norm_row(const float *x, const float *gamma, const float *beta, float *out, int64_t c,
                                    float eps) {
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < c; ++i) sum += x[i];
    const float mean = sum / (float)c;
    float sq = 0.0f;
#pragma omp simd reduction(+ : sq)
    for (int64_t i = 0; i < c; ++i) sq += (x[i] - mean) * (x[i] - mean);
    const float rstd = 1.0f / std::sqrt(sq / (float)c + eps);
#pragma omp simd
    for (int64_t i = 0; i < c; ++i) {
        const float g = gamma ? gamma[i] : 1.0f, b = beta ? beta[i] : 0.0f;
        out[i] = (x[i] - mean) * rstd * g + b;
    }
}

}  // namespace

extern "C" UC_API uc_status uc_layer_norm(uc_context *ctx, uc_dtype dtype, const void *x, const void *gamma,
                                          const void *beta, void *out, int64_t rows, int64_t c, float eps) {
    return uc::guarded(ctx, [&] {
        if (uc_status s = uc::check_layer_norm(ctx, dtype, x, out, rows, c, eps)) return s;
        if (uc_status s = uc::cpu::require_f32(ctx, dtype)) return s;
        if (uc_status s = uc::cpu::check_cancel(ctx)) return s;
        const float *xf = static_cast<const float *>(x), *g = static_cast<const float *>(gamma),
                    *b = static_cast<const float *>(beta);
        float *of = static_cast<float *>(out);
#pragma omp parallel for schedule(static) if (rows * c >= uc::cpu::kParallelLightElements)
        for (int64_t r = 0; r < rows; ++r) layer_norm_row(xf + r * c, g, b, of + r * c, c, eps);
        return UC_OK;
    });
}
