/*
 * unclip.h — the C ABI of unclip4j's kernels.
 *
 * Two libraries implement this header and export exactly the same symbols:
 *   libunclip_cpu   C++17 + OpenMP, host memory, float32 compute;
 *   libunclip_cuda  CUDA, device memory, f32/f16/bf16 storage with f32 accumulation.
 * The Java side picks a backend by choosing which library it looks the symbols up in.
 *
 * Conventions (every function below follows them):
 *   - Every function returns a uc_status; nothing here aborts the process. A non-zero
 *     status leaves a message in the context (uc_context_last_error), not in a
 *     thread-local: a JVM virtual thread may make its next downcall on another carrier.
 *   - Pointers are plain addresses in the backend's memory (host for cpu, device for cuda),
 *     sizes are explicit int64 element counts, tensors are dense row-major.
 *   - Activations are NHWC; a shape comment above each op names its layout.
 *   - A context is used by one thread at a time (it owns one stream and one error slot).
 *   - Ops are asynchronous on the cuda backend (queued on the context's stream);
 *     uc_synchronize waits. On the cpu backend they complete before returning.
 */
#ifndef UNCLIP_H
#define UNCLIP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define UC_API __declspec(dllexport)
#else
#define UC_API __attribute__((visibility("default")))
#endif

/* The ABI version; bump on any incompatible change. Java refuses a library whose
 * version differs from the one its bindings were written for. */
#define UC_ABI_VERSION 1

typedef enum uc_status {
    UC_OK = 0,
    UC_ERR_INVALID_ARGUMENT = 1, /* null pointer, negative or mismatched size, bad enum     */
    UC_ERR_UNSUPPORTED = 2,      /* valid request this backend does not implement (dtype…)  */
    UC_ERR_OUT_OF_MEMORY = 3,    /* host or device allocation failed                        */
    UC_ERR_DEVICE = 4,           /* CUDA runtime/driver error, "no CUDA device" included    */
    UC_ERR_ARCH_MISMATCH = 5,    /* the GPU's architecture has no code in this library      */
    UC_ERR_CANCELLED = 6,        /* uc_context_cancel was called while the op was running   */
    UC_ERR_INTERNAL = 7          /* a bug in unclip4j: please report the message            */
} uc_status;

typedef enum uc_dtype {
    UC_F32 = 0,
    UC_F16 = 1,
    UC_BF16 = 2
} uc_dtype;

/* Activation applied by uc_activate and by op epilogues (uc_linear). */
typedef enum uc_activation {
    UC_ACT_NONE = 0,
    UC_ACT_SILU = 1,       /* x * sigmoid(x)                                         */
    UC_ACT_GELU_TANH = 2,  /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))       */
    UC_ACT_GELU_ERF = 3,   /* 0.5 x (1 + erf(x / sqrt(2)))  — torch's exact GELU     */
    UC_ACT_QUICK_GELU = 4  /* x * sigmoid(1.702 x)          — OpenAI CLIP's          */
} uc_activation;

typedef enum uc_copy_kind {
    UC_COPY_HOST_TO_DEVICE = 0,
    UC_COPY_DEVICE_TO_HOST = 1,
    UC_COPY_DEVICE_TO_DEVICE = 2
} uc_copy_kind;

typedef struct uc_context uc_context;
typedef struct uc_event uc_event;

/* ---- library and context ---------------------------------------------------------- */

/* UC_ABI_VERSION of this library. */
UC_API int32_t uc_abi_version(void);

/* "cpu" or "cuda": which implementation this library is. */
UC_API const char *uc_backend_name(void);

/* Creates a context on `device` (the CUDA ordinal; must be 0 on cpu). On failure *out
 * still receives a context holding the reason (e.g. "no CUDA device: …") unless the
 * context itself could not be allocated (*out = NULL, UC_ERR_OUT_OF_MEMORY); the
 * caller reads uc_context_last_error and then destroys it.
 * cuda: uc_alloc takes memory from the device's stream-ordered pool, which keeps freed memory
 * for reuse instead of handing it back to the driver at every synchronisation (CUDA's default)
 * and mapping it again at the next allocation. The environment variable
 * UNCLIP_CUDA_POOL_RELEASE_THRESHOLD caps what it keeps across a synchronisation, in bytes with an
 * optional K, M or G suffix ("8G"; "0" is CUDA's default); unset, it keeps all. The pool is the
 * device's, shared by every context on it: each context sets the threshold when it is created.
 * A value that is not a byte count fails creation with UC_ERR_INVALID_ARGUMENT.
 * uc_context_destroy hands the pool's unused memory back to the driver. */
