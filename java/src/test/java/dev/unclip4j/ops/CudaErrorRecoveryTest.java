package dev.unclip4j.ops;

import static dev.unclip4j.ops.OpAssertions.fails;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.Status;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * After a failed CUDA call the next op runs and reports nothing stale (issue 21): the CUDA
 * runtime keeps one "last error" per host thread, and an error left there would be reported by
 * the next kernel launch's check, against the wrong op. Here the failure is an out-of-memory
 * uc_alloc, followed by ops and a smaller retry, on the same context and on another one used
 * from the same thread (as a virtual thread's next downcall on the same carrier). Skipped
 * without a GPU; cuda/test/host_test.cpp checks the same paths against a fake runtime.
 */
@Tag("gpu")
class CudaErrorRecoveryTest {
    /** 4 TiB of F32: more than any GPU has. */
    private static final long TOO_MANY_FLOATS = 1L << 40;

    private static Backend cpu;
    private static Backend cuda;

    @BeforeAll
    static void open() {
        String reason = Backend.cudaUnavailableReason();
        assumeTrue(reason == null, "no CUDA backend: " + reason);
        cpu = Backend.cpu();
        cuda = Backend.cuda(0);
    }

    @AfterAll
    static void close() {
        if (cuda != null) cuda.close();
        if (cpu != null) cpu.close();
    }

    private static void outOfMemory(Backend backend) {
        fails("uc_alloc", "cudaErrorMemoryAllocation", Status.OUT_OF_MEMORY,
                () -> backend.allocate(DType.F32, TOO_MANY_FLOATS));
    }

    /**
     * The first row of the op table for each of a few ops, on CUDA against the CPU: each runs
     * allocations, copies, a memset and a kernel launch (group norm also allocates its scratch).
     */
    private static void opsStillWork(Backend backend) {
        for (String op : List.of("uc_add", "uc_linear", "uc_conv2d", "uc_group_norm", "uc_attention")) {
            OpCase c = OpCases.all().stream().filter(r -> r.op().equals(op) && r.outNumel() > 0).findFirst()
                    .orElseThrow();
            float[][] inputs = OpHarness.inputs(c, DType.F32);
            float[] expected = OpHarness.run(c, cpu, DType.F32, inputs);
            double error = OpHarness.relativeL2(OpHarness.run(c, backend, DType.F32, inputs), expected);
            assertTrue(error <= CudaOpsTest.tolerance(DType.F32), c + " after an out-of-memory error: error " + error);
        }
        backend.synchronize();
    }

    @Test
    void outOfMemoryThenTheNextOpsAndASmallerRetrySucceed() {
        outOfMemory(cuda);
        opsStillWork(cuda);
        outOfMemory(cuda);
        try (Tensor smaller = cuda.allocate(DType.F32, 1L << 26)) {  // the retry with a smaller batch: 256 MiB
            smaller.fillBytes(0);
        }
        cuda.synchronize();
    }

    @Test
    void aFailureOnOneContextIsNotReportedByAnotherOnTheSameThread() {
        try (Backend other = Backend.cuda(0)) {
            outOfMemory(other);
            opsStillWork(cuda);
        }
    }
}
