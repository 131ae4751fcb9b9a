package dev.unclip4j.clip;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.image.DecodedImage;
import dev.unclip4j.io.WeightFormatException;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.IntFunction;

/**
 * CLIP as a product: text and image embeddings, cosine similarity, zero-shot classification
 * with prompt templates, ranking of candidate images for a prompt. Opens any model folder
 * {@link ClipModelFiles} takes; the weights are uploaded once and the checkpoint closed.
 *
 * <p>Prompts are tokenized to the text tower's context (max_position_embeddings), truncated with
 * a warning when longer, and encoded without a padding mask, as openai/CLIP does (the embedding
 * is the same with one: see {@link ClipTextEncoder}). Images are preprocessed as the folder says
 * ({@code preprocessor_config.json} / {@code feature_extractor/}), or with openai/CLIP's own
 * transform for OpenAI checkpoints.
 *
 * <p>The similarity temperature is {@code exp(logit_scale)} when the checkpoint holds
 * {@code logit_scale} (CLIP's trained value is ln 100), else 100.
 *
 * <p>One call at a time (the methods are synchronized: one workspace serves every pass).
 */
public final class Clip implements AutoCloseable {
    /** The temperature used when the checkpoint has no logit_scale (CLIP's trained value). */
    public static final double DEFAULT_LOGIT_SCALE = 100.0;
    /** openai/CLIP's README template. */
    public static final List<String> DEFAULT_TEMPLATES = List.of("a photo of a {}.");

    /** One label of a zero-shot classification: its probability and logit (scale · cosine). */
    public record Prediction(String label, double probability, double logit) {}

    /** One candidate image for a prompt, with its cosine similarity; {@code index} is its place in the input list. */
    public record Ranked(int index, Path image, double similarity) {}

    private final Backend backend;
    private final ClipTokenizer tokenizer;
    private final ClipImageProcessorAdapter images;
    private final ClipTextEncoder text;
    private final ClipVisionEncoder vision;
    private final double logitScale;
    private final List<String> templates;
    private final Workspace ws;

    /** Opens {@code model} on {@code backend} in float32. */
    public static Clip open(Path model, Backend backend) {
        return open(model, backend, DType.F32);
    }

    /** Opens {@code model} on {@code backend}, weights and activations stored as {@code dtype}. */
    public static Clip open(Path model, Backend backend, DType dtype) {
        try (ClipModelFiles files = ClipModelFiles.open(model)) {
            return new Clip(files, backend, dtype);
        }
    }

    /** Uploads the towers of {@code files} (which the caller may close afterwards). */
    public Clip(ClipModelFiles files, Backend backend, DType dtype) {
        this.backend = backend;
        this.tokenizer = files.tokenizer();
        this.images = ClipImageProcessorAdapter.of(files);
        Weight scale = files.logitScale();
        this.logitScale = scale == null ? DEFAULT_LOGIT_SCALE : Math.exp(scale.floats()[0]);
        this.templates = files.templates() != null ? files.templates() : DEFAULT_TEMPLATES;
        ClipTextEncoder t = null;
        ClipVisionEncoder v = null;
        try {
            t = files.text() == null ? null : new ClipTextEncoder(backend, files.text(), dtype);
            v = files.vision() == null ? null : new ClipVisionEncoder(backend, files.vision(), dtype);
            this.ws = backend.newWorkspace(1 << 20);
        } catch (RuntimeException e) {
            if (t != null) t.close();
            if (v != null) v.close();
            throw e;
        }
        this.text = t;
        this.vision = v;
    }

    public boolean hasText() {
        return text != null;
    }

    public boolean hasVision() {
        return vision != null;
    }

    /** exp(logit_scale), or {@link #DEFAULT_LOGIT_SCALE} when the checkpoint has none. */
    public double logitScale() {
        return logitScale;
    }

    public ClipTokenizer tokenizer() {
        return tokenizer;
    }

    /**
     * The zero-shot templates that suit this CLIP: those its folder names in
     * {@value ClipModelFiles#TEMPLATES_FILE} (the built-in model's CLIP learned bare captions, so
     * its file says {@code "{}"}), else {@link #DEFAULT_TEMPLATES}.
     */
    public List<String> templates() {
        return templates;
    }

