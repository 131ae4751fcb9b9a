// The activation functions of uc_activation, for host and device code alike, computed in
// float32. Both backends evaluate exactly these expressions so that their results agree to
// the last few bits.
#pragma once

#include "unclip.h"

#include <math.h>

#if defined(__CUDACC__)
#define UC_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define UC_HOST_DEVICE inline
#endif

namespace uc {

UC_HOST_DEVICE float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

UC_HOST_DEVICE float activate(uc_activation act, float x) {
    switch (act) {
        case UC_ACT_SILU: return x * sigmoid(x);
        case UC_ACT_GELU_TANH: {
            const float kSqrt2OverPi = 0.7978845608028654f;
            return 0.5f * x * (1.0f + tanhf(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
        }
        case UC_ACT_GELU_ERF: return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
        case UC_ACT_QUICK_GELU: return x * sigmoid(1.702f * x);
        case UC_ACT_NONE: break;
    }
    return x;
}

}  // namespace uc
