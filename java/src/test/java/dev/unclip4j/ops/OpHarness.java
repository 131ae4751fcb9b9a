package dev.unclip4j.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.HostCodec;
import dev.unclip4j.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * Runs an {@link OpCase} on a backend the way every row is checked: seeded inputs rounded to
 * the dtype, an output buffer pre-filled with NaN (0xFF bytes) and followed by a guard region
 * of the same bytes that must come back unchanged, and no NaN allowed in the result.
 */
public final class OpHarness {
    /** Guard elements after every output. */
    static final int GUARD = 64;

    private OpHarness() {}

    /** The row's inputs as floats, already rounded to what {@code dtype} can hold. */
    public static float[][] inputs(OpCase c, DType dtype) {
        SplittableRandom random = new SplittableRandom(c.seed());
        float[][] values = new float[c.inputs().size()][];
        for (int i = 0; i < values.length; i++) {
            OpCase.Input input = c.inputs().get(i);
            float[] v = new float[Math.toIntExact(input.numel())];
            for (int j = 0; j < v.length; j++) {
                v[j] = HostCodec.round((float) (input.lo() + (input.hi() - input.lo()) * random.nextDouble()), dtype);
            }
            values[i] = v;
        }
        return values;
    }

    /** Runs the row on {@code backend} in {@code dtype}; checks the guard and NaNs; returns the output. */
    public static float[] run(OpCase c, Backend backend, DType dtype, float[][] inputValues) {
        Tensor[] inputs = new Tensor[inputValues.length];
        long n = c.outNumel();
        try (Tensor buffer = backend.allocate(dtype, n + GUARD)) {
            for (int i = 0; i < inputs.length; i++) {
                inputs[i] = backend.fromFloats(dtype, inputValues[i], c.inputs().get(i).shape());
            }
            buffer.fillBytes(0xFF);
            Tensor out = buffer.view(0, c.outShape());
            c.runner().run(backend, inputs, out);
            byte[] guard = buffer.view(n, GUARD).toByteArray();
            for (int i = 0; i < guard.length; i++) {
                if (guard[i] != (byte) 0xFF) fail(c + " on " + backend.name() + " " + dtype + " wrote past its output (guard byte " + i + ")");
            }
            float[] result = out.toFloatArray();
            for (int i = 0; i < result.length; i++) {
                if (Float.isNaN(result[i])) fail(c + " on " + backend.name() + " " + dtype + ": NaN at element " + i + " (unwritten or computed)");
            }
            return result;
        } finally {
            for (Tensor t : inputs) if (t != null) t.close();
        }
    }

    /** ‖a − b‖ / ‖b‖ (0 when both are empty or zero). */
    public static double relativeL2(float[] a, double[] b) {
        assertEquals(b.length, a.length, "output length");
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - b[i];
            num += d * d;
            den += b[i] * b[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    public static double relativeL2(float[] a, float[] b) {
        double[] bd = new double[b.length];
        for (int i = 0; i < b.length; i++) bd[i] = b[i];
        return relativeL2(a, bd);
    }
}
