package dev.unclip4j.pipeline;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.clip.ClipTextEncoder;
import dev.unclip4j.clip.ClipTokenizer;
import dev.unclip4j.image.RgbImage;
import dev.unclip4j.model.TextProjection;
import dev.unclip4j.schedule.Noise;
import dev.unclip4j.schedule.UnCLIPScheduler;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import dev.unclip4j.unet.UNet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * diffusers v0.20.0's UnCLIP pipelines on an {@link UnclipModel}: text to image
 * ({@code UnCLIPPipeline.__call__}) and image variations ({@code UnCLIPImageVariationPipeline}),
 * stage by stage the same computation and the same random draws, so a seed gives diffusers'
 * image.
 *
 * <p>The stages: CLIP text → prior (with classifier-free guidance) → text_proj → decoder (with
 * guidance) → antialiased bicubic upscale → super-resolution (super_res_first, and
 * super_res_last for the final step) → 8-bit image. Each denoising stage runs the one
 * {@link DenoisingLoop}; the conditional and unconditional halves of guidance run as one batch
 * of 2B (unconditional first, as diffusers concatenates them).
 *
 * <p>Random draws, one {@link Noise} per call (one generator, or one per image), in diffusers'
 * order: prior latents [B, D]; each prior step's noise (t > 0); decoder latents [B, C, S, S];
 * each decoder step's noise; super-resolution latents [B, C, R, R]; each super-res step's noise.
 * Image noise is drawn in NCHW order, as torch does, and permuted to NHWC.
 *
 * <p>One thread at a time: the pipeline reuses its workspaces across calls (the methods are
 * synchronized), so a step allocates nothing after the first at a given batch.
 */
public final class UnclipPipeline implements AutoCloseable {
    private final UnclipModel m;
    private final Backend backend;
    private final DType dtype;
    private final Workspace conditioning;  // per call: the text, the image embeddings, text_proj's output
    private final Workspace step;          // per network call: reset before each

    public UnclipPipeline(UnclipModel model) {
        this.m = model;
        this.backend = model.backend();
        this.dtype = model.dtype();
        this.conditioning = backend.newWorkspace(1 << 20);
        this.step = backend.newWorkspace(1 << 24);
    }

    /** What a call made: the images and what each stage produced, in the batch's (prompt-major) order. */
    public record Result(List<RgbImage> images, float[][] imageEmbeddings, float[] decoderLatents, int[] decoderShape,
                         float[] superResLatents, int[] superResShape, Map<String, Long> stageNanos) {}

    /** Reports progress: after each denoising step of each stage. */
    @FunctionalInterface
    public interface Progress {
        void stepDone(String stage, int done, int total);

        Progress NONE = (stage, done, total) -> {};
    }

    // ---- text to image ------------------------------------------------------------------------

    /**
     * UnCLIPPipeline.__call__ for {@code prompts} (or {@code request.text()} given instead),
     * {@code imagesPerPrompt} images each: B = prompts × imagesPerPrompt images, prompt-major.
     */
    public synchronized Result textToImage(TextToImage request, Progress progress) {
        request.validate();
        int rows = request.text() != null ? request.text().rows() : request.prompts().size();
        return textToImage(request, request.seeds().noise(rows * request.imagesPerPrompt()), progress);
    }

    private Result textToImage(TextToImage request, Noise noise, Progress progress) {
        request.validate();
        Map<String, Long> times = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        conditioning.reset();
        TextConditioning cond = request.text() != null ? request.text() : encode(request.prompts());
        int b = cond.rows() * request.imagesPerPrompt();
        boolean guidance = request.priorGuidance() > 1 || request.decoderGuidance() > 1;
        TextConditioning text = cond.repeatInterleave(request.imagesPerPrompt());
        if (guidance) text = TextConditioning.concat(encode(Collections.nCopies(cond.rows(), "")).repeatInterleave(
                request.imagesPerPrompt()), text);
        times.put("text", System.nanoTime() - t0);

        // prior: text → CLIP image embedding
        t0 = System.nanoTime();
        float[][] imageEmbeddings = prior(text, b, guidance, (float) request.priorGuidance(), request.priorSteps(), noise,
                progress);
        times.put("prior", System.nanoTime() - t0);
        return decodeAndUpscale(imageEmbeddings, text, guidance, (float) request.decoderGuidance(), request.decoderSteps(),
                request.superResSteps(), noise, null, progress, times);
    }

