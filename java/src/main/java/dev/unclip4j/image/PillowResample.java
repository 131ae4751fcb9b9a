package dev.unclip4j.image;

/**
 * Pillow's {@code Image.resize} for 8-bit images (src/libImaging/Resample.c, unchanged in this
 * respect from Pillow 9 to 11), ported so CLIP's preprocessing gives Pillow's bytes exactly —
 * a float bicubic is off by up to a few levels, enough to move an embedding past 1e-4:
 *
 * <ul>
 *   <li>one filter per output pixel, centred at {@code in0 + (xx + 0.5) * scale}, its support
 *       widened by the scale when shrinking ({@code filterscale = max(scale, 1)}), taps from
 *       {@code (int)(center − support + 0.5)} to {@code (int)(center + support + 0.5)} clipped
 *       to the image, weights {@code filter((x + xmin − center + 0.5) / filterscale)} normalised
 *       to sum 1 (precompute_coeffs);
 *   <li>weights rounded to fixed point with PRECISION_BITS = 32 − 8 − 2 = 22 fraction bits,
 *       away from zero (normalize_coeffs_8bpc);
 *   <li>each output sample {@code clip8((1 << 21) + Σ in·k)}, clip8 = {@code >> 22} clamped to
 *       0..255, in int32 (the same overflow behaviour as C for these ranges);
 *   <li>horizontal pass first (only over the rows the vertical pass reads), then vertical, each
 *       skipped when that axis keeps its size (ImagingResampleInner); same size: a copy.
 * </ul>
 */
public final class PillowResample {
    private PillowResample() {}

    static final int PRECISION_BITS = 32 - 8 - 2;

    /** Pillow's resampling filters (Image.Resampling), with their support. */
    public enum Filter {
        BOX(4, 0.5), BILINEAR(2, 1.0), HAMMING(5, 1.0), BICUBIC(3, 2.0), LANCZOS(1, 3.0);

        /** The number preprocessor_config.json's "resample" uses (PIL.Image.Resampling). */
        public final int pilCode;
        final double support;

        Filter(int pilCode, double support) {
            this.pilCode = pilCode;
            this.support = support;
        }

        /** The filter of a PIL resampling code; NEAREST (0) and unknown codes are errors. */
        public static Filter ofPilCode(int code) {
            for (Filter f : values()) if (f.pilCode == code) return f;
            throw new ImageFormatException("unsupported resample " + code + " (supported: 1 LANCZOS, 2 BILINEAR, "
                    + "3 BICUBIC, 4 BOX, 5 HAMMING)");
        }

        double eval(double x) {
            switch (this) {
                case BOX:
                    return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
                case BILINEAR:
                    x = Math.abs(x);
                    return x < 1.0 ? 1.0 - x : 0.0;
                case HAMMING:
                    x = Math.abs(x);
                    if (x == 0.0) return 1.0;
                    if (x >= 1.0) return 0.0;
                    x = x * Math.PI;
                    return Math.sin(x) / x * (0.54f + 0.46f * Math.cos(x));
                case BICUBIC: {
                    final double a = -0.5;
                    x = Math.abs(x);
                    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
                    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
                    return 0.0;
                }
                case LANCZOS:
                    return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
                default:
                    throw new IllegalStateException();
            }
        }

        private static double sinc(double x) {
            if (x == 0.0) return 1.0;
            x = x * Math.PI;
            return Math.sin(x) / x;
        }
    }

    /** Fixed-point taps of one axis: for output i, {@code count[i]} weights from input {@code first[i]}. */
    record Coefficients(int ksize, int[] first, int[] count, int[] weights) {}

