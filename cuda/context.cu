// The cuda backend's context and memory: one device, one non-blocking stream, stream-ordered
// allocation. The CUDA runtime is linked statically, so only the NVIDIA driver is needed.
#include "cuda_common.cuh"

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

// The release threshold of the stream-ordered memory pool: how many bytes of freed memory it
// keeps across a synchronisation. CUDA's default, 0, hands all of it back to the driver at every
// synchronisation, and the next cudaMallocAsync maps memory again: every denoising step would.
// So the pool keeps everything (until the context is destroyed) unless this variable caps it.
constexpr const char *kPoolReleaseThresholdVar = "UNCLIP_CUDA_POOL_RELEASE_THRESHOLD";

// A byte count with an optional K, M or G suffix (powers of 1024): "0", "512M", "8G".
bool parse_bytes(const char *text, uint64_t &bytes) {
    if (!std::isdigit((unsigned char)text[0])) return false;  // strtoull would take " -1" too
    char *end = nullptr;
    errno = 0;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (errno != 0) return false;
    int shift = 0;
    switch (std::toupper((unsigned char)*end)) {
        case '\0': break;
        case 'K': shift = 10; ++end; break;
        case 'M': shift = 20; ++end; break;
        case 'G': shift = 30; ++end; break;
        default: return false;
    }
    if (*end != '\0' || value > (UINT64_MAX >> shift)) return false;
    bytes = (uint64_t)value << shift;
    return true;
}

}  // namespace

extern "C" {

UC_API int32_t uc_abi_version(void) { return UC_ABI_VERSION; }

UC_API const char *uc_backend_name(void) { return "cuda"; }

UC_API uc_status uc_context_create(int32_t device, uc_context **out) {
    if (out == nullptr) return UC_ERR_INVALID_ARGUMENT;
    uc_context *ctx = new (std::nothrow) uc_context();
    *out = ctx;
    if (ctx == nullptr) return UC_ERR_OUT_OF_MEMORY;
    return uc::guarded(ctx, [&]() -> uc_status {
        int count = 0;
        cudaError_t err = cudaGetDeviceCount(&count);
        uc::cuda::clear_last_error();
        if (err != cudaSuccess || count == 0)
            return uc::fail(ctx, UC_ERR_DEVICE, "no CUDA device: %s",
                            err != cudaSuccess ? cudaGetErrorString(err) : "the driver reports 0 devices");
        if (device < 0 || device >= count)
            return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "CUDA device %d does not exist (%d present)", device, count);
        cudaDeviceProp prop;
        UC_CUDA_TRY(ctx, cudaGetDeviceProperties(&prop, device));
        // The library carries sm_80 and sm_90a code and compute_80 PTX (CMakeLists.txt).
        if (prop.major < 8)
            return uc::fail(ctx, UC_ERR_ARCH_MISMATCH,
                            "%s has compute capability %d.%d; this library has code for 8.0 and newer",
                            prop.name, prop.major, prop.minor);
        uint64_t release_threshold = UINT64_MAX;
        const char *setting = std::getenv(kPoolReleaseThresholdVar);
        if (setting != nullptr && !parse_bytes(setting, release_threshold))
            return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "%s = \"%s\" is not a byte count (e.g. 0, 512M, 8G)",
                            kPoolReleaseThresholdVar, setting);
        ctx->device = device;
        ctx->sm_count = prop.multiProcessorCount;
        UC_CUDA_TRY(ctx, cudaSetDevice(device));
        // The pool cudaMallocAsync takes from: the device's current one, shared by every context on it.
        cudaMemPool_t pool = nullptr;
        UC_CUDA_TRY(ctx, cudaDeviceGetMemPool(&pool, device));
        UC_CUDA_TRY(ctx, cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &release_threshold));
        cudaStream_t stream = nullptr;
        UC_CUDA_TRY(ctx, cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
        ctx->stream = stream;
        return UC_OK;
    });
}

UC_API void uc_context_destroy(uc_context *ctx) {
    if (ctx == nullptr) return;
    if (ctx->stream != nullptr) {
        // Nothing to report failures to here; they must not be left for the next op to find.
        cudaSetDevice(ctx->device);
        cudaStreamSynchronize(ctx->stream);
        cudaStreamDestroy(ctx->stream);
        // Hand the memory the pool kept back to the driver. Only blocks no allocation uses go; another
        // live context on the device loses its cached blocks and maps them again when it needs them.
        cudaMemPool_t pool = nullptr;
        if (cudaDeviceGetMemPool(&pool, ctx->device) == cudaSuccess) cudaMemPoolTrimTo(pool, 0);
        uc::cuda::clear_last_error();
    }
    delete ctx;
}

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
        return UC_OK;  // the ops run on the GPU; nothing on the host to size
    });
}

UC_API uc_status uc_weight_prepare(uc_context *ctx, uc_dtype dtype, const void *w, int64_t n, int64_t k) {
    return uc::guarded(ctx, [&] {
        if (uc_status s = uc::check_weight_prepare(ctx, dtype, w, n, k)) return s;
        return UC_OK;  // cuBLAS and the conv kernels read w as it is: nothing to prepare
    });
}

UC_API uc_status uc_weight_forget(uc_context *ctx, const void *) {
    return uc::guarded(ctx, [] { return UC_OK; });
}

UC_API uc_status uc_weight_release(uc_context *ctx, const void *, int32_t *released) {
    return uc::guarded(ctx, [&] {
        if (released == nullptr) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "null output pointer");
        *released = 0;  // w in device memory is the only copy: nothing to hand back
        return UC_OK;
    });
}

