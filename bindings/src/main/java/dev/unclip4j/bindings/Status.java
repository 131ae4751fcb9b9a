package dev.unclip4j.bindings;

/** The status codes of {@code uc_status} in native/include/unclip.h, in the same order. */
public enum Status {
    OK,
    INVALID_ARGUMENT,
    UNSUPPORTED,
    OUT_OF_MEMORY,
    DEVICE_ERROR,
    ARCH_MISMATCH,
    CANCELLED,
    INTERNAL;

    static Status of(int code) {
        Status[] all = values();
        return code >= 0 && code < all.length ? all[code] : INTERNAL;
    }
}
