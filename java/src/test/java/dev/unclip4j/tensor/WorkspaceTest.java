package dev.unclip4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.UnclipException;
import org.junit.jupiter.api.Test;

class WorkspaceTest {
    @Test
    void growsInTheFirstPassThenServesLaterPassesFromOneBlock() {
        try (Backend cpu = Backend.cpu(); Workspace ws = cpu.newWorkspace(1024)) {
            Tensor first = ws.allocate(DType.F32, 100).copyFrom(new float[100]);
            Tensor big = ws.allocate(DType.F32, 1000);  // does not fit: a second block
            big.copyFrom(new float[1000]);
            assertArrayEquals(new float[100], first.toFloatArray(), "earlier tensors survive growth");
            long peak = ws.peak();
            ws.reset();
            assertEquals(peak, ws.capacity(), "merged into one block of the peak");
            long capacity = ws.capacity();
            for (int pass = 0; pass < 3; pass++) {
                ws.allocate(DType.F32, 100);
                ws.allocate(DType.F32, 1000);
                ws.reset();
            }
            assertEquals(capacity, ws.capacity(), "later passes of the same size allocate nothing");
        }
    }

    @Test
    void tensorsDieAtReset() {
        try (Backend cpu = Backend.cpu(); Workspace ws = cpu.newWorkspace(4096)) {
            Tensor t = ws.allocate(DType.F32, 4).copyFrom(new float[] {1, 2, 3, 4});
            ws.reset();
            assertTrue(t.isClosed());
            UnclipException e = assertThrows(UnclipException.class, t::toFloatArray);
            assertTrue(e.getMessage().contains("workspace was reset"), e.getMessage());
        }
    }
}
