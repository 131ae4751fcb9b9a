// Vectorisable float32 math for the CPU kernels: exp_f32 (attention, softmax) and the
// sigmoid family (SiLU, QuickGELU, GELU-tanh, group norm + SiLU).
//
// libm's expf is a call the compiler cannot vectorise (glibc declares its vector variants only
// under -ffast-math, which the build avoids, since results must match the reference), and with
// trapping math gcc will neither if-convert float comparisons nor vectorise floorf or a memcpy
// type pun. So everything here is branch-free arithmetic and integer bit work:
// e^−|v| by Cephes' expf (n = round(−|v|/ln 2) by truncation, r = −|v| − n·ln 2 with ln 2 in two
// parts, a degree-5 polynomial, 2^n through the exponent bits with n held at −126), and the
// sigmoid from it, picking t/(1+t) or 1/(1+t) by the sign bit as a 0/1 factor. |v| is capped at
// 100 on its bits (ordered like the values for non-negative floats), where e^−|v| < 2^−126
// anyway; NaN still propagates. Measured within 1.9e-7 relative of x·sigmoid(x) in double over
// [−120, 120].
#pragma once

#include <algorithm>
#include <cstdint>

namespace uc::cpu {

// e^r for |r| <= ln 2 / 2, the range both exps below reduce to: Cephes' expf polynomial.
__attribute__((always_inline)) inline float exp_reduced(float r) {
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    return p * r * r + r + 1.0f;
}

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
    const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
    const float y = exp_reduced(r);
    const int32_t ni = __builtin_bit_cast(int32_t, t) - 0x4B400000;  // n as an integer
    const float scale = __builtin_bit_cast(float, (ni + 127) << 23);
    return underflow ? 0.0f : y * scale;
}

// e^−|v|, in (0, 1].
__attribute__((always_inline)) inline float exp_neg_abs(float v) {
    const uint32_t bits = __builtin_bit_cast(uint32_t, v);
    const float x = -__builtin_bit_cast(float, std::min(bits & 0x7fffffffu, 0x42c80000u));  // −min(|v|, 100)
    const int32_t n = (int32_t)(x * 1.44269504088896341f - 0.5f);  // x/ln 2 rounded (x ≤ 0)
    const float nf = (float)n;
    const float r = (x - nf * 0.693359375f) + nf * 2.12194440e-4f;
    const float two_n = __builtin_bit_cast(float, (std::max(n, (int32_t)-126) + 127) << 23);
    return exp_reduced(r) * two_n;
}

// 1 / (1 + e^−v), without overflow for any v.
__attribute__((always_inline)) inline float sigmoid_fast(float v) {
    const float t = exp_neg_abs(v);
    const float negative = (float)(int32_t)(__builtin_bit_cast(uint32_t, v) >> 31);
    return (negative * t + (1.0f - negative)) / (1.0f + t);
}

__attribute__((always_inline)) inline float silu_fast(float v) { return v * sigmoid_fast(v); }

// tanh(y) = 2·sigmoid(2y) − 1.
__attribute__((always_inline)) inline float tanh_fast(float y) { return 2.0f * sigmoid_fast(2.0f * y) - 1.0f; }

}  // namespace uc::cpu
