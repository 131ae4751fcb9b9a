package dev.unclip4j.ops;

import dev.unclip4j.bindings.Activation;
import dev.unclip4j.ops.OpCase.Input;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Op-case rows of the convolution stack: uc_group_norm, uc_conv2d, uc_conv2d_weight_ohwi,
 * uc_upsample_nearest2x, uc_avg_pool2x2, uc_resize_bicubic_aa. Odd channel counts that still
 * divide the groups, odd spatial sizes, batch > 1, each epilogue option, and empty tensors.
 * The double-precision references here are also what {@link ConvReference} offers the
 * ResBlock test.
 */
public final class ConvOpCases {
    private ConvOpCases() {}

    // Statistics in double, then one f32 multiply-add and the activation per element: a few
    // 2^-24 roundings on values of order 1 (the folded per-channel factors are rounded once each).
    private static final double GROUP_NORM_TOL = 5e-6;
    private static final String GROUP_NORM_WHY = "f32 folded factors + one fma + expf: a few 2^-24 ≈ 6e-8 per element";
    // f32 dot products of length K = KH·KW·Cin ≤ 600: ~sqrt(K)·2^-24 ≈ 1.5e-6, as uc_linear.
    private static final double CONV_TOL = 1e-5;
    private static final String CONV_WHY = "f32 accumulation over K = KH·KW·Cin ≤ 600 terms: ~sqrt(K)·2^-24";
    private static final String EXACT_WHY = "a pure copy: bit-exact";
    private static final double POOL_TOL = 1e-6;
    private static final String POOL_WHY = "three f32 additions and an exact division by 4";
    // Weights computed in f32 as torch does (the reference: in double), then ≤ 2·(4·scale+1) f32
    // multiply-adds: a few 2^-24 relative per tap.
    private static final double RESIZE_TOL = 2e-6;
    private static final String RESIZE_WHY = "f32 weights (as torch) and f32 sums of ≤ 40 taps vs double";

    public static List<OpCase> all() {
        List<OpCase> cases = new ArrayList<>();
        // uc_group_norm: n, h, w, c, groups, affine, scale/shift, activation.
        cases.add(groupNorm(2, 5, 7, 12, 4, true, false, Activation.NONE));
        cases.add(groupNorm(3, 3, 9, 96, 32, true, true, Activation.SILU));
        cases.add(groupNorm(2, 8, 8, 320, 32, true, true, Activation.SILU));
        // Enough elements to run on every thread (group_norm.cpp: 256 K), few pixels: 4 chunks of rows an image.
        cases.add(groupNorm(2, 8, 16, 1280, 32, true, true, Activation.SILU));
        cases.add(groupNorm(1, 1, 1, 6, 3, true, false, Activation.SILU));
        cases.add(groupNorm(2, 4, 3, 45, 9, false, false, Activation.SILU));
        cases.add(groupNorm(2, 3, 5, 10, 1, false, true, Activation.NONE));
        cases.add(groupNorm(0, 3, 3, 8, 2, true, true, Activation.SILU));
        // Wide affine weights: normalised values over about ±100, through both tails of SiLU
        // (the cpu's vectorised SiLU clamps |v| at 100 and picks t/(1+t) for v < 0).
        cases.add(groupNorm(2, 9, 7, 64, 32, true, false, Activation.SILU, 40f));
        // uc_conv2d: n, h, w, cin, cout, k, stride, pad, bias, residual, output scale factor.
        cases.add(conv(2, 7, 9, 5, 19, 3, 1, 1, true, false, 1f));
        cases.add(conv(1, 8, 8, 16, 16, 3, 1, 1, true, true, 1f));
        cases.add(conv(2, 9, 7, 13, 21, 3, 2, 1, true, false, 1f));
        cases.add(conv(2, 6, 5, 11, 7, 1, 1, 0, true, true, 2f));
        cases.add(conv(1, 5, 5, 3, 4, 3, 2, 0, false, false, 1f));
        cases.add(conv(3, 4, 4, 33, 40, 3, 1, 1, true, true, (float) Math.sqrt(2)));
        cases.add(conv(1, 6, 7, 2, 3, 5, 1, 2, true, false, 1f));
        cases.add(conv(2, 16, 16, 64, 64, 3, 1, 1, true, true, 1f));
        cases.add(conv(1, 5, 4, 6, 34, 1, 2, 0, false, true, 1f));
        cases.add(conv(0, 5, 4, 6, 8, 3, 1, 1, true, false, 1f));
        // N·OH·OW = 64·256·256 = 4,194,304: 65,536 tiles of 64 output pixels, one past the CUDA
        // grid's y limit that refused it before rows moved to gridDim.x (issue 21).
        cases.add(conv(64, 256, 256, 1, 2, 3, 1, 1, true, false, 1f));
        // w prepared once (uc_weight_prepare): narrow and wide panels.
        cases.add(OpCases.prepared(conv(2, 7, 9, 5, 19, 3, 1, 1, true, false, 1f)));
        cases.add(OpCases.prepared(conv(2, 6, 5, 11, 7, 1, 1, 0, true, true, 2f)));
        cases.add(OpCases.prepared(conv(3, 4, 4, 33, 70, 3, 1, 1, true, true, 1f)));
        // 130 output channels: the AVX-512 GEMM's 64-column panels (from 128 on), with a 2-column tail.
        cases.add(conv(2, 5, 6, 7, 130, 3, 1, 1, true, true, 1f));
        // The CPU GEMM's vectorised epilogue has one loop per combination of bias, residual and
        // scale; with the rows above, every combination has a row.
        cases.add(conv(2, 6, 5, 4, 18, 3, 1, 1, false, false, 2f));
        cases.add(conv(1, 7, 6, 9, 70, 3, 1, 1, false, true, 0.5f));
        cases.add(conv(2, 5, 5, 3, 40, 3, 1, 1, true, false, 3f));
        // uc_conv2d_weight_ohwi: cout, cin, kh, kw.
        for (int[] s : new int[][] {{5, 3, 3, 3}, {7, 11, 1, 1}, {4, 6, 2, 5}, {0, 3, 3, 3}}) {
            cases.add(weightOhwi(s[0], s[1], s[2], s[3]));
        }
        // resize ops: x [n, h, w, c] (and the output size for bicubic).
        // The upsample's last: 327 K input elements, on every thread (cpu.h's kParallelLightElements).
        for (long[] x : new long[][] {{2, 3, 5, 7}, {1, 1, 1, 1}, {3, 4, 3, 33}, {0, 2, 2, 2}, {1, 16, 32, 640}}) {
            cases.add(upsample(x));
        }
        // The last: 1 M input elements, where the pool forks its team (cpu.h's kParallelCopyElements).
        for (long[] x : new long[][] {{2, 6, 8, 5}, {1, 7, 9, 3}, {2, 2, 2, 64}, {1, 1, 3, 2}, {1, 32, 64, 512}}) cases.add(avgPool(x));
        cases.add(bicubic(new long[] {2, 8, 8, 3}, 32, 32));
        cases.add(bicubic(new long[] {1, 37, 45, 3}, 16, 17));
        cases.add(bicubic(new long[] {2, 10, 12, 5}, 23, 7));
        cases.add(bicubic(new long[] {1, 5, 6, 2}, 5, 6));
        cases.add(bicubic(new long[] {1, 3, 1, 4}, 1, 9));
        return cases;
    }

