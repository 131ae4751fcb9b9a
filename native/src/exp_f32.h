// A float32 exp that vectorises: glibc's expf stays a scalar call inside `omp simd` loops
// without -ffast-math, and at one exp per 2·D FLOPs of attention (D = 64: one per 128) a
// scalar call would cost more than the matrix work around it.
#pragma once

#include <cstdint>

namespace uc::cpu {

// exp(x) = 2^n · exp(r), n = round(x / ln 2), r = x − n·ln 2 with ln 2 split in two parts so
// r is exact; exp(r) on |r| <= ln2/2 by Cephes' degree-6 polynomial for expf (≈ 1 ulp).
// Inputs below ln(FLT_MIN) (−inf included) give exactly 0, which masking relies on;
// inputs above 88 saturate at exp(88): callers pass x <= 0.
//
// n is rounded by adding 1.5·2^23 (the integer lands in the low mantissa bits) rather than by
// floor and a float→int conversion: under GCC's default -ftrapping-math those two keep the
// loop scalar. Always inlined: GCC does not inline a plain function into a target_clones
// (UC_MULTIVERSION) caller by itself, and a call inside an `omp simd` loop keeps it scalar.
__attribute__((always_inline)) inline float exp_f32(float x) {
    const bool underflow = x < -87.33654f;
    x = underflow ? -87.33654f : (x > 88.0f ? 88.0f : x);
    const float kRound = 12582912.0f;  // 1.5·2^23
    const float t = x * 1.44269504088896341f + kRound;
    const float n = t - kRound;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float y = p * r * r + r + 1.0f;
    const int32_t ni = __builtin_bit_cast(int32_t, t) - 0x4B400000;  // n as an integer
    const float scale = __builtin_bit_cast(float, (ni + 127) << 23);
    return underflow ? 0.0f : y * scale;
}

}  // namespace uc::cpu
