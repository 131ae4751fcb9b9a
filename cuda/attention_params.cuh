// What the attention kernels of cuda/attention.cu (SIMT, the default) and
// cuda/attention_mma.cu (tensor cores, opt-in) share: the launch parameters and the entry
// point of the tensor-core version.
#pragma once

#include "cuda_common.cuh"

namespace uc::cuda::attention {

struct Params {
    const void *q;
    int64_t q_stride;
    uc::KvSegment seg[2];
    int num_segments;
    void *out;
    int64_t lq, heads, head_dim;
    float scale;
    bool causal;
};

// The tensor-core kernel: f16/bf16 with head_dim 64 or 128 only, and only when the
// environment asks for it (UNCLIP_ATTENTION_KERNEL=mma) — it has NOT YET RUN ON A GPU, so it
// stays opt-in until CudaOpsTest has passed with it on one. Returns false when it does not
// take this problem (the caller then runs the SIMT kernel); true once it has been queued.
bool try_launch_mma(const Params &p, uc_dtype dtype, int64_t batch, cudaStream_t stream);

}  // namespace uc::cuda::attention
