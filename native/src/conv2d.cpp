// uc_conv2d on the cpu: NHWC convolution as an implicit GEMM, float32, with the ResBlock
// epilogue fused: out = (conv(x, w) + bias + residual) / output_scale_factor.
//
// The GEMM is out[M = N·OH·OW, Cout] = patches[M, K = KH·KW·Cin] · w[Cout, K]ᵀ, the same shape
// as uc_linear, and it uses the same register blocking (gemm_panels.h): w packed once per call
// into k-major panels of kNr output channels, a kMr × kNr block of out held in registers. The
// patch matrix is never built: for each filter tap the micro-kernel takes one pointer per
// output pixel to the Cin contiguous input channels under that tap (NHWC makes them
// contiguous), or to a row of zeros where the tap falls into the padding. So the inner loop is
// exactly the GEMM's, over Cin instead of k, for any kernel size, stride and padding.
#include "cpu.h"
#include "gemm_panels.h"

#include <algorithm>
#include <vector>

namespace {

// Output pixels per block × output channels per panel: the GEMM's blocking (gemm_panels.h).
using ConvTile = uc::cpu::GemmTile;

struct ConvGeom {
    const float *x;
    int64_t h, w, cin, kh, kw, stride, pad, oh, ow;
    const float *zeros;  // cin zeros: the input row of a tap in the padding
};

struct Epilogue {
    const float *bias;      // [cout] or null
    const float *residual;  // [m, cout] or null
    float scale_factor;     // divides the sum (a division, as diffusers, not a multiply by 1/s)
};

// Computes output pixels [m0, m0+kRows) × channels [n0, n0+nr) from one packed panel.
template <int kRows>
UC_MULTIVERSION void conv_micro_kernel(const ConvGeom &g, const float *panel, float *out, int64_t cout, int64_t m0,
                                       int64_t n0, int64_t nr, const Epilogue &epi) {
    constexpr int64_t kNr = ConvTile::kNr;
    int64_t iy0[kRows], ix0[kRows];
    const float *image[kRows];
    for (int i = 0; i < kRows; ++i) {
        const int64_t m = m0 + i, ox = m % g.ow, oy = (m / g.ow) % g.oh, b = m / (g.ow * g.oh);
        iy0[i] = oy * g.stride - g.pad;
        ix0[i] = ox * g.stride - g.pad;
        image[i] = g.x + b * g.h * g.w * g.cin;
    }
    float acc[kRows][kNr] = {};
    for (int64_t ky = 0; ky < g.kh; ++ky)
        for (int64_t kx = 0; kx < g.kw; ++kx) {
            const float *src[kRows];
            for (int i = 0; i < kRows; ++i) {
                const int64_t iy = iy0[i] + ky, ix = ix0[i] + kx;
                src[i] = (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) ? image[i] + (iy * g.w + ix) * g.cin : g.zeros;
            }
            const float *wp = panel + (ky * g.kw + kx) * g.cin * kNr;
            for (int64_t ci = 0; ci < g.cin; ++ci) {
                const float *wv = wp + ci * kNr;
                for (int i = 0; i < kRows; ++i) {
                    const float xv = src[i][ci];
#pragma omp simd
                    for (int64_t j = 0; j < kNr; ++j) acc[i][j] += xv * wv[j];
                }
            }
        }
    for (int i = 0; i < kRows; ++i) {
        float *orow = out + (m0 + i) * cout + n0;
        const float *rrow = epi.residual != nullptr ? epi.residual + (m0 + i) * cout + n0 : nullptr;
        for (int64_t j = 0; j < nr; ++j) {
            float v = acc[i][j];
            if (epi.bias != nullptr) v += epi.bias[n0 + j];
            if (rrow != nullptr) v = rrow[j] + v;
            orow[j] = v / epi.scale_factor;
        }
    }
}

using MicroKernel = void (*)(const ConvGeom &, const float *, float *, int64_t, int64_t, int64_t, int64_t,
                             const Epilogue &);
constexpr MicroKernel kKernels[ConvTile::kMr + 1] = {
    nullptr, conv_micro_kernel<1>, conv_micro_kernel<2>, conv_micro_kernel<3>,
    conv_micro_kernel<4>, conv_micro_kernel<5>, conv_micro_kernel<6>};

void conv2d_f32(const ConvGeom &g, const float *w, float *out, int64_t n, int64_t cout, const Epilogue &epi) {
    constexpr int64_t kMr = ConvTile::kMr, kNr = ConvTile::kNr;
    const int64_t k = g.kh * g.kw * g.cin, m = n * g.oh * g.ow;
    const int64_t panels = (cout + kNr - 1) / kNr;
    // w is [cout, k] already (OHWI): packed as uc_linear packs its w.
    const std::vector<float> packed = uc::cpu::pack_panels(w, cout, k);
    const int64_t row_blocks = (m + kMr - 1) / kMr;
    // Panel-major order: each thread's contiguous share walks many row blocks per panel, so the
    // panel stays in its cache while the input rows stream past.
#pragma omp parallel for collapse(2) schedule(static) if (m * cout * k >= uc::cpu::kParallelThreshold)
    for (int64_t pn = 0; pn < panels; ++pn)
        for (int64_t rb = 0; rb < row_blocks; ++rb) {
            const int64_t m0 = rb * kMr, n0 = pn * kNr;
            kKernels[std::min(kMr, m - m0)](g, packed.data() + pn * kNr * k, out, cout, m0, n0,
                                            std::min(kNr, cout - n0), epi);
        }
}

}  // namespace

