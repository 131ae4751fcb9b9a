package dev.unclip4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unclip4j.io.ConfigReader;
import java.nio.file.Path;

/**
 * diffusers v0.20.0 {@code UnCLIPTextProjModel.__init__}'s arguments (pipelines/unclip/text_proj.py:31-38).
 *
 * @param clipExtraContextTokens k, clip_extra_context_tokens (4): image-embedding tokens put before the text
 * @param clipEmbeddingsDim clip_embeddings_dim (768): the CLIP embedding and text hidden-state width
 * @param timeEmbedDim time_embed_dim (no default): the decoder's time-embedding width
 * @param crossAttentionDim cross_attention_dim (no default): the decoder's context-token width
 */
public record TextProjectionConfig(int clipExtraContextTokens, int clipEmbeddingsDim, int timeEmbedDim,
                                   int crossAttentionDim) {
    static final String CLASS_NAME = "UnCLIPTextProjModel";

    public static TextProjectionConfig read(Path configJson) {
        return from(configJson.toString(), ConfigReader.parse(configJson));
    }

    public static TextProjectionConfig from(String where, JsonNode json) {
        DiffusersConfig c = new DiffusersConfig(CLASS_NAME, where, json);
        // k ≥ 1: with 0 extra tokens diffusers' reshape(batch, -1, 0) of the empty projection fails
        int k = c.integer("clip_extra_context_tokens", 4, 1);
        int clip = c.integer("clip_embeddings_dim", 768, 1);
        int time = c.integer("time_embed_dim", null, 1);          // keyword-only without a default:
        int cross = c.integer("cross_attention_dim", null, 1);    // from_config fails when absent
        c.finish();
        return new TextProjectionConfig(k, clip, time, cross);
    }
}
