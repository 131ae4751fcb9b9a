package dev.unclip4j.ops;

/** erf in double precision (Java has none): its Maclaurin series near 0, its continued fraction beyond. */
final class Erf {
    private Erf() {}

    static double erf(double x) {
        if (x < 0) return -erf(-x);
        if (x < 2.5) {
            // erf(x) = 2/sqrt(pi) · Σ (-1)^n x^(2n+1) / (n! (2n+1)); terms fall below 1e-17 by n ≈ 40.
            double sum = 0, term = x;
            for (int n = 0; n < 80; n++) {
                sum += term / (2 * n + 1);
                term *= -x * x / (n + 1);
                if (Math.abs(term) < 1e-18) break;
            }
            return 2 / Math.sqrt(Math.PI) * sum;
        }
        // erfc(x) = exp(-x²)/sqrt(pi) · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) (Lentz's method not
        // needed: 60 levels evaluated backwards converge to double precision for x ≥ 2.5).
        double f = x;
        for (int n = 60; n >= 1; n--) f = x + (n / 2.0) / f;
        return 1 - Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
    }
}
