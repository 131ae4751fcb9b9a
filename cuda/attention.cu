// uc_attention and uc_attention_added_kv on the GPU: flash-style attention, f32/f16/bf16
// storage, f32 softmax statistics and accumulation. NOT YET RUN ON A GPU: compiled only;
// CudaOpsTest checks it against the cpu op where a GPU is present.
//
// This is the first, plain SIMT version, written to be obviously correct (the baseline an
// mma.sync / wgmma kernel must match and beat), and the default. cuda/attention_mma.cu holds a
// tensor-core version (f16/bf16, head dim 64/128), opt-in with UNCLIP_ATTENTION_KERNEL=mma
// until it has run on a GPU.
//   - a block owns kRowsPerBlock query rows of one (batch, head); a quad of threads owns one
//     query row, each lane holding every kLanesPerRow-th element of q (pre-scaled) and of the
//     output accumulator in registers;
//   - the block walks the keys in tiles of kBlockN, staged in shared memory as float (K, V and
//     the key-padding flags); a lane's partial dot product is summed over its quad with two
//     shuffles, so every lane of a quad holds the same scores;
//   - per tile, the online softmax: m_new = max(m, max_j s_j), o and l rescaled by
//     exp(m − m_new) once, then p_j = exp(s_j − m_new) accumulated into l and o. The score
//     matrix is never written to memory.
// Added-KV attention walks two key sources (text with its mask, then the spatial tokens) with
// the same loop: nothing is concatenated.
#include "attention_params.cuh"

#include <math.h>

