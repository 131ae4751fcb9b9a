package dev.unclip4j.api;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.Test;

/**
 * A short soak: 100 generations on one loaded built-in model, memory sampled after a full GC every
 * 10. The record of the full soak (1,000 generations, benchmarks' Soak) is in
 * benchmarks/results/soak-cpu-2026-12-07.md; this one guards against a leak coming back.
 *
 * <p>Two measures: native memory as glibc's malloc counts it in use (mallinfo2: its arenas and
 * its mmapped blocks; the backends' uc_alloc and every C++ allocation go through it), and the
 * Java heap in use after a full GC. Each is compared as the median of the samples after 20 to 50
 * generations against the median after 70 to 100, so that a transient spike (the JIT compiling,
 * measured up to 10 MiB of malloc for one sample) does not count: a leak of one image's latents a
 * request (128×128×3 float32 = 192 KiB) would add 9.4 MiB over those 50 requests; the margins are
 * 4 MiB (native) and 2 MiB (heap). Measured after the pipeline parity tests in the same JVM
 * (2026-12-07): malloc medians 143.9 and 142.9 MiB, heap 7.54 and 7.60 MiB.
 */
class SoakTest {
    static final int GENERATIONS = 100, EVERY = 10;
    static final double NATIVE_MARGIN_MIB = 4, HEAP_MARGIN_MIB = 2;

    record Sample(int done, double mallocMiB, double heapMiB) {}

    @Test
    void memoryStaysFlatOverManyGenerations() throws Throwable {
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
        List<Sample> early = samples.subList(1, 5), late = samples.subList(6, 10);
        double nativeGrowth = median(late, Sample::mallocMiB) - median(early, Sample::mallocMiB);
        double heapGrowth = median(late, Sample::heapMiB) - median(early, Sample::heapMiB);
        assertTrue(nativeGrowth < NATIVE_MARGIN_MIB, "native memory grew by " + nativeGrowth + " MiB: " + samples);
        assertTrue(heapGrowth < HEAP_MARGIN_MIB, "the Java heap grew by " + heapGrowth + " MiB: " + samples);
    }

    private static Sample sample(int done) throws Throwable {
        System.gc();
        Runtime rt = Runtime.getRuntime();
        return new Sample(done, mallocInUseMiB(), (rt.totalMemory() - rt.freeMemory()) / 1048576.0);
    }

    private static double median(List<Sample> samples, ToDoubleFunction<Sample> value) {
        double[] v = samples.stream().mapToDouble(value).sorted().toArray();
        return (v[(v.length - 1) / 2] + v[v.length / 2]) / 2;
    }

    /** glibc's mallinfo2(): uordblks (bytes in use in the arenas) + hblkhd (bytes in mmapped blocks). */
    static double mallocInUseMiB() throws Throwable {
        Linker linker = Linker.nativeLinker();
        MethodHandle mallinfo2 = linker.downcallHandle(linker.defaultLookup().find("mallinfo2").orElseThrow(),
                FunctionDescriptor.of(MemoryLayout.structLayout(MemoryLayout.sequenceLayout(10, JAVA_LONG))));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = (MemorySegment) mallinfo2.invokeExact((SegmentAllocator) arena);
            return (info.getAtIndex(JAVA_LONG, 7) + info.getAtIndex(JAVA_LONG, 4)) / 1048576.0;
        }
    }
}
