package dev.unclip4j.bench;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.unclip4j.api.Request;
import dev.unclip4j.api.Unclip;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;
import java.util.Locale;

/**
 * A soak: many generations through the Java API on one loaded model, the resident memory of the
 * process (VmRSS), the native memory in use as glibc's malloc counts it (mallinfo2: its arenas and
 * mmapped blocks, where uc_alloc and all C++ allocations go) and the Java heap in use, each after
 * a full GC, recorded at regular intervals as a Markdown table on standard output. Memory that
 * grows with the number of requests is a leak.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar dev.unclip4j.bench.Soak \
 *     [generations=1000] [every=100] [steps=2] [threads=0: OpenMP's default] [model=the built-in one]
 * </pre>
 */
public final class Soak {
    /** Prompts of several lengths and both kinds of scene, taken in turn. */
    static final List<String> PROMPTS = List.of("a small red circle at the top left on a blue background",
            "a green triangle", "a red circle left of a blue square on a white background",
            "there is a huge yellow diamond at the bottom right on a purple background", "a white square above a black circle");

    private Soak() {}

    public static void main(String[] args) throws IOException, InterruptedException {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int every = args.length > 1 ? Integer.parseInt(args[1]) : 100;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        int threads = args.length > 3 ? Integer.parseInt(args[3]) : 0;
        Path model = args.length > 4 ? Path.of(args[4]) : Unclip.builtInModel();
        try (Unclip unclip = Unclip.builder(model).threads(threads).build()) {
            System.out.printf(Locale.ROOT, "Soak: %d generations through the Java API (Unclip.generate), %d/%d/%d steps, "
                    + "one image each, prompts in turn, seed = generation number.%n%n", n, steps, steps, steps);
            System.out.println("- model: " + unclip.model());
            System.out.println("- device: " + unclip.device());
            System.out.println("- date: " + LocalDate.now() + ", unclip4j " + Unclip.VERSION + ", Java " + Runtime.version());
            System.out.println();
            System.out.println("| generations | elapsed (s) | s / image | RSS (MiB) | malloc in use (MiB) | heap (MiB) |");
            System.out.println("| ---: | ---: | ---: | ---: | ---: | ---: |");
            long t0 = System.nanoTime(), last = t0;
            row(0, 0, 0);
            for (int i = 1; i <= n; i++) {
                unclip.generate(Request.of(PROMPTS.get(i % PROMPTS.size())).withSeed(i).withSteps(steps, steps, steps));
                if (i % every == 0) {
                    long now = System.nanoTime();
                    row(i, (now - t0) / 1e9, (now - last) / 1e9 / every);
                    last = now;
                }
            }
        }
    }

    private static void row(int done, double elapsed, double perImage) throws IOException {
        System.gc();
        Runtime rt = Runtime.getRuntime();
        double heap = (rt.totalMemory() - rt.freeMemory()) / 1048576.0;
        System.out.printf(Locale.ROOT, "| %d | %.0f | %.2f | %.1f | %.1f | %.1f |%n", done, elapsed, perImage, rssMiB(),
                mallocInUseMiB(), heap);
        System.out.flush();
    }

    /** glibc's mallinfo2(): uordblks (bytes in use in the arenas) + hblkhd (bytes in mmapped blocks), in MiB. */
    static double mallocInUseMiB() {
        Linker linker = Linker.nativeLinker();
        MethodHandle mallinfo2 = linker.downcallHandle(linker.defaultLookup().find("mallinfo2").orElseThrow(),
                FunctionDescriptor.of(MemoryLayout.structLayout(MemoryLayout.sequenceLayout(10, JAVA_LONG))));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = (MemorySegment) mallinfo2.invokeExact((SegmentAllocator) arena);
            return (info.getAtIndex(JAVA_LONG, 7) + info.getAtIndex(JAVA_LONG, 4)) / 1048576.0;
        } catch (Throwable t) {
            throw new IllegalStateException("mallinfo2: " + t, t);
        }
    }

    /** VmRSS of /proc/self/status, in MiB. */
    static double rssMiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
        }
        throw new IOException("no VmRSS in /proc/self/status");
    }
}
