package dev.unclip4j.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.io.WeightFormatException;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The three on-disk layouts of a CLIP model, opened into weights, tokenizer and preprocessing. */
class ClipModelFilesTest {
    @TempDir
    Path dir;

    /** 256 byte symbols, the same with </w>, one merge ("h i</w>" → "hi</w>"), the two specials: 515 ids. */
    static final int TINY_VOCAB = 515;

    private static void writeTinyTokenizer(Path d, String pad) throws IOException {
        Files.createDirectories(d);
        StringBuilder v = new StringBuilder("{");
        int id = 0;
        // CLIP's order: the printable bytes first (so "!" is id 0, as in the real vocabulary), then the rest.
        for (String suffix : new String[] {"", "</w>"}) {
            for (int i = 0; i < 512; i++) {
                int b = i % 256;
                boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
                if (printable != (i < 256)) continue;
                int cp = printable ? b : 256 + nonPrintableIndex(b);
                String sym = new String(Character.toChars(cp)) + suffix;
                v.append(id == 0 ? "" : ",").append(com.fasterxml.jackson.databind.node.TextNode.valueOf(sym)).append(':').append(id++);
            }
        }
        v.append(",\"hi</w>\":").append(id++).append(",\"<|startoftext|>\":").append(id++).append(",\"<|endoftext|>\":").append(id++).append('}');
        assertEquals(TINY_VOCAB, id);
        Files.writeString(d.resolve("vocab.json"), v.toString());
        Files.writeString(d.resolve("merges.txt"), "#version: 0.2\nh i</w>\n");
        Files.writeString(d.resolve("special_tokens_map.json"), "{\"pad_token\": \"" + pad + "\"}");
    }

    private static int nonPrintableIndex(int b) {
        int n = 0;
        for (int x = 0; x < b; x++) {
            boolean printable = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
            if (!printable) n++;
        }
        return n;
    }

    private static final String PREPROCESSOR = """
        {"crop_size": 12, "do_center_crop": true, "do_normalize": true, "do_resize": true, "size": 12, "resample": 3,
         "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
         "feature_extractor_type": "CLIPFeatureExtractor"}""";

    @Test
    void huggingFaceFolder() throws IOException {
        SyntheticClip clip = new SyntheticClip(3, TINY_VOCAB);
        Path d = Files.createDirectories(dir.resolve("clip-vit"));
        SyntheticClip.write(clip.huggingFace(), d.resolve("model.safetensors"));
        Files.writeString(d.resolve("config.json"), clip.hfConfigJson());
        writeTinyTokenizer(d, "<|endoftext|>");
        Files.writeString(d.resolve("preprocessor_config.json"), PREPROCESSOR);
        try (ClipModelFiles m = ClipModelFiles.open(d)) {
            assertEquals(ClipModelFiles.Kind.HUGGING_FACE, m.kind());
            assertNotNull(m.text());
            assertNotNull(m.vision());
            assertNotNull(m.logitScale());
            assertEquals(514, m.tokenizer().padId());
            assertArrayEquals(new int[] {512}, m.tokenizer().encode("Hi"));
            assertEquals(12, m.imageProcessor().config().cropWidth());
            assertNull(m.openAiTransform());
            assertEquals(2, m.text().layers().get(1).q().weight().shape().length);
        }
    }

