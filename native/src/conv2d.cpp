// uc_conv2d on the cpu: NHWC convolution as an implicit GEMM, float32, with the ResBlock
// epilogue fused: out = (conv(x, w) + bias + residual) / output_scale_factor.
//
// The GEMM is out[M = N·OH·OW, Cout] = patches[M, K = KH·KW·Cin] · w[Cout, K]ᵀ, run by the
// backend's GEMM (gemm.h). The patch matrix is never built: the GEMM gathers each output
// pixel's patch row while it packs A, one contiguous run of Cin channels per filter tap (NHWC
// makes them contiguous), zeros where the tap falls into the padding. w is [Cout, K] already
// (OHWI), as uc_linear's w.
#include "cpu.h"
#include "gemm.h"

#include <algorithm>

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
        if (uc_status s = uc::cpu::check_released_weight(ctx, w, cout, kh * kw * cin)) return s;
        const int64_t oh = uc::conv_out_size(h, kh, stride, pad), ow = uc::conv_out_size(w_in, kw, stride, pad);
        if (n == 0 || oh == 0 || ow == 0 || cout == 0) return UC_OK;
        uc::cpu::GemmA a{};
        a.x = static_cast<const float *>(x);
        a.conv = true;
        a.h = h, a.w = w_in, a.cin = cin, a.kh = kh, a.kw = kw, a.stride = stride, a.pad = pad, a.oh = oh, a.ow = ow;
        uc::cpu::GemmEpilogue epi{static_cast<const float *>(bias), static_cast<const float *>(residual), UC_ACT_NONE,
                                  output_scale_factor};
        uc::cpu::gemm(ctx, a, static_cast<const float *>(w), static_cast<float *>(out), n * oh * ow, cout, kh * kw * cin, epi);
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
#pragma omp parallel for schedule(static) if (cout * cin * taps >= uc::cpu::kParallelElements)
        for (int64_t o = 0; o < cout; ++o)
            for (int64_t t = 0; t < taps; ++t)
                for (int64_t i = 0; i < cin; ++i) dst[(o * taps + t) * cin + i] = src[(o * cin + i) * taps + t];
        return UC_OK;
    });
}

}  // extern "C"
