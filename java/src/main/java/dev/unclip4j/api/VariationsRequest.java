package dev.unclip4j.api;

import dev.unclip4j.image.RgbImage;
import dev.unclip4j.pipeline.Seeds;
import dev.unclip4j.pipeline.TextToImage;
import dev.unclip4j.pipeline.Variations;
import java.util.List;
import java.util.stream.LongStream;

/**
 * Variations of images (each image's CLIP embedding decoded again), with the command line's
 * defaults: one variation per image, seed 0, 25 decoder and 7 super-resolution steps, decoder
 * guidance 8. Variation {@code i} (image-major) uses seed {@code seed + i}.
 *
 * @param images the images to vary (at least one)
 * @param imagesPerImage variations of each image (≥ 1)
 */
public record VariationsRequest(List<RgbImage> images, int imagesPerImage, long seed, int decoderSteps, int superResSteps,
                                double decoderGuidance) {
    public VariationsRequest {
        images = List.copyOf(images);
    }

    /** The images with every default. */
    public static VariationsRequest of(RgbImage... images) {
        return new VariationsRequest(List.of(images), 1, 0, TextToImage.DECODER_STEPS, TextToImage.SUPER_RES_STEPS,
                TextToImage.DECODER_GUIDANCE);
    }

    public VariationsRequest withImagesPerImage(int n) {
        return new VariationsRequest(images, n, seed, decoderSteps, superResSteps, decoderGuidance);
    }

    public VariationsRequest withSeed(long s) {
        return new VariationsRequest(images, imagesPerImage, s, decoderSteps, superResSteps, decoderGuidance);
    }

    public VariationsRequest withSteps(int decoder, int superRes) {
        return new VariationsRequest(images, imagesPerImage, seed, decoder, superRes, decoderGuidance);
    }

    public VariationsRequest withGuidance(double decoder) {
        return new VariationsRequest(images, imagesPerImage, seed, decoderSteps, superResSteps, decoder);
    }

    /** Fails naming the first bad setting, before any work starts. */
    public void validate() {
        pipelineRequest().validate();
    }

    Variations pipelineRequest() {
        if (images.isEmpty()) throw new IllegalArgumentException("no images");
        if (imagesPerImage < 1) throw new IllegalArgumentException("images per image must be at least 1, not " + imagesPerImage);
        Seeds seeds = Seeds.perImage(LongStream.range(0, (long) images.size() * imagesPerImage).map(i -> seed + i).toArray());
        return new Variations(images, null, imagesPerImage, decoderSteps, superResSteps, decoderGuidance, seeds);
    }
}
