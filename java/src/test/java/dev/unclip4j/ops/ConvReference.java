package dev.unclip4j.ops;

import dev.unclip4j.bindings.Activation;

/**
 * The convolution stack's ops in plain double precision, NHWC, written from their definitions
 * (torch's GroupNorm, Conv2d, F.interpolate, F.avg_pool2d) rather than from the kernels.
 */
public final class ConvReference {
    private ConvReference() {}

    /** act((norm(x)·gamma + beta)·(1 + scale) + shift); gamma, beta, scaleShift may be null. */
    public static double[] groupNorm(float[] x, float[] gamma, float[] beta, float[] scaleShift, int n, int hw, int c,
                                     int groups, double eps, Activation act) {
        double[] xd = new double[x.length];
        for (int i = 0; i < x.length; i++) xd[i] = x[i];
        return groupNorm(xd, gamma, beta, scaleShift, n, hw, c, groups, eps, act);
    }

    public static double[] groupNorm(double[] x, float[] gamma, float[] beta, float[] scaleShift, int n, int hw, int c,
                                     int groups, double eps, Activation act) {
        double[] out = new double[x.length];
        int cg = c / groups;
        for (int b = 0; b < n; b++)
            for (int g = 0; g < groups; g++) {
                double sum = 0;
                for (int p = 0; p < hw; p++)
                    for (int j = 0; j < cg; j++) sum += x[(b * hw + p) * c + g * cg + j];
                double mean = sum / ((double) hw * cg), sq = 0;
                for (int p = 0; p < hw; p++)
                    for (int j = 0; j < cg; j++) {
                        double d = x[(b * hw + p) * c + g * cg + j] - mean;
                        sq += d * d;
                    }
                double rstd = 1 / Math.sqrt(sq / ((double) hw * cg) + eps);
                for (int p = 0; p < hw; p++)
                    for (int j = 0; j < cg; j++) {
                        int ch = g * cg + j, i = (b * hw + p) * c + ch;
                        double v = (x[i] - mean) * rstd;
                        if (gamma != null) v = v * gamma[ch] + beta[ch];
                        if (scaleShift != null) v = v * (1 + scaleShift[b * 2 * c + ch]) + scaleShift[b * 2 * c + c + ch];
                        out[i] = OpCases.activationReference(act, v);
                    }
            }
        return out;
    }

    /** (conv(x, w) + bias + residual) / scale; x [n,h,w,cin], w [cout,kh,kw,cin], zero padding. */
    public static double[] conv2d(float[] x, float[] w, float[] bias, float[] residual, int n, int h, int width, int cin,
                                  int cout, int kh, int kw, int stride, int pad, double scale) {
        double[] xd = new double[x.length];
        for (int i = 0; i < x.length; i++) xd[i] = x[i];
        double[] r = null;
        if (residual != null) {
            r = new double[residual.length];
            for (int i = 0; i < r.length; i++) r[i] = residual[i];
        }
        return conv2d(xd, w, bias, r, n, h, width, cin, cout, kh, kw, stride, pad, scale);
    }

