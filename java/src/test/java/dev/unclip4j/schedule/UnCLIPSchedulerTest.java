package dev.unclip4j.schedule;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unclip4j.io.Checkpoint;
import dev.unclip4j.io.WeightFormatException;
import dev.unclip4j.schedule.UnCLIPSchedulerConfig.PredictionType;
import dev.unclip4j.schedule.UnCLIPSchedulerConfig.VarianceType;
import dev.unclip4j.testing.SharedData;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * UnCLIPScheduler against diffusers v0.20.0's own (tools/reference/make_scheduler_fixture.py):
 * the schedule exactly, and whole denoising loops (latents, every step's noise from one torch
 * generator, a fake model computed with the same float32 operations) to relative L2 < 1e-5 at
 * every step. Bound: every operation is diffusers' float32 operation in its order; only log and
 * exp may differ from torch's vectorised ones by an ulp (~1e-7 relative), which a 25-step loop
 * carries forward without growth, so 1e-5 leaves a margin of two orders while any wrong formula,
 * coefficient, clip or noise order moves the result by far more.
 */
class UnCLIPSchedulerTest {
    private static Path dir;
    private static Checkpoint ref;
    private static JsonNode meta;

    @BeforeAll
    static void open() throws Exception {
        dir = fixtureDir();
        ref = Checkpoint.open(dir.resolve("scheduler.safetensors"));
        meta = new ObjectMapper().readTree(dir.resolve("fixture.json").toFile());
    }

    @AfterAll
    static void close() {
        ref.close();
    }

    private static Path fixtureDir() throws Exception {
        return Path.of(UnCLIPSchedulerTest.class.getResource("/fixtures/unclip_scheduler/fixture.json").toURI()).getParent();
    }

    @Test
    void scheduleMatchesExactly() {
        for (String name : List.of("fsl_eps", "t100")) {
            UnCLIPScheduler s = UnCLIPScheduler.fromConfig(dir.resolve(name));
            int t = s.config().numTrainTimesteps();
            assertArrayEquals(ref.floats(t + ".betas"), s.betas(), t + " betas");
            assertArrayEquals(ref.floats(t + ".alphas"), s.alphas(), t + " alphas");
            assertArrayEquals(ref.floats(t + ".alphas_cumprod"), s.alphasCumprod(), t + " alphas_cumprod");
            for (Map.Entry<String, JsonNode> e : meta.get("timesteps").get(String.valueOf(t)).properties()) {
                int[] want = new int[e.getValue().size()];
                for (int i = 0; i < want.length; i++) want[i] = e.getValue().get(i).asInt();
                assertArrayEquals(want, s.setTimesteps(Integer.parseInt(e.getKey())), t + "/" + e.getKey() + " timesteps");
                assertArrayEquals(want, s.timesteps());
            }
        }
    }

    static Stream<String> loops() throws Exception {
        List<String> names = new ArrayList<>();
        new ObjectMapper().readTree(fixtureDir().resolve("fixture.json").toFile()).get("loops")
                .forEach(l -> names.add(l.get("name").asText()));
        return names.stream();
    }

    @ParameterizedTest
    @MethodSource("loops")
    void denoisingLoopMatchesDiffusers(String name) {
        JsonNode loop = null;
        for (JsonNode l : meta.get("loops")) if (l.get("name").asText().equals(name)) loop = l;
        UnCLIPScheduler s = UnCLIPScheduler.fromConfig(dir.resolve(loop.get("config").asText()));
        int[] nchw = new int[loop.get("shape_nchw").size()];
        for (int i = 0; i < nchw.length; i++) nchw[i] = loop.get("shape_nchw").get(i).asInt();
        int[] shape = nhwcShape(nchw);
        float[] w = ref.floats(name + ".w");
        boolean trajectory = loop.get("stored").asText().equals("trajectory");
        float[] want = trajectory ? ref.floats(name + ".trajectory") : ref.floats(name + ".final");

        // as pipeline_unclip.py: latents from the generator, then every step's noise from the same one
        TorchGenerator g = new TorchGenerator(new BigInteger(loop.get("seed").asText()).longValue());
        float[] latents = toNhwc(g.randn(nchw), nchw);
        for (int i = 0; i < latents.length; i++) latents[i] *= s.initNoiseSigma();
        int[] ts = s.setTimesteps(loop.get("steps").asInt());
        int size = latents.length;
        double worst = trajectory ? relL2(latents, want, 0) : 0;
        for (int i = 0; i < ts.length; i++) {
            float[] out = fakeModel(latents, ts[i], w, shape[shape.length - 1]);
            latents = s.step(out, ts[i], latents, shape, s.prevTimestep(i), g).prevSample();
            if (trajectory) worst = Math.max(worst, relL2(latents, want, (i + 1) * size));
        }
        if (!trajectory) worst = relL2(latents, want, 0);
        System.out.printf("scheduler loop %s (%s, %d steps): worst relative L2 over the steps %.3g%n", name,
                loop.get("config").asText(), ts.length, worst);
        assertTrue(worst < 1e-5, name + ": relative L2 " + worst);
    }

