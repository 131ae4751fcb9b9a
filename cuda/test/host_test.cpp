// The host side of libunclip_cuda, tested without a GPU: cuda/context.cu and cuda_common.cuh,
// compiled here as plain C++ against a fake CUDA runtime that models what they rely on (one
// "last error" per host thread, set by every failed call and cleared by cudaGetLastError; the
// memory pool's attributes). Checks that a failed call leaves nothing for the next op to report
// (issue 21), the pool's release threshold, and the launch shape of the tiled kernels. Run by
// ctest, which Maven's test phase runs (bindings/pom.xml). A real GPU checks the same paths in
// CudaErrorRecoveryTest and the large-M rows of the op table.
#include "../context.cu"

#include <cstdlib>
#include <cstring>
#include <string>

// ---- the fake runtime -------------------------------------------------------------------------

namespace fake {

thread_local cudaError_t last_error = cudaSuccess;  // the runtime's is per host thread too
constexpr size_t kDeviceBytes = size_t{80} << 30;   // a larger request fails as out of memory
cudaError_t launch_error = cudaSuccess;              // what the next simulated launch reports
cudaError_t stream_sync_error = cudaSuccess;         // what cudaStreamSynchronize reports
uint64_t release_threshold = 0;                      // CUDA's default
int trims = 0;
int pool_handle, stream_handle;

cudaError_t fails(cudaError_t err) {
    last_error = err;
    return err;
}

// Stands for a kernel launch: a failed launch sets the last error and returns nothing.
void launch() {
    if (launch_error != cudaSuccess) fails(launch_error);
}

}  // namespace fake

extern "C" {

cudaError_t cudaGetLastError(void) {
    const cudaError_t err = fake::last_error;
    fake::last_error = cudaSuccess;
    return err;
}
const char *cudaGetErrorString(cudaError_t err) { return err == cudaSuccess ? "no error" : "fake failure"; }
const char *cudaGetErrorName(cudaError_t err) {
    switch (err) {
        case cudaSuccess: return "cudaSuccess";
        case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
        case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
        default: return "cudaErrorOther";
    }
}
cudaError_t cudaGetDeviceCount(int *count) {
    *count = 1;
    return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int) {
    *prop = cudaDeviceProp{};
    std::strcpy(prop->name, "fake GPU");
    prop->major = 9;
    prop->multiProcessorCount = 132;
    prop->totalGlobalMem = fake::kDeviceBytes;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int) { return cudaSuccess; }
cudaError_t cudaDriverGetVersion(int *v) { return *v = 13000, cudaSuccess; }
cudaError_t cudaRuntimeGetVersion(int *v) { return *v = 13000, cudaSuccess; }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned int) {
    *stream = reinterpret_cast<cudaStream_t>(&fake::stream_handle);
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) {
    return fake::stream_sync_error == cudaSuccess ? cudaSuccess : fake::fails(fake::stream_sync_error);
}
cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceGetMemPool(cudaMemPool_t *pool, int) {
    *pool = reinterpret_cast<cudaMemPool_t>(&fake::pool_handle);
    return cudaSuccess;
}
cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t, cudaMemPoolAttr attr, void *value) {
    if (attr == cudaMemPoolAttrReleaseThreshold) fake::release_threshold = *static_cast<uint64_t *>(value);
    return cudaSuccess;
}
cudaError_t cudaMemPoolTrimTo(cudaMemPool_t, size_t) {
    ++fake::trims;
    return cudaSuccess;
}
cudaError_t cudaMallocAsync(void **ptr, size_t bytes, cudaStream_t) {
    if (bytes > fake::kDeviceBytes) return fake::fails(cudaErrorMemoryAllocation);
    *ptr = std::malloc(bytes);
    return cudaSuccess;
}
cudaError_t cudaFreeAsync(void *ptr, cudaStream_t) {
    std::free(ptr);
    return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind, cudaStream_t) {
    std::memcpy(dst, src, bytes);
    return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void *dst, int value, size_t bytes, cudaStream_t) {
    std::memset(dst, value, bytes);
    return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t *) { return fake::fails(cudaErrorNotSupported); }
