package dev.unclip4j.ops;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * One row of the op-case table (as ggml's test-backend-ops): which op, on which seeded inputs,
 * its plain double-precision reference, the bound it must meet and why, and its cost.
 *
 * @param op          the unclip.h symbol this row exercises
 * @param name        what the row is about (shape, options)
 * @param seed        seeds the inputs
 * @param inputs      shape and value range of each input
 * @param outShape    the output's shape
 * @param reference   the op in double precision on the (float) inputs
 * @param runner      runs the op on a backend
 * @param tolerance   bound on ‖cpu − reference‖ / ‖reference‖
 * @param why         where that bound comes from
 * @param flops       floating-point operations (multiply-add = 2)
 * @param elementsMoved elements read and written at least once; × dtype size = the byte floor
 */
public record OpCase(String op, String name, long seed, List<Input> inputs, long[] outShape, Reference reference,
                     Runner runner, double tolerance, String why, double flops, double elementsMoved) {

    /** An input: its name, shape and the uniform range its values are drawn from. */
    public record Input(String name, long[] shape, float lo, float hi) {
        public long numel() {
            return Arrays.stream(shape).reduce(1, Math::multiplyExact);
        }
    }

    @FunctionalInterface
    public interface Reference {
        double[] compute(float[][] inputs);
    }

    @FunctionalInterface
    public interface Runner {
        void run(Backend backend, Tensor[] inputs, Tensor out);
    }

    public long outNumel() {
        return Arrays.stream(outShape).reduce(1, Math::multiplyExact);
    }

    public double bytes(DType dtype) {
        return elementsMoved * dtype.byteSize();
    }

    @Override
    public String toString() {
        return op + " " + name;
    }
}
