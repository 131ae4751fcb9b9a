package dev.unclip4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.image.ImageFormatException;
import dev.unclip4j.image.RgbImage;
import dev.unclip4j.io.WeightFormatException;
import dev.unclip4j.tensor.Backend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the pipelines promise beyond parity, on the tiny random model of the fixtures (2 steps a
 * stage): bad settings and disagreeing model folders are refused before any denoising, one seed
 * per image gives each image what its seed gives alone, text diffs start at the plain variation
 * and keep the embedding's norm, and fixed noise makes frames differ only by their embedding.
 */
class PipelineBehaviourTest {
    private static Backend cpu;
    private static UnclipModel model;
    private static UnclipPipeline pipeline;
    @TempDir
    Path tmp;

    @BeforeAll
    static void open() {
        cpu = Backend.cpu();
        model = UnclipModel.load(PipelineParityTest.fixtures().resolve("tiny_random"), cpu, DType.F32);
        pipeline = new UnclipPipeline(model);
    }

    @AfterAll
    static void close() {
        pipeline.close();
        model.close();
        cpu.close();
    }

    private static TextToImage text(List<String> prompts, int n, int steps, double priorG, double decoderG, Seeds seeds) {
        return new TextToImage(prompts, null, n, steps, steps, steps, priorG, decoderG, seeds);
    }

