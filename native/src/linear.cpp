// uc_linear on the cpu: out = act(x · wᵀ + bias) + residual, float32.
//
// A register-blocked GEMM (gemm_panels.h): the micro-kernel streams one packed panel of w
// while holding a kMr × kNr block of out in registers, kMr rows of x broadcast one at a time.
// The epilogue (bias, activation, residual) is applied to the block while it is
// still in registers, so out is written exactly once.
#include "activation.h"
#include "cpu.h"
#include "gemm_panels.h"

#include <algorithm>
#include <memory>
#include <vector>

namespace {

constexpr int64_t kMr = uc::cpu::GemmTile::kMr;
constexpr int64_t kNr = uc::cpu::GemmTile::kNr;

struct Epilogue {
    const float *bias;      // [n] or null
    const float *residual;  // [m, n] or null
    uc_activation act;
};

// Computes rows [m0, m0+mr) × columns [n0, n0+nr) of out from one packed panel.
template <int kRows>
UC_MULTIVERSION void micro_kernel(const float *x, int64_t k, const float *panel, float *out,
                                  int64_t ldo, int64_t m0, int64_t n0, int64_t nr,
                                  const Epilogue &epi) {
    float acc[kRows][kNr] = {};
    for (int64_t p = 0; p < k; ++p) {
        const float *wp = panel + p * kNr;
        for (int i = 0; i < kRows; ++i) {
            const float xv = x[(m0 + i) * k + p];
#pragma omp simd
            for (int64_t j = 0; j < kNr; ++j) acc[i][j] += xv * wp[j];
        }
    }
    for (int i = 0; i < kRows; ++i) {
        const int64_t row = m0 + i;
        for (int64_t j = 0; j < nr; ++j) {
            float v = acc[i][j];
            if (epi.bias != nullptr) v += epi.bias[n0 + j];
            v = uc::activate(epi.act, v);
            if (epi.residual != nullptr) v += epi.residual[row * ldo + n0 + j];
            out[row * ldo + n0 + j] = v;
        }
    }
}

using MicroKernel = void (*)(const float *, int64_t, const float *, float *, int64_t, int64_t,
                             int64_t, int64_t, const Epilogue &);
constexpr MicroKernel kKernels[kMr + 1] = {nullptr, micro_kernel<1>, micro_kernel<2>, micro_kernel<3>,
                                           micro_kernel<4>, micro_kernel<5>, micro_kernel<6>};

// Fewer rows than one register block (batch-2 MLPs, the prior's conditioning): packing w would
// cost as much as the product itself, so each output is a dot product of two contiguous
// k-vectors, w streamed once (column j outer) while the few rows of x stay in cache.
constexpr int64_t kDotRows = kMr;

UC_MULTIVERSION void dot_columns(const float *x, const float *w, float *out, int64_t m, int64_t n0, int64_t n1,
                                 int64_t n, int64_t k, const Epilogue &epi) {
    for (int64_t j = n0; j < n1; ++j) {
        const float *wr = w + j * k;
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

void linear_few_rows(const float *x, const float *w, float *out, int64_t m, int64_t n, int64_t k,
                     const Epilogue &epi) {
    constexpr int64_t kColumns = 16;  // columns per task: enough work per task, many tasks per thread
    const int64_t tasks = (n + kColumns - 1) / kColumns;
#pragma omp parallel for schedule(static) if (m * n * k >= uc::cpu::kParallelThreshold)
    for (int64_t t = 0; t < tasks; ++t) dot_columns(x, w, out, m, t * kColumns, std::min(n, (t + 1) * kColumns), n, k, epi);
}

void linear_f32(const float *x, const float *w, float *out, int64_t m, int64_t n, int64_t k,
                const Epilogue &epi) {
    if (m < kDotRows) {
        linear_few_rows(x, w, out, m, n, k, epi);
        return;
    }
    const int64_t panels = (n + kNr - 1) / kNr;
    const std::vector<float> packed = uc::cpu::pack_panels(w, n, k);
    const int64_t row_blocks = (m + kMr - 1) / kMr;
#pragma omp parallel for collapse(2) schedule(static) if (m * n * k >= uc::cpu::kParallelThreshold)
    for (int64_t pn = 0; pn < panels; ++pn)
        for (int64_t rb = 0; rb < row_blocks; ++rb) {
            const int64_t m0 = rb * kMr, n0 = pn * kNr;
            const int64_t mr = std::min(kMr, m - m0), nr = std::min(kNr, n - n0);
            kKernels[mr](x, k, packed.data() + pn * kNr * k, out, n, m0, n0, nr, epi);
        }
}

}  // namespace

extern "C" UC_API uc_status uc_linear(uc_context *ctx, uc_dtype dtype, const void *x, const void *w,
                                      const void *bias, const void *residual, void *out, int64_t m,
                                      int64_t n, int64_t k, uc_activation act) {
    return uc::guarded(ctx, [&] {
        if (uc_status s = uc::check_linear(ctx, dtype, x, w, out, m, n, k, act)) return s;
        if (uc_status s = uc::cpu::require_f32(ctx, dtype)) return s;
        if (uc_status s = uc::cpu::check_cancel(ctx)) return s;
        if (m == 0 || n == 0) return UC_OK;
        const Epilogue epi{static_cast<const float *>(bias), static_cast<const float *>(residual), act};
        linear_f32(static_cast<const float *>(x), static_cast<const float *>(w), static_cast<float *>(out),
                   m, n, k, epi);
        return UC_OK;
    });
}