UC_API uc_status uc_context_create(int32_t device, uc_context **out);
UC_API void uc_context_destroy(uc_context *ctx);

/* The message of the last failed call on this context ("" if none). Valid until the
 * next call on the context. */
UC_API const char *uc_context_last_error(const uc_context *ctx);

/* A one-line description of the device (name, compute capability, memory), or the
 * host CPU for the cpu backend. Written into buf (NUL-terminated, truncated to cap). */
UC_API uc_status uc_device_describe(uc_context *ctx, char *buf, int64_t cap);

/* Asks long-running work on this context to stop; ops that notice return
 * UC_ERR_CANCELLED. Safe to call from another thread. uc_context_reset_cancel clears it. */
UC_API void uc_context_cancel(uc_context *ctx);
UC_API void uc_context_reset_cancel(uc_context *ctx);

/* How many CPU threads the ops of this context use: threads >= 1, or 0 for OpenMP's default
 * (OMP_NUM_THREADS, else one per core). cpu: applies to every later call on the context, from
 * whichever thread it comes. cuda: accepted and without effect (the ops run on the GPU). */
UC_API uc_status uc_context_set_threads(uc_context *ctx, int32_t threads);

/* Declares w — a uc_linear weight [n, k], or a uc_conv2d weight [Cout, KH, KW, Cin] as
 * n = Cout, k = KH·KW·Cin — a constant that later uc_linear / uc_conv2d calls pass by this same
 * pointer. cpu: packs it once into the GEMM's panel layout (a host copy of w, padded to whole
 * panels) and uses that copy in every such call instead of repacking w. w must not change
 * while it is prepared: uc_weight_forget(w), or uc_free of the block that holds it, ends that.
 * Preparing it again with the same shape is a no-op. cuda: accepted and without effect (its
 * GEMMs read w as it is). */
UC_API uc_status uc_weight_prepare(uc_context *ctx, uc_dtype dtype, const void *w, int64_t n, int64_t k);
UC_API uc_status uc_weight_forget(uc_context *ctx, const void *w);

/* Holds a prepared weight once instead of twice. cpu: hands the memory pages that lie wholly
 * inside w's n·k elements back to the system (madvise MADV_DONTNEED) and sets *released = 1
 * (0, and nothing changes, where w spans no whole page); w's contents then live in its
 * prepared copy only. uc_linear and uc_conv2d with w at its
 * prepared shape read that copy, bit for bit as before; any other read of w's memory sees zeros
 * until uc_weight_restore. uc_weight_forget, or preparing w again with another shape after a
 * restore, ends it (forgotten while released, w's contents are unspecified: write them anew).
 * Releasing it again is a no-op. Fails where w is not prepared. cuda: *released = 0, nothing
 * changes (w is the only copy). */
UC_API uc_status uc_weight_release(uc_context *ctx, const void *w, int32_t *released);
/* Writes a released weight's contents back into w's memory from its prepared copy; w stays
 * prepared. A no-op where w is not released (cuda: always). */
UC_API uc_status uc_weight_restore(uc_context *ctx, const void *w);

/* ---- memory --------------------------------------------------------------------------- */

/* Backend memory: host memory aligned to 64 bytes (cpu), device memory (cuda). */
UC_API uc_status uc_alloc(uc_context *ctx, int64_t bytes, void **out);
UC_API uc_status uc_free(uc_context *ctx, void *ptr);
/* Copies bytes; on cpu every kind is a memcpy. Ordered on the context's stream. */
UC_API uc_status uc_memcpy(uc_context *ctx, void *dst, const void *src, int64_t bytes,
                           uc_copy_kind kind);
UC_API uc_status uc_memset(uc_context *ctx, void *dst, int32_t byte_value, int64_t bytes);
/* Waits until all work queued on the context has finished; reports asynchronous errors. */
UC_API uc_status uc_synchronize(uc_context *ctx);

/* ---- events: timing work on the context's stream --------------------------------------- */

/* An event marks a point in the context's stream (cuda: a cudaEvent; cpu: the time it was
 * recorded, since cpu ops finish before returning). Timing kernels with events measures the
 * GPU's time, without the host's launch and synchronisation overhead. */
