package dev.unclip4j.clip;

import dev.unclip4j.io.ConfigReader;

import dev.unclip4j.io.WeightFormatException;
import java.util.List;

/**
 * The CLIP text tower's shape, the fields of Hugging Face's {@code CLIPTextConfig}. Keys a
 * config.json leaves out take transformers' defaults (transformers itself writes only values
 * that differ from them), and every dimension is checked against the weights when they are
 * loaded, so a wrong or missing value cannot pass unnoticed.
 *
 * @param padTokenId the config's pad id (transformers' default 1, unused by the model itself:
 *        the tokenizer's files say what pads a prompt)
 * @param ignoredKeys keys present in the config that this record does not use
 */
public record ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int projectionDim,
                             int numHiddenLayers, int numAttentionHeads, int maxPositionEmbeddings,
                             ClipActivation hiddenAct, double layerNormEps, Integer padTokenId, Integer bosTokenId,
                             Integer eosTokenId, List<String> ignoredKeys) {
    public ClipTextConfig {
        ignoredKeys = List.copyOf(ignoredKeys);
        check(hiddenSize % numAttentionHeads == 0, "hidden_size " + hiddenSize
                + " is not a multiple of num_attention_heads " + numAttentionHeads);
        check(layerNormEps > 0, "layer_norm_eps must be positive");
    }

    private static void check(boolean ok, String message) {
        if (!ok) throw new WeightFormatException("CLIP text config: " + message);
    }

    /** A config with the given dimensions and OpenAI CLIP's remaining choices. */
    public static ClipTextConfig of(int vocabSize, int hiddenSize, int intermediateSize, int projectionDim, int layers,
                                    int heads, int contextLength, ClipActivation act) {
        return new ClipTextConfig(vocabSize, hiddenSize, intermediateSize, projectionDim, layers, heads, contextLength,
                act, 1e-5, 1, 49406, 49407, List.of());
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    static ClipTextConfig read(ConfigReader r, int projectionDimFallback) {
        ClipTextConfig c = new ClipTextConfig(
                r.positive("vocab_size", 49408),
                r.positive("hidden_size", 512),
                r.positive("intermediate_size", 2048),
                r.positive("projection_dim", projectionDimFallback),
                r.positive("num_hidden_layers", 12),
                r.positive("num_attention_heads", 8),
                r.positive("max_position_embeddings", 77),
                ClipActivation.read(r, "hidden_act", ClipActivation.QUICK_GELU),
                r.number("layer_norm_eps", 1e-5),
                r.optionalInteger("pad_token_id", 1),
                r.optionalInteger("bos_token_id", 49406),
                r.optionalInteger("eos_token_id", 49407),
                List.of());
        return c.withIgnored(ClipConfig.ignorable(r));
    }

    ClipTextConfig withIgnored(List<String> keys) {
        return new ClipTextConfig(vocabSize, hiddenSize, intermediateSize, projectionDim, numHiddenLayers,
                numAttentionHeads, maxPositionEmbeddings, hiddenAct, layerNormEps, padTokenId, bosTokenId, eosTokenId, keys);
    }
}
