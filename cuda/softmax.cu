// uc_softmax on the GPU: one block per row; max, sum of exp(x − max), then the scaled write,
// in float32. Not yet run on a GPU.
#include "block_reduce.cuh"
#include "cuda_common.cuh"

#include <math.h>

namespace {

// 256 threads: a row of 77..1105 scores is 1..5 elements per thread.
constexpr int kThreads = 256;

template <class T>
__global__ void __launch_bounds__(kThreads) softmax_kernel(const T *x, T *out, int64_t n) {
    __shared__ float scratch[32];
    const T *xr = x + (int64_t)blockIdx.x * n;
    T *orow = out + (int64_t)blockIdx.x * n;
    float mx = -INFINITY;
    for (int64_t i = threadIdx.x; i < n; i += kThreads) mx = fmaxf(mx, uc::cuda::to_float(xr[i]));
    mx = uc::cuda::block_reduce<uc::cuda::Reduce::kMax>(mx, scratch);
    float sum = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += kThreads) sum += expf(uc::cuda::to_float(xr[i]) - mx);
    const float inv = 1.0f / uc::cuda::block_reduce<uc::cuda::Reduce::kSum>(sum, scratch);
    // out may alias x: all reads of the row precede the barrier inside the last reduction.
    for (int64_t i = threadIdx.x; i < n; i += kThreads)
        orow[i] = uc::cuda::from_float<T>(expf(uc::cuda::to_float(xr[i]) - mx) * inv);
}

}  // namespace

extern "C" UC_API uc_status uc_softmax(uc_context *ctx, uc_dtype dtype, const void *x, void *out, int64_t rows,
                                       int64_t n) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (uc_status s = uc::check_softmax(ctx, dtype, x, out, rows, n)) return s;
        if (rows == 0) return UC_OK;
        if (rows > 0x7fffffff)
            return uc::fail(ctx, UC_ERR_UNSUPPORTED, "rows = %lld exceeds the grid's limit", (long long)rows);
        return uc::cuda::dispatch_dtype(dtype, [&](auto tag) -> uc_status {
            using T = typename decltype(tag)::type;
            softmax_kernel<T><<<(unsigned)rows, kThreads, 0, ctx->stream>>>(static_cast<const T *>(x),
                                                                              static_cast<T *>(out), n);
            UC_CUDA_CHECK_LAUNCH(ctx);
            return UC_OK;
        });
    });
}
