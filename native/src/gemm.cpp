// The cpu backend's GEMM (gemm.h): w packed into panels, two micro-kernels — AVX-512
// intrinsics (6 rows × 64 columns, 8 × 32 or 8 × 16 for narrower outputs) and a portable C++
// one (6 × 16, vectorised by the
// compiler for each x86-64 level) — the threads, and the epilogue.
//
// A is never packed. Each output tile's rows broadcast straight from A's rows — x's rows, or
// for a convolution, per filter tap, the Cin channels of the input pixel under each output
// pixel (a row of zeros in the padding) — while the tile's panel of w streams past, and the
// whole of K is summed in registers before the tile is written once, epilogue applied. Measured
// on Zen 5 (AVX-512), one core, at the U-Nets' shapes (decoder 64×64×320, 16×16×960,
// 8×8×1280; linear 162×2048×2048): 180–190 GFLOP/s for the convs, 150–170 for the linears, of a
// 224 GFLOP/s FMA peak; a GotoBLAS-style variant that packed A in cache-sized blocks reached
// 130–150 there and lost up to half its speed to the packing at 32–64 output channels.
// Tiles go panel-major to the threads, so a panel (K × 64 floats) stays in L2 while the row
// blocks pass over it; a panel too large for L2 (K over ~3000) is summed in K blocks whose
// slice does, the running sums parked between blocks (gemm_tiles).
#include "gemm.h"

#include "activation.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define UC_HAVE_AVX512_KERNEL 1
#endif

namespace uc::cpu {
namespace {

// Where output pixel / row `row` of A reads its K values: one pointer per filter tap.
struct RowGeometry {
    int64_t iy0, ix0;     // conv: the input position of tap (0, 0), maybe in the padding
    const float *origin;  // dense: the row; conv: its image
};

inline RowGeometry row_geometry(const GemmA &a, int64_t row) {
    if (!a.conv) return {0, 0, a.x + row * a.lda};
    const int64_t ox = row % a.ow, oy = (row / a.ow) % a.oh, b = row / (a.ow * a.oh);
    return {oy * a.stride - a.pad, ox * a.stride - a.pad, a.x + b * a.h * a.w * a.cin};
}

// The Cin inputs of tap (ky, kx) for a row, or `zeros` where the tap falls into the padding.
inline const float *tap_input(const GemmA &a, const RowGeometry &g, int64_t ky, int64_t kx, const float *zeros) {
    const int64_t iy = g.iy0 + ky, ix = g.ix0 + kx;
    return iy >= 0 && iy < a.h && ix >= 0 && ix < a.w ? g.origin + (iy * a.w + ix) * a.cin : zeros;
}

// ---- micro-kernels: tile[kMr][kNr] = rows [m0, m0 + kMr) of A · one panel [k][kNr] ----------
// Rows past m repeat row m − 1: computed, never stored.

struct PortableKernel {
    static constexpr int kMr = 6, kNr = 16;

    UC_MULTIVERSION static void tile(const GemmA &a, const float *zeros, int64_t m, int64_t m0, const float *panel,
                                     int64_t k0, int64_t k1, const float *init, float *out) {
        RowGeometry g[kMr];
        for (int i = 0; i < kMr; ++i) g[i] = row_geometry(a, std::min(m0 + i, m - 1));
        float acc[kMr][kNr] = {};
        if (init != nullptr) std::memcpy(acc, init, sizeof acc);
        const float *src[kMr];
        // K in the runs the rows read contiguously: all of [k0, k1) for dense rows, the part of
        // each filter tap's Cin inside it for a conv.
        if (!a.conv) {
            for (int i = 0; i < kMr; ++i) src[i] = g[i].origin + k0;
            accumulate(acc, src, panel + k0 * kNr, k1 - k0);
        } else {
            for (int64_t tap = k0 / a.cin; tap * a.cin < k1; ++tap) {
                const int64_t c0 = std::max<int64_t>(k0 - tap * a.cin, 0), c1 = std::min(k1 - tap * a.cin, a.cin);
                for (int i = 0; i < kMr; ++i) src[i] = tap_input(a, g[i], tap / a.kw, tap % a.kw, zeros) + c0;
                accumulate(acc, src, panel + (tap * a.cin + c0) * kNr, c1 - c0);
            }
        }
        std::memcpy(out, acc, sizeof acc);
    }

