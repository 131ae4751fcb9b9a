package dev.unclip4j.io;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor of a safetensors header: its name, type, shape and byte range inside the data
 * region (the bytes after the 8-byte length and the JSON header) of {@code file}.
 */
public record TensorEntry(String name, StoredType type, long[] shape, long begin, long end, Path file) {
    public TensorEntry {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int axis) {
        return shape[axis < 0 ? shape.length + axis : axis];
    }

    public long numel() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    public long byteSize() {
        return end - begin;
    }

    @Override
    public String toString() {
        return name + " " + type + Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorEntry t && t.name.equals(name) && t.type == type && Arrays.equals(t.shape, shape)
                && t.begin == begin && t.end == end && t.file.equals(file);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }
}
