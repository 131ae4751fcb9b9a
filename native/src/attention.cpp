// uc_attention and uc_attention_added_kv on the cpu: flash-style attention in float32.
//
// A task is one (batch, head). It packs that head's keys and values once — K transposed
// [D][Lk'] and V [Lk][Dp] (Dp = D rounded up to kNr, zero-padded), Lk' = Lk rounded up to
// kNr — together with a bias row [Lk'] that is 0 for an attended key and −inf for a masked or
// padding one. Then, per block of kBlockM query rows (kBlockMCausal when causal), it walks the
// keys in blocks of kBlockN and keeps per row the running maximum m, the running sum l and
// the unnormalised output o (online softmax), so the score matrix exists only as one
// kBlockM × kBlockN tile. Both products are small GEMMs on the same register-blocked
// micro-kernel as uc_linear (kMr rows × kNr columns in registers):
//   S = Q · Kᵀ           A = the Q rows in place (row stride q_stride), B = packed K columns;
//   O += P · V           A = P = exp(scale·S + bias − m) [M][N], B = packed V rows
// (the scale is applied in the softmax pass, which touches every score anyway, so Q is never
// copied; the first key tile's P·V writes O, so O needs no zero fill).
// Causal blocks stop at the block's last row and mask the diagonal block per row; in O += P·V each
// kMr rows stop at their own last key.
// Added-KV attention packs its two key sources (text, then spatial) one after the other into
// the task's buffers, which is the packing every task does anyway: nothing is concatenated in
// the caller's memory and no extra pass is made.
#include "cpu.h"
#include "cpu_math.h"
#include "gemm.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#endif

