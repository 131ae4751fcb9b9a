// uc_conv2d on the GPU: NHWC convolution as an implicit GEMM with the ResBlock epilogue fused,
// out = (conv(x, w) + bias + residual) / output_scale_factor; f32/f16/bf16 storage, f32 math.
// Also uc_conv2d_weight_ohwi, the load-time weight layout conversion.
//
// The GEMM is out[M = N·OH·OW, Cout] = patches[M, K = KH·KW·Cin] · w[Cout, K]ᵀ; the patch
// matrix is never built: each tile load decodes its k index into (tap, input channel) and its
// row into (image, oy, ox), reading zero where the tap falls into the padding. Two versions:
//
//  1. conv2d_simt_kernel (f32): the SIMT baseline with uc_linear's tiling (cuda/linear.cu):
//     shared-memory tiles, each thread a 4 × 4 block of outputs.
//  2. conv2d_mma_kernel (f16, bf16): tensor cores through mma.sync.m16n8k16 with f32
//     accumulation; a 64 × 64 block tile, 4 warps of 32 × 32, k staged 32 at a time in padded
//     shared memory (conflict-free fragment loads). Single-buffered, plain loads: the first
//     tensor-core step; cp.async multi-stage pipelining, 16-byte vector gathers when Cin % 8 == 0,
//     larger tiles and (on sm_90) wgmma are the owed next steps toward the 0.9× cuDNN target.
//
// Both apply the epilogue (bias, residual, output scale) in registers before the single store.
// NOT YET RUN ON A GPU: only compiled; CudaOpsTest checks both against the cpu (F32 → version 1,
// F16/BF16 → version 2) on a GPU machine.
#include "cuda_common.cuh"
#include "simt_tile.cuh"

#include <cstdint>
#include <type_traits>

namespace {

// The f32 path tiles like uc_linear (simt_tile.cuh): output pixels × output channels, a
// slice of (tap, input channel) pairs deep.
using ConvTile = uc::cuda::SimtTile;

struct ConvShape {
    int64_t h, w, cin, cout, kh, kw, stride, pad, oh, ow, m, k;
};

template <class T>
__global__ void __launch_bounds__(ConvTile::kThreads)
conv2d_simt_kernel(const T *__restrict__ x, const T *__restrict__ w, const T *__restrict__ bias, const T *residual, T *out,
              ConvShape s, float output_scale_factor) {
    using L = ConvTile;
    __shared__ float xs[L::kDepth][L::kTile + 1];
    __shared__ float ws[L::kDepth][L::kTile + 1];
    const int tx = threadIdx.x % L::kThreadsPerEdge, ty = threadIdx.x / L::kThreadsPerEdge;
    const int64_t row0 = (int64_t)blockIdx.x * L::kTile, col0 = (int64_t)blockIdx.y * L::kTile;  // output_tile_grid
    float acc[L::kWork][L::kWork] = {};
    for (int64_t p0 = 0; p0 < s.k; p0 += L::kDepth) {
        for (int idx = threadIdx.x; idx < L::kTile * L::kDepth; idx += L::kThreads) {
            const int r = idx / L::kDepth, c = idx % L::kDepth;
            const int64_t p = p0 + c, row = row0 + r;
            float xv = 0.0f;
            if (row < s.m && p < s.k) {
                const int64_t tap = p / s.cin, ci = p % s.cin;
                const int64_t ox = row % s.ow, oy = (row / s.ow) % s.oh, b = row / (s.ow * s.oh);
                const int64_t iy = oy * s.stride - s.pad + tap / s.kw, ix = ox * s.stride - s.pad + tap % s.kw;
                if (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w)
                    xv = uc::cuda::to_float(x[((b * s.h + iy) * s.w + ix) * s.cin + ci]);
            }
            xs[c][r] = xv;
            ws[c][r] = (col0 + r < s.cout && p < s.k) ? uc::cuda::to_float(w[(col0 + r) * s.k + p]) : 0.0f;
        }
        __syncthreads();
        uc::cuda::simt_tile_accumulate(xs, ws, tx, ty, acc);
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < L::kWork; ++i) {
        const int64_t row = row0 + ty * L::kWork + i;
        if (row >= s.m) continue;
#pragma unroll
        for (int j = 0; j < L::kWork; ++j) {
            const int64_t col = col0 + tx * L::kWork + j;
            if (col >= s.cout) continue;
            float v = acc[i][j];
            if (bias != nullptr) v += uc::cuda::to_float(bias[col]);
            if (residual != nullptr) v = uc::cuda::to_float(residual[row * s.cout + col]) + v;
            out[row * s.cout + col] = uc::cuda::from_float<T>(v / output_scale_factor);
        }
    }
}

struct ConvMmaTile {
    static constexpr int kBlockM = 64;  // output pixels per block
    static constexpr int kBlockN = 64;  // output channels per block
    static constexpr int kBlockK = 32;  // k (taps × Cin) per shared-memory stage: two m16n8k16 steps
    static constexpr int kWarps = 4;    // 2 × 2 warps, each 32 × 32 outputs = 2 × 4 mma tiles (32 f32 accumulators)
    static constexpr int kThreads = kWarps * 32;
    // Row padding in elements: a row of 40 halves is 80 bytes, so the 8 rows × 4 columns of a
    // fragment load fall on 32 distinct banks ((20·row + col) mod 32).
    static constexpr int kPad = 8;
    static constexpr int kLd = kBlockK + kPad;
    // Each thread stages kBlockK / 2 consecutive k of one row of A and of B per stage.
    static constexpr int kPerThread = kBlockM * kBlockK / kThreads;  // 16
    static_assert(kBlockM == kBlockN && kPerThread * 2 == kBlockK, "staging assumes 2 threads per tile row");
};

template <class T>
__device__ __forceinline__ uint32_t load_pair(const T *p) {
    return *reinterpret_cast<const uint32_t *>(p);  // two consecutive 16-bit values, 4-byte aligned
}

// d += a · b for one m16n8k16 tile, f32 accumulators (PTX ISA "mma.sync ... .row.col").
template <class T>
__device__ __forceinline__ void mma_16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    if constexpr (std::is_same_v<T, __half>) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    } else {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
}