    /** The projected text embedding of each prompt, [prompts][projection_dim], optionally L2-normalised. */
    public synchronized float[][] textEmbeddings(List<String> prompts, boolean normalize) {
        requireText();
        if (tokenizer == null) {
            throw new WeightFormatException("the model has no tokenizer files (tokenizer.json, vocab.json + merges.txt or "
                    + "bpe_simple_vocab_16e6.txt.gz); cannot encode text");
        }
        if (prompts.isEmpty()) return new float[0][];
        return textEmbeddingsOfIds(tokenizer.batch(prompts, text.config().maxPositionEmbeddings()).ids(), normalize);
    }

    /** The projected text embeddings of token ids already made: [B][L] → [B][projection_dim]. */
    public synchronized float[][] textEmbeddingsOfIds(int[][] ids, boolean normalize) {
        requireText();
        try {
            ClipTextEncoder.Output o = text.forward(ids, ws);
            if (o.textEmbeds() == null) throw new WeightFormatException("the text tower has no text_projection");
            return rows(o.textEmbeds(), normalize);
        } finally {
            ws.reset();
        }
    }

    /** The projected image embedding of each image file, [images][projection_dim], optionally L2-normalised. */
    public synchronized float[][] imageEmbeddings(List<Path> files, boolean normalize) {
        requireVision();
        List<float[]> pixels = new ArrayList<>();
        for (Path f : files) pixels.add(images.pixels(f));
        return embedPixels(pixels, i -> files.get(i).toString(), normalize);
    }

    /** The projected image embedding of each decoded image, [images][projection_dim], optionally L2-normalised. */
    public synchronized float[][] imageEmbeddingsOfImages(List<DecodedImage> decoded, boolean normalize) {
        requireVision();
        List<float[]> pixels = new ArrayList<>();
        for (DecodedImage d : decoded) pixels.add(images.pixels(d));
        return embedPixels(pixels, i -> "image " + i, normalize);
    }

    /** Preprocessed images (each S × S × 3) as one batch through the vision tower. */
    private float[][] embedPixels(List<float[]> pixels, IntFunction<String> name, boolean normalize) {
        if (pixels.isEmpty()) return new float[0][];
        int s = vision.config().imageSize();
        int per = s * s * 3;
        float[] all = new float[Math.multiplyExact(per, pixels.size())];
        for (int i = 0; i < pixels.size(); i++) {
            float[] px = pixels.get(i);
            if (px.length != per) {
                throw new WeightFormatException(name.apply(i) + ": preprocessing gives " + px.length / 3 + " pixels, the "
                        + "vision tower takes " + s + "×" + s + " (check preprocessor_config.json's crop_size)");
            }
            System.arraycopy(px, 0, all, i * per, per);
        }
        return imageEmbeddingsOfPixels(all, pixels.size(), normalize);
    }

    /** The projected image embeddings of preprocessed pixels, NHWC [batch, S, S, 3] flattened. */
    public synchronized float[][] imageEmbeddingsOfPixels(float[] pixelsNhwc, int batch, boolean normalize) {
        requireVision();
        int s = vision.config().imageSize();
        try (Tensor px = backend.fromFloats(vision.dtype(), pixelsNhwc, batch, s, s, vision.config().numChannels())) {
            ClipVisionEncoder.Output o = vision.forward(px, ws);
            if (o.imageEmbeds() == null) throw new WeightFormatException("the vision tower has no visual_projection");
            return rows(o.imageEmbeds(), normalize);
        } finally {
            ws.reset();
        }
    }

