// The shared-memory tiled SIMT GEMM step used by the f32 paths of uc_linear and uc_conv2d:
// a block computes a kTile × kTile output tile, each thread kWork × kWork outputs, staging a
// kDepth-deep k-slice of both operands in shared memory (k-major, padded by one column so the
// inner product reads a row of each tile without bank conflicts). The callers differ only in
// how they fill the tiles (a dense x, or the implicit im2col of a convolution) and in their
// epilogues.
#pragma once

namespace uc::cuda {

struct SimtTile {
    static constexpr int kTile = 64;   // output tile edge per block
    static constexpr int kDepth = 16;  // k-slice staged in shared memory per step
    static constexpr int kWork = 4;    // outputs per thread along each edge
    static constexpr int kThreadsPerEdge = kTile / kWork;
    static constexpr int kThreads = kThreadsPerEdge * kThreadsPerEdge;  // 256
};

// acc[i][j] += Σ_c xs[c][ty·kWork + i] · ws[c][tx·kWork + j] over the staged slice.
__device__ __forceinline__ void simt_tile_accumulate(const float (&xs)[SimtTile::kDepth][SimtTile::kTile + 1],
                                                     const float (&ws)[SimtTile::kDepth][SimtTile::kTile + 1],
                                                     int tx, int ty, float (&acc)[SimtTile::kWork][SimtTile::kWork]) {
    using L = SimtTile;
#pragma unroll
    for (int c = 0; c < L::kDepth; ++c) {
        float xv[L::kWork], wv[L::kWork];
#pragma unroll
        for (int i = 0; i < L::kWork; ++i) {
            xv[i] = xs[c][ty * L::kWork + i];
            wv[i] = ws[c][tx * L::kWork + i];
        }
#pragma unroll
        for (int i = 0; i < L::kWork; ++i)
#pragma unroll
            for (int j = 0; j < L::kWork; ++j) acc[i][j] += xv[i] * wv[j];
    }
}

}  // namespace uc::cuda
