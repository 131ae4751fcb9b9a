// The antialiased bicubic filter of uc_resize_bicubic_aa, for host and device code alike, in
// the same float arithmetic as PyTorch's CPU kernel (aten/src/ATen/native/cpu/UpSampleKernel.cpp,
// HelperInterpCubic::aa_filter and _compute_weights_aa, torch 1.13), so that both backends and
// torch agree to the last few bits.
#pragma once

#include "activation.h"  // UC_HOST_DEVICE

#include <stdint.h>

namespace uc::resize_aa {

// Keys' cubic convolution with a = -0.5: torch uses PIL's constant when antialias=True, for
// upscaling as well (plain bicubic, antialias=False, uses OpenCV's a = -0.75).
UC_HOST_DEVICE float filter(float x) {
    const float a = -0.5f;
    x = x < 0 ? -x : x;
    if (x < 1.0f) return ((a + 2.0f) * x - (a + 3.0f)) * x * x + 1.0f;
    if (x < 2.0f) return ((a * x - 5.0f * a) * x + 8.0f * a) * x - 4.0f * a;
    return 0.0f;
}

// torch's area_pixel_compute_scale for align_corners=False and an explicit output size.
UC_HOST_DEVICE float scale(int64_t in, int64_t out) { return (float)in / (float)out; }

// The filter's half-width in input pixels: 2 taps each side, stretched when downscaling.
UC_HOST_DEVICE float support(float scale) { return scale >= 1.0f ? 2.0f * scale : 2.0f; }

// The most taps one output pixel reads along an axis (torch's max_interp_size).
UC_HOST_DEVICE int64_t max_taps(float support) { return (int64_t)ceilf(support) * 2 + 1; }

// Output pixel i's first input pixel (*first) and tap count (*count) along one axis, and the
// un-normalised weight of tap j; the caller divides by the sum of the weights (when non-zero).
struct Axis {
    float scale, support, invscale, center;
    int64_t first, count;
};

UC_HOST_DEVICE Axis axis(int64_t i, int64_t in, int64_t out) {
    Axis ax;
    ax.scale = scale(in, out);
    ax.support = support(ax.scale);
    ax.invscale = ax.scale >= 1.0f ? 1.0f / ax.scale : 1.0f;
    ax.center = (float)((double)ax.scale * ((double)i + 0.5));
    const int64_t lo = (int64_t)(ax.center - ax.support + 0.5f);
    const int64_t hi = (int64_t)(ax.center + ax.support + 0.5f);
    ax.first = lo > 0 ? lo : 0;
    ax.count = (hi < in ? hi : in) - ax.first;
    return ax;
}

UC_HOST_DEVICE float weight(const Axis &ax, int64_t j) {
    // torch: (j + xmin - center + 0.5) * invscale, int64 − float in float, the rest in double.
    return filter((float)(((double)((float)(j + ax.first) - ax.center) + 0.5) * (double)ax.invscale));
}

}  // namespace uc::resize_aa
