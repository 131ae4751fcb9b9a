package dev.unclip4j.ops;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.bindings.Activation;
import dev.unclip4j.bindings.Context;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The CPU GEMM behind uc_linear and uc_conv2d (native/src/gemm.cpp), beyond the op table's
 * accuracy rows: a prepared weight is used exactly as an unprepared one would be, also once its
 * own memory is released to the packed copy, and is dropped when its contents or memory change;
 * a panel too large for the cache is summed in blocks in the same order; a row's result does not
 * depend on the other rows of the call (what lets a request share a batch); a residual may be
 * the output itself; the kernels are the ones the environment asks for. Surefire runs this class twice, the second time with
 * UNCLIP_CPU_KERNELS=portable (java/pom.xml).
 */
class CpuGemmTest {
    private static Backend cpu;

    @BeforeAll
    static void open() {
        cpu = Backend.cpu();
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    private static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = r.nextFloat() * 2 - 1;
        return v;
    }

    private static float[] linear(float[] x, Tensor w, float[] bias, int m, int n, int k) {
        try (Tensor xt = cpu.fromFloats(DType.F32, x, m, k); Tensor bt = cpu.fromFloats(DType.F32, bias, n);
             Tensor out = cpu.allocate(DType.F32, m, n)) {
            cpu.linear(xt, w, bt, null, out, Activation.GELU_TANH);
            return out.toFloatArray();
        }
    }

    @Test
    void aPreparedWeightGivesTheSameBitsAsAnUnpreparedOne() {
        int n = 70, k = 129;
        float[] w = random(n * k, 1), bias = random(n, 2);
        try (Tensor plain = cpu.fromFloats(DType.F32, w, n, k);
             Tensor prepared = cpu.fromFloats(DType.F32, w, n, k).markConstant()) {
            for (int m : new int[] {1, 5, 6, 8, 9, 37}) {
                float[] x = random(m * k, 10 + m);
                assertArrayEquals(linear(x, plain, bias, m, n, k), linear(x, prepared, bias, m, n, k), "m = " + m);
                assertArrayEquals(linear(x, plain, bias, m, n, k), linear(x, prepared, bias, m, n, k), "m = " + m + ", again");
            }
        }
    }

    @Test
    void aPreparedWeightFollowsNewContentsAndNewMemory() {
        int m = 12, n = 40, k = 33;
        float[] x = random(m * k, 3), bias = random(n, 4), w1 = random(n * k, 5), w2 = random(n * k, 6);
        float[] want2;
        try (Tensor plain2 = cpu.fromFloats(DType.F32, w2, n, k)) {
            want2 = linear(x, plain2, bias, m, n, k);
        }
        // copyFrom drops the packed copy of the old contents.
        try (Tensor w = cpu.fromFloats(DType.F32, w1, n, k).markConstant()) {
            linear(x, w, bias, m, n, k);
            w.copyFrom(w2);
            assertArrayEquals(want2, linear(x, w, bias, m, n, k));
        }
        // Freeing the block drops it too: a later tensor at the same address is read afresh,
        // prepared or not. (malloc hands the freed block back for the same size, here and in
        // the loop below; the test holds whichever address it gets.)
        for (int round = 0; round < 3; round++) {
            try (Tensor w = cpu.fromFloats(DType.F32, w1, n, k).markConstant()) {
                linear(x, w, bias, m, n, k);
            }
            try (Tensor w = cpu.fromFloats(DType.F32, w2, n, k)) {
                assertArrayEquals(want2, linear(x, w, bias, m, n, k), "round " + round);
            }
        }
    }

    /** Whether every page wholly inside {@code memory} reads as zeros (handed back by madvise). */
    private static boolean pagesInsideAreZero(MemorySegment memory) {
        long page = 4096, first = (page - memory.address() % page) % page;
        boolean any = false;
        for (long at = first; at + page <= memory.byteSize(); at += page) {
            any = true;
            for (long i = at; i < at + page; i += 4) {
                if (memory.get(JAVA_INT, i) != 0) return false;
            }
        }
        return any;
    }

