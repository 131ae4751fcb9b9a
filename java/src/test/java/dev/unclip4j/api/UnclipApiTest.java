package dev.unclip4j.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.bindings.Status;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.clip.Clip;
import dev.unclip4j.image.DecodedImage;
import dev.unclip4j.image.RgbImage;
import dev.unclip4j.io.WeightFormatException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java API on the built-in model: requests from many threads queue and give the images they
 * give alone; cancellation from another thread stops a request promptly (between steps, or
 * inside one through the native flag) and leaves the model usable; CLIP through the same model.
 */
class UnclipApiTest {
    static Unclip unclip;
    static ExecutorService threads;

    @BeforeAll
    static void load() {
        unclip = Unclip.builder(Unclip.builtInModel()).device("cpu").build();
        threads = Executors.newCachedThreadPool();
    }

    @AfterAll
    static void close() {
        threads.shutdownNow();
        unclip.close();
    }

    static Request fast(String prompt, long seed) {
        return Request.of(prompt).withSeed(seed).withSteps(2, 2, 2);
    }

    @Test
    void concurrentRequestsQueueAndGiveTheImagesTheyGiveAlone() throws Exception {
        List<Request> requests = List.of(fast("a red circle", 1), fast("a blue square on a yellow background", 2),
                fast("a green triangle", 3).withImagesPerPrompt(2), Request.of("a white diamond", "a black circle").withSeed(4)
                        .withSteps(2, 3, 2).withGuidance(1, 1));
        List<List<RgbImage>> alone = new ArrayList<>();
        for (Request r : requests) alone.add(unclip.generate(r).images());

        // Each request's steps, as the listener sees them: a request that ran alone reports all of its
        // steps before the next request reports any.
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Result>> futures = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            int k = i;
            futures.add(threads.submit(() -> {
                go.await();
                return unclip.generate(requests.get(k), (stage, step, steps) -> events.add(k + " " + stage));
            }));
        }
        go.countDown();
        for (int i = 0; i < requests.size(); i++) {
            List<RgbImage> got = futures.get(i).get(2, TimeUnit.MINUTES).images();
            assertEquals(alone.get(i).size(), got.size());
            for (int j = 0; j < got.size(); j++) assertArrayEquals(alone.get(i).get(j).rgb(), got.get(j).rgb(), "request " + i);
        }
        List<String> order = new ArrayList<>();
        for (String e : events) {
            String request = e.split(" ")[0];
            if (order.isEmpty() || !order.getLast().equals(request)) order.add(request);
        }
        assertEquals(requests.size(), order.size(), "requests ran one after another, not interleaved: " + order);
    }

    @Test
    void aBatchOfRequestsGivesEachTheImagesItGetsAlone() {
        // Different prompts, seeds and image counts in one pipeline call: every image, its
        // embedding and the order must be those of its request run alone, bit for bit. Bit for bit
        // holds while no per-image product of the pipeline reaches 6 rows (uc_linear's two paths,
        // see Unclip.generateBatch): 2 images with guidance (2 rows each), 5 without.
        List<Request> guided = List.of(fast("a red circle", 11), fast("a blue square on a yellow background", 3));
        List<Request> unguided = List.of(fast("a red circle", 11).withGuidance(1, 1), fast("a blue square", 3)
                .withImagesPerPrompt(2).withGuidance(1, 1), Request.of("a green triangle", "a white diamond").withSeed(7)
                .withSteps(2, 2, 2).withGuidance(1, 1));
        for (List<Request> requests : List.of(guided, unguided)) {
            List<Result> batch = unclip.generateBatch(requests, ProgressListener.NONE);
            assertEquals(requests.size(), batch.size());
            for (int i = 0; i < requests.size(); i++) {
                Result alone = unclip.generate(requests.get(i));
                assertEquals(alone.images().size(), batch.get(i).images().size());
                for (int j = 0; j < alone.images().size(); j++) {
                    assertArrayEquals(alone.images().get(j).rgb(), batch.get(i).images().get(j).rgb(), "request " + i + " image " + j);
                    assertArrayEquals(alone.imageEmbeddings()[j], batch.get(i).imageEmbeddings()[j], "request " + i + " embedding " + j);
                }
                assertEquals(batch.getFirst().stageTimes(), batch.get(i).stageTimes(), "the batch's stage times");
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> unclip.generateBatch(
                List.of(fast("a", 1), fast("b", 2).withSteps(3, 2, 2)), ProgressListener.NONE));
        assertTrue(e.getMessage().contains("steps 3/2/2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> unclip.generateBatch(List.of(fast("a", 1).withImagesPerPrompt(0)),
                ProgressListener.NONE));
    }

    @Test
    void cancelStopsARunningRequestPromptlyAndTheModelStaysUsable() throws Exception {
        Request quick = fast("a red circle", 5);
        byte[] before = unclip.generate(quick).images().getFirst().rgb();
        CountDownLatch decoding = new CountDownLatch(1), cancelled = new CountDownLatch(1);
        Future<Result> running = threads.submit(() -> unclip.generate(Request.of("a blue square"), (stage, step, steps) -> {
            if (stage.equals("decoder") && step == 1) {
                decoding.countDown();
                await(cancelled);  // hold the request mid-stage until the cancel is in
            }
        }));
        assertTrue(decoding.await(2, TimeUnit.MINUTES));
        unclip.cancel();
        long t0 = System.nanoTime();
        cancelled.countDown();
        ExecutionException e = assertThrows(ExecutionException.class, () -> running.get(1, TimeUnit.MINUTES));
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertInstanceOf(CancellationException.class, e.getCause());
        // 24 decoder and 7 super-resolution steps were left; it stops within the next op.
        assertTrue(seconds < 2, "stopped after " + seconds + " s");
        assertArrayEquals(before, unclip.generate(quick).images().getFirst().rgb(), "the same image after a cancel");
    }

    @Test
    void aCancelDuringAStepStopsTheNativeOps() {
        // cancel() from the listener: the flag is up before the next step's ops run, which see it
        // (the check between steps comes only after them).
        CancellationException e = assertThrows(CancellationException.class, () -> unclip.generate(
                Request.of("a red circle").withSteps(3, 2, 2), (stage, step, steps) -> unclip.cancel()));
        UnclipException cause = assertInstanceOf(UnclipException.class, e.getCause(), "the native status");
        assertEquals(Status.CANCELLED, cause.status());
        assertEquals(128, unclip.generate(fast("a red circle", 1)).images().getFirst().width());
    }

    @Test
    void cancelAlsoDropsTheRequestsQueuedBehind() throws Exception {
        CountDownLatch running = new CountDownLatch(1), release = new CountDownLatch(1);
        Future<Result> first = threads.submit(() -> unclip.generate(Request.of("a red circle"), (stage, step, steps) -> {
            running.countDown();
            await(release);
        }));
        assertTrue(running.await(2, TimeUnit.MINUTES));
        List<Throwable> queuedOutcome = Collections.synchronizedList(new ArrayList<>());
        Thread queued = Thread.ofPlatform().start(() -> {
            try {
                unclip.generate(fast("a blue circle", 1));
            } catch (RuntimeException ex) {
                queuedOutcome.add(ex);
            }
        });
        while (queued.getState() != Thread.State.WAITING) Thread.sleep(5);  // parked on the queue
        unclip.cancel();
        release.countDown();
        ExecutionException e = assertThrows(ExecutionException.class, () -> first.get(1, TimeUnit.MINUTES));
        assertInstanceOf(CancellationException.class, e.getCause());
        queued.join(60_000);
        assertEquals(1, queuedOutcome.size());
        assertInstanceOf(CancellationException.class, queuedOutcome.getFirst());
        assertEquals(1, unclip.generate(fast("a blue circle", 1)).images().size(), "a request after the cancel runs");
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(2, TimeUnit.MINUTES));
        } catch (InterruptedException ex) {
            throw new IllegalStateException(ex);
        }
    }

    @Test
    void everyPipelineRunsThroughTheApi(@TempDir Path dir) {
        RgbImage image = unclip.generate(fast("a red circle", 1)).images().getFirst();
        Result v = unclip.variations(VariationsRequest.of(image).withImagesPerImage(2).withSteps(2, 2));
        assertEquals(2, v.images().size());
        assertEquals(2, v.imageEmbeddings().length);
        assertEquals(List.of("text", "decoder", "super-res"), List.copyOf(v.stageTimes().keySet()));
        Result i = unclip.interpolate(InterpolateRequest.between("a red circle", "a blue square").withFrames(3).withSteps(2, 2, 2));
        assertEquals(3, i.images().size());
        Result ii = unclip.interpolate(InterpolateRequest.between(image, image).withFrames(2).withSteps(2, 2, 2).withFixedNoise(true));
        assertArrayEquals(ii.images().get(0).rgb(), ii.images().get(1).rgb(), "equal ends and shared noise: equal frames");
        Result e = unclip.edit(EditRequest.of(image, "a red circle", "a green circle").withFrames(2).withSteps(2, 2));
        assertEquals(2, e.images().size());
        assertTrue(e.total().toNanos() > 0);
    }

    @Test
    void clipThroughTheModelUsesItsOwnTemplate(@TempDir Path dir) {
        assertEquals(List.of("{}"), unclip.zeroShotTemplates());
        float[] t = unclip.embedText("a red circle", true);
        assertEquals(128, t.length);
        double norm = 0;
        for (float x : t) norm += x * x;
        assertEquals(1, norm, 1e-5);
        Path png = dir.resolve("circle.png");
        unclip.generate(Request.of("a large red circle in the middle on a white background").withSteps(10, 10, 4).withSeed(1))
                .images().getFirst().writePng(png);
        assertEquals(128, unclip.embedImage(png, false).length);
        // The batch forms give each input the embedding it gets alone.
        float[][] texts = unclip.embedTexts(List.of("a blue square", "a red circle"), true);
        assertArrayEquals(t, texts[1]);
        assertArrayEquals(unclip.embedText("a blue square", true), texts[0]);
        float[][] images = unclip.embedImages(List.of(DecodedImage.read(png), DecodedImage.read(png)), false);
        assertArrayEquals(unclip.embedImage(png, false), images[0]);
        assertArrayEquals(images[0], images[1]);
        List<Clip.Prediction> p = unclip.classify(png, List.of("a large green square in the middle on a white background",
                "a large red circle in the middle on a white background"));
        assertEquals("a large red circle in the middle on a white background", p.getFirst().label());
    }

    @Test
    void requestsAreCheckedBeforeTheyQueue() {
        assertThrows(IllegalArgumentException.class, () -> unclip.generate(Request.of("a").withImagesPerPrompt(0)));
        assertThrows(IllegalArgumentException.class, () -> unclip.generate(Request.of("a").withSteps(0, 2, 2)));
        assertThrows(IllegalArgumentException.class, () -> unclip.generate(Request.of()));
        assertThrows(IllegalArgumentException.class, () -> unclip.interpolate(InterpolateRequest.between("a", "b").withFrames(1)));
        assertThrows(IllegalArgumentException.class, () -> unclip.variations(VariationsRequest.of()));
    }

    @Test
    void loadingFailsNamingTheProblemAndAClosedInstanceRefuses(@TempDir Path dir) {
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> Unclip.load(dir.resolve("none")));
        assertTrue(e.getMessage().contains("none"), e.getMessage());
        Unclip other = Unclip.builder(Unclip.builtInModel()).device("cpu").threads(1).build();
        assertTrue(other.device().startsWith("cpu (") && other.device().contains(" 1 OpenMP threads"), other.device());
        other.close();
        other.close();
        assertThrows(IllegalStateException.class, () -> other.generate(fast("a red circle", 1)));
    }
}
