// uc_attention and uc_attention_added_kv on the cpu: flash-style attention in float32.
//
// A task is one (batch, head, block of kBlockM query rows). It walks the keys in blocks of
// kBlockN and keeps, per query row, the running maximum m, the running sum l and the
// unnormalised output o (online softmax), so the score matrix exists only as one
// kBlockM × kBlockN tile in the thread's buffers. Both products are small GEMMs on the same
// register-blocked micro-kernel as uc_linear (kMr rows × kNr columns in registers):
//   S = (scale·Q) · Kᵀ    A = Q block [M][D], B = K block packed transposed [D][kBlockN];
//   O += P · V           A = P = exp(S − m) [M][N],  B = V block packed [N][Dp], Dp = D
//                        rounded up to kNr and zero-padded so no column remainder exists.
// Added-KV attention is the same loop over two key sources (text, then spatial), each with
// its own pointers, stride and optional mask: nothing is concatenated.
#include "cpu.h"
#include "exp_f32.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

struct AttentionTile {
    // Query rows per task: Q is packed once per task and K/V once per key block, so their
    // packing cost is 1/kBlockM of the matrix work; 64 keeps B·H·Lq/64 tasks >= the cores'
    // count at the callers' shapes (CLIP text: 12 heads × 2 blocks per prompt).
    static constexpr int64_t kBlockM = 64;
    // Keys per step: the K tile (D × kBlockN) plus V tile (kBlockN × Dp) is 64 KiB at
    // D = 128 and stays in L2 while the M rows stream through it; S is kBlockM × kBlockN.
    static constexpr int64_t kBlockN = 64;
    // Micro-kernel block, as uc_linear's: 16 columns = one AVX-512 or two AVX2 registers,
    // 6 rows = 6 or 12 accumulators live.
    static constexpr int64_t kMr = 6;
    static constexpr int64_t kNr = 16;
};
using T = AttentionTile;

// c[kRows][ncols] (+)= a[kRows][k] · b[k][ncols]; ncols a multiple of kNr.
template <int kRows>
UC_MULTIVERSION void mm_rows(const float *a, int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc,
                             int64_t k, int64_t ncols, bool accumulate) {
    for (int64_t c0 = 0; c0 < ncols; c0 += T::kNr) {
        float acc[kRows][T::kNr];
        for (int i = 0; i < kRows; ++i)
#pragma omp simd
            for (int64_t j = 0; j < T::kNr; ++j) acc[i][j] = accumulate ? c[i * ldc + c0 + j] : 0.0f;
        for (int64_t p = 0; p < k; ++p) {
            const float *bp = b + p * ldb + c0;
            for (int i = 0; i < kRows; ++i) {
                const float av = a[i * lda + p];
#pragma omp simd
                for (int64_t j = 0; j < T::kNr; ++j) acc[i][j] += av * bp[j];
            }
        }
        for (int i = 0; i < kRows; ++i)
#pragma omp simd
            for (int64_t j = 0; j < T::kNr; ++j) c[i * ldc + c0 + j] = acc[i][j];
    }
}

using MmRows = void (*)(const float *, int64_t, const float *, int64_t, float *, int64_t, int64_t, int64_t, bool);
constexpr MmRows kMm[T::kMr + 1] = {nullptr, mm_rows<1>, mm_rows<2>, mm_rows<3>, mm_rows<4>, mm_rows<5>, mm_rows<6>};

void block_mm(const float *a, int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc, int64_t m, int64_t k,
              int64_t ncols, bool accumulate) {
    for (int64_t r = 0; r < m; r += T::kMr) {
        const int64_t rows = std::min(T::kMr, m - r);
        kMm[rows](a + r * lda, lda, b, ldb, c + r * ldc, ldc, k, ncols, accumulate);
    }
}

