package dev.unclip4j.clip;

import java.util.List;

/**
 * The CLIP towers' weights by role, the same records whichever layout (Hugging Face or
 * OpenAI/open_clip) they were read from; {@link ClipWeightLoader} makes them. Linear weights are
 * [out, in] (x·Wᵀ) as the {@code uc_linear} kernel takes them; attention's q, k, v are separate
 * (slices of OpenAI's fused in_proj); the projections are [projection_dim, hidden].
 */
public final class ClipWeights {
    private ClipWeights() {}

    /** Which checkpoint layout the weights came from. */
    public enum Layout { HUGGING_FACE, OPENAI }

    /** weight [out, in]; bias [out] or null. */
    public record Linear(Weight weight, Weight bias) {}

    public record LayerNorm(Weight weight, Weight bias) {}

    /** One pre-norm transformer block: x += attn(ln1(x)); x += mlp(ln2(x)). */
    public record Layer(LayerNorm layerNorm1, Linear q, Linear k, Linear v, Linear out, LayerNorm layerNorm2,
                        Linear fc1, Linear fc2) {}

    /**
     * @param tokenEmbedding [vocab_size, hidden]
     * @param positionEmbedding [max_position_embeddings, hidden]
     * @param projection [projection_dim, hidden], no bias; null for a tower without one
     *        (CLIPTextModel)
     */
    public record Text(ClipTextConfig config, Weight tokenEmbedding, Weight positionEmbedding, List<Layer> layers,
                       LayerNorm finalLayerNorm, Linear projection) {
        public Text {
            layers = List.copyOf(layers);
        }
    }

    /**
     * @param classEmbedding [hidden]
     * @param patchEmbedding [hidden, channels, patch, patch] (a conv without bias, as stored)
     * @param positionEmbedding [grid² + 1, hidden]
     * @param projection [projection_dim, hidden], no bias; null for CLIPVisionModel
     */
    public record Vision(ClipVisionConfig config, Weight classEmbedding, Weight patchEmbedding,
                         Weight positionEmbedding, LayerNorm preLayerNorm, List<Layer> layers,
                         LayerNorm postLayerNorm, Linear projection) {
        public Vision {
            layers = List.copyOf(layers);
        }
    }

    /**
     * A loaded model: either tower may be null when the checkpoint has only the other one.
     *
     * @param logitScale the scalar {@code logit_scale} (log of the similarity temperature), or null
     * @param unexpected checkpoint tensors that no role took (reported, not fatal)
     */
    public record Model(Layout layout, ClipConfig config, Text text, Vision vision, Weight logitScale,
                        List<String> unexpected) {
        public Model {
            unexpected = List.copyOf(unexpected);
        }
    }
}