    @Test
    void aWeightReleasedToItsPackedCopyGivesTheSameBits() {
        int n = 150, k = 700;  // whole pages inside w; n is no multiple of a panel width
        float[] w = random(n * k, 20), bias = random(n, 21);
        try (Tensor plain = cpu.fromFloats(DType.F32, w, n, k);
             Tensor weight = cpu.fromFloats(DType.F32, w, n, k).markConstant()) {
            MemorySegment memory = weight.address().reinterpret(4L * n * k);  // read raw below: no restore
            // Fewer than 6 rows: dot products over rows unpacked from the panels; from 6 on, the GEMM.
            for (int m : new int[] {1, 2, 5, 6, 37}) {
                float[] x = random(m * k, 30 + m);
                assertArrayEquals(linear(x, plain, bias, m, n, k), linear(x, weight, bias, m, n, k), "m = " + m);
                assertTrue(pagesInsideAreZero(memory), "w's pages were handed back, m = " + m);
            }
            // Reading it through the tensor writes it back into its memory, where it stays.
            assertArrayEquals(w, weight.toFloatArray());
            assertEquals(w[n * k / 2], memory.getAtIndex(JAVA_FLOAT, n * k / 2));
            float[] x = random(3 * k, 40);
            assertArrayEquals(linear(x, plain, bias, 3, n, k), linear(x, weight, bias, 3, n, k), "after the restore");
        }
        int h = 7, wd = 6, cin = 96, cout = 70;
        float[] cw = random(cout * 9 * cin, 41), x = random(2 * h * wd * cin, 42);
        try (Tensor plain = cpu.fromFloats(DType.F32, cw, cout, 3, 3, cin);
             Tensor weight = cpu.fromFloats(DType.F32, cw, cout, 3, 3, cin).markConstant();
             Tensor b = cpu.fromFloats(DType.F32, random(cout, 43), cout)) {
            MemorySegment memory = weight.address().reinterpret(4L * cw.length);
            assertArrayEquals(conv(x, 2, h, wd, cin, plain, b), conv(x, 2, h, wd, cin, weight, b), "conv");
            assertTrue(pagesInsideAreZero(memory), "the conv weight's pages were handed back");
            assertArrayEquals(conv(x, 2, h, wd, cin, plain, b), conv(x, 2, h, wd, cin, weight, b), "conv again");
        }
    }

    @Test
    void aReleasedWeightIsUsedOnlyAtItsPreparedShape() {
        int n = 64, k = 256;
        float[] values = random(n * k, 50);
        Context context = cpu.context();
        try (Tensor w = cpu.fromFloats(DType.F32, values, n, k); Tensor x = cpu.fromFloats(DType.F32, random(2 * k, 51), 2, k);
             Tensor out = cpu.allocate(DType.F32, 2, n)) {
            MemorySegment address = w.address();
            UnclipException notPrepared = assertThrows(UnclipException.class, () -> context.releaseWeight(address));
            assertTrue(notPrepared.getMessage().contains("not a prepared weight"), notPrepared.getMessage());
            context.prepareWeight(DType.F32, address, n, k);
            assertTrue(context.releaseWeight(address));
            assertTrue(context.releaseWeight(address), "again: a no-op");
            UnclipException other = assertThrows(UnclipException.class, () -> context.ops().linear(DType.F32, x.address(),
                    address, MemorySegment.NULL, MemorySegment.NULL, out.address(), 1, n / 2, 2 * k, Activation.NONE));
            assertTrue(other.getMessage().contains("released into its prepared copy of [64, 256]"), other.getMessage());
            assertThrows(UnclipException.class, () -> context.prepareWeight(DType.F32, address, n / 2, 2 * k));
            context.restoreWeight(address);
            assertArrayEquals(values, w.toFloatArray());
            context.prepareWeight(DType.F32, address, n / 2, 2 * k);  // restored: its memory holds it again
            context.forgetWeight(address);
        }
    }

