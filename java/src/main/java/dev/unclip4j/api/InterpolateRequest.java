package dev.unclip4j.api;

import dev.unclip4j.image.RgbImage;
import dev.unclip4j.pipeline.Interpolation;
import dev.unclip4j.pipeline.Seeds;
import dev.unclip4j.pipeline.TextToImage;

/**
 * An interpolation between two prompts or between two images (diffusers' community unCLIP
 * interpolation pipelines, with a true slerp), with the command line's defaults: 5 frames,
 * seed 0, 25 prior / 25 decoder / 7 super-resolution steps, guidance 4 / 8. The prior settings
 * are used between prompts only. One seed serves the whole call: the frames share its draws.
 *
 * @param promptA the first prompt, or null between images
 * @param promptB the second prompt, or null between images
 * @param imageA the first image, or null between prompts
 * @param imageB the second image, or null between prompts
 * @param frames K ≥ 2 frames, the first at A and the last at B
 * @param fixedNoise every random draw made once and shared by all frames, so that frames differ
 *     only by their embedding
 */
public record InterpolateRequest(String promptA, String promptB, RgbImage imageA, RgbImage imageB, int frames,
                                 boolean fixedNoise, long seed, int priorSteps, int decoderSteps, int superResSteps,
                                 double priorGuidance, double decoderGuidance) {
    /** Frames between two prompts, every other setting at its default. */
    public static InterpolateRequest between(String a, String b) {
        return new InterpolateRequest(a, b, null, null, 5, false, 0, TextToImage.PRIOR_STEPS, TextToImage.DECODER_STEPS,
                TextToImage.SUPER_RES_STEPS, TextToImage.PRIOR_GUIDANCE, TextToImage.DECODER_GUIDANCE);
    }

    /** Frames between two images, every other setting at its default. */
    public static InterpolateRequest between(RgbImage a, RgbImage b) {
        return new InterpolateRequest(null, null, a, b, 5, false, 0, TextToImage.PRIOR_STEPS, TextToImage.DECODER_STEPS,
                TextToImage.SUPER_RES_STEPS, TextToImage.PRIOR_GUIDANCE, TextToImage.DECODER_GUIDANCE);
    }

    public InterpolateRequest withFrames(int k) {
        return new InterpolateRequest(promptA, promptB, imageA, imageB, k, fixedNoise, seed, priorSteps, decoderSteps,
                superResSteps, priorGuidance, decoderGuidance);
    }

    public InterpolateRequest withFixedNoise(boolean fixed) {
        return new InterpolateRequest(promptA, promptB, imageA, imageB, frames, fixed, seed, priorSteps, decoderSteps,
                superResSteps, priorGuidance, decoderGuidance);
    }

    public InterpolateRequest withSeed(long s) {
        return new InterpolateRequest(promptA, promptB, imageA, imageB, frames, fixedNoise, s, priorSteps, decoderSteps,
                superResSteps, priorGuidance, decoderGuidance);
    }

    public InterpolateRequest withSteps(int prior, int decoder, int superRes) {
        return new InterpolateRequest(promptA, promptB, imageA, imageB, frames, fixedNoise, seed, prior, decoder, superRes,
                priorGuidance, decoderGuidance);
    }

    public InterpolateRequest withGuidance(double prior, double decoder) {
        return new InterpolateRequest(promptA, promptB, imageA, imageB, frames, fixedNoise, seed, priorSteps, decoderSteps,
                superResSteps, prior, decoder);
    }

    /** Whether the ends are prompts (else images). */
    public boolean betweenPrompts() {
        return promptA != null;
    }

    /** Fails naming the first bad setting, before any work starts. */
    public void validate() {
        pipelineRequest().validate();
    }

    Interpolation pipelineRequest() {
        boolean prompts = promptA != null && promptB != null && imageA == null && imageB == null;
        boolean images = promptA == null && promptB == null && imageA != null && imageB != null;
        if (!prompts && !images) throw new IllegalArgumentException("interpolate between two prompts or between two images");
        return new Interpolation(frames, priorSteps, decoderSteps, superResSteps, priorGuidance, decoderGuidance,
                Seeds.of(seed), fixedNoise);
    }
}