    private float[][] prior(TextConditioning text, int b, boolean guidance, float scale, int steps, Noise noise,
                            Progress progress) {
        int d = m.prior.config().embeddingDim();
        UnCLIPScheduler scheduler = new UnCLIPScheduler(m.priorScheduler);
        Tensor embeds = text.embedsTensor(conditioning, dtype), hidden = text.hiddenTensor(conditioning, dtype);
        float[] latents = scaled(noise.randn(b, d), scheduler.initNoiseSigma());
        float[] x = DenoisingLoop.run("prior", scheduler, steps, latents, new int[] {b, d}, noise, (lat, t, i) -> {
            step.reset();
            Tensor in = step.allocate(dtype, guidance ? 2L * b : b, d).copyFrom(guidance ? twice(lat) : lat);
            float[] out = m.prior.forward(in, t, embeds, hidden, text.mask(), step).predictedImageEmbedding().toFloatArray();
            return guidance ? guided(out, d, d, scale) : out;
        }, progress::stepDone);
        step.reset();
        Tensor post = step.allocate(dtype, b, d).copyFrom(x);
        m.prior.postProcessLatents(post, post);
        return rows(post.toFloatArray(), b);
    }

    // ---- image variations ---------------------------------------------------------------------------

    /**
     * UnCLIPImageVariationPipeline.__call__: each image's CLIP image embedding (the folder's
     * feature_extractor, then image_encoder), or the embeddings given, {@code imagesPerImage}
     * images each; the empty prompt on the text side of both guidance halves.
     */
    public synchronized Result variations(Variations request, Progress progress) {
        request.validate();
        if (request.images() != null && !m.hasImageEncoder()) {
            throw new IllegalArgumentException(m.root() + " has no image_encoder/ and feature_extractor/: variations of an"
                    + " image need them (or pass image embeddings)");
        }
        Map<String, Long> times = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        conditioning.reset();
        float[][] given = request.images() != null ? imageEmbeddings(request.images()) : request.imageEmbeddings();
        int n = request.imagesPerImage(), b = given.length * n;
        float[][] embeddings = new float[b][];
        for (int i = 0; i < b; i++) embeddings[i] = given[i / n].clone();
        boolean guidance = request.decoderGuidance() > 1;
        // _encode_prompt with [""] per image: the conditional and the unconditional rows are alike.
        TextConditioning empty = encode(Collections.nCopies(given.length, "")).repeatInterleave(n);
        TextConditioning text = guidance ? TextConditioning.concat(empty, empty) : empty;
        times.put("text", System.nanoTime() - t0);
        return decodeAndUpscale(embeddings, text, guidance, (float) request.decoderGuidance(), request.decoderSteps(),
                request.superResSteps(), request.seeds().noise(b), null, progress, times);
    }

    /** The projected CLIP image embedding of each image: feature_extractor, then image_encoder's image_embeds. */
    float[][] imageEmbeddings(List<RgbImage> images) {
        int size = m.imageEncoder.config().imageSize();
        float[] pixels = new float[images.size() * size * size * 3];
        for (int i = 0; i < images.size(); i++) {
            float[] p = m.featureExtractor.pixels(images.get(i));
            if (p.length != size * size * 3) {
                throw new IllegalArgumentException("the feature extractor makes " + p.length / 3 + " pixels, the image encoder"
                        + " takes " + size + "×" + size);
            }
            System.arraycopy(p, 0, pixels, i * p.length, p.length);
        }
        Tensor in = conditioning.allocate(dtype, images.size(), size, size, 3).copyFrom(pixels);
        return rows(m.imageEncoder.forward(in, conditioning).imageEmbeds().toFloatArray(), images.size());
    }

    // ---- interpolation and text diffs -------------------------------------------------------------