    public static double[] conv2d(double[] x, float[] w, float[] bias, double[] residual, int n, int h, int width,
                                  int cin, int cout, int kh, int kw, int stride, int pad, double scale) {
        int oh = (h + 2 * pad - kh) / stride + 1, ow = (width + 2 * pad - kw) / stride + 1;
        double[] out = new double[n * oh * ow * cout];
        for (int b = 0; b < n; b++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    for (int o = 0; o < cout; o++) {
                        double acc = 0;
                        for (int ky = 0; ky < kh; ky++) {
                            int iy = oy * stride - pad + ky;
                            if (iy < 0 || iy >= h) continue;
                            for (int kx = 0; kx < kw; kx++) {
                                int ix = ox * stride - pad + kx;
                                if (ix < 0 || ix >= width) continue;
                                int xi = ((b * h + iy) * width + ix) * cin, wi = ((o * kh + ky) * kw + kx) * cin;
                                for (int i = 0; i < cin; i++) acc += x[xi + i] * w[wi + i];
                            }
                        }
                        int oi = ((b * oh + oy) * ow + ox) * cout + o;
                        if (bias != null) acc += bias[o];
                        if (residual != null) acc += residual[oi];
                        out[oi] = acc / scale;
                    }
        return out;
    }

    public static double[] upsampleNearest2x(float[] x, int n, int h, int w, int c) {
        double[] xd = new double[x.length];
        for (int i = 0; i < x.length; i++) xd[i] = x[i];
        return upsampleNearest2x(xd, n, h, w, c);
    }

    public static double[] upsampleNearest2x(double[] x, int n, int h, int w, int c) {
        double[] out = new double[4 * n * h * w * c];
        for (int b = 0; b < n; b++)
            for (int y = 0; y < 2 * h; y++)
                for (int xx = 0; xx < 2 * w; xx++)
                    for (int ch = 0; ch < c; ch++) {
                        out[((b * 2 * h + y) * 2 * w + xx) * c + ch] = x[((b * h + y / 2) * w + xx / 2) * c + ch];
                    }
        return out;
    }

    public static double[] avgPool2x2(float[] x, int n, int h, int w, int c) {
        double[] xd = new double[x.length];
        for (int i = 0; i < x.length; i++) xd[i] = x[i];
        return avgPool2x2(xd, n, h, w, c);
    }

    public static double[] avgPool2x2(double[] x, int n, int h, int w, int c) {
        int oh = h / 2, ow = w / 2;
        double[] out = new double[n * oh * ow * c];
        for (int b = 0; b < n; b++)
            for (int y = 0; y < oh; y++)
                for (int xx = 0; xx < ow; xx++)
                    for (int ch = 0; ch < c; ch++) {
                        double s = 0;
                        for (int dy = 0; dy < 2; dy++)
                            for (int dx = 0; dx < 2; dx++) s += x[((b * h + 2 * y + dy) * w + 2 * xx + dx) * c + ch];
                        out[((b * oh + y) * ow + xx) * c + ch] = s / 4;
                    }
        return out;
    }

    /**
     * torch F.interpolate(mode="bicubic", align_corners=False, antialias=True), from the
     * definition in aten/src/ATen/native/cpu/UpSampleKernel.cpp (_compute_weights_aa): the Keys
     * cubic with a = −0.5, stretched by the downscale factor, taps outside the image dropped and
     * the rest renormalised; separable.
     */
    public static double[] resizeBicubicAa(float[] x, int n, int h, int w, int c, int oh, int ow) {
        double[][] wy = aaWeights(h, oh), wx = aaWeights(w, ow);
        int[] fy = aaFirst(h, oh), fx = aaFirst(w, ow);
        double[] out = new double[n * oh * ow * c];
        for (int b = 0; b < n; b++)
            for (int y = 0; y < oh; y++)
                for (int xx = 0; xx < ow; xx++)
                    for (int ch = 0; ch < c; ch++) {
                        double acc = 0;
                        for (int i = 0; i < wy[y].length; i++)
                            for (int j = 0; j < wx[xx].length; j++) {
                                acc += wy[y][i] * wx[xx][j] * x[((b * h + fy[y] + i) * w + fx[xx] + j) * c + ch];
                            }
                        out[((b * oh + y) * ow + xx) * c + ch] = acc;
                    }
        return out;
    }

    private static double cubic(double x) {
        double a = -0.5;
        x = Math.abs(x);
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
        return 0;
    }

    private static double[] aaSpan(int in, int out, int i) {
        double scale = (double) in / out;
        double support = scale >= 1 ? 2 * scale : 2;
        double center = scale * (i + 0.5);
        int first = Math.max((int) (center - support + 0.5), 0);
        int last = Math.min((int) (center + support + 0.5), in);
        return new double[] {scale, center, first, last - first};
    }

    static int[] aaFirst(int in, int out) {
        int[] first = new int[out];
        for (int i = 0; i < out; i++) first[i] = (int) aaSpan(in, out, i)[2];
        return first;
    }

    static double[][] aaWeights(int in, int out) {
        double[][] weights = new double[out][];
        for (int i = 0; i < out; i++) {
            double[] span = aaSpan(in, out, i);
            double scale = span[0], center = span[1], invscale = scale >= 1 ? 1 / scale : 1;
            int first = (int) span[2], count = (int) span[3];
            double[] wi = new double[count];
            double total = 0;
            for (int j = 0; j < count; j++) total += wi[j] = cubic((j + first - center + 0.5) * invscale);
            if (total != 0) for (int j = 0; j < count; j++) wi[j] /= total;
            weights[i] = wi;
        }
        return weights;
    }
}
