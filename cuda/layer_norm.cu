// uc_layer_norm on the GPU: one block per row; mean, then the centred sum of squares (two
// passes, float32, as on the cpu), then the affine map. The row is read three times; at the
// callers' widths (768..2048) it stays in L1/L2 between passes. Not yet run on a GPU.
#include "block_reduce.cuh"
#include "cuda_common.cuh"

namespace {

// 256 threads: 3..8 elements each at the callers' widths, 8 warps to hide load latency.
constexpr int kThreads = 256;

template <class T>
__global__ void __launch_bounds__(kThreads)
layer_norm_kernel(const T *x, const T *__restrict__ gamma, const T *__restrict__ beta, T *out, int64_t c, float eps) {
    __shared__ float scratch[32];
    const T *xr = x + (int64_t)blockIdx.x * c;
    T *orow = out + (int64_t)blockIdx.x * c;
    float sum = 0.0f;
    for (int64_t i = threadIdx.x; i < c; i += kThreads) sum += uc::cuda::to_float(xr[i]);
    const float mean = uc::cuda::block_reduce<uc::cuda::Reduce::kSum>(sum, scratch) / (float)c;
    float sq = 0.0f;
    for (int64_t i = threadIdx.x; i < c; i += kThreads) {
        const float d = uc::cuda::to_float(xr[i]) - mean;
        sq += d * d;
    }
    const float rstd = rsqrtf(uc::cuda::block_reduce<uc::cuda::Reduce::kSum>(sq, scratch) / (float)c + eps);
    // out may alias x: every read of the row happened before the reduction's barrier above.
    for (int64_t i = threadIdx.x; i < c; i += kThreads) {
        const float g = gamma ? uc::cuda::to_float(gamma[i]) : 1.0f, b = beta ? uc::cuda::to_float(beta[i]) : 0.0f;
        orow[i] = uc::cuda::from_float<T>((uc::cuda::to_float(xr[i]) - mean) * rstd * g + b);
    }
}

}  // namespace

extern "C" UC_API uc_status uc_layer_norm(uc_context *ctx, uc_dtype dtype, const void *x, const void *gamma,
                                          const void *beta, void *out, int64_t rows, int64_t c, float eps) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (uc_status s = uc::check_layer_norm(ctx, dtype, x, out, rows, c, eps)) return s;
        if (rows == 0) return UC_OK;
        if (rows > 0x7fffffff)
            return uc::fail(ctx, UC_ERR_UNSUPPORTED, "rows = %lld exceeds the grid's limit", (long long)rows);
        return uc::cuda::dispatch_dtype(dtype, [&](auto tag) -> uc_status {
            using T = typename decltype(tag)::type;
            layer_norm_kernel<T><<<(unsigned)rows, kThreads, 0, ctx->stream>>>(
                static_cast<const T *>(x), static_cast<const T *>(gamma), static_cast<const T *>(beta),
                static_cast<T *>(out), c, eps);
            UC_CUDA_CHECK_LAUNCH(ctx);
            return UC_OK;
        });
    });
}