namespace {

struct AttentionTile {
    // Query rows per block. The packed K/V are shared by all blocks of a task, so a block's
    // size trades the micro-kernel's reuse of each K/V load (more rows) against the keys a
    // causal block computes and then masks on its diagonal (fewer rows). Measured on one
    // thread (AMD EPYC, AVX-512), ratio to a same-FLOPs GEMM: non-causal decoder 32×32
    // added-KV 2.4× at 16 rows, 1.7-2.0× at 24-32; causal CLIP text / prior 2.3× / 2.1× at 16,
    // 2.5× / 2.6× at 32.
    static constexpr int64_t kBlockM = 32;
    static constexpr int64_t kBlockMCausal = 16;
    // Keys per step: each step pays a per-row fixed cost (two horizontal reductions, the
    // rescale of o, a scalar exp), so longer steps amortise it: 128 measured faster than 64
    // (decoder 32×32 case, 1 thread); S is kBlockM × kBlockN = 16 KiB, half of Zen 4's L1.
    static constexpr int64_t kBlockN = 128;
    // Micro-kernel block, as uc_linear's: 16 columns = one AVX-512 or two AVX2 registers,
    // 6 rows = 6 or 12 accumulators live.
    static constexpr int64_t kMr = 6;
    static constexpr int64_t kNr = 16;
};
using T = AttentionTile;

int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// c[kRows][ncols] (+)= a[kRows][k] · b[k][ncols]; ncols a multiple of kNr. kAccumulate is a
// template argument so that loading (or zeroing) and storing the accumulators are plain vector
// loops: with a run-time flag GCC built them element by element through the stack, ~15 % of a
// 64-deep tile.
template <int kRows, bool kAccumulate>
UC_MULTIVERSION void mm_rows(const float *a, int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc,
                             int64_t k, int64_t ncols) {
    for (int64_t c0 = 0; c0 < ncols; c0 += T::kNr) {
        float acc[kRows][T::kNr];
        for (int i = 0; i < kRows; ++i)
#pragma omp simd
            for (int64_t j = 0; j < T::kNr; ++j) acc[i][j] = kAccumulate ? c[i * ldc + c0 + j] : 0.0f;
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

using MmRows = void (*)(const float *, int64_t, const float *, int64_t, float *, int64_t, int64_t, int64_t);
template <bool kAccumulate>
constexpr MmRows kMmFor[T::kMr + 1] = {nullptr,
                                       mm_rows<1, kAccumulate>, mm_rows<2, kAccumulate>, mm_rows<3, kAccumulate>,
                                       mm_rows<4, kAccumulate>, mm_rows<5, kAccumulate>, mm_rows<6, kAccumulate>};

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// mm_rows with up to 4 zmm columns of accumulators per row (kRows × 64 columns, 24 registers at
// 6 rows) instead of one: mm_rows re-broadcasts each row's a values for every 16 columns and
// keeps 6 sums in flight, 7 loads per 6 multiply-adds; here 4 + kRows loads feed 4·kRows. Every
// output is the same running sum over p in the same order (the compiler contracts mm_rows's
// multiply-add into the same FMA), so the two give the same bits.
template <int kRows, int kVectors, bool kAccumulate>
__attribute__((target("avx512f"), always_inline)) inline void mm_block_avx512(const float *a, int64_t lda,
                                                                              const float *b, int64_t ldb, float *c,
                                                                              int64_t ldc, int64_t k) {
    __m512 acc[kRows][kVectors];
#pragma GCC unroll 6
    for (int i = 0; i < kRows; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < kVectors; ++v)
            acc[i][v] = kAccumulate ? _mm512_loadu_ps(c + i * ldc + 16 * v) : _mm512_setzero_ps();
    for (int64_t p = 0; p < k; ++p) {
        __m512 bv[kVectors];
#pragma GCC unroll 4
        for (int v = 0; v < kVectors; ++v) bv[v] = _mm512_loadu_ps(b + p * ldb + 16 * v);
#pragma GCC unroll 6
        for (int i = 0; i < kRows; ++i) {
            const __m512 x = _mm512_set1_ps(a[i * lda + p]);
#pragma GCC unroll 4
            for (int v = 0; v < kVectors; ++v) acc[i][v] = _mm512_fmadd_ps(x, bv[v], acc[i][v]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < kRows; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < kVectors; ++v) _mm512_storeu_ps(c + i * ldc + 16 * v, acc[i][v]);
}

template <int kRows, bool kAccumulate>
__attribute__((target("avx512f"))) void mm_rows_avx512(const float *a, int64_t lda, const float *b, int64_t ldb,
                                                       float *c, int64_t ldc, int64_t k, int64_t ncols) {
    int64_t c0 = 0;
    for (; c0 + 64 <= ncols; c0 += 64) mm_block_avx512<kRows, 4, kAccumulate>(a, lda, b + c0, ldb, c + c0, ldc, k);
    if (c0 + 32 <= ncols) {
        mm_block_avx512<kRows, 2, kAccumulate>(a, lda, b + c0, ldb, c + c0, ldc, k);
        c0 += 32;
    }
    if (c0 < ncols) mm_block_avx512<kRows, 1, kAccumulate>(a, lda, b + c0, ldb, c + c0, ldc, k);
}

template <bool kAccumulate>
constexpr MmRows kMmAvx512For[T::kMr + 1] = {
    nullptr, mm_rows_avx512<1, kAccumulate>, mm_rows_avx512<2, kAccumulate>, mm_rows_avx512<3, kAccumulate>,
    mm_rows_avx512<4, kAccumulate>, mm_rows_avx512<5, kAccumulate>, mm_rows_avx512<6, kAccumulate>};

// The AVX-512 kernels where the CPU has AVX-512 and UNCLIP_CPU_KERNELS is not "portable" (the
// GEMM's choice, gemm.h).
bool use_avx512_mm() {
    static const bool yes = std::strcmp(uc::cpu::gemm_kernels(), "AVX-512 GEMM") == 0;
    return yes;
}
#endif

// The kernel for `rows` (1..kMr) rows.
MmRows mm_kernel(int64_t rows, bool accumulate) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    if (use_avx512_mm()) return accumulate ? kMmAvx512For<true>[rows] : kMmAvx512For<false>[rows];
#endif
    return accumulate ? kMmFor<true>[rows] : kMmFor<false>[rows];
}

void block_mm(const float *a, int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc, int64_t m, int64_t k,
              int64_t ncols, bool accumulate) {
    for (int64_t r = 0; r < m; r += T::kMr) {
        const int64_t rows = std::min(T::kMr, m - r);
        mm_kernel(rows, accumulate)(a + r * lda, lda, b, ldb, c + r * ldc, ldc, k, ncols);
    }
}

// Online-softmax update of one row's tile of scores s[0, n): scales them, adds the key bias (0 or −inf),
// masks columns >= limit (causal), rescales the row's output by exp(m_old − m_new), turns s
// into p = exp(s − m_new) in place and adds its sum to l. A row with every key of the tile
// masked gets p = 0 and keeps its state. While m = −inf no key has been seen and o is not
// read: the first tile's P·V overwrites it (see attention_f32).
UC_MULTIVERSION void softmax_update(float *s, float scale, const float *bias, int64_t n, int64_t limit, float *o,
                                    int64_t dp, float &m, float &l) {
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < n; ++j) {
        s[j] = j < limit ? s[j] * scale + bias[j] : -INFINITY;
        mx = std::max(mx, s[j]);
    }
    if (mx == -INFINITY) {
        std::fill(s, s + n, 0.0f);
        return;
    }
    const float m_new = std::max(m, mx);
    const float alpha = uc::cpu::exp_f32(m - m_new);  // m = −inf at the start: alpha = 0
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < n; ++j) {
        s[j] = uc::cpu::exp_f32(s[j] - m_new);
        sum += s[j];
    }
    if (alpha != 1.0f && m != -INFINITY) {
#pragma omp simd
        for (int64_t d = 0; d < dp; ++d) o[d] *= alpha;
    }
    l = l * alpha + sum;
    m = m_new;
}

// A head's rows are H·D floats apart (8 KiB for the prior), a stride the hardware prefetcher
// does not follow: the V packing loop asks for the row kPrefetchRows ahead itself. Reading
// past the last row is harmless: prefetches do not fault.
constexpr int64_t kPrefetchRows = 4;

inline void prefetch_row(const float *row, int64_t n) {
    for (int64_t d = 0; d < n; d += 16) __builtin_prefetch(row + d);
}

// Packs one (batch, head)'s keys and values and the bias row; see the file comment.
UC_MULTIVERSION void pack_kv(const uc::AttentionArgs &a, int64_t b, int64_t h, int64_t ldk, int64_t dp, float *kt,
                             float *vp, float *bias) {
    const int64_t D = a.head_dim;
    int64_t key0 = 0;
    for (int sg = 0; sg < a.num_segments; ++sg) {
        const uc::KvSegment &seg = a.seg[sg];
        const float *k = static_cast<const float *>(seg.k), *v = static_cast<const float *>(seg.v);
        const float *mask = seg.mask ? static_cast<const float *>(seg.mask) + b * seg.len : nullptr;
        const float *kseg = k + b * seg.len * seg.k_stride + h * D, *vseg = v + b * seg.len * seg.v_stride + h * D;
        for (int64_t j = 0; j < seg.len; ++j) {
            const float *vrow = vseg + j * seg.v_stride;
            prefetch_row(vrow + kPrefetchRows * seg.v_stride, D);
            float *vdst = vp + (key0 + j) * dp;
#pragma omp simd
            for (int64_t d = 0; d < dp; ++d) vdst[d] = d < D ? vrow[d] : 0.0f;
            bias[key0 + j] = (mask == nullptr || mask[j] != 0.0f) ? 0.0f : -INFINITY;
        }
        // K transposed kNr keys at a time: one contiguous store per d (gathering the kNr rows'
        // d-th values) instead of kNr scalar stores, 1.6x faster on a 77 x 64 head (1 thread).
        int64_t j = 0;
        for (; j + T::kNr <= seg.len; j += T::kNr) {
            const float *kb = kseg + j * seg.k_stride;
            for (int64_t d = 0; d < D; ++d) {
                float *dst = kt + d * ldk + key0 + j;
#pragma omp simd
                for (int64_t jj = 0; jj < T::kNr; ++jj) dst[jj] = kb[jj * seg.k_stride + d];
            }
        }
        for (; j < seg.len; ++j)
            for (int64_t d = 0; d < D; ++d) kt[d * ldk + key0 + j] = kseg[j * seg.k_stride + d];
        key0 += seg.len;
    }
    for (int64_t j = key0; j < ldk; ++j) {  // padding keys up to a whole kNr
        for (int64_t d = 0; d < D; ++d) kt[d * ldk + j] = 0.0f;
        bias[j] = -INFINITY;
    }
}

// out[i][0, D) = o[i][0, D) / l[i] (0 where l[i] = 0: a row that attended no key).
UC_MULTIVERSION void normalise_rows(const float *o, int64_t ldo, const float *l, float *out, int64_t ldout,
                                    int64_t rows, int64_t D) {
    for (int64_t i = 0; i < rows; ++i) {
        const float f = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) out[i * ldout + d] = o[i * ldo + d] * f;
    }
}

// Per-thread scratch, allocated before the parallel region (nothing may throw inside it).
struct Scratch {
    int64_t per_thread;
    std::vector<float> data;
    Scratch(int64_t per_thread, int threads) : per_thread(per_thread), data((size_t)(per_thread * threads)) {}
    float *of(int thread) { return data.data() + per_thread * thread; }
};

void attention_f32(const uc::AttentionArgs &a) {
    const int64_t D = a.head_dim, H = a.heads, dp = round_up(D, T::kNr);
    const int64_t lk = a.lk(), ldk = round_up(lk, T::kNr);
    const int64_t tasks = a.batch * H;
    const double work = (double)a.batch * H * a.lq * lk * D;
    const bool parallel = work >= uc::cpu::kParallelFmas && tasks > 1;
    // kt [D][ldk], vp [lk][dp], bias [ldk], s [kBlockM][kBlockN], o [kBlockM][dp], m, l [kBlockM]
    const int64_t per_thread = D * ldk + lk * dp + ldk + T::kBlockM * (T::kBlockN + dp + 2);
    const int64_t block_m = a.causal ? T::kBlockMCausal : T::kBlockM;
    Scratch scratch(per_thread, parallel ? omp_get_max_threads() : 1);
    const float *q = static_cast<const float *>(a.q);
    float *out = static_cast<float *>(a.out);

#pragma omp parallel if (parallel)
    {
        float *kt = scratch.of(omp_get_thread_num());
        float *vp = kt + D * ldk;
        float *bias = vp + lk * dp;
        float *s = bias + ldk;
        float *o = s + T::kBlockM * T::kBlockN;
        float *m = o + T::kBlockM * dp;
        float *l = m + T::kBlockM;
#pragma omp for schedule(dynamic)
        for (int64_t task = 0; task < tasks; ++task) {
            const int64_t h = task % H, b = task / H;
            pack_kv(a, b, h, ldk, dp, kt, vp, bias);
            for (int64_t r0 = 0; r0 < a.lq; r0 += block_m) {
                const int64_t rows = std::min(block_m, a.lq - r0);
                const float *qb = q + (b * a.lq + r0) * a.q_stride + h * D;
                std::fill(m, m + rows, -INFINITY);
                std::fill(l, l + rows, 0.0f);
                // Causal: the block's last row attends keys up to r0 + rows − 1 only.
                const int64_t len = a.causal ? std::min(lk, r0 + rows) : lk;
                for (int64_t j0 = 0; j0 < len; j0 += T::kBlockN) {
                    const int64_t nk = std::min(T::kBlockN, len - j0), ncols = round_up(nk, T::kNr);
                    const bool accumulate = j0 > 0;  // the first tile writes o (no zero fill, no rescale)
                    block_mm(qb, a.q_stride, kt + j0, ldk, s, T::kBlockN, rows, D, ncols, false);
                    for (int64_t i = 0; i < rows; ++i) {
                        const int64_t limit = a.causal ? std::min(nk, r0 + i + 1 - j0) : nk;
                        softmax_update(s + i * T::kBlockN, a.scale, bias + j0, ncols, limit, o + i * dp, dp, m[i],
                                       l[i]);
                    }
                    if (a.causal) {  // each kMr rows stop at their last row's last key: p = 0 beyond it
                        for (int64_t r = 0; r < rows; r += T::kMr) {
                            const int64_t mr = std::min(T::kMr, rows - r), keys = std::min(nk, r0 + r + mr - j0);
                            mm_kernel(mr, accumulate)(s + r * T::kBlockN, T::kBlockN, vp + j0 * dp, dp, o + r * dp, dp, keys,
                                                      dp);
                        }
                    } else {
                        block_mm(s, T::kBlockN, vp + j0 * dp, dp, o, dp, rows, nk, dp, accumulate);
                    }
                }
                normalise_rows(o, dp, l, out + (b * a.lq + r0) * H * D + h * D, H * D, rows, D);
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
