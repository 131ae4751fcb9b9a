package dev.unclip4j.pipeline;

import dev.unclip4j.image.RgbImage;
import java.util.List;

/**
 * One image-variations call, with UnCLIPImageVariationPipeline's defaults: 25 decoder and 7
 * super-resolution steps, decoder guidance 8, one image per input.
 *
 * @param images the images to vary, or null when {@code imageEmbeddings} are given
 * @param imageEmbeddings CLIP image embeddings [images][D] computed elsewhere, or null
 * @param imagesPerImage variations of each input (≥ 1)
 * @param decoderGuidance classifier-free guidance scale of the decoder (≥ 1)
 */
public record Variations(List<RgbImage> images, float[][] imageEmbeddings, int imagesPerImage, int decoderSteps,
                         int superResSteps, double decoderGuidance, Seeds seeds) {
    public Variations {
        images = images == null ? null : List.copyOf(images);
    }

    public static Variations of(List<RgbImage> images, long seed) {
        return new Variations(images, null, 1, TextToImage.DECODER_STEPS, TextToImage.SUPER_RES_STEPS,
                TextToImage.DECODER_GUIDANCE, Seeds.of(seed));
    }

    void validate() {
        if ((images == null) == (imageEmbeddings == null)) throw new IllegalArgumentException("give either images or image embeddings");
        if ((images != null && images.isEmpty()) || (imageEmbeddings != null && imageEmbeddings.length == 0)) {
            throw new IllegalArgumentException("no images");
        }
        if (imagesPerImage < 1) throw new IllegalArgumentException("images per image must be at least 1, not " + imagesPerImage);
        Checks.steps("decoder", decoderSteps);
        Checks.steps("super-resolution", superResSteps);
        Checks.guidance("decoder", decoderGuidance);
        if (seeds == null) throw new IllegalArgumentException("no seeds");
    }
}
