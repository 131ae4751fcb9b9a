// uc_group_norm on the cpu: group normalisation with the ResBlock epilogue fused (affine
// gamma/beta, AdaGN scale/shift, activation), float32 data, double statistics.
//
// Two passes over x: statistics per (image, group), then one normalising pass that folds every
// per-channel factor into a single multiply-add, out = act(x·a[b,ch] + c[b,ch]), so the
// activation is the only non-trivial work per element and the loop vectorises.
#include "activation.h"
#include "cpu.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

// Sum and sum of squares of one group of one image: hw rows of cg channels, C apart.
UC_MULTIVERSION void group_sums(const float *x, int64_t hw, int64_t c, int64_t cg, double &sum, double &sumsq) {
    double s = 0, q = 0;
    for (int64_t p = 0; p < hw; ++p) {
        const float *row = x + p * c;
#pragma omp simd reduction(+ : s, q)
        for (int64_t j = 0; j < cg; ++j) {
            const double v = row[j];
            s += v;
            q += v * v;
        }
    }
    sum = s;
    sumsq = q;
}

UC_MULTIVERSION void normalize_row(const float *x, const float *a, const float *b, float *out, int64_t c,
                                   uc_activation act) {
#pragma omp simd
    for (int64_t j = 0; j < c; ++j) out[j] = uc::activate(act, x[j] * a[j] + b[j]);
}

void group_norm_f32(const float *x, const float *gamma, const float *beta, const float *scale_shift, float *out,
                    int64_t n, int64_t hw, int64_t c, int64_t groups, float eps, uc_activation act) {
    const int64_t cg = c / groups;
    // Per (image, channel): out = act(x·a + b), a = rstd·gamma·(1+scale), b = (beta − mean·rstd·gamma)·(1+scale) + shift.
    std::vector<float> a((size_t)(n * c)), b((size_t)(n * c));
#pragma omp parallel for schedule(static) if (n * hw * c >= uc::cpu::kParallelThreshold)
    for (int64_t bg = 0; bg < n * groups; ++bg) {
        const int64_t img = bg / groups, g = bg % groups;
        double sum, sumsq;
        group_sums(x + img * hw * c + g * cg, hw, c, cg, sum, sumsq);
        const double count = (double)hw * (double)cg;
        const double mean = sum / count;
        // E[x²] − mean² in double: the cancellation costs ~1e-16·mean²/var, far below float.
        const double var = std::max(sumsq / count - mean * mean, 0.0);
        const double rstd = 1.0 / std::sqrt(var + (double)eps);
        for (int64_t j = 0; j < cg; ++j) {
            const int64_t ch = g * cg + j;
            const double gm = gamma != nullptr ? gamma[ch] : 1.0, bt = beta != nullptr ? beta[ch] : 0.0;
            const double sc = scale_shift != nullptr ? 1.0 + scale_shift[img * 2 * c + ch] : 1.0;
            const double sh = scale_shift != nullptr ? scale_shift[img * 2 * c + c + ch] : 0.0;
            a[img * c + ch] = (float)(rstd * gm * sc);
            b[img * c + ch] = (float)((bt - mean * rstd * gm) * sc + sh);
        }
    }
#pragma omp parallel for schedule(static) if (n * hw * c >= uc::cpu::kParallelThreshold)
    for (int64_t row = 0; row < n * hw; ++row) {
        const int64_t img = row / hw;
        normalize_row(x + row * c, a.data() + img * c, b.data() + img * c, out + row * c, c, act);
    }
}

}  // namespace

extern "C" UC_API uc_status uc_group_norm(uc_context *ctx, uc_dtype dtype, const void *x, const void *gamma,
                                          const void *beta, const void *scale_shift, void *out, int64_t n, int64_t hw,
                                          int64_t c, int64_t groups, float eps, uc_activation act) {
    return uc::guarded(ctx, [&] {
        if (uc_status s = uc::check_group_norm(ctx, dtype, x, out, n, hw, c, groups, eps, act)) return s;
        if (uc_status s = uc::cpu::require_f32(ctx, dtype)) return s;
        if (uc_status s = uc::cpu::check_cancel(ctx)) return s;
        if (n * hw * c == 0) return UC_OK;
        group_norm_f32(static_cast<const float *>(x), static_cast<const float *>(gamma),
                       static_cast<const float *>(beta), static_cast<const float *>(scale_shift),
                       static_cast<float *>(out), n, hw, c, groups, eps, act);
        return UC_OK;
    });
}
