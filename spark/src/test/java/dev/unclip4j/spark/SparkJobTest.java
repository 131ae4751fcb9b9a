package dev.unclip4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.api.Request;
import dev.unclip4j.api.Result;
import dev.unclip4j.api.Unclip;
import dev.unclip4j.image.RgbImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.TaskFailedReason;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jobs end to end on a real SparkSession, local[2] with up to 4 attempts a task (Spark's
 * retries in local mode), on the built-in model with 2 steps a stage. The reference for every
 * image and embedding is the Java API called one request at a time, as the unclip command line
 * does; Spark's output must equal it bit for bit.
 */
class SparkJobTest {
    static final int STEPS = 2;
    static SparkSession spark;
    static Unclip unclip;
    static final List<TaskFailedReason> failures = Collections.synchronizedList(new ArrayList<>());
    @TempDir
    static Path dir;

    @BeforeAll
    static void start() {
        SparkSession.Builder b = SparkSession.builder().master("local[2,4]").appName("SparkJobTest")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2");
        SparkJob.sessionSettings(Map.of(), false).forEach(b::config);
        spark = b.getOrCreate();
        spark.sparkContext().addSparkListener(new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd end) {
                if (end.reason() instanceof TaskFailedReason f) failures.add(f);
            }
        });
        unclip = Unclip.builder(Unclip.builtInModel()).device("cpu").build();
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.stop();
        if (unclip != null) unclip.close();
    }

    /** Runs the job's command line in this JVM (on the shared session); fails the test unless it exits with {@code status}. */
    static String job(int status, String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int got = SparkJob.run(args, new PrintWriter(out), new PrintWriter(err));
        assertEquals(status, got, "status of " + String.join(" ", args) + "\nstdout: " + out + "\nstderr: " + err);
        return status == 0 ? out.toString() : err.toString();
    }

    static Request request(String prompt, long seed) {
        return Request.of(prompt).withSeed(seed).withSteps(STEPS, STEPS, STEPS);
    }

    static final String[] SHAPES = {"circle", "square", "triangle", "diamond"};
    static final String[] COLOURS = {"red", "blue", "green", "yellow", "white"};

    /** A CSV of 20 requests (id, prompt, seed), every value text as CSV has it, and 3 bad rows after them. */
    static Path requestsCsv() throws IOException {
        List<String> lines = new ArrayList<>(List.of("id,prompt,seed,prior_steps"));
        for (int i = 0; i < 20; i++) {
            lines.add("r" + i + ",\"a " + COLOURS[i % 5] + " " + SHAPES[i % 4] + ", \"\"small\"\"\"," + (1000 + 37 * i) + ",");
        }
        lines.add("bad-prompt,,5,");
        lines.add("bad-seed,a red circle,abc,");
        lines.add("bad-steps,a red circle,5,1");
        Path csv = dir.resolve("requests.csv");
        Files.write(csv, lines);
        return csv;
    }

    static Map<String, Row> byId(List<Row> rows) {
        Map<String, Row> m = new HashMap<>();
        for (Row r : rows) m.put(r.getAs("id") + "/" + r.getAs("image_index"), r);
        return m;
    }

    @Test
    void generateMakesTheImagesTheApiMakesOneByOne() throws IOException {
        long loadsBefore = ExecutorModels.loads();
        int failuresBefore = failures.size();
        Path images = dir.resolve("images"), out = dir.resolve("generated");
        String summary = job(0, "generate", "--input", requestsCsv().toString(), "--output", out.toString(), "--images",
                images.toString(), "--score", "--prior-steps", "2", "--decoder-steps", "2", "--super-res-steps", "2");
        assertTrue(summary.contains("20 images, 3 bad rows"), summary);
        List<Row> rows = spark.read().parquet(out.toString()).collectAsList();
        assertEquals(23, rows.size());
        Map<String, Row> got = byId(rows);
        for (int i = 0; i < 20; i++) {
            Row r = got.get("r" + i + "/0");
            assertNotNull(r, "r" + i);
            assertNull(r.getAs("error"));
            String prompt = "a " + COLOURS[i % 5] + " " + SHAPES[i % 4] + ", \"small\"";
            assertEquals(prompt, r.getAs("prompt"), "CSV quoting read back");
            long seed = 1000 + 37 * i;
            assertEquals(seed, (long) r.getAs("image_seed"));
            Result alone = unclip.generate(request(prompt, seed));
            Path file = Path.of((String) r.getAs("image_file"));
            assertEquals(images.resolve("r" + i + "-0.png"), file);
            assertArrayEquals(alone.images().getFirst().rgb(), RgbImage.read(file).rgb(), "r" + i + ": the image made alone");
            assertArrayEquals(alone.imageEmbeddings()[0], floats(r.getList(r.fieldIndex("image_embedding"))), "r" + i);
            assertEquals(prompt, RgbImage.readPngText(file).get("prompt"));
            // The CLIP score against the text and image embeddings of the API, cosine computed here.
            double cos = cosine(unclip.embedText(prompt, false), unclip.embedImage(file, false));
            assertEquals(cos, (double) r.getAs("clip_score"), 1e-12, "r" + i);
            assertEquals("cpu", r.getAs("device"), "a CPU executor runs on the CPU");
            assertTrue((int) r.getAs("batch_images") <= SparkJob.GENERATE_BATCH);
            assertTrue((double) r.getAs("decoder_ms") > 0);
        }
        assertEquals("empty prompt", got.get("bad-prompt/null").getAs("error"));
        assertEquals("seed 'abc' is not an integer", got.get("bad-seed/null").getAs("error"));
        assertTrue(((String) got.get("bad-steps/null").getAs("error")).startsWith("prior steps must be at least 2, not 1"));
        assertNull(got.get("bad-steps/null").getAs("image_file"));
        try (Stream<Path> files = Files.list(images)) {
            assertEquals(20, files.count(), "one PNG an image, no temporary files left");
        }
        // One model for the executor (this JVM), however many tasks and batches used it.
        assertTrue(ExecutorModels.loads() - loadsBefore <= 1, "models loaded: " + (ExecutorModels.loads() - loadsBefore));
        assertEquals(List.of(new ExecutorModels.Key(Unclip.builtInModel().toString(), "cpu", 0)), ExecutorModels.open());
        assertEquals(failuresBefore, failures.size(), "no task failed");
    }

    /** JSON lines of requests with typed values, per-row steps and guidance, and a row of two images. */
    static Path requestsJson(String name) throws IOException {
        Path json = dir.resolve(name);
        Files.write(json, List.of(
                "{\"id\": \"a\", \"prompt\": \"a red circle\", \"seed\": 1}",
                "{\"id\": \"b\", \"prompt\": \"a blue square on a yellow background\", \"seed\": 2, \"n\": 2}",
                "{\"id\": \"c\", \"prompt\": \"a green triangle\", \"seed\": 3, \"decoder_steps\": 3}",
                "{\"id\": \"d\", \"prompt\": \"a white diamond\", \"seed\": 4, \"prior_guidance\": 1.0, \"decoder_guidance\": 1.0}",
                "{\"id\": \"e\", \"prompt\": \"a yellow circle\", \"seed\": 5}",
                "{\"id\": \"f\", \"prompt\": \"\", \"seed\": 6}"));
        return json;
    }

    static final List<String> TIMINGS = List.of("text_ms", "prior_ms", "decoder_ms", "super_res_ms");

    /** Every column but the stage times, by id and image (image files by name: the two runs write to two folders). */
    static Map<String, List<Object>> content(Path table) {
        Map<String, List<Object>> m = new HashMap<>();
        for (Row r : spark.read().parquet(table.toString()).collectAsList()) {
            List<Object> v = new ArrayList<>();
            for (String f : r.schema().fieldNames()) {
                if (TIMINGS.contains(f)) continue;
                Object x = r.getAs(f);
                if (f.equals("image_file") && x != null) x = Path.of((String) x).getFileName().toString();
                v.add(x instanceof byte[] b ? java.util.HexFormat.of().formatHex(b) : x instanceof scala.collection.Seq<?> q
                        ? q.toString() : x);
            }
            m.put(r.getAs("id") + "/" + r.getAs("image_index"), v);
        }
        return m;
    }

    @Test
    void aTaskKilledMidRunIsRetriedWithIdenticalOutput() throws IOException {
        Path input = requestsJson("retry.json");
        String[] common = {"generate", "--input", input.toString(), "--prior-steps", "2", "--decoder-steps", "2",
                "--super-res-steps", "2", "--partitions", "2", "--batch", "2"};
        Path plain = dir.resolve("plain"), retried = dir.resolve("retried");
        job(0, concat(common, "--output", plain.toString(), "--images", dir.resolve("plain-images").toString()));
        int before = failures.size();
        job(0, concat(common, "--output", retried.toString(), "--images", dir.resolve("retried-images").toString(),
                "--test-fail-partition", "0"));
        // Partition 0's first attempt failed after its first batch had written its files; Spark's retry redid it.
        List<TaskFailedReason> failed = List.copyOf(failures.subList(before, failures.size()));
        assertEquals(1, failed.size(), "one failed task attempt: " + failed);
        assertTrue(failed.getFirst().toErrorString().contains("failure injected by the test hook"), failed.getFirst().toErrorString());

        Map<String, List<Object>> a = content(plain), b = content(retried);
        assertEquals(7, a.size(), "6 rows, one of 2 images, one bad: 7 output rows");
        assertEquals(a, b, "the retried job's output equals the undisturbed one's");
        for (String id : List.of("a/0", "b/0", "b/1", "c/0", "d/0", "e/0")) {
            String name = id.replace('/', '-') + ".png";
            assertArrayEquals(Files.readAllBytes(dir.resolve("plain-images").resolve(name)),
                    Files.readAllBytes(dir.resolve("retried-images").resolve(name)), name);
        }
        try (Stream<Path> files = Files.list(dir.resolve("retried-images"))) {
            assertEquals(6, files.count(), "no temporary files left by the failed attempt");
        }
        // Image 1 of a two-image row is the row's prompt with seed + 1; per-row steps and guidance hold.
        Row b1 = spark.read().parquet(plain.toString()).filter("id = 'b' and image_index = 1").first();
        assertEquals(3L, (long) b1.getAs("image_seed"));
        assertArrayEquals(unclip.generate(request("a blue square on a yellow background", 3)).images().getFirst().rgb(),
                RgbImage.read(Path.of((String) b1.getAs("image_file"))).rgb());
        Row c = spark.read().parquet(plain.toString()).filter("id = 'c'").first();
        assertArrayEquals(unclip.generate(request("a green triangle", 3).withSteps(2, 3, 2)).images().getFirst().rgb(),
                RgbImage.read(Path.of((String) c.getAs("image_file"))).rgb());
        Row d = spark.read().parquet(plain.toString()).filter("id = 'd'").first();
        assertArrayEquals(unclip.generate(request("a white diamond", 4).withGuidance(1, 1)).images().getFirst().rgb(),
                RgbImage.read(Path.of((String) d.getAs("image_file"))).rgb());
        assertEquals("empty prompt", spark.read().parquet(plain.toString()).filter("id = 'f'").first().getAs("error"));
    }

    @Test
    void embedAndScoreGiveTheApisEmbeddingsAndCosines() throws IOException {
        // Texts: the embedding of each, as Unclip.embedText gives it; an empty text is the row's error.
        Path texts = dir.resolve("texts.csv");
        List<String> prompts = List.of("a red circle", "a blue square", "a green triangle on a white background",
                "a yellow diamond", "a small black circle", "a large white square", "a red triangle");
        List<String> csv = new ArrayList<>(List.of("text"));
        prompts.forEach(p -> csv.add("\"" + p + "\""));
        csv.add("\"\"");
        Files.write(texts, csv);
        Path textOut = dir.resolve("text-embeddings");
        String summary = job(0, "embed", "--input", texts.toString(), "--text-column", "text", "--normalize", "--output",
                textOut.toString(), "--output-format", "json");
        assertTrue(summary.contains("7 rows, 1 bad row,"), summary);
        for (Row r : spark.read().json(textOut.toString()).collectAsList()) {
            String t = r.getAs("text");
            if (t == null) {
                assertEquals("empty text", r.getAs("error"));
                continue;
            }
            float[] got = new float[128];
            List<Object> e = r.getList(r.fieldIndex("embedding"));
            for (int i = 0; i < got.length; i++) got[i] = ((Number) e.get(i)).floatValue();  // JSON keeps a float's shortest decimal
            assertArrayEquals(unclip.embedText(t, true), got, t);
        }

        // Images by path: each file's embedding as Unclip.embedImage gives it; a missing file and a
        // file that is no image are errors of their rows.
        Path red = dir.resolve("red.png"), blue = dir.resolve("blue.png"), text = dir.resolve("note.txt");
        unclip.generate(request("a red circle", 1)).images().getFirst().writePng(red);
        unclip.generate(request("a blue square", 2)).images().getFirst().writePng(blue);
        Files.writeString(text, "not an image");
        Path paths = dir.resolve("paths.json");
        List<String> lines = new ArrayList<>();
        for (Path p : List.of(red, blue, dir.resolve("missing.png"), text)) lines.add("{\"path\": \"" + p + "\"}");
        Files.write(paths, lines);
        Path imageOut = dir.resolve("image-embeddings");
        job(0, "embed", "--input", paths.toString(), "--image-column", "path", "--output", imageOut.toString());
        Map<String, Row> byPath = new HashMap<>();
        for (Row r : spark.read().parquet(imageOut.toString()).collectAsList()) byPath.put(r.getAs("path"), r);
        for (Path p : List.of(red, blue)) {
            Row r = byPath.get(p.toString());
            assertArrayEquals(unclip.embedImage(p, false), floats(r.getList(r.fieldIndex("embedding"))), p.toString());
        }
        assertTrue(((String) byPath.get(dir.resolve("missing.png").toString()).getAs("error")).contains("no such image file"));
        assertTrue(((String) byPath.get(text.toString()).getAs("error")).contains("not an image"));

        // Scores of generate's output (PNG bytes in the table): the cosine of the API's embeddings;
        // generate's failed row keeps its error.
        Path requests = dir.resolve("score-requests.csv");
        Files.write(requests, List.of("prompt,seed", "a red circle,1", "a blue square,2", ",3"));
        Path generated = dir.resolve("to-score"), scored = dir.resolve("scored");
        job(0, "generate", "--input", requests.toString(), "--output", generated.toString(), "--prior-steps", "2",
                "--decoder-steps", "2", "--super-res-steps", "2");
        job(0, "score", "--input", generated.toString(), "--output", scored.toString());
        List<Row> rows = spark.read().parquet(scored.toString()).collectAsList();
        assertEquals(3, rows.size());
        for (Row r : rows) {
            if (r.getAs("prompt") == null) {
                assertEquals("empty prompt", r.getAs("error"), "generate's error carried through score");
                assertNull(r.getAs("clip_score"));
                continue;
            }
            Path png = dir.resolve("scored-" + r.getAs("seed") + ".png");
            Files.write(png, (byte[]) r.getAs("png"));
            double cos = cosine(unclip.embedText(r.getAs("prompt"), false), unclip.embedImage(png, false));
            assertEquals(cos, (double) r.getAs("clip_score"), 1e-12);
        }
    }

    @Test
    void badArgumentsAreOneLineAndStatus2() throws IOException {
        Path csv = dir.resolve("no-seed.csv"), txt = dir.resolve("requests.txt"), json = dir.resolve("typed.json");
        Files.write(csv, List.of("prompt", "a red circle"));
        Files.write(txt, List.of("a red circle"));
        Files.write(json, List.of("{\"prompt\": 7, \"seed\": 1}"));
        String out = dir.resolve("never").toString();
        assertTrue(job(2, "generate", "--input", dir.resolve("none.csv").toString(), "--output", out).contains("no such input"));
        assertTrue(job(2, "generate", "--input", txt.toString(), "--output", out).contains("cannot tell the format of"));
        assertTrue(job(2, "generate", "--input", txt.toString(), "--format", "xml", "--output", out)
                .contains("expected one of [parquet, csv, json]"));
        assertTrue(job(2, "generate", "--input", csv.toString(), "--output", out)
                .contains("the input has no column 'seed' (the seed of each request's first image); its columns: prompt"));
        assertTrue(job(2, "generate", "--input", json.toString(), "--output", out).contains("column 'prompt' is bigint"));
        assertTrue(job(2, "embed", "--input", csv.toString(), "--output", out).contains("give --text-column or --image-column"));
        assertTrue(job(2, "embed", "--input", csv.toString(), "--image-column", "image", "--output", out)
                .contains("no column 'image'"));
        assertTrue(job(2, "generate", "--input", csv.toString(), "--output", out, "--batch", "0").contains("--batch must be at least 1"));
        String exists = job(2, "embed", "--input", csv.toString(), "--text-column", "prompt", "--output", dir.toString());
        assertTrue(exists.contains("already exists"), exists);
        assertTrue(Files.notExists(Path.of(out)), "nothing written");
        // A model folder the executors lack fails every attempt of the tasks: the job fails (status 1),
        // saying why, and leaves no output folder behind.
        String noModel = job(1, "embed", "--input", csv.toString(), "--text-column", "prompt", "--model",
                dir.resolve("no-model").toString(), "--output", out);
        assertTrue(noModel.contains("no-model"), noModel);
        assertTrue(Files.notExists(Path.of(out)), "no output folder left by the failed job");
    }

    @Test
    void theJobAddsItsPluginAndAsksForGpusOnlyWhereTheUserDidNot() {
        assertEquals(Map.of("spark.plugins", UnclipSparkPlugin.class.getName()), SparkJob.sessionSettings(Map.of(), false));
        Map<String, String> gpu = SparkJob.sessionSettings(Map.of("spark.plugins", "com.example.Other",
                "spark.task.resource.gpu.amount", "0.5"), true);
        assertEquals("com.example.Other," + UnclipSparkPlugin.class.getName(), gpu.get("spark.plugins"));
        assertEquals("1", gpu.get("spark.executor.resource.gpu.amount"));
        assertEquals("0.5", gpu.get("spark.task.resource.gpu.amount"), "the user's fraction is kept");
    }

    static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static float[] floats(List<Object> list) {
        float[] f = new float[list.size()];
        for (int i = 0; i < f.length; i++) f[i] = (Float) list.get(i);
        return f;
    }

    static double cosine(float[] a, float[] b) {
        double dot = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(aa) / Math.sqrt(bb);
    }
}
