package dev.unclip4j.pipeline;

import java.util.List;

/**
 * One text-to-image call, with UnCLIPPipeline's defaults: 25 prior, 25 decoder and 7
 * super-resolution steps, prior guidance 4, decoder guidance 8, one image per prompt.
 *
 * @param prompts the prompts, or null when {@code text} is given
 * @param text CLIP's output for the prompts, computed elsewhere (diffusers' text_model_output +
 *     text_attention_mask), or null
 * @param imagesPerPrompt images of each prompt (≥ 1)
 * @param priorGuidance classifier-free guidance scale of the prior
 * @param decoderGuidance classifier-free guidance scale of the decoder; guidance runs in both stages
 *     when either is above 1, as diffusers' single do_classifier_free_guidance flag does, and then
 *     both must be at least 1 (below 1 would push away from the prompt)
 * @param seeds one seed for the call, or one per image
 */
public record TextToImage(List<String> prompts, TextConditioning text, int imagesPerPrompt, int priorSteps,
                          int decoderSteps, int superResSteps, double priorGuidance, double decoderGuidance, Seeds seeds) {
    public static final int PRIOR_STEPS = 25, DECODER_STEPS = 25, SUPER_RES_STEPS = 7;
    public static final double PRIOR_GUIDANCE = 4.0, DECODER_GUIDANCE = 8.0;

    public TextToImage {
        prompts = prompts == null ? null : List.copyOf(prompts);
    }

    /** The prompts with every default and {@code seed}. */
    public static TextToImage of(List<String> prompts, long seed) {
        return new TextToImage(prompts, null, 1, PRIOR_STEPS, DECODER_STEPS, SUPER_RES_STEPS, PRIOR_GUIDANCE,
                DECODER_GUIDANCE, Seeds.of(seed));
    }

    /** Fails naming the first bad setting, before any work starts. */
    void validate() {
        if ((prompts == null) == (text == null)) throw new IllegalArgumentException("give either prompts or text embeddings");
        if (prompts != null && prompts.isEmpty()) throw new IllegalArgumentException("no prompts");
        if (imagesPerPrompt < 1) throw new IllegalArgumentException("images per prompt must be at least 1, not " + imagesPerPrompt);
        Checks.steps("prior", priorSteps);
        Checks.steps("decoder", decoderSteps);
        Checks.steps("super-resolution", superResSteps);
        // Guidance runs in both stages when either scale is above 1 (diffusers' single flag).
        if (priorGuidance > 1 || decoderGuidance > 1) {
            Checks.guidance("prior", priorGuidance);
            Checks.guidance("decoder", decoderGuidance);
        }
        if (seeds == null) throw new IllegalArgumentException("no seeds");
    }
}
