package dev.unclip4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.bindings.Activation;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.nn.ResBlock.Resample;
import dev.unclip4j.ops.ConvReference;
import dev.unclip4j.ops.OpHarness;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The ResBlock stack on the CPU against diffusers' ResnetBlock2D written out in double precision
 * (from ConvReference's single-op references), for each variant Karlo uses: same channels,
 * channel change (1×1 shortcut), up (nearest 2×) and down (2×2 average pool), batch 2, odd sizes.
 */
class ResBlockTest {
    /**
     * Four chained f32 ops (two group norms, two convs over K ≤ 9·20), each a few 2^-24
     * roundings per element; measured 1.5e-7 to 2.4e-7 over the variants below. 2e-6 leaves
     * ~10×, while a swapped scale/shift, a missing shortcut or a wrong resample costs O(1).
     */
    private static final double TOLERANCE = 2e-6;
    private static final int N = 2, GROUPS = 4, TEMB = 7;
    private static final float EPS = 1e-5f;

    private static float[] random(SplittableRandom r, int n, double lo, double hi) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        return v;
    }

    /** [out, in, kh, kw] → [out, kh, kw, in]. */
    private static float[] ohwi(float[] w, int out, int in, int k) {
        float[] t = new float[w.length];
        for (int o = 0; o < out; o++)
            for (int i = 0; i < in; i++)
                for (int y = 0; y < k; y++)
                    for (int x = 0; x < k; x++) t[((o * k + y) * k + x) * in + i] = w[((o * in + i) * k + y) * k + x];
        return t;
    }

    @ParameterizedTest(name = "{0} → {1} {2}, {3}x{4}, scale {5}")
    @CsvSource({"12, 12, NONE, 6, 5, 1", "12, 20, NONE, 5, 7, 1", "12, 20, UP, 3, 5, 1", "20, 20, DOWN, 6, 5, 1",
                "12, 20, DOWN, 7, 6, 1.4142135"})
    void matchesDoubleReference(int cin, int cout, Resample resample, int h, int w, float scale) {
        SplittableRandom r = new SplittableRandom(1000L * cin + 10L * cout + h + resample.ordinal());
        float[] x = random(r, N * h * w * cin, -1, 3);
        float[] temb = random(r, N * TEMB, -2, 2);
        float[] g1 = random(r, cin, 0.5, 1.5), be1 = random(r, cin, -0.5, 0.5);
        float[] w1 = random(r, cout * cin * 9, -0.3, 0.3), c1b = random(r, cout, -0.5, 0.5);
        float[] wt = random(r, 2 * cout * TEMB, -0.3, 0.3), bt = random(r, 2 * cout, -0.3, 0.3);
        float[] g2 = random(r, cout, 0.5, 1.5), be2 = random(r, cout, -0.5, 0.5);
        float[] w2 = random(r, cout * cout * 9, -0.3, 0.3), c2b = random(r, cout, -0.5, 0.5);
        boolean shortcut = cin != cout;
        float[] ws = shortcut ? random(r, cout * cin, -0.5, 0.5) : null, wsb = shortcut ? random(r, cout, -0.5, 0.5) : null;

        // diffusers ResnetBlock2D.forward, in double.
        double[] hd = ConvReference.groupNorm(x, g1, be1, null, N, h * w, cin, GROUPS, EPS, Activation.SILU);
        double[] xd = new double[x.length];
        for (int i = 0; i < x.length; i++) xd[i] = x[i];
        int oh = h, ow = w;
        if (resample == Resample.UP) {
            hd = ConvReference.upsampleNearest2x(hd, N, h, w, cin);
            xd = ConvReference.upsampleNearest2x(xd, N, h, w, cin);
            oh = 2 * h;
            ow = 2 * w;
        } else if (resample == Resample.DOWN) {
            hd = ConvReference.avgPool2x2(hd, N, h, w, cin);
            xd = ConvReference.avgPool2x2(xd, N, h, w, cin);
            oh = h / 2;
            ow = w / 2;
        }
        double[] h1 = ConvReference.conv2d(hd, ohwi(w1, cout, cin, 3), c1b, null, N, oh, ow, cin, cout, 3, 3, 1, 1, 1);
        float[] ss = new float[N * 2 * cout];
        for (int b = 0; b < N; b++)
            for (int j = 0; j < 2 * cout; j++) {
                double acc = bt[j];
                for (int k = 0; k < TEMB; k++) {
                    double t = temb[b * TEMB + k];
                    acc += t / (1 + Math.exp(-t)) * wt[j * TEMB + k];
                }
                ss[b * 2 * cout + j] = (float) acc;  // one f32 rounding (~6e-8), far below the bound
            }
        double[] h2 = ConvReference.groupNorm(h1, g2, be2, ss, N, oh * ow, cout, GROUPS, EPS, Activation.SILU);
        double[] skip = shortcut ? ConvReference.conv2d(xd, ws, wsb, null, N, oh, ow, cin, cout, 1, 1, 1, 0, 1) : xd;
        double[] expected = ConvReference.conv2d(h2, ohwi(w2, cout, cout, 3), c2b, skip, N, oh, ow, cout, cout, 3, 3, 1, 1,
                scale);

        try (Backend cpu = Backend.cpu(); Workspace workspace = cpu.newWorkspace(1 << 16)) {
            List<Tensor> owned = new ArrayList<>();
            java.util.function.BiFunction<float[], long[], Tensor> t = (v, shape) -> {
                Tensor tensor = cpu.fromFloats(DType.F32, v, shape);
                owned.add(tensor);
                return tensor;
            };
            ResBlock.Weights weights = new ResBlock.Weights(t.apply(g1, new long[] {cin}), t.apply(be1, new long[] {cin}),
                    t.apply(w1, new long[] {cout, cin, 3, 3}), t.apply(c1b, new long[] {cout}),
                    t.apply(wt, new long[] {2L * cout, TEMB}), t.apply(bt, new long[] {2L * cout}),
                    t.apply(g2, new long[] {cout}), t.apply(be2, new long[] {cout}),
                    t.apply(w2, new long[] {cout, cout, 3, 3}), t.apply(c2b, new long[] {cout}),
                    shortcut ? t.apply(ws, new long[] {cout, cin, 1, 1}) : null,
                    shortcut ? t.apply(wsb, new long[] {cout}) : null);
            try (ResBlock block = new ResBlock(cpu, weights, GROUPS, EPS, scale, resample)) {
                Tensor xt = t.apply(x, new long[] {N, h, w, cin}), tt = t.apply(temb, new long[] {N, TEMB});
                long[] outShape = block.outputShape(xt.shape());
                assertEquals(List.of((long) N, (long) oh, (long) ow, (long) cout),
                        List.of(outShape[0], outShape[1], outShape[2], outShape[3]));
                Tensor out = cpu.allocate(DType.F32, outShape);
                owned.add(out);
                block.forward(xt, tt, out, workspace);
                double error = OpHarness.relativeL2(out.toFloatArray(), expected);
                assertTrue(error < TOLERANCE, "ResBlock vs double reference: relative L2 error " + error);
            } finally {
                owned.forEach(Tensor::close);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void shortcutMustMatchTheChannels() {
        try (Backend cpu = Backend.cpu(); Tensor w = cpu.allocate(DType.F32, 8, 4, 3, 3)) {
            ResBlock.Weights weights = new ResBlock.Weights(null, null, w, null, null, null, null, null, w, null, null, null);
            UnclipException e = assertThrows(UnclipException.class,
                    () -> new ResBlock(cpu, weights, 4, EPS, 1f, Resample.NONE));
            assertTrue(e.getMessage().contains("conv_shortcut is missing"), e.getMessage());
        }
    }
}