    // Always inlined: GCC does not inline a plain function into its target_clones caller, and
    // this loop must be compiled for the caller's x86-64 level.
    __attribute__((always_inline)) static inline void accumulate(float (&acc)[kMr][kNr], const float *const *src,
                                                                 const float *b, int64_t len) {
        for (int64_t p = 0; p < len; ++p) {
            for (int i = 0; i < kMr; ++i) {
                const float av = src[i][p];
#pragma omp simd
                for (int j = 0; j < kNr; ++j) acc[i][j] += av * b[p * kNr + j];
            }
        }
    }
};

#if UC_HAVE_AVX512_KERNEL
// kRows rows × kVectors zmm columns of accumulators, the row pointers in registers; per step
// kVectors loads of w and kRows broadcasts of A. 6 × 4 (24 accumulators, 10 loads per 24 FMAs)
// where there are 128 or more output columns; 8 × 2 (16 accumulators) below, so that 32- and
// 64-channel outputs fill their panels. Against 8 × 2 everywhere, 6 × 4 measured 0–25 % faster
// on Karlo's 640–1280-channel convs and the built-in model's 128-channel ones (C harness, one
// core, the two builds alternating) and never slower. Every output is the same sum either way.
template <int kVectors, int kRows = 8>
struct Avx512Kernel {
    static constexpr int kMr = kRows, kNr = 16 * kVectors;

    __attribute__((target("avx512f"))) static void tile(const GemmA &a, const float *zeros, int64_t m, int64_t m0,
                                                        const float *panel, int64_t k0, int64_t k1, const float *init,
                                                        float *out) {
        RowGeometry g[kMr];
        for (int i = 0; i < kMr; ++i) g[i] = row_geometry(a, std::min(m0 + i, m - 1));
        __m512 acc[kMr][kVectors];
#pragma GCC unroll 8
        for (int i = 0; i < kMr; ++i)
#pragma GCC unroll 4
            for (int v = 0; v < kVectors; ++v)
                acc[i][v] = init != nullptr ? _mm512_loadu_ps(init + i * kNr + 16 * v) : _mm512_setzero_ps();
        const float *src[kMr];
        // PortableKernel's walk over K, written out again: a shared helper taking the loop body as
        // a lambda would compile it without this function's avx512f target.
        if (!a.conv) {
            for (int i = 0; i < kMr; ++i) src[i] = g[i].origin + k0;
            accumulate(acc, src, panel + k0 * kNr, k1 - k0);
        } else {
            for (int64_t tap = k0 / a.cin; tap * a.cin < k1; ++tap) {
                const int64_t c0 = std::max<int64_t>(k0 - tap * a.cin, 0), c1 = std::min(k1 - tap * a.cin, a.cin);
                for (int i = 0; i < kMr; ++i) src[i] = tap_input(a, g[i], tap / a.kw, tap % a.kw, zeros) + c0;
                accumulate(acc, src, panel + (tap * a.cin + c0) * kNr, c1 - c0);
            }
        }
#pragma GCC unroll 8
        for (int i = 0; i < kMr; ++i)
#pragma GCC unroll 4
            for (int v = 0; v < kVectors; ++v) _mm512_storeu_ps(out + i * kNr + 16 * v, acc[i][v]);
    }

