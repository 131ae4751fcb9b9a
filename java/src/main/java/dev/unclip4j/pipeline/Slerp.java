package dev.unclip4j.pipeline;

/**
 * Spherical interpolation between two tensors, each taken as one vector: the angle ω between
 * them comes from the dot product of the normalised vectors, and
 * slerp(t) = sin((1 − t)ω)/sin ω · a + sin(tω)/sin ω · b, computed in double and rounded once;
 * nearly parallel (or anti-parallel) vectors, |cos ω| > 0.9995, take the linear blend instead.
 *
 * <p>diffusers' community interpolation pipelines (v0.20.0 {@code unclip_image_interpolation.py},
 * {@code unclip_text_interpolation.py}) take {@code acos} of the element-wise product of the
 * normalised vectors instead — an angle per element, not a spherical interpolation. This is the
 * true slerp; the fixtures were made with the pipelines' slerp replaced by the same formula.
 */
public final class Slerp {
    /** Above this |cos ω| the vectors are treated as parallel: sin ω is too small to divide by. */
    static final double PARALLEL = 0.9995;

    private Slerp() {}

    public static float[] slerp(double t, float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("slerp of " + a.length + " and " + b.length + " values");
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        double cos = Math.min(1, Math.max(-1, dot / (Math.sqrt(na) * Math.sqrt(nb))));
        double c0, c1;
        if (Math.abs(cos) > PARALLEL) {
            c0 = 1 - t;
            c1 = t;
        } else {
            double omega = Math.acos(cos), so = Math.sin(omega);
            c0 = Math.sin((1 - t) * omega) / so;
            c1 = Math.sin(t * omega) / so;
        }
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) out[i] = (float) (c0 * a[i] + c1 * b[i]);
        return out;
    }

    /**
     * The frame positions i / (n − 1), i = 0 … n − 1, rounded to float32: torch.linspace(0, 1, n) as
     * the interpolation pipelines use it, up to one float32 ulp (its CPU kernel counts the second
     * half down from 1 in vector chunks), which moves a frame's embedding by ~1e-7.
     */
    public static float[] framePositions(int n) {
        if (n < 2) throw new IllegalArgumentException("interpolation needs at least 2 frames, not " + n);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) ((double) i / (n - 1));
        return out;
    }
}
