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
import org.apache.spark.SparkConf;
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
        SparkJob.sessionSettings(new SparkConf().getAll(), false).forEach(b::config);
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
        assertTrue(summary.contains("20 images, 3 errors"), summary);
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
