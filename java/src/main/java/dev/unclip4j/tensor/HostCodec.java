package dev.unclip4j.tensor;

import dev.unclip4j.bindings.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** float32 to and from the storage types, on the host, rounding to nearest even as CUDA does. */
public final class HostCodec {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private HostCodec() {}

    static void encode(float[] values, DType dtype, MemorySegment out) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(values, 0, out, F32, 0, values.length);
            case F16 -> {
                for (int i = 0; i < values.length; i++) out.setAtIndex(U16, i, Float.floatToFloat16(values[i]));
            }
            case BF16 -> {
                for (int i = 0; i < values.length; i++) out.setAtIndex(U16, i, floatToBf16(values[i]));
            }
        }
    }

    static float[] decode(MemorySegment in, DType dtype, int n) {
        float[] values = new float[n];
        switch (dtype) {
            case F32 -> MemorySegment.copy(in, F32, 0, values, 0, n);
            case F16 -> {
                for (int i = 0; i < n; i++) values[i] = Float.float16ToFloat(in.getAtIndex(U16, i));
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) values[i] = bf16ToFloat(in.getAtIndex(U16, i));
            }
        }
        return values;
    }

    /** Rounds to the nearest bf16 (ties to even), NaN kept NaN. */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    public static float bf16ToFloat(short value) {
        return Float.intBitsToFloat((value & 0xFFFF) << 16);
    }

    /** The value {@code v} takes once stored as {@code dtype} and read back. */
    public static float round(float v, DType dtype) {
        return switch (dtype) {
            case F32 -> v;
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(v));
            case BF16 -> bf16ToFloat(floatToBf16(v));
        };
    }
}