    /**
     * diffusers' community {@code UnCLIPImageInterpolationPipeline} (v0.20.0, with a true slerp):
     * K frames whose image embeddings are slerp(i / (K − 1), e(A), e(B)), decoded like variations;
     * the decoder's initial noise is drawn once ([1, C, S, S]) and repeated for every frame, as that
     * pipeline does. With {@code fixedNoise} every draw is shared by the frames.
     */
    public synchronized Result interpolateImages(Interpolation request, RgbImage a, RgbImage b, Progress progress) {
        request.validate();
        if (!m.hasImageEncoder()) throw new IllegalArgumentException(m.root() + " has no image_encoder/ and feature_extractor/");
        conditioning.reset();
        float[][] ends = imageEmbeddings(List.of(a, b));
        return interpolateEmbeddings(request, ends[0], ends[1], progress);
    }

    /** {@link #interpolateImages} from two image embeddings given. */
    public synchronized Result interpolateEmbeddings(Interpolation request, float[] a, float[] b, Progress progress) {
        request.validate();
        int k = request.frames();
        float[] positions = Slerp.framePositions(k);
        float[][] frames = new float[k][];
        for (int i = 0; i < k; i++) frames[i] = Slerp.slerp(positions[i], a, b);
        return decodeFrames(request, frames, true, progress);
    }

    /**
     * diffusers' community {@code UnCLIPTextInterpolationPipeline} (v0.20.0, with a true slerp):
     * CLIP on both prompts with their attention masks; per frame, slerp of the text embeddings and
     * of the last hidden states (each taken as one vector) and the union of the two masks; then
     * text to image from those K conditionings, every frame drawing its own noise (as that
     * pipeline does), or with {@code fixedNoise} all sharing one draw.
     */
    public synchronized Result interpolateTexts(Interpolation request, String a, String b, Progress progress) {
        request.validate();
        conditioning.reset();
        ClipTokenizer.Batch batch = m.tokenizer.batch(List.of(a, b), m.tokenizer.contextLength());
        ClipTextEncoder.Output out = m.textEncoder.forward(batch.ids(), batch.attentionMask(), conditioning);
        float[] embeds = out.textEmbeds().toFloatArray(), hidden = out.lastHiddenState().toFloatArray();
        int d = embeds.length / 2, h = hidden.length / 2, l = batch.ids()[0].length, w = h / l;
        int k = request.frames();
        int[] union = new int[l];
        for (int j = 0; j < l; j++) union[j] = Math.max(batch.attentionMask()[0][j], batch.attentionMask()[1][j]);
        float[] positions = Slerp.framePositions(k);
        float[] e = new float[k * d], hs = new float[k * h];
        int[][] masks = new int[k][];
        for (int i = 0; i < k; i++) {
            System.arraycopy(Slerp.slerp(positions[i], Arrays.copyOfRange(embeds, 0, d),
                    Arrays.copyOfRange(embeds, d, 2 * d)), 0, e, i * d, d);
            System.arraycopy(Slerp.slerp(positions[i], Arrays.copyOfRange(hidden, 0, h),
                    Arrays.copyOfRange(hidden, h, 2 * h)), 0, hs, i * h, h);
            masks[i] = union.clone();
        }
        TextConditioning text = new TextConditioning(e, hs, masks, k, l, w);
        Seeds seeds = request.seeds();
        TextToImage t = new TextToImage(null, text, 1, request.priorSteps(), request.decoderSteps(), request.superResSteps(),
                request.priorGuidance(), request.decoderGuidance(), seeds);
        return request.fixedNoise() ? textToImage(t, Noise.shared(seeds.noise(1)), progress) : textToImage(t, progress);
    }