    /** w · float32(t / 1000), plus 0.5 · sample on the first C channels (the fixture's fake model). */
    private static float[] fakeModel(float[] sample, int t, float[] w, int c) {
        float ct = (float) (t / 1000.0);
        int outC = w.length / (sample.length / c);
        float[] out = new float[w.length];
        for (int row = 0; row < sample.length / c; row++) {
            for (int k = 0; k < outC; k++) {
                float v = w[row * outC + k] * ct;
                out[row * outC + k] = k < c ? v + 0.5f * sample[row * c + k] : v;
            }
        }
        return out;
    }

    private static int[] nhwcShape(int[] nchw) {
        int[] s = new int[nchw.length];
        s[0] = nchw[0];
        System.arraycopy(nchw, 2, s, 1, nchw.length - 2);
        s[s.length - 1] = nchw[1];
        return s;
    }

    private static float[] toNhwc(float[] x, int[] nchw) {
        int n = nchw[0], c = nchw[1], spatial = x.length / (n * c);
        float[] out = new float[x.length];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int s = 0; s < spatial; s++) out[(b * spatial + s) * c + ch] = x[(b * c + ch) * spatial + s];
        return out;
    }

    private static double relL2(float[] got, float[] want, int offset) {
        double err = 0, norm = 0;
        for (int i = 0; i < got.length; i++) {
            double d = got[i] - want[offset + i];
            err += d * d;
            norm += (double) want[offset + i] * want[offset + i];
        }
        return Math.sqrt(err / norm);
    }

    @Test
    void readsTheBuiltInModelsConfigs() {
        Path model = SharedData.repoRoot().resolve("models/unclip-shapes-tiny");
        UnCLIPSchedulerConfig prior = UnCLIPSchedulerConfig.read(model.resolve("prior_scheduler"));
        assertEquals(new UnCLIPSchedulerConfig(1000, VarianceType.FIXED_SMALL_LOG, true, 5.0, PredictionType.SAMPLE), prior);
        UnCLIPSchedulerConfig decoder = UnCLIPSchedulerConfig.read(model.resolve("decoder_scheduler/scheduler_config.json"));
        assertEquals(new UnCLIPSchedulerConfig(1000, VarianceType.LEARNED_RANGE, true, 1.0, PredictionType.EPSILON), decoder);
        // Karlo's own files predate beta_schedule; the defaults fill it in, as in diffusers
        assertEquals(UnCLIPSchedulerConfig.DEFAULTS, UnCLIPSchedulerConfig.read("x", json("{}")));
        // private keys (diffusers drops them) and null values are accepted
        assertEquals(UnCLIPSchedulerConfig.DEFAULTS,
                UnCLIPSchedulerConfig.read("x", json("{\"_name_or_path\": \"a/b\", \"_use_default_values\": [], \"trained_betas\": null}")));
    }

    @Test
    void badConfigValuesNameKeyAndValue() {
        Map<String, String> cases = Map.of(
                "{\"beta_schedule\": \"linear\"}", "'beta_schedule' value \"linear\"",
                "{\"variance_type\": \"fixed_large\"}", "'variance_type' value \"fixed_large\"",
                "{\"prediction_type\": \"v_prediction\"}", "'prediction_type' value \"v_prediction\"",
                "{\"_class_name\": \"DDPMScheduler\"}", "'_class_name' value \"DDPMScheduler\"",
                "{\"steps_offset\": 1}", "unknown config key(s) [steps_offset]",
                "{\"clip_sample\": \"yes\"}", "'clip_sample' must be true or false, not \"yes\"",
                "{\"num_train_timesteps\": 1000.5}", "'num_train_timesteps' must be an integer, not 1000.5",
                "{\"num_train_timesteps\": 1}", "unsupported 'num_train_timesteps' value 1",
                "{\"clip_sample_range\": -1.0}", "unsupported 'clip_sample_range' value -1.0",
                "{\"variance_type\": null}", "unsupported 'variance_type' value null");
        for (var c : cases.entrySet()) {
            var e = assertThrows(WeightFormatException.class, () -> UnCLIPSchedulerConfig.read("cfg.json", json(c.getKey())), c.getKey());
            assertTrue(e.getMessage().contains("cfg.json") && e.getMessage().contains(c.getValue()), e.getMessage());
        }
    }

    @Test
    void badConfigFiles(@TempDir Path tmp) throws Exception {
        var missing = assertThrows(WeightFormatException.class, () -> UnCLIPScheduler.fromConfig(tmp));
        assertTrue(missing.getMessage().contains("scheduler_config.json") && missing.getMessage().contains("no such file"));
        Files.writeString(tmp.resolve("scheduler_config.json"), "{\"clip_sample\": true,");
        var malformed = assertThrows(WeightFormatException.class, () -> UnCLIPScheduler.fromConfig(tmp));
        assertTrue(malformed.getMessage().contains("malformed JSON"), malformed.getMessage());
        Files.writeString(tmp.resolve("scheduler_config.json"), "[1]");
        assertTrue(assertThrows(WeightFormatException.class, () -> UnCLIPScheduler.fromConfig(tmp)).getMessage().contains("not a JSON object"));
    }

    @Test
    void badArguments() {
        UnCLIPScheduler s = new UnCLIPScheduler(UnCLIPSchedulerConfig.DEFAULTS);
        for (int n : new int[] {0, -3}) {
            var e = assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(n));
            assertTrue(e.getMessage().contains("num_inference_steps must be positive, not " + n), e.getMessage());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(1)).getMessage().contains("ZeroDivisionError"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(1001)).getMessage().contains("exceeds"));

        int[] shape = {1, 2, 2, 3};
        float[] x = new float[12];
        TorchGenerator g = new TorchGenerator(0);
        var len = assertThrows(IllegalArgumentException.class, () -> s.step(new float[24], 10, x, shape, 5, g));
        assertTrue(len.getMessage().contains("24") && len.getMessage().contains("12"), len.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s.step(new float[12], 10, new float[11], shape, 5, g));
        assertThrows(IllegalArgumentException.class, () -> s.step(new float[12], 1000, x, shape, 5, g));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> s.step(new float[12], 10, x, shape, 10, g))
                .getMessage().contains("prev_timestep 10"));
        assertThrows(IllegalArgumentException.class, () -> s.step(new float[12], 10, x, new int[] {12}, 5, g));
        assertThrows(NullPointerException.class, () -> s.step(new float[12], 10, x, shape, 5, null));
        // t = 0 draws no noise, so it needs no generator
        assertEquals(12, s.step(new float[12], 0, x, shape, -1, null).prevSample().length);

        UnCLIPScheduler learned = new UnCLIPScheduler(new UnCLIPSchedulerConfig(1000, VarianceType.LEARNED_RANGE, true, 1, PredictionType.EPSILON));
        var half = assertThrows(IllegalArgumentException.class, () -> learned.step(new float[12], 10, x, shape, 5, g));
        assertTrue(half.getMessage().contains("learned_range"), half.getMessage());
    }

    @Test
    void prevTimestepIsWhatThePipelinePasses() {
        // 999/6 = 166.5 per step: numpy rounds 166.5 to 166 and 832.5 to 832 (half to even)
        UnCLIPScheduler s = new UnCLIPScheduler(UnCLIPSchedulerConfig.DEFAULTS);
        int[] ts = s.setTimesteps(7);
        assertArrayEquals(new int[] {999, 832, 666, 500, 333, 166, 0}, ts);
        assertEquals(832, s.prevTimestep(0));
        assertEquals(-1, s.prevTimestep(6));
        assertThrows(IndexOutOfBoundsException.class, () -> s.prevTimestep(7));
    }

    private static JsonNode json(String s) {
        try {
            return new ObjectMapper().readTree(s);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