    private static String shape(long... s) {
        return Arrays.toString(s);
    }

    // ---- uc_group_norm ------------------------------------------------------------------------

    private static OpCase groupNorm(int n, int h, int w, int c, int groups, boolean affine, boolean scaleShift,
                                    Activation act) {
        return groupNorm(n, h, w, c, groups, affine, scaleShift, act, 1.5f);
    }

    private static OpCase groupNorm(int n, int h, int w, int c, int groups, boolean affine, boolean scaleShift,
                                    Activation act, float gammaRange) {
        List<Input> inputs = new ArrayList<>();
        // An offset mean, so that the subtraction of the mean matters.
        inputs.add(new Input("x", new long[] {n, h, w, c}, -1, 3));
        if (affine) {
            inputs.add(new Input("gamma", new long[] {c}, gammaRange == 1.5f ? 0.5f : -gammaRange, gammaRange));
            inputs.add(new Input("beta", new long[] {c}, -0.5f, 0.5f));
        }
        if (scaleShift) inputs.add(new Input("scaleShift", new long[] {n, 2L * c}, -1, 1));
        String name = shape(n, h, w, c) + " groups=" + groups + (affine ? " +affine" : "")
                + (gammaRange != 1.5f ? " |gamma|<" + gammaRange : "")
                + (scaleShift ? " +scale/shift" : "") + (act != Activation.NONE ? " " + act : "");
        long numel = (long) n * h * w * c;
        return new OpCase("uc_group_norm", name, 101L * c + groups + h, inputs, new long[] {n, h, w, c},
                in -> {
                    float[] gamma = affine ? in[1] : null, beta = affine ? in[2] : null;
                    float[] ss = scaleShift ? in[affine ? 3 : 1] : null;
                    return ConvReference.groupNorm(in[0], gamma, beta, ss, n, h * w, c, groups, 1e-5, act);
                },
                (backend, in, out) -> backend.groupNorm(in[0], affine ? in[1] : null, affine ? in[2] : null,
                        scaleShift ? in[affine ? 3 : 1] : null, out, groups, 1e-5f, act),
                GROUP_NORM_TOL, GROUP_NORM_WHY, 8.0 * numel, 2.0 * numel);
    }

    // ---- uc_conv2d ----------------------------------------------------------------------------

