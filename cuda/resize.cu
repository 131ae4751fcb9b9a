// Resize ops on the GPU: uc_upsample_nearest2x, uc_avg_pool2x2, uc_resize_bicubic_aa. NHWC,
// f32/f16/bf16 storage, f32 math. Memory-bound: one thread per output element in a grid-stride
// loop, channels fastest so that a warp reads and writes contiguous runs.
// The bicubic kernel computes both axes' filter weights per output element (the same
// uc::resize_aa functions as the cpu, torch's formulas) instead of a precomputed table: it runs
// once per image at the 64 → 256 super-resolution input, where that arithmetic is cheap.
// NOT YET RUN ON A GPU: only compiled; CudaOpsTest checks them against the cpu on a GPU machine.
#include "cuda_common.cuh"
#include "resize_aa.h"

namespace {

constexpr int kThreads = 256;

template <class T>
__global__ void upsample_nearest2x_kernel(const T *__restrict__ x, T *__restrict__ out, int64_t n, int64_t h,
                                          int64_t w, int64_t c) {
    const int64_t total = n * 4 * h * w * c;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
        const int64_t ch = i % c, ox = (i / c) % (2 * w), oy = (i / (c * 2 * w)) % (2 * h), b = i / (c * 4 * w * h);
        out[i] = x[((b * h + oy / 2) * w + ox / 2) * c + ch];
    }
}

template <class T>
__global__ void avg_pool2x2_kernel(const T *__restrict__ x, T *__restrict__ out, int64_t n, int64_t h, int64_t w,
                                   int64_t c) {
    const int64_t oh = h / 2, ow = w / 2, total = n * oh * ow * c;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
        const int64_t ch = i % c, ox = (i / c) % ow, oy = (i / (c * ow)) % oh, b = i / (c * ow * oh);
        const T *top = x + ((b * h + 2 * oy) * w + 2 * ox) * c + ch, *bottom = top + w * c;
        // torch's order: the window's rows, each left to right, then one division by 4.
        const float sum = ((uc::cuda::to_float(top[0]) + uc::cuda::to_float(top[c])) + uc::cuda::to_float(bottom[0])) +
                          uc::cuda::to_float(bottom[c]);
        out[i] = uc::cuda::from_float<T>(sum / 4.0f);
    }
}

template <class T>
__global__ void resize_bicubic_aa_kernel(const T *__restrict__ x, T *__restrict__ out, int64_t n, int64_t h, int64_t w,
                                         int64_t c, int64_t oh, int64_t ow) {
    const int64_t total = n * oh * ow * c;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
        const int64_t ch = i % c, ox = (i / c) % ow, oy = (i / (c * ow)) % oh, b = i / (c * ow * oh);
        const uc::resize_aa::Axis ay = uc::resize_aa::axis(oy, h, oh), ax = uc::resize_aa::axis(ox, w, ow);
        float ty = 0.0f, tx = 0.0f;
        for (int64_t j = 0; j < ay.count; ++j) ty += uc::resize_aa::weight(ay, j);
        for (int64_t j = 0; j < ax.count; ++j) tx += uc::resize_aa::weight(ax, j);
        // As torch: weights divided by their sum unless it is zero.
        ty = ty != 0.0f ? ty : 1.0f;
        tx = tx != 0.0f ? tx : 1.0f;
        float acc = 0.0f;
        for (int64_t yi = 0; yi < ay.count; ++yi) {
            const T *row = x + ((b * h + ay.first + yi) * w + ax.first) * c + ch;
            float racc = 0.0f;
            for (int64_t xi = 0; xi < ax.count; ++xi)
                racc += uc::resize_aa::weight(ax, xi) / tx * uc::cuda::to_float(row[xi * c]);
            acc += uc::resize_aa::weight(ay, yi) / ty * racc;
        }
        out[i] = uc::cuda::from_float<T>(acc);
    }
}

template <class Launch>
uc_status resize_op(uc_context *ctx, uc_dtype dtype, const void *x, void *out, int64_t n, int64_t h, int64_t w,
                    int64_t c, int64_t oh, int64_t ow, Launch &&launch) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (uc_status s = uc::check_resize(ctx, dtype, x, out, n, h, w, c, oh, ow)) return s;
        const int64_t total = n * c * oh * ow;
        if (total == 0) return UC_OK;
        return uc::cuda::dispatch_dtype(dtype, [&](auto tag) -> uc_status {
            using T = typename decltype(tag)::type;
            launch(static_cast<const T *>(x), static_cast<T *>(out), uc::cuda::blocks_for(total, kThreads));
            UC_CUDA_CHECK_LAUNCH(ctx);
            return UC_OK;
        });
    });
}

}  // namespace

extern "C" {

UC_API uc_status uc_upsample_nearest2x(uc_context *ctx, uc_dtype dtype, const void *x, void *out, int64_t n,
                                       int64_t h, int64_t w, int64_t c) {
    return resize_op(ctx, dtype, x, out, n, h, w, c, 2 * h, 2 * w, [&](auto xt, auto ot, unsigned blocks) {
        upsample_nearest2x_kernel<<<blocks, kThreads, 0, ctx->stream>>>(xt, ot, n, h, w, c);
    });
}

UC_API uc_status uc_avg_pool2x2(uc_context *ctx, uc_dtype dtype, const void *x, void *out, int64_t n, int64_t h,
                                int64_t w, int64_t c) {
    return resize_op(ctx, dtype, x, out, n, h, w, c, h / 2, w / 2, [&](auto xt, auto ot, unsigned blocks) {
        avg_pool2x2_kernel<<<blocks, kThreads, 0, ctx->stream>>>(xt, ot, n, h, w, c);
    });
}

UC_API uc_status uc_resize_bicubic_aa(uc_context *ctx, uc_dtype dtype, const void *x, void *out, int64_t n,
                                      int64_t h, int64_t w, int64_t c, int64_t oh, int64_t ow) {
    return resize_op(ctx, dtype, x, out, n, h, w, c, oh, ow, [&](auto xt, auto ot, unsigned blocks) {
        resize_bicubic_aa_kernel<<<blocks, kThreads, 0, ctx->stream>>>(xt, ot, n, h, w, c, oh, ow);
    });
}

}  // extern "C"
