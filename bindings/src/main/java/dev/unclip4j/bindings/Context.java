package dev.unclip4j.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A {@code uc_context}: the device, stream and last-error slot of one library. Used by one
 * thread at a time; {@link #cancel()} alone may be called from any thread.
 *
 * <p>All pointers are {@link MemorySegment}s whose address is in the library's memory (host for
 * cpu, device for cuda); only their address is passed, so a zero-length segment is fine.
 */
public final class Context implements AutoCloseable {
    private final UnclipLibrary library;
    private final MemorySegment handle;
    private final Ops ops;
    private final AtomicBoolean closed = new AtomicBoolean();

    Context(UnclipLibrary library, MemorySegment handle) {
        this.library = library;
        this.handle = handle;
        this.ops = new Ops(this);
    }

    public UnclipLibrary library() {
        return library;
    }

    /** The ops of unclip.h, run on this context. */
    public Ops ops() {
        return ops;
    }

    public boolean isClosed() {
        return closed.get();
    }

    MemorySegment handle() {
        if (closed.get()) throw new UnclipException("context", Status.INVALID_ARGUMENT, "the context is closed");
        return handle;
    }

    /** Turns a non-zero status of {@code op} into an exception carrying the native message. */
    void check(String op, int status) {
        if (status == 0) return;
        String message;
        try {
            message = library.lastError(handle);
        } catch (Throwable t) {
            message = "(no message: " + t + ")";
        }
        throw new UnclipException(op, Status.of(status), message.isEmpty() ? "failed" : message);
    }

    /** What a failed downcall rethrows: runtime exceptions and errors as they are, anything else wrapped. */
    static RuntimeException wrap(String op, Throwable t) {
        if (t instanceof RuntimeException e) return e;
        if (t instanceof Error e) throw e;
        return new UnclipException(op, Status.INTERNAL, t.toString());
    }

    /** One line naming the device (GPU name and capability, or the host CPU). */
    public String describeDevice() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(512);
            check("uc_device_describe", (int) library.deviceDescribe.invokeExact(handle(), buf, 512L));
            return buf.getString(0);
        } catch (Throwable t) {
            throw wrap("uc_device_describe", t);
        }
    }

    /** Backend memory of {@code bytes} bytes (64-byte aligned on cpu), as a zero-length segment. */
    public MemorySegment alloc(long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check("uc_alloc", (int) library.alloc.invokeExact(handle(), bytes, out));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw wrap("uc_alloc", t);
        }
    }

    public void free(MemorySegment pointer) {
        try {
            check("uc_free", (int) library.free.invokeExact(handle(), pointer));
        } catch (Throwable t) {
            throw wrap("uc_free", t);
        }
    }

    public enum CopyKind { HOST_TO_DEVICE, DEVICE_TO_HOST, DEVICE_TO_DEVICE }

    /** Copies bytes; a device-to-host copy has completed when this returns. */
    public void memcpy(MemorySegment dst, MemorySegment src, long bytes, CopyKind kind) {
        try {
            check("uc_memcpy", (int) library.memcpy.invokeExact(handle(), dst, src, bytes, kind.ordinal()));
        } catch (Throwable t) {
            throw wrap("uc_memcpy", t);
        }
    }

    public void memset(MemorySegment dst, int byteValue, long bytes) {
        try {
            check("uc_memset", (int) library.memset.invokeExact(handle(), dst, byteValue, bytes));
        } catch (Throwable t) {
            throw wrap("uc_memset", t);
        }
    }

    /** Waits for all queued work, reporting asynchronous errors. */
    public void synchronize() {
        try {
            check("uc_synchronize", (int) library.synchronize.invokeExact(handle()));
        } catch (Throwable t) {
            throw wrap("uc_synchronize", t);
        }
    }

    /** A new event for timing work on this context's stream; close it. */
    public Event newEvent() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check("uc_event_create", (int) library.eventCreate.invokeExact(handle(), out));
            return new Event(this, out.get(ADDRESS, 0));
        } catch (Throwable t) {
            throw wrap("uc_event_create", t);
        }
    }

    /** Makes running and later ops fail with {@link Status#CANCELLED} until {@link #resetCancel()}. */
    public void cancel() {
        try {
            library.contextCancel.invokeExact(handle());
        } catch (Throwable t) {
            throw wrap("uc_context_cancel", t);
        }
    }

    public void resetCancel() {
        try {
            library.contextResetCancel.invokeExact(handle());
        } catch (Throwable t) {
            throw wrap("uc_context_reset_cancel", t);
        }
    }

    /**
     * The CPU threads this context's ops use, {@code threads} ≥ 1, or 0 for OpenMP's default
     * (OMP_NUM_THREADS, else one per core); no effect on a CUDA context.
     */
    public void setThreads(int threads) {
        try {
            check("uc_context_set_threads", (int) library.contextSetThreads.invokeExact(handle(), threads));
        } catch (Throwable t) {
            throw wrap("uc_context_set_threads", t);
        }
    }

    /**
     * Declares {@code w} (a linear weight [n, k], or a conv weight [Cout, KH, KW, Cin] as n = Cout,
     * k = KH·KW·Cin) a constant of later linear / conv2d calls by this address (uc_weight_prepare):
     * the CPU packs it once for its GEMM. {@code w} must not change until {@link #forgetWeight}
     * or its memory is freed.
     */
    public void prepareWeight(DType dtype, MemorySegment w, long n, long k) {
        try {
            check("uc_weight_prepare", (int) library.weightPrepare.invokeExact(handle(), dtype.code, w, n, k));
        } catch (Throwable t) {
            throw wrap("uc_weight_prepare", t);
        }
    }

    /** Ends {@link #prepareWeight} of {@code w}; nothing happens where it was not prepared. */
    public void forgetWeight(MemorySegment w) {
        try {
            check("uc_weight_forget", (int) library.weightForget.invokeExact(handle(), w));
        } catch (Throwable t) {
            throw wrap("uc_weight_forget", t);
        }
    }

    /**
     * Holds the prepared weight {@code w} once (uc_weight_release): the CPU hands its memory's
     * pages back to the system, and linear / conv2d with {@code w} read the prepared copy; anything
     * else that reads {@code w}'s memory needs {@link #restoreWeight} first. Returns false where the
     * backend keeps nothing besides {@code w} (CUDA), and nothing changed.
     */
    public boolean releaseWeight(MemorySegment w) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment released = arena.allocate(JAVA_INT);
            check("uc_weight_release", (int) library.weightRelease.invokeExact(handle(), w, released));
            return released.get(JAVA_INT, 0) != 0;
        } catch (Throwable t) {
            throw wrap("uc_weight_release", t);
        }
    }

    /** Writes a released weight's contents back into {@code w}'s memory (uc_weight_restore). */
    public void restoreWeight(MemorySegment w) {
        try {
            check("uc_weight_restore", (int) library.weightRestore.invokeExact(handle(), w));
        } catch (Throwable t) {
            throw wrap("uc_weight_restore", t);
        }
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        try {
            library.contextDestroy.invokeExact(handle);
        } catch (Throwable t) {
            throw wrap("uc_context_destroy", t);
        }
    }
}
