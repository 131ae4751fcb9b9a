package dev.unclip4j.spark;

import dev.unclip4j.api.ProgressListener;
import dev.unclip4j.api.Request;
import dev.unclip4j.api.Result;
import dev.unclip4j.api.Unclip;
import dev.unclip4j.clip.Clip;
import dev.unclip4j.image.DecodedImage;
import dev.unclip4j.image.RgbImage;
import dev.unclip4j.io.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The generate job on one partition: request rows in, one row per image out, made on the
 * executor's one model ({@link ExecutorModels}) in pipeline batches of up to
 * {@link JobSettings#batch()} images.
 *
 * <p>A request row is a prompt, a seed, and optionally n (images, default 1), the steps and the
 * guidance of each stage (defaults: the job's) and an id. Image i of a row has seed + i, as
 * {@code unclip generate -n} gives it. Images of consecutive rows with the same steps and
 * guidance share a batch, each drawn from its own generator (see {@link Unclip#generateBatch}
 * for when that is bit for bit the image made alone). A bad row (no prompt, a seed that is not an
 * integer, steps below 2, …) is one output row with only its error; a failure of the engine fails
 * the task, for Spark to retry.
 *
 * <p>Retries: an output row depends only on its request (and on the row order within the
 * partition, which {@link SparkJob} fixes by sorting), never on the partition or the attempt;
 * PNG files are named from the row and written all-or-nothing, so a retry overwrites them with
 * the same bytes.
 */
final class GenerateTask implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    static final String PROMPT = "prompt", SEED = "seed", ID = "id", N = "n", PRIOR_STEPS = "prior_steps",
            DECODER_STEPS = "decoder_steps", SUPER_RES_STEPS = "super_res_steps", PRIOR_GUIDANCE = "prior_guidance",
            DECODER_GUIDANCE = "decoder_guidance";
    /** The request columns that decide the schedule of a row: sorting by them first groups rows that can share a batch. */
    static final List<String> SCHEDULE = List.of(PRIOR_STEPS, DECODER_STEPS, SUPER_RES_STEPS, PRIOR_GUIDANCE, DECODER_GUIDANCE);
    /** Stage names of {@link Result#stageTimes()} and their timing columns. */
    private static final Map<String, String> STAGES = Map.of("text", "text_ms", "prior", "prior_ms", "decoder", "decoder_ms",
            "super-res", "super_res_ms");
    private static final List<String> STAGE_ORDER = List.of("text", "prior", "decoder", "super-res");

    private final JobSettings settings;
    private final Columns columns;
    private final int prompt, seed, id, n, priorSteps, decoderSteps, superResSteps, priorGuidance, decoderGuidance;

    GenerateTask(JobSettings settings, StructType input) {
        this.settings = settings;
        this.prompt = Columns.required(input, PROMPT, "the text of each request");
        this.seed = Columns.required(input, SEED, "the seed of each request's first image");
        Columns.requireText(input, prompt);
        Columns.requireNumeric(input, seed);
        this.id = Columns.indexOf(input, ID);
        this.n = numeric(input, N);
        this.priorSteps = numeric(input, PRIOR_STEPS);
        this.decoderSteps = numeric(input, DECODER_STEPS);
        this.superResSteps = numeric(input, SUPER_RES_STEPS);
        this.priorGuidance = numeric(input, PRIOR_GUIDANCE);
        this.decoderGuidance = numeric(input, DECODER_GUIDANCE);
        this.columns = new Columns(input, added(settings));
    }

    private static int numeric(StructType input, String name) {
        int i = Columns.indexOf(input, name);
        Columns.requireNumeric(input, i);
        return i;
    }

    /** The columns generate adds, error last. */
    static List<StructField> added(JobSettings s) {
        List<StructField> f = new ArrayList<>();
        f.add(DataTypes.createStructField("image_index", DataTypes.IntegerType, true));
        f.add(DataTypes.createStructField("image_seed", DataTypes.LongType, true));
        f.add(s.imagesDir() != null ? DataTypes.createStructField("image_file", DataTypes.StringType, true)
                : DataTypes.createStructField("png", DataTypes.BinaryType, true));
        f.add(DataTypes.createStructField("image_embedding", DataTypes.createArrayType(DataTypes.FloatType, false), true));
        if (s.score()) f.add(DataTypes.createStructField("clip_score", DataTypes.DoubleType, true));
        f.add(DataTypes.createStructField("batch_images", DataTypes.IntegerType, true));
        f.add(DataTypes.createStructField("device", DataTypes.StringType, true));
        for (String stage : STAGE_ORDER) f.add(DataTypes.createStructField(STAGES.get(stage), DataTypes.DoubleType, true));
        f.add(DataTypes.createStructField(Columns.ERROR, DataTypes.StringType, true));
        return f;
    }

    StructType output() {
        return columns.output();
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        TaskContext task = TaskContext.get();
        String device = TaskDevice.forTask(settings.device(), task);
        Unclip unclip = ExecutorModels.get(settings.modelFor(device));
        boolean failOnce = task != null && task.partitionId() == settings.failPartition() && task.attemptNumber() == 0;
        if (settings.imagesDir() != null) {
            try {
                Files.createDirectories(Path.of(settings.imagesDir()));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create the images folder " + settings.imagesDir(), e);
            }
        }
        return new Batches(rows, unclip, device, failOnce);
    }

    /** One image to make: image {@code index} of a request row. */
    private static final class Job {
        final Row row;
        final Request request;  // the row's request
        final int index;
        Row output;

        Job(Row row, Request request, int index) {
            this.row = row;
            this.request = request;
            this.index = index;
        }

        /** This image alone: the row's prompt, steps and guidance with the image's own seed. */
        Request alone() {
            return Request.of(request.prompts()).withSeed(request.seedOf(index))
                    .withSteps(request.priorSteps(), request.decoderSteps(), request.superResSteps())
                    .withGuidance(request.priorGuidance(), request.decoderGuidance());
        }
    }

    /** Reads rows a window of up to batch images at a time, and yields their output rows in input order. */
    private final class Batches implements Iterator<Row> {
        private final Iterator<Row> input;
        private final Unclip unclip;
        private final String device;
        private boolean failOnce;
        private final ArrayDeque<Row> ready = new ArrayDeque<>();
        private Row row;           // the row whose images are being taken, or null
        private Request request;   // its request
        private int nextImage;

        Batches(Iterator<Row> input, Unclip unclip, String device, boolean failOnce) {
            this.input = input;
            this.unclip = unclip;
            this.device = device;
            this.failOnce = failOnce;
        }

        @Override
        public boolean hasNext() {
            while (ready.isEmpty() && (row != null || input.hasNext())) window();
            return !ready.isEmpty();
        }

        @Override
        public Row next() {
            if (!hasNext()) throw new NoSuchElementException();
            return ready.poll();
        }

        /** Takes rows until batch images are waiting (or the input ends), makes them, queues every output row. */
        private void window() {
            List<Object> slots = new ArrayList<>();  // in input order: an error Row, or a Job
            List<Job> jobs = new ArrayList<>();
            while (jobs.size() < settings.batch()) {
                if (row == null) {
                    if (!input.hasNext()) break;
                    Row r = input.next();
                    String carried = columns.carriedError(r);
                    if (carried != null) {
                        slots.add(columns.error(r, carried));
                        continue;
                    }
                    try {
                        request = parse(r);
                    } catch (Columns.RowError | IllegalArgumentException e) {
                        slots.add(columns.error(r, e.getMessage()));
                        continue;
                    }
                    row = r;
                    nextImage = 0;
                }
                Job job = new Job(row, request, nextImage);
                slots.add(job);
                jobs.add(job);
                if (++nextImage == request.imageCount()) row = null;
            }
            // Jobs of one schedule share a pipeline call (the sort makes a window of mixed schedules rare).
            Map<String, List<Job>> bySchedule = new LinkedHashMap<>();
            for (Job j : jobs) bySchedule.computeIfAbsent(schedule(j.request), k -> new ArrayList<>()).add(j);
            bySchedule.values().forEach(this::make);
            for (Object s : slots) ready.add(s instanceof Job j ? j.output : (Row) s);
            if (failOnce && !jobs.isEmpty()) {
                failOnce = false;
                throw new IllegalStateException("failure injected by the test hook after the first batch of partition "
                        + settings.failPartition() + ", attempt 0");
            }
        }

        private void make(List<Job> jobs) {
            List<Request> alone = jobs.stream().map(Job::alone).toList();
            List<Result> results = unclip.generateBatch(alone, ProgressListener.NONE);
            List<RgbImage> images = results.stream().map(r -> r.images().getFirst()).toList();
            double[] scores = settings.score() ? clipScores(alone, images) : null;
            Map<String, Duration> times = results.getFirst().stageTimes();
            for (int k = 0; k < jobs.size(); k++) {
                Job j = jobs.get(k);
                Request r = alone.get(k);
                byte[] png = images.get(k).toPng(recipe(r));
                Object image = png;
                if (settings.imagesDir() != null) {
                    Path file = Path.of(settings.imagesDir()).resolve(fileName(j));
                    AtomicFiles.write(file, png);
                    image = file.toString();
                }
                List<Object> v = new ArrayList<>(List.of(j.index, r.seed(), image, results.get(k).imageEmbeddings()[0]));
                if (scores != null) v.add(scores[k]);
                v.add(jobs.size());
                v.add(device);
                for (String stage : STAGE_ORDER) {
                    Duration d = times.get(stage);
                    v.add(d == null ? null : d.toNanos() / 1e6);
                }
                v.add(null);
                j.output = columns.row(j.row, v.toArray());
            }
        }

        /** The cosine of each image's CLIP embedding with its prompt's, in one call per tower. */
        private double[] clipScores(List<Request> requests, List<RgbImage> images) {
            float[][] text = unclip.embedTexts(requests.stream().map(r -> r.prompts().getFirst()).toList(), false);
            float[][] image = unclip.embedImages(images.stream().map(GenerateTask::decoded).toList(), false);
            double[] s = new double[images.size()];
            for (int k = 0; k < s.length; k++) s[k] = Clip.cosine(text[k], image[k]);
            return s;
        }
    }

    /** The row's request, or a RowError / IllegalArgumentException naming what is wrong with it. */
    Request parse(Row r) throws Columns.RowError {
        String p = Columns.text(r, prompt);
        if (p == null || p.isBlank()) throw new Columns.RowError("empty prompt");
        if (r.isNullAt(seed)) throw new Columns.RowError("no seed");
        Request req = new Request(List.of(p), Columns.smallInteger(r, n, N, 1), Columns.integer(r, seed, SEED, 0),
                Columns.smallInteger(r, priorSteps, PRIOR_STEPS, settings.priorSteps()),
                Columns.smallInteger(r, decoderSteps, DECODER_STEPS, settings.decoderSteps()),
                Columns.smallInteger(r, superResSteps, SUPER_RES_STEPS, settings.superResSteps()),
                Columns.number(r, priorGuidance, PRIOR_GUIDANCE, settings.priorGuidance()),
                Columns.number(r, decoderGuidance, DECODER_GUIDANCE, settings.decoderGuidance()));
        req.validate();
        return req;
    }

    private static String schedule(Request r) {
        return r.priorSteps() + "/" + r.decoderSteps() + "/" + r.superResSteps() + "/" + r.priorGuidance() + "/"
                + r.decoderGuidance();
    }

    private static DecodedImage decoded(RgbImage image) {
        return new DecodedImage(image.width(), image.height(), DecodedImage.Mode.RGB, image.rgb(), null);
    }

    /** The PNG's text chunks, as unclip generate writes them: what makes the image again. */
    private Map<String, String> recipe(Request r) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("prompt", r.prompts().getFirst());
        m.put("seed", Long.toString(r.seed()));
        m.put("steps", "prior " + r.priorSteps() + ", decoder " + r.decoderSteps() + ", super-res " + r.superResSteps());
        m.put("guidance", "prior " + r.priorGuidance() + ", decoder " + r.decoderGuidance());
        m.put("model", settings.modelName());
        m.put("Software", "unclip4j " + Unclip.VERSION);
        return m;
    }

    /**
     * A file name that only the row decides: {@code <id>-<i>.png} with an id column (characters
     * other than letters, digits, '.', '_' and '-' replaced, and then a hash of the id added so that
     * two ids never share a name), else the prompt's first words, the image's seed and a hash of
     * everything that makes the image.
     */
    private String fileName(Job j) {
        String rowId = Columns.text(j.row, id);
        if (rowId != null) {
            String safe = rowId.replaceAll("[^A-Za-z0-9._-]", "_");
            if (!safe.equals(rowId) || safe.isEmpty() || safe.startsWith(".")) safe = safe + "-" + hash(rowId);
            return safe + "-" + j.index + ".png";
        }
        Request r = j.alone();
        String words = r.prompts().getFirst().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("^-+|-+$", "");
        if (words.length() > 40) words = words.substring(0, 40).replaceAll("-+$", "");
        return (words.isEmpty() ? "image" : words) + "-" + r.seed() + "-" + hash(r.prompts().getFirst() + "\n" + schedule(r))
                + ".png";
    }

    private static String hash(String s) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }
}