namespace {

struct AttentionSimtTile {
    // One quad per query row: at D = 128 a lane holds 32 floats of q and 32 of o (64
    // registers), leaving room for a tile's 32 scores; two shuffles finish a dot product.
    static constexpr int kLanesPerRow = 4;
    // 4 warps: 32 query rows share each staged K/V tile, and several blocks fit on an SM.
    static constexpr int kThreads = 128;
    static constexpr int kRowsPerBlock = kThreads / kLanesPerRow;
    // Keys per tile: K and V tiles of kBlockN × 128 floats are 32 KiB together, under the
    // 48 KiB of static shared memory, and a tile's scores stay in registers.
    static constexpr int kBlockN = 32;
};
using Tile = AttentionSimtTile;

using uc::cuda::attention::Params;

// kDPerLane: elements of q and o a lane holds; head_dim <= kLanesPerRow · kDPerLane, so small
// heads use fewer registers.
template <class T, int kDPerLane>
__global__ void __launch_bounds__(Tile::kThreads) attention_kernel(Params p) {
    __shared__ float ks[Tile::kBlockN * uc::kMaxHeadDim];
    __shared__ float vs[Tile::kBlockN * uc::kMaxHeadDim];
    __shared__ bool keep[Tile::kBlockN];

    const int D = (int)p.head_dim;
    const int lane = threadIdx.x % Tile::kLanesPerRow;
    const int64_t b = blockIdx.z, h = blockIdx.y;
    const int64_t row0 = (int64_t)blockIdx.x * Tile::kRowsPerBlock;
    const int64_t row = row0 + threadIdx.x / Tile::kLanesPerRow;
    const bool row_valid = row < p.lq;
    const int64_t last_row = min(p.lq, row0 + Tile::kRowsPerBlock) - 1;

    float q[kDPerLane], o[kDPerLane];
    const T *qrow = static_cast<const T *>(p.q) + (b * p.lq + (row_valid ? row : 0)) * p.q_stride + h * D;
#pragma unroll
    for (int i = 0; i < kDPerLane; ++i) {
        const int d = lane + Tile::kLanesPerRow * i;
        q[i] = (row_valid && d < D) ? uc::cuda::to_float(qrow[d]) * p.scale : 0.0f;
        o[i] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;

    int64_t key0 = 0;  // index of the segment's first key in the whole key sequence
    for (int sg = 0; sg < p.num_segments; ++sg) {
        const uc::KvSegment seg = p.seg[sg];
        const T *k = static_cast<const T *>(seg.k), *v = static_cast<const T *>(seg.v);
        const T *mask = static_cast<const T *>(seg.mask);
        // Causal: no row of this block attends a key past its last row.
        const int64_t len = p.causal ? max((int64_t)0, min(seg.len, last_row + 1 - key0)) : seg.len;
        for (int64_t j0 = 0; j0 < len; j0 += Tile::kBlockN) {
            const int nk = (int)min((int64_t)Tile::kBlockN, len - j0);
            __syncthreads();  // every quad is done with the previous tile
            for (int idx = threadIdx.x; idx < nk * D; idx += Tile::kThreads) {
                const int j = idx / D, d = idx % D;
                const int64_t key = b * seg.len + j0 + j;
                ks[j * D + d] = uc::cuda::to_float(k[key * seg.k_stride + h * D + d]);
                vs[j * D + d] = uc::cuda::to_float(v[key * seg.v_stride + h * D + d]);
            }
            if (threadIdx.x < nk)
                keep[threadIdx.x] = mask == nullptr || uc::cuda::to_float(mask[b * seg.len + j0 + threadIdx.x]) != 0.0f;
            __syncthreads();

            float s[Tile::kBlockN];
            float mx = -INFINITY;
#pragma unroll
            for (int j = 0; j < Tile::kBlockN; ++j) {
                float part = 0.0f;
                if (j < nk) {
#pragma unroll
                    for (int i = 0; i < kDPerLane; ++i) {
                        const int d = lane + Tile::kLanesPerRow * i;
                        if (d < D) part += q[i] * ks[j * D + d];
                    }
                }
                // The quad's lanes are adjacent: xor 1 and 2 stay inside it.
                part += __shfl_xor_sync(0xffffffffu, part, 1);
                part += __shfl_xor_sync(0xffffffffu, part, 2);
                const bool ok = j < nk && keep[j] && (!p.causal || key0 + j0 + j <= row);
                s[j] = ok ? part : -INFINITY;
                mx = fmaxf(mx, s[j]);
            }
            if (mx == -INFINITY) continue;  // nothing attended in this tile (same for the whole quad)
            const float m_new = fmaxf(m, mx);
            const float alpha = expf(m - m_new);  // m = −inf before the first attended key: 0
            l *= alpha;
#pragma unroll
            for (int i = 0; i < kDPerLane; ++i) o[i] *= alpha;
#pragma unroll
            for (int j = 0; j < Tile::kBlockN; ++j) {
                if (j >= nk) break;  // rows past nk hold a previous tile's values (or none)
                const float pj = expf(s[j] - m_new);
                l += pj;
#pragma unroll
                for (int i = 0; i < kDPerLane; ++i) {
                    const int d = lane + Tile::kLanesPerRow * i;
                    if (d < D) o[i] += pj * vs[j * D + d];
                }
            }
            m = m_new;
        }
        key0 += seg.len;
    }

    if (!row_valid) return;
    T *orow = static_cast<T *>(p.out) + (b * p.lq + row) * p.heads * D + h * D;
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;  // no key attended: zeros, as on the cpu
#pragma unroll
    for (int i = 0; i < kDPerLane; ++i) {
        const int d = lane + Tile::kLanesPerRow * i;
        if (d < D) orow[d] = uc::cuda::from_float<T>(o[i] * inv);
    }
}

// The smallest register footprint that holds head_dim.
template <class T>
void launch(const Params &p, dim3 grid, cudaStream_t stream) {
    if (p.head_dim <= 4 * 8)
        attention_kernel<T, 8><<<grid, Tile::kThreads, 0, stream>>>(p);
    else if (p.head_dim <= 4 * 16)
        attention_kernel<T, 16><<<grid, Tile::kThreads, 0, stream>>>(p);
    else
        attention_kernel<T, 32><<<grid, Tile::kThreads, 0, stream>>>(p);
}

uc_status run(uc_context *ctx, const uc::AttentionArgs &a) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (uc_status s = uc::check_attention(ctx, a)) return s;
        if (a.batch == 0 || a.lq == 0) return UC_OK;
        const int64_t row_blocks = (a.lq + Tile::kRowsPerBlock - 1) / Tile::kRowsPerBlock;
        if (a.heads > 65535 || a.batch > 65535 || row_blocks > 0x7fffffff)
            return uc::fail(ctx, UC_ERR_UNSUPPORTED, "grid of %lld × %lld × %lld blocks exceeds CUDA's limits",
                            (long long)row_blocks, (long long)a.heads, (long long)a.batch);
        Params p{a.q, a.q_stride, {a.seg[0], a.seg[1]}, a.num_segments, a.out, a.lq, a.heads, a.head_dim, a.scale,
                 a.causal};
        const dim3 grid((unsigned)row_blocks, (unsigned)a.heads, (unsigned)a.batch);
        if (uc::cuda::attention::try_launch_mma(p, a.dtype, a.batch, ctx->stream)) {
            UC_CUDA_CHECK_LAUNCH(ctx);
            return UC_OK;
        }
        return uc::cuda::dispatch_dtype(a.dtype, [&](auto tag) -> uc_status {
            using T = typename decltype(tag)::type;
            launch<T>(p, grid, ctx->stream);
            UC_CUDA_CHECK_LAUNCH(ctx);
            return UC_OK;
        });
    });
}

}  // namespace

extern "C" {

UC_API uc_status uc_attention(uc_context *ctx, uc_dtype dtype, const void *q, int64_t q_stride, const void *k,
                              int64_t k_stride, const void *v, int64_t v_stride, const void *mask, void *out,
                              int64_t batch, int64_t lq, int64_t lk, int64_t heads, int64_t head_dim, float scale,
                              int32_t causal) {
    uc::AttentionArgs a{dtype, q, q_stride, {{k, v, k_stride, v_stride, mask, lk}, {}}, 1, out, batch, lq, heads,
                        head_dim, scale, causal != 0};
    return run(ctx, a);
}

UC_API uc_status uc_attention_added_kv(uc_context *ctx, uc_dtype dtype, const void *q, int64_t q_stride,
                                       const void *k_text, const void *v_text, int64_t text_stride,
                                       const void *text_mask, int64_t lt, const void *k_self, const void *v_self,
                                       int64_t self_stride, int64_t ls, void *out, int64_t batch, int64_t lq,
                                       int64_t heads, int64_t head_dim, float scale) {
    uc::AttentionArgs a{dtype, q, q_stride,
                        {{k_text, v_text, text_stride, text_stride, text_mask, lt},
                         {k_self, v_self, self_stride, self_stride, nullptr, ls}},
                        2, out, batch, lq, heads, head_dim, scale, false};
    return run(ctx, a);
}

}  // extern "C"
