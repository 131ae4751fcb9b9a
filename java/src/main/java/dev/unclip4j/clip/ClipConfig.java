package dev.unclip4j.clip;

import dev.unclip4j.io.ConfigReader;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unclip4j.io.WeightFormatException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A CLIP model's configuration: the text tower, the vision tower, or both (Hugging Face's
 * {@code CLIPConfig} with {@code text_config}/{@code vision_config}, or a standalone
 * {@code CLIPTextConfig}/{@code CLIPVisionConfig} as in Karlo's {@code text_encoder/} and
 * {@code image_encoder/}). Either tower may be null.
 *
 * @param projectionDim the shared embedding width (the top-level {@code projection_dim} of a
 *        combined config, else the tower's own)
 * @param logitScaleInit {@code logit_scale_init_value} (ln(1/0.07)); the checkpoint's
 *        {@code logit_scale} tensor, where present, is what the model uses
 */
public record ClipConfig(ClipTextConfig text, ClipVisionConfig vision, int projectionDim, double logitScaleInit,
                         List<String> ignoredKeys) {
    private static final System.Logger LOG = System.getLogger("dev.unclip4j.clip");

    public ClipConfig {
        ignoredKeys = List.copyOf(ignoredKeys);
        if (text == null && vision == null) throw new WeightFormatException("CLIP config: neither a text nor a vision tower");
    }

    /** Reads a {@code config.json} (a file, or the folder holding it). */
    public static ClipConfig read(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve("config.json") : path;
        return read(file.toString(), ConfigReader.parse(file));
    }

    /** Reads config JSON already parsed; {@code where} names it in errors. */
    public static ClipConfig read(String where, JsonNode json) {
        ConfigReader r = new ConfigReader(where, json);
        String modelType = r.string("model_type", null);
        double logitScale = r.number("logit_scale_init_value", 2.6592);
        if (r.has("text_config") || r.has("vision_config") || "clip".equals(modelType)) {
            int proj = r.positive("projection_dim", 512);
            // Old transformers releases also wrote the same values as *_config_dict.
            r.ignore("text_config_dict", "vision_config_dict");
            ConfigReader t = r.child("text_config"), v = r.child("vision_config");
            ClipTextConfig text = ClipTextConfig.read(t != null ? t : new ConfigReader(where + " text_config",
                    com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode()), proj);
            ClipVisionConfig vision = ClipVisionConfig.read(v != null ? v : new ConfigReader(where + " vision_config",
                    com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode()), proj);
            // CLIPModel projects both towers to the top-level projection_dim.
            text = new ClipTextConfig(text.vocabSize(), text.hiddenSize(), text.intermediateSize(), proj,
                    text.numHiddenLayers(), text.numAttentionHeads(), text.maxPositionEmbeddings(), text.hiddenAct(),
                    text.layerNormEps(), text.padTokenId(), text.bosTokenId(), text.eosTokenId(), text.ignoredKeys());
            vision = new ClipVisionConfig(vision.hiddenSize(), vision.intermediateSize(), proj, vision.numHiddenLayers(),
                    vision.numAttentionHeads(), vision.numChannels(), vision.imageSize(), vision.patchSize(),
                    vision.hiddenAct(), vision.layerNormEps(), vision.ignoredKeys());
            return new ClipConfig(text, vision, proj, logitScale, ignorable(r));
        }
        boolean vision = "clip_vision_model".equals(modelType) || (modelType == null && r.has("image_size"));
        if (modelType != null && !modelType.equals("clip_vision_model") && !modelType.equals("clip_text_model")) {
            throw new WeightFormatException(where + ": unsupported 'model_type' value \"" + modelType
                    + "\" (expected clip, clip_text_model or clip_vision_model)");
        }
        if (vision) {
            ClipVisionConfig v = ClipVisionConfig.read(r, 512);
            return new ClipConfig(null, v, v.projectionDim(), logitScale, v.ignoredKeys());
        }
        ClipTextConfig t = ClipTextConfig.read(r, 512);
        return new ClipConfig(t, null, t.projectionDim(), logitScale, t.ignoredKeys());
    }

    /**
     * The keys nobody read, logged at DEBUG: transformers writes many generic ones (dropout,
     * initializer_range, architectures, torch_dtype, generation settings) that inference ignores.
     */
    static List<String> ignorable(ConfigReader r) {
        List<String> keys = r.unreadKeys();
        if (!keys.isEmpty()) LOG.log(System.Logger.Level.DEBUG, r.where() + ": ignoring keys " + keys);
        return keys;
    }
}
