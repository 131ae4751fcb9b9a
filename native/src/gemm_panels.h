// The register blocking shared by the cpu GEMM-shaped kernels (uc_linear, uc_conv2d): w is
// packed once per call into panels of kNr output columns laid out k-major
// ([n/kNr][k][kNr], zero-padded to whole panels), so a micro-kernel streams one panel while
// holding a kMr × kNr block of out in registers. kNr = 16 is one AVX-512 register or two AVX2
// registers; kMr = 6 keeps 6 (AVX-512) or 12 (AVX2) accumulators live, which leaves room for
// the panel loads and the broadcast on AVX2's 16 registers.
#pragma once

#include "cpu.h"

#include <vector>

namespace uc::cpu {

struct GemmTile {
    static constexpr int64_t kMr = 6;
    static constexpr int64_t kNr = 16;
};

// w: [n, k] row-major → zero-padded k-major panels of GemmTile::kNr columns.
inline std::vector<float> pack_panels(const float *w, int64_t n, int64_t k) {
    constexpr int64_t kNr = GemmTile::kNr;
    const int64_t panels = (n + kNr - 1) / kNr;
    std::vector<float> packed((size_t)(panels * kNr * k));
#pragma omp parallel for schedule(static) if (n * k >= kParallelThreshold)
    for (int64_t pn = 0; pn < panels; ++pn) {
        float *dst = packed.data() + pn * kNr * k;
        for (int64_t p = 0; p < k; ++p)
            for (int64_t j = 0; j < kNr; ++j) {
                const int64_t col = pn * kNr + j;
                dst[p * kNr + j] = col < n ? w[col * k + p] : 0.0f;
            }
    }
    return packed;
}

}  // namespace uc::cpu
