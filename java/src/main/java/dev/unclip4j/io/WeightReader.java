package dev.unclip4j.io;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads one model component's weights by the checkpoint's own key names, checks each shape
 * against what the config implies, and uploads it to a backend. A missing tensor, a tensor of
 * the wrong shape and (at {@link #finish}) a tensor nobody asked for are errors naming the
 * component and the tensor.
 *
 * <p>Ownership: every tensor read is tracked here; {@link #finish} hands them to the model (which
 * closes them), and {@link #close} without {@code finish} frees them, so a constructor that
 * fails half-way leaks nothing:
 *
 * <pre>
 * try (WeightReader r = new WeightReader("prior", ckpt, backend, dtype)) {
 *     this.projIn = r.get("proj_in.weight", inner, embeddingDim);
 *     ...
 *     this.owned = r.finish();
 * }
 * </pre>
 */
public final class WeightReader implements AutoCloseable {
    private final String component;
    private final Checkpoint checkpoint;
    private final Backend backend;
    private final DType dtype;
    private final List<Tensor> uploaded = new ArrayList<>();
    private boolean finished;

    public WeightReader(String component, Checkpoint checkpoint, Backend backend, DType dtype) {
        this.component = component;
        this.checkpoint = checkpoint;
        this.backend = backend;
        this.dtype = dtype;
    }

    public Backend backend() {
        return backend;
    }

    public DType dtype() {
        return dtype;
    }

    public boolean has(String name) {
        return checkpoint.contains(name);
    }

    /** Tensor {@code name}, which must have {@code shape}, on the backend. */
    public Tensor get(String name, long... shape) {
        if (!checkpoint.contains(name)) {
            throw new WeightFormatException(component + ": missing tensor '" + name + "' (expected "
                    + Arrays.toString(shape) + ") in " + checkpoint.source());
        }
        checkShape(name, shape);
        return track(checkpoint.upload(name, backend, dtype));
    }

    /** As {@link #get}, or null when the checkpoint has no {@code name}. */
    public Tensor optional(String name, long... shape) {
        return checkpoint.contains(name) ? get(name, shape) : null;
    }

    /**
     * A convolution weight stored as PyTorch's [Cout, Cin, KH, KW], converted once to uc_conv2d's
     * [Cout, KH, KW, Cin] (the stored layout is freed at once).
     */
    public Tensor conv(String name, long cout, long cin, long kh, long kw) {
        Tensor oihw = get(name, cout, cin, kh, kw);
        Tensor ohwi = track(backend.allocate(dtype, cout, kh, kw, cin));
        backend.conv2dWeightOhwi(oihw, ohwi);
        release(oihw);
        return ohwi;
    }

    /** Tensor {@code name}, which must have {@code shape}, as host floats. */
    public float[] floats(String name, long... shape) {
        if (!checkpoint.contains(name)) {
            throw new WeightFormatException(component + ": missing tensor '" + name + "' (expected "
                    + Arrays.toString(shape) + ") in " + checkpoint.source());
        }
        checkShape(name, shape);
        return checkpoint.floats(name);
    }

    /**
     * A tensor the model made itself from weights (e.g. permuted rows), owned like the rest and,
     * like them, constant ({@link Tensor#markConstant}).
     */
    public Tensor track(Tensor t) {
        uploaded.add(t);
        return t.markConstant();
    }

    /** Frees a tensor read here that the model no longer needs (e.g. after a layer copied it). */
    public void release(Tensor t) {
        if (uploaded.remove(t)) t.close();
    }

    private void checkShape(String name, long... shape) {
        long[] found = checkpoint.entry(name).shape();
        if (!Arrays.equals(found, shape)) {
            throw new WeightFormatException(component + ": tensor '" + name + "' is " + Arrays.toString(found)
                    + ", expected " + Arrays.toString(shape) + " from the config");
        }
    }

    /**
     * Ends loading: fails naming the tensors nobody read (a checkpoint for another configuration),
     * else hands every tensor read to the caller, who closes them.
     */
    public List<Tensor> finish() {
        List<String> unused = checkpoint.unusedNames();
        if (!unused.isEmpty()) {
            throw new WeightFormatException(component + ": unexpected tensor(s) " + (unused.size() > 8
                    ? unused.subList(0, 8) + " and " + (unused.size() - 8) + " more" : unused) + " in "
                    + checkpoint.source() + " (the config does not describe them)");
        }
        finished = true;
        return List.copyOf(uploaded);
    }

    @Override
    public void close() {
        if (!finished) uploaded.forEach(Tensor::close);
        uploaded.clear();
    }
}
