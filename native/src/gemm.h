// The one GEMM of the cpu backend, shared by uc_linear and uc_conv2d (an implicit GEMM):
//
//   out[i, j] = (act(Σ_p A[i, p] · w[j, p] + bias[j]) + residual[i, j]) / scale
//
// with A [m, k] either dense rows (uc_linear's x) or the patch matrix of an NHWC convolution
// (never built: its rows are gathered while A is packed). w is [n, k] row-major.
//
// w is packed into panels of NR output columns, k-major; a micro-kernel holds an MR × NR tile
// of out in registers while it streams one panel and broadcasts MR rows of A in place
// (gemm.cpp says why A is not packed). Every output is one running sum over p = 0 … k−1 in
// order, never split by m, the thread count or the position of a row in its tile, so a row's
// result does not depend on the other rows of the call.
#pragma once

#include "cpu.h"

namespace uc::cpu {

// The A operand of one GEMM call: dense rows, or a convolution's implicit patch matrix.
struct GemmA {
    const float *x;
    int64_t lda;  // dense: the row stride of x (= k for a contiguous matrix); conv: unused
    // conv: NHWC input [batch, h, w, cin], kernel kh × kw; k = kh·kw·cin, m = batch·oh·ow.
    bool conv = false;
    int64_t h = 0, w = 0, cin = 0, kh = 0, kw = 0, stride = 1, pad = 0, oh = 0, ow = 0;
};

struct GemmEpilogue {
    const float *bias = nullptr;      // [n] or null
    const float *residual = nullptr;  // [m, n] or null; may alias out
    uc_activation act = UC_ACT_NONE;
    float scale = 1.0f;  // divides the result (a division, as diffusers, not a multiply by 1/s)
};

// Which micro-kernels run: AVX-512 intrinsics where the CPU has them, else the portable C++
// kernel (compiled per x86-64 level). UNCLIP_CPU_KERNELS=portable forces the portable one
// (tests run the op table both ways); the device description names the active one.
const char *gemm_kernels();

// w packed as the GEMM on this CPU reads it (uc_weight_prepare).
PackedWeight pack_weight(const float *w, int64_t n, int64_t k);

// Rows j0 … j1−1 of w [n, k] back from its panels into dst [j1 − j0, k] (the inverse of packing).
void unpack_rows(const PackedWeight &p, int64_t j0, int64_t j1, float *dst);

// w packed by uc_weight_prepare with this shape, or null.
const PackedWeight *prepared_weight(const uc_context *ctx, const void *w, int64_t n, int64_t k);

// Fails unless w, where it is released (uc_weight_release), is used at its prepared shape: its
// memory no longer holds it, so it cannot be packed anew from there.
uc_status check_released_weight(uc_context *ctx, const void *w, int64_t n, int64_t k);

// Uses w's prepared panels when it has them, else packs it into ctx's scratch.
void gemm(uc_context *ctx, const GemmA &a, const float *w, float *out, int64_t m, int64_t n, int64_t k,
          const GemmEpilogue &epi);

}  // namespace uc::cpu
