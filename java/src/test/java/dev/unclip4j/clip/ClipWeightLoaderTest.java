package dev.unclip4j.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.clip.ClipWeights.Layer;
import dev.unclip4j.clip.ClipWeights.Layout;
import dev.unclip4j.clip.ClipWeights.Linear;
import dev.unclip4j.io.Checkpoint;
import dev.unclip4j.io.WeightFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClipWeightLoaderTest {
    @TempDir
    Path dir;

    private final SyntheticClip clip = new SyntheticClip(7);

    private ClipWeights.Model loadOpenAi() throws IOException {
        try (Checkpoint c = Checkpoint.open(SyntheticClip.write(clip.openai, dir.resolve("openai.safetensors")))) {
            ClipConfig inferred = ClipWeightLoader.inferOpenAi(c, 2, 4);
            return copyOut(ClipWeightLoader.load(c, inferred));
        }
    }

    private ClipWeights.Model loadHf() throws IOException {
        Path hf = Files.createDirectories(dir.resolve("hf"));
        SyntheticClip.write(clip.huggingFace(), hf.resolve("model.safetensors"));
        Files.writeString(hf.resolve("config.json"), clip.hfConfigJson());
        try (Checkpoint c = Checkpoint.open(hf)) {
            return copyOut(ClipWeightLoader.load(c, ClipConfig.read(hf)));
        }
    }

    /** Reads every weight while the checkpoint is open (the records hold mapped slices). */
    private static ClipWeights.Model copyOut(ClipWeights.Model m) {
        FLOATS.clear();
        visit(m, (role, w) -> FLOATS.put(role, w.floats()));
        return m;
    }

    private static final Map<String, float[]> FLOATS = new LinkedHashMap<>();

    interface Visitor {
        void accept(String role, Weight w);
    }

    static void visit(ClipWeights.Model m, Visitor v) {
        if (m.text() != null) {
            var t = m.text();
            v.accept("text.token", t.tokenEmbedding());
            v.accept("text.pos", t.positionEmbedding());
            visitLayers("text", t.layers(), v);
            v.accept("text.final.w", t.finalLayerNorm().weight());
            v.accept("text.final.b", t.finalLayerNorm().bias());
            v.accept("text.proj", t.projection().weight());
        }
        if (m.vision() != null) {
            var x = m.vision();
            v.accept("vision.cls", x.classEmbedding());
            v.accept("vision.patch", x.patchEmbedding());
            v.accept("vision.pos", x.positionEmbedding());
            v.accept("vision.pre.w", x.preLayerNorm().weight());
            v.accept("vision.pre.b", x.preLayerNorm().bias());
            visitLayers("vision", x.layers(), v);
            v.accept("vision.post.w", x.postLayerNorm().weight());
            v.accept("vision.post.b", x.postLayerNorm().bias());
            v.accept("vision.proj", x.projection().weight());
        }
        if (m.logitScale() != null) v.accept("logit_scale", m.logitScale());
    }

    private static void visitLayers(String tower, List<Layer> layers, Visitor v) {
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            String p = tower + "." + i + ".";
            Linear[] lin = {l.q(), l.k(), l.v(), l.out(), l.fc1(), l.fc2()};
            String[] names = {"q", "k", "v", "out", "fc1", "fc2"};
            for (int j = 0; j < lin.length; j++) {
                v.accept(p + names[j] + ".w", lin[j].weight());
                v.accept(p + names[j] + ".b", lin[j].bias());
            }
            v.accept(p + "ln1.w", l.layerNorm1().weight());
            v.accept(p + "ln1.b", l.layerNorm1().bias());
            v.accept(p + "ln2.w", l.layerNorm2().weight());
            v.accept(p + "ln2.b", l.layerNorm2().bias());
        }
    }

    @Test
    void bothLayoutsGiveTheSameWeightsByRole() throws IOException {
        ClipWeights.Model o = loadOpenAi();
        Map<String, float[]> fromOpenAi = new LinkedHashMap<>(FLOATS);
        ClipWeights.Model h = loadHf();
        Map<String, float[]> fromHf = new LinkedHashMap<>(FLOATS);
        assertEquals(Layout.OPENAI, o.layout());
        assertEquals(Layout.HUGGING_FACE, h.layout());
        assertEquals(fromHf.keySet(), fromOpenAi.keySet());
        assertEquals(2 * (2 * 6 + 4) + 1 * (2 * 6 + 4) + 5 + 8 + 1, fromHf.size());
        for (String role : fromHf.keySet()) assertArrayEquals(fromHf.get(role), fromOpenAi.get(role), role);
        // Shapes by role: [out, in] linears, projections [proj, hidden].
        assertArrayEquals(new long[] {128, 128}, o.text().layers().get(1).k().weight().shape());
        assertEquals("transformer.resblocks.1.attn.in_proj_weight[128:256]", o.text().layers().get(1).k().weight().source());
        assertArrayEquals(new long[] {24, 128}, o.text().projection().weight().shape());
        assertArrayEquals(new long[] {24, 64}, o.vision().projection().weight().shape());
        assertArrayEquals(new long[] {24, 128}, h.text().projection().weight().shape());
        assertTrue(o.unexpected().isEmpty(), o.unexpected().toString());
        assertTrue(h.unexpected().isEmpty(), h.unexpected().toString());
        // The configs agree too (heads given to the OpenAI inference, as an open_clip config would).
        assertEquals(h.config().text().withIgnored(List.of()), o.config().text().withIgnored(List.of()));
        assertEquals(4, o.config().vision().numAttentionHeads());
        assertEquals(12, o.config().vision().imageSize());
        assertEquals(24, o.config().projectionDim());
    }

    @Test
    void openAiInferenceFollowsBuildModel() throws IOException {
        try (Checkpoint c = Checkpoint.open(SyntheticClip.write(clip.openai, dir.resolve("openai.safetensors")))) {
            ClipConfig cfg = ClipWeightLoader.inferOpenAi(c, null, null);
            ClipTextConfig t = cfg.text();
            assertEquals(List.of(50, 128, 512, 24, 2, 2, 13), List.of(t.vocabSize(), t.hiddenSize(), t.intermediateSize(),
                    t.projectionDim(), t.numHiddenLayers(), t.numAttentionHeads(), t.maxPositionEmbeddings()));
            assertEquals(ClipActivation.QUICK_GELU, t.hiddenAct());
            ClipVisionConfig v = cfg.vision();
            assertEquals(List.of(64, 256, 1, 1, 12, 4), List.of(v.hiddenSize(), v.intermediateSize(), v.numHiddenLayers(),
                    v.numAttentionHeads(), v.imageSize(), v.patchSize()));
            assertNotNull(ClipWeightLoader.load(c, null).vision());
        }
    }

    @Test
    void openClipConfigGivesTheHeads() throws IOException {
        Path cfg = Files.writeString(dir.resolve("open_clip_config.json"), """
            {"model_cfg": {"embed_dim": 24, "quick_gelu": true,
               "vision_cfg": {"image_size": 12, "layers": 1, "width": 64, "head_width": 16, "patch_size": 4},
               "text_cfg": {"context_length": 13, "vocab_size": 50, "width": 128, "heads": 2, "layers": 2}},
             "preprocess_cfg": {"mean": [0.48145466, 0.4578275, 0.40821073]}}""");
        ClipConfig c = ClipWeightLoader.readOpenClipConfig(cfg);
        assertEquals(2, c.text().numAttentionHeads());
        assertEquals(4, c.vision().numAttentionHeads());
        assertEquals(ClipActivation.QUICK_GELU, c.vision().hiddenAct());
        try (Checkpoint ck = Checkpoint.open(SyntheticClip.write(clip.openai, dir.resolve("openai.safetensors")))) {
            assertEquals(4, ClipWeightLoader.load(ck, c).vision().config().numAttentionHeads());
        }
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        Map<String, SyntheticClip.T> hf = clip.huggingFace();
        hf.remove("text_model.encoder.layers.1.mlp.fc2.bias");
        Path d = Files.createDirectories(dir.resolve("hf"));
        SyntheticClip.write(hf, d.resolve("model.safetensors"));
        Files.writeString(d.resolve("config.json"), clip.hfConfigJson());
        try (Checkpoint c = Checkpoint.open(d)) {
            var e = assertThrows(WeightFormatException.class, () -> ClipWeightLoader.load(c, ClipConfig.read(d)));
            assertTrue(e.getMessage().contains("'text_model.encoder.layers.1.mlp.fc2.bias'"), e.getMessage());
        }
    }

    @Test
    void configThatDisagreesWithTheWeightsNamesBoth() throws IOException {
        Path d = Files.createDirectories(dir.resolve("hf"));
        SyntheticClip.write(clip.huggingFace(), d.resolve("model.safetensors"));
        Files.writeString(d.resolve("config.json"), clip.hfConfigJson().replace("\"vocab_size\": 50", "\"vocab_size\": 49408"));
        try (Checkpoint c = Checkpoint.open(d)) {
            var e = assertThrows(WeightFormatException.class, () -> ClipWeightLoader.load(c, ClipConfig.read(d)));
            assertTrue(e.getMessage().contains("'text_model.embeddings.token_embedding.weight' is [50, 128]")
                    && e.getMessage().contains("vocab_size") && e.getMessage().contains("[49408, 128]"), e.getMessage());
        }
    }

    @Test
    void extraTensorsAreReported() throws IOException {
        Map<String, SyntheticClip.T> hf = clip.huggingFace();
        hf.put("text_model.encoder.layers.2.mlp.fc1.bias", new SyntheticClip.T(new long[] {4}, new float[4]));
        hf.put("text_model.embeddings.position_ids", new SyntheticClip.T(new long[] {1, 13}, new float[13]));
        Path d = Files.createDirectories(dir.resolve("hf"));
        SyntheticClip.write(hf, d.resolve("model.safetensors"));
        Files.writeString(d.resolve("config.json"), clip.hfConfigJson());
        try (Checkpoint c = Checkpoint.open(d)) {
            ClipWeights.Model m = ClipWeightLoader.load(c, ClipConfig.read(d));
            assertEquals(List.of("text_model.encoder.layers.2.mlp.fc1.bias"), m.unexpected());
        }
    }

    @Test
    void textOnlyCheckpointLikeKarlosTextEncoder() throws IOException {
        Map<String, SyntheticClip.T> hf = new LinkedHashMap<>(clip.huggingFace());
        hf.keySet().removeIf(k -> k.startsWith("vision_model.") || k.equals("visual_projection.weight") || k.equals("logit_scale"));
        Path d = Files.createDirectories(dir.resolve("text_encoder"));
        SyntheticClip.write(hf, d.resolve("model.safetensors"));
        Files.writeString(d.resolve("config.json"), """
            {"architectures": ["CLIPTextModelWithProjection"], "model_type": "clip_text_model", "hidden_size": 128,
             "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 2, "projection_dim": 24,
             "max_position_embeddings": 13, "vocab_size": 50, "hidden_act": "quick_gelu", "torch_dtype": "float32"}""");
        try (Checkpoint c = Checkpoint.open(d)) {
            ClipConfig cfg = ClipConfig.read(d);
            assertNull(cfg.vision());
            assertEquals(List.of("architectures", "torch_dtype"), cfg.text().ignoredKeys());
            ClipWeights.Model m = ClipWeightLoader.load(c, cfg);
            assertNull(m.vision());
            assertNull(m.logitScale());
            assertEquals(2, m.text().layers().size());
            assertArrayEquals(new long[] {24, 128}, m.text().projection().weight().shape());
        }
    }

    @Test
    void layoutDetection() throws IOException {
        Map<String, SyntheticClip.T> mixed = new LinkedHashMap<>(clip.openai);
        mixed.put("text_model.final_layer_norm.weight", new SyntheticClip.T(new long[] {1}, new float[1]));
        try (Checkpoint c = Checkpoint.open(SyntheticClip.write(mixed, dir.resolve("m.safetensors")))) {
            assertTrue(assertThrows(WeightFormatException.class, () -> ClipWeightLoader.load(c, null)).getMessage().contains("mixes"));
        }
        Map<String, SyntheticClip.T> resnet = new LinkedHashMap<>(clip.openai);
        resnet.put("visual.layer1.0.conv1.weight", new SyntheticClip.T(new long[] {1}, new float[1]));
        try (Checkpoint c = Checkpoint.open(SyntheticClip.write(resnet, dir.resolve("r.safetensors")))) {
            assertTrue(assertThrows(WeightFormatException.class, () -> ClipWeightLoader.load(c, null)).getMessage().contains("ResNet"));
        }
        Map<String, SyntheticClip.T> none = Map.of("foo.weight", new SyntheticClip.T(new long[] {1}, new float[1]));
        try (Checkpoint c = Checkpoint.open(SyntheticClip.write(none, dir.resolve("n.safetensors")))) {
            assertThrows(WeightFormatException.class, () -> ClipWeightLoader.load(c, null));
        }
        Path hf = Files.createDirectories(dir.resolve("hf"));
        SyntheticClip.write(clip.huggingFace(), hf.resolve("model.safetensors"));
        try (Checkpoint c = Checkpoint.open(hf)) {
            assertTrue(assertThrows(WeightFormatException.class, () -> ClipWeightLoader.load(c, null)).getMessage().contains("config.json"));
        }
    }
}