    /**
     * DALL·E 2's text diffs (Ramesh et al. 2022, §3.3): the image's CLIP embedding z_i rotated
     * toward the text diff z_d = normalise(z_t − z_t0) of the prompts {@code to} and {@code from}:
     * frame k is slerp(θ_k, ẑ_i, z_d)·|z_i| with θ_k = maxAngle · k / (K − 1), decoded like a
     * variation with every draw shared by the frames. ẑ_i is z_i normalised: the slerp of two unit
     * vectors is a unit vector, and the factor |z_i| keeps every frame at the norm of the image
     * encoder's embeddings, which is what the decoder was trained on. Frame 0 is z_i itself: the
     * plain variation of the image.
     */
    public synchronized Result edit(Edit request, RgbImage image, Progress progress) {
        request.validate();
        if (!m.hasImageEncoder()) throw new IllegalArgumentException(m.root() + " has no image_encoder/ and feature_extractor/");
        conditioning.reset();
        float[] zi = imageEmbeddings(List.of(image))[0];
        TextConditioning prompts = encode(List.of(request.from(), request.to()));
        int d = prompts.embedDim();
        float[] diff = new float[d];
        for (int j = 0; j < d; j++) diff[j] = prompts.embeds()[d + j] - prompts.embeds()[j];
        return decodeFrames(request.asInterpolation(), textDiffFrames(zi, diff, request.frames(), request.maxAngle()), false,
                progress);
    }

