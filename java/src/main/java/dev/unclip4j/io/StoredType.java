package dev.unclip4j.io;

import dev.unclip4j.bindings.DType;

/**
 * The element types a safetensors file may hold that unclip4j reads: the three float storage
 * types of the kernels, I64 (index buffers such as {@code position_ids}) and U8 (8-bit images, as
 * the pipeline fixtures record them). Any other type in a header is rejected with the file and
 * tensor named.
 */
public enum StoredType {
    F32(4, DType.F32),
    F16(2, DType.F16),
    BF16(2, DType.BF16),
    I64(8, null),
    U8(1, null);

    private final int byteSize;
    private final DType floatType;

    StoredType(int byteSize, DType floatType) {
        this.byteSize = byteSize;
        this.floatType = floatType;
    }

    public int byteSize() {
        return byteSize;
    }

    /** The kernel dtype with the same bits, or null for the integer types. */
    public DType floatType() {
        return floatType;
    }

    public boolean isFloat() {
        return floatType != null;
    }

    /** The safetensors name ("F32", "BF16", ...), or null when unclip4j does not read it. */
    static StoredType parse(String name) {
        try {
            return valueOf(name);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
