// Internal helpers shared by the cpu (native/src) and cuda (cuda/) implementations of
// unclip.h: the error slot every context carries, the exception boundary every extern "C"
// function goes through, and the argument checks every op makes on both backends.
#pragma once

#include "unclip.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <exception>
#include <new>
#include <string>

// The part of a context both backends share. Each backend derives its uc_context from it.
struct uc_context_base {
    std::string last_error;
    std::atomic<bool> cancel_requested{false};
};

namespace uc {

// Records a failure in the context and returns its status, printf-style.
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
inline uc_status fail(uc_context_base *ctx, uc_status status, const char *fmt, ...) {
    if (ctx != nullptr) {
        char buf[1024];
        va_list args;
        va_start(args, fmt);
        std::vsnprintf(buf, sizeof buf, fmt, args);
        va_end(args);
        ctx->last_error = buf;
    }
    return status;
}

// Runs an op body, turning any C++ exception into a status: nothing crosses the C ABI.
template <class Body>
uc_status guarded(uc_context_base *ctx, Body &&body) noexcept {
    if (ctx == nullptr) return UC_ERR_INVALID_ARGUMENT;  // nowhere to put a message
    ctx->last_error.clear();
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return fail(ctx, UC_ERR_OUT_OF_MEMORY, "out of host memory");
    } catch (const std::exception &e) {
        return fail(ctx, UC_ERR_INTERNAL, "internal error: %s", e.what());
    } catch (...) {
        return fail(ctx, UC_ERR_INTERNAL, "internal error: unknown exception");
    }
}

inline const char *dtype_name(uc_dtype dtype) {
    switch (dtype) {
        case UC_F32: return "f32";
        case UC_F16: return "f16";
        case UC_BF16: return "bf16";
    }
    return "unknown dtype";
}

inline bool valid_dtype(uc_dtype dtype) {
    return dtype == UC_F32 || dtype == UC_F16 || dtype == UC_BF16;
}

inline bool valid_activation(uc_activation act) {
    return act >= UC_ACT_NONE && act <= UC_ACT_QUICK_GELU;
}

// ---- argument checks, identical on both backends ----------------------------------------
// Each returns UC_OK or records what is wrong, naming the argument.

inline uc_status check_elementwise(uc_context_base *ctx, uc_dtype dtype, const void *a,
                                   const void *b, const void *out, int64_t n, int64_t nb) {
    if (!valid_dtype(dtype)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (n < 0) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "n = %lld must be >= 0", (long long)n);
    if (nb <= 0) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "nb = %lld must be > 0", (long long)nb);
    if (n % nb != 0)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "nb = %lld does not divide n = %lld",
                    (long long)nb, (long long)n);
    if (n > 0 && (a == nullptr || b == nullptr || out == nullptr))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (a=%p b=%p out=%p)", a, b, out);
    return UC_OK;
}

inline uc_status check_activate(uc_context_base *ctx, uc_activation act, uc_dtype dtype,
                                const void *x, const void *out, int64_t n) {
    if (!valid_dtype(dtype)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (!valid_activation(act) || act == UC_ACT_NONE)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "activation %d is not one of silu, gelu_tanh, gelu_erf, quick_gelu", (int)act);
    if (n < 0) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "n = %lld must be >= 0", (long long)n);
    if (n > 0 && (x == nullptr || out == nullptr))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (x=%p out=%p)", x, out);
    return UC_OK;
}

inline uc_status check_linear(uc_context_base *ctx, uc_dtype dtype, const void *x, const void *w,
                              const void *out, int64_t m, int64_t n, int64_t k, uc_activation act) {
    if (!valid_dtype(dtype)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (!valid_activation(act)) return fail(ctx, UC_ERR_INVALID_ARGUMENT, "unknown activation %d", (int)act);
    if (m < 0 || n < 0 || k < 0)
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "sizes m=%lld n=%lld k=%lld must be >= 0",
                    (long long)m, (long long)n, (long long)k);
    if (m > 0 && n > 0 && (out == nullptr || (k > 0 && (x == nullptr || w == nullptr))))
        return fail(ctx, UC_ERR_INVALID_ARGUMENT, "null pointer (x=%p w=%p out=%p)", x, w, out);
    return UC_OK;
}

}  // namespace uc
