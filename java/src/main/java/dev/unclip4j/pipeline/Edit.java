package dev.unclip4j.pipeline;

/**
 * One text-diff edit (DALL·E 2 §3.3): an image moved from the caption {@code from} toward
 * {@code to} over {@code frames} frames, the last rotated by {@code maxAngle} (the paper uses
 * 0.25 to 0.5 of the way from the image embedding to the text diff).
 */
public record Edit(String from, String to, int frames, double maxAngle, int decoderSteps, int superResSteps,
                   double decoderGuidance, Seeds seeds) {
    public static final double MAX_ANGLE = 0.5;

    public static Edit of(String from, String to, int frames, long seed) {
        return new Edit(from, to, frames, MAX_ANGLE, TextToImage.DECODER_STEPS, TextToImage.SUPER_RES_STEPS,
                TextToImage.DECODER_GUIDANCE, Seeds.of(seed));
    }

    void validate() {
        if (from == null || to == null) throw new IllegalArgumentException("an edit needs a --from and a --to text");
        if (!(maxAngle > 0 && maxAngle <= 1)) throw new IllegalArgumentException("the edit's angle must be in (0, 1], not " + maxAngle);
        asInterpolation().validate();
    }

    /** The decoding settings, as an interpolation's (the prior is not used). */
    Interpolation asInterpolation() {
        return new Interpolation(frames, TextToImage.PRIOR_STEPS, decoderSteps, superResSteps, TextToImage.PRIOR_GUIDANCE,
                decoderGuidance, seeds, true);
    }
}
