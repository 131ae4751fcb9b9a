package dev.unclip4j.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.clip.ClipWeights.Layout;
import dev.unclip4j.io.Checkpoint;
import dev.unclip4j.io.StoredType;
import dev.unclip4j.io.WeightFormatException;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The golden tower fixtures (tools/reference/make_clip_fixture.py, openai/CLIP's model.py) load
 * through the safetensors, config and weight-mapping code in both layouts, to the same weights by
 * role, with inputs and outputs shaped as the configs say.
 *
 * <p>What is checked numerically here is only what needs no transformer kernel: the end-of-text
 * pooling, the final vision LayerNorm and both projections (the transpose between the layouts),
 * in double precision against the reference's float32 outputs. The parity of the whole towers
 * (relative L2 < 1e-4 on the last hidden states, pooled outputs and embeddings) is
 * {@link ClipTowerParityTest}.
 */
class ClipFixtureTest {
    private static Path fixture(String name) throws URISyntaxException {
        return Path.of(ClipFixtureTest.class.getResource("/fixtures/clip/fixture.json").toURI()).getParent().resolve(name);
    }

    private static Map<String, float[]> byRole(ClipWeights.Model m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        ClipWeightLoaderTest.visit(m, (role, w) -> out.put(role, w.floats()));
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"text77", "both", "small"})
    void bothLayoutsLoadToTheSameWeights(String name) throws Exception {
        Path dir = fixture(name);
        boolean vision = !name.equals("text77");
        try (Checkpoint hfCk = Checkpoint.open(dir.resolve("hf"));
             Checkpoint oaCk = Checkpoint.open(dir.resolve("openai/open_clip_model.safetensors"))) {
            ClipConfig hfCfg = ClipConfig.read(dir.resolve("hf"));
            ClipConfig oaCfg = ClipWeightLoader.readOpenClipConfig(dir.resolve("openai/open_clip_config.json"));
            ClipWeights.Model hf = ClipWeightLoader.load(hfCk, hfCfg);
            ClipWeights.Model oa = ClipWeightLoader.load(oaCk, oaCfg);
            assertEquals(Layout.HUGGING_FACE, hf.layout());
            assertEquals(Layout.OPENAI, oa.layout());
            assertTrue(hf.unexpected().isEmpty(), hf.unexpected().toString());  // position_ids is a known buffer
            assertTrue(oa.unexpected().isEmpty(), oa.unexpected().toString());
            assertEquals(StoredType.BF16, hf.text().tokenEmbedding().entry().type());
            assertEquals(StoredType.F16, oa.text().tokenEmbedding().entry().type());

            ClipTextConfig ht = hf.text().config(), ot = oa.text().config();
            assertEquals(List.of(ht.vocabSize(), ht.hiddenSize(), ht.intermediateSize(), ht.projectionDim(),
                    ht.numHiddenLayers(), ht.numAttentionHeads(), ht.maxPositionEmbeddings()),
                    List.of(ot.vocabSize(), ot.hiddenSize(), ot.intermediateSize(), ot.projectionDim(),
                            ot.numHiddenLayers(), ot.numAttentionHeads(), ot.maxPositionEmbeddings()));
            assertEquals(ht.hiddenAct(), ot.hiddenAct());
            if (vision) {
                assertEquals(hf.vision().config().withoutIgnored(), oa.vision().config().withoutIgnored());
                assertNotNull(hf.logitScale());
            } else {
                assertNull(hf.vision());
                assertNull(oa.vision());
            }
            Map<String, float[]> a = byRole(hf), b = byRole(oa);
            assertEquals(a.keySet(), b.keySet());
            for (String role : a.keySet()) assertArrayEquals(a.get(role), b.get(role), role);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"text77", "both", "small"})
    void inputsAndOutputsFitTheConfig(String name) throws Exception {
        Path dir = fixture(name);
        try (Checkpoint io = Checkpoint.open(dir.resolve("io.safetensors")); Checkpoint ck = Checkpoint.open(dir.resolve("hf"))) {
            ClipWeights.Model m = ClipWeightLoader.load(ck, ClipConfig.read(dir.resolve("hf")));
            ClipTextConfig t = m.text().config();
            long[] idsShape = io.entry("text.input_ids").shape();
            int batch = (int) idsShape[0];
            assertTrue(batch > 1);
            assertArrayEquals(new long[] {batch, t.maxPositionEmbeddings()}, idsShape);
            assertArrayEquals(new long[] {batch, t.maxPositionEmbeddings(), t.hiddenSize()}, io.entry("text.last_hidden_state").shape());
            assertArrayEquals(new long[] {batch, t.hiddenSize()}, io.entry("text.pooler_output").shape());
            assertArrayEquals(new long[] {batch, t.projectionDim()}, io.entry("text.text_embeds").shape());

            // Pooling: the pooled output is the last hidden state at the end token (the highest id).
            long[] ids = io.longs("text.input_ids");
            float[] last = io.floats("text.last_hidden_state"), pooled = io.floats("text.pooler_output");
            int ctx = t.maxPositionEmbeddings(), d = t.hiddenSize();
            for (int b = 0; b < batch; b++) {
                int end = 0;
                for (int j = 1; j < ctx; j++) if (ids[b * ctx + j] > ids[b * ctx + end]) end = j;
                assertEquals(t.vocabSize() - 1, ids[b * ctx + end]);
                for (int k = 0; k < d; k++) assertEquals(last[(b * ctx + end) * d + k], pooled[b * d + k]);
            }
            // Projection: text_embeds = pooled · Wᵀ with W the [proj, hidden] weight the loader built.
            assertProjection(pooled, m.text().projection().weight().floats(), io.floats("text.text_embeds"), batch, d, t.projectionDim());

            if (m.vision() != null) {
                ClipVisionConfig v = m.vision().config();
                int vb = (int) io.entry("vision.pixel_values_nhwc").dim(0), vd = v.hiddenSize(), n = v.numPositions();
                assertArrayEquals(new long[] {vb, v.imageSize(), v.imageSize(), 3}, io.entry("vision.pixel_values_nhwc").shape());
                assertArrayEquals(new long[] {vb, n, vd}, io.entry("vision.last_hidden_state").shape());
                // pooled = post_layernorm(class token of the last hidden state), eps 1e-5.
                float[] vlast = io.floats("vision.last_hidden_state"), vpooled = io.floats("vision.pooler_output");
                float[] g = m.vision().postLayerNorm().weight().floats(), beta = m.vision().postLayerNorm().bias().floats();
                double err = 0, ref = 0;
                for (int b = 0; b < vb; b++) {
                    double mean = 0, var = 0;
                    for (int k = 0; k < vd; k++) mean += vlast[b * n * vd + k];
                    mean /= vd;
                    for (int k = 0; k < vd; k++) var += Math.pow(vlast[b * n * vd + k] - mean, 2);
                    var /= vd;
                    for (int k = 0; k < vd; k++) {
                        double y = (vlast[b * n * vd + k] - mean) / Math.sqrt(var + v.layerNormEps()) * g[k] + beta[k];
                        err += Math.pow(y - vpooled[b * vd + k], 2);
                        ref += Math.pow(vpooled[b * vd + k], 2);
                    }
                }
                assertTrue(Math.sqrt(err / ref) < 1e-5, "post_layernorm relative L2 " + Math.sqrt(err / ref));
                assertProjection(vpooled, m.vision().projection().weight().floats(), io.floats("vision.image_embeds"), vb, vd,
                        v.projectionDim());
            }
        }
    }

    /** out[b] = x[b] · Wᵀ, W [proj, d], in double; float32 reference, so the bound is float32 rounding (1e-5). */
    private static void assertProjection(float[] x, float[] w, float[] want, int batch, int d, int proj) {
        double err = 0, ref = 0;
        for (int b = 0; b < batch; b++) {
            for (int p = 0; p < proj; p++) {
                double s = 0;
                for (int k = 0; k < d; k++) s += (double) x[b * d + k] * w[p * d + k];
                err += Math.pow(s - want[b * proj + p], 2);
                ref += Math.pow(want[b * proj + p], 2);
            }
        }
        assertTrue(Math.sqrt(err / ref) < 1e-5, "projection relative L2 " + Math.sqrt(err / ref));
    }

    @ParameterizedTest
    @ValueSource(strings = {"text77"})
    void openAiInferenceAndUpload(String name) throws Exception {
        Path dir = fixture(name);
        try (Checkpoint ck = Checkpoint.open(dir.resolve("openai/open_clip_model.safetensors")); Backend cpu = Backend.cpu()) {
            // Without a config, heads = width / 64 as build_model infers (1 here; the config says 4).
            assertEquals(1, ClipWeightLoader.inferOpenAi(ck, null, null).text().numAttentionHeads());
            ClipWeights.Model m = ClipWeightLoader.load(ck, ClipWeightLoader.readOpenClipConfig(dir.resolve("openai/open_clip_config.json")));
            Weight k = m.text().layers().get(1).k().weight();
            try (Tensor t = k.upload(cpu, DType.F32); Tensor h = k.upload(cpu, DType.F16)) {
                assertArrayEquals(k.floats(), t.toFloatArray());
                assertArrayEquals(k.floats(), h.toFloatArray());  // F16 stored, raw copy
            }
        }
        try (Checkpoint ck = Checkpoint.open(fixture("both").resolve("openai/open_clip_model.safetensors"))) {
            var e = assertThrows(WeightFormatException.class, () -> ClipWeightLoader.inferOpenAi(ck, null, null));
            assertTrue(e.getMessage().contains("48") && e.getMessage().contains("64"), e.getMessage());
        }
    }
}
