package dev.unclip4j.api;

import dev.unclip4j.image.RgbImage;
import dev.unclip4j.pipeline.Edit;
import dev.unclip4j.pipeline.Seeds;
import dev.unclip4j.pipeline.TextToImage;

/**
 * A text-diff edit (DALL·E 2 §3.3): the image's CLIP embedding turned from the caption
 * {@code from} toward {@code to} over {@code frames} frames, frame 0 being the plain variation;
 * defaults: 5 frames, maximum angle 0.5, seed 0, 25 decoder and 7 super-resolution steps,
 * decoder guidance 8. One seed serves the whole call: the frames share its draws.
 */
public record EditRequest(RgbImage image, String from, String to, int frames, double maxAngle, long seed,
                          int decoderSteps, int superResSteps, double decoderGuidance) {
    /** The edit with every default. */
    public static EditRequest of(RgbImage image, String from, String to) {
        return new EditRequest(image, from, to, 5, Edit.MAX_ANGLE, 0, TextToImage.DECODER_STEPS, TextToImage.SUPER_RES_STEPS,
                TextToImage.DECODER_GUIDANCE);
    }

    public EditRequest withFrames(int k) {
        return new EditRequest(image, from, to, k, maxAngle, seed, decoderSteps, superResSteps, decoderGuidance);
    }

    public EditRequest withSeed(long s) {
        return new EditRequest(image, from, to, frames, maxAngle, s, decoderSteps, superResSteps, decoderGuidance);
    }

    public EditRequest withSteps(int decoder, int superRes) {
        return new EditRequest(image, from, to, frames, maxAngle, seed, decoder, superRes, decoderGuidance);
    }

    public EditRequest withGuidance(double decoder) {
        return new EditRequest(image, from, to, frames, maxAngle, seed, decoderSteps, superResSteps, decoder);
    }

    /** Fails naming the first bad setting, before any work starts. */
    public void validate() {
        pipelineRequest().validate();
    }

    Edit pipelineRequest() {
        if (image == null) throw new IllegalArgumentException("an edit needs an image");
        return new Edit(from, to, frames, maxAngle, decoderSteps, superResSteps, decoderGuidance, Seeds.of(seed));
    }
}
