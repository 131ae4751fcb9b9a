package dev.unclip4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.Event;
import dev.unclip4j.bindings.Status;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.bindings.UnclipLibrary;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Loading the libraries, choosing a backend, and moving data in and out of tensors. */
class BackendTest {
    @Test
    void cpuLibraryLoadsFromTheJarAndNamesItself() {
        UnclipLibrary cpu = UnclipLibrary.get(UnclipLibrary.Kind.CPU);
        assertEquals("cpu", cpu.backendName());
        try (Backend backend = Backend.cpu()) {
            assertTrue(backend.device().contains("OpenMP threads"), backend.device());
        }
    }

    @Test
    void openMpThreadsSleepWhileTheyWaitUnlessTheUserChoseOtherwise() {
        // The bindings set OMP_WAIT_POLICY=passive before libgomp loads; a user's own setting wins.
        String chosen = System.getenv("OMP_WAIT_POLICY");
        try (Backend backend = Backend.cpu()) {
            String expected = "(" + (chosen != null ? chosen : "passive") + " wait)";
            assertTrue(backend.device().contains(expected), backend.device() + " should say " + expected);
        }
    }

    @Test
    void threadsAreAContextSettingThatOpsHonourOnAnyThread() throws Exception {
        try (Backend one = Backend.cpu(); Backend auto = Backend.cpu()) {
            String defaultDevice = auto.device();
            one.setThreads(1);
            assertTrue(one.device().contains(" 1 OpenMP threads"), one.device());
            assertTrue(one.device().contains("kernels"), one.device());
            // The same numbers with one thread as with the default team (each row's sum is one thread's work).
            float[] x = new float[1 << 17];
            for (int i = 0; i < x.length; i++) x[i] = (i % 97) * 0.25f;
            float[] want = twice(auto, x);
            float[][] got = new float[1][];
            Thread other = Thread.ofPlatform().start(() -> got[0] = twice(one, x));  // a thread that never set a team size
            other.join();
            assertArrayEquals(want, got[0]);
            one.setThreads(0);
            assertEquals(defaultDevice, one.device());
            assertThrows(UnclipException.class, () -> one.setThreads(-1));
        }
    }

    private static float[] twice(Backend backend, float[] x) {
        try (Tensor a = backend.fromFloats(DType.F32, x, 512, 256); Tensor b = backend.fromFloats(DType.F32, x, 512, 256)) {
            backend.add(a, b, a);
            return a.toFloatArray();
        }
    }

    @Test
    @Tag("gpu")
    void cpuAndCudaLibrariesOpenSideBySide() {
        // Both export the same symbols; each has its own SymbolLookup, so each answers as itself.
        UnclipLibrary cuda;
        try {
            cuda = UnclipLibrary.get(UnclipLibrary.Kind.CUDA);
        } catch (UnclipException e) {
            assumeTrue(false, "this build has no libunclip_cuda: " + e.getMessage());
            return;
        }
        assertEquals("cuda", cuda.backendName());
        assertEquals("cpu", UnclipLibrary.get(UnclipLibrary.Kind.CPU).backendName());
    }

    @Test
    void withoutAGpuCudaSaysNoDeviceAndAutoPicksTheCpu() {
        String reason = Backend.cudaUnavailableReason();
        assumeTrue(reason != null, "a CUDA device is present");
        UnclipException e = assertThrows(UnclipException.class, () -> Backend.cuda(0));
        assertTrue(e.getMessage().contains("no CUDA device") || e.status() == Status.UNSUPPORTED, e.getMessage());
        try (Backend auto = Backend.auto()) {
            assertEquals(Backend.Kind.CPU, auto.kind());
        }
    }

    @Test
    void namedBackends() {
        try (Backend cpu = Backend.named("CPU")) {
            assertEquals("cpu", cpu.name());
        }
        UnclipException e = assertThrows(UnclipException.class, () -> Backend.named("tpu"));
        assertTrue(e.getMessage().contains("unknown backend 'tpu'"), e.getMessage());
    }

