package dev.unclip4j.tensor;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.UnclipException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Activation memory for one forward pass, reused across passes: tensors are carved from large
 * blocks by a bump pointer and all die together at {@link #reset()}, so a denoising step makes
 * no allocation once the first pass has sized the workspace.
 *
 * <p>A {@link #scope()} gives memory back within a pass: the tensors allocated while it is open
 * die when it closes, and later allocations reuse their memory (scopes nest, innermost closed
 * first). A layer allocates its output, then opens a scope for its temporaries, so that a pass
 * holds the layers' outputs and one layer's temporaries at a time, not every temporary of the
 * pass.
 *
 * <p>When a pass needs more than the current blocks hold, a new block is added; at the next
 * reset the blocks are merged into one of the peak size, so from then on one block serves.
 * Using a tensor after the reset (or the scope) that ended it fails with an exception, never
 * reads reused memory silently.
 */
public final class Workspace implements AutoCloseable {
    // 256 bytes: the alignment cudaMalloc gives and more than any vector load needs.
    private static final long ALIGNMENT = 256;

    private final Backend backend;
    private final List<Storage> blocks = new ArrayList<>();
    private long used;       // bytes held in the current pass as if in one block (what the next pass's one block needs)
    private long peak;       // the most any pass has used
    private long blockUsed;  // bytes used in the last block
    private Storage generation;  // what new tensors point into: released with the scope or pass that made it
    private final Deque<Scope> scopes = new ArrayDeque<>();
    private final List<Storage> passGenerations = new ArrayList<>();  // made outside any scope; released at reset

    Workspace(Backend backend, long bytes) {
        this.backend = backend;
        if (bytes < 0) throw UnclipException.invalidArgument("workspace", "negative size " + bytes);
        addBlock(Math.max(bytes, ALIGNMENT));
    }

    private void addBlock(long bytes) {
        blocks.add(new Storage(backend, backend.context().alloc(bytes), bytes, true));
        blockUsed = 0;
        newGeneration();
    }

    /** A new generation over the last block, owned by the innermost open scope, else by the pass. */
    private void newGeneration() {
        Storage last = blocks.getLast();
        generation = new Storage(backend, last.base(), last.bytes(), false);
        (scopes.isEmpty() ? passGenerations : scopes.peek().generations).add(generation);
    }

    /** An uninitialised tensor valid until the next {@link #reset()}, or the close of the scope it was made in. */
    public Tensor allocate(DType dtype, long... shape) {
        requireOpen();
        long bytes = Math.multiplyExact(Tensor.numel(shape), (long) dtype.byteSize());
        long aligned = (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        // Tensors already handed out stay valid: they point into the earlier block, whose
        // generation lives until its scope or pass ends. Blocks double: few of them, soon large
        // enough for malloc to map them apart and give them back to the system at the merge
        // (what a block holds beyond its use is never touched, so never resident).
        if (blockUsed + aligned > blocks.getLast().bytes()) addBlock(Math.max(aligned, 2 * blocks.getLast().bytes()));
        Tensor t = new Tensor(generation, blockUsed, shape, dtype, false);
        blockUsed += aligned;
        used += aligned;
        peak = Math.max(peak, used);
        return t;
    }

    /**
     * Opens a scope: the tensors allocated until it closes die then, and their memory serves the
     * allocations that follow. Close it (try-with-resources) before any scope opened earlier; a
     * {@link #reset()} ends the scopes still open.
     */
    public Scope scope() {
        requireOpen();
        Scope scope = new Scope(blocks.size(), blockUsed, used, generation);
        scopes.push(scope);
        newGeneration();
        return scope;
    }

    /** A region of a pass whose tensors die together; see {@link #scope()}. */
    public final class Scope implements AutoCloseable {
        private final int blockCount;
        private final long blockUsedAtOpen, usedAtOpen;
        private final Storage outerGeneration;
        private final List<Storage> generations = new ArrayList<>();
        private boolean closed;

        private Scope(int blockCount, long blockUsedAtOpen, long usedAtOpen, Storage outerGeneration) {
            this.blockCount = blockCount;
            this.blockUsedAtOpen = blockUsedAtOpen;
            this.usedAtOpen = usedAtOpen;
            this.outerGeneration = outerGeneration;
        }

        @Override
        public void close() {
            if (closed || blocks.isEmpty()) return;
            if (scopes.peek() != this) {
                throw UnclipException.invalidArgument("workspace", "a scope must close after the scopes opened in it");
            }
            closed = true;
            scopes.pop();
            generations.forEach(Storage::release);
            // Blocks added while it was open hold only its tensors: freed now, so that even a
            // first pass, still growing, holds no more than the peak it measures.
            while (blocks.size() > blockCount) blocks.removeLast().release();
            used = usedAtOpen;
            blockUsed = blockUsedAtOpen;
            generation = outerGeneration;
        }
    }

    /**
     * Ends a pass: every tensor from it becomes invalid and its memory is reused. Scopes still open
     * (a pass that failed midway) end with it.
     */
    public void reset() {
        requireOpen();
        endOpenScopes();
        passGenerations.forEach(Storage::release);
        passGenerations.clear();
        if (blocks.size() > 1 || capacity() < peak) {
            blocks.forEach(Storage::release);
            blocks.clear();
            addBlock(peak);
        } else {
            newGeneration();
        }
        used = 0;
        blockUsed = 0;
    }

    private void endOpenScopes() {
        for (Scope scope : scopes) {
            scope.closed = true;
            scope.generations.forEach(Storage::release);
        }
        scopes.clear();
    }

    private void requireOpen() {
        if (blocks.isEmpty()) throw UnclipException.invalidArgument("workspace", "the workspace is closed");
    }

    /** Bytes of backend memory the workspace holds. */
    public long capacity() {
        return blocks.stream().mapToLong(Storage::bytes).sum();
    }

    /** The most bytes any pass has used so far. */
    public long peak() {
        return peak;
    }

    @Override
    public void close() {
        if (blocks.isEmpty()) return;
        endOpenScopes();
        passGenerations.forEach(Storage::release);
        passGenerations.clear();
        blocks.forEach(Storage::release);
        blocks.clear();
    }
}
