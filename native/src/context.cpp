// The cpu backend's context and memory: host memory, no stream, errors kept per context.
#include "cpu.h"
#include "gemm.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <malloc.h>
#include <string>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

#if defined(_OPENMP)
#include <omp.h>
#endif

extern "C" {

UC_API int32_t uc_abi_version(void) { return UC_ABI_VERSION; }

UC_API const char *uc_backend_name(void) { return "cpu"; }

namespace {

// OpenMP's team size before any context changed it: what threads = 0 goes back to.
int default_threads() {
#if defined(_OPENMP)
    static const int n = omp_get_max_threads();
    return n;
#else
    return 1;
#endif
}

// The x86-64 level whose clones of the hot loops (UC_MULTIVERSION) this CPU runs.
const char *kernel_level() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4 (AVX-512)";
    if (__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3 (AVX2, FMA)";
    return "x86-64 baseline";
#else
    return "portable";
#endif
}

}  // namespace

UC_API uc_status uc_context_create(int32_t device, uc_context **out) {
    if (out == nullptr) return UC_ERR_INVALID_ARGUMENT;
    *out = new (std::nothrow) uc_context();
    if (*out == nullptr) return UC_ERR_OUT_OF_MEMORY;
    (*out)->threads = default_threads();
    if (device != 0)
        return uc::fail(*out, UC_ERR_INVALID_ARGUMENT, "the cpu backend has only device 0, not %d", device);
    return UC_OK;
}

UC_API void uc_context_destroy(uc_context *ctx) { delete ctx; }

UC_API const char *uc_context_last_error(const uc_context *ctx) {
    return ctx == nullptr ? "null context" : ctx->last_error.c_str();
}

UC_API void uc_context_cancel(uc_context *ctx) {
    if (ctx != nullptr) ctx->cancel_requested.store(true);
}

UC_API void uc_context_reset_cancel(uc_context *ctx) {
    if (ctx != nullptr) ctx->cancel_requested.store(false);
}

UC_API uc_status uc_context_set_threads(uc_context *ctx, int32_t threads) {
    return uc::guarded(ctx, [&] {
        if (threads < 0) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "threads = %d must be >= 0", threads);
        ctx->threads = threads == 0 ? default_threads() : threads;
        return UC_OK;
    });
}

UC_API uc_status uc_device_describe(uc_context *ctx, char *buf, int64_t cap) {
    return uc::guarded(ctx, [&] {
        if (buf == nullptr || cap <= 0) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "empty output buffer");
        std::string model = "unknown CPU";
        std::ifstream cpuinfo("/proc/cpuinfo");
        for (std::string line; std::getline(cpuinfo, line);) {
            if (line.rfind("model name", 0) == 0) {
                model = line.substr(line.find(':') + 2);
                break;
            }
        }
        // OMP_WAIT_POLICY as libgomp read it when it loaded (the Java bindings set passive).
        const char *wait = std::getenv("OMP_WAIT_POLICY");
        std::snprintf(buf, (size_t)cap, "%s, %d OpenMP threads (%s wait), %s kernels, %s", model.c_str(), ctx->threads,
                      wait != nullptr ? wait : "default", kernel_level(), uc::cpu::gemm_kernels());
        return UC_OK;
    });
}

UC_API uc_status uc_alloc(uc_context *ctx, int64_t bytes, void **out) {
    return uc::guarded(ctx, [&] {
        if (out == nullptr) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "null output pointer");
        *out = nullptr;
        if (bytes < 0) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "bytes = %lld must be >= 0", (long long)bytes);
        // 64-byte alignment: one cache line, and the widest vector load (AVX-512).
        size_t rounded = ((size_t)bytes + 63) / 64 * 64;
        *out = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
        if (*out == nullptr)
            return uc::fail(ctx, UC_ERR_OUT_OF_MEMORY, "could not allocate %lld bytes of host memory", (long long)bytes);
        return UC_OK;
    });
}

UC_API uc_status uc_weight_prepare(uc_context *ctx, uc_dtype dtype, const void *w, int64_t n, int64_t k) {
    return uc::guarded(ctx, [&] {
        if (uc_status s = uc::check_weight_prepare(ctx, dtype, w, n, k)) return s;
        if (uc_status s = uc::cpu::require_f32(ctx, dtype)) return s;
        if (n * k == 0 || uc::cpu::prepared_weight(ctx, w, n, k) != nullptr) return UC_OK;
        if (uc_status s = uc::cpu::check_released_weight(ctx, w, n, k)) return s;
        ctx->packed_weights[w] = uc::cpu::pack_weight(static_cast<const float *>(w), n, k);
        return UC_OK;
    });
}

UC_API uc_status uc_weight_forget(uc_context *ctx, const void *w) {
    return uc::guarded(ctx, [&] {
        ctx->packed_weights.erase(w);
        return UC_OK;
    });
}

