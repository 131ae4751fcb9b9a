package dev.unclip4j.tensor;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.UnclipException;
import java.util.ArrayList;
import java.util.List;

/**
 * Activation memory for one forward pass, reused across passes: tensors are carved from large
 * blocks by a bump pointer and all die together at {@link #reset()}, so a denoising step makes
 * no allocation once the first pass has sized the workspace.
 *
 * <p>When a pass needs more than the current blocks hold, a new block is added; at the next
 * reset the blocks are merged into one of the peak size, so from then on one block serves.
 * Using a tensor after the reset that ended its pass fails with an exception, never reads
 * reused memory silently.
 */
public final class Workspace implements AutoCloseable {
    // 256 bytes: the alignment cudaMalloc gives and more than any vector load needs.
    private static final long ALIGNMENT = 256;

    private final Backend backend;
    private final List<Storage> blocks = new ArrayList<>();
    private long used;       // bytes handed out in the current pass, over all blocks
    private long peak;       // the most any pass has used
    private long blockUsed;  // bytes used in the last block
    private Storage generation;  // what this pass's tensors point into; released at reset
    private final List<Storage> retired = new ArrayList<>();  // earlier blocks' generations of this pass

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

    private void newGeneration() {
        Storage last = blocks.getLast();
        generation = new Storage(backend, last.base(), last.bytes(), false);
    }

    /** An uninitialised tensor valid until the next {@link #reset()}. */
    public Tensor allocate(DType dtype, long... shape) {
        if (blocks.isEmpty()) throw UnclipException.invalidArgument("workspace", "the workspace is closed");
        long bytes = Math.multiplyExact(Tensor.numel(shape), (long) dtype.byteSize());
        long aligned = (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        if (blockUsed + aligned > blocks.getLast().bytes()) {
            Storage previous = generation;
            addBlock(Math.max(aligned, blocks.getLast().bytes()));
            // Tensors already handed out stay valid: they point into the earlier block, whose
            // generation is kept alive until reset.
            retired.add(previous);
        }
        Tensor t = new Tensor(generation, blockUsed, shape, dtype, false);
        blockUsed += aligned;
        used += aligned;
        peak = Math.max(peak, used);
        return t;
    }

    /** Ends a pass: every tensor from it becomes invalid and its memory is reused. */
    public void reset() {
        if (blocks.isEmpty()) throw UnclipException.invalidArgument("workspace", "the workspace is closed");
        generation.release();
        retired.forEach(Storage::release);
        retired.clear();
        if (blocks.size() > 1) {
            blocks.forEach(Storage::release);
            blocks.clear();
            addBlock(peak);
        } else {
            newGeneration();
        }
        used = 0;
        blockUsed = 0;
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
        generation.release();
        retired.forEach(Storage::release);
        blocks.forEach(Storage::release);
        blocks.clear();
        retired.clear();
    }
}
