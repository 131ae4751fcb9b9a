// uc_conv2d on the GPU: NHWC convolution as an implicit GEMM with the ResBlock epilogue fused,
// out = (conv(x, w) + bias + residual) / output_scale_factor; f32/f16/bf16 storage, f32 math.
// Also uc_conv2d_weight_ohwi, the load-time weight layout conversion.
//
// The GEMM is out[M = N·OH·OW, Cout] = patches[M, K = KH·KW·Cin] · w[Cout, K]ᵀ; the patch
// matrix is never built: each tile load decodes its k index into (tap, input channel) and its
// row into (image, oy, ox), reading zero where the tap falls into the padding. This first
// version is the SIMT baseline, the same tiling as uc_linear's (cuda/linear.cu): shared-memory
// tiles, each thread a 4 × 4 block of outputs, the epilogue applied before the single store.
// The tensor-core version (mma.sync bf16/f16 with f32 accumulation, cp.async pipelining of the
// OHWI weight panels) that the issue's 0.9× cuDNN target needs is owed.
// NOT YET RUN ON A GPU: only compiled; CudaOpsTest checks it against the cpu on a GPU machine.
#include "cuda_common.cuh"

namespace {

struct ConvTile {
    static constexpr int kTile = 64;   // output tile edge per block (pixels × output channels), as linear.cu
    static constexpr int kDepth = 16;  // k-slice (taps × input channels) staged in shared memory per step
    static constexpr int kWork = 4;    // outputs per thread along each edge
    static constexpr int kThreadsPerEdge = kTile / kWork;
    static constexpr int kThreads = kThreadsPerEdge * kThreadsPerEdge;  // 256
};

struct ConvShape {
    int64_t h, w, cin, cout, kh, kw, stride, pad, oh, ow, m, k;
};

template <class T>
__global__ void __launch_bounds__(ConvTile::kThreads)
conv2d_kernel(const T *__restrict__ x, const T *__restrict__ w, const T *__restrict__ bias, const T *residual, T *out,
              ConvShape s, float output_scale_factor) {
    using L = ConvTile;
    __shared__ float xs[L::kDepth][L::kTile + 1];
    __shared__ float ws[L::kDepth][L::kTile + 1];
    const int tx = threadIdx.x % L::kThreadsPerEdge, ty = threadIdx.x / L::kThreadsPerEdge;
    const int64_t row0 = (int64_t)blockIdx.y * L::kTile, col0 = (int64_t)blockIdx.x * L::kTile;
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
        using L = ConvTile;
        const ConvShape shape{h, w_in, cin, cout, kh, kw, stride, pad, oh, ow, n * oh * ow, kh * kw * cin};
        const int64_t grid_x = (cout + L::kTile - 1) / L::kTile, grid_y = (shape.m + L::kTile - 1) / L::kTile;
        if (grid_y > 65535 || grid_x > 65535)
            return uc::fail(ctx, UC_ERR_UNSUPPORTED, "N·OH·OW = %lld or Cout = %lld exceeds this kernel's %d",
                            (long long)shape.m, (long long)cout, 65535 * L::kTile);
        return uc::cuda::dispatch_dtype(dtype, [&](auto tag) -> uc_status {
            using T = typename decltype(tag)::type;
            conv2d_kernel<T><<<dim3((unsigned)grid_x, (unsigned)grid_y), L::kThreads, 0, ctx->stream>>>(
                static_cast<const T *>(x), static_cast<const T *>(w), static_cast<const T *>(bias),
                static_cast<const T *>(residual), static_cast<T *>(out), shape, output_scale_factor);
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
