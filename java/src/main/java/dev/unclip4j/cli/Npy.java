package dev.unclip4j.cli;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** NumPy's .npy format, version 1.0, for float32 arrays: magic, version, header length, a Python dict header, data. */
final class Npy {
    private Npy() {}

    /** The bytes of a little-endian float32 C-order array of {@code shape} holding {@code values}. */
    static byte[] float32(float[] values, int... shape) {
        StringBuilder dims = new StringBuilder();
        for (int d : shape) dims.append(d).append(shape.length == 1 ? "," : ", ");
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims.toString().replaceAll(", $", "") + "), }";
        // magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64 and ended by \n
        int total = 10 + dict.length() + 1;
        int padded = (total + 63) / 64 * 64;
        String header = dict + " ".repeat(padded - total) + "\n";
        ByteBuffer b = ByteBuffer.allocate(padded + 4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        b.putShort((short) header.length()).put(header.getBytes(StandardCharsets.US_ASCII));
        for (float v : values) b.putFloat(v);
        return b.array();
    }
}
