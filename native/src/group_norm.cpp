// uc_group_norm on the cpu: group normalisation with the ResBlock epilogue fused (affine
// gamma/beta, AdaGN scale/shift, activation), float32 data, double statistics.
//
// Two passes over x: per-channel sums over chunks of rows (then reduced to groups), and one
// normalising pass that folds every per-channel factor into a single multiply-add,
// out = act(x·a[b,ch] + c[b,ch]), so the activation is the only non-trivial work per element
// and the loop vectorises (SiLU through cpu_math.h).
#include "activation.h"
#include "cpu.h"
#include "cpu_math.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace {

struct GroupNormConfig {
    // Row chunks per image for the statistics pass: enough parallel tasks for the cores even
    // at batch 1 (the super-resolution U-Net), few enough that the per-chunk channel sums
    // (2·C doubles each) stay small next to the image: at most 16, of at least 32 rows each
    // (16 chunks of 4 rows at 64 pixels made a buffer of sums as large as the image).
    static constexpr int64_t kChunks = 16, kMinChunkRows = 32;
    // Elements from which both passes run on every thread: twice cpu.h's kParallelElements, as a
    // call forks the team twice (with the bindings' passive wait policy 2 × 1280 × 64 px, 164 K
    // elements, ran 10–15 % slower on two threads than on one; 2 × 2560 × 64 already gains).
    static constexpr int64_t kParallelElements = 2 * uc::cpu::kParallelElements;
};

// Per-channel sums and sums of squares over rows [p0, p1) of one image: every row is C
// contiguous floats, so this reads x once, front to back, and vectorises over channels
// (a per-group walk would read cg = C/32 floats per row, 10 at C = 320, and not vectorise).
// kRows rows at a time: each channel's sums stay in a register over those rows and go to memory
// once, not once a row (a load and a store of two double arrays per row made this pass run at
// half the read bandwidth); each channel still adds its rows in order, so the sums are the same.
// Summing a block of channels over all the rows, to keep the sums in L1 at C ≥ 1600, was
// 10–50 % slower at 4096 pixels and more (group_norm_times.cpp): the row streams lost.
UC_MULTIVERSION void channel_sums(const float *x, int64_t p0, int64_t p1, int64_t c, double *sum, double *sumsq) {
    constexpr int64_t kRows = 8;
    for (int64_t ch = 0; ch < c; ++ch) sum[ch] = sumsq[ch] = 0.0;
    int64_t p = p0;
    for (; p + kRows <= p1; p += kRows) {
        const float *rows = x + p * c;
#pragma omp simd
        for (int64_t ch = 0; ch < c; ++ch) {
            double s = sum[ch], q = sumsq[ch];
            for (int64_t r = 0; r < kRows; ++r) {
                const double v = rows[r * c + ch];
                s += v;
                q += v * v;
            }
            sum[ch] = s;
            sumsq[ch] = q;
        }
    }
    for (; p < p1; ++p) {
        const float *row = x + p * c;
#pragma omp simd
        for (int64_t ch = 0; ch < c; ++ch) {
            const double v = row[ch];
            sum[ch] += v;
            sumsq[ch] += v * v;
        }
    }
}

// Rows [0, rows) of one image: out = act(x·a + b), the per-channel factors a and b of that image.
// A block of rows a call, not one: at C = 32 (the built-in model) a call per row cost more than
// its 32 multiply-adds and SiLUs.
UC_MULTIVERSION void normalize_rows(const float *x, const float *a, const float *b, float *out, int64_t rows,
                                    int64_t c, uc_activation act) {
    for (int64_t r = 0; r < rows; ++r) {
        const float *xr = x + r * c;
        float *o = out + r * c;
        if (act == UC_ACT_SILU) {
            // The ResBlock's case, vectorised (cpu_math.h).
#pragma omp simd
            for (int64_t j = 0; j < c; ++j) o[j] = uc::cpu::silu_fast(xr[j] * a[j] + b[j]);
        } else if (act == UC_ACT_NONE) {
#pragma omp simd
            for (int64_t j = 0; j < c; ++j) o[j] = xr[j] * a[j] + b[j];
        } else {
            for (int64_t j = 0; j < c; ++j) o[j] = uc::activate(act, xr[j] * a[j] + b[j]);
        }
    }
}

void group_norm_f32(const float *x, const float *gamma, const float *beta, const float *scale_shift, float *out,
                    int64_t n, int64_t hw, int64_t c, int64_t groups, float eps, uc_activation act) {
    const int64_t cg = c / groups;
    const int64_t chunks = std::clamp<int64_t>(hw / GroupNormConfig::kMinChunkRows, 1, GroupNormConfig::kChunks);
    // Pass 1: per (image, chunk of rows) channel sums, in parallel, into a buffer the calling
    // thread keeps between calls (each call writes all of it that it reads); the team gets its
    // address, not the thread_local (a team thread would name its own).
    thread_local std::vector<double> kept;
    if (kept.size() < (size_t)(n * chunks * 2 * c)) kept.resize((size_t)(n * chunks * 2 * c));
    double *const partial = kept.data();
#pragma omp parallel for schedule(static) if (n * hw * c >= GroupNormConfig::kParallelElements)
    for (int64_t task = 0; task < n * chunks; ++task) {
        const int64_t img = task / chunks, k = task % chunks;
        double *sums = partial + task * 2 * c;
        channel_sums(x + img * hw * c, hw * k / chunks, hw * (k + 1) / chunks, c, sums, sums + c);
    }
    // Per (image, channel): out = act(x·a + b), a = rstd·gamma·(1+scale), b = (beta − mean·rstd·gamma)·(1+scale) + shift.
    std::vector<float> a((size_t)(n * c)), b((size_t)(n * c));
    for (int64_t img = 0; img < n; ++img)
        for (int64_t g = 0; g < groups; ++g) {
            double sum = 0, sumsq = 0;
            for (int64_t k = 0; k < chunks; ++k) {
                const double *sums = partial + (img * chunks + k) * 2 * c;
                for (int64_t j = g * cg; j < (g + 1) * cg; ++j) {
                    sum += sums[j];
                    sumsq += sums[c + j];
                }
            }
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
    // Pass 2: normalise, in parallel over the same (image, chunk of rows) tasks.
#pragma omp parallel for schedule(static) if (n * hw * c >= GroupNormConfig::kParallelElements)
    for (int64_t task = 0; task < n * chunks; ++task) {
        const int64_t img = task / chunks, k = task % chunks, p0 = hw * k / chunks, p1 = hw * (k + 1) / chunks;
        const int64_t offset = (img * hw + p0) * c;
        normalize_rows(x + offset, a.data() + img * c, b.data() + img * c, out + offset, p1 - p0, c, act);
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