    // acc += Σ_p src[i][p] ⊗ b[p] for p < len.
    __attribute__((target("avx512f"), always_inline)) static inline void accumulate(__m512 (&acc)[kMr][kVectors],
                                                                                    const float *const *src,
                                                                                    const float *b, int64_t len) {
        const float *r[kMr];
#pragma GCC unroll 8
        for (int i = 0; i < kMr; ++i) r[i] = src[i];
        for (int64_t p = 0; p < len; ++p) {
            __m512 bv[kVectors];
#pragma GCC unroll 4
            for (int v = 0; v < kVectors; ++v) bv[v] = _mm512_loadu_ps(b + p * kNr + 16 * v);
            float av[kMr];
#pragma GCC unroll 8
            for (int i = 0; i < kMr; ++i) av[i] = r[i][p];
#pragma GCC unroll 8
            for (int i = 0; i < kMr; ++i) {
                const __m512 x = _mm512_set1_ps(av[i]);
#pragma GCC unroll 4
                for (int v = 0; v < kVectors; ++v) acc[i][v] = _mm512_fmadd_ps(x, bv[v], acc[i][v]);
            }
        }
    }
};
#endif

// ---- packing w -----------------------------------------------------------------------------

// w [n, k] → zero-padded k-major panels of nr columns: dst [⌈n/nr⌉][k][nr]. Written in order (p
// outer, j inner) while reading nr rows of w in step: the transposed order would touch a new
// cache line with every write.
void pack_w(const float *w, int64_t n, int64_t k, int64_t nr, float *dst_all) {
    const int64_t panels = (n + nr - 1) / nr;
#pragma omp parallel for schedule(static) if (n * k >= kParallelElements)
    for (int64_t pn = 0; pn < panels; ++pn) {
        float *dst = dst_all + pn * nr * k;
        const int64_t cols = std::min(nr, n - pn * nr);
        const float *src = w + pn * nr * k;
        for (int64_t p = 0; p < k; ++p) {
            for (int64_t j = 0; j < cols; ++j) dst[p * nr + j] = src[j * k + p];
            for (int64_t j = cols; j < nr; ++j) dst[p * nr + j] = 0.0f;
        }
    }
}

// ---- the driver ----------------------------------------------------------------------------

// One tile row through an epilogue without activation, vectorised: one loop per combination
// of the optional terms (adding a zero bias would turn −0 into +0). `residual` may be `out`:
// each element is read before it is written, and no other element depends on it (omp simd).
template <bool kBias, bool kResidual, bool kScale>
UC_MULTIVERSION void store_row(const float *s, const float *bias, const float *residual, float scale, float *out,
                               int64_t cols) {
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) {
        float v = s[j];
        if constexpr (kBias) v += bias[j];
        if constexpr (kResidual) v += residual[j];
        if constexpr (kScale) v /= scale;
        out[j] = v;
    }
}

// Rows [m0, m0 + rows) × columns [n0, n0 + cols) of out from a tile of sums (row stride ld),
// through the epilogue: bias, activation, residual, scale. A residual that is out is read before
// it is overwritten. The activation is activation.h's, as the few-row path and the CUDA kernels
// compute it: uc_activate's vectorised forms differ in the last bits, which moved the built-in
// pipeline's short guided chains past PipelineParityTest's bound. Without an activation, the
// vectorised rows: at a conv's small K (an RGB conv_in: 27 multiply-adds an output) a scalar
// epilogue took more time than the sums.
void store_tile(const float *tile, int64_t ld, float *out, int64_t n, int64_t m0, int64_t rows, int64_t n0,
                int64_t cols, const GemmEpilogue &e) {
    if (e.act == UC_ACT_NONE) {
        using Row = void (*)(const float *, const float *, const float *, float, float *, int64_t);
        static constexpr Row kRows[8] = {store_row<false, false, false>, store_row<false, false, true>,
                                         store_row<false, true, false>,  store_row<false, true, true>,
                                         store_row<true, false, false>,  store_row<true, false, true>,
                                         store_row<true, true, false>,   store_row<true, true, true>};
        const Row row = kRows[(e.bias != nullptr) * 4 + (e.residual != nullptr) * 2 + (e.scale != 1.0f)];
        for (int64_t i = 0; i < rows; ++i)
            row(tile + i * ld, e.bias != nullptr ? e.bias + n0 : nullptr,
                e.residual != nullptr ? e.residual + (m0 + i) * n + n0 : nullptr, e.scale, out + (m0 + i) * n + n0, cols);
        return;
    }
    float v[64];  // one tile row: cols ≤ the widest panel
    for (int64_t i = 0; i < rows; ++i) {
        const float *s = tile + i * ld;
        for (int64_t j = 0; j < cols; ++j) v[j] = s[j];
        if (e.bias != nullptr)
            for (int64_t j = 0; j < cols; ++j) v[j] += e.bias[n0 + j];
        for (int64_t j = 0; j < cols; ++j) v[j] = uc::activate(e.act, v[j]);
        if (e.residual != nullptr) {
            const float *r = e.residual + (m0 + i) * n + n0;
            for (int64_t j = 0; j < cols; ++j) v[j] += r[j];
        }
        if (e.scale != 1.0f)
            for (int64_t j = 0; j < cols; ++j) v[j] /= e.scale;
        std::memcpy(out + (m0 + i) * n + n0, v, (size_t)cols * sizeof(float));
    }
}

// How much of K one pass over a panel's rows covers: all of it while the panel (k × nr floats)
// fits in L2 with room for the rows of A, else blocks whose slice of the panel does (a conv's
// blocks whole filter taps where Cin allows).
// Measured on Zen 5 (1 MB L2 a core; harness gemm_times.cpp, one core, builds alternating):
// 256 KB slices of panels over 768 KB took Karlo's 640–2560-channel convs from 184–192 to
// 198–206 GFLOP/s (+5–15 %); 128 or 512 KB slices, 32 row blocks a pass, or blocking the
// 737 KB panels of 320 channels too were no better through the noise.
constexpr int64_t kWholePanelBytes = 768 << 10, kPanelSliceBytes = 256 << 10;

int64_t k_block(const GemmA &a, int64_t k, int64_t nr) {
    const int64_t column_bytes = nr * (int64_t)sizeof(float);
    if (k * column_bytes <= kWholePanelBytes) return k;
    const int64_t kc = kPanelSliceBytes / column_bytes;
    return a.conv && a.cin <= kc ? kc / a.cin * a.cin : kc;
}

template <class Kernel>
void gemm_tiles(const GemmA &a, const float *zeros, const float *packed_w, float *out, int64_t m, int64_t n,
                int64_t k, const GemmEpilogue &epi) {
    constexpr int64_t kMr = Kernel::kMr, kNr = Kernel::kNr;
    static_assert(kNr <= 64, "store_tile holds one tile row of at most 64 columns");
    const int64_t panels = (n + kNr - 1) / kNr, row_blocks = (m + kMr - 1) / kMr;
    const int64_t kc = k_block(a, k, kNr);
    if (kc >= k) {
#pragma omp parallel for schedule(static) if (m * n * k >= kParallelFmas)
        for (int64_t t = 0; t < row_blocks * panels; ++t) {
            const int64_t pn = t / row_blocks, rb = t % row_blocks;
            alignas(64) float tile[kMr * kNr];
            Kernel::tile(a, zeros, m, rb * kMr, packed_w + pn * kNr * k, 0, k, nullptr, tile);
            store_tile(tile, kNr, out, n, rb * kMr, std::min(kMr, m - rb * kMr), pn * kNr, std::min(kNr, n - pn * kNr), epi);
        }
        return;
    }
    // A panel too large for L2: K in blocks of kc, each block's slice of the panel (kc × kNr)
    // serving kTiles row blocks from L2 while their running sums wait in `parked` between blocks
    // (stored and reloaded exactly: every output is still one running sum over K in order).
    constexpr int64_t kTiles = 16;
    const int64_t row_groups = (row_blocks + kTiles - 1) / kTiles;
#pragma omp parallel for schedule(static) if (m * n * k >= kParallelFmas)
    for (int64_t t = 0; t < row_groups * panels; ++t) {
        const int64_t pn = t / row_groups, rb0 = t % row_groups * kTiles, rb1 = std::min(row_blocks, rb0 + kTiles);
        const float *panel = packed_w + pn * kNr * k;
        alignas(64) float parked[kTiles][kMr * kNr];
        for (int64_t k0 = 0; k0 < k; k0 += kc)
            for (int64_t rb = rb0; rb < rb1; ++rb)
                Kernel::tile(a, zeros, m, rb * kMr, panel, k0, std::min(k, k0 + kc), k0 == 0 ? nullptr : parked[rb - rb0],
                             parked[rb - rb0]);
        for (int64_t rb = rb0; rb < rb1; ++rb)
            store_tile(parked[rb - rb0], kNr, out, n, rb * kMr, std::min(kMr, m - rb * kMr), pn * kNr,
                       std::min(kNr, n - pn * kNr), epi);
    }
}

bool portable_forced() {
    const char *v = std::getenv("UNCLIP_CPU_KERNELS");
    return v != nullptr && std::strcmp(v, "portable") == 0;
}

bool use_avx512() {
#if UC_HAVE_AVX512_KERNEL
    static const bool yes = !portable_forced() && __builtin_cpu_supports("avx512f");
    return yes;
#else
    return false;
#endif
}

// The panel width the GEMM uses for n output columns on this CPU.
int64_t panel_width(int64_t n) {
#if UC_HAVE_AVX512_KERNEL
    // n ≤ 16: a conv_out's 3 or 6 channels take one zmm column, not two half-empty.
    if (use_avx512()) return n <= 16 ? Avx512Kernel<1>::kNr : n < 128 ? Avx512Kernel<2>::kNr : Avx512Kernel<4, 6>::kNr;
#endif
    (void)n;
    return PortableKernel::kNr;
}

#if UC_HAVE_AVX512_KERNEL
// r[t][j] → r[j][t]: a 16 × 16 block of floats transposed in registers (pairs of rows
// interleaved, then pairs of pairs, then 128-bit lanes twice). GCC 12's unpack and shuffle
// intrinsics start from _mm512_undefined_ps, which -Wmaybe-uninitialized flags inside them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("avx512f"), always_inline)) inline void transpose_16x16(__m512 (&r)[16]) {
    __m512 t[16], u[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
        u[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
        t[i] = _mm512_shuffle_f32x4(u[i], u[4 + i], 0x88);
        t[4 + i] = _mm512_shuffle_f32x4(u[i], u[4 + i], 0xdd);
        t[8 + i] = _mm512_shuffle_f32x4(u[8 + i], u[12 + i], 0x88);
        t[12 + i] = _mm512_shuffle_f32x4(u[8 + i], u[12 + i], 0xdd);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
    }
}

// unpack_rows for 16 rows from a 16-aligned column of a panel, 16 × 16 blocks at a time: the
// element-by-element copy reads one float per 64-byte line and ran ~8× longer than the dot
// products it feeds (a 2-row 1280 → 2560 linear: 2.7 ms against 0.35 ms unreleased).
__attribute__((target("avx512f"))) void unpack_16_rows(const PackedWeight &p, int64_t j0, float *dst) {
    const int64_t k = p.k, nr = p.nr;
    const float *src = p.panels.data() + j0 / nr * nr * k + j0 % nr;
    int64_t q = 0;
    for (; q + 16 <= k; q += 16) {
        __m512 r[16];
#pragma GCC unroll 16
        for (int t = 0; t < 16; ++t) r[t] = _mm512_loadu_ps(src + (q + t) * nr);
        transpose_16x16(r);
#pragma GCC unroll 16
        for (int j = 0; j < 16; ++j) _mm512_storeu_ps(dst + j * k + q, r[j]);
    }
    for (; q < k; ++q)
        for (int64_t j = 0; j < 16; ++j) dst[j * k + q] = src[q * nr + j];
}
#pragma GCC diagnostic pop
#endif

}  // namespace

