// Internal helpers of the cuda backend: its context (device + stream), CUDA error → status
// with the message and file:line, and storage-type conversions.
#pragma once

#include "common.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

struct uc_context : uc_context_base {
    int device = 0;
    int sm_count = 1;  // multiprocessors: kernels that split work to fill the GPU size their grids by it
    cudaStream_t stream = nullptr;
};

namespace uc::cuda {

inline uc_status status_of(cudaError_t err) {
    switch (err) {
        case cudaErrorMemoryAllocation: return UC_ERR_OUT_OF_MEMORY;
        case cudaErrorNoKernelImageForDevice:
        case cudaErrorUnsupportedPtxVersion:
        case cudaErrorInvalidKernelImage: return UC_ERR_ARCH_MISMATCH;
        default: return UC_ERR_DEVICE;
    }
}

// Clears the runtime's "last error". The runtime keeps one per host thread and every failed call
// sets it; left set, the next launch's check (UC_CUDA_CHECK_LAUNCH) would report it against
// another op, file and line, after that op's kernel was queued: a retry with a smaller batch
// after an out-of-memory error would fail again, and with virtual threads another context's op
// on the same carrier thread would. Called wherever a failed call has been dealt with. A sticky
// error (a kernel fault that breaks the CUDA context) survives this: every later call reports it
// again, rightly.
inline void clear_last_error() { (void)cudaGetLastError(); }

// Turns a failed call into its status and message, leaving no stale last error behind.
inline uc_status fail_cuda(uc_context_base *ctx, cudaError_t err, const char *what, const char *file, int line) {
    clear_last_error();
    return fail(ctx, status_of(err), "%s: %s (%s) at %s:%d", what, cudaGetErrorString(err), cudaGetErrorName(err),
                file, line);
}

}  // namespace uc::cuda

// Returns from the enclosing function with a status naming the failed call and where it was.
#define UC_CUDA_TRY(ctx, call)                                                     \
    do {                                                                           \
        cudaError_t uc_err_ = (call);                                              \
        if (uc_err_ != cudaSuccess)                                                \
            return ::uc::cuda::fail_cuda((ctx), uc_err_, #call, __FILE__, __LINE__); \
    } while (0)

// Checks the launch of the kernel just queued (bad configuration, missing image for this GPU).
// Sound only because every earlier failure went through fail_cuda, which clears the last error.
#define UC_CUDA_CHECK_LAUNCH(ctx) UC_CUDA_TRY((ctx), cudaGetLastError())

namespace uc::cuda {

// Every entry point runs on the context's device: the CUDA current device is per host thread,
// and a virtual thread may come back on another carrier thread.
template <class Body>
uc_status on_device(uc_context *ctx, Body &&body) noexcept {
    return guarded(ctx, [&]() -> uc_status {
        if (ctx->stream == nullptr) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "context has no device (its creation failed)");
        if (ctx->cancel_requested.load(std::memory_order_relaxed)) return fail(ctx, UC_ERR_CANCELLED, "cancelled");
        UC_CUDA_TRY(ctx, cudaSetDevice(ctx->device));
        return body();
    });
}

// Storage types and their float32 conversions.
template <class T> __device__ __forceinline__ float to_float(T v);
template <> __device__ __forceinline__ float to_float<float>(float v) { return v; }
template <> __device__ __forceinline__ float to_float<__half>(__half v) { return __half2float(v); }
template <> __device__ __forceinline__ float to_float<__nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }

template <class T> __device__ __forceinline__ T from_float(float v);
template <> __device__ __forceinline__ float from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ __half from_float<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

template <class T> struct Type { using type = T; };

// Calls f(Type<T>{}) with T the storage type of dtype; f reads it back as
// `using T = typename decltype(tag)::type;`.
template <class F>
uc_status dispatch_dtype(uc_dtype dtype, F &&f) {
    switch (dtype) {
        case UC_F32: return f(Type<float>{});
        case UC_F16: return f(Type<__half>{});
        case UC_BF16: return f(Type<__nv_bfloat16>{});
    }
    return UC_ERR_INVALID_ARGUMENT;
}

// CUDA's grid limits on every GPU this library runs on (compute capability >= 8.0).
constexpr int64_t kMaxGridX = 2147483647, kMaxGridY = 65535;

// The grid of a kernel that tiles an output of m rows x n columns (m, n >= 1) in tile_m x tile_n
// blocks: row tiles on gridDim.x, column tiles on gridDim.y, and the kernel reads its tile as
// (blockIdx.x, blockIdx.y). Rows go on x because M is the big one: N·OH·OW of a convolution
// reaches 65,535 tiles of 64 (y's limit) at 256x256 with batch 64; the columns (a layer's width)
// stay far below it. Fails with UC_ERR_UNSUPPORTED when the grid would not fit.
inline uc_status output_tile_grid(uc_context_base *ctx, int64_t m, int64_t n, int tile_m, int tile_n, dim3 &grid) {
    const int64_t x = (m + tile_m - 1) / tile_m, y = (n + tile_n - 1) / tile_n;
    if (x > kMaxGridX || y > kMaxGridY)
        return fail(ctx, UC_ERR_UNSUPPORTED,
                    "an output of %lld x %lld in %d x %d tiles needs a %lld x %lld grid; CUDA allows %lld x %lld",
                    (long long)m, (long long)n, tile_m, tile_n, (long long)x, (long long)y, (long long)kMaxGridX,
                    (long long)kMaxGridY);
    grid = dim3((unsigned)x, (unsigned)y);
    return UC_OK;
}

inline unsigned blocks_for(int64_t n, int threads) {
    // Grid-stride loops cover the rest; 65535 × 4 blocks keep every SM busy on any GPU.
    int64_t blocks = (n + threads - 1) / threads;
    return (unsigned)(blocks < 262140 ? (blocks > 0 ? blocks : 1) : 262140);
}

}  // namespace uc::cuda
