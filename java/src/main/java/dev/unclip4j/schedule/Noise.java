package dev.unclip4j.schedule;

import java.util.List;

/**
 * Where a pipeline's Gaussian noise comes from, as diffusers' {@code randn_tensor}
 * (utils/torch_utils.py) draws it: from one generator for the whole batch, or — diffusers
 * accepts a list of generators — each batch row from its own generator, so that requests with
 * different seeds can share one batch and each still gets the image it would get alone.
 */
@FunctionalInterface
public interface Noise {
    /** torch.randn(shape) in torch's row-major order; shape[0] is the batch. */
    float[] randn(int... shape);

    /** One generator per batch row: row i is {@code generators.get(i).randn(1, shape[1:]...)}. */
    static Noise perRow(List<TorchGenerator> generators) {
        List<TorchGenerator> gens = List.copyOf(generators);
        if (gens.size() == 1) return gens.getFirst();  // randn_tensor treats a list of one as one generator
        return shape -> {
            if (shape[0] != gens.size()) {
                throw new IllegalArgumentException(gens.size() + " generators for a batch of " + shape[0]);
            }
            int[] row = shape.clone();
            row[0] = 1;
            int per = 1;
            for (int i = 1; i < shape.length; i++) per *= shape[i];
            float[] out = new float[shape[0] * per];
            for (int b = 0; b < shape[0]; b++) System.arraycopy(gens.get(b).randn(row), 0, out, b * per, per);
            return out;
        };
    }

    /**
     * Every draw made once for a single row and repeated for all rows: frames of an interpolation
     * then share their initial latents and step noise and differ only by their conditioning
     * (DALL·E 2's way of making smooth interpolations).
     */
    static Noise shared(Noise base) {
        return shape -> {
            int[] row = shape.clone();
            row[0] = 1;
            float[] one = base.randn(row);
            float[] out = new float[one.length * shape[0]];
            for (int b = 0; b < shape[0]; b++) System.arraycopy(one, 0, out, b * one.length, one.length);
            return out;
        };
    }
}