UC_API uc_status uc_weight_restore(uc_context *ctx, const void *) {
    return uc::guarded(ctx, [] { return UC_OK; });
}

UC_API uc_status uc_device_describe(uc_context *ctx, char *buf, int64_t cap) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (buf == nullptr || cap <= 0) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "empty output buffer");
        cudaDeviceProp prop;
        UC_CUDA_TRY(ctx, cudaGetDeviceProperties(&prop, ctx->device));
        int driver = 0, runtime = 0;
        UC_CUDA_TRY(ctx, cudaDriverGetVersion(&driver));
        UC_CUDA_TRY(ctx, cudaRuntimeGetVersion(&runtime));
        std::snprintf(buf, (size_t)cap, "%s, compute capability %d.%d, %d SMs, %.1f GiB, driver %d, runtime %d",
                      prop.name, prop.major, prop.minor, prop.multiProcessorCount,
                      (double)prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0), driver, runtime);
        return UC_OK;
    });
}

UC_API uc_status uc_alloc(uc_context *ctx, int64_t bytes, void **out) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (out == nullptr) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "null output pointer");
        *out = nullptr;
        if (bytes < 0) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "bytes = %lld must be >= 0", (long long)bytes);
        UC_CUDA_TRY(ctx, cudaMallocAsync(out, (size_t)(bytes == 0 ? 1 : bytes), ctx->stream));
        return UC_OK;
    });
}

UC_API uc_status uc_free(uc_context *ctx, void *ptr) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (ptr != nullptr) UC_CUDA_TRY(ctx, cudaFreeAsync(ptr, ctx->stream));
        return UC_OK;
    });
}

UC_API uc_status uc_memcpy(uc_context *ctx, void *dst, const void *src, int64_t bytes, uc_copy_kind kind) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        cudaMemcpyKind cuda_kind;
        switch (kind) {
            case UC_COPY_HOST_TO_DEVICE: cuda_kind = cudaMemcpyHostToDevice; break;
            case UC_COPY_DEVICE_TO_HOST: cuda_kind = cudaMemcpyDeviceToHost; break;
            case UC_COPY_DEVICE_TO_DEVICE: cuda_kind = cudaMemcpyDeviceToDevice; break;
            default: return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown copy kind %d", (int)kind);
        }
        if (bytes < 0) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "bytes = %lld must be >= 0", (long long)bytes);
        if (bytes == 0) return UC_OK;
        if (dst == nullptr || src == nullptr)
            return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (dst=%p src=%p)", dst, src);
        UC_CUDA_TRY(ctx, cudaMemcpyAsync(dst, src, (size_t)bytes, cuda_kind, ctx->stream));
        // The caller reads host memory right after a device-to-host copy returns.
        if (kind == UC_COPY_DEVICE_TO_HOST) UC_CUDA_TRY(ctx, cudaStreamSynchronize(ctx->stream));
        return UC_OK;
    });
}

UC_API uc_status uc_memset(uc_context *ctx, void *dst, int32_t byte_value, int64_t bytes) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (bytes < 0) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "bytes = %lld must be >= 0", (long long)bytes);
        if (bytes == 0) return UC_OK;
        if (dst == nullptr) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer dst");
        UC_CUDA_TRY(ctx, cudaMemsetAsync(dst, byte_value, (size_t)bytes, ctx->stream));
        return UC_OK;
    });
}

UC_API uc_status uc_synchronize(uc_context *ctx) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        UC_CUDA_TRY(ctx, cudaStreamSynchronize(ctx->stream));
        return UC_OK;
    });
}

// A cuda event is a cudaEvent_t on the context's device, recorded on its stream.
struct uc_event {
    cudaEvent_t event = nullptr;
    bool recorded = false;
};

UC_API uc_status uc_event_create(uc_context *ctx, uc_event **out) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (out == nullptr) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "null output pointer");
        *out = nullptr;
        uc_event *event = new uc_event();
        cudaError_t err = cudaEventCreate(&event->event);
        if (err != cudaSuccess) {
            delete event;
            return uc::cuda::fail_cuda(ctx, err, "cudaEventCreate", __FILE__, __LINE__);
        }
        *out = event;
        return UC_OK;
    });
}

UC_API uc_status uc_event_destroy(uc_context *ctx, uc_event *event) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (event == nullptr) return UC_OK;
        cudaError_t err = cudaEventDestroy(event->event);
        delete event;
        if (err != cudaSuccess) return uc::cuda::fail_cuda(ctx, err, "cudaEventDestroy", __FILE__, __LINE__);
        return UC_OK;
    });
}

UC_API uc_status uc_event_record(uc_context *ctx, uc_event *event) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (event == nullptr) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "null event");
        UC_CUDA_TRY(ctx, cudaEventRecord(event->event, ctx->stream));
        event->recorded = true;
        return UC_OK;
    });
}

UC_API uc_status uc_event_elapsed_ms(uc_context *ctx, uc_event *start, uc_event *end, float *ms) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (start == nullptr || end == nullptr || ms == nullptr)
            return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (start=%p end=%p ms=%p)",
                            (void *)start, (void *)end, (void *)ms);
        if (!start->recorded || !end->recorded) return uc::fail(ctx, UC_ERR_INVALID_ARGUMENT, "event not recorded yet");
        UC_CUDA_TRY(ctx, cudaEventSynchronize(end->event));
        UC_CUDA_TRY(ctx, cudaEventElapsedTime(ms, start->event, end->event));
        return UC_OK;
    });
}

}  // extern "C"
