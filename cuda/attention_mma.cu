// uc_attention / uc_attention_added_kv on tensor cores: a FlashAttention-2-style kernel with
// mma.sync.m16n8k16 (sm_80+), f16/bf16 operands, f32 accumulation and softmax statistics.
//
// NOT YET RUN ON A GPU, and therefore opt-in (UNCLIP_ATTENTION_KERNEL=mma): written without a
// GPU to check it on. To validate it: UNCLIP_ATTENTION_KERNEL=mma ./test -Dgroups=gpu (the
// F16/BF16 rows of CudaOpsTest with head dim 64 and 128 then run here); when it passes and
// AttentionBench shows it faster, make it the default for those cases.
//
// Layout of the work (FA2): a block of 4 warps owns 64 query rows of one (batch, head), a warp
// 16 of them. The warp keeps its Q rows as mma A-fragments in registers (loaded once), walks
// the keys in tiles of kBlockN staged in shared memory (raw 16-bit values, rows padded by 8
// elements), computes its 16 × kBlockN scores with mma (B = K rows), masks and rescales them
// in registers (online softmax; each row's statistics shared by the 4 lanes of a quad), turns
// the probabilities into A-fragments in place (the C layout of two n-tiles is the A layout of
// one k-step) and accumulates O += P·V with mma (B = V columns). The scores never leave
// registers.
#include "attention_params.cuh"

#include <cstdlib>
#include <cstring>
#include <math.h>

