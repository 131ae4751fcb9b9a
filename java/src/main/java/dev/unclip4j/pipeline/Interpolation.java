package dev.unclip4j.pipeline;

/**
 * One interpolation call (between two images, two image embeddings or two prompts), with the
 * community pipelines' defaults: 5 frames, 25 prior / 25 decoder / 7 super-resolution steps,
 * guidance 4 / 8. The prior settings are used only between prompts.
 *
 * @param frames K ≥ 2 frames, the first at A and the last at B
 * @param seeds one seed for the call (per-image seeds do not apply: frames share draws)
 * @param fixedNoise every random draw (initial latents and step noise of every stage) made once
 *     and shared by all frames, so that frames differ only by their embedding
 */
public record Interpolation(int frames, int priorSteps, int decoderSteps, int superResSteps, double priorGuidance,
                            double decoderGuidance, Seeds seeds, boolean fixedNoise) {
    public static Interpolation of(int frames, long seed) {
        return new Interpolation(frames, TextToImage.PRIOR_STEPS, TextToImage.DECODER_STEPS, TextToImage.SUPER_RES_STEPS,
                TextToImage.PRIOR_GUIDANCE, TextToImage.DECODER_GUIDANCE, Seeds.of(seed), false);
    }

    void validate() {
        if (frames < 2) throw new IllegalArgumentException("an interpolation needs at least 2 frames, not " + frames);
        Checks.steps("prior", priorSteps);
        Checks.steps("decoder", decoderSteps);
        Checks.steps("super-resolution", superResSteps);
        Checks.guidance("prior", priorGuidance);
        Checks.guidance("decoder", decoderGuidance);
        if (seeds == null) throw new IllegalArgumentException("no seeds");
        if (seeds.perImage() != null) throw new IllegalArgumentException("interpolation takes one seed, not one per frame");
    }
}