extern "C" {

UC_API uc_status uc_conv2d(uc_context *ctx, uc_dtype dtype, const void *x, const void *w, const void *bias,
                           const void *residual, void *out, int64_t n, int64_t h, int64_t w_in, int64_t cin,
                           int64_t cout, int64_t kh, int64_t kw, int64_t stride, int64_t pad,
                           float output_scale_factor) {
    return uc::guarded(ctx, [&] {
        if (uc_status s = uc::check_conv2d(ctx, dtype, x, w, residual, out, n, h, w_in, cin, cout, kh, kw, stride, pad,
                                           output_scale_factor))
            return s;
        if (uc_status s = uc::cpu::require_f32(ctx, dtype)) return s;
        if (uc_status s = uc::cpu::check_cancel(ctx)) return s;
        const int64_t oh = uc::conv_out_size(h, kh, stride, pad), ow = uc::conv_out_size(w_in, kw, stride, pad);
        if (n == 0 || oh == 0 || ow == 0 || cout == 0) return UC_OK;
        const std::vector<float> zeros((size_t)std::max<int64_t>(cin, 1), 0.0f);
        const ConvGeom g{static_cast<const float *>(x), h, w_in, cin, kh, kw, stride, pad, oh, ow, zeros.data()};
        const Epilogue epi{static_cast<const float *>(bias), static_cast<const float *>(residual),
                           output_scale_factor};
        conv2d_f32(g, static_cast<const float *>(w), static_cast<float *>(out), n, cout, epi);
        return UC_OK;
    });
}

UC_API uc_status uc_conv2d_weight_ohwi(uc_context *ctx, uc_dtype dtype, const void *w, void *out, int64_t cout,
                                       int64_t cin, int64_t kh, int64_t kw) {
    return uc::guarded(ctx, [&] {
        if (uc_status s = uc::check_conv2d_weight_ohwi(ctx, dtype, w, out, cout, cin, kh, kw)) return s;
        if (uc_status s = uc::cpu::require_f32(ctx, dtype)) return s;
        const float *src = static_cast<const float *>(w);
        float *dst = static_cast<float *>(out);
        const int64_t taps = kh * kw;
#pragma omp parallel for schedule(static) if (cout * cin * taps >= uc::cpu::kParallelThreshold)
        for (int64_t o = 0; o < cout; ++o)
            for (int64_t t = 0; t < taps; ++t)
                for (int64_t i = 0; i < cin; ++i) dst[(o * taps + t) * cin + i] = src[(o * cin + i) * taps + t];
        return UC_OK;
    });
}

}  // extern "C"