    /** precompute_coeffs + normalize_coeffs_8bpc for the box [in0, in1) of an axis of {@code inSize}. */
    static Coefficients coefficients(int inSize, float in0, float in1, int outSize, Filter filter) {
        double scale = (double) (in1 - in0) / outSize;
        double filterscale = Math.max(scale, 1.0);
        double support = filter.support * filterscale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] first = new int[outSize], count = new int[outSize], weights = new int[outSize * ksize];
        double[] k = new double[ksize];
        double invFilterscale = 1.0 / filterscale;
        for (int xx = 0; xx < outSize; xx++) {
            double center = in0 + (xx + 0.5) * scale;
            double ww = 0.0;
            int xmin = (int) (center - support + 0.5);
            if (xmin < 0) xmin = 0;
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) xmax = inSize;
            xmax -= xmin;
            for (int x = 0; x < xmax; x++) {
                double w = filter.eval((x + xmin - center + 0.5) * invFilterscale);
                k[x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++) {
                if (ww != 0.0) k[x] /= ww;
                // C's (int) truncates toward zero, as Java's cast does.
                weights[xx * ksize + x] = k[x] < 0 ? (int) (-0.5 + k[x] * (1 << PRECISION_BITS))
                        : (int) (0.5 + k[x] * (1 << PRECISION_BITS));
            }
            first[xx] = xmin;
            count[xx] = xmax;
        }
        return new Coefficients(ksize, first, count, weights);
    }

    private static int clip8(int in) {
        int v = in >> PRECISION_BITS;
        return v < 0 ? 0 : Math.min(v, 255);
    }

    /** {@code Image.resize((width, height), filter)} of an RGB image (box = the whole image, no reducing_gap). */
    public static RgbImage resize(RgbImage in, int width, int height, Filter filter) {
        return new RgbImage(width, height, resize(in.rgb(), in.width(), in.height(), 3, width, height, filter));
    }

    /**
     * ImagingResample on interleaved 8-bit samples, {@code bands} (1–4) per pixel: Pillow's
     * L/LA/RGB/RGBA modes (it stores 2- and 3-band pixels in 4 bytes but computes each band
     * alone, as here). Returns {@code height × width × bands} bytes.
     */
    public static byte[] resize(byte[] src, int inW, int inH, int bands, int width, int height, Filter filter) {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("bad size " + width + "×" + height);
        if (bands < 1 || bands > 4 || src.length != inW * inH * bands) throw new IllegalArgumentException("bad image buffer");
        if (width == inW && height == inH) return src.clone();
        boolean needH = width != inW, needV = height != inH;
        Coefficients horiz = coefficients(inW, 0f, inW, width, filter);
        Coefficients vert = coefficients(inH, 0f, inH, height, filter);
        int yFirst = vert.first[0];
        int yLast = vert.first[height - 1] + vert.count[height - 1];
        int[] sum = new int[bands];
        int srcW = inW, srcRowOffset = 0;
        if (needH) {
            // Horizontal pass over the rows the vertical pass reads; the vertical bounds shift with them.
            int rows = yLast - yFirst;
            byte[] tmp = new byte[rows * width * bands];
            for (int yy = 0; yy < rows; yy++) {
                int inRow = (yy + yFirst) * inW * bands, outRow = yy * width * bands;
                for (int xx = 0; xx < width; xx++) {
                    int xmin = horiz.first[xx], n = horiz.count[xx], kb = xx * horiz.ksize;
                    java.util.Arrays.fill(sum, 1 << (PRECISION_BITS - 1));
                    for (int x = 0; x < n; x++) {
                        int w = horiz.weights[kb + x], p = inRow + (x + xmin) * bands;
                        for (int c = 0; c < bands; c++) sum[c] += (src[p + c] & 0xff) * w;
                    }
                    for (int c = 0; c < bands; c++) tmp[outRow + xx * bands + c] = (byte) clip8(sum[c]);
                }
            }
            src = tmp;
            srcW = width;
            srcRowOffset = yFirst;
        }
        if (!needV) return src;
        byte[] out = new byte[height * srcW * bands];
        for (int yy = 0; yy < height; yy++) {
            int ymin = vert.first[yy] - srcRowOffset, n = vert.count[yy], kb = yy * vert.ksize;
            for (int xx = 0; xx < srcW; xx++) {
                java.util.Arrays.fill(sum, 1 << (PRECISION_BITS - 1));
                for (int y = 0; y < n; y++) {
                    int w = vert.weights[kb + y], p = ((y + ymin) * srcW + xx) * bands;
                    for (int c = 0; c < bands; c++) sum[c] += (src[p + c] & 0xff) * w;
                }
                for (int c = 0; c < bands; c++) out[(yy * srcW + xx) * bands + c] = (byte) clip8(sum[c]);
            }
        }
        return out;
    }

    /**
     * {@code Image.resize} with NEAREST (what Pillow uses for P images whatever the filter asked):
     * ImagingScaleAffine — source column {@code (int) xo} with {@code xo} starting at half a step
     * and advanced by repeated addition of the step, as Pillow accumulates it.
     */
    public static byte[] nearest(byte[] src, int inW, int inH, int bands, int width, int height) {
        if (width == inW && height == inH) return src.clone();
        double ax = (double) ((float) inW - 0f) / width, ay = (double) ((float) inH - 0f) / height;
        int[] xin = new int[width];
        int xmin = width, xmax = 0;
        double xo = ax * 0.5;
        for (int x = 0; x < width; x++) {
            int xi = xo < 0.0 ? -1 : (int) xo;
            if (xi >= 0 && xi < inW) {
                xmax = x + 1;
                if (x < xmin) xmin = x;
                xin[x] = xi;
            }
            xo += ax;
        }
        byte[] out = new byte[width * height * bands];
        double yo = ay * 0.5;
        for (int y = 0; y < height; y++) {
            int yi = yo < 0.0 ? -1 : (int) yo;
            if (yi >= 0 && yi < inH) {
                for (int x = xmin; x < xmax; x++) {
                    System.arraycopy(src, (yi * inW + xin[x]) * bands, out, (y * width + x) * bands, bands);
                }
            }
            yo += ay;
        }
        return out;
    }
}
