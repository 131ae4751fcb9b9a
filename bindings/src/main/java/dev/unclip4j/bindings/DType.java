package dev.unclip4j.bindings;

/** Storage types of {@code uc_dtype}: the cpu backend computes in F32; cuda stores all three. */
public enum DType {
    F32(0, 4),
    F16(1, 2),
    BF16(2, 2);

    final int code;
    private final int byteSize;

    DType(int code, int byteSize) {
        this.code = code;
        this.byteSize = byteSize;
    }

    public int byteSize() {
        return byteSize;
    }
}