UC_API uc_status uc_event_create(uc_context *ctx, uc_event **out);
UC_API uc_status uc_event_destroy(uc_context *ctx, uc_event *event);
UC_API uc_status uc_event_record(uc_context *ctx, uc_event *event);
/* Milliseconds between two recorded events; waits until `end` has completed. */
UC_API uc_status uc_event_elapsed_ms(uc_context *ctx, uc_event *start, uc_event *end, float *ms);

/* ---- ops: elementwise ------------------------------------------------------------------ */

/* out[i] = a[i] + b[i % nb]           a, out: [n]; b: [nb], nb divides n (nb == n: same
 * shape; nb == C: a per-channel bias broadcast over the rows of an [n/C, C] tensor).
 * out may alias a (an in-place add); it must not alias b. */
UC_API uc_status uc_add(uc_context *ctx, uc_dtype dtype, const void *a, const void *b,
                        void *out, int64_t n, int64_t nb);

/* out[i] = a[i] * b[i % nb]           same shapes, broadcast and aliasing rules as uc_add. */
UC_API uc_status uc_mul(uc_context *ctx, uc_dtype dtype, const void *a, const void *b,
                        void *out, int64_t n, int64_t nb);

/* out[i] = act(x[i])                  x, out: [n]; act != UC_ACT_NONE. out may alias x. */
UC_API uc_status uc_activate(uc_context *ctx, uc_activation act, uc_dtype dtype,
                             const void *x, void *out, int64_t n);

/* dst[r·dst_stride + c] = src[r·src_stride + c]  for r < rows, c < cols — a strided copy of a
 * [rows, cols] block (cudaMemcpy2D in elements). What a concatenation or a slice along the last
 * dim is in a row-major layout: the U-Net's skip connections (torch.cat(dim=1) of NCHW is the
 * channel axis, the last of NHWC), the prior's token sequence, a column slice of a GEMM's output.
 * Strides >= cols. The two blocks must not overlap. */
UC_API uc_status uc_copy_2d(uc_context *ctx, uc_dtype dtype, const void *src, int64_t src_stride, void *dst,
                            int64_t dst_stride, int64_t rows, int64_t cols);

/* ---- ops: matrix ----------------------------------------------------------------------- */

/* out = act(x · wᵀ + bias) + residual — a linear layer with its epilogue fused.
 *   x: [m, k], w: [n, k] (PyTorch nn.Linear layout, loaded as is), bias: [n] or NULL,
 *   residual: [m, n] or NULL (may alias out), out: [m, n]. Accumulates in float32.
 *   cuda: n up to 65,535 tiles of 64 (4,194,240); m up to 2^31 - 1 tiles (UC_ERR_UNSUPPORTED beyond). */
UC_API uc_status uc_linear(uc_context *ctx, uc_dtype dtype, const void *x, const void *w,
                           const void *bias, const void *residual, void *out,
                           int64_t m, int64_t n, int64_t k, uc_activation act);

/* ---- ops: transformer (attention, layer norm, softmax, embeddings) ----------------------- */

/* Layout of attention operands (docs/kernels-transformer.md):
 *   q: [B, Lq, H, D], k/v: [B, Lk, H, D], each token's H·D values at a row stride (in
 *   elements) of their own: a fused QKV projection's output [B, L, 3, H, D] is read in place
 *   as q = base, k = base + H·D, v = base + 2·H·D with every stride = 3·H·D; separate
 *   projections use stride H·D. Within a row the heads are contiguous (h·D + d).
 *   out: [B, Lq, H, D], dense (stride H·D), ready for the output projection.
 *   mask: [B, Lk] in the op's dtype, nonzero = attend, 0 = ignore this key (a key-padding
 *   mask, e.g. diffusers' attention_mask before it is turned into -10000 biases), or NULL.
 *   A query row with no key left to attend to gets zeros (diffusers' -10000 bias would give
 *   the mean of the masked values instead; no unCLIP caller has such a row).
 *   head_dim D: 1 to 128. Softmax statistics and accumulation are float32; the score matrix
 *   is never written to memory (flash-style online softmax). */

/* out = softmax(scale · q·kᵀ + masks) · v per batch and head.
 *   causal != 0: query i attends keys j <= i only (top-left aligned, as PyTorch's is_causal);
 *   mask: key-padding mask [B, Lk] or NULL. Lq >= 0, Lk >= 1. */
