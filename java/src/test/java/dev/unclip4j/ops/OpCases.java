package dev.unclip4j.ops;

import dev.unclip4j.bindings.Activation;
import dev.unclip4j.ops.OpCase.Input;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The op-case table: every op of unclip.h has rows here, and every backend is checked against
 * them (OpCasesTest). Adding an op means adding rows; OpTableCoverageTest fails otherwise.
 */
public final class OpCases {
    private OpCases() {}

    // One f32 rounding per output element: relative error ≤ 2^-24 ≈ 6e-8; 1e-6 leaves margin
    // for the one or two extra roundings of a fused epilogue.
    private static final double ELEMENTWISE_TOL = 1e-6;
    private static final String ELEMENTWISE_WHY = "one or two f32 roundings per element (2^-24 each)";
    // expf/tanhf/erff are within a few ulp in float; a few roundings more around them.
    private static final double ACTIVATION_TOL = 2e-6;
    private static final String ACTIVATION_WHY = "f32 expf/tanhf/erff are within ~4 ulp (≈ 5e-7)";
    // f32 dot products of length k: rounding error grows like sqrt(k)·2^-24 (≈ 2e-6 at k = 800).
    private static final double LINEAR_TOL = 1e-5;
    private static final String EXACT_WHY = "a copy: every value moves unchanged";
    private static final String LINEAR_WHY = "f32 accumulation over k ≤ 800 terms: ~sqrt(k)·2^-24 ≈ 2e-6";

    public static List<OpCase> all() {
        List<OpCase> cases = new ArrayList<>();
        // uc_add / uc_mul: same shape, per-channel broadcast, odd sizes, empty.
        long[][][] binaryShapes = {
            {{1}, {1}}, {{1000}, {1000}}, {{7, 13, 33}, {7, 13, 33}}, {{4, 37}, {37}}, {{2, 5, 3, 64}, {64}},
            {{3, 9, 11}, {9, 11}}, {{0, 8}, {8}}};
        for (long[][] s : binaryShapes) {
            cases.add(binary("uc_add", s[0], s[1]));
            cases.add(binary("uc_mul", s[0], s[1]));
        }
        // Chunks of 16 K outputs that start and end inside a broadcast row; from 1 M elements the
        // op forks its team (cpu.h's kParallelCopyElements), unbroadcast as well.
        cases.add(binary("uc_add", new long[] {3, 20_000}, new long[] {20_000}));
        cases.add(binary("uc_mul", new long[] {1100, 1000}, new long[] {1000}));
        cases.add(binary("uc_add", new long[] {1_048_583}, new long[] {1_048_583}));
        // uc_activate: each activation over the range where its curvature lives, odd sizes.
        for (Activation act : List.of(Activation.SILU, Activation.GELU_TANH, Activation.GELU_ERF, Activation.QUICK_GELU)) {
            for (long[] shape : new long[][] {{1}, {1001}, {3, 4097}}) cases.add(activate(act, shape));
        }
        // On every thread: the vectorised ones from 256 K elements, GELU-erf (libm per element) from 128 K.
        cases.add(activate(Activation.SILU, new long[] {3, 100_003}));
        cases.add(activate(Activation.GELU_ERF, new long[] {150_001}));
        // uc_copy_2d: a concatenation and a slice along the last dim, odd widths, one row, empty.
        // 3300 × 320 floats a copy: past kParallelCopyElements, on every thread.
        for (long[] c : new long[][] {{1, 1, 1}, {7, 13, 33}, {2 * 64, 320, 320}, {3300, 320, 320}, {3, 0, 5}, {0, 4, 4}}) {
            cases.add(concat(c[0], c[1], c[2]));
        }
        cases.add(slice(5, 77 * 12, 76 * 12, 12));
        cases.add(slice(33, 17, 3, 9));
        // uc_linear: (m, n, k, bias, residual, act); odd sizes, k = 0 and 1, the epilogue's options.
        cases.add(linear(1, 1, 1, false, false, Activation.NONE));
        cases.add(linear(7, 13, 33, true, false, Activation.NONE));
        cases.add(linear(6, 16, 64, false, false, Activation.NONE));
        cases.add(linear(37, 70, 129, true, true, Activation.GELU_TANH));
        cases.add(linear(2, 768, 768, true, false, Activation.QUICK_GELU));
        cases.add(linear(64, 96, 300, false, true, Activation.SILU));
        cases.add(linear(19, 33, 65, true, true, Activation.GELU_ERF));
        cases.add(linear(5, 3, 0, true, true, Activation.NONE));
        cases.add(linear(3, 37, 200, true, true, Activation.GELU_TANH));  // the few-rows (dot) path, full epilogue
        // ≥ 8 M multiply-adds: the GEMM forks its OpenMP team (cpu.h's threshold); the few-row path forks by the
        // size of w instead (128 K elements: linear(2, 768, 768) above); the other rows above stay on one thread.
        cases.add(linear(300, 200, 160, true, true, Activation.GELU_TANH));
        // w prepared once (uc_weight_prepare): the CPU's packed panels, narrow (n ≤ 16) and wide, few and many rows.
        cases.add(prepared(linear(37, 70, 129, true, true, Activation.GELU_TANH)));
        cases.add(prepared(linear(9, 13, 40, true, false, Activation.NONE)));
        cases.add(prepared(linear(2, 40, 64, true, false, Activation.SILU)));
        // Few rows over a weight large enough to be released (rows unpacked from the panels) and to
        // be split over the threads (n·k ≥ cpu.h's kParallelElements).
        cases.add(prepared(linear(2, 300, 500, true, true, Activation.SILU)));
        cases.add(prepared(linear(300, 200, 160, false, true, Activation.NONE)));
        // m past 65,535 tiles of 64 rows = 4,194,240, where the CUDA grid's y limit stopped the
        // first kernel (issue 21: rows are on gridDim.x now); narrow, so it stays cheap.
        cases.add(linear(4_194_305, 3, 2, true, false, Activation.NONE));
        randomShapes(cases);
        // Each op family keeps its rows in its own class.
        // transformer
        cases.addAll(TransformerOpCases.all());
        // convolution stack
        cases.addAll(ConvOpCases.all());
        return cases;
    }

