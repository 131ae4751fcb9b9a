package dev.unclip4j.clip;

import dev.unclip4j.bindings.Activation;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * CLIP's vision tower, a ViT (openai/CLIP {@code VisionTransformer}, transformers
 * {@code CLIPVisionModelWithProjection}), readable top to bottom in {@link #forward}:
 *
 * <ol>
 *   <li>patch embedding: a convolution with kernel = stride = patch, no bias, NHWC;
 *   <li>class token + learned positions;
 *   <li>the pre-LayerNorm ({@code pre_layrnorm} / {@code ln_pre});
 *   <li>N pre-LayerNorm blocks ({@link ClipEncoderLayer}), no mask: the last hidden state
 *       (before the post-LayerNorm, as transformers returns it);
 *   <li>the post-LayerNorm on the class token: the pooled output;
 *   <li>the visual projection (no bias): the image embedding.
 * </ol>
 *
 * <p>The class token is folded into the position table at load: row 0 of
 * {@link #positionEmbeddingWithClass} is {@code position[0] + class_embedding}, the patch
 * convolution writes rows 1…N of each image's sequence and row 0 is zeroed, so one broadcast add
 * gives openai/CLIP's {@code cat([class, patches]) + positions} without a concatenation. The
 * convolution runs once per image, writing into that image's rows in place.
 */
public final class ClipVisionEncoder implements AutoCloseable {
    private final Backend backend;
    private final DType dtype;
    private final ClipVisionConfig config;

    private final Tensor patchEmbedding;              // [d, patch, patch, 3] (OHWI, from the checkpoint's [d, 3, p, p])
    private final Tensor positionEmbeddingWithClass;  // [N, d], N = grid² + 1; row 0 also holds class_embedding
    private final Tensor preLayerNormWeight, preLayerNormBias;    // [d]
    private final List<ClipEncoderLayer> layers = new ArrayList<>();
    private final Tensor postLayerNormWeight, postLayerNormBias;  // [d]
    private final Tensor visualProjection;            // [proj, d], or null

    /**
     * The outputs of one pass, workspace tensors valid until the workspace's next reset.
     *
     * @param lastHiddenState [B, N, d], the blocks' output before the post-LayerNorm
     * @param pooledOutput [B, d] post-LayerNorm of the class token
     * @param imageEmbeds [B, proj], or null without a projection
     */
    public record Output(Tensor lastHiddenState, Tensor pooledOutput, Tensor imageEmbeds) {}

    public ClipVisionEncoder(Backend backend, ClipWeights.Vision weights, DType dtype) {
        this.backend = backend;
        this.dtype = dtype;
        this.config = weights.config();
        List<Tensor> made = new ArrayList<>();
        try {
            try (Tensor oihw = weights.patchEmbedding().upload(backend, dtype)) {       // [d, 3, p, p]
                long[] s = oihw.shape();
                Tensor ohwi = backend.allocate(dtype, s[0], s[2], s[3], s[1]);         // [d, p, p, 3]
                made.add(ohwi);
                backend.conv2dWeightOhwi(oihw, ohwi);
                ohwi.markConstant();
            }
            float[] pos = weights.positionEmbedding().floats(), cls = weights.classEmbedding().floats();
            for (int k = 0; k < cls.length; k++) pos[k] += cls[k];
            made.add(backend.fromFloats(dtype, pos, weights.positionEmbedding().shape()));
            made.add(weights.preLayerNorm().weight().upload(backend, dtype));
            made.add(weights.preLayerNorm().bias().upload(backend, dtype));
            made.add(weights.postLayerNorm().weight().upload(backend, dtype));
            made.add(weights.postLayerNorm().bias().upload(backend, dtype));
            made.add(weights.projection() == null ? null : weights.projection().weight().upload(backend, dtype));
            for (ClipWeights.Layer l : weights.layers()) {
                layers.add(new ClipEncoderLayer(backend, dtype, l, config.numAttentionHeads(), config.hiddenAct(),
                        config.layerNormEps()));
            }
        } catch (RuntimeException e) {
            for (Tensor t : made) if (t != null) t.close();
            layers.forEach(ClipEncoderLayer::close);
            throw e;
        }
        patchEmbedding = made.get(0);
        positionEmbeddingWithClass = made.get(1);
        preLayerNormWeight = made.get(2);
        preLayerNormBias = made.get(3);
        postLayerNormWeight = made.get(4);
        postLayerNormBias = made.get(5);
        visualProjection = made.get(6);
    }

    public ClipVisionConfig config() {
        return config;
    }

    public DType dtype() {
        return dtype;
    }

    /** One pass. pixels: [B, S, S, 3] NHWC, S = image_size, preprocessed (ClipImageProcessor / OpenAiClipTransform). */
    public Output forward(Tensor pixels, Workspace ws) {
        int s = config.imageSize(), p = config.patchSize(), g = config.gridSize(), d = config.hiddenSize();
        long n = config.numPositions();
        long[] want = {pixels.dim(0), s, s, config.numChannels()};
        if (pixels.rank() != 4 || !Arrays.equals(pixels.shape(), want)) {
            throw UnclipException.invalidArgument("ClipVisionEncoder", "pixels are " + Arrays.toString(pixels.shape())
                    + ", expected [B, " + s + ", " + s + ", " + config.numChannels() + "]");
        }
        long b = pixels.dim(0);
        if (b == 0) throw UnclipException.invalidArgument("ClipVisionEncoder", "no images (batch 0)");
        long image = (long) s * s * config.numChannels();

        // 1. patch embedding, image by image into rows 1…N−1 of its sequence; row 0 zeroed
        Tensor x = ws.allocate(dtype, b, n, d);                                              // [B, N, d]
        for (long i = 0; i < b; i++) {
            Tensor img = pixels.view(i * image, 1, s, s, config.numChannels());              // [1, S, S, 3]
            Tensor patches = x.view((i * n + 1) * d, 1, g, g, d);                            // [1, g, g, d]
            backend.conv2d(img, patchEmbedding, null, null, patches, p, 0, 1f);
            x.view(i * n * d, d).fillBytes(0);                                               // [d] class slot
        }
        // 2. + positions (row 0: position[0] + class_embedding)
        backend.add(x, positionEmbeddingWithClass, x);                                       // [B, N, d]
        // 3. pre-LayerNorm, in place
        backend.layerNorm(x, preLayerNormWeight, preLayerNormBias, x, (float) config.layerNormEps());  // [B, N, d]

        // 4. the blocks, no mask, x updated in place: the last hidden state
        ClipEncoderLayer.Scratch scratch = new ClipEncoderLayer.Scratch(
                ws.allocate(dtype, b, n, d),                                                 // [B, N, d]   ln output
                ws.allocate(dtype, b, n, 3L * d),                                            // [B, N, 3d]  q | k | v
                ws.allocate(dtype, b, n, d),                                                 // [B, N, d]   attention
                ws.allocate(dtype, b, n, config.intermediateSize()));                        // [B, N, I]   MLP hidden
        for (ClipEncoderLayer layer : layers) layer.forward(x, null, false, scratch);

        // 5. pooled output: post-LayerNorm of each class token (gathered by uc_embedding: rows i·N)
        int[] rows = new int[(int) b];
        for (int i = 0; i < b; i++) rows[i] = (int) (i * n);
        Tensor pooled = ws.allocate(dtype, b, d);                                            // [B, d]
        backend.embedding(x.reshape(b * n, d), rows, pooled);
        backend.layerNorm(pooled, postLayerNormWeight, postLayerNormBias, pooled, (float) config.layerNormEps());

        // 6. visual projection (no bias)
        Tensor embeds = null;
        if (visualProjection != null) {
            embeds = ws.allocate(dtype, b, visualProjection.dim(0));                         // [B, proj]
            backend.linear(pooled, visualProjection, null, null, embeds, Activation.NONE);
        }
        return new Output(x, pooled, embeds);
    }

    @Override
    public void close() {
        layers.forEach(ClipEncoderLayer::close);
        for (Tensor t : new Tensor[] {patchEmbedding, positionEmbeddingWithClass, preLayerNormWeight, preLayerNormBias,
                postLayerNormWeight, postLayerNormBias, visualProjection}) {
            if (t != null) t.close();
        }
    }
}
