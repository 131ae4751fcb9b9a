package dev.unclip4j.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.io.Checkpoint;
import dev.unclip4j.io.SafetensorsWriter;
import dev.unclip4j.io.WeightFormatException;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad weights and bad inputs to PriorTransformer and TextProjection: each a clear exception naming
 * the component and what is wrong. Weights are the fixtures' (prior_layer_in: embedding 20, inner
 * 24, proj 18, 7 text tokens; text_proj_k4: clip 20, time 28, cross 12, k 4) with one change.
 */
class PriorBadInputTest {
    private static Backend cpu;

    @BeforeAll
    static void open() {
        cpu = Backend.cpu();
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    /** The fixture's folder rewritten with {@code change} applied to its tensors. */
    private static Path rewritten(String fixture, Path dir, Function<SafetensorsWriter, SafetensorsWriter> change,
                                  String skip) throws IOException {
        Path src = PriorFixtures.fixture(fixture);
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        SafetensorsWriter w = new SafetensorsWriter();
        try (Checkpoint c = Checkpoint.open(src.resolve("diffusion_pytorch_model.safetensors"))) {
            for (String n : c.names()) if (!n.equals(skip)) w.f32(n, c.floats(n), c.entry(n).shape());
        }
        change.apply(w).write(dir.resolve("diffusion_pytorch_model.safetensors"));
        return dir;
    }

    private static void assertNames(Class<? extends Throwable> type, Executable e, String... parts) {
        String m = assertThrows(type, e).getMessage();
        for (String p : parts) assertTrue(m.contains(p), "'" + p + "' not in: " + m);
    }

    @Test
    void missingTensor(@TempDir Path dir) throws IOException {
        Path d = rewritten("prior_layer_in", dir, w -> w, "transformer_blocks.1.attn1.to_k.weight");
        assertNames(WeightFormatException.class, () -> PriorTransformer.load(d, cpu, DType.F32),
                "PriorTransformer", "missing tensor 'transformer_blocks.1.attn1.to_k.weight'");
    }

    @Test
    void wrongShapeTensor(@TempDir Path dir) throws IOException {
        Path d = rewritten("prior_layer_in", dir, w -> w.f32("proj_in.weight", new float[24 * 20], 20, 24), null);
        assertNames(WeightFormatException.class, () -> PriorTransformer.load(d, cpu, DType.F32),
                "PriorTransformer", "'proj_in.weight' is [20, 24], expected [24, 20]");
    }

    @Test
    void extraTensor(@TempDir Path dir) throws IOException {
        Path d = rewritten("prior_layer_in", dir, w -> w.f32("transformer_blocks.2.norm1.weight", new float[24], 24), null);
        assertNames(WeightFormatException.class, () -> PriorTransformer.load(d, cpu, DType.F32),
                "PriorTransformer", "unexpected tensor", "transformer_blocks.2.norm1.weight");
    }

    @Test
    void textProjectionWeights(@TempDir Path dir) throws IOException {
        Path missing = rewritten("text_proj_k4", Files.createDirectory(dir.resolve("a")), w -> w,
                "learned_classifier_free_guidance_embeddings");
        assertNames(WeightFormatException.class, () -> TextProjection.load(missing, cpu, DType.F32),
                "UnCLIPTextProjModel", "missing tensor 'learned_classifier_free_guidance_embeddings'");
        Path shape = rewritten("text_proj_k4", Files.createDirectory(dir.resolve("b")),
                w -> w.f32("clip_extra_context_tokens_proj.bias", new float[36], 36), null);
        assertNames(WeightFormatException.class, () -> TextProjection.load(shape, cpu, DType.F32),
                "UnCLIPTextProjModel", "'clip_extra_context_tokens_proj.bias' is [36], expected [48]");
        Path extra = rewritten("text_proj_k4", Files.createDirectory(dir.resolve("c")),
                w -> w.f32("text_encoder_hidden_states_norm.running_mean", new float[12], 12), null);
        assertNames(WeightFormatException.class, () -> TextProjection.load(extra, cpu, DType.F32),
                "UnCLIPTextProjModel", "unexpected tensor", "running_mean");
    }

    private static Tensor zeros(DType dtype, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return cpu.fromFloats(dtype, new float[Math.toIntExact(n)], shape);
    }

    @Test
    void priorInputs() {
        try (PriorTransformer prior = PriorTransformer.load(PriorFixtures.fixture("prior_layer_in"), cpu, DType.F32);
             Workspace ws = cpu.newWorkspace(1 << 16);
             Tensor x = zeros(DType.F32, 3, 20); Tensor p = zeros(DType.F32, 3, 18); Tensor t = zeros(DType.F32, 3, 7, 20)) {
            int[][] mask = {{1, 1, 1, 1, 1, 1, 1}, {1, 1, 0, 0, 0, 0, 0}, {1, 1, 1, 0, 0, 0, 0}};
            try (Tensor bad = zeros(DType.F32, 3, 19)) {
                assertNames(UnclipException.class, () -> prior.forward(bad, 5, p, t, mask, ws), "PriorTransformer",
                        "hiddenStates is [3, 19]", "embedding_dim = 20");
            }
            try (Tensor bad = zeros(DType.F32, 3, 20)) {
                assertNames(UnclipException.class, () -> prior.forward(x, 5, bad, t, mask, ws), "projEmbedding is [3, 20]",
                        "embedding_proj_dim = 18");
            }
            assertNames(UnclipException.class, () -> prior.forward(x, 5, p, null, mask, ws), "encoderHiddenStates is null");
            try (Tensor bad = zeros(DType.F32, 3, 7, 24)) {
                assertNames(UnclipException.class, () -> prior.forward(x, 5, p, bad, mask, ws), "encoderHiddenStates is [3, 7, 24]");
            }
            try (Tensor shortText = zeros(DType.F32, 3, 6, 20)) {
                assertNames(UnclipException.class, () -> prior.forward(x, 5, p, shortText, null, ws), "10 tokens",
                        "positional_embedding 11 rows", "the text must be 7 tokens long");
            }
            assertNames(UnclipException.class, () -> prior.forward(x, 5, p, t, new int[][] {{1, 1}, {1, 1}, {1, 1}}, ws),
                    "attentionMask row 0 has 2 entries", "needs 7");
            assertNames(UnclipException.class, () -> prior.forward(x, 5, p, t, new int[][] {mask[0]}, ws),
                    "attentionMask has 1 rows for a batch of 3");
            assertNames(UnclipException.class, () -> prior.forward(x, new float[] {1, 2}, p, t, mask, ws),
                    "2 timesteps for a batch of 3");
            assertNames(UnclipException.class, () -> prior.forward(x, new float[] {Float.NaN}, p, t, mask, ws), "not finite");
            try (Tensor bf16 = zeros(DType.BF16, 3, 20)) {
                assertNames(UnclipException.class, () -> prior.forward(bf16, 5, p, t, mask, ws), "hiddenStates is BF16",
                        "runs in F32");
            }
            try (Tensor bad = zeros(DType.F32, 3, 20)) {
                assertNames(UnclipException.class, () -> prior.postProcessLatents(bad, bad), "latents must be [B, 14]");
            }
        }
    }

    @Test
    void textProjectionInputs() {
        try (TextProjection proj = TextProjection.load(PriorFixtures.fixture("text_proj_k4"), cpu, DType.F32);
             Workspace ws = cpu.newWorkspace(1 << 16);
             Tensor image = zeros(DType.F32, 2, 20); Tensor prompt = zeros(DType.F32, 4, 20);
             Tensor text = zeros(DType.F32, 4, 5, 20); Tensor odd = zeros(DType.F32, 3, 20)) {
            proj.forward(image, prompt, text, true, ws);
            ws.reset();
            assertNames(UnclipException.class, () -> proj.forward(image, prompt, text, false, ws), "UnCLIPTextProjModel",
                    "imageEmbeddings is [2, 20], expected [4, 20]");
            assertNames(UnclipException.class, () -> proj.forward(prompt, prompt, text, true, ws),
                    "imageEmbeddings is [4, 20], expected [2, 20]", "learned embedding");
            assertNames(UnclipException.class, () -> proj.forward(image, odd, text, true, ws), "promptEmbeds has 3 rows");
            try (Tensor bad = zeros(DType.F32, 4, 5, 12)) {
                assertNames(UnclipException.class, () -> proj.forward(image, prompt, bad, true, ws),
                        "textEncoderHiddenStates is [4, 5, 12], expected [4, L ≥ 1, 20]");
            }
            assertNames(UnclipException.class, () -> proj.forward(image, prompt, null, true, ws), "textEncoderHiddenStates is null");
        }
    }
}
