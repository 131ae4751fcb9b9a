// Internal helpers of the cpu backend.
#pragma once

#include "common.h"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <unordered_map>
#include <vector>

namespace uc::cpu {

// Storage on 64-byte (cache-line) boundaries: the GEMM's 64-byte panel loads would otherwise
// straddle two lines each (malloc aligns large blocks to 16 bytes).
template <class T>
struct CacheLineAllocator {
    using value_type = T;
    CacheLineAllocator() = default;
    template <class U>
    CacheLineAllocator(const CacheLineAllocator<U> &) {}
    T *allocate(size_t count) {
        const size_t bytes = std::max<size_t>(64, (count * sizeof(T) + 63) / 64 * 64);  // aligned_alloc(64, 0) may fail
        if (void *p = std::aligned_alloc(64, bytes)) return static_cast<T *>(p);
        throw std::bad_alloc();
    }
    void deallocate(T *p, size_t) { std::free(p); }
    template <class U>
    bool operator==(const CacheLineAllocator<U> &) const { return true; }
};
template <class T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

// A weight packed once by uc_weight_prepare into the GEMM's panel layout (gemm.h).
struct PackedWeight {
    int64_t n = 0, k = 0, nr = 0;
    AlignedVector<float> panels;  // [⌈n/nr⌉][k][nr]
    bool released = false;        // uc_weight_release: the original's pages are gone, panels are all
};

}  // namespace uc::cpu

// The cpu context: what both backends share, the prepared weights by address, and the GEMM's
// scratch for packing a weight that is not prepared (kept, so that no call page-faults in a
// fresh buffer), and a row of zeros.
struct uc_context : uc_context_base {
    std::unordered_map<const void *, uc::cpu::PackedWeight> packed_weights;
    uc::cpu::AlignedVector<float> pack_scratch;
    std::vector<float> zeros;  // a conv's input row in the padding (the GEMM's narrow path)
};

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

// An op forks its OpenMP team only with enough work to repay the fork and the join: a few
// microseconds while the team spins, tens once it sleeps (OMP_WAIT_POLICY=passive), and
// milliseconds when a team thread is descheduled on a busy machine and the barrier waits for
// it. So only ops of roughly 100 µs or more on one core run on several:
// multiply-adds of a GEMM, a convolution or attention (8 M ≈ 110 µs at 150 GFLOP/s) …
constexpr int64_t kParallelFmas = 1 << 23;
// … and elements of a memory-bound op (128 K floats: 0.5 MB read and written, ≈ 50–100 µs).
constexpr int64_t kParallelElements = 1 << 17;
// … from twice that for one pass of a few vector operations an element (a vectorised activation,
// layer norm, nearest upsampling: ~0.25 ns an element, 30–50 µs at 128 K, where two threads were
// slower than one in 4–5 of 5 rounds; threshold_times.cpp) …
constexpr int64_t kParallelLightElements = 1 << 18;
// … and a plain copy, add or 2×2 average does ~0.1 ns an element, 10–20 µs at 128 K, less than
// a passive team's fork and join: on two threads uc_add, uc_copy_2d and uc_avg_pool2x2 ran 1.2–2.5×
// slower than on one up to 256–512 K elements and first gained at 0.5–1 M (threshold_times.cpp).
constexpr int64_t kParallelCopyElements = 1 << 20;

}  // namespace uc::cpu

// Hot loops are compiled for several x86-64 levels and picked at load time, so one shipped
// library is both fast on AVX-512/AVX2 machines and safe on older ones.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define UC_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define UC_MULTIVERSION
#endif
