// uc_group_norm on the GPU: group norm with the ResBlock epilogue fused (affine, AdaGN
// scale/shift, activation); f32/f16/bf16 storage, f32 math.
//
// One (image, group) per block cannot fill an H100: the decoder's batch 2 × 32 groups is 64
// blocks for 132 SMs, and the super-resolution U-Net's batch 1 only 32. So each image is cut
// into row ranges ("splits", chosen to give every SM a few blocks) and the work is two launches
// over the same grid:
//   1. stats: each block reads its rows once per pass for every group at once (consecutive
//      threads take consecutive channels: coalesced rows of the NHWC tensor) and writes, per
//      group, the mean of its range and the sum of squared deviations from that mean (two passes
//      over data the block just read, so the second comes from L1/L2: no E[x²] − mean²
//      cancellation);
//   2. apply: each block merges the splits' partials of every group (Chan's parallel
//      combination, exact in exact arithmetic), folds normalisation, affine and scale/shift into
//      one multiply-add per channel, and writes its rows with the activation.
// So x is read twice (the second read hits L2 when the tensor fits in it, as every decoder
// tensor does: 64 px × 320 ch × batch 2 in f32 is 10 MB of 50) and written once; the partials
// are n·groups·splits float2, stream-ordered scratch.
// NOT YET RUN ON A GPU: only compiled; CudaOpsTest checks it against the cpu on a GPU machine.
#include "activation.h"
#include "cuda_common.cuh"

#include <algorithm>

namespace {

struct GroupNormConfig {
    static constexpr int kThreads = 256;
    // Blocks per SM the splits aim for: enough loads in flight per SM for a memory-bound pass.
    static constexpr int kBlocksPerSm = 4;
    // A split smaller than this spends more on its partial than on its rows.
    static constexpr int64_t kMinRowsPerSplit = 8;
    // Shared floats per block: [kThreads] lane sums + [c] channel values + [2·groups] group values.
    static constexpr int64_t kMaxSharedFloats = 48 * 1024 / 4;
};
using Config = GroupNormConfig;

// Calls f(ch, row0, row_step) for each channel this thread covers; its rows of that channel are
// row0, row0 + row_step, … (the caller stops at the range's end). Consecutive threads take
// consecutive channels, so a warp reads contiguous memory; when c < blockDim the block covers
// blockDim / c rows at a time and thread t takes row offset t / c.
template <class F>
__device__ __forceinline__ void for_my_channels(int64_t row0, int64_t c, F &&f) {
    if (c >= blockDim.x) {
        for (int64_t ch = threadIdx.x; ch < c; ch += blockDim.x) f(ch, row0, (int64_t)1);
    } else {
        const int64_t rows_at_once = blockDim.x / c;
        if (threadIdx.x < rows_at_once * c) f(threadIdx.x % c, row0 + threadIdx.x / c, rows_at_once);
    }
}

// chan[ch] = Σ over rows [p0, p1) of h(x[row][ch], ch), for every channel; every thread must call it.
template <class T, class H>
__device__ void channel_sums(const T *xb, int64_t p0, int64_t p1, int64_t c, float *lane, float *chan, H &&h) {
    for_my_channels(p0, c, [&](int64_t ch, int64_t r0, int64_t step) {
        float acc = 0.0f;
        for (int64_t p = r0; p < p1; p += step) acc += h(uc::cuda::to_float(xb[p * c + ch]), ch);
        if (c >= blockDim.x) chan[ch] = acc; else lane[threadIdx.x] = acc;
    });
    __syncthreads();
    if (c < blockDim.x) {  // add up the row lanes of each channel
        const int64_t rows_at_once = blockDim.x / c;
        for (int64_t ch = threadIdx.x; ch < c; ch += blockDim.x) {
            float s = 0.0f;
            for (int64_t r = 0; r < rows_at_once; ++r) s += lane[r * c + ch];
            chan[ch] = s;
        }
        __syncthreads();
    }
}

// Grid (splits, n). partial[(b·groups + g)·splits + split] = (mean, Σ (x − mean)²) of that split's rows of group g.
template <class T>
__global__ void __launch_bounds__(Config::kThreads)
group_stats_kernel(const T *x, float2 *partial, int64_t hw, int64_t c, int64_t groups, int64_t rows_per_split) {
    extern __shared__ float smem[];
    float *lane = smem, *chan = lane + blockDim.x, *gmean = chan + c;
    const int64_t split = blockIdx.x, splits = gridDim.x, b = blockIdx.y, cg = c / groups;
    const int64_t p0 = split * rows_per_split, p1 = min(hw, p0 + rows_per_split);
    const T *xb = x + b * hw * c;
    const float count = (float)((p1 - p0) * cg);
    channel_sums(xb, p0, p1, c, lane, chan, [](float v, int64_t) { return v; });
    for (int64_t g = threadIdx.x; g < groups; g += blockDim.x) {
        float s = 0.0f;
        for (int64_t j = 0; j < cg; ++j) s += chan[g * cg + j];
        gmean[g] = s / count;
    }
    __syncthreads();
    channel_sums(xb, p0, p1, c, lane, chan, [&](float v, int64_t ch) {
        const float d = v - gmean[ch / cg];
        return d * d;
    });
    for (int64_t g = threadIdx.x; g < groups; g += blockDim.x) {
        float m2 = 0.0f;
        for (int64_t j = 0; j < cg; ++j) m2 += chan[g * cg + j];
        partial[(b * groups + g) * splits + split] = make_float2(gmean[g], m2);
    }
}

// Grid (splits, n), the same row ranges as the stats. y = act(x·A[ch] + B[ch]) with
// A = rstd·γ·(1 + scale), B = (β − mean·rstd·γ)·(1 + scale) + shift.
template <class T>
__global__ void __launch_bounds__(Config::kThreads)
group_apply_kernel(const T *x, const float2 *partial, const T *__restrict__ gamma, const T *__restrict__ beta,
                   const T *__restrict__ scale_shift, T *out, int64_t hw, int64_t c, int64_t groups,
                   int64_t rows_per_split, float eps, uc_activation act) {
    extern __shared__ float smem[];
    float *coef_a = smem, *coef_b = coef_a + c, *gstat = coef_b + c;  // gstat: [groups] mean, [groups] rstd
    const int64_t split = blockIdx.x, splits = gridDim.x, b = blockIdx.y, cg = c / groups;
    for (int64_t g = threadIdx.x; g < groups; g += blockDim.x) {
        double n_acc = 0.0;
        float mean = 0.0f, m2 = 0.0f;
        for (int64_t s = 0; s < splits; ++s) {
            const float2 pm = partial[(b * groups + g) * splits + s];
            const double n_s = (double)((min(hw, (s + 1) * rows_per_split) - s * rows_per_split) * cg);
            const double n_new = n_acc + n_s;
            const float delta = pm.x - mean;
            mean += delta * (float)(n_s / n_new);
            m2 += pm.y + delta * delta * (float)(n_acc * n_s / n_new);
            n_acc = n_new;
        }
        gstat[g] = mean;
        gstat[groups + g] = rsqrtf(m2 / (float)n_acc + eps);
    }
    __syncthreads();
    for (int64_t ch = threadIdx.x; ch < c; ch += blockDim.x) {
        const float mean = gstat[ch / cg], rstd = gstat[groups + ch / cg];
        const float gm = gamma != nullptr ? uc::cuda::to_float(gamma[ch]) : 1.0f;
        const float bt = beta != nullptr ? uc::cuda::to_float(beta[ch]) : 0.0f;
        float a = rstd * gm, bb = bt - mean * rstd * gm;
        if (scale_shift != nullptr) {
            const float scale = 1.0f + uc::cuda::to_float(scale_shift[b * 2 * c + ch]);
            a *= scale;
            bb = bb * scale + uc::cuda::to_float(scale_shift[b * 2 * c + c + ch]);
        }
        coef_a[ch] = a;
        coef_b[ch] = bb;
    }
    __syncthreads();
    const int64_t p0 = split * rows_per_split, p1 = min(hw, p0 + rows_per_split);
    const T *xb = x + b * hw * c;
    T *ob = out + b * hw * c;
    for_my_channels(p0, c, [&](int64_t ch, int64_t r0, int64_t step) {
        const float a = coef_a[ch], bb = coef_b[ch];
        for (int64_t p = r0; p < p1; p += step)
            ob[p * c + ch] = uc::cuda::from_float<T>(uc::activate(act, uc::cuda::to_float(xb[p * c + ch]) * a + bb));
    });
}

}  // namespace

