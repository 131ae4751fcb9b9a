package dev.unclip4j.pipeline;

import dev.unclip4j.schedule.Noise;
import dev.unclip4j.schedule.TorchGenerator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The randomness of one call: one seed for the whole call (diffusers' {@code generator =
 * torch.Generator().manual_seed(seed)}), or one seed per image (a list of generators), so that
 * images of different requests can share a batch and each is the image its seed gives alone.
 * Only the low 32 bits of a seed reach torch's mt19937, as in torch.
 */
public record Seeds(long seed, long[] perImage) {
    public Seeds {
        perImage = perImage == null ? null : perImage.clone();
    }

    /** One generator seeded with {@code seed} for the whole call. */
    public static Seeds of(long seed) {
        return new Seeds(seed, null);
    }

    /** One generator per image, in the order of the batch (prompt-major). */
    public static Seeds perImage(long... seeds) {
        if (seeds.length == 0) throw new IllegalArgumentException("no seeds");
        return new Seeds(seeds[0], seeds);
    }

    @Override
    public long[] perImage() {
        return perImage == null ? null : perImage.clone();
    }

    /** Fresh generators for a batch of {@code batch} images (each call draws from the start of its seeds). */
    Noise noise(int batch) {
        if (perImage == null) return new TorchGenerator(seed);
        if (perImage.length != batch) {
            throw new IllegalArgumentException(perImage.length + " seeds for " + batch + " images: give one seed per image");
        }
        List<TorchGenerator> gens = new ArrayList<>();
        for (long s : perImage) gens.add(new TorchGenerator(s));
        return Noise.perRow(gens);
    }

    @Override
    public String toString() {
        return perImage == null ? "seed " + seed : "seeds " + Arrays.toString(perImage);
    }
}
