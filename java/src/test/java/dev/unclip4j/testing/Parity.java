package dev.unclip4j.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

/** What every parity test against a reference implementation measures, in one place. */
public final class Parity {
    private Parity() {}

    /** ‖ours − ref‖ / ‖ref‖ in double; a length mismatch or a non-finite value of ours fails the test. */
    public static double relL2(float[] ours, float[] ref) {
        assertTrue(ours.length == ref.length, "lengths " + ours.length + " vs " + ref.length);
        double e = 0, r = 0;
        for (int i = 0; i < ref.length; i++) {
            assertTrue(Float.isFinite(ours[i]), "non-finite output at " + i);
            double d = (double) ours[i] - ref[i];
            e += d * d;
            r += (double) ref[i] * ref[i];
        }
        return Math.sqrt(e / r);
    }

    /** The built-in model's folder, models/unclip-shapes-tiny at the repository root. */
    public static Path builtinModel() {
        return SharedData.repoRoot().resolve("models/unclip-shapes-tiny");
    }
}
