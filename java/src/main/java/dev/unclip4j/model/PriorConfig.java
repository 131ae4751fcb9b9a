package dev.unclip4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unclip4j.bindings.Activation;
import dev.unclip4j.io.ConfigReader;
import java.nio.file.Path;

/**
 * diffusers v0.20.0 {@code PriorTransformer.__init__}'s arguments (models/prior_transformer.py:67-84),
 * with the defaults ConfigMixin gives absent keys and the derived dims of lines 88-93 resolved.
 *
 * @param numAttentionHeads H, num_attention_heads (32)
 * @param attentionHeadDim D, attention_head_dim (64); inner dim = H·D, which need not equal embeddingDim
 * @param numLayers num_layers (20), BasicTransformerBlocks
 * @param embeddingDim embedding_dim (768): hidden_states' width (and the text hidden states' when projected)
 * @param numEmbeddings num_embeddings (77): the text length the mask and positions are sized for
 * @param additionalEmbeddings additional_embeddings (4): tokens after the text (proj, time, hidden, prd)
 * @param dropout dropout (0.0): read and ignored, inference never drops
 * @param timeEmbedAct time_embed_act_fn ("silu"/"swish" → SILU, "gelu" → exact GELU)
 * @param normIn norm_in_type "layer" (else null): a LayerNorm on the sequence before the blocks
 * @param embeddingProjNorm embedding_proj_norm_type "layer" (else null): a LayerNorm on proj_embedding
 * @param encoderHidProj encoder_hid_proj_type "linear" (default) (else null: text hidden states enter as they are)
 * @param prdEmbedding added_emb_type "prd" (default) (else null): a learned last token, the output position
 * @param timeEmbedDim time_embed_dim, null → inner dim: TimestepEmbedding's hidden width
 * @param embeddingProjDim embedding_proj_dim, null → embeddingDim: proj_embedding's width
 * @param clipEmbedDim clip_embed_dim, null → embeddingDim: the output's width
 */
public record PriorConfig(int numAttentionHeads, int attentionHeadDim, int numLayers, int embeddingDim,
                          int numEmbeddings, int additionalEmbeddings, double dropout, Activation timeEmbedAct,
                          boolean normIn, boolean embeddingProjNorm, boolean encoderHidProj, boolean prdEmbedding,
                          int timeEmbedDim, int embeddingProjDim, int clipEmbedDim) {
    static final String CLASS_NAME = "PriorTransformer";

    /** H·D, the transformer's width. */
    public int innerDim() {
        return numAttentionHeads * attentionHeadDim;
    }

    /** Rows of positional_embedding: num_embeddings + additional_embeddings. */
    public int positions() {
        return numEmbeddings + additionalEmbeddings;
    }

    /** Reads a component folder's config.json; a value this code does not implement fails here, before any weight. */
    public static PriorConfig read(Path configJson) {
        return from(configJson.toString(), ConfigReader.parse(configJson));
    }

    public static PriorConfig from(String where, JsonNode json) {
        DiffusersConfig c = new DiffusersConfig(CLASS_NAME, where, json);
        int heads = c.integer("num_attention_heads", 32, 1);
        int headDim = c.integer("attention_head_dim", 64, 1);
        if (headDim > 128) throw c.unsupported("attention_head_dim", String.valueOf(headDim), "1 to 128 (uc_attention's head dims)");
        int layers = c.integer("num_layers", 20, 0);
        int embeddingDim = c.integer("embedding_dim", 768, 1);
        int numEmbeddings = c.integer("num_embeddings", 77, 0);
        int additional = c.integer("additional_embeddings", 4, 0);
        if (numEmbeddings + additional < 1) {
            // positional_embedding would have no row, and no sequence (3 tokens at least) can be added to it
            throw c.unsupported("num_embeddings", numEmbeddings + " with additional_embeddings " + additional,
                    "num_embeddings + additional_embeddings ≥ 1");
        }
        double dropout = c.number("dropout", 0.0);
        if (!(dropout >= 0 && dropout <= 1)) throw c.unsupported("dropout", String.valueOf(dropout), "0 to 1");
        // diffusers' get_activation (models/activations.py): mish and relu have no uc_activation
        String act = c.option("time_embed_act_fn", "silu", false, "silu", "swish", "gelu");
        boolean normIn = c.option("norm_in_type", null, true, "layer") != null;
        boolean projNorm = c.option("embedding_proj_norm_type", null, true, "layer") != null;
        boolean hidProj = c.option("encoder_hid_proj_type", "linear", true, "linear") != null;
        boolean prd = c.option("added_emb_type", "prd", true, "prd") != null;
        int inner = heads * headDim;
        int timeEmbedDim = c.orDerived("time_embed_dim", inner);
        int projDim = c.orDerived("embedding_proj_dim", embeddingDim);
        int clipDim = c.orDerived("clip_embed_dim", embeddingDim);
        c.finish();
        return new PriorConfig(heads, headDim, layers, embeddingDim, numEmbeddings, additional, dropout,
                act.equals("gelu") ? Activation.GELU_ERF : Activation.SILU, normIn, projNorm, hidProj, prd, timeEmbedDim,
                projDim, clipDim);
    }
}
