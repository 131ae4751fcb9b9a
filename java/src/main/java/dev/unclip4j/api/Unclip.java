package dev.unclip4j.api;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.Status;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.clip.Clip;
import dev.unclip4j.image.DecodedImage;
import dev.unclip4j.pipeline.Seeds;
import dev.unclip4j.pipeline.TextToImage;
import dev.unclip4j.pipeline.UnclipModel;
import dev.unclip4j.pipeline.UnclipPipeline;
import dev.unclip4j.tensor.Backend;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * unclip4j embedded in a JVM program: one unCLIP model loaded on one backend, serving text to
 * image, variations, interpolation, text-diff edits, and CLIP embeddings and zero-shot
 * classification.
 *
 * <pre>{@code
 * try (Unclip unclip = Unclip.builtIn()) {
 *     Result r = unclip.generate(Request.of("a small red circle at the top left on a blue background"));
 *     r.images().getFirst().writePng(Path.of("circle.png"));
 * }
 * }</pre>
 *
 * <p><b>Threads.</b> One instance is meant to be shared by every thread of a program. Requests
 * queue: they run one at a time, in the order they arrived (a fair lock), each with the whole
 * backend (all its CPU threads, or the GPU) to itself; a caller blocks until its request is done.
 * They are not merged into one batch: a request's images never depend on what else was asked
 * for, and a batch of one request already fills the CPU's cores. To batch, put several prompts or
 * images in one request, or several requests in {@link #generateBatch}.
 *
 * <p><b>Cancellation.</b> {@link #cancel()}, from any thread, stops the request running and
 * every request queued at that moment: each throws {@link CancellationException}. A running
 * request stops between two denoising steps, or inside a step where the CPU backend's ops see
 * the native cancel flag ({@code uc_context_cancel}). The instance stays usable: later requests
 * run normally.
 */
public final class Unclip implements AutoCloseable {
    /** This library's version (the Maven project version). */
    public static final String VERSION = readVersion();
    /** Where the built-in model lives, relative to the unclip4j checkout. */
    public static final String BUILT_IN = "models/unclip-shapes-tiny";

    private final Backend backend;
    private final DType dtype;
    private final UnclipModel model;
    private final UnclipPipeline pipeline;
    private Clip clip;  // opened on the first embed or classify

    private final ReentrantLock queue = new ReentrantLock(true);
    private final Object state = new Object();
    private long nextTicket, cancelBefore, running = -1;
    private boolean closed;

    private Unclip(Path folder, String device, int threads, DType dtype) {
        Backend b = Backend.named(device);
        UnclipModel m = null;
        try {
            if (threads > 0) b.setThreads(threads);
            this.dtype = dtype != null ? dtype : b.kind() == Backend.Kind.CPU ? DType.F32 : DType.BF16;
            m = UnclipModel.load(folder, b, this.dtype);
            this.pipeline = new UnclipPipeline(m);
        } catch (RuntimeException e) {
            if (m != null) m.close();
            b.close();
            throw e;
        }
        this.backend = b;
        this.model = m;
    }

    /** Loads a diffusers UnCLIP model folder (the layout of Karlo's weights) with the defaults of {@link Builder}. */
    public static Unclip load(Path model) {
        return builder(model).build();
    }

    /** Loads the built-in model ({@link #builtInModel()}) with the defaults of {@link Builder}. */
    public static Unclip builtIn() {
        return load(builtInModel());
    }

    /** A builder for the model folder {@code model}. */
    public static Builder builder(Path model) {
        return new Builder(model);
    }

    /**
     * The built-in model {@value #BUILT_IN}: looked for above the jar (or classes folder) this
     * class was loaded from, then above the working folder, so that it is found wherever the
     * launcher or the jar of a checkout is run from.
     *
     * @throws IllegalStateException when it is in neither place
     */
    public static Path builtInModel() {
        Set<Path> starts = new LinkedHashSet<>();
        try {
            starts.add(Path.of(Unclip.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toAbsolutePath());
        } catch (Exception e) {
            // no code source (an unusual class loader): the working folder remains
        }
        starts.add(Path.of("").toAbsolutePath());
        for (Path start : starts) {
            for (Path p = start; p != null; p = p.getParent()) {
                Path m = p.resolve(BUILT_IN);
                if (Files.isRegularFile(m.resolve("model_index.json"))) return m;
            }
        }
        throw new IllegalStateException("the built-in model " + BUILT_IN + " was not found above " + starts
                + ": give a model folder (--model DIR)");
    }

    /** How to load a model: which device, how many CPU threads, which number format. */
    public static final class Builder {
        private final Path model;
        private String device = "auto";
        private int threads;
        private DType dtype;

        private Builder(Path model) {
            this.model = model;
        }

        /** "auto" (CUDA when a GPU is present, else the CPU; the default), "cpu", "cuda" or "cuda:N". */
        public Builder device(String device) {
            this.device = device;
            return this;
        }

        /** CPU threads of the ops, ≥ 1; 0 (the default) for OpenMP's own choice (OMP_NUM_THREADS, else one per core). */
        public Builder threads(int threads) {
            if (threads < 0) throw new IllegalArgumentException("threads must be ≥ 0, not " + threads);
            this.threads = threads;
            return this;
        }

        /** Weights and activations: F32 (the default on the CPU, its only format) or BF16/F16 on CUDA (BF16 by default). */
        public Builder dtype(DType dtype) {
            this.dtype = dtype;
            return this;
        }

        /** Opens the backend and loads the model; fails naming a missing or inconsistent component. */
        public Unclip build() {
            return new Unclip(model, device, threads, dtype);
        }
    }

    /** The model folder. */
    public Path model() {
        return model.root();
    }

    /** "cpu" or "cuda", the device in one line, and the number format, e.g. "cpu (AMD EPYC, 2 OpenMP threads, …) f32". */
    public String device() {
        return backend.name() + " (" + backend.device() + ") " + dtype.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Text to image. */
    public Result generate(Request request) {
        return generate(request, ProgressListener.NONE);
    }

    /** Text to image, reporting each step to {@code progress}. */
    public Result generate(Request request, ProgressListener progress) {
        var r = request.pipelineRequest();
        r.validate();
        return run(progress, p -> Result.of(pipeline.textToImage(r, p)));
    }

    /**
     * Several text-to-image requests as one pipeline batch: every image of every request in one
     * call, each drawn from its own generator seeded with its request's seed + i, so that each
     * request gets the images it gets alone from {@link #generate(Request)}. One batch has one
     * schedule: the requests must agree on steps and guidance. Each result's stage times are
     * those of the whole batch.
     *
     * <p><b>Bits.</b> On the CPU the images are those of the requests alone bit for bit while the
     * batch holds at most 2 images with guidance (5 without). uc_linear computes a product of
     * fewer than 6 rows as dot products (a vectorised reduction) and a larger one with its
     * register-blocked GEMM (a sequential sum): the per-image products (CLIP's projection, a row
     * an image; the time embeddings and the prior's conditioning, 2 rows an image with guidance)
     * change path at 6 rows, and each image of a larger batch moves in the last bits of its floats,
     * which the denoising loops carry to a few pixel levels (docs/spark.md, "Batches and bits").
     *
     * @return one result per request, in order
     */
    public List<Result> generateBatch(List<Request> requests, ProgressListener progress) {
        if (requests.isEmpty()) return List.of();
        Request first = requests.getFirst();
        List<String> prompts = new ArrayList<>();
        long[] seeds = new long[requests.stream().mapToInt(Request::imageCount).sum()];
        for (Request r : requests) {
            r.validate();
            if (!r.sameSchedule(first)) {
                throw new IllegalArgumentException("the requests of one batch must share steps and guidance: " + r.schedule()
                        + " vs " + first.schedule());
            }
            for (int i = 0; i < r.imageCount(); i++) {
                seeds[prompts.size()] = r.seedOf(i);
                prompts.add(r.prompts().get(i / r.imagesPerPrompt()));
            }
        }
        var batch = new TextToImage(prompts, null, 1, first.priorSteps(), first.decoderSteps(), first.superResSteps(),
                first.priorGuidance(), first.decoderGuidance(), Seeds.perImage(seeds));
        batch.validate();
        Result all = run(progress, p -> Result.of(pipeline.textToImage(batch, p)));
        List<Result> out = new ArrayList<>();
        int from = 0;
        for (Request r : requests) {
            int to = from + r.imageCount();
            out.add(new Result(all.images().subList(from, to), Arrays.copyOfRange(all.imageEmbeddings(), from, to),
                    all.stageTimes()));
            from = to;
        }
        return out;
    }

    /** Variations of images. */
    public Result variations(VariationsRequest request) {
        return variations(request, ProgressListener.NONE);
    }

    /** Variations of images, reporting each step to {@code progress}. */
    public Result variations(VariationsRequest request, ProgressListener progress) {
        var r = request.pipelineRequest();
        r.validate();
        return run(progress, p -> Result.of(pipeline.variations(r, p)));
    }

    /** Frames between two prompts or two images. */
    public Result interpolate(InterpolateRequest request) {
        return interpolate(request, ProgressListener.NONE);
    }

    /** Frames between two prompts or two images, reporting each step to {@code progress}. */
    public Result interpolate(InterpolateRequest request, ProgressListener progress) {
        var r = request.pipelineRequest();
        r.validate();
        return run(progress, p -> Result.of(request.betweenPrompts()
                ? pipeline.interpolateTexts(r, request.promptA(), request.promptB(), p)
                : pipeline.interpolateImages(r, request.imageA(), request.imageB(), p)));
    }

    /** A text-diff edit of an image. */
    public Result edit(EditRequest request) {
        return edit(request, ProgressListener.NONE);
    }

    /** A text-diff edit of an image, reporting each step to {@code progress}. */
    public Result edit(EditRequest request, ProgressListener progress) {
        var r = request.pipelineRequest();
        r.validate();
        return run(progress, p -> Result.of(pipeline.edit(r, request.image(), p)));
    }

    /** The projected CLIP embedding of a text, optionally L2-normalised. */
    public float[] embedText(String text, boolean normalize) {
        return run(ProgressListener.NONE, p -> clip().textEmbeddings(List.of(text), normalize)[0]);
    }

    /** The projected CLIP embedding of an image file, optionally L2-normalised. */
    public float[] embedImage(Path image, boolean normalize) {
        return run(ProgressListener.NONE, p -> clip().imageEmbeddings(List.of(image), normalize)[0]);
    }

    /** The projected CLIP embeddings of texts as one batch, optionally L2-normalised: [texts][projection_dim]. */
    public float[][] embedTexts(List<String> texts, boolean normalize) {
        return run(ProgressListener.NONE, p -> clip().textEmbeddings(texts, normalize));
    }

    /** The projected CLIP embeddings of decoded images as one batch, optionally L2-normalised: [images][projection_dim]. */
    public float[][] embedImages(List<DecodedImage> images, boolean normalize) {
        return run(ProgressListener.NONE, p -> clip().imageEmbeddingsOfImages(images, normalize));
    }

    /** Zero-shot classification of an image among labels, best first, with the model's own templates ({@link #zeroShotTemplates()}). */
    public List<Clip.Prediction> classify(Path image, List<String> labels) {
        return run(ProgressListener.NONE, p -> {
            Clip c = clip();
            return c.classify(image, labels, c.templates());
        });
    }

    /** Zero-shot classification of an image among labels, best first, with the given templates ({} = the label). */
    public List<Clip.Prediction> classify(Path image, List<String> labels, List<String> templates) {
        return run(ProgressListener.NONE, p -> clip().classify(image, labels, templates));
    }

    /** The prompt templates that suit this model's CLIP for zero-shot use (see {@link Clip#templates()}). */
    public List<String> zeroShotTemplates() {
        return run(ProgressListener.NONE, p -> clip().templates());
    }

    /**
     * Stops the request running now and every request queued at this moment; each throws
     * {@link CancellationException}. Requests made later run normally. Callable from any thread.
     */
    public void cancel() {
        synchronized (state) {
            cancelBefore = nextTicket;
            if (running >= 0) backend.context().cancel();
        }
    }

    /** Cancels what runs and waits, then frees the model and the backend. Later calls fail. */
    @Override
    public void close() {
        synchronized (state) {
            if (closed) return;
            closed = true;
        }
        cancel();
        queue.lock();
        try {
            if (clip != null) clip.close();
            pipeline.close();
            model.close();
            backend.close();
        } finally {
            queue.unlock();
        }
    }

    /**
     * Runs {@code work} when the request's turn comes, with a progress callback that also stops
     * the work between steps once it is cancelled; turns the native CANCELLED status into a
     * {@link CancellationException} and leaves the backend's cancel flag clear for the next request.
     */
    private <T> T run(ProgressListener listener, Function<UnclipPipeline.Progress, T> work) {
        long ticket;
        synchronized (state) {
            if (closed) throw new IllegalStateException("this Unclip is closed");
            ticket = nextTicket++;
        }
        queue.lock();
        try {
            synchronized (state) {
                if (closed) throw new IllegalStateException("this Unclip is closed");
                if (ticket < cancelBefore) throw new CancellationException("cancelled before it started");
                running = ticket;
            }
            try {
                return work.apply((stage, done, total) -> {
                    synchronized (state) {
                        if (ticket < cancelBefore) throw new CancellationException("cancelled at " + stage + " step " + done);
                    }
                    listener.stepDone(stage, done, total);
                });
            } catch (UnclipException e) {
                if (e.status() != Status.CANCELLED) throw e;
                CancellationException c = new CancellationException("cancelled in " + e.op());
                c.initCause(e);
                throw c;
            } finally {
                synchronized (state) {
                    running = -1;
                    backend.context().resetCancel();
                }
            }
        } finally {
            queue.unlock();
        }
    }

    private Clip clip() {
        if (clip == null) clip = Clip.open(model.root(), backend, dtype);
        return clip;
    }

    private static String readVersion() {
        try (InputStream in = Unclip.class.getResourceAsStream("/dev/unclip4j/version.properties")) {
            if (in == null) return "unknown";
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