cudaError_t cudaEventDestroy(cudaEvent_t) { return fake::fails(cudaErrorNotSupported); }
cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return fake::fails(cudaErrorNotSupported); }
cudaError_t cudaEventSynchronize(cudaEvent_t) { return fake::fails(cudaErrorNotSupported); }
cudaError_t cudaEventElapsedTime(float *, cudaEvent_t, cudaEvent_t) { return fake::fails(cudaErrorNotSupported); }

}  // extern "C"

// ---- the tests --------------------------------------------------------------------------------

namespace {

int failures = 0;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            std::fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                          \
        }                                                                        \
    } while (0)

bool contains(const std::string &text, const char *part) { return text.find(part) != std::string::npos; }

// An op as every kernel's entry point is written (elementwise.cu, linear.cu, ...): on the
// context's device, queue the kernel, check its launch.
uc_status op(uc_context *ctx) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        fake::launch();
        UC_CUDA_CHECK_LAUNCH(ctx);
        return UC_OK;
    });
}

uc_context *create() {
    uc_context *ctx = nullptr;
    CHECK(uc_context_create(0, &ctx) == UC_OK);
    return ctx;
}

// The example: uc_alloc of 1 TiB fails as out of memory; the next op must not.
void out_of_memory_then_the_next_op_and_a_smaller_retry_succeed() {
    uc_context *ctx = create();
    void *p = nullptr;
    CHECK(uc_alloc(ctx, int64_t{1} << 40, &p) == UC_ERR_OUT_OF_MEMORY);
    CHECK(contains(uc_context_last_error(ctx), "cudaErrorMemoryAllocation"));
    CHECK(contains(uc_context_last_error(ctx), "context.cu"));
    CHECK(op(ctx) == UC_OK);
    CHECK(std::string(uc_context_last_error(ctx)).empty());
    CHECK(uc_alloc(ctx, int64_t{1} << 20, &p) == UC_OK && p != nullptr);  // the retry with a smaller batch
    CHECK(uc_free(ctx, p) == UC_OK);
    uc_context_destroy(ctx);
}

// A virtual thread's next downcall may run another context's op on the same carrier thread.
void a_failure_on_one_context_is_not_reported_by_another() {
    uc_context *a = create(), *b = create();
    void *p = nullptr;
    CHECK(uc_alloc(a, int64_t{1} << 40, &p) == UC_ERR_OUT_OF_MEMORY);
    CHECK(op(b) == UC_OK);
    CHECK(std::string(uc_context_last_error(b)).empty());
    uc_context_destroy(a);
    uc_context_destroy(b);
}

// A failed launch is reported by its own op, with its own error, and by no later one.
void a_failed_launch_is_reported_once() {
    uc_context *ctx = create();
    fake::launch_error = cudaErrorInvalidConfiguration;
    CHECK(op(ctx) == UC_ERR_DEVICE);
    CHECK(contains(uc_context_last_error(ctx), "cudaErrorInvalidConfiguration"));
    fake::launch_error = cudaSuccess;
    CHECK(op(ctx) == UC_OK);
    uc_context_destroy(ctx);
}

// uc_context_destroy has no one to report to: what fails there must not surface later.
void a_failure_while_destroying_is_not_reported_later() {
    uc_context *doomed = create(), *ctx = create();
    fake::stream_sync_error = cudaErrorInvalidResourceHandle;
    uc_context_destroy(doomed);
    fake::stream_sync_error = cudaSuccess;
    CHECK(op(ctx) == UC_OK);
    uc_context_destroy(ctx);
}

// Other failures turned into statuses by UC_CUDA_TRY (here a synchronisation) clear it too.
void a_failed_synchronize_is_not_reported_later() {
    uc_context *ctx = create();
    fake::stream_sync_error = cudaErrorInvalidResourceHandle;
    CHECK(uc_synchronize(ctx) == UC_ERR_DEVICE);
    fake::stream_sync_error = cudaSuccess;
    CHECK(op(ctx) == UC_OK);
    uc_context_destroy(ctx);
}