    /** Rows whose shapes and options are drawn from a seeded generator: sizes nobody picked. */
    private static void randomShapes(List<OpCase> cases) {
        SplittableRandom random = new SplittableRandom(20261123);
        Activation[] acts = Activation.values();
        for (int i = 0; i < 4; i++) {
            int rank = 1 + random.nextInt(4);
            long[] a = new long[rank];
            for (int d = 0; d < rank; d++) a[d] = 1 + random.nextInt(23);
            long[] b = Arrays.copyOfRange(a, random.nextInt(rank), rank);
            cases.add(binary(i % 2 == 0 ? "uc_add" : "uc_mul", a, b));
            cases.add(activate(acts[1 + random.nextInt(acts.length - 1)], a));
            cases.add(linear(1 + random.nextInt(90), 1 + random.nextInt(90), 1 + random.nextInt(200),
                    random.nextBoolean(), random.nextBoolean(), acts[random.nextInt(acts.length)]));
        }
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    private static String shape(long[] s) {
        return Arrays.toString(s);
    }

    private static OpCase binary(String op, long[] aShape, long[] bShape) {
        boolean add = op.equals("uc_add");
        long n = numel(aShape), nb = Math.max(1, numel(bShape));
        return new OpCase(op, shape(aShape) + " with " + shape(bShape), 11 + n, List.of(
                new Input("a", aShape, -2, 2), new Input("b", bShape, -2, 2)), aShape,
                in -> {
                    double[] out = new double[in[0].length];
                    for (int i = 0; i < out.length; i++) {
                        double a = in[0][i], b = in[1][(int) (i % nb)];
                        out[i] = add ? a + b : a * b;
                    }
                    return out;
                },
                (backend, in, out) -> {
                    if (add) backend.add(in[0], in[1], out);
                    else backend.mul(in[0], in[1], out);
                },
                ELEMENTWISE_TOL, ELEMENTWISE_WHY, n, 2.0 * n + nb);
    }

    static double activationReference(Activation act, double x) {
        return switch (act) {
            case SILU -> x / (1 + Math.exp(-x));
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case GELU_ERF -> 0.5 * x * (1 + Erf.erf(x / Math.sqrt(2)));
            case QUICK_GELU -> x / (1 + Math.exp(-1.702 * x));
            case NONE -> x;
        };
    }

    private static OpCase activate(Activation act, long[] shape) {
        long n = numel(shape);
        return new OpCase("uc_activate", act + " " + shape(shape), 23 + n, List.of(new Input("x", shape, -8, 8)), shape,
                in -> {
                    double[] out = new double[in[0].length];
                    for (int i = 0; i < out.length; i++) out[i] = activationReference(act, in[0][i]);
                    return out;
                },
                (backend, in, out) -> backend.activate(act, in[0], out),
                ACTIVATION_TOL, ACTIVATION_WHY, 8.0 * n, 2.0 * n);
    }

    // out = a ‖ b along the last dim: two uc_copy_2d calls, each filling its columns of out.
    private static OpCase concat(long rows, long ca, long cb) {
        long[] outShape = {rows, ca + cb};
        return new OpCase("uc_copy_2d", "concat [" + rows + ", " + ca + "] ‖ [" + rows + ", " + cb + "]", 41 + rows * ca + cb,
                List.of(new Input("a", new long[] {rows, ca}, -2, 2), new Input("b", new long[] {rows, cb}, -2, 2)),
                outShape,
                in -> {
                    double[] out = new double[(int) (rows * (ca + cb))];
                    for (int r = 0; r < rows; r++) {
                        for (int c = 0; c < ca; c++) out[(int) (r * (ca + cb) + c)] = in[0][(int) (r * ca + c)];
                        for (int c = 0; c < cb; c++) out[(int) (r * (ca + cb) + ca + c)] = in[1][(int) (r * cb + c)];
                    }
                    return out;
                },
                (backend, in, out) -> {
                    backend.copyColumns(in[0], 0, out, 0, ca);
                    backend.copyColumns(in[1], 0, out, ca, cb);
                },
                0, EXACT_WHY, 0, 2.0 * rows * (ca + cb));
    }

    // out = x[:, from:from + cols]: the prior's last token, a column block of a GEMM's output.
    private static OpCase slice(long rows, long width, long from, long cols) {
        return new OpCase("uc_copy_2d", "slice [" + rows + ", " + width + "][:, " + from + ":" + (from + cols) + "]",
                43 + rows * width + from, List.of(new Input("x", new long[] {rows, width}, -2, 2)), new long[] {rows, cols},
                in -> {
                    double[] out = new double[(int) (rows * cols)];
                    for (int r = 0; r < rows; r++)
                        for (int c = 0; c < cols; c++) out[(int) (r * cols + c)] = in[0][(int) (r * width + from + c)];
                    return out;
                },
                (backend, in, out) -> backend.copyColumns(in[0], from, out, 0, cols),
                0, EXACT_WHY, 0, 2.0 * rows * cols);
    }

    /** The same row with w marked constant, so that the backend prepares it before the op runs. */
    static OpCase prepared(OpCase c) {
        return new OpCase(c.op(), c.name() + " prepared w", c.seed(), c.inputs(), c.outShape(), c.reference(),
                (backend, in, out) -> {
                    in[1].markConstant();
                    c.runner().run(backend, in, out);
                }, c.tolerance(), c.why(), c.flops(), c.elementsMoved());
    }

    private static OpCase linear(int m, int n, int k, boolean bias, boolean residual, Activation act) {
        List<Input> inputs = new ArrayList<>();
        inputs.add(new Input("x", new long[] {m, k}, -1, 1));
        inputs.add(new Input("w", new long[] {n, k}, -1, 1));
        if (bias) inputs.add(new Input("bias", new long[] {n}, -1, 1));
        if (residual) inputs.add(new Input("residual", new long[] {m, n}, -1, 1));
        String name = "m=" + m + " n=" + n + " k=" + k + (bias ? " +bias" : "") + (act != Activation.NONE ? " " + act : "")
                + (residual ? " +residual" : "");
        return new OpCase("uc_linear", name, 31L * m + 7L * n + k, inputs, new long[] {m, n},
                in -> {
                    double[] out = new double[m * n];
                    int r = 2;
                    float[] b = bias ? in[r++] : null;
                    float[] res = residual ? in[r] : null;
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++) {
                            double acc = 0;
                            for (int p = 0; p < k; p++) acc += (double) in[0][i * k + p] * in[1][j * k + p];
                            if (b != null) acc += b[j];
                            acc = activationReference(act, acc);
                            if (res != null) acc += res[i * n + j];
                            out[i * n + j] = acc;
                        }
                    return out;
                },
                (backend, in, out) -> backend.linear(in[0], in[1], bias ? in[2] : null,
                        residual ? in[bias ? 3 : 2] : null, out, act),
                LINEAR_TOL, LINEAR_WHY, 2.0 * m * n * k,
                (double) m * k + (double) n * k + (bias ? n : 0) + (residual ? 2.0 : 1.0) * m * n);
    }
}
