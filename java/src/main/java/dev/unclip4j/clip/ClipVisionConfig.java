package dev.unclip4j.clip;

import dev.unclip4j.io.ConfigReader;

import dev.unclip4j.io.WeightFormatException;
import java.util.List;

/**
 * The CLIP vision tower's (ViT) shape, the fields of Hugging Face's {@code CLIPVisionConfig}.
 * Absent keys take transformers' defaults; dimensions are checked against the weights on load.
 */
public record ClipVisionConfig(int hiddenSize, int intermediateSize, int projectionDim, int numHiddenLayers,
                               int numAttentionHeads, int numChannels, int imageSize, int patchSize,
                               ClipActivation hiddenAct, double layerNormEps, List<String> ignoredKeys) {
    public ClipVisionConfig {
        ignoredKeys = List.copyOf(ignoredKeys);
        check(hiddenSize % numAttentionHeads == 0, "hidden_size " + hiddenSize
                + " is not a multiple of num_attention_heads " + numAttentionHeads);
        check(imageSize % patchSize == 0, "image_size " + imageSize + " is not a multiple of patch_size " + patchSize);
        check(layerNormEps > 0, "layer_norm_eps must be positive");
    }

    private static void check(boolean ok, String message) {
        if (!ok) throw new WeightFormatException("CLIP vision config: " + message);
    }

    public static ClipVisionConfig of(int hiddenSize, int intermediateSize, int projectionDim, int layers, int heads,
                                      int imageSize, int patchSize, ClipActivation act) {
        return new ClipVisionConfig(hiddenSize, intermediateSize, projectionDim, layers, heads, 3, imageSize, patchSize,
                act, 1e-5, List.of());
    }

    /** The same config without the list of ignored keys (to compare configs from different files). */
    public ClipVisionConfig withoutIgnored() {
        return new ClipVisionConfig(hiddenSize, intermediateSize, projectionDim, numHiddenLayers, numAttentionHeads,
                numChannels, imageSize, patchSize, hiddenAct, layerNormEps, List.of());
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** Patches per side. */
    public int gridSize() {
        return imageSize / patchSize;
    }

    /** Sequence length: one class token plus the patches. */
    public int numPositions() {
        return gridSize() * gridSize() + 1;
    }

    static ClipVisionConfig read(ConfigReader r, int projectionDimFallback) {
        ClipVisionConfig c = new ClipVisionConfig(
                r.positive("hidden_size", 768),
                r.positive("intermediate_size", 3072),
                r.positive("projection_dim", projectionDimFallback),
                r.positive("num_hidden_layers", 12),
                r.positive("num_attention_heads", 12),
                r.positive("num_channels", 3),
                r.positive("image_size", 224),
                r.positive("patch_size", 32),
                ClipActivation.read(r, "hidden_act", ClipActivation.QUICK_GELU),
                r.number("layer_norm_eps", 1e-5),
                List.of());
        return new ClipVisionConfig(c.hiddenSize, c.intermediateSize, c.projectionDim, c.numHiddenLayers,
                c.numAttentionHeads, c.numChannels, c.imageSize, c.patchSize, c.hiddenAct, c.layerNormEps,
                ClipConfig.ignorable(r));
    }
}