template <class T>
__global__ void __launch_bounds__(ConvMmaTile::kThreads)
conv2d_mma_kernel(const T *__restrict__ x, const T *__restrict__ w, const T *__restrict__ bias, const T *residual,
                  T *out, ConvShape s, float output_scale_factor) {
    using L = ConvMmaTile;
    __shared__ __align__(16) T as[L::kBlockM][L::kLd];  // patches: [pixel][k]
    __shared__ __align__(16) T bs[L::kBlockN][L::kLd];  // weights: [cout][k] (OHWI rows)
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int group = lane / 4, quad = lane % 4;  // the mma fragment's row group and column pair
    const int warp_m = warp / 2, warp_n = warp % 2;
    const int64_t row0 = (int64_t)blockIdx.x * L::kBlockM, col0 = (int64_t)blockIdx.y * L::kBlockN;  // output_tile_grid

    // This thread stages row `srow` of both tiles, k columns [scol, scol + kPerThread).
    const int srow = threadIdx.x / 2, scol = (threadIdx.x % 2) * L::kPerThread;
    const int64_t pixel = row0 + srow;
    const bool pixel_valid = pixel < s.m;
    const int64_t ox = pixel % s.ow, oy = (pixel / s.ow) % s.oh, img = pixel / (s.ow * s.oh);
    const int64_t iy0 = oy * s.stride - s.pad, ix0 = ox * s.stride - s.pad;
    const T *image = x + img * s.h * s.w * s.cin;
    const int64_t cout_row = col0 + srow;
    const T *wrow = w + cout_row * s.k;
    const T zero = uc::cuda::from_float<T>(0.0f);

    float acc[2][4][4] = {};
    for (int64_t k0 = 0; k0 < s.k; k0 += L::kBlockK) {
        // Stage A: decode the first k into (tap, ci) once, then step through Cin.
        int64_t p = k0 + scol, tap = p / s.cin, ci = p % s.cin;
#pragma unroll 4
        for (int j = 0; j < L::kPerThread; ++j, ++p) {
            T v = zero;
            if (pixel_valid && p < s.k) {
                const int64_t iy = iy0 + tap / s.kw, ix = ix0 + tap % s.kw;
                if (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) v = image[(iy * s.w + ix) * s.cin + ci];
            }
            as[srow][scol + j] = v;
            if (++ci == s.cin) {
                ci = 0;
                ++tap;
            }
        }
        // Stage B: a contiguous run of one OHWI row.
#pragma unroll 4
        for (int j = 0; j < L::kPerThread; ++j) {
            const int64_t q = k0 + scol + j;
            bs[srow][scol + j] = (cout_row < s.cout && q < s.k) ? wrow[q] : zero;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < L::kBlockK; kk += 16) {
            uint32_t a[2][4], b[4][2];
#pragma unroll
            for (int mi = 0; mi < 2; ++mi) {
                const int r = warp_m * 32 + mi * 16 + group;
                a[mi][0] = load_pair(&as[r][kk + 2 * quad]);
                a[mi][1] = load_pair(&as[r + 8][kk + 2 * quad]);
                a[mi][2] = load_pair(&as[r][kk + 2 * quad + 8]);
                a[mi][3] = load_pair(&as[r + 8][kk + 2 * quad + 8]);
            }
#pragma unroll
            for (int ni = 0; ni < 4; ++ni) {
                const int c = warp_n * 32 + ni * 8 + group;
                b[ni][0] = load_pair(&bs[c][kk + 2 * quad]);
                b[ni][1] = load_pair(&bs[c][kk + 2 * quad + 8]);
            }
#pragma unroll
            for (int mi = 0; mi < 2; ++mi)
#pragma unroll
                for (int ni = 0; ni < 4; ++ni) mma_16816<T>(acc[mi][ni], a[mi], b[ni]);
        }
        __syncthreads();
    }
    // Accumulator (mi, ni, e): row group (+8 for e ≥ 2), column 2·quad + (e & 1) of its tile.
#pragma unroll
    for (int mi = 0; mi < 2; ++mi)
#pragma unroll
        for (int ni = 0; ni < 4; ++ni)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int64_t row = row0 + warp_m * 32 + mi * 16 + group + (e >= 2 ? 8 : 0);
                const int64_t col = col0 + warp_n * 32 + ni * 8 + 2 * quad + (e & 1);
                if (row >= s.m || col >= s.cout) continue;
                float v = acc[mi][ni][e];
                if (bias != nullptr) v += uc::cuda::to_float(bias[col]);
                if (residual != nullptr) v = uc::cuda::to_float(residual[row * s.cout + col]) + v;
                out[row * s.cout + col] = uc::cuda::from_float<T>(v / output_scale_factor);
            }
}