UC_API uc_status uc_weight_release(uc_context *ctx, const void *w, int32_t *released) {
    return uc::guarded(ctx, [&] {
        if (released == nullptr) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "null output pointer");
        *released = 0;
        const auto it = ctx->packed_weights.find(w);
        if (it == ctx->packed_weights.end())
            return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "w = %p is not a prepared weight (uc_weight_prepare)", w);
        uc::cpu::PackedWeight &p = it->second;
        if (!p.released) {
            // Only pages wholly inside w: the bytes around it may belong to the allocator or to
            // other data, and keep their contents. A weight spanning none stays as it is.
            const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), begin = (uintptr_t)w;
            const uintptr_t first = (begin + page - 1) / page * page, last = (begin + (uintptr_t)(p.n * p.k) * 4) / page * page;
            if (last <= first) return UC_OK;
            if (madvise((void *)first, last - first, MADV_DONTNEED) != 0)
                return uc::fail(ctx, UC_ERR_INTERNAL, "madvise of %zu bytes failed: %s", (size_t)(last - first),
                                std::strerror(errno));
            p.released = true;
        }
        *released = 1;
        return UC_OK;
    });
}

UC_API uc_status uc_weight_restore(uc_context *ctx, const void *w) {
    return uc::guarded(ctx, [&] {
        const auto it = ctx->packed_weights.find(w);
        if (it == ctx->packed_weights.end() || !it->second.released) return UC_OK;
        uc::cpu::unpack_rows(it->second, 0, it->second.n, static_cast<float *>(const_cast<void *>(w)));
        it->second.released = false;
        return UC_OK;
    });
}

UC_API uc_status uc_free(uc_context *ctx, void *ptr) {
    return uc::guarded(ctx, [&] {
        // A weight prepared inside this block is gone with it: the next block at this address
        // holds something else.
        if (ptr != nullptr && !ctx->packed_weights.empty()) {
            const char *begin = static_cast<const char *>(ptr), *end = begin + malloc_usable_size(ptr);
            for (auto it = ctx->packed_weights.begin(); it != ctx->packed_weights.end();) {
                const char *w = static_cast<const char *>(it->first);
                it = w >= begin && w < end ? ctx->packed_weights.erase(it) : std::next(it);
            }
        }
        std::free(ptr);
        return UC_OK;
    });
}

UC_API uc_status uc_memcpy(uc_context *ctx, void *dst, const void *src, int64_t bytes, uc_copy_kind kind) {
    return uc::guarded(ctx, [&] {
        if (kind < UC_COPY_HOST_TO_DEVICE || kind > UC_COPY_DEVICE_TO_DEVICE)
            return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown copy kind %d", (int)kind);
        if (bytes < 0) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "bytes = %lld must be >= 0", (long long)bytes);
        if (bytes > 0 && (dst == nullptr || src == nullptr))
            return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (dst=%p src=%p)", dst, (const void *)src);
        if (bytes > 0) std::memmove(dst, src, (size_t)bytes);
        return UC_OK;
    });
}

UC_API uc_status uc_memset(uc_context *ctx, void *dst, int32_t byte_value, int64_t bytes) {
    return uc::guarded(ctx, [&] {
        if (bytes < 0) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "bytes = %lld must be >= 0", (long long)bytes);
        if (bytes > 0 && dst == nullptr) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer dst");
        if (bytes > 0) std::memset(dst, byte_value, (size_t)bytes);
        return UC_OK;
    });
}

UC_API uc_status uc_synchronize(uc_context *ctx) {
    return uc::guarded(ctx, [] { return UC_OK; });
}

// A cpu event is the moment it was recorded: cpu ops have finished when they return.
struct uc_event {
    std::chrono::steady_clock::time_point time{};
    bool recorded = false;
};

UC_API uc_status uc_event_create(uc_context *ctx, uc_event **out) {
    return uc::guarded(ctx, [&] {
        if (out == nullptr) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "null output pointer");
        *out = new uc_event();
        return UC_OK;
    });
}

UC_API uc_status uc_event_destroy(uc_context *ctx, uc_event *event) {
    return uc::guarded(ctx, [&] {
        delete event;
        return UC_OK;
    });
}

UC_API uc_status uc_event_record(uc_context *ctx, uc_event *event) {
    return uc::guarded(ctx, [&] {
        if (event == nullptr) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "null event");
        event->time = std::chrono::steady_clock::now();
        event->recorded = true;
        return UC_OK;
    });
}

UC_API uc_status uc_event_elapsed_ms(uc_context *ctx, uc_event *start, uc_event *end, float *ms) {
    return uc::guarded(ctx, [&] {
        if (start == nullptr || end == nullptr || ms == nullptr)
            return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (start=%p end=%p ms=%p)",
                            (void *)start, (void *)end, (void *)ms);
        if (!start->recorded || !end->recorded)
            return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "event not recorded yet");
        *ms = std::chrono::duration<float, std::milli>(end->time - start->time).count();
        return UC_OK;
    });
}

}  // extern "C"
