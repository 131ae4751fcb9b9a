package dev.unclip4j.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A block of backend memory that tensors point into: either owned by one tensor (freed when it
 * closes) or one generation of a {@link Workspace} (dead after the workspace's next reset).
 */
final class Storage {
    private final Backend backend;
    private final MemorySegment base;
    private final long bytes;
    private final boolean freeOnRelease;
    private volatile boolean released;
    // The block is a weight whose contents the backend holds only in its prepared copy
    // (uc_weight_release): the memory itself reads as zeros until restoreWeight.
    private volatile boolean weightReleased;

    Storage(Backend backend, MemorySegment base, long bytes, boolean freeOnRelease) {
        this.backend = backend;
        this.base = base;
        this.bytes = bytes;
        this.freeOnRelease = freeOnRelease;
    }

    Backend backend() {
        return backend;
    }

    long bytes() {
        return bytes;
    }

    boolean isLive() {
        return !released;
    }

    MemorySegment base() {
        return base;
    }

    boolean isWeightReleased() {
        return weightReleased;
    }

    void markWeightReleased() {
        weightReleased = true;
    }

    /** Its contents back in the memory, from the backend's prepared copy, before anything reads them there. */
    void restoreWeight() {
        if (!weightReleased) return;  // every tensor address passes here: no lock on the common path
        synchronized (this) {
            if (!weightReleased) return;
            backend.context().restoreWeight(base);
            weightReleased = false;
        }
    }

    /** The prepared copy is gone (forgotten): the memory's contents are whatever it holds, to be written anew. */
    void forgetWeightReleased() {
        weightReleased = false;
    }

    void release() {
        if (released) return;
        released = true;
        // After its backend is closed the memory can no longer be freed through it: closing a
        // tensor then is harmless but leaks it (close tensors before their backend).
        if (freeOnRelease && !backend.context().isClosed()) backend.context().free(base);
    }
}
