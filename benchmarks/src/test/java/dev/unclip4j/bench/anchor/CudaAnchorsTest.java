package dev.unclip4j.bench.anchor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.bindings.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * What can be checked of the anchors without a GPU: that a missing CUDA library or device is a
 * clear reason, not a crash, and that the self-check's comparison does what it says.
 */
class CudaAnchorsTest {
    @Test
    void withoutAGpuTheReasonNamesWhatFailedAndWhatToSet() {
        String reason = CudaAnchors.unavailableReason();
        assertSame(reason, CudaAnchors.unavailableReason(), "probed once");
        boolean driver = Files.exists(Path.of("/dev/nvidiactl")) || Files.exists(Path.of("/proc/driver/nvidia"));
        if (!driver) assertNotNull(reason, "no NVIDIA driver here, yet the anchors say they can run");
        if (reason != null) {
            assertTrue(reason.contains("cannot load") ? reason.contains("LD_LIBRARY_PATH") : reason.contains("cuda"),
                    reason);
            IllegalStateException e = assertThrows(IllegalStateException.class, CudaAnchors::requireAvailable);
            assertEquals(reason, e.getMessage());
        }
    }

    @Test
    void anAnchorRefusesToStartWithoutCuda() {
        if (CudaAnchors.unavailableReason() == null) return; // a GPU machine: nothing to refuse
        float[] one = {1f};
        assertThrows(IllegalStateException.class,
                () -> new CublasLtLinear(DType.F32, CublasLtLinear.Epilogue.BIAS, 1, 1, 1, one, one, one).close());
        assertThrows(IllegalStateException.class, () -> new CudnnConv(DType.F32, CudnnConv.Epilogue.FUSED,
                1, 1, 1, 1, 1, 1, 1, 0, one, one, one, one).close());
    }

    @Test
    void relativeL2() {
        assertEquals(0.0, CudaAnchors.relativeL2(new float[] {3, 4}, new float[] {3, 4}));
        assertEquals(0.2, CudaAnchors.relativeL2(new float[] {3, 5}, new float[] {3, 4}), 1e-12);
        assertTrue(Double.isNaN(CudaAnchors.relativeL2(new float[] {Float.NaN, 4}, new float[] {3, 4})));
        CudaAnchors.selfCheck("same", DType.F32, new float[] {1, 2}, new float[] {1, 2});
        assertThrows(IllegalStateException.class,
                () -> CudaAnchors.selfCheck("nan", DType.BF16, new float[] {Float.NaN, 2}, new float[] {1, 2}));
        assertThrows(IllegalStateException.class,
                () -> CudaAnchors.selfCheck("off", DType.F16, new float[] {1.1f, 2}, new float[] {1, 2}));
    }
}
