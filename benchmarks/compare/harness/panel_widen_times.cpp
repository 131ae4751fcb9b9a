// Does widening 16-bit weight panels in the GEMM's 6 x 64 AVX-512 micro-kernel cost speed?
// (Issue 19: keep f16 / bf16 checkpoints 16-bit in memory "if it costs no speed".) The same tile
// loop as gemm.cpp's Avx512Kernel<4, 6> on dense A, with the panel read as float32, as float16
// widened by vcvtph2ps, or as bfloat16 widened by a zero-extend and a 16-bit shift; best of five
// passes over every 6-row block and 64-column panel, one core. An experiment, not the engine:
// no K blocking (gemm.cpp blocks panels over 768 KB), no epilogue, no threads.
//
//   g++ -O3 -mf16c benchmarks/compare/harness/panel_widen_times.cpp -o /tmp/panel_widen_times
//   /tmp/panel_widen_times
#include <immintrin.h>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <vector>
enum Kind { F32, F16, BF16 };
template <Kind kind>
__attribute__((target("avx512f,avx512bw,f16c"))) __attribute__((noinline))
void tile(const float *const *src, const void *panel, int64_t k, float *out) {
    __m512 acc[6][4];
#pragma GCC unroll 6
    for (int i = 0; i < 6; ++i) _Pragma("GCC unroll 4") for (int v = 0; v < 4; ++v) acc[i][v] = _mm512_setzero_ps();
    for (int64_t p = 0; p < k; ++p) {
        __m512 b[4];
#pragma GCC unroll 4
        for (int v = 0; v < 4; ++v) {
            if constexpr (kind == F32) b[v] = _mm512_loadu_ps((const float *)panel + p * 64 + 16 * v);
            else if constexpr (kind == F16) b[v] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)panel + p * 64 + 16 * v)));
            else b[v] = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)((const uint16_t *)panel + p * 64 + 16 * v))), 16));
        }
#pragma GCC unroll 6
        for (int i = 0; i < 6; ++i) {
            __m512 a = _mm512_set1_ps(src[i][p]);
#pragma GCC unroll 4
            for (int v = 0; v < 4; ++v) acc[i][v] = _mm512_fmadd_ps(a, b[v], acc[i][v]);
        }
    }
    for (int i = 0; i < 6; ++i) for (int v = 0; v < 4; ++v) _mm512_storeu_ps(out + i * 64 + 16 * v, acc[i][v]);
}
template <Kind kind> double run(const std::vector<float> &A, const void *panels, int64_t m, int64_t k, int64_t npanels, size_t esize, std::vector<float> &C) {
    auto t0 = std::chrono::steady_clock::now();
    for (int64_t pn = 0; pn < npanels; ++pn)
        for (int64_t m0 = 0; m0 + 6 <= m; m0 += 6) {
            const float *src[6];
            for (int i = 0; i < 6; ++i) src[i] = A.data() + (m0 + i) * k;
            tile<kind>(src, (const char *)panels + pn * k * 64 * esize, k, C.data() + (pn * m + m0) * 64);
        }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
int main() {
    const int64_t shapes[][3] = {{4096, 2880, 320}, {2048, 5760, 640}, {1024, 11520, 1280}, {4096, 288, 64}, {16384, 576, 128}};
    for (auto &s : shapes) {
        int64_t m = s[0], k = s[1], n = s[2], np = n / 64;
        std::vector<float> A(m * k), C(np * m * 64), W(np * k * 64);
        for (size_t i = 0; i < A.size(); ++i) A[i] = (i % 7) * 0.1f;
        for (size_t i = 0; i < W.size(); ++i) W[i] = (i % 5) * 0.1f;
        std::vector<uint16_t> H(W.size());
        for (size_t i = 0; i < W.size(); ++i) H[i] = _cvtss_sh(W[i], 0);
        double flop = 2.0 * (m / 6 * 6) * k * n;
        double best[3] = {1e9, 1e9, 1e9};
        for (int r = 0; r < 5; ++r) {
            best[0] = std::min(best[0], run<F32>(A, W.data(), m, k, np, 4, C));
            best[1] = std::min(best[1], run<F16>(A, H.data(), m, k, np, 2, C));
            best[2] = std::min(best[2], run<BF16>(A, H.data(), m, k, np, 2, C));
        }
        std::printf("m %ld k %ld n %ld: f32 %.1f  f16 %.1f  bf16 %.1f GFLOP/s\n", m, k, n, flop / best[0] / 1e9, flop / best[1] / 1e9, flop / best[2] / 1e9);
    }
}
