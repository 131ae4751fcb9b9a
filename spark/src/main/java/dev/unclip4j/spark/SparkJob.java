package dev.unclip4j.spark;

import dev.unclip4j.api.Unclip;
import dev.unclip4j.cli.Main;
import dev.unclip4j.pipeline.TextToImage;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.StructType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code unclip-spark}: text-to-image generation, CLIP embeddings and CLIP scores over a table,
 * as a Spark application. Runs under {@code spark-submit --class dev.unclip4j.spark.SparkJob}
 * (the cluster's master and resources) or in a plain JVM with {@code --master local[2]}
 * ({@code ./unclip-spark}). Each executor loads the model once ({@link ExecutorModels}); the
 * table is spread over {@code --partitions} tasks, each sorted so that a retried task sees its
 * rows in the same order and makes the same batches.
 */
@Command(name = "unclip-spark", mixinStandardHelpOptions = true, versionProvider = SparkJob.Version.class,
        description = "unclip4j over a table, on Apache Spark: generate images, CLIP embeddings, CLIP scores.",
        subcommands = {SparkJob.Generate.class, SparkJob.Embed.class, SparkJob.Score.class})
public final class SparkJob {
    /** Pipeline batch of generate: the largest whose images are bit for bit those made alone (measured in docs/spark.md). */
    static final int GENERATE_BATCH = 2;
    /** Rows per CLIP call of embed and score: the largest whose embeddings are bit for bit those of one row alone. */
    static final int CLIP_BATCH = 5;

    private SparkJob() {}

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /**
     * Runs the command line and returns its exit status: 0 done; 2 a bad argument (one line naming
     * it: a missing input, an unknown format, a missing column, an output that exists); 1 a failed
     * job (one line; the stack trace too with --verbose). Uses the SparkSession already active in
     * this JVM if there is one (and leaves it running), else starts one and stops it at the end.
     */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(SparkJob.class);
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (parseResult.originalArgs().contains("--verbose")) e.printStackTrace(commandLine.getErr());
            boolean usage = e instanceof IllegalArgumentException || e instanceof AnalysisException;
            // A failed Spark job says where it failed ("Job aborted due to stage failure: …") and its
            // root cause says why: the first line of each.
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) root = root.getCause();
            String message = firstLine(e);
            if (!message.contains(firstLine(root))) message += ": " + firstLine(root);
            commandLine.getErr().println("unclip-spark " + commandLine.getCommandName() + ": " + message);
            commandLine.getErr().flush();
            return usage ? 2 : 1;
        });
        Main.oneLineUsageErrors(cli, "unclip-spark");
        int status = cli.execute(args);
        out.flush();
        err.flush();
        return status;
    }

    private static String firstLine(Throwable t) {
        return t.getMessage() != null ? t.getMessage().strip().lines().findFirst().orElse("") : t.toString();
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"unclip4j " + Unclip.VERSION + " (Spark job)"};
        }
    }

    /** The options of every job. */
    static final class Common {
        @Option(names = "--input", required = true, paramLabel = "PATH", description = "The input table (a file or a folder).")
        String input;

        @Option(names = "--format", paramLabel = "FORMAT", description = "parquet, csv or json (JSON lines) (default: from "
                + "the input's name, or the files of a local folder).")
        Tables.Format format;

        @Option(names = "--output", required = true, paramLabel = "PATH", description = "The output table (a folder).")
        String output;

        @Option(names = "--output-format", paramLabel = "FORMAT", defaultValue = "parquet", description = "parquet or json "
                + "(default: ${DEFAULT-VALUE}).")
        Tables.OutputFormat outputFormat;

        @Option(names = "--overwrite", description = "Replace the output table if it exists.")
        boolean overwrite;

        @Option(names = "--model", paramLabel = "DIR", description = "A diffusers UnCLIP model folder as the executors see it "
                + "(default: the built-in " + Unclip.BUILT_IN + ", for local runs).")
        String model;

        @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "auto", description = "auto (the GPU Spark assigns "
                + "each task, else the CPU), cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
        String device;

        @Option(names = "--threads", paramLabel = "T", defaultValue = "0", description = "CPU threads of each executor's model "
                + "(default: OMP_NUM_THREADS, else one per core).")
        int threads;

        @Option(names = "--batch", paramLabel = "N", description = "Images per pipeline call (generate, default "
                + GENERATE_BATCH + ") or rows per CLIP call (embed, score, default " + CLIP_BATCH + ").")
        Integer batch;

        @Option(names = "--partitions", paramLabel = "N", description = "Tasks to spread the table over (default: Spark's "
                + "default parallelism, the task slots of the cluster).")
        Integer partitions;

        @Option(names = "--master", paramLabel = "URL", description = "Spark master when not run by spark-submit, e.g. local[2].")
        String master;

        @Option(names = "--gpu", description = "Ask Spark for one GPU per executor and per task "
                + "(spark.executor/task.resource.gpu.amount=1, unless set).")
        boolean gpu;

        @Option(names = "--verbose", description = "Keep Spark's INFO log, and print stack traces of errors.")
        boolean verbose;

        @Option(names = "--test-fail-partition", hidden = true, defaultValue = "-1",
                description = "Tests only: the first attempt of this partition fails after its first batch.")
        int failPartition;
    }

    /** What every job does: check, start (or join) Spark, read, spread, map, write, report. */
    abstract static class Job implements Callable<Integer> {
        @Mixin
        Common common = new Common();

        @Spec
        CommandLine.Model.CommandSpec spec;

        /** This job's map over a partition, built on the driver from the input's schema (checking its columns). */
        abstract Task task(JobSettings settings, StructType input);

        /** The default of --batch for this job. */
        abstract int defaultBatch();

        /** What the summary counts: "images" for generate, "rows" otherwise. */
        String unit() {
            return "rows";
        }

        record Task(MapPartitionsFunction<Row, Row> map, StructType output, List<String> sortBy) {}

        JobSettings settings(String model, String modelName) {
            return new JobSettings(model, modelName, common.device, common.threads, common.batch != null ? common.batch
                    : defaultBatch(), TextToImage.PRIOR_STEPS, TextToImage.DECODER_STEPS, TextToImage.SUPER_RES_STEPS,
                    TextToImage.PRIOR_GUIDANCE, TextToImage.DECODER_GUIDANCE, null, false, false, common.failPartition);
        }

        @Override
        public Integer call() {
            Tables.Format format = common.format != null ? common.format : Tables.Format.of(common.input);
            Path localInput = Tables.localPath(common.input);
            boolean glob = common.input.matches(".*[*?\\[{].*");  // Spark reads globs; nothing to check here
            if (localInput != null && !glob && !Files.exists(localInput)) throw usage("no such input: " + common.input);
            if (format == null) throw usage("cannot tell the format of " + common.input + ": give --format parquet|csv|json");
            if (common.partitions != null && common.partitions < 1) throw usage("--partitions must be at least 1");
            String model = common.model != null ? common.model : Unclip.builtInModel().toString();
            String modelName = common.model != null ? common.model : Unclip.BUILT_IN + " (built-in)";
            JobSettings settings = settings(model, modelName);

            boolean ours = SparkSession.getActiveSession().isEmpty() && SparkSession.getDefaultSession().isEmpty();
            SparkSession spark = ours ? session() : SparkSession.builder().getOrCreate();
            try {
                if (ours) spark.sparkContext().setLogLevel(common.verbose ? "INFO" : "WARN");
                Dataset<Row> in = Tables.read(spark, common.input, format);
                Task task = task(settings, in.schema());
                int partitions = common.partitions != null ? common.partitions : spark.sparkContext().defaultParallelism();
                Column[] order = task.sortBy().stream().filter(c -> Arrays.asList(in.columns()).contains(c))
                        .map(functions::col).toArray(Column[]::new);
                Dataset<Row> out = in.repartition(partitions).sortWithinPartitions(order)
                        .mapPartitions(task.map(), Encoders.row(task.output()));
                long t0 = System.nanoTime();
                Tables.write(out, common.output, common.outputFormat, common.overwrite);
                double seconds = (System.nanoTime() - t0) / 1e9;
                report(spark, settings, partitions, seconds);
                return 0;
            } finally {
                if (ours) spark.stop();
            }
        }

        /** A new session with the job's plugin (and GPU requests). */
        private SparkSession session() {
            SparkConf conf = new SparkConf();  // what spark-submit set, as system properties
            if (common.master == null && !conf.contains("spark.master")) {
                throw usage("no Spark master: run under spark-submit, or give --master (e.g. local[2])");
            }
            SparkSession.Builder b = SparkSession.builder().appName("unclip4j " + spec.name());
            if (common.master != null) b.master(common.master);
            Map<String, String> have = new LinkedHashMap<>();
            for (scala.Tuple2<String, String> kv : conf.getAll()) have.put(kv._1(), kv._2());
            sessionSettings(have, common.gpu).forEach(b::config);
            return b.getOrCreate();
        }

        private void report(SparkSession spark, JobSettings settings, int partitions, double seconds) {
            Dataset<Row> written = spark.read().format(common.outputFormat.name()).load(common.output);
            long total = written.count();
            long errors = written.filter(functions.col(Columns.ERROR).isNotNull()).count();
            long made = total - errors;
            String rate = unit().equals("images") ? String.format(Locale.ROOT, "%.1f images/min; ", made * 60 / seconds) : "";
            spec.commandLine().getOut().printf(Locale.ROOT, "unclip-spark %s: %d %s, %d %s, in %.1f s (%sbatch %d, %d "
                    + "partitions, master %s) -> %s%n", spec.name(), made, unit(), errors, errors == 1 ? "bad row" : "bad rows",
                    seconds, rate, settings.batch(), partitions, spark.sparkContext().master(), common.output);
            spec.commandLine().getOut().flush();
        }

        CommandLine.ParameterException usage(String message) {
            return new CommandLine.ParameterException(spec.commandLine(), message);
        }
    }

    /**
     * The configuration the job adds to a new session: its plugin (after any the user named), and
     * with {@code gpu} one GPU per executor and per task where the user set no amount.
     */
    static Map<String, String> sessionSettings(Map<String, String> have, boolean gpu) {
        Map<String, String> add = new LinkedHashMap<>();
        List<String> plugins = new ArrayList<>();
        for (String p : have.getOrDefault("spark.plugins", "").split(",")) if (!p.isBlank()) plugins.add(p.strip());
        if (!plugins.contains(UnclipSparkPlugin.class.getName())) plugins.add(UnclipSparkPlugin.class.getName());
        add.put("spark.plugins", String.join(",", plugins));
        if (gpu) {
            add.put("spark.executor.resource.gpu.amount", have.getOrDefault("spark.executor.resource.gpu.amount", "1"));
            add.put("spark.task.resource.gpu.amount", have.getOrDefault("spark.task.resource.gpu.amount", "1"));
        }
        return add;
    }

    @Command(name = "generate", description = "Images for a table of requests: prompt, seed, and optionally n, id, "
            + "prior_steps, decoder_steps, super_res_steps, prior_guidance, decoder_guidance; one output row per image.")
    static final class Generate extends Job {
        @Option(names = "--images", paramLabel = "DIR", description = "Write the PNG files here (a folder every executor "
                + "sees) and their paths in the table, instead of the PNG bytes.")
        String images;

        @Option(names = "--score", description = "Add clip_score, the CLIP similarity of each image to its prompt.")
        boolean score;

        @Option(names = "--prior-steps", paramLabel = "N", defaultValue = "" + TextToImage.PRIOR_STEPS,
                description = "Prior steps of rows without prior_steps (default: ${DEFAULT-VALUE}).")
        int priorSteps;

        @Option(names = "--decoder-steps", paramLabel = "N", defaultValue = "" + TextToImage.DECODER_STEPS,
                description = "Decoder steps of rows without decoder_steps (default: ${DEFAULT-VALUE}).")
        int decoderSteps;

        @Option(names = "--super-res-steps", paramLabel = "N", defaultValue = "" + TextToImage.SUPER_RES_STEPS,
                description = "Super-resolution steps of rows without super_res_steps (default: ${DEFAULT-VALUE}).")
        int superResSteps;

        @Option(names = "--prior-guidance", paramLabel = "G", defaultValue = "" + TextToImage.PRIOR_GUIDANCE,
                description = "Prior guidance of rows without prior_guidance (default: ${DEFAULT-VALUE}).")
        double priorGuidance;

        @Option(names = "--decoder-guidance", paramLabel = "G", defaultValue = "" + TextToImage.DECODER_GUIDANCE,
                description = "Decoder guidance of rows without decoder_guidance (default: ${DEFAULT-VALUE}).")
        double decoderGuidance;

        @Override
        JobSettings settings(String model, String modelName) {
            return super.settings(model, modelName).forGenerate(priorSteps, decoderSteps, superResSteps, priorGuidance,
                    decoderGuidance, images, score);
        }

        @Override
        Task task(JobSettings settings, StructType input) {
            GenerateTask t = new GenerateTask(settings, input);
            List<String> sortBy = new ArrayList<>(GenerateTask.SCHEDULE);
            sortBy.addAll(List.of(GenerateTask.PROMPT, GenerateTask.SEED, GenerateTask.N, GenerateTask.ID));
            return new Task(t, t.output(), sortBy);
        }

        @Override
        int defaultBatch() {
            return GENERATE_BATCH;
        }

        @Override
        String unit() {
            return "images";
        }
    }

    @Command(name = "embed", description = "The CLIP embedding of each row's text or image, as the column embedding.")
    static final class Embed extends Job {
        @Option(names = "--text-column", paramLabel = "NAME", description = "The column of texts.")
        String textColumn;

        @Option(names = "--image-column", paramLabel = "NAME", description = "The column of image paths (text) or image "
                + "bytes (binary).")
        String imageColumn;

        @Option(names = "--normalize", description = "L2-normalise the embeddings.")
        boolean normalize;

        @Override
        JobSettings settings(String model, String modelName) {
            return super.settings(model, modelName).forEmbed(normalize);
        }

        @Override
        Task task(JobSettings settings, StructType input) {
            if ((textColumn == null) == (imageColumn == null)) throw usage("give --text-column or --image-column (one of the two)");
            EmbedTask t = new EmbedTask(settings, input, textColumn, imageColumn);
            return new Task(t, t.output(), List.of(textColumn != null ? textColumn : imageColumn));
        }

        @Override
        int defaultBatch() {
            return CLIP_BATCH;
        }
    }

    @Command(name = "score", description = "The CLIP similarity of each row's image to its prompt, as the column "
            + "clip_score (e.g. of generate's output).")
    static final class Score extends Job {
        @Option(names = "--prompt-column", paramLabel = "NAME", defaultValue = "prompt", description = "The column of "
                + "prompts (default: ${DEFAULT-VALUE}).")
        String promptColumn;

        @Option(names = "--image-column", paramLabel = "NAME", description = "The column of image paths (text) or image "
                + "bytes (binary) (default: image_file if there is one, else png).")
        String imageColumn;

        @Override
        Task task(JobSettings settings, StructType input) {
            String image = imageColumn != null ? imageColumn
                    : Arrays.asList(input.fieldNames()).contains("image_file") ? "image_file" : "png";
            ScoreTask t = new ScoreTask(settings, input, promptColumn, image);
            return new Task(t, t.output(), List.of(promptColumn, image));
        }

        @Override
        int defaultBatch() {
            return CLIP_BATCH;
        }
    }
}