    /** Cosine similarity of two vectors (in double). */
    public static double cosine(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("lengths " + a.length + " and " + b.length + " differ");
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    /**
     * Zero-shot classification of {@code image} among {@code labels}, best first. Each label's
     * class embedding is the mean of its normalised template embeddings ({@code {}} in a template
     * is replaced by the label), normalised again (openai/CLIP's prompt-ensembling notebook);
     * the probabilities are softmax(logit_scale · cos(image, class)).
     */
    public synchronized List<Prediction> classify(Path image, List<String> labels, List<String> templates) {
        if (labels.isEmpty()) throw new IllegalArgumentException("no labels to classify among");
        if (templates.isEmpty()) throw new IllegalArgumentException("no prompt templates");
        for (String t : templates) {
            if (!t.contains("{}")) throw new IllegalArgumentException("template \"" + t + "\" has no {} for the label");
        }
        float[] img = imageEmbeddings(List.of(image), true)[0];
        List<String> prompts = new ArrayList<>();
        for (String label : labels) for (String t : templates) prompts.add(t.replace("{}", label));
        float[][] emb = textEmbeddings(prompts, true);
        double[] logits = new double[labels.size()];
        for (int c = 0; c < labels.size(); c++) {
            float[] mean = new float[img.length];
            for (int t = 0; t < templates.size(); t++) {
                float[] e = emb[c * templates.size() + t];
                for (int k = 0; k < mean.length; k++) mean[k] += e[k];
            }
            logits[c] = logitScale * cosine(img, mean);  // cosine normalises the mean
        }
        double[] p = softmax(logits);
        List<Prediction> out = new ArrayList<>();
        for (int c = 0; c < labels.size(); c++) out.add(new Prediction(labels.get(c), p[c], logits[c]));
        out.sort(Comparator.comparingDouble(Prediction::probability).reversed());
        return out;
    }

    /** The candidate images ranked for {@code prompt} by cosine similarity, best first. */
    public synchronized List<Ranked> rank(String prompt, List<Path> candidates) {
        float[] t = textEmbeddings(List.of(prompt), false)[0];
        float[][] e = imageEmbeddings(candidates, false);
        List<Ranked> out = new ArrayList<>();
        for (int i = 0; i < e.length; i++) out.add(new Ranked(i, candidates.get(i), cosine(t, e[i])));
        out.sort(Comparator.comparingDouble(Ranked::similarity).reversed());
        return out;
    }

    static double[] softmax(double[] x) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (double v : x) max = Math.max(max, v);
        double[] p = new double[x.length];
        for (int i = 0; i < x.length; i++) sum += p[i] = Math.exp(x[i] - max);
        for (int i = 0; i < x.length; i++) p[i] /= sum;
        return p;
    }

    private static float[][] rows(Tensor t, boolean normalize) {
        int b = (int) t.dim(0), n = (int) t.dim(1);
        float[] flat = t.toFloatArray();
        float[][] out = new float[b][n];
        for (int i = 0; i < b; i++) {
            System.arraycopy(flat, i * n, out[i], 0, n);
            if (normalize) {
                double s = 0;
                for (float v : out[i]) s += (double) v * v;
                double inv = 1 / Math.sqrt(s);
                for (int k = 0; k < n; k++) out[i][k] = (float) (out[i][k] * inv);
            }
        }
        return out;
    }

    private void requireText() {
        if (text == null) throw new WeightFormatException("the model has no text tower");
    }

    private void requireVision() {
        if (vision == null) throw new WeightFormatException("the model has no vision tower (image_encoder/ or visual.*)");
    }

    @Override
    public synchronized void close() {
        ws.close();
        if (text != null) text.close();
        if (vision != null) vision.close();
    }

    /** The folder's preprocessing, whichever kind it has. */
    private record ClipImageProcessorAdapter(dev.unclip4j.image.ClipImageProcessor hf,
                                             dev.unclip4j.image.OpenAiClipTransform openAi) {
        static ClipImageProcessorAdapter of(ClipModelFiles f) {
            return new ClipImageProcessorAdapter(f.imageProcessor(), f.openAiTransform());
        }

        float[] pixels(Path file) {
            if (hf != null) return hf.pixels(file);
            if (openAi != null) return openAi.pixels(DecodedImage.read(file));
            throw noPreprocessing();
        }

        float[] pixels(DecodedImage image) {
            if (hf != null) return hf.pixels(image.toRgb());
            if (openAi != null) return openAi.pixels(image);
            throw noPreprocessing();
        }

        private static WeightFormatException noPreprocessing() {
            return new WeightFormatException("the model has no image preprocessing (preprocessor_config.json or "
                    + "feature_extractor/); cannot read images");
        }
    }
}
