// uc_embedding on the cpu: out[i, :] = table[ids[i], :], a row copy per id; every id is
// checked first so a bad one fails the call before anything is written.
#include "cpu.h"

#include <cstring>

extern "C" UC_API uc_status uc_embedding(uc_context *ctx, uc_dtype dtype, const void *table, const int32_t *ids,
                                         void *out, int64_t n, int64_t vocab, int64_t dim) {
    return uc::guarded(ctx, [&] {
        if (uc_status s = uc::check_embedding(ctx, dtype, table, ids, out, n, vocab, dim)) return s;
        if (uc_status s = uc::cpu::require_f32(ctx, dtype)) return s;
        if (uc_status s = uc::cpu::check_cancel(ctx)) return s;
        for (int64_t i = 0; i < n; ++i)
            if (ids[i] < 0 || ids[i] >= vocab)
                return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "ids[%lld] = %d is outside [0, %lld)", (long long)i,
                                (int)ids[i], (long long)vocab);
        const float *tf = static_cast<const float *>(table);
        float *of = static_cast<float *>(out);
#pragma omp parallel for schedule(static) if (n * dim >= uc::cpu::kParallelElements)
        for (int64_t i = 0; i < n; ++i)
            std::memcpy(of + i * dim, tf + (int64_t)ids[i] * dim, (size_t)dim * sizeof(float));
        return UC_OK;
    });
}