    /** The frames of a text diff: slerp(θ_k, ẑ_i, normalise(diff)) · |z_i|, θ_k = maxAngle · k / (K − 1). */
    static float[][] textDiffFrames(float[] zi, float[] diff, int k, double maxAngle) {
        double normI = norm(zi), normD = norm(diff);
        if (normD == 0) throw new IllegalArgumentException("the two prompts have the same CLIP embedding: no direction to edit in");
        float[] unitI = new float[zi.length], unitD = new float[zi.length];
        for (int j = 0; j < zi.length; j++) {
            unitI[j] = (float) (zi[j] / normI);
            unitD[j] = (float) (diff[j] / normD);
        }
        float[][] frames = new float[k][];
        for (int i = 0; i < k; i++) {
            if (i == 0) {
                frames[i] = zi.clone();
                continue;
            }
            float[] f = Slerp.slerp(maxAngle * i / (k - 1), unitI, unitD);
            for (int j = 0; j < f.length; j++) f[j] = (float) (f[j] * normI);
            frames[i] = f;
        }
        return frames;
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float x : v) s += (double) x * x;
        return Math.sqrt(s);
    }

    /**
     * Frames decoded from their image embeddings with the empty prompt (the variation pipeline's
     * text side). {@code oneDecoderDraw}: the decoder's initial latents drawn once and repeated
     * (the image interpolation pipeline's way); fixed noise shares every draw.
     */
    private Result decodeFrames(Interpolation request, float[][] frames, boolean oneDecoderDraw, Progress progress) {
        int k = frames.length;
        Map<String, Long> times = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        conditioning.reset();
        boolean guidance = request.decoderGuidance() > 1;
        TextConditioning empty = encode(Collections.nCopies(k, ""));
        TextConditioning text = guidance ? TextConditioning.concat(empty, empty) : empty;
        times.put("text", System.nanoTime() - t0);
        Noise noise = request.fixedNoise() || !oneDecoderDraw ? Noise.shared(request.seeds().noise(1))
                : request.seeds().noise(k);
        float[] decoderStart = null;
        if (oneDecoderDraw && !request.fixedNoise()) {
            var cfg = m.decoder.config();
            int c = cfg.inChannels(), s = cfg.sampleSize()[0], w = cfg.sampleSize()[1];
            float[] one = nchwToNhwc(noise.randn(1, c, s, w), 1, c, s, w);
            decoderStart = new float[k * one.length];
            for (int i = 0; i < k; i++) System.arraycopy(one, 0, decoderStart, i * one.length, one.length);
        }
        return decodeAndUpscale(frames, text, guidance, (float) request.decoderGuidance(), request.decoderSteps(),
                request.superResSteps(), noise, decoderStart, progress, times);
    }

    // ---- decoder and super-resolution (shared by every pipeline) --------------------------------

    /**
     * From image embeddings [B][D] and the text rows (2B with guidance, unconditional first) to
     * the images: text_proj, the decoder loop (its initial latents drawn here unless given, NHWC),
     * the clamp to [−1, 1], the antialiased bicubic upscale, the super-resolution loop, 8 bits.
     */
    Result decodeAndUpscale(float[][] imageEmbeddings, TextConditioning text, boolean guidance, float scale,
                            int decoderSteps, int superResSteps, Noise noise, float[] decoderLatents, Progress progress,
                            Map<String, Long> times) {
        int b = imageEmbeddings.length;
        long t0 = System.nanoTime();
        // text_proj: the decoder's text tokens (k image tokens, then the text) and its additive time embedding
        Tensor image = conditioning.allocate(dtype, b, imageEmbeddings[0].length).copyFrom(flatten(imageEmbeddings));
        TextProjection.Output proj = m.textProj.forward(image, text.embedsTensor(conditioning, dtype),
                text.hiddenTensor(conditioning, dtype), guidance, conditioning);
        int k = m.textProj.config().clipExtraContextTokens();
        Tensor mask = decoderMask(text.mask(), k);                          // [rows, k + L]: the k image tokens always attended

        UNet decoder = m.decoder;
        int c = decoder.config().inChannels(), s = decoder.config().sampleSize()[0], w = decoder.config().sampleSize()[1];
        UnCLIPScheduler decoderScheduler = new UnCLIPScheduler(m.decoderScheduler);
        float[] start = decoderLatents != null ? decoderLatents
                : scaled(nchwToNhwc(noise.randn(b, c, s, w), b, c, s, w), decoderScheduler.initNoiseSigma());
        int outC = decoder.config().outChannels();
        int rows = guidance ? 2 * b : b;
        float[] small = DenoisingLoop.run("decoder", decoderScheduler, decoderSteps, start, new int[] {b, s, w, c}, noise,
                (lat, t, i) -> {
                    step.reset();
                    Tensor in = step.allocate(dtype, rows, s, w, c).copyFrom(guidance ? twice(lat) : lat);
                    float[] out = decoder.forward(in, filled(rows, t), proj.textEncoderHiddenStates(), mask,
                            proj.additiveClipTimeEmbeddings(), step).toFloatArray();
                    // Guidance on the predicted noise only; the learned variance comes from the text half.
                    return guidance ? guided(out, outC, c, scale) : out;
                }, progress::stepDone);
        for (int i = 0; i < small.length; i++) small[i] = Math.min(Math.max(small[i], -1f), 1f);
        times.put("decoder", System.nanoTime() - t0);

        t0 = System.nanoTime();
        int[] rs = m.superResFirst.config().sampleSize();
        int r = rs[0], rw = rs[1];
        UnCLIPScheduler srScheduler = new UnCLIPScheduler(m.superResScheduler);
        float[] srStart = scaled(nchwToNhwc(noise.randn(b, c, r, rw), b, c, r, rw), srScheduler.initNoiseSigma());
        conditioning.reset();
        Tensor smallT = conditioning.allocate(dtype, b, s, w, c).copyFrom(small);
        Tensor upscaled = conditioning.allocate(dtype, b, r, rw, c);        // [B, R, R, C]
        backend.resizeBicubicAa(smallT, upscaled);
        int[] srTimesteps = srScheduler.setTimesteps(superResSteps);
        float[] big = DenoisingLoop.run("super-res", srScheduler, superResSteps, srStart, new int[] {b, r, rw, c}, noise,
                (lat, t, i) -> {
                    UNet unet = i == srTimesteps.length - 1 ? m.superResLast : m.superResFirst;
                    step.reset();
                    Tensor noisy = step.allocate(dtype, b, r, rw, c).copyFrom(lat);
                    Tensor in = step.allocate(dtype, b, r, rw, 2L * c);        // cat([latents, upscaled], dim=1)
                    backend.copyColumns(noisy, 0, in, 0, c);
                    backend.copyColumns(upscaled, 0, in, c, c);
                    return unet.forward(in, filled(b, t), null, null, null, step).toFloatArray();
                }, progress::stepDone);
        times.put("super-res", System.nanoTime() - t0);
        return new Result(toImages(big, b, r, rw, c), imageEmbeddings, small, new int[] {b, s, w, c}, big,
                new int[] {b, r, rw, c}, times);
    }

    // ---- text conditioning ------------------------------------------------------------------------

    /**
     * CLIP on the prompts as UnCLIPPipeline._encode_prompt does: padded to the tokenizer's
     * model_max_length with its pad token, truncated with a warning, the text tower run without a
     * mask; the mask kept for the prior and the decoder.
     */
    TextConditioning encode(List<String> prompts) {
        ClipTokenizer tok = m.tokenizer;
        ClipTokenizer.Batch batch = tok.batch(prompts, tok.contextLength());
        ClipTextEncoder.Output out = m.textEncoder.forward(batch.ids(), conditioning);
        return new TextConditioning(out.textEmbeds().toFloatArray(), out.lastHiddenState().toFloatArray(), batch.attentionMask(),
                prompts.size(), batch.ids()[0].length, (int) out.lastHiddenState().dim(2));
    }

    private Tensor decoderMask(int[][] textMask, int k) {
        int rows = textMask.length, l = textMask[0].length;
        float[] v = new float[rows * (k + l)];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < k; j++) v[i * (k + l) + j] = 1f;
            for (int j = 0; j < l; j++) v[i * (k + l) + k + j] = textMask[i][j] != 0 ? 1f : 0f;
        }
        return conditioning.allocate(dtype, rows, k + l).copyFrom(v);
    }

    // ---- small host helpers ------------------------------------------------------------------------

    /**
     * Classifier-free guidance on a model output of 2B rows (unconditional first), channels last
     * with {@code channels} per pixel: uncond + s·(text − uncond) on the first
     * {@code guidedChannels} channels, the text half's values on the rest (diffusers' split of the
     * learned variance). float32, in diffusers' order of operations.
     */
    static float[] guided(float[] out, int channels, int guidedChannels, float scale) {
        int half = out.length / 2;
        float[] g = new float[half];
        for (int i = 0; i < half; i++) {
            float u = out[i], t = out[half + i];
            g[i] = (i % channels) < guidedChannels ? u + scale * (t - u) : t;
        }
        return g;
    }

    private static float[] twice(float[] x) {
        float[] out = new float[2 * x.length];
        System.arraycopy(x, 0, out, 0, x.length);
        System.arraycopy(x, 0, out, x.length, x.length);
        return out;
    }

    private static float[] scaled(float[] x, float sigma) {
        if (sigma != 1f) for (int i = 0; i < x.length; i++) x[i] *= sigma;
        return x;
    }

    private static float[] filled(int n, int t) {
        float[] v = new float[n];
        Arrays.fill(v, t);
        return v;
    }

    /** [n × d] values as n rows of d. */
    static float[][] rows(float[] flat, int n) {
        int d = flat.length / n;
        float[][] out = new float[n][];
        for (int i = 0; i < n; i++) out[i] = Arrays.copyOfRange(flat, i * d, (i + 1) * d);
        return out;
    }

    static float[] flatten(float[][] rows) {
        int d = rows[0].length;
        float[] out = new float[rows.length * d];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, out, i * d, d);
        return out;
    }

    static float[] nchwToNhwc(float[] x, int n, int c, int h, int w) {
        float[] out = new float[x.length];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < h * w; p++) out[(b * h * w + p) * c + ch] = x[(b * c + ch) * h * w + p];
        return out;
    }

    /** x·0.5 + 0.5 clamped to [0, 1], then numpy_to_pil's (x·255).round() to 8 bits (round half to even). */
    static List<RgbImage> toImages(float[] x, int n, int h, int w, int c) {
        if (c != 3) throw UnclipException.invalidArgument("pipeline", "images need 3 channels, the model makes " + c);
        List<RgbImage> out = new ArrayList<>();
        int per = h * w * c;
        for (int b = 0; b < n; b++) {
            byte[] rgb = new byte[per];
            for (int i = 0; i < per; i++) {
                float v = Math.min(Math.max(x[b * per + i] * 0.5f + 0.5f, 0f), 1f);
                rgb[i] = (byte) (int) Math.rint(v * 255f);
            }
            out.add(new RgbImage(w, h, rgb));
        }
        return out;
    }

    @Override
    public synchronized void close() {
        conditioning.close();
        step.close();
    }
}
