// uc_linear on the cpu: out = act(x · wᵀ + bias) + residual, float32: the backend's GEMM
// (gemm.h) with x as dense rows, or, for a few rows, dot products that need no packing.
#include "activation.h"
#include "cpu.h"
#include "gemm.h"

#include <algorithm>

namespace {

using Epilogue = uc::cpu::GemmEpilogue;

// Fewer than kDotRows rows (batch-2 MLPs, the prior's conditioning): each output is a dot
// product of two contiguous k-vectors of x and of w as stored, w streamed once (column j outer)
// while the few rows of x stay in cache (linear_f32 says why not the GEMM).
constexpr int64_t kDotRows = 6;

// Output columns n0 … n1−1; w_rows holds w's rows n0 … n1−1.
UC_MULTIVERSION void dot_columns(const float *x, const float *w_rows, float *out, int64_t m, int64_t n0, int64_t n1,
                                 int64_t n, int64_t k, const Epilogue &epi) {
    for (int64_t j = n0; j < n1; ++j) {
        const float *wr = w_rows + (j - n0) * k;
        for (int64_t i = 0; i < m; ++i) {
            const float *xr = x + i * k;
            float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
            for (int64_t p = 0; p < k; ++p) acc += xr[p] * wr[p];
            if (epi.bias != nullptr) acc += epi.bias[j];
            acc = uc::activate(epi.act, acc);
            if (epi.residual != nullptr) acc += epi.residual[i * n + j];
            out[i * n + j] = acc;
        }
    }
}

// `released`: w's memory no longer holds it (uc_weight_release), so each task first unpacks its
// rows of w from the panels into a buffer laid out as w (rows at the same 64-byte alignment):
// the same dot products on the same values, bit for bit.
void linear_few_rows(const float *x, const float *w, const uc::cpu::PackedWeight *released, float *out, int64_t m,
                     int64_t n, int64_t k, const Epilogue &epi) {
    constexpr int64_t kColumns = 16;  // columns per task: enough work per task, many tasks per thread
    const int64_t tasks = (n + kColumns - 1) / kColumns;
    // Bound by reading w once, not by the m·n·k multiply-adds: split over the threads by w's size.
#pragma omp parallel for schedule(static) if (n * k >= uc::cpu::kParallelElements)
    for (int64_t t = 0; t < tasks; ++t) {
        const int64_t j0 = t * kColumns, j1 = std::min(n, j0 + kColumns);
        if (released == nullptr) {
            dot_columns(x, w + j0 * k, out, m, j0, j1, n, k, epi);
            continue;
        }
        thread_local uc::cpu::AlignedVector<float> rows;
        if ((int64_t)rows.size() < kColumns * k) rows.resize((size_t)(kColumns * k));
        uc::cpu::unpack_rows(*released, j0, j1, rows.data());
        dot_columns(x, rows.data(), out, m, j0, j1, n, k, epi);
    }
}

// Below kDotRows rows, dot products (each a sum of 16 interleaved partial sums, as the
// compiler vectorises it); from kDotRows rows on, the GEMM (one running sum per output), whose
// rows do not depend on each other bit for bit. The GEMM's single running sum also serves the
// few-row case well for speed once w is prepared, but it moved the built-in pipeline's short
// guided chains (2–6 steps) by up to 7/255 from diffusers' images where the dot products stay
// within 3/255 (PipelineParityTest): the time embeddings these few rows carry are sensitive.
void linear_f32(uc_context *ctx, const float *x, const float *w, float *out, int64_t m, int64_t n, int64_t k,
                const Epilogue &epi) {
    if (m < kDotRows) {
        const uc::cpu::PackedWeight *p = uc::cpu::prepared_weight(ctx, w, n, k);
        linear_few_rows(x, w, p != nullptr && p->released ? p : nullptr, out, m, n, k, epi);
        return;
    }
    uc::cpu::GemmA a{};
    a.x = x;
    a.lda = k;
    uc::cpu::gemm(ctx, a, w, out, m, n, k, epi);
}

}  // namespace

extern "C" UC_API uc_status uc_linear(uc_context *ctx, uc_dtype dtype, const void *x, const void *w,
                                      const void *bias, const void *residual, void *out, int64_t m,
                                      int64_t n, int64_t k, uc_activation act) {
    return uc::guarded(ctx, [&] {
        if (uc_status s = uc::check_linear(ctx, dtype, x, w, out, m, n, k, act)) return s;
        if (uc_status s = uc::cpu::require_f32(ctx, dtype)) return s;
        if (uc_status s = uc::cpu::check_cancel(ctx)) return s;
        if (uc_status s = uc::cpu::check_released_weight(ctx, w, n, k)) return s;
        if (m == 0 || n == 0) return UC_OK;
        const Epilogue epi{static_cast<const float *>(bias), static_cast<const float *>(residual), act, 1.0f};
        linear_f32(ctx, static_cast<const float *>(x), static_cast<const float *>(w), static_cast<float *>(out),
                   m, n, k, epi);
        return UC_OK;
    });
}
