// Vectorisable float32 math for the CPU kernels. libm's expf is a call the compiler cannot
// vectorise (glibc's vector variants need -ffast-math, which we do not use), so the hot
// activations use this exp: Cephes' expf (range reduction by ln 2 split in two constants,
// degree-6 minimax polynomial), within 1 ulp of expf on [-87.3, 88.3], no branches.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace uc::cpu {

inline float exp_fast(float x) {
    x = std::fmin(std::fmax(x, -87.3f), 88.3f);  // keeps 2^n a normal float; e^x saturates there
    const float n = std::floor(x * 1.44269504088896341f + 0.5f);
    const float r = x - n * 0.693359375f + n * 2.12194440e-4f;  // x − n·ln2, ln2 in two parts
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float y = p * r * r + r + 1.0f;
    const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

inline float sigmoid_fast(float x) { return 1.0f / (1.0f + exp_fast(-x)); }

// tanh(y) = 1 − 2 / (e^{2y} + 1); the cancellation near 0 does not matter where it is used
// (GELU adds it to 1).
inline float tanh_fast(float y) { return 1.0f - 2.0f / (exp_fast(2.0f * y) + 1.0f); }

}  // namespace uc::cpu
