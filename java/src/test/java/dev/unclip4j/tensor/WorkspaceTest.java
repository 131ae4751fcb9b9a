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
    @Test
    void aScopesTensorsDieWithItAndItsMemoryServesWhatFollows() {
        try (Backend cpu = Backend.cpu(); Workspace ws = cpu.newWorkspace(1 << 20)) {
            Tensor output = ws.allocate(DType.F32, 64).copyFrom(new float[64]);
            Tensor first, second;
            long firstAddress;
            try (Workspace.Scope _ = ws.scope()) {
                first = ws.allocate(DType.F32, 64);
                second = ws.allocate(DType.F32, 64);
                firstAddress = first.address().address();
            }
            assertTrue(first.isClosed() && second.isClosed(), "a scope's tensors die with it");
            assertTrue(!output.isClosed(), "what was allocated before the scope lives on");
            UnclipException e = assertThrows(UnclipException.class, first::toFloatArray);
            assertTrue(e.getMessage().contains("workspace was reset"), e.getMessage());
            Tensor next = ws.allocate(DType.F32, 64);
            assertEquals(firstAddress, next.address().address(), "the scope's memory is reused");
            assertEquals(3 * 256, ws.peak(), "the peak counts the scope's tensors once");
        }
    }

    @Test
    void scopesCloseInnermostFirstAndEndAtAReset() {
        try (Backend cpu = Backend.cpu(); Workspace ws = cpu.newWorkspace(1 << 20)) {
            Workspace.Scope outer = ws.scope();
            Workspace.Scope inner = ws.scope();
            UnclipException order = assertThrows(UnclipException.class, outer::close);
            assertTrue(order.getMessage().contains("after the scopes opened in it"), order.getMessage());
            inner.close();
            outer.close();
            // A pass that failed inside a scope: the reset ends it, and closing it later changes nothing.
            Workspace.Scope left = ws.scope();
            Tensor t = ws.allocate(DType.F32, 64);
            ws.reset();
            assertTrue(t.isClosed());
            left.close();
            try (Workspace.Scope _ = ws.scope()) {  // the workspace goes on
                assertArrayEquals(new float[] {1, 2}, ws.allocate(DType.F32, 2).copyFrom(new float[] {1, 2}).toFloatArray());
            }
            ws.reset();
        }
    }

    @Test
    void aScopeThatGrewTheWorkspaceSizesTheNextPassesOneBlock() {
        try (Backend cpu = Backend.cpu(); Workspace ws = cpu.newWorkspace(1024)) {
            for (int pass = 0; pass < 3; pass++) {
                Tensor kept = ws.allocate(DType.F32, 100).copyFrom(new float[100]);         // 512 bytes
                Tensor dead;
                try (Workspace.Scope _ = ws.scope()) {
                    dead = ws.allocate(DType.F32, 1000).copyFrom(new float[1000]);         // 4096: a new block in pass 0
                }
                if (pass == 0) assertEquals(1024, ws.capacity(), "the block the scope added is freed with it");
                Tensor after = ws.allocate(DType.F32, 100).copyFrom(new float[100]);
                assertTrue(dead.isClosed() && !kept.isClosed() && !after.isClosed(), "pass " + pass);
                assertArrayEquals(new float[100], kept.toFloatArray(), "pass " + pass);
                ws.reset();
                assertEquals(512 + 4096, ws.peak(), "pass " + pass + ": the scope's memory counted once, then reused");
                assertEquals(ws.peak(), ws.capacity(), "pass " + pass + ": one block of the peak");
            }
        }
    }
}