    /**
     * out[i, j] = bias[j] + the running sum of x[i, p]·w[j, p] over p = 0 … k−1 in order, each
     * step one fused multiply-add: what the AVX-512 micro-kernel computes, bit for bit.
     */
    private static float[] runningSums(float[] x, float[] w, float[] bias, int m, int n, int k) {
        float[] out = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                float acc = 0f;
                for (int p = 0; p < k; p++) acc = Math.fma(x[i * k + p], w[j * k + p], acc);
                out[i * n + j] = acc + bias[j];
            }
        return out;
    }

    /** Bit for bit with the AVX-512 kernels; within float rounding of the same sums otherwise. */
    private static void assertSameSums(float[] expected, float[] actual, String what) {
        if (cpu.device().endsWith("AVX-512 GEMM")) {
            assertArrayEquals(expected, actual, what);
        } else {
            double error = OpHarness.relativeL2(actual, expected);
            assertTrue(error < 1e-5, what + ": relative L2 error " + error);
        }
    }

    @Test
    void aPanelTooLargeForTheCacheIsSummedInBlocksInTheSameOrder() {
        // k = 6000: a 64-column panel of 1.5 MB, summed in K blocks with the sums parked between
        // them; 13 rows (a partial row block), 150 columns (a partial panel).
        int m = 13, n = 150, k = 6000;
        float[] x = random(m * k, 60), w = random(n * k, 61), bias = random(n, 62);
        try (Tensor wt = cpu.fromFloats(DType.F32, w, n, k).markConstant(); Tensor xt = cpu.fromFloats(DType.F32, x, m, k);
             Tensor bt = cpu.fromFloats(DType.F32, bias, n); Tensor out = cpu.allocate(DType.F32, m, n)) {
            cpu.linear(xt, wt, bt, null, out, Activation.NONE);
            assertSameSums(runningSums(x, w, bias, m, n, k), out.toFloatArray(), "linear k = " + k);
        }
        // Convs: blocks of whole filter taps (Cin 400: 2 taps a block), and taps split across
        // blocks (Cin 1100), with the padding's zeros summed in place.
        for (int cin : new int[] {400, 1100}) {
            int h = 5, wd = 4, cout = 130;
            float[] xs = random(h * wd * cin, 63), cw = random(cout * 9 * cin, 64), cb = random(cout, 65);
            float[] patches = new float[h * wd * 9 * cin];  // im2col in the weight's (ky, kx, c) order
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < wd; xx++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = y + ky - 1, ix = xx + kx - 1;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                            System.arraycopy(xs, (iy * wd + ix) * cin, patches, ((y * wd + xx) * 9 + ky * 3 + kx) * cin, cin);
                        }
            try (Tensor weight = cpu.fromFloats(DType.F32, cw, cout, 3, 3, cin).markConstant();
                 Tensor b = cpu.fromFloats(DType.F32, cb, cout)) {
                assertSameSums(runningSums(patches, cw, cb, h * wd, cout, 9 * cin), conv(xs, 1, h, wd, cin, weight, b),
                        "conv Cin = " + cin);
            }
        }
    }

    @ParameterizedTest(name = "n = {0}")
    @ValueSource(ints = {75, 150})  // 32- and 64-column panels on AVX-512
    void aRowDoesNotDependOnTheOtherRowsOfTheCall(int n) {
        int m = 45, k = 300;
        float[] x = random(m * k, 7), bias = random(n, 8);
        try (Tensor w = cpu.fromFloats(DType.F32, random(n * k, 9), n, k).markConstant()) {
            float[] all = linear(x, w, bias, m, n, k);
            // Every sub-batch of at least 6 rows (the GEMM's; fewer take dot products): its rows equal the whole call's.
            for (int[] range : new int[][] {{0, 6}, {3, 16}, {17, 45}, {39, 45}}) {
                int rows = range[1] - range[0];
                float[] part = linear(Arrays.copyOfRange(x, range[0] * k, range[1] * k), w, bias, rows, n, k);
                assertArrayEquals(Arrays.copyOfRange(all, range[0] * n, range[1] * n), part, Arrays.toString(range));
            }
        }
    }

    @Test
    void anImageOfAConvBatchDoesNotDependOnTheOthers() {
        int h = 11, wd = 9, cin = 24, cout = 40;
        float[] x = random(3 * h * wd * cin, 11), bias = random(cout, 12);
        try (Tensor w = cpu.fromFloats(DType.F32, random(cout * 9 * cin, 13), cout, 3, 3, cin).markConstant();
             Tensor b = cpu.fromFloats(DType.F32, bias, cout)) {
            float[] all = conv(x, 3, h, wd, cin, w, b);
            for (int image = 0; image < 3; image++) {
                int size = h * wd * cin, outSize = h * wd * cout;
                float[] one = conv(Arrays.copyOfRange(x, image * size, (image + 1) * size), 1, h, wd, cin, w, b);
                assertArrayEquals(Arrays.copyOfRange(all, image * outSize, (image + 1) * outSize), one, "image " + image);
            }
        }
    }

    private static float[] conv(float[] x, int batch, int h, int wd, int cin, Tensor w, Tensor b) {
        int cout = (int) w.dim(0);
        try (Tensor xt = cpu.fromFloats(DType.F32, x, batch, h, wd, cin); Tensor out = cpu.allocate(DType.F32, batch, h, wd, cout)) {
            cpu.conv2d(xt, w, b, null, out, 1, 1, 1f);
            return out.toFloatArray();
        }
    }

    @Test
    void theResidualMayBeTheOutputItself() {
        int m = 20, n = 50, k = 70;
        float[] x = random(m * k, 14), r = random(m * n, 15);
        try (Tensor w = cpu.fromFloats(DType.F32, random(n * k, 16), n, k).markConstant();
             Tensor xt = cpu.fromFloats(DType.F32, x, m, k); Tensor residual = cpu.fromFloats(DType.F32, r, m, n);
             Tensor separate = cpu.allocate(DType.F32, m, n); Tensor inPlace = cpu.fromFloats(DType.F32, r, m, n)) {
            cpu.linear(xt, w, null, residual, separate, Activation.SILU);
            cpu.linear(xt, w, null, inPlace, inPlace, Activation.SILU);
            assertArrayEquals(separate.toFloatArray(), inPlace.toFloatArray());
        }
        int h = 6, wd = 7, cin = 16, cout = 20;
        try (Tensor w = cpu.fromFloats(DType.F32, random(cout * 9 * cin, 17), cout, 3, 3, cin).markConstant();
             Tensor xt = cpu.fromFloats(DType.F32, random(2 * h * wd * cin, 18), 2, h, wd, cin);
             Tensor residual = cpu.fromFloats(DType.F32, random(2 * h * wd * cout, 19), 2, h, wd, cout);
             Tensor separate = cpu.allocate(DType.F32, 2, h, wd, cout);
             Tensor inPlace = cpu.fromFloats(DType.F32, residual.toFloatArray(), 2, h, wd, cout)) {
            cpu.conv2d(xt, w, null, residual, separate, 1, 1, 2f);
            cpu.conv2d(xt, w, null, inPlace, inPlace, 1, 1, 2f);
            assertArrayEquals(separate.toFloatArray(), inPlace.toFloatArray());
        }
    }

    @Test
    void theKernelsAreTheOnesTheEnvironmentAsksFor() throws IOException {
        boolean portable = "portable".equals(System.getenv("UNCLIP_CPU_KERNELS"));
        boolean avx512 = Files.readString(Path.of("/proc/cpuinfo")).contains(" avx512f");
        String expected = portable || !avx512 ? "portable GEMM" : "AVX-512 GEMM";
        assertTrue(cpu.device().endsWith(expected), cpu.device() + " should end in " + expected);
    }
}