UC_API uc_status uc_attention(uc_context *ctx, uc_dtype dtype,
                              const void *q, int64_t q_stride,
                              const void *k, int64_t k_stride,
                              const void *v, int64_t v_stride,
                              const void *mask, void *out,
                              int64_t batch, int64_t lq, int64_t lk, int64_t heads, int64_t head_dim,
                              float scale, int32_t causal);

/* Added-KV attention, as diffusers' AttnAddedKVProcessor (the decoder U-Net's attention):
 * the keys/values are the projected text tokens (add_k_proj/add_v_proj: k_text, v_text,
 * [B, Lt, H, D]) FOLLOWED by the spatial tokens' own (to_k/to_v: k_self, v_self,
 * [B, Ls, H, D]), read from the two sources in place (no concatenated copy). text_mask
 * [B, Lt] (or NULL) masks text keys only; the spatial keys are always attended. No causal
 * mask. Lt >= 0, Ls >= 0, Lt + Ls >= 1. Strides as for uc_attention (text_stride for k_text
 * and v_text, self_stride for k_self and v_self). */
UC_API uc_status uc_attention_added_kv(uc_context *ctx, uc_dtype dtype,
                                       const void *q, int64_t q_stride,
                                       const void *k_text, const void *v_text, int64_t text_stride,
                                       const void *text_mask, int64_t lt,
                                       const void *k_self, const void *v_self, int64_t self_stride,
                                       int64_t ls, void *out,
                                       int64_t batch, int64_t lq, int64_t heads, int64_t head_dim,
                                       float scale);

/* out[r, :] = (x[r, :] - mean) / sqrt(var + eps) · gamma + beta over the last dim.
 *   x, out: [rows, c]; gamma, beta: [c] (either may be NULL: 1 and 0). Biased variance,
 *   float32 statistics (two passes: mean, then the centred sum of squares). out may alias x. */
UC_API uc_status uc_layer_norm(uc_context *ctx, uc_dtype dtype, const void *x, const void *gamma,
                               const void *beta, void *out, int64_t rows, int64_t c, float eps);

/* out[r, :] = softmax(x[r, :]) over the last dim.   x, out: [rows, n], n >= 1. out may alias x. */
UC_API uc_status uc_softmax(uc_context *ctx, uc_dtype dtype, const void *x, void *out, int64_t rows,
                            int64_t n);

/* Sinusoidal timestep embedding, diffusers' get_timestep_embedding:
 *   timesteps: [n] FLOAT32 whatever dtype is (a bf16 timestep of 999 would round to 1000);
 *   out: [n, dim] in dtype. half = dim / 2, out = [sin(arg_i), cos(arg_i)], or [cos, sin] when
 *   flip_sin_to_cos != 0; an odd dim gets a zero last column. dim >= 2, half > shift.
 *   arg_i = t · exp(float(−ln max_period) · i / (half − shift)) with every operation in float32,
 *   as torch computes it (the argument's float32 rounding at t ≈ 1000 is part of diffusers'
 *   output); sine and cosine in double, rounded once. */
UC_API uc_status uc_timestep_embedding(uc_context *ctx, uc_dtype dtype, const float *timesteps,
                                       void *out, int64_t n, int64_t dim, int32_t flip_sin_to_cos,
                                       float downscale_freq_shift, float max_period);

/* out[i, :] = table[ids[i], :]   table: [vocab, dim] in dtype; ids: [n] int32 in backend
 *   memory; out: [n, dim]. The cpu backend fails on an id outside [0, vocab); the cuda
 *   backend cannot report from the device and writes a zero row for one (the Java layer
 *   checks ids before they reach either). */
UC_API uc_status uc_embedding(uc_context *ctx, uc_dtype dtype, const void *table, const int32_t *ids,
                              void *out, int64_t n, int64_t vocab, int64_t dim);

/* ---- ops: convolution stack (group norm, conv2d, resblock, resize) ----------------------- */

/* Group normalisation with its ResBlock epilogue fused, one read and one write of x:
 *   out[b,p,ch] = act( ((x[b,p,ch] - mean[b,g]) * rstd[b,g] * gamma[ch] + beta[ch])
 *                      * (1 + scale_shift[b,ch]) + scale_shift[b,C+ch] )
 * with g = ch / (C / groups), mean and variance (biased, as torch) over the HW·C/groups values
 * of group g of image b, rstd = 1/sqrt(var + eps), all statistics in float32 (double on cpu).
 *   x, out: [N, HW, C] (NHWC, H and W flattened); gamma, beta: [C] or NULL (identity);
 *   scale_shift: [N, 2C] or NULL — diffusers' AdaGN "scale_shift" time embedding, the output
 *   of time_emb_proj as is (scale = first C, shift = last C); groups divides C; eps > 0;
 *   act: UC_ACT_NONE or any activation (UC_ACT_SILU in the ResBlock). out may alias x. */
