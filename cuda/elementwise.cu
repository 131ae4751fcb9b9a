// Elementwise ops on the GPU: uc_add, uc_mul, uc_activate. Storage f32/f16/bf16, math in f32.
// Memory-bound: one grid-stride pass, one read of each input and one write of out.
#include "activation.h"
#include "cuda_common.cuh"

namespace {

constexpr int kThreads = 256;

enum class Binary { kAdd, kMul };

// No __restrict__ where unclip.h lets out alias the input (a, x: the in-place residual add and
// activation); b keeps it, since out must not alias b.
template <Binary kOp, class T>
__global__ void binary_kernel(const T *a, const T *__restrict__ b, T *out, int64_t n, int64_t nb) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        const float x = uc::cuda::to_float(a[i]), y = uc::cuda::to_float(b[i % nb]);
        out[i] = uc::cuda::from_float<T>(kOp == Binary::kAdd ? x + y : x * y);
    }
}

template <class T>
__global__ void activate_kernel(uc_activation act, const T *x, T *out, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        out[i] = uc::cuda::from_float<T>(uc::activate(act, uc::cuda::to_float(x[i])));
}

template <Binary kOp>
uc_status binary_op(uc_context *ctx, uc_dtype dtype, const void *a, const void *b, void *out, int64_t n, int64_t nb) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (uc_status s = uc::check_elementwise(ctx, dtype, a, b, out, n, nb)) return s;
        if (n == 0) return UC_OK;
        return uc::cuda::dispatch_dtype(dtype, [&](auto tag) -> uc_status {
            using T = typename decltype(tag)::type;
            binary_kernel<kOp, T><<<uc::cuda::blocks_for(n, kThreads), kThreads, 0, ctx->stream>>>(
                static_cast<const T *>(a), static_cast<const T *>(b), static_cast<T *>(out), n, nb);
            UC_CUDA_CHECK_LAUNCH(ctx);
            return UC_OK;
        });
    });
}

}  // namespace

extern "C" {

UC_API uc_status uc_add(uc_context *ctx, uc_dtype dtype, const void *a, const void *b, void *out, int64_t n,
                        int64_t nb) {
    return binary_op<Binary::kAdd>(ctx, dtype, a, b, out, n, nb);
}

UC_API uc_status uc_mul(uc_context *ctx, uc_dtype dtype, const void *a, const void *b, void *out, int64_t n,
                        int64_t nb) {
    return binary_op<Binary::kMul>(ctx, dtype, a, b, out, n, nb);
}

UC_API uc_status uc_activate(uc_context *ctx, uc_activation act, uc_dtype dtype, const void *x, void *out,
                             int64_t n) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (uc_status s = uc::check_activate(ctx, act, dtype, x, out, n)) return s;
        if (n == 0) return UC_OK;
        return uc::cuda::dispatch_dtype(dtype, [&](auto tag) -> uc_status {
            using T = typename decltype(tag)::type;
            activate_kernel<T><<<uc::cuda::blocks_for(n, kThreads), kThreads, 0, ctx->stream>>>(
                act, static_cast<const T *>(x), static_cast<T *>(out), n);
            UC_CUDA_CHECK_LAUNCH(ctx);
            return UC_OK;
        });
    });
}

}  // extern "C"