constexpr int kCopyThreads = 256;

template <class T>
__global__ void weight_ohwi_kernel(const T *__restrict__ w, T *__restrict__ out, int64_t cout, int64_t cin,
                                   int64_t taps) {
    const int64_t total = cout * cin * taps;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
        // i indexes out [cout, taps, cin]: consecutive threads write consecutive elements.
        const int64_t ci = i % cin, t = (i / cin) % taps, o = i / (cin * taps);
        out[i] = w[(o * cin + ci) * taps + t];
    }
}

}  // namespace

extern "C" {

UC_API uc_status uc_conv2d(uc_context *ctx, uc_dtype dtype, const void *x, const void *w, const void *bias,
                           const void *residual, void *out, int64_t n, int64_t h, int64_t w_in, int64_t cin,
                           int64_t cout, int64_t kh, int64_t kw, int64_t stride, int64_t pad,
                           float output_scale_factor) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (uc_status s = uc::check_conv2d(ctx, dtype, x, w, residual, out, n, h, w_in, cin, cout, kh, kw, stride, pad,
                                           output_scale_factor))
            return s;
        const int64_t oh = uc::conv_out_size(h, kh, stride, pad), ow = uc::conv_out_size(w_in, kw, stride, pad);
        if (n == 0 || oh == 0 || ow == 0 || cout == 0) return UC_OK;
        const ConvShape shape{h, w_in, cin, cout, kh, kw, stride, pad, oh, ow, n * oh * ow, kh * kw * cin};
        return uc::cuda::dispatch_dtype(dtype, [&](auto tag) -> uc_status {
            using T = typename decltype(tag)::type;
            dim3 grid;
            if constexpr (std::is_same_v<T, float>) {
                using L = ConvTile;
                if (uc_status s = uc::cuda::output_tile_grid(ctx, shape.m, cout, L::kTile, L::kTile, grid)) return s;
                conv2d_simt_kernel<T><<<grid, L::kThreads, 0, ctx->stream>>>(
                    static_cast<const T *>(x), static_cast<const T *>(w), static_cast<const T *>(bias),
                    static_cast<const T *>(residual), static_cast<T *>(out), shape, output_scale_factor);
            } else {
                using M = ConvMmaTile;
                if (uc_status s = uc::cuda::output_tile_grid(ctx, shape.m, cout, M::kBlockM, M::kBlockN, grid))
                    return s;
                conv2d_mma_kernel<T><<<grid, M::kThreads, 0, ctx->stream>>>(
                    static_cast<const T *>(x), static_cast<const T *>(w), static_cast<const T *>(bias),
                    static_cast<const T *>(residual), static_cast<T *>(out), shape, output_scale_factor);
            }
            UC_CUDA_CHECK_LAUNCH(ctx);
            return UC_OK;
        });
    });
}

UC_API uc_status uc_conv2d_weight_ohwi(uc_context *ctx, uc_dtype dtype, const void *w, void *out, int64_t cout,
                                       int64_t cin, int64_t kh, int64_t kw) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (uc_status s = uc::check_conv2d_weight_ohwi(ctx, dtype, w, out, cout, cin, kh, kw)) return s;
        const int64_t total = cout * cin * kh * kw;
        if (total == 0) return UC_OK;
        return uc::cuda::dispatch_dtype(dtype, [&](auto tag) -> uc_status {
            using T = typename decltype(tag)::type;
            weight_ohwi_kernel<T><<<uc::cuda::blocks_for(total, kCopyThreads), kCopyThreads, 0, ctx->stream>>>(
                static_cast<const T *>(w), static_cast<T *>(out), cout, cin, kh * kw);
            UC_CUDA_CHECK_LAUNCH(ctx);
            return UC_OK;
        });
    });
}

}  // extern "C"
