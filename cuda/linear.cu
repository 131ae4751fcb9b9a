// uc_linear on the GPU: out = act(x · wᵀ + bias) + residual, f32/f16/bf16 storage, f32 math.
//
// The first, plain version: a shared-memory tiled SIMT GEMM (kTile × kTile output tile per
// block, each thread kWork × kWork outputs), epilogue fused before the single store. It is the
// correctness baseline that a tensor-core kernel or cuBLASLt must beat (issue: transformer
// kernels); it has not yet been timed on a GPU.
#include "activation.h"
#include "cuda_common.cuh"
#include "simt_tile.cuh"

namespace {

using LinearTile = uc::cuda::SimtTile;

template <class T>
__global__ void __launch_bounds__(LinearTile::kThreads)
linear_kernel(const T *__restrict__ x, const T *__restrict__ w, const T *__restrict__ bias, const T *residual,
              T *out, int64_t m, int64_t n, int64_t k, uc_activation act) {
    using L = LinearTile;
    // Stored k-major so the inner product reads one row of each tile without bank conflicts.
    __shared__ float xs[L::kDepth][L::kTile + 1];
    __shared__ float ws[L::kDepth][L::kTile + 1];
    const int tx = threadIdx.x % L::kThreadsPerEdge, ty = threadIdx.x / L::kThreadsPerEdge;
    const int64_t row0 = (int64_t)blockIdx.x * L::kTile, col0 = (int64_t)blockIdx.y * L::kTile;  // output_tile_grid
    float acc[L::kWork][L::kWork] = {};
    for (int64_t p0 = 0; p0 < k; p0 += L::kDepth) {
        for (int idx = threadIdx.x; idx < L::kTile * L::kDepth; idx += L::kThreads) {
            const int r = idx / L::kDepth, c = idx % L::kDepth;
            const int64_t p = p0 + c;
            xs[c][r] = (row0 + r < m && p < k) ? uc::cuda::to_float(x[(row0 + r) * k + p]) : 0.0f;
            ws[c][r] = (col0 + r < n && p < k) ? uc::cuda::to_float(w[(col0 + r) * k + p]) : 0.0f;
        }
        __syncthreads();
        uc::cuda::simt_tile_accumulate(xs, ws, tx, ty, acc);
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < L::kWork; ++i) {
        const int64_t row = row0 + ty * L::kWork + i;
        if (row >= m) continue;
#pragma unroll
        for (int j = 0; j < L::kWork; ++j) {
            const int64_t col = col0 + tx * L::kWork + j;
            if (col >= n) continue;
            float v = acc[i][j];
            if (bias != nullptr) v += uc::cuda::to_float(bias[col]);
            v = uc::activate(act, v);
            if (residual != nullptr) v += uc::cuda::to_float(residual[row * n + col]);
            out[row * n + col] = uc::cuda::from_float<T>(v);
        }
    }
}

}  // namespace

extern "C" UC_API uc_status uc_linear(uc_context *ctx, uc_dtype dtype, const void *x, const void *w,
                                      const void *bias, const void *residual, void *out, int64_t m, int64_t n,
                                      int64_t k, uc_activation act) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (uc_status s = uc::check_linear(ctx, dtype, x, w, out, m, n, k, act)) return s;
        if (m == 0 || n == 0) return UC_OK;
        using L = LinearTile;
        dim3 grid;
        if (uc_status s = uc::cuda::output_tile_grid(ctx, m, n, L::kTile, L::kTile, grid)) return s;
        return uc::cuda::dispatch_dtype(dtype, [&](auto tag) -> uc_status {
            using T = typename decltype(tag)::type;
            linear_kernel<T><<<grid, L::kThreads, 0, ctx->stream>>>(
                static_cast<const T *>(x), static_cast<const T *>(w), static_cast<const T *>(bias),
                static_cast<const T *>(residual), static_cast<T *>(out), m, n, k, act);
            UC_CUDA_CHECK_LAUNCH(ctx);
            return UC_OK;
        });
    });
}