const char *gemm_kernels() { return use_avx512() ? "AVX-512 GEMM" : "portable GEMM"; }

PackedWeight pack_weight(const float *w, int64_t n, int64_t k) {
    PackedWeight p;
    p.n = n, p.k = k, p.nr = panel_width(n);
    p.panels.resize((size_t)((n + p.nr - 1) / p.nr * p.nr * k));
    pack_w(w, n, k, p.nr, p.panels.data());
    return p;
}

void unpack_rows(const PackedWeight &p, int64_t j0, int64_t j1, float *dst) {
#if UC_HAVE_AVX512_KERNEL
    if (use_avx512() && j1 - j0 == 16 && j0 % 16 == 0 && p.nr % 16 == 0) {
        unpack_16_rows(p, j0, dst);
        return;
    }
#endif
    for (int64_t j = j0; j < j1; ++j) {
        const float *src = p.panels.data() + j / p.nr * p.nr * p.k + j % p.nr;
        float *row = dst + (j - j0) * p.k;
        for (int64_t q = 0; q < p.k; ++q) row[q] = src[q * p.nr];
    }
}

const PackedWeight *prepared_weight(const uc_context *ctx, const void *w, int64_t n, int64_t k) {
    const auto it = ctx->packed_weights.find(w);
    return it != ctx->packed_weights.end() && it->second.n == n && it->second.k == k ? &it->second : nullptr;
}