    @Test
    void roundTripsEveryDType() {
        float[] values = {0f, 1f, -2.5f, 3.140625f, 65504f, 1e-3f};
        try (Backend cpu = Backend.cpu()) {
            for (DType dtype : DType.values()) {
                try (Tensor t = cpu.fromFloats(dtype, values, 2, 3)) {
                    float[] back = t.toFloatArray();
                    for (int i = 0; i < values.length; i++) assertEquals(HostCodec.round(values[i], dtype), back[i], 0f, dtype + " " + i);
                    assertEquals(values.length * dtype.byteSize(), t.byteSize());
                }
            }
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 lies halfway between bf16 neighbours 1 and 1 + 2^-7: ties go to the even one, 1.
        assertEquals(1f, HostCodec.round(1f + 0x1p-8f, DType.BF16));
        // 1 + 3·2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: the even one is 1 + 2^-6.
        assertEquals(1f + 0x1p-6f, HostCodec.round(1f + 3 * 0x1p-8f, DType.BF16));
        assertTrue(Float.isNaN(HostCodec.round(Float.NaN, DType.BF16)));
    }

    @Test
    void viewsShareMemoryAndDieWithTheirParent() {
        try (Backend cpu = Backend.cpu()) {
            Tensor t = cpu.fromFloats(DType.F32, new float[] {1, 2, 3, 4, 5, 6}, 6);
            Tensor tail = t.view(2, 2, 2);
            assertArrayEquals(new float[] {3, 4, 5, 6}, tail.toFloatArray());
            assertThrows(UnclipException.class, () -> t.view(5, 2));
            assertThrows(UnclipException.class, () -> t.reshape(4, 2));
            t.close();
            UnclipException e = assertThrows(UnclipException.class, tail::toFloatArray);
            assertTrue(e.getMessage().contains("no longer valid"), e.getMessage());
        }
    }

    @Test
    void rejectsBadShapesAndHostData() {
        try (Backend cpu = Backend.cpu(); Tensor t = cpu.allocate(DType.F32, 2, 2)) {
            assertThrows(UnclipException.class, () -> cpu.allocate(DType.F32, 2, -1));
            UnclipException e = assertThrows(UnclipException.class, () -> t.copyFrom(new float[3]));
            assertTrue(e.getMessage().contains("3 values for a tensor of 4"), e.getMessage());
        }
    }

    @Test
    void eventsTimeTheStream() throws InterruptedException {
        try (Backend cpu = Backend.cpu(); Event start = cpu.context().newEvent(); Event end = cpu.context().newEvent()) {
            UnclipException notYet = assertThrows(UnclipException.class, () -> end.elapsedMillisSince(start));
            assertTrue(notYet.getMessage().contains("not recorded"), notYet.getMessage());
            start.record();
            Thread.sleep(30);
            end.record();
            float ms = end.elapsedMillisSince(start);
            assertTrue(ms >= 29f && ms < 5000f, "elapsed " + ms + " ms for a 30 ms sleep");
        }
    }

    @Test
    void profileCountsEachOpWhileOnAndNothingWhenOff() {
        try (Backend cpu = Backend.cpu(); Tensor a = cpu.fromFloats(DType.F32, new float[] {1, 2}, 2);
             Tensor out = cpu.allocate(DType.F32, 2); Tensor wrong = cpu.allocate(DType.F32, 3)) {
            assertEquals(null, cpu.stopProfile());
            cpu.add(a, a, out);                       // before the profile: not counted
            OpProfile profile = cpu.startProfile();
            cpu.add(a, a, out);
            cpu.add(a, a, out);
            cpu.mul(a, a, out);
            assertThrows(UnclipException.class, () -> cpu.add(a, a, wrong));   // refused before the downcall
            assertEquals(profile, cpu.stopProfile());
            cpu.mul(a, a, out);                       // after: not counted
            assertEquals(List.of("uc_add", "uc_mul"), List.copyOf(profile.entries().keySet()));
            assertEquals(2, profile.entries().get("uc_add").calls());
            assertEquals(1, profile.entries().get("uc_mul").calls());
            assertTrue(profile.totalNanos() > 0 && profile.totalNanos() == profile.entries().values().stream()
                    .mapToLong(OpProfile.Entry::nanos).sum());
        }
    }

    @Test
    void closedBackendRefusesWork() {
        Backend cpu = Backend.cpu();
        cpu.close();
        UnclipException e = assertThrows(UnclipException.class, () -> cpu.allocate(DType.F32, 4));
        assertTrue(e.getMessage().contains("context is closed"), e.getMessage());
        assertNotEquals(null, e.op());
    }
}
