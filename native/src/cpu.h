// Internal helpers of the cpu backend.
#pragma once

#include "common.h"

// The cpu context holds nothing beyond what both backends share.
struct uc_context : uc_context_base {};

namespace uc::cpu {

// The cpu backend computes in float32 only (DESIGN.md: data conventions).
inline uc_status require_f32(uc_context_base *ctx, uc_dtype dtype) {
    if (dtype != UC_F32)
        return fail(ctx, UC_ERR_UNSUPPORTED, "the cpu backend computes in f32 only, not %s", dtype_name(dtype));
    return UC_OK;
}

inline uc_status check_cancel(uc_context_base *ctx) {
    if (ctx->cancel_requested.load(std::memory_order_relaxed))
        return fail(ctx, UC_ERR_CANCELLED, "cancelled");
    return UC_OK;
}

// Small loops stay on the calling thread: forking a team costs more than they do.
constexpr int64_t kParallelThreshold = 1 << 15;

}  // namespace uc::cpu

// Hot loops are compiled for several x86-64 levels and picked at load time, so one shipped
// library is both fast on AVX-512/AVX2 machines and safe on older ones.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define UC_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define UC_MULTIVERSION
#endif
