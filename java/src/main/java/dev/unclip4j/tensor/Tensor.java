package dev.unclip4j.tensor;

import dev.unclip4j.bindings.Context;
import dev.unclip4j.bindings.Context.CopyKind;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.UnclipException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A dense row-major tensor in one backend's memory: shape, dtype, and an address. Created by
 * {@link Backend#allocate} (owns its memory: close it), by a {@link Workspace} (valid until the
 * workspace's next reset), or by {@link #view} (shares its parent's memory).
 *
 * <p>Activations are NHWC (DESIGN.md). Host access ({@link #copyFrom(float[])},
 * {@link #toFloatArray()}) converts to and from float32 whatever the dtype.
 */
public final class Tensor implements AutoCloseable {
    private final Storage storage;
    private final long offsetBytes;
    private final long[] shape;
    private final DType dtype;
    private final boolean ownsStorage;
    private volatile boolean closed;
    private volatile boolean constant;  // markConstant: its contents no longer change
    private volatile boolean prepared;  // its backend holds a prepared copy (uc_weight_prepare)

    Tensor(Storage storage, long offsetBytes, long[] shape, DType dtype, boolean ownsStorage) {
        this.storage = storage;
        this.offsetBytes = offsetBytes;
        this.shape = shape.clone();
        this.dtype = dtype;
        this.ownsStorage = ownsStorage;
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw UnclipException.invalidArgument("tensor", "negative dimension in shape " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

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
        return numel(shape);
    }

    public DType dtype() {
        return dtype;
    }

    public long byteSize() {
        return numel() * dtype.byteSize();
    }

    public Backend backend() {
        return storage.backend();
    }

    public boolean isClosed() {
        return closed || !storage.isLive();
    }

    /**
     * The address in backend memory, for a native call; fails on a closed tensor. A weight whose
     * memory was released to the backend's prepared copy ({@link #prepareAsWeight}) gets its
     * contents back there first, since the caller may read them.
     */
    public MemorySegment address() {
        checkLive();
        storage.restoreWeight();
        return MemorySegment.ofAddress(storage.base().address() + offsetBytes);
    }

    /**
     * The address of this tensor as the w of linear or conv2d, after {@link #prepareAsWeight}:
     * those read the backend's prepared copy, so a released weight stays released.
     */
    MemorySegment weightAddress() {
        if (!(prepared && ownsStorage && storage.isWeightReleased())) return address();
        checkLive();
        return MemorySegment.ofAddress(storage.base().address() + offsetBytes);
    }

    private void checkLive() {
        if (closed) throw UnclipException.invalidArgument("tensor", "the tensor " + this + " is closed");
        if (!storage.isLive()) {
            throw UnclipException.invalidArgument("tensor", "the tensor " + this
                    + " is no longer valid: its memory was freed or its workspace was reset");
        }
    }

    /**
     * A tensor of {@code shape} over this one's memory from element {@code offset} on; it does
     * not own the memory and becomes invalid with its parent.
     */
    public Tensor view(long offset, long... shape) {
        long n = numel(shape);
        if (offset < 0 || offset + n > numel()) {
            throw UnclipException.invalidArgument("view", "elements [" + offset + ", " + (offset + n)
                    + ") are outside a tensor of " + numel());
        }
        address();  // fails on a closed parent
        return new Tensor(storage, offsetBytes + offset * dtype.byteSize(), shape, dtype, false);
    }

    /** The same memory with another shape of the same element count. */
    public Tensor reshape(long... shape) {
        if (numel(shape) != numel()) {
            throw UnclipException.invalidArgument("reshape", "cannot reshape " + Arrays.toString(this.shape)
                    + " to " + Arrays.toString(shape));
        }
        return view(0, shape);
    }

    /**
     * Declares this tensor's contents fixed from now on — a model weight — so that its backend may
     * keep a copy prepared for linear and conv2d (the CPU packs it once for its GEMM instead of
     * at every call). Only ops that read it may follow; {@link #copyFrom} drops the prepared copy.
     */
    public Tensor markConstant() {
        constant = true;
        return this;
    }

    public boolean isConstant() {
        return constant;
    }

    /**
     * Prepares a constant tensor, as w [n, k] of linear or conv2d, the first time it is used so;
     * a tensor that owns its memory then releases it to the prepared copy (uc_weight_release: the
     * CPU holds each weight once, packed, instead of twice). Anything but linear / conv2d that
     * later reads it goes through {@link #address()}, which restores it.
     */
    void prepareAsWeight(long n, long k) {
        if (!constant || prepared) return;
        Context context = storage.backend().context();
        context.prepareWeight(dtype, address(), n, k);
        prepared = true;
        if (ownsStorage && numel() > 0 && byteSize() == storage.bytes() && context.releaseWeight(address())) {
            storage.markWeightReleased();
        }
    }

    private void forgetPrepared() {
        if (!prepared) return;
        prepared = false;
        if (storage.isLive() && !storage.backend().context().isClosed()) {
            storage.backend().context().forgetWeight(MemorySegment.ofAddress(storage.base().address() + offsetBytes));
        }
        if (ownsStorage) storage.forgetWeightReleased();
    }

    /** Copies host floats in, converting to this tensor's dtype. */
    public Tensor copyFrom(float[] values) {
        if (values.length != numel()) {
            throw UnclipException.invalidArgument("copyFrom", values.length + " values for a tensor of " + numel());
        }
        forgetPrepared();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(byteSize(), 64);
            HostCodec.encode(values, dtype, host);
            storage.backend().context().memcpy(address(), host, byteSize(), CopyKind.HOST_TO_DEVICE);
        }
        return this;
    }

    /** Copies the tensor out to host floats (waits for queued work on cuda). */
    public float[] toFloatArray() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(byteSize(), 64);
            storage.backend().context().memcpy(host, address(), byteSize(), CopyKind.DEVICE_TO_HOST);
            return HostCodec.decode(host, dtype, Math.toIntExact(numel()));
        }
    }

    /** The raw bytes of the tensor (for guard-region checks and serialisation). */
    public byte[] toByteArray() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(Math.max(1, byteSize()), 64);
            storage.backend().context().memcpy(host, address(), byteSize(), CopyKind.DEVICE_TO_HOST);
            return host.asSlice(0, byteSize()).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** Fills every byte with {@code value}. */
    public Tensor fillBytes(int value) {
        storage.backend().context().memset(address(), value, byteSize());
        return this;
    }

    @Override
    public void close() {
        if (closed) return;
        forgetPrepared();
        closed = true;
        if (ownsStorage) storage.release();
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype + " on " + storage.backend().name();
    }
}
