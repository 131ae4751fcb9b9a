package dev.unclip4j.clip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.io.Checkpoint;
import dev.unclip4j.io.WeightFormatException;
import dev.unclip4j.testing.Parity;
import dev.unclip4j.tensor.Backend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The CLIP API on the golden fixture models: embeddings, similarity, zero-shot classification, ranking. */
class ClipTest {
    private static Backend cpu;

    @TempDir
    Path dir;

    @BeforeAll
    static void open() {
        cpu = Backend.cpu();
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    /**
     * The reference's CLIP logits (logit_scale.exp() · cos) from our embeddings: checks the
     * temperature read from the checkpoint, the normalisation and the towers together, both
     * layouts. Bound 1e-4 as for the towers (measured ~4e-7).
     */
    @ParameterizedTest
    @ValueSource(strings = {"hf", "openai"})
    void logitsMatchOpenAiClip(String layout) throws Exception {
        for (String model : List.of("both", "small")) {
            Path fx = ClipTowerParity.fixture(model);
            try (Clip clip = Clip.open(fx.resolve(layout), cpu); Checkpoint io = Checkpoint.open(fx.resolve("io.safetensors"))) {
                long[] ps = io.entry("vision.pixel_values_nhwc").shape();
                float[][] img = clip.imageEmbeddingsOfPixels(io.floats("vision.pixel_values_nhwc"), (int) ps[0], true);
                float[][] txt = clip.textEmbeddingsOfIds(ClipTowerParity.ids(io), true);
                float[] logits = new float[img.length * txt.length];
                for (int i = 0; i < img.length; i++) {
                    for (int t = 0; t < txt.length; t++) {
                        double dot = 0;
                        for (int k = 0; k < img[i].length; k++) dot += (double) img[i][k] * txt[t][k];
                        logits[i * txt.length + t] = (float) (clip.logitScale() * dot);
                        assertEquals(Clip.cosine(img[i], txt[t]), dot, 1e-6);
                    }
                }
                double err = Parity.relL2(logits, io.floats("logits_per_image"));
                System.out.println("logits_per_image " + model + "/" + layout + ": relative L2 " + err);
                assertTrue(err < 1e-4, model + "/" + layout + " logits relative L2 " + err);
                assertTrue(Math.abs(clip.logitScale() - 100) > 1e-3, "the fixture's logit_scale is not ln 100");
            }
        }
    }

    @Test
    void withoutLogitScaleTheTemperatureIs100() {
        try (Clip clip = Clip.open(ClipTowerParity.fixture("text77").resolve("hf"), cpu)) {
            assertEquals(Clip.DEFAULT_LOGIT_SCALE, clip.logitScale());
            assertTrue(clip.hasText() && !clip.hasVision());
            var e = assertThrows(WeightFormatException.class, () -> clip.imageEmbeddingsOfPixels(new float[12], 1, true));
            assertTrue(e.getMessage().contains("no vision tower"), e.getMessage());
            e = assertThrows(WeightFormatException.class, () -> clip.textEmbeddings(List.of("a cat"), true));
            assertTrue(e.getMessage().contains("no tokenizer"), e.getMessage());
        }
    }

    /** classify() against the same numbers computed from the embedding methods by hand. */
    @Test
    void classificationAgreesWithTheEmbeddings() {
        Path model = TinyClipFolder.make("both", dir.resolve("model"));
        Path image = TinyClipFolder.image(dir.resolve("x.png"), 45, 37, 1);
        List<String> labels = List.of("cat", "dog", "car", "tree");
        List<String> templates = List.of("a photo of a {}.", "a {}.", "art of the {}");
        try (Clip clip = Clip.open(model, cpu)) {
            List<Clip.Prediction> got = clip.classify(image, labels, templates);
            assertEquals(labels.size(), got.size());
            double sum = 0;
            for (int i = 0; i < got.size(); i++) {
                sum += got.get(i).probability();
                if (i > 0) assertTrue(got.get(i - 1).probability() >= got.get(i).probability(), "not best first");
            }
            assertEquals(1, sum, 1e-9);

            // by hand: normalised template embeddings, their mean renormalised, scale · dot, softmax
            float[] img = clip.imageEmbeddings(List.of(image), true)[0];
            double[] logits = new double[labels.size()];
            for (int c = 0; c < labels.size(); c++) {
                List<String> prompts = new ArrayList<>();
                for (String t : templates) prompts.add(t.replace("{}", labels.get(c)));
                float[][] e = clip.textEmbeddings(prompts, true);
                double[] mean = new double[img.length];
                for (float[] row : e) for (int k = 0; k < mean.length; k++) mean[k] += row[k] / e.length;
                double norm = 0, dot = 0;
                for (double m : mean) norm += m * m;
                for (int k = 0; k < mean.length; k++) dot += img[k] * mean[k] / Math.sqrt(norm);
                logits[c] = clip.logitScale() * dot;
            }
            double max = Double.NEGATIVE_INFINITY, z = 0;
            for (double l : logits) max = Math.max(max, l);
            for (double l : logits) z += Math.exp(l - max);
            for (Clip.Prediction p : got) {
                int c = labels.indexOf(p.label());
                assertEquals(logits[c], p.logit(), 1e-4, p.label());
                assertEquals(Math.exp(logits[c] - max) / z, p.probability(), 1e-5, p.label());
            }
            // the templates matter: one template gives other probabilities
            List<Clip.Prediction> one = clip.classify(image, labels, List.of("a {}."));
            assertTrue(Math.abs(one.getFirst().logit() - logitOf(got, one.getFirst().label())) > 1e-6);
            assertThrows(IllegalArgumentException.class, () -> clip.classify(image, labels, List.of("no placeholder")));
        }
    }

    private static double logitOf(List<Clip.Prediction> ps, String label) {
        return ps.stream().filter(p -> p.label().equals(label)).findFirst().orElseThrow().logit();
    }

    @Test
    void rankingFollowsTheSimilarities() {
        Path model = TinyClipFolder.make("both", dir.resolve("model"));
        List<Path> images = new ArrayList<>();
        for (int i = 0; i < 5; i++) images.add(TinyClipFolder.image(dir.resolve("c" + i + ".png"), 32 + 7 * i, 40 - 3 * i, 10 + i));
        try (Clip clip = Clip.open(model, cpu)) {
            String prompt = "a red bird on a wire.";
            List<Clip.Ranked> ranked = clip.rank(prompt, images);
            float[] t = clip.textEmbeddings(List.of(prompt), false)[0];
            float[][] e = clip.imageEmbeddings(images, false);
            assertEquals(images.size(), ranked.size());
            for (int i = 0; i < ranked.size(); i++) {
                Clip.Ranked r = ranked.get(i);
                assertEquals(images.get(r.index()), r.image());
                assertEquals(Clip.cosine(t, e[r.index()]), r.similarity(), 1e-9);
                if (i > 0) assertTrue(ranked.get(i - 1).similarity() >= r.similarity());
            }
            assertTrue(ranked.getFirst().similarity() > ranked.getLast().similarity(), "all candidates tie");
            // a batch of images embeds as each image alone does
            float[] alone = clip.imageEmbeddings(List.of(images.get(3)), false)[0];
            assertTrue(Clip.cosine(alone, e[3]) > 1 - 1e-6);
        }
    }

    /**
     * An OpenAI checkpoint's images go through openai/CLIP's transform, a Hugging Face folder's
     * through its preprocessor_config.json: at the model's own size (no resize, no crop) both are
     * /255 and CLIP's mean/std, so the same weights give the same embedding up to float rounding.
     */
    @Test
    void openAiCheckpointsUseOpenAiPreprocessing() {
        Path hf = TinyClipFolder.make("both", dir.resolve("model"));
        Path image = TinyClipFolder.image(dir.resolve("sq.png"), 32, 32, 5);
        try (Clip a = Clip.open(hf, cpu); Clip b = Clip.open(ClipTowerParity.fixture("both").resolve("openai"), cpu)) {
            float[] ea = a.imageEmbeddings(List.of(image), false)[0], eb = b.imageEmbeddings(List.of(image), false)[0];
            assertTrue(Parity.relL2(eb, ea) < 1e-5, "relative L2 " + Parity.relL2(eb, ea));
            // and a prompt needs a tokenizer, which the OpenAI fixture folder does not have
            var e = assertThrows(WeightFormatException.class, () -> b.textEmbeddings(List.of("a cat"), true));
            assertTrue(e.getMessage().contains("no tokenizer"), e.getMessage());
        }
    }

    @Test
    void notAnImageIsAClearError() throws Exception {
        Path model = TinyClipFolder.make("both", dir.resolve("model"));
        Path bad = Files.writeString(dir.resolve("bad.png"), "not a png");
        try (Clip clip = Clip.open(model, cpu)) {
            var e = assertThrows(RuntimeException.class, () -> clip.imageEmbeddings(List.of(bad), true));
            assertTrue(e.getMessage().contains("bad.png"), e.getMessage());
        }
    }
}