namespace uc::cuda::attention {
namespace {

template <int kHeadDim>
struct AttentionMmaTile {
    static constexpr int kWarps = 4;
    static constexpr int kThreads = kWarps * 32;
    static constexpr int kRowsPerWarp = 16;  // the m of m16n8k16
    static constexpr int kBlockM = kWarps * kRowsPerWarp;
    // Keys per tile: K and V tiles of 64 × (128 + 8) 16-bit values are 34 KiB at D = 128, under
    // the 48 KiB of static shared memory; the 16 × 64 scores are 32 f32 registers per lane.
    static constexpr int kBlockN = 64;
    // Row pitch in elements: +8 (16 bytes) skews consecutive rows across banks.
    static constexpr int kPitch = kHeadDim + 8;
};

__device__ __forceinline__ uint16_t bits_of(__half v) { return __half_as_ushort(v); }
__device__ __forceinline__ uint16_t bits_of(__nv_bfloat16 v) { return __bfloat16_as_ushort(v); }

__device__ __forceinline__ uint32_t pack(uint16_t lo, uint16_t hi) { return (uint32_t)lo | ((uint32_t)hi << 16); }

template <class T>
__device__ __forceinline__ uint32_t pack_floats(float lo, float hi) {
    return pack(bits_of(from_float<T>(lo)), bits_of(from_float<T>(hi)));
}

// d = a·b + d for one m16n8k16 tile; a: 4 registers of 2 values, b: 2, d: 4 f32.
template <class T>
__device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1);

template <>
__device__ __forceinline__ void mma<__half>(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <>
__device__ __forceinline__ void mma<__nv_bfloat16>(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <class T, int kHeadDim>
__global__ void __launch_bounds__(AttentionMmaTile<kHeadDim>::kThreads) attention_mma_kernel(Params p) {
    using Tile = AttentionMmaTile<kHeadDim>;
    constexpr int kPitch = Tile::kPitch, kBlockN = Tile::kBlockN;
    constexpr int kSteps = kHeadDim / 16;  // k-steps of S = Q·Kᵀ
    constexpr int kScoreTiles = kBlockN / 8, kOutTiles = kHeadDim / 8;
    __shared__ __align__(16) uint16_t ks[kBlockN * kPitch];
    __shared__ __align__(16) uint16_t vs[kBlockN * kPitch];
    __shared__ bool keep[kBlockN];

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int g = lane >> 2, t = lane & 3;  // mma fragment coordinates: group (row), thread in group
    const int64_t b = blockIdx.z, h = blockIdx.y;
    const int64_t block_row0 = (int64_t)blockIdx.x * Tile::kBlockM;
    const int64_t rows[2] = {block_row0 + warp * 16 + g, block_row0 + warp * 16 + g + 8};
    const int64_t last_row = min(p.lq, block_row0 + Tile::kBlockM) - 1;

    // Q as A-fragments: register r of k-step s holds (row g or g+8, columns 16s + 2t (+8), +1).
    uint32_t qf[kSteps][4];
    {
        const T *q = static_cast<const T *>(p.q);
        auto qbits = [&](int r, int c) -> uint16_t {
            return rows[r] < p.lq ? bits_of(q[(b * p.lq + rows[r]) * p.q_stride + h * kHeadDim + c]) : (uint16_t)0;
        };
#pragma unroll
        for (int s = 0; s < kSteps; ++s) {
            const int c = 16 * s + 2 * t;
            qf[s][0] = pack(qbits(0, c), qbits(0, c + 1));
            qf[s][1] = pack(qbits(1, c), qbits(1, c + 1));
            qf[s][2] = pack(qbits(0, c + 8), qbits(0, c + 9));
            qf[s][3] = pack(qbits(1, c + 8), qbits(1, c + 9));
        }
    }

    float o[kOutTiles][4];
#pragma unroll
    for (int i = 0; i < kOutTiles; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY};
    float l[2] = {0.0f, 0.0f};  // this lane's share of each row's sum; the quad adds them at the end

    int64_t key0 = 0;
    for (int sg = 0; sg < p.num_segments; ++sg) {
        const uc::KvSegment seg = p.seg[sg];
        const T *k = static_cast<const T *>(seg.k), *v = static_cast<const T *>(seg.v);
        const T *mask = static_cast<const T *>(seg.mask);
        const int64_t len = p.causal ? max((int64_t)0, min(seg.len, last_row + 1 - key0)) : seg.len;
        for (int64_t j0 = 0; j0 < len; j0 += kBlockN) {
            const int nk = (int)min((int64_t)kBlockN, len - j0);
            __syncthreads();
            // Rows past nk are zeroed: their scores are masked, but P·V still reads V there.
            for (int idx = threadIdx.x; idx < kBlockN * kHeadDim; idx += Tile::kThreads) {
                const int j = idx / kHeadDim, d = idx % kHeadDim;
                uint16_t kb = 0, vb = 0;
                if (j < nk) {
                    const int64_t key = b * seg.len + j0 + j;
                    kb = bits_of(k[key * seg.k_stride + h * kHeadDim + d]);
                    vb = bits_of(v[key * seg.v_stride + h * kHeadDim + d]);
                }
                ks[j * kPitch + d] = kb;
                vs[j * kPitch + d] = vb;
            }
            if (threadIdx.x < kBlockN)
                keep[threadIdx.x] = threadIdx.x < nk &&
                                    (mask == nullptr || to_float(mask[b * seg.len + j0 + threadIdx.x]) != 0.0f);
            __syncthreads();

            // S = Q·Kᵀ: n-tile i covers keys 8i..8i+7; B register = K[key 8i + g][16s + 2t (+8), +1].
            float s[kScoreTiles][4];
#pragma unroll
            for (int i = 0; i < kScoreTiles; ++i) {
                s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.0f;
                const uint16_t *krow = ks + (8 * i + g) * kPitch + 2 * t;
#pragma unroll
                for (int st = 0; st < kSteps; ++st) {
                    const uint32_t b0 = *reinterpret_cast<const uint32_t *>(krow + 16 * st);
                    const uint32_t b1 = *reinterpret_cast<const uint32_t *>(krow + 16 * st + 8);
                    mma<T>(s[i], qf[st], b0, b1);
                }
            }
            // Scale and mask; C element e of n-tile i is (row g + 8·(e >= 2), key 8i + 2t + (e & 1)).
            float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
            for (int i = 0; i < kScoreTiles; ++i)
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const int col = 8 * i + 2 * t + (e & 1), r = e >> 1;
                    const bool ok = col < nk && keep[col] && (!p.causal || key0 + j0 + col <= rows[r]);
                    s[i][e] = ok ? s[i][e] * p.scale : -INFINITY;
                    mx[r] = fmaxf(mx[r], s[i][e]);
                }
            float alpha[2], base[2];
#pragma unroll
            for (int r = 0; r < 2; ++r) {
                mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
                mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
                const float m_new = fmaxf(m[r], mx[r]);
                // Nothing attended yet for this row: keep everything as is (p = exp(−inf) = 0).
                alpha[r] = m_new == -INFINITY ? 1.0f : expf(m[r] - m_new);
                base[r] = m_new == -INFINITY ? 0.0f : m_new;
                m[r] = m_new;
                l[r] *= alpha[r];
            }
#pragma unroll
            for (int i = 0; i < kOutTiles; ++i) {
                o[i][0] *= alpha[0];
                o[i][1] *= alpha[0];
                o[i][2] *= alpha[1];
                o[i][3] *= alpha[1];
            }
#pragma unroll
            for (int i = 0; i < kScoreTiles; ++i)
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    s[i][e] = expf(s[i][e] - base[e >> 1]);
                    l[e >> 1] += s[i][e];
                }
            // O += P·V: k-step c takes n-tiles 2c and 2c+1 of P as its A-fragment; B register =
            // V[key 16c + 2t (+8), +1][column 8i + g].
#pragma unroll
            for (int c = 0; c < kBlockN / 16; ++c) {
                const uint32_t a[4] = {pack_floats<T>(s[2 * c][0], s[2 * c][1]), pack_floats<T>(s[2 * c][2], s[2 * c][3]),
                                       pack_floats<T>(s[2 * c + 1][0], s[2 * c + 1][1]),
                                       pack_floats<T>(s[2 * c + 1][2], s[2 * c + 1][3])};
                const uint16_t *vrow = vs + (16 * c + 2 * t) * kPitch + g;
#pragma unroll
                for (int i = 0; i < kOutTiles; ++i) {
                    const uint16_t *vcol = vrow + 8 * i;
                    const uint32_t b0 = pack(vcol[0], vcol[kPitch]);
                    const uint32_t b1 = pack(vcol[8 * kPitch], vcol[9 * kPitch]);
                    mma<T>(o[i], a, b0, b1);
                }
            }
        }
        key0 += seg.len;
    }

    T *out = static_cast<T *>(p.out);
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
        l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
        if (rows[r] >= p.lq) continue;
        const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;  // no key attended: zeros, as on the cpu
        T *orow = out + (b * p.lq + rows[r]) * p.heads * kHeadDim + h * kHeadDim;
#pragma unroll
        for (int i = 0; i < kOutTiles; ++i) {
            orow[8 * i + 2 * t] = from_float<T>(o[i][2 * r] * inv);
            orow[8 * i + 2 * t + 1] = from_float<T>(o[i][2 * r + 1] * inv);
        }
    }
}