extern "C" UC_API uc_status uc_group_norm(uc_context *ctx, uc_dtype dtype, const void *x, const void *gamma,
                                          const void *beta, const void *scale_shift, void *out, int64_t n, int64_t hw,
                                          int64_t c, int64_t groups, float eps, uc_activation act) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (uc_status s = uc::check_group_norm(ctx, dtype, x, out, n, hw, c, groups, eps, act)) return s;
        if (n * hw * c == 0) return UC_OK;
        if (n > 65535)
            return uc::fail(ctx, UC_ERR_UNSUPPORTED, "n = %lld exceeds this kernel's 65535 images", (long long)n);
        const int64_t shared_floats = Config::kThreads + 2 * c + 2 * groups;
        if (shared_floats > Config::kMaxSharedFloats)
            return uc::fail(ctx, UC_ERR_UNSUPPORTED, "c = %lld with %lld groups needs more shared memory than 48 KiB",
                            (long long)c, (long long)groups);
        const int64_t target = (int64_t)ctx->sm_count * Config::kBlocksPerSm;
        int64_t splits = std::max<int64_t>(1, (target + n - 1) / n);
        splits = std::min(splits, std::max<int64_t>(1, hw / Config::kMinRowsPerSplit));
        const int64_t rows_per_split = (hw + splits - 1) / splits;
        splits = (hw + rows_per_split - 1) / rows_per_split;  // no empty split
        const size_t shared = (size_t)shared_floats * sizeof(float);
        float2 *partial = nullptr;
        UC_CUDA_TRY(ctx, cudaMallocAsync(reinterpret_cast<void **>(&partial),
                                         (size_t)(n * groups * splits) * sizeof(float2), ctx->stream));
        const dim3 grid((unsigned)splits, (unsigned)n);
        const uc_status status = uc::cuda::dispatch_dtype(dtype, [&](auto tag) -> uc_status {
            using T = typename decltype(tag)::type;
            group_stats_kernel<T><<<grid, Config::kThreads, shared, ctx->stream>>>(
                static_cast<const T *>(x), partial, hw, c, groups, rows_per_split);
            UC_CUDA_CHECK_LAUNCH(ctx);
            group_apply_kernel<T><<<grid, Config::kThreads, shared, ctx->stream>>>(
                static_cast<const T *>(x), partial, static_cast<const T *>(gamma), static_cast<const T *>(beta),
                static_cast<const T *>(scale_shift), static_cast<T *>(out), hw, c, groups, rows_per_split, eps, act);
            UC_CUDA_CHECK_LAUNCH(ctx);
            return UC_OK;
        });
        UC_CUDA_TRY(ctx, cudaFreeAsync(partial, ctx->stream));
        return status;
    });
}