    private static void refused(String part, Executable call) {
        Exception e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(part), "'" + part + "' missing from: " + e.getMessage());
    }

    @Test
    void badSettingsAreRefusedBeforeAnyWork() {
        UnclipPipeline.Progress fail = (stage, done, total) -> {
            throw new AssertionError("denoising started");
        };
        List<String> p = List.of("a red circle");
        refused("steps must be at least 2, not 0", () -> pipeline.textToImage(text(p, 1, 0, 4, 8, Seeds.of(0)), fail));
        refused("steps must be at least 2, not -3", () -> pipeline.textToImage(text(p, 1, -3, 4, 8, Seeds.of(0)), fail));
        refused("steps must be at least 2, not 1", () -> pipeline.textToImage(text(p, 1, 1, 4, 8, Seeds.of(0)), fail));
        refused("prior guidance must be a number ≥ 1, not 0.5", () -> pipeline.textToImage(text(p, 1, 2, 0.5, 8, Seeds.of(0)), fail));
        refused("images per prompt must be at least 1, not 0", () -> pipeline.textToImage(text(p, 0, 2, 4, 8, Seeds.of(0)), fail));
        refused("no prompts", () -> pipeline.textToImage(text(List.of(), 1, 2, 4, 8, Seeds.of(0)), fail));
        refused("2 seeds for 3 images", () -> pipeline.textToImage(text(p, 3, 2, 4, 8, Seeds.perImage(1, 2)), fail));
        refused("decoder guidance must be a number ≥ 1, not 0.9", () -> pipeline.variations(
                new Variations(null, new float[][] {new float[36]}, 1, 2, 2, 0.9, Seeds.of(0)), fail));
        refused("at least 2 frames", () -> pipeline.interpolateTexts(new Interpolation(1, 2, 2, 2, 4, 8, Seeds.of(0), false),
                "a", "b", fail));
    }

    @Test
    void guidanceBelowOneIsFineWhereNoStageGuides() {
        // diffusers' flag: guidance runs only when a scale is above 1, so 0.5 / 1 means none (t2i_tiny_no_guidance).
        var r = pipeline.textToImage(text(List.of("a red circle"), 1, 2, 0.5, 1, Seeds.of(3)), UnclipPipeline.Progress.NONE);
        assertEquals(1, r.images().size());
    }

    @Test
    void anImageThatCannotBeReadIsNamed() throws IOException {
        Path notAnImage = Files.writeString(tmp.resolve("notes.png"), "this is text");
        Exception e = assertThrows(ImageFormatException.class, () -> RgbImage.read(notAnImage));
        assertTrue(e.getMessage().contains("notes.png"), e.getMessage());
    }

    @Test
    void oneSeedPerImageGivesEachImageWhatItsSeedGivesAlone() {
        var batch = pipeline.textToImage(text(List.of("a red circle", "a blue square"), 1, 3, 4, 8, Seeds.perImage(5, 6)),
                UnclipPipeline.Progress.NONE);
        var first = pipeline.textToImage(text(List.of("a red circle"), 1, 3, 4, 8, Seeds.of(5)), UnclipPipeline.Progress.NONE);
        var second = pipeline.textToImage(text(List.of("a blue square"), 1, 3, 4, 8, Seeds.of(6)), UnclipPipeline.Progress.NONE);
        // Row results of a GEMM may differ in the last bit with the batch size: allow 1/255.
        assertClose(first.images().get(0), batch.images().get(0), 1);
        assertClose(second.images().get(0), batch.images().get(1), 1);
    }

    private static void assertClose(RgbImage a, RgbImage b, int bound) {
        int worst = 0;
        for (int i = 0; i < a.rgb().length; i++) worst = Math.max(worst, Math.abs((a.rgb()[i] & 0xff) - (b.rgb()[i] & 0xff)));
        assertTrue(worst <= bound, "images differ by " + worst + "/255");
    }

    @Test
    void textDiffFramesStartAtTheImageAndKeepItsNorm() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(4);
        float[] zi = new float[36], diff = new float[36];
        for (int i = 0; i < 36; i++) {
            zi[i] = (float) r.nextGaussian() * 3;
            diff[i] = (float) r.nextGaussian();
        }
        float[][] frames = UnclipPipeline.textDiffFrames(zi, diff, 5, 0.5);
        assertArrayEquals(zi, frames[0], "angle 0 is the image's own embedding");
        double norm = norm(zi), previous = -2;
        for (float[] f : frames) {
            assertEquals(norm, norm(f), 1e-5 * norm, "every frame keeps the image embedding's norm");
            double towardDiff = dot(f, diff) / (norm(f) * norm(diff));
            assertTrue(towardDiff > previous, "each frame is closer to the text diff than the one before");
            previous = towardDiff;
        }
        assertThrows(IllegalArgumentException.class, () -> UnclipPipeline.textDiffFrames(zi, new float[36], 3, 0.5));
    }

    @Test
    void theFirstFrameOfAnEditIsThePlainVariation() {
        RgbImage image = RgbImage.read(PipelineParityTest.fixtures().resolve("var_tiny_batch/rgb_37x53.png"));
        var edit = pipeline.edit(new Edit("a red circle", "a blue square", 3, 0.5, 2, 2, 3, Seeds.of(9)), image,
                UnclipPipeline.Progress.NONE);
        var plain = pipeline.variations(new Variations(List.of(image), null, 1, 2, 2, 3, Seeds.of(9)),
                UnclipPipeline.Progress.NONE);
        assertEquals(3, edit.images().size());
        assertClose(plain.images().get(0), edit.images().get(0), 1);
    }

    @Test
    void fixedNoiseMakesFramesDifferOnlyByTheirEmbedding() {
        float[] e = new float[36];
        for (int i = 0; i < 36; i++) e[i] = (float) Math.sin(i);
        var same = pipeline.interpolateEmbeddings(new Interpolation(3, 2, 2, 2, 4, 3, Seeds.of(2), true), e, e,
                UnclipPipeline.Progress.NONE);
        assertClose(same.images().get(0), same.images().get(2), 1);
        var drawn = pipeline.interpolateEmbeddings(new Interpolation(3, 2, 2, 2, 4, 3, Seeds.of(2), false), e, e,
                UnclipPipeline.Progress.NONE);
        int worst = 0;
        byte[] a = drawn.images().get(0).rgb(), b = drawn.images().get(2).rgb();
        for (int i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] & 0xff) - (b[i] & 0xff)));
        assertTrue(worst > 8, "without fixed noise the frames' step noise differs (max diff " + worst + ")");
    }

    private static double norm(float[] v) {
        return Math.sqrt(dot(v, v));
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }

    // ---- model folders whose components disagree ----------------------------------------------------

    private Path copyWith(String component, Consumer<ObjectNode> edit) throws IOException {
        Path src = PipelineParityTest.fixtures().resolve("tiny_random"), dst = tmp.resolve("model-" + component);
        try (Stream<Path> files = Files.walk(src)) {
            for (Path f : files.toList()) {
                Path t = dst.resolve(src.relativize(f).toString());
                if (Files.isDirectory(f)) Files.createDirectories(t);
                else Files.copy(f, t);
            }
        }
        Path cfg = dst.resolve(component).resolve(component.endsWith("scheduler") ? "scheduler_config.json" : "config.json");
        ObjectMapper json = new ObjectMapper();
        ObjectNode node = (ObjectNode) json.readTree(cfg.toFile());
        edit.accept(node);
        Files.writeString(cfg, json.writeValueAsString(node));
        return dst;
    }

    private static void disagrees(Path dir, String... parts) {
        Exception e = assertThrows(WeightFormatException.class, () -> UnclipModel.load(dir, cpu, DType.F32).close());
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + p + "' missing from: " + e.getMessage());
    }

    @Test
    void componentsThatDisagreeAreNamed() throws IOException {
        disagrees(copyWith("prior", c -> c.put("embedding_dim", 40)), "prior", "projection_dim is 36");
        disagrees(copyWith("text_proj", c -> c.put("cross_attention_dim", 30)), "text_proj", "cross_attention_dim is 28");
        disagrees(copyWith("super_res_first", c -> c.put("in_channels", 4)), "super_res_first takes 4 input channels");
        disagrees(copyWith("decoder", c -> c.put("sample_size", 17)), "decoder sample_size 17×17 cannot be halved");
        disagrees(copyWith("decoder_scheduler", c -> c.put("variance_type", "fixed_small_log")), "decoder has 6 output channels");
        disagrees(copyWith("super_res_last", c -> c.put("sample_size", 64)), "different sample_size");
    }

    @Test
    void aFolderWithoutTheUnclipLayoutIsNamed() throws IOException {
        Files.createDirectories(tmp.resolve("empty"));
        disagrees(tmp.resolve("empty"), "no model_index.json");
        disagrees(tmp.resolve("nowhere"), "no such model folder");
    }
}
