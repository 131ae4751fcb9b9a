package dev.unclip4j.clip;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.io.Checkpoint;
import dev.unclip4j.io.TensorEntry;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * One model weight in the role a layer reads it in: its host bytes (a slice of the mapped file,
 * or for the few tensors a layout stores transposed, a float32 copy made once at load) and its
 * shape. {@code entry().name()} says where it came from, e.g.
 * {@code transformer.resblocks.0.attn.in_proj_weight[64:128]} or {@code text_projection.T}.
 *
 * <p>A weight sliced from the mapping is valid while its {@link Checkpoint} is open; upload it
 * (or copy its floats) before closing the checkpoint.
 */
public record Weight(TensorEntry entry, MemorySegment data) {
    public long[] shape() {
        return entry.shape();
    }

    public String source() {
        return entry.name();
    }

    public float[] floats() {
        return Checkpoint.toFloats(entry, data);
    }

    /** A new backend tensor of this weight (close it). */
    public Tensor upload(Backend backend, DType dtype) {
        return Checkpoint.upload(entry, data, backend, dtype);
    }

    @Override
    public String toString() {
        return entry.toString();
    }
}