    private static OpCase conv(int n, int h, int w, int cin, int cout, int k, int stride, int pad, boolean bias,
                               boolean residual, float scale) {
        int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
        List<Input> inputs = new ArrayList<>();
        inputs.add(new Input("x", new long[] {n, h, w, cin}, -1, 1));
        inputs.add(new Input("w", new long[] {cout, k, k, cin}, -1, 1));
        if (bias) inputs.add(new Input("bias", new long[] {cout}, -1, 1));
        if (residual) inputs.add(new Input("residual", new long[] {n, oh, ow, cout}, -1, 1));
        String name = shape(n, h, w, cin) + " → " + cout + " k=" + k + " s=" + stride + " p=" + pad + (bias ? " +bias" : "")
                + (residual ? " +residual" : "") + (scale != 1f ? " /" + scale : "");
        double macs = (double) n * oh * ow * cout * k * k * cin;
        return new OpCase("uc_conv2d", name, 7L * h + 13L * cin + cout + k, inputs, new long[] {n, oh, ow, cout},
                in -> {
                    float[] b = bias ? in[2] : null, r = residual ? in[bias ? 3 : 2] : null;
                    return ConvReference.conv2d(in[0], in[1], b, r, n, h, w, cin, cout, k, k, stride, pad, scale);
                },
                (backend, in, out) -> backend.conv2d(in[0], in[1], bias ? in[2] : null,
                        residual ? in[bias ? 3 : 2] : null, out, stride, pad, scale),
                CONV_TOL, CONV_WHY, 2 * macs,
                (double) n * h * w * cin + (double) cout * k * k * cin + (residual ? 2.0 : 1.0) * n * oh * ow * cout);
    }

    private static OpCase weightOhwi(int cout, int cin, int kh, int kw) {
        long numel = (long) cout * cin * kh * kw;
        return new OpCase("uc_conv2d_weight_ohwi", shape(cout, cin, kh, kw), 5L + numel,
                List.of(new Input("w", new long[] {cout, cin, kh, kw}, -1, 1)), new long[] {cout, kh, kw, cin},
                in -> {
                    double[] out = new double[(int) numel];
                    for (int o = 0; o < cout; o++)
                        for (int i = 0; i < cin; i++)
                            for (int y = 0; y < kh; y++)
                                for (int x = 0; x < kw; x++) {
                                    out[((o * kh + y) * kw + x) * cin + i] = in[0][((o * cin + i) * kh + y) * kw + x];
                                }
                    return out;
                },
                (backend, in, out) -> backend.conv2dWeightOhwi(in[0], out), 0, EXACT_WHY, 0, 2.0 * numel);
    }

    // ---- resize -------------------------------------------------------------------------------

    private static OpCase upsample(long[] x) {
        int n = (int) x[0], h = (int) x[1], w = (int) x[2], c = (int) x[3];
        long outNumel = 4L * n * h * w * c;
        return new OpCase("uc_upsample_nearest2x", shape(x), 17L * h + c, List.of(new Input("x", x, -1, 1)),
                new long[] {n, 2L * h, 2L * w, c},
                in -> ConvReference.upsampleNearest2x(in[0], n, h, w, c),
                (backend, in, out) -> backend.upsampleNearest2x(in[0], out), 0, EXACT_WHY, 0, outNumel * 1.25);
    }

    private static OpCase avgPool(long[] x) {
        int n = (int) x[0], h = (int) x[1], w = (int) x[2], c = (int) x[3];
        long outNumel = (long) n * (h / 2) * (w / 2) * c;
        return new OpCase("uc_avg_pool2x2", shape(x), 19L * h + c, List.of(new Input("x", x, -1, 1)),
                new long[] {n, h / 2, w / 2, c},
                in -> ConvReference.avgPool2x2(in[0], n, h, w, c),
                (backend, in, out) -> backend.avgPool2x2(in[0], out), POOL_TOL, POOL_WHY, 4.0 * outNumel, 5.0 * outNumel);
    }

    private static OpCase bicubic(long[] x, int oh, int ow) {
        int n = (int) x[0], h = (int) x[1], w = (int) x[2], c = (int) x[3];
        long outNumel = (long) n * oh * ow * c;
        return new OpCase("uc_resize_bicubic_aa", shape(x) + " → " + oh + "x" + ow, 23L * h + w + oh,
                List.of(new Input("x", x, -1, 1)), new long[] {n, oh, ow, c},
                in -> ConvReference.resizeBicubicAa(in[0], n, h, w, c, oh, ow),
                (backend, in, out) -> backend.resizeBicubicAa(in[0], out), RESIZE_TOL, RESIZE_WHY,
                2.0 * ((double) n * h * ow * c * 4 * Math.max(1.0, (double) w / ow)
                        + outNumel * 4 * Math.max(1.0, (double) h / oh)),
                (double) n * h * w * c + outNumel);
    }
}
