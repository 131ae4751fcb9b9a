package dev.unclip4j.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A short soak: 50 generations on one loaded built-in model, memory sampled after a full GC every
 * 10. The record of the full soak (1,000 generations, benchmarks' Soak) is in
 * benchmarks/results/soak-cpu-2026-12-07.md; this one guards against a leak coming back.
 *
 * <p>Two measures, each against a margin well above its noise and well below a leak of one
 * image's latents a request (128×128×3 float32 = 192 KiB, 7.5 MiB over 40 requests):
 * native memory (the process's resident set less the committed Java heap, so that the heap
 * growing its regions is not taken for a leak) may grow by at most 16 MiB from the 10th request
 * to the 50th — the full soak's resident set moved by 0.2 MiB over its last 600 generations, after
 * one step of 6.5 MiB while warming up; the Java heap in use after a full GC by at most 4 MiB.
 */
class SoakTest {
    static final int GENERATIONS = 50, EVERY = 10;
    static final double NATIVE_MARGIN_MIB = 16, HEAP_MARGIN_MIB = 4;

    record Sample(int done, double nativeMiB, double heapMiB) {}

    @Test
    void memoryStaysFlatOverManyGenerations() throws IOException {
        List<Sample> samples = new ArrayList<>();
        // One thread: on a machine shared with other jobs, two OpenMP threads wait on each other at
        // every barrier (benchmarks/results/soak-cpu-2026-12-07.md); memory is what is measured here.
        try (Unclip unclip = Unclip.builder(Unclip.builtInModel()).device("cpu").threads(1).build()) {
            for (int i = 1; i <= GENERATIONS; i++) {
                Result r = unclip.generate(Request.of(i % 2 == 0 ? "a small red circle at the top left on a blue background"
                        : "a green triangle").withSeed(i).withSteps(2, 2, 2));
                assertEquals(1, r.images().size());
                if (i % EVERY == 0) samples.add(sample(i));
            }
        }
        System.out.println("SoakTest samples: " + samples);
        Sample first = samples.getFirst();
        for (Sample s : samples) {
            assertTrue(s.nativeMiB() - first.nativeMiB() < NATIVE_MARGIN_MIB, "native memory grew: " + samples);
            assertTrue(s.heapMiB() - first.heapMiB() < HEAP_MARGIN_MIB, "the Java heap grew: " + samples);
        }
    }

    private static Sample sample(int done) throws IOException {
        System.gc();
        Runtime rt = Runtime.getRuntime();
        return new Sample(done, rssMiB() - rt.totalMemory() / 1048576.0, (rt.totalMemory() - rt.freeMemory()) / 1048576.0);
    }

    static double rssMiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
        }
        throw new IOException("no VmRSS in /proc/self/status");
    }
}