// Online-softmax update of one row's tile of scores s[0, kBlockN) (−inf where masked):
// rescales the row's output by exp(m_old − m_new), turns s into p = exp(s − m_new) in
// place and adds its sum to l. A row with every key of the tile masked gets p = 0.
UC_MULTIVERSION void softmax_update(float *s, float *o, int64_t dp, float &m, float &l) {
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < T::kBlockN; ++j) mx = std::max(mx, s[j]);
    if (mx == -INFINITY) {
        std::fill(s, s + T::kBlockN, 0.0f);
        return;
    }
    const float m_new = std::max(m, mx);
    const float alpha = uc::cpu::exp_f32(m - m_new);  // m = −inf at the start: alpha = 0
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < T::kBlockN; ++j) {
        s[j] = uc::cpu::exp_f32(s[j] - m_new);
        sum += s[j];
    }
    if (alpha != 1.0f) {
#pragma omp simd
        for (int64_t d = 0; d < dp; ++d) o[d] *= alpha;
    }
    l = l * alpha + sum;
    m = m_new;
}

// Per-thread scratch, allocated before the parallel region (nothing may throw inside it).
struct Scratch {
    int64_t d, dp;
    std::vector<float> data;
    Scratch(int64_t d, int64_t dp, int threads) : d(d), dp(dp), data((size_t)(per_thread(d, dp) * threads)) {}
    static int64_t per_thread(int64_t d, int64_t dp) {
        return T::kBlockM * d + d * T::kBlockN + T::kBlockN * dp + T::kBlockM * T::kBlockN + T::kBlockM * dp +
               2 * T::kBlockM;
    }
    float *of(int thread) { return data.data() + per_thread(d, dp) * thread; }
};

void attention_f32(const uc::AttentionArgs &a) {
    const int64_t D = a.head_dim, H = a.heads, dp = (D + T::kNr - 1) / T::kNr * T::kNr;
    const int64_t m_blocks = (a.lq + T::kBlockM - 1) / T::kBlockM;
    const int64_t tasks = a.batch * H * m_blocks;
    const double work = (double)a.batch * H * a.lq * a.lk() * D;
    const bool parallel = work >= uc::cpu::kParallelThreshold && tasks > 1;
    Scratch scratch(D, dp, parallel ? omp_get_max_threads() : 1);
    const float *q = static_cast<const float *>(a.q);
    float *out = static_cast<float *>(a.out);

#pragma omp parallel if (parallel)
    {
        float *qs = scratch.of(omp_get_thread_num());    // [kBlockM][D], pre-scaled
        float *kt = qs + T::kBlockM * D;                 // [D][kBlockN]
        float *vp = kt + D * T::kBlockN;                 // [kBlockN][dp]
        float *s = vp + T::kBlockN * dp;                 // [kBlockM][kBlockN]
        float *o = s + T::kBlockM * T::kBlockN;          // [kBlockM][dp]
        float *m = o + T::kBlockM * dp;                  // [kBlockM]
        float *l = m + T::kBlockM;                       // [kBlockM]
        // Causal tasks differ in length (later query blocks see more keys): hand them out dynamically.
#pragma omp for schedule(dynamic)
        for (int64_t task = 0; task < tasks; ++task) {
            const int64_t mb = task % m_blocks, h = (task / m_blocks) % H, b = task / (m_blocks * H);
            const int64_t r0 = mb * T::kBlockM, rows = std::min(T::kBlockM, a.lq - r0);
            for (int64_t i = 0; i < rows; ++i) {
                const float *qrow = q + (b * a.lq + r0 + i) * a.q_stride + h * D;
                for (int64_t d = 0; d < D; ++d) qs[i * D + d] = qrow[d] * a.scale;
            }
            std::fill(o, o + T::kBlockM * dp, 0.0f);
            std::fill(m, m + T::kBlockM, -INFINITY);
            std::fill(l, l + T::kBlockM, 0.0f);
            int64_t key0 = 0;  // index of the segment's first key in the whole key sequence
            for (int sg = 0; sg < a.num_segments; ++sg) {
                const uc::KvSegment &seg = a.seg[sg];
                const float *k = static_cast<const float *>(seg.k), *v = static_cast<const float *>(seg.v);
                const float *mask = seg.mask ? static_cast<const float *>(seg.mask) + b * seg.len : nullptr;
                // Causal: the block's last row attends keys up to r0 + rows − 1 only.
                const int64_t len = a.causal ? std::min(seg.len, r0 + rows - key0) : seg.len;
                for (int64_t j0 = 0; j0 < len; j0 += T::kBlockN) {
                    const int64_t nk = std::min(T::kBlockN, len - j0);
                    for (int64_t j = 0; j < T::kBlockN; ++j) {
                        if (j < nk) {
                            const int64_t key = b * seg.len + j0 + j;
                            const float *krow = k + key * seg.k_stride + h * D, *vrow = v + key * seg.v_stride + h * D;
                            for (int64_t d = 0; d < D; ++d) kt[d * T::kBlockN + j] = krow[d];
                            std::copy(vrow, vrow + D, vp + j * dp);
                            std::fill(vp + j * dp + D, vp + (j + 1) * dp, 0.0f);
                        } else {
                            for (int64_t d = 0; d < D; ++d) kt[d * T::kBlockN + j] = 0.0f;
                        }
                    }
                    block_mm(qs, D, kt, T::kBlockN, s, T::kBlockN, rows, D, T::kBlockN, false);
                    for (int64_t i = 0; i < rows; ++i) {
                        float *si = s + i * T::kBlockN;
                        const int64_t qi = r0 + i;
                        for (int64_t j = 0; j < T::kBlockN; ++j) {
                            const bool keep = j < nk && (!a.causal || key0 + j0 + j <= qi) &&
                                              (mask == nullptr || mask[j0 + j] != 0.0f);
                            if (!keep) si[j] = -INFINITY;
                        }
                        softmax_update(si, o + i * dp, dp, m[i], l[i]);
                    }
                    block_mm(s, T::kBlockN, vp, dp, o, dp, rows, nk, dp, true);
                }
                key0 += seg.len;
            }
            for (int64_t i = 0; i < rows; ++i) {
                float *orow = out + (b * a.lq + r0 + i) * H * D + h * D;
                const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;  // no key attended: zeros
                for (int64_t d = 0; d < D; ++d) orow[d] = o[i * dp + d] * inv;
            }
        }
    }
}