UC_API uc_status uc_group_norm(uc_context *ctx, uc_dtype dtype, const void *x, const void *gamma,
                               const void *beta, const void *scale_shift, void *out, int64_t n,
                               int64_t hw, int64_t c, int64_t groups, float eps, uc_activation act);

/* 2-D convolution, NHWC, with its epilogue fused:
 *   out = (conv(x, w) + bias + residual) / output_scale_factor
 * (diffusers ResnetBlock2D: (input_tensor + conv2(h)) / output_scale_factor).
 *   x: [N, H, W, Cin]; w: [Cout, KH, KW, Cin] ("OHWI": convert the checkpoint's [out, in, kh, kw]
 *   once at load, see uc_conv2d_weight_ohwi); bias: [Cout] or NULL; residual: [N, OH, OW, Cout] or
 *   NULL (must not alias x; may alias out); out: [N, OH, OW, Cout] with
 *   OH = (H + 2·pad - KH) / stride + 1, OW likewise; zero padding; output_scale_factor > 0.
 *   Accumulates in float32. cuda: Cout up to 4,194,240 and N·OH·OW up to (2^31 - 1)·64, as uc_linear. */
UC_API uc_status uc_conv2d(uc_context *ctx, uc_dtype dtype, const void *x, const void *w,
                           const void *bias, const void *residual, void *out, int64_t n,
                           int64_t h, int64_t w_in, int64_t cin, int64_t cout, int64_t kh,
                           int64_t kw, int64_t stride, int64_t pad, float output_scale_factor);

/* Weight layout conversion for uc_conv2d, done once at load:
 *   out[o, y, x, i] = w[o, i, y, x]     w: [Cout, Cin, KH, KW] (PyTorch), out: [Cout, KH, KW, Cin].
 * out must not alias w. */
UC_API uc_status uc_conv2d_weight_ohwi(uc_context *ctx, uc_dtype dtype, const void *w, void *out,
                                       int64_t cout, int64_t cin, int64_t kh, int64_t kw);

/* Nearest-neighbour 2× upsample (torch F.interpolate(scale_factor=2, mode="nearest")):
 *   out[b, y, x, ch] = x[b, y/2, x/2, ch]     x: [N, H, W, C], out: [N, 2H, 2W, C]. */
UC_API uc_status uc_upsample_nearest2x(uc_context *ctx, uc_dtype dtype, const void *x, void *out,
                                       int64_t n, int64_t h, int64_t w, int64_t c);

/* 2×2 average pool, stride 2 (torch F.avg_pool2d(kernel_size=2, stride=2); an odd last row or
 * column is dropped, as torch floors):
 *   out[b, y, x, ch] = mean of x[b, 2y..2y+1, 2x..2x+1, ch]
 *   x: [N, H, W, C], out: [N, H/2, W/2, C]. */
UC_API uc_status uc_avg_pool2x2(uc_context *ctx, uc_dtype dtype, const void *x, void *out,
                                int64_t n, int64_t h, int64_t w, int64_t c);

/* Antialiased bicubic resize, exactly torch F.interpolate(size=(OH, OW), mode="bicubic",
 * align_corners=False, antialias=True): separable, Keys cubic with a = -0.5 (PIL's), the filter
 * stretched by the downscale factor, taps outside the image dropped and the rest renormalised
 * (torch aten/src/ATen/native/cpu/UpSampleKernel.cpp, _compute_weights_aa). Also for upscaling,
 * where it is NOT torch's plain bicubic (a = -0.75, clamped borders).
 *   x: [N, H, W, C], out: [N, OH, OW, C]. out must not alias x. */
UC_API uc_status uc_resize_bicubic_aa(uc_context *ctx, uc_dtype dtype, const void *x, void *out,
                                      int64_t n, int64_t h, int64_t w, int64_t c, int64_t oh,
                                      int64_t ow);

#ifdef __cplusplus
}
#endif

#endif /* UNCLIP_H */
