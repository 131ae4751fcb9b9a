// Resize ops on the cpu: uc_upsample_nearest2x, uc_avg_pool2x2, uc_resize_bicubic_aa. NHWC,
// float32. Each output row is a contiguous run of C channels per pixel, so every loop below
// walks channels innermost and vectorises; images × rows are the parallel axis.
#include "cpu.h"
#include "resize_aa.h"

#include <vector>

namespace {

void upsample_nearest2x_f32(const float *x, float *out, int64_t n, int64_t h, int64_t w, int64_t c) {
#pragma omp parallel for schedule(static) if (n * h * w * c >= uc::cpu::kParallelLightElements)
    for (int64_t row = 0; row < n * 2 * h; ++row) {
        const int64_t b = row / (2 * h), oy = row % (2 * h);
        const float *src = x + (b * h + oy / 2) * w * c;
        float *dst = out + row * 2 * w * c;
        for (int64_t ox = 0; ox < 2 * w; ++ox) {
            const float *s = src + (ox / 2) * c;
#pragma omp simd
            for (int64_t ch = 0; ch < c; ++ch) dst[ox * c + ch] = s[ch];
        }
    }
}

UC_MULTIVERSION void avg_pool_row(const float *top, const float *bottom, float *dst, int64_t ow, int64_t c) {
    for (int64_t ox = 0; ox < ow; ++ox) {
        const float *t = top + 2 * ox * c, *u = bottom + 2 * ox * c;
        // torch's order: the window's rows, each left to right, then one division by 4.
#pragma omp simd
        for (int64_t ch = 0; ch < c; ++ch) dst[ox * c + ch] = (((t[ch] + t[c + ch]) + u[ch]) + u[c + ch]) / 4.0f;
    }
}

void avg_pool2x2_f32(const float *x, float *out, int64_t n, int64_t h, int64_t w, int64_t c) {
    const int64_t oh = h / 2, ow = w / 2;
#pragma omp parallel for schedule(static) if (n * h * w * c >= uc::cpu::kParallelCopyElements)
    for (int64_t row = 0; row < n * oh; ++row) {
        const int64_t b = row / oh, oy = row % oh;
        const float *top = x + (b * h + 2 * oy) * w * c;
        avg_pool_row(top, top + w * c, out + row * ow * c, ow, c);
    }
}

// One axis's taps for every output pixel: first input pixel, count, normalised weights.
struct AxisTable {
    int64_t taps;  // weights stored per output pixel (the most any pixel uses)
    std::vector<int64_t> first, count;
    std::vector<float> weights;

    AxisTable(int64_t in, int64_t out) : first((size_t)out), count((size_t)out) {
        taps = uc::resize_aa::max_taps(uc::resize_aa::support(uc::resize_aa::scale(in, out)));
        weights.assign((size_t)(out * taps), 0.0f);
        for (int64_t i = 0; i < out; ++i) {
            const uc::resize_aa::Axis ax = uc::resize_aa::axis(i, in, out);
            first[i] = ax.first;
            count[i] = ax.count;
            float *wi = weights.data() + i * taps;
            float total = 0.0f;
            for (int64_t j = 0; j < ax.count; ++j) total += wi[j] = uc::resize_aa::weight(ax, j);
            if (total != 0.0f)
                for (int64_t j = 0; j < ax.count; ++j) wi[j] /= total;
        }
    }
};

// dst[ch] = Σ_j wi[j] · src[j·step + ch]: one output pixel's C channels from its taps, step apart.
UC_MULTIVERSION void resample_run(const float *src, float *dst, const float *wi, int64_t count, int64_t step,
                                  int64_t c) {
    for (int64_t ch = 0; ch < c; ++ch) dst[ch] = 0.0f;
    for (int64_t j = 0; j < count; ++j) {
        const float wj = wi[j];
        const float *s = src + j * step;
#pragma omp simd
        for (int64_t ch = 0; ch < c; ++ch) dst[ch] += wj * s[ch];
    }
}

// As torch: along the width first (into tmp), then along the height; an axis whose size does
// not change is copied, which is what the filter computes there too (weights 1, 0, 0, …).
void resize_bicubic_aa_f32(const float *x, float *out, int64_t n, int64_t h, int64_t w, int64_t c, int64_t oh,
                           int64_t ow) {
    const AxisTable horizontal(w, ow), vertical(h, oh);
    std::vector<float> tmp((size_t)(n * h * ow * c));
#pragma omp parallel for collapse(2) schedule(static) if (n * h * ow * c >= uc::cpu::kParallelElements)
    for (int64_t row = 0; row < n * h; ++row)
        for (int64_t ox = 0; ox < ow; ++ox)
            resample_run(x + (row * w + horizontal.first[ox]) * c, tmp.data() + (row * ow + ox) * c,
                         horizontal.weights.data() + ox * horizontal.taps, horizontal.count[ox], c, c);
#pragma omp parallel for collapse(2) schedule(static) if (n * oh * ow * c >= uc::cpu::kParallelElements)
    for (int64_t b = 0; b < n; ++b)
        for (int64_t oy = 0; oy < oh; ++oy)
            resample_run(tmp.data() + (b * h + vertical.first[oy]) * ow * c, out + (b * oh + oy) * ow * c,
                         vertical.weights.data() + oy * vertical.taps, vertical.count[oy], ow * c, ow * c);
}

template <class Body>
uc_status resize_op(uc_context *ctx, uc_dtype dtype, const void *x, void *out, int64_t n, int64_t h, int64_t w,
                    int64_t c, int64_t oh, int64_t ow, Body &&body) {
    return uc::guarded(ctx, [&] {
        if (uc_status s = uc::check_resize(ctx, dtype, x, out, n, h, w, c, oh, ow)) return s;
        if (uc_status s = uc::cpu::require_f32(ctx, dtype)) return s;
        if (uc_status s = uc::cpu::check_cancel(ctx)) return s;
        if (n * c * oh * ow == 0) return UC_OK;
        body(static_cast<const float *>(x), static_cast<float *>(out));
        return UC_OK;
    });
}

}  // namespace

extern "C" {

UC_API uc_status uc_upsample_nearest2x(uc_context *ctx, uc_dtype dtype, const void *x, void *out, int64_t n,
                                       int64_t h, int64_t w, int64_t c) {
    return resize_op(ctx, dtype, x, out, n, h, w, c, 2 * h, 2 * w,
                     [&](const float *xf, float *of) { upsample_nearest2x_f32(xf, of, n, h, w, c); });
}

UC_API uc_status uc_avg_pool2x2(uc_context *ctx, uc_dtype dtype, const void *x, void *out, int64_t n, int64_t h,
                                int64_t w, int64_t c) {
    return resize_op(ctx, dtype, x, out, n, h, w, c, h / 2, w / 2,
                     [&](const float *xf, float *of) { avg_pool2x2_f32(xf, of, n, h, w, c); });
}

UC_API uc_status uc_resize_bicubic_aa(uc_context *ctx, uc_dtype dtype, const void *x, void *out, int64_t n,
                                      int64_t h, int64_t w, int64_t c, int64_t oh, int64_t ow) {
    return resize_op(ctx, dtype, x, out, n, h, w, c, oh, ow,
                     [&](const float *xf, float *of) { resize_bicubic_aa_f32(xf, of, n, h, w, c, oh, ow); });
}

}  // extern "C"
