// uc_timestep_embedding on the GPU: one thread per (timestep, frequency); the argument in torch's
// float32 arithmetic (uc::timestep_argument, shared with the cpu op), sine and cosine in double
// (n·dim/2 values once per denoising step: the double rate does not matter), rounded once to the
// storage type. Not yet run on a GPU.
#include "cuda_common.cuh"

#include <math.h>

namespace {

constexpr int kThreads = 256;

template <class T>
__global__ void timestep_embedding_kernel(const float *__restrict__ timesteps, T *out, int64_t n, int64_t dim,
                                          bool flip, float shift, float max_period) {
    const int64_t half = dim / 2;
    for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < n * half;
         idx += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = idx / half, i = idx % half;
        double sn, cs;
        sincos((double)uc::timestep_argument(timesteps[r], i, half, shift, max_period), &sn, &cs);
        T *row = out + r * dim;
        row[i] = uc::cuda::from_float<T>((float)(flip ? cs : sn));
        row[half + i] = uc::cuda::from_float<T>((float)(flip ? sn : cs));
        if (i == 0 && dim % 2 != 0) row[dim - 1] = uc::cuda::from_float<T>(0.0f);
    }
}

}  // namespace

extern "C" UC_API uc_status uc_timestep_embedding(uc_context *ctx, uc_dtype dtype, const float *timesteps,
                                                  void *out, int64_t n, int64_t dim, int32_t flip_sin_to_cos,
                                                  float downscale_freq_shift, float max_period) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (uc_status s = uc::check_timestep_embedding(ctx, dtype, timesteps, out, n, dim, downscale_freq_shift,
                                                       max_period))
            return s;
        if (n == 0) return UC_OK;
        return uc::cuda::dispatch_dtype(dtype, [&](auto tag) -> uc_status {
            using T = typename decltype(tag)::type;
            timestep_embedding_kernel<T><<<uc::cuda::blocks_for(n * (dim / 2), kThreads), kThreads, 0, ctx->stream>>>(
                timesteps, static_cast<T *>(out), n, dim, flip_sin_to_cos != 0, downscale_freq_shift, max_period);
            UC_CUDA_CHECK_LAUNCH(ctx);
            return UC_OK;
        });
    });
}
