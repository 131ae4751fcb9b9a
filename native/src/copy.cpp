// uc_copy_2d on the cpu: a strided copy of a [rows, cols] block, one memcpy per row.
#include "cpu.h"

#include <cstring>

extern "C" {

UC_API uc_status uc_copy_2d(uc_context *ctx, uc_dtype dtype, const void *src, int64_t src_stride, void *dst,
                            int64_t dst_stride, int64_t rows, int64_t cols) {
    return uc::guarded(ctx, [&] {
        if (uc_status s = uc::check_copy_2d(ctx, dtype, src, src_stride, dst, dst_stride, rows, cols)) return s;
        if (uc_status s = uc::cpu::require_f32(ctx, dtype)) return s;
        if (uc_status s = uc::cpu::check_cancel(ctx)) return s;
        const float *s = static_cast<const float *>(src);
        float *d = static_cast<float *>(dst);
        const size_t row_bytes = (size_t)cols * sizeof(float);
#pragma omp parallel for schedule(static) if (rows * cols >= uc::cpu::kParallelCopyElements)
        for (int64_t r = 0; r < rows; ++r) std::memcpy(d + r * dst_stride, s + r * src_stride, row_bytes);
        return UC_OK;
    });
}

}  // extern "C"
