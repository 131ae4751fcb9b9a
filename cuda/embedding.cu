// uc_embedding on the GPU: a grid-stride copy, one thread per output element. The device
// cannot report a bad id back without a synchronisation, so an id outside [0, vocab) writes a
// zero row (the Java layer checks ids before they get here). Not yet run on a GPU.
#include "cuda_common.cuh"

namespace {

constexpr int kThreads = 256;

template <class T>
__global__ void embedding_kernel(const T *__restrict__ table, const int32_t *__restrict__ ids, T *out, int64_t n,
                                 int64_t vocab, int64_t dim) {
    for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < n * dim;
         idx += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = idx / dim, c = idx % dim;
        const int32_t id = ids[r];
        out[idx] = (id >= 0 && id < vocab) ? table[(int64_t)id * dim + c] : uc::cuda::from_float<T>(0.0f);
    }
}

}  // namespace

extern "C" UC_API uc_status uc_embedding(uc_context *ctx, uc_dtype dtype, const void *table, const int32_t *ids,
                                         void *out, int64_t n, int64_t vocab, int64_t dim) {
    return uc::cuda::on_device(ctx, [&]() -> uc_status {
        if (uc_status s = uc::check_embedding(ctx, dtype, table, ids, out, n, vocab, dim)) return s;
        if (n == 0) return UC_OK;
        return uc::cuda::dispatch_dtype(dtype, [&](auto tag) -> uc_status {
            using T = typename decltype(tag)::type;
            embedding_kernel<T><<<uc::cuda::blocks_for(n * dim, kThreads), kThreads, 0, ctx->stream>>>(
                static_cast<const T *>(table), ids, static_cast<T *>(out), n, vocab, dim);
            UC_CUDA_CHECK_LAUNCH(ctx);
            return UC_OK;
        });
    });
}