uc_status run(uc_context *ctx, const uc::AttentionArgs &a) {
    return uc::guarded(ctx, [&] {
        if (uc_status s = uc::check_attention(ctx, a)) return s;
        if (uc_status s = uc::cpu::require_f32(ctx, a.dtype)) return s;
        if (uc_status s = uc::cpu::check_cancel(ctx)) return s;
        if (a.batch == 0 || a.lq == 0) return UC_OK;
        attention_f32(a);
        return UC_OK;
    });
}

}  // namespace

extern "C" {

UC_API uc_status uc_attention(uc_context *ctx, uc_dtype dtype, const void *q, int64_t q_stride, const void *k,
                              int64_t k_stride, const void *v, int64_t v_stride, const void *mask, void *out,
                              int64_t batch, int64_t lq, int64_t lk, int64_t heads, int64_t head_dim, float scale,
                              int32_t causal) {
    uc::AttentionArgs a{dtype, q, q_stride, {{k, v, k_stride, v_stride, mask, lk}, {}}, 1, out, batch, lq, heads, head_dim,
                        scale, causal != 0};
    return run(ctx, a);
}

UC_API uc_status uc_attention_added_kv(uc_context *ctx, uc_dtype dtype, const void *q, int64_t q_stride,
                                       const void *k_text, const void *v_text, int64_t text_stride,
                                       const void *text_mask, int64_t lt, const void *k_self, const void *v_self,
                                       int64_t self_stride, int64_t ls, void *out, int64_t batch, int64_t lq,
                                       int64_t heads, int64_t head_dim, float scale) {
    uc::AttentionArgs a{dtype, q, q_stride, {{k_text, v_text, text_stride, text_stride, text_mask, lt},
                         {k_self, v_self, self_stride, self_stride, nullptr, ls}},
                        2, out, batch, lq, heads, head_dim, scale, false};
    return run(ctx, a);
}

}  // extern "C"