    @Test
    void diffusersUnclipFolderLikeKarlo() throws IOException {
        SyntheticClip clip = new SyntheticClip(4, TINY_VOCAB);
        Map<String, SyntheticClip.T> text = new LinkedHashMap<>(), vision = new LinkedHashMap<>();
        clip.huggingFace().forEach((k, v) -> {
            if (k.startsWith("text_model.") || k.equals("text_projection.weight")) text.put(k, v);
            if (k.startsWith("vision_model.") || k.equals("visual_projection.weight")) vision.put(k, v);
        });
        Path te = Files.createDirectories(dir.resolve("karlo/text_encoder"));
        SyntheticClip.write(text, te.resolve("model.safetensors"));
        Files.writeString(te.resolve("config.json"), """
            {"architectures": ["CLIPTextModelWithProjection"], "model_type": "clip_text_model", "hidden_size": 128,
             "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 2, "projection_dim": 24,
             "max_position_embeddings": 13, "vocab_size": %d}""".formatted(TINY_VOCAB));
        writeTinyTokenizer(dir.resolve("karlo/tokenizer"), "!");
        Path ie = Files.createDirectories(dir.resolve("karlo/image_encoder"));
        SyntheticClip.write(vision, ie.resolve("model.safetensors"));
        Files.writeString(ie.resolve("config.json"), """
            {"architectures": ["CLIPVisionModelWithProjection"], "model_type": "clip_vision_model", "hidden_size": 64,
             "intermediate_size": 256, "num_hidden_layers": 1, "num_attention_heads": 4, "projection_dim": 24,
             "image_size": 12, "patch_size": 4}""");
        Files.createDirectories(dir.resolve("karlo/feature_extractor"));
        Files.writeString(dir.resolve("karlo/feature_extractor/preprocessor_config.json"), PREPROCESSOR);
        Files.writeString(dir.resolve("karlo/model_index.json"), "{\"_class_name\": \"UnCLIPPipeline\"}");
        try (ClipModelFiles m = ClipModelFiles.open(dir.resolve("karlo"))) {
            assertEquals(ClipModelFiles.Kind.DIFFUSERS_UNCLIP, m.kind());
            assertEquals(2, m.text().layers().size());
            assertEquals(1, m.vision().layers().size());
            assertNull(m.logitScale());
            assertEquals(0, m.tokenizer().padId());  // Karlo pads with "!"
            assertNotNull(m.imageProcessor());
            assertTrue(m.unexpected().isEmpty(), m.unexpected().toString());
        }
        // Without image_encoder/ (a text-to-image-only folder), the vision side is absent.
        deleteTree(ie);
        try (ClipModelFiles m = ClipModelFiles.open(dir.resolve("karlo"))) {
            assertNull(m.vision());
            assertNull(m.imageProcessor());
        }
        deleteTree(dir.resolve("karlo/tokenizer"));
        assertTrue(assertThrows(WeightFormatException.class, () -> ClipModelFiles.open(dir.resolve("karlo")))
                .getMessage().contains("tokenizer/"));
    }

    @Test
    void openAiCheckpoint() throws IOException, URISyntaxException {
        Path fx = Path.of(getClass().getResource("/fixtures/clip/fixture.json").toURI()).getParent();
        try (ClipModelFiles m = ClipModelFiles.open(fx.resolve("both/openai"))) {
            assertEquals(ClipModelFiles.Kind.OPENAI, m.kind());
            assertEquals(3, m.text().config().numAttentionHeads());  // from open_clip_config.json
            assertEquals(32, m.openAiTransform().size());
            assertNull(m.tokenizer());
        }
        try (ClipModelFiles m = ClipModelFiles.open(fx.resolve("text77/openai/open_clip_model.safetensors"))) {
            assertNull(m.vision());
            assertNull(m.openAiTransform());
            assertEquals(4, m.text().config().numAttentionHeads());
        }
    }

    @Test
    void badFolders() throws IOException {
        assertTrue(assertThrows(WeightFormatException.class, () -> ClipModelFiles.open(dir.resolve("absent")))
                .getMessage().contains("no such"));
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertTrue(assertThrows(WeightFormatException.class, () -> ClipModelFiles.open(empty))
                .getMessage().contains("not a CLIP model"));
        // A tokenizer whose vocabulary does not fit the embedding table.
        SyntheticClip clip = new SyntheticClip(5);  // vocab_size 50
        Path d = Files.createDirectories(dir.resolve("mismatch"));
        SyntheticClip.write(clip.huggingFace(), d.resolve("model.safetensors"));
        Files.writeString(d.resolve("config.json"), clip.hfConfigJson());
        writeTinyTokenizer(d, "<|endoftext|>");
        var e = assertThrows(WeightFormatException.class, () -> ClipModelFiles.open(d));
        assertTrue(e.getMessage().contains("vocab_size 50") && e.getMessage().contains("515"), e.getMessage());
    }

    private static void deleteTree(Path p) throws IOException {
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }
}