uc_status check_released_weight(uc_context *ctx, const void *w, int64_t n, int64_t k) {
    const auto it = ctx->packed_weights.find(w);
    if (it == ctx->packed_weights.end() || !it->second.released || (it->second.n == n && it->second.k == k))
        return UC_OK;
    return fail(ctx, UC_ERR_INVALID_ARGUMENT,
                "w is released into its prepared copy of [%lld, %lld] and cannot be used as [%lld, %lld] "
                "(uc_weight_restore it first)",
                (long long)it->second.n, (long long)it->second.k, (long long)n, (long long)k);
}

void gemm(uc_context *ctx, const GemmA &a, const float *w, float *out, int64_t m, int64_t n, int64_t k,
          const GemmEpilogue &epi) {
    if (m == 0 || n == 0) return;
    const int64_t nr = panel_width(n);
    const float *packed;
    if (const PackedWeight *p = prepared_weight(ctx, w, n, k)) {
        packed = p->panels.data();
    } else {
        const size_t size = (size_t)((n + nr - 1) / nr * nr * k);
        if (ctx->pack_scratch.size() < size) ctx->pack_scratch.resize(size);
        pack_w(w, n, k, nr, ctx->pack_scratch.data());
        packed = ctx->pack_scratch.data();
    }
    if (a.conv && (int64_t)ctx->zeros.size() < a.cin) ctx->zeros.resize((size_t)a.cin, 0.0f);
    const float *zeros = ctx->zeros.data();
#if UC_HAVE_AVX512_KERNEL
    if (use_avx512()) {
        if (nr == Avx512Kernel<1>::kNr)
            gemm_tiles<Avx512Kernel<1>>(a, zeros, packed, out, m, n, k, epi);
        else if (nr == Avx512Kernel<2>::kNr)
            gemm_tiles<Avx512Kernel<2>>(a, zeros, packed, out, m, n, k, epi);
        else
            gemm_tiles<Avx512Kernel<4, 6>>(a, zeros, packed, out, m, n, k, epi);
        return;
    }
#endif
    gemm_tiles<PortableKernel>(a, zeros, packed, out, m, n, k, epi);
}

}  // namespace uc::cpu