template <class T, int kHeadDim>
void launch(const Params &p, int64_t batch, cudaStream_t stream) {
    using Tile = AttentionMmaTile<kHeadDim>;
    const dim3 grid((unsigned)((p.lq + Tile::kBlockM - 1) / Tile::kBlockM), (unsigned)p.heads, (unsigned)batch);
    attention_mma_kernel<T, kHeadDim><<<grid, Tile::kThreads, 0, stream>>>(p);
}

bool requested() {
    static const bool on = [] {
        const char *e = std::getenv("UNCLIP_ATTENTION_KERNEL");
        return e != nullptr && std::strcmp(e, "mma") == 0;
    }();
    return on;
}

}  // namespace

bool try_launch_mma(const Params &p, uc_dtype dtype, int64_t batch, cudaStream_t stream) {
    if (!requested() || (dtype != UC_F16 && dtype != UC_BF16) || (p.head_dim != 64 && p.head_dim != 128)) return false;
    if (dtype == UC_F16) {
        if (p.head_dim == 64) launch<__half, 64>(p, batch, stream);
        else launch<__half, 128>(p, batch, stream);
    } else {
        if (p.head_dim == 64) launch<__nv_bfloat16, 64>(p, batch, stream);
        else launch<__nv_bfloat16, 128>(p, batch, stream);
    }
    return true;
}

}  // namespace uc::cuda::attention
