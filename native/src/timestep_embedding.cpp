// uc_timestep_embedding on the cpu: diffusers' get_timestep_embedding with torch's float32
// arithmetic for the arguments (see unclip.h), the sine and cosine in double, rounded once.
#include "cpu.h"

#include <cmath>

extern "C" UC_API uc_status uc_timestep_embedding(uc_context *ctx, uc_dtype dtype, const float *timesteps,
                                                  void *out, int64_t n, int64_t dim, int32_t flip_sin_to_cos,
                                                  float downscale_freq_shift, float max_period) {
    return uc::guarded(ctx, [&] {
        if (uc_status s = uc::check_timestep_embedding(ctx, dtype, timesteps, out, n, dim, downscale_freq_shift,
                                                       max_period))
            return s;
        if (uc_status s = uc::cpu::require_f32(ctx, dtype)) return s;
        if (uc_status s = uc::cpu::check_cancel(ctx)) return s;
        float *of = static_cast<float *>(out);
        const int64_t half = dim / 2;
        for (int64_t r = 0; r < n; ++r) {
            float *row = of + r * dim;
            for (int64_t i = 0; i < half; ++i) {
                const double arg = uc::timestep_argument(timesteps[r], i, half, downscale_freq_shift, max_period);
                const float sn = (float)std::sin(arg), cs = (float)std::cos(arg);
                row[i] = flip_sin_to_cos ? cs : sn;
                row[half + i] = flip_sin_to_cos ? sn : cs;
            }
            if (dim % 2 != 0) row[dim - 1] = 0.0f;
        }
        return UC_OK;
    });
}