void pool_keeps_freed_memory_unless_capped() {
    fake::release_threshold = 0;
    uc_context *ctx = create();
    CHECK(fake::release_threshold == UINT64_MAX);
    const int trims = fake::trims;
    uc_context_destroy(ctx);
    CHECK(fake::trims == trims + 1);  // handed back when the context goes

    const struct { const char *setting; uint64_t bytes; } caps[] = {
        {"0", 0}, {"4096", 4096}, {"512M", uint64_t{512} << 20}, {"8g", uint64_t{8} << 30}, {"3K", 3072}};
    for (const auto &cap : caps) {
        setenv(kPoolReleaseThresholdVar, cap.setting, 1);
        ctx = create();
        CHECK(fake::release_threshold == cap.bytes);
        uc_context_destroy(ctx);
    }
    for (const char *bad : {"", "-1", " 5", "8GB", "lots", "99999999999999999999", "17179869184G"}) {
        setenv(kPoolReleaseThresholdVar, bad, 1);
        ctx = nullptr;
        CHECK(uc_context_create(0, &ctx) == UC_ERR_INVALID_ARGUMENT);
        CHECK(ctx != nullptr && contains(uc_context_last_error(ctx), kPoolReleaseThresholdVar));
        uc_context_destroy(ctx);
    }
    unsetenv(kPoolReleaseThresholdVar);
}

// Row tiles on gridDim.x: M past the old 65,535 × 64 = 4,194,240 limit launches.
void output_tile_grid_puts_rows_on_x() {
    uc_context_base ctx;
    dim3 grid;
    CHECK(uc::cuda::output_tile_grid(&ctx, 1, 1, 64, 64, grid) == UC_OK && grid.x == 1 && grid.y == 1 && grid.z == 1);
    CHECK(uc::cuda::output_tile_grid(&ctx, 4194240, 3, 64, 64, grid) == UC_OK && grid.x == 65535 && grid.y == 1);
    CHECK(uc::cuda::output_tile_grid(&ctx, 4194241, 3, 64, 64, grid) == UC_OK && grid.x == 65536 && grid.y == 1);
    // The shapes: 256×256 at batch 64, 512×512 at batch 16, 1024×1024 at batch 4 (M = 2^22),
    // with the decoder's 320 and the super-resolution U-Net's 1280 output channels.
    CHECK(uc::cuda::output_tile_grid(&ctx, 64 * 256 * 256, 320, 64, 64, grid) == UC_OK && grid.x == 65536 &&
          grid.y == 5);
    CHECK(uc::cuda::output_tile_grid(&ctx, 4 * 1024 * 1024, 1280, 64, 64, grid) == UC_OK && grid.x == 65536 &&
          grid.y == 20);
    // The limits now: 2^31 − 1 row tiles, 65,535 column tiles.
    CHECK(uc::cuda::output_tile_grid(&ctx, int64_t{2147483647} * 64, 65535 * 64, 64, 64, grid) == UC_OK &&
          grid.x == 2147483647u && grid.y == 65535);
    CHECK(uc::cuda::output_tile_grid(&ctx, int64_t{2147483647} * 64 + 1, 8, 64, 64, grid) == UC_ERR_UNSUPPORTED);
    CHECK(uc::cuda::output_tile_grid(&ctx, 8, 65535 * 64 + 1, 64, 64, grid) == UC_ERR_UNSUPPORTED);
    CHECK(contains(ctx.last_error, "65536"));
}

}  // namespace

int main() {
    unsetenv(kPoolReleaseThresholdVar);  // the default, whatever the caller's environment says
    out_of_memory_then_the_next_op_and_a_smaller_retry_succeed();
    a_failure_on_one_context_is_not_reported_by_another();
    a_failed_launch_is_reported_once();
    a_failure_while_destroying_is_not_reported_later();
    a_failed_synchronize_is_not_reported_later();
    pool_keeps_freed_memory_unless_capped();
    output_tile_grid_puts_rows_on_x();
    if (failures != 0) {
        std::fprintf(stderr, "cuda_host_test: %d check(s) failed\n", failures);
        return 1;
    }
    std::printf("cuda_host_test: all checks passed\n");
    return 0;
}
