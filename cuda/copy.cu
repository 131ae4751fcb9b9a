// uc_copy_2d on the GPU: cudaMemcpy2DAsync on the context's stream (the copy engine moves a
// strided block at full bandwidth; a kernel of our own would do no better).
#include "cuda_common.cuh"

extern "C" {

UC_API uc_status uc_copy_2d(uc_context *ctx, uc_dtype dtype, const void *src, int64_t src_stride, void *dst,
                            int64_t dst_stride, int64_t rows, int64_t cols) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (uc_status s = uc::check_copy_2d(ctx, dtype, src, src_stride, dst, dst_stride, rows, cols)) return s;
        if (rows * cols == 0) return UC_OK;
        const size_t size = dtype == UC_F32 ? 4 : 2;
        UC_CUDA_TRY(ctx, cudaMemcpy2DAsync(dst, (size_t)dst_stride * size, src, (size_t)src_stride * size,
                                           (size_t)cols * size, (size_t)rows, cudaMemcpyDeviceToDevice, ctx->stream));
        return UC_OK;
    });
}

}  // extern "C"
