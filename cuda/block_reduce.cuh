// Block-wide sum and max for the row- or group-per-block kernels (layer norm, softmax, group norm): a warp shuffle
// tree, then one value per warp through shared memory. Every thread gets the result.
#pragma once

#include <cuda_runtime.h>

namespace uc::cuda {

enum class Reduce { kSum, kMax };

template <Reduce kOp>
__device__ __forceinline__ float combine(float a, float b) {
    return kOp == Reduce::kSum ? a + b : fmaxf(a, b);
}

// blockDim.x must be a multiple of 32 and at most 1024; `scratch` holds 32 floats. Contains
// __syncthreads: every thread of the block must call it.
template <Reduce kOp>
__device__ float block_reduce(float v, float *scratch) {
    for (int off = 16; off > 0; off /= 2) v = combine<kOp>(v, __shfl_xor_sync(0xffffffffu, v, off));
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
    __syncthreads();  // scratch may still be read by a previous reduction
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : (kOp == Reduce::kSum ? 0.0f : -INFINITY);
    for (int off = 16; off > 0; off /= 2) v = combine<kOp>(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}

}  // namespace uc::cuda
