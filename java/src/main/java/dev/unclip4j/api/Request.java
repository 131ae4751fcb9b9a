package dev.unclip4j.api;

import dev.unclip4j.pipeline.Seeds;
import dev.unclip4j.pipeline.TextToImage;
import java.util.List;
import java.util.stream.LongStream;

/**
 * One text-to-image request, with the command line's defaults: one image per prompt, seed 0,
 * 25 prior, 25 decoder and 7 super-resolution steps, prior guidance 4, decoder guidance 8
 * (diffusers' UnCLIPPipeline defaults).
 *
 * <p>Image {@code i} of the batch (prompt-major: all images of the first prompt, then the next)
 * is drawn from its own generator seeded with {@code seed + i}, so it is the image that prompt
 * gives alone with that seed, whatever else shares the batch.
 *
 * @param prompts the prompts (at least one)
 * @param imagesPerPrompt images of each prompt (≥ 1)
 * @param seed the seed of the first image
 * @param priorSteps denoising steps of the prior (≥ 2)
 * @param decoderSteps denoising steps of the decoder (≥ 2)
 * @param superResSteps denoising steps of super-resolution (≥ 2)
 * @param priorGuidance classifier-free guidance scale of the prior (≥ 1)
 * @param decoderGuidance classifier-free guidance scale of the decoder (≥ 1)
 */
public record Request(List<String> prompts, int imagesPerPrompt, long seed, int priorSteps, int decoderSteps,
                      int superResSteps, double priorGuidance, double decoderGuidance) {
    public Request {
        prompts = List.copyOf(prompts);
    }

    /** The prompts with every default. */
    public static Request of(String... prompts) {
        return of(List.of(prompts));
    }

    /** The prompts with every default. */
    public static Request of(List<String> prompts) {
        return new Request(prompts, 1, 0, TextToImage.PRIOR_STEPS, TextToImage.DECODER_STEPS, TextToImage.SUPER_RES_STEPS,
                TextToImage.PRIOR_GUIDANCE, TextToImage.DECODER_GUIDANCE);
    }

    public Request withImagesPerPrompt(int n) {
        return new Request(prompts, n, seed, priorSteps, decoderSteps, superResSteps, priorGuidance, decoderGuidance);
    }

    public Request withSeed(long s) {
        return new Request(prompts, imagesPerPrompt, s, priorSteps, decoderSteps, superResSteps, priorGuidance, decoderGuidance);
    }

    public Request withSteps(int prior, int decoder, int superRes) {
        return new Request(prompts, imagesPerPrompt, seed, prior, decoder, superRes, priorGuidance, decoderGuidance);
    }

    public Request withGuidance(double prior, double decoder) {
        return new Request(prompts, imagesPerPrompt, seed, priorSteps, decoderSteps, superResSteps, prior, decoder);
    }

    /** How many images the request makes: prompts × images per prompt. */
    public int imageCount() {
        return prompts.size() * imagesPerPrompt;
    }

    /** The seed of image {@code i} of the batch. */
    public long seedOf(int i) {
        return seed + i;
    }

    /** Whether {@code other} has the same steps and guidance, so that both can share one pipeline batch. */
    public boolean sameSchedule(Request other) {
        return priorSteps == other.priorSteps && decoderSteps == other.decoderSteps && superResSteps == other.superResSteps
                && Double.compare(priorGuidance, other.priorGuidance) == 0
                && Double.compare(decoderGuidance, other.decoderGuidance) == 0;
    }

    /** The steps and guidance in words, e.g. "steps 25/25/7, guidance 4.0/8.0". */
    String schedule() {
        return "steps " + priorSteps + "/" + decoderSteps + "/" + superResSteps + ", guidance " + priorGuidance + "/"
                + decoderGuidance;
    }

    /** Fails naming the first bad setting, before any work starts. */
    public void validate() {
        pipelineRequest().validate();
    }

    TextToImage pipelineRequest() {
        if (prompts.isEmpty()) throw new IllegalArgumentException("no prompts");
        if (imagesPerPrompt < 1) throw new IllegalArgumentException("images per prompt must be at least 1, not " + imagesPerPrompt);
        Seeds seeds = Seeds.perImage(LongStream.range(0, imageCount()).map(i -> seed + i).toArray());
        return new TextToImage(prompts, null, imagesPerPrompt, priorSteps, decoderSteps, superResSteps, priorGuidance,
                decoderGuidance, seeds);
    }
}
