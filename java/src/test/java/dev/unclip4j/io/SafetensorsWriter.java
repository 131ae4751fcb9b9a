package dev.unclip4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small safetensors writer for tests: tensors in insertion order, header padded to 8 bytes as
 * the reference writer does. {@link #rawHeader} writes any header text, for corrupt-file tests.
 */
public final class SafetensorsWriter {
    public record Item(String dtype, long[] shape, byte[] data) {}

    private final Map<String, Item> items = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafetensorsWriter f32(String name, float[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        return put(name, "F32", shape, b.array());
    }

    public SafetensorsWriter f16(String name, float[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putShort(Float.floatToFloat16(v));
        return put(name, "F16", shape, b.array());
    }

    public SafetensorsWriter bf16(String name, float[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putShort(dev.unclip4j.tensor.HostCodec.floatToBf16(v));
        return put(name, "BF16", shape, b.array());
    }

    public SafetensorsWriter i64(String name, long[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) b.putLong(v);
        return put(name, "I64", shape, b.array());
    }

    public SafetensorsWriter put(String name, String dtype, long[] shape, byte[] data) {
        items.put(name, new Item(dtype, shape.clone(), data));
        return this;
    }

    public SafetensorsWriter meta(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** The JSON header this writer would write. */
    public String header() {
        StringBuilder h = new StringBuilder("{");
        List<String> parts = new ArrayList<>();
        if (!metadata.isEmpty()) {
            List<String> m = new ArrayList<>();
            metadata.forEach((k, v) -> m.add(quote(k) + ":" + quote(v)));
            parts.add("\"__metadata__\":{" + String.join(",", m) + "}");
        }
        long offset = 0;
        for (Map.Entry<String, Item> e : items.entrySet()) {
            Item it = e.getValue();
            StringBuilder shape = new StringBuilder("[");
            for (int i = 0; i < it.shape.length; i++) shape.append(i == 0 ? "" : ",").append(it.shape[i]);
            shape.append(']');
            parts.add(quote(e.getKey()) + ":{\"dtype\":" + quote(it.dtype) + ",\"shape\":" + shape
                    + ",\"data_offsets\":[" + offset + "," + (offset + it.data.length) + "]}");
            offset += it.data.length;
        }
        return h.append(String.join(",", parts)).append('}').toString();
    }

    public byte[] data() {
        int n = items.values().stream().mapToInt(i -> i.data.length).sum();
        ByteBuffer b = ByteBuffer.allocate(n);
        items.values().forEach(i -> b.put(i.data));
        return b.array();
    }

    public Path write(Path file) throws IOException {
        return rawHeader(file, header(), data());
    }

    /** Writes {@code header} (padded with spaces to a multiple of 8) and {@code data} as a file. */
    public static Path rawHeader(Path file, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        ByteBuffer b = ByteBuffer.allocate(8 + padded + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(padded).put(h);
        for (int i = h.length; i < padded; i++) b.put((byte) ' ');
        b.put(data);
        Files.write(file, b.array());
        return file;
    }

    private static String quote(String s) {
        return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }
}
