package dev.unclip4j.clip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.io.WeightFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClipConfigTest {
    @TempDir
    Path dir;

    private ClipConfig read(String json) throws IOException {
        return ClipConfig.read(Files.writeString(dir.resolve("config.json"), json));
    }

    private String fails(String json) {
        return assertThrows(WeightFormatException.class, () -> read(json)).getMessage();
    }

    @Test
    void combinedConfig() throws IOException {
        ClipConfig c = read(new SyntheticClip(1).hfConfigJson());
        assertEquals(24, c.projectionDim());
        assertEquals(24, c.text().projectionDim());
        assertEquals(24, c.vision().projectionDim());
        assertEquals(128, c.text().hiddenSize());
        assertEquals(64, c.text().headDim());
        assertEquals(9, c.vision().gridSize() * c.vision().gridSize());
        assertEquals(10, c.vision().numPositions());
        assertEquals(List.of("attention_dropout", "dropout"), c.text().ignoredKeys());
        assertEquals(List.of("architectures", "torch_dtype", "transformers_version", "initializer_factor"), c.ignoredKeys());
        assertEquals(2.6592, c.logitScaleInit(), 1e-12);
    }

    @Test
    void absentKeysTakeTransformersDefaults() throws IOException {
        // transformers writes only the values that differ from the class defaults.
        ClipConfig c = read("{\"model_type\": \"clip_text_model\", \"hidden_size\": 768, \"intermediate_size\": 3072,"
                + " \"num_attention_heads\": 12, \"projection_dim\": 768}");
        ClipTextConfig t = c.text();
        assertNull(c.vision());
        assertEquals(List.of(49408, 768, 3072, 768, 12, 12, 77), List.of(t.vocabSize(), t.hiddenSize(), t.intermediateSize(),
                t.projectionDim(), t.numHiddenLayers(), t.numAttentionHeads(), t.maxPositionEmbeddings()));
        assertEquals(ClipActivation.QUICK_GELU, t.hiddenAct());
        assertEquals(1e-5, t.layerNormEps());
        assertEquals(49407, t.eosTokenId());
        ClipVisionConfig v = read("{\"model_type\": \"clip_vision_model\", \"hidden_size\": 1024, \"patch_size\": 14,"
                + " \"num_attention_heads\": 16, \"num_hidden_layers\": 24, \"intermediate_size\": 4096, \"hidden_act\": \"gelu\"}").vision();
        assertEquals(224, v.imageSize());
        assertEquals(16 * 16 + 1, v.numPositions());
        assertEquals(ClipActivation.GELU, v.hiddenAct());
    }

    @Test
    void badValuesNameTheKey() {
        assertTrue(fails("{\"model_type\": \"clip_text_model\", \"hidden_act\": \"relu\"}").contains("'hidden_act' value \"relu\""));
        assertTrue(fails("{\"model_type\": \"clip_text_model\", \"hidden_size\": \"big\"}").contains("'hidden_size'"));
        assertTrue(fails("{\"model_type\": \"clip_text_model\", \"num_hidden_layers\": 0}").contains("'num_hidden_layers'"));
        assertTrue(fails("{\"model_type\": \"clip_text_model\", \"hidden_size\": 100, \"num_attention_heads\": 8}")
                .contains("num_attention_heads"));
        assertTrue(fails("{\"model_type\": \"clip\", \"vision_config\": {\"image_size\": 30, \"patch_size\": 16}}")
                .contains("patch_size"));
        assertTrue(fails("{\"model_type\": \"llama\"}").contains("'model_type'"));
        assertTrue(fails("{\"model_type\": \"clip\", \"text_config\": [1]}").contains("'text_config'"));
        assertTrue(fails("{\"model_type\": ").contains("malformed JSON"));
        assertTrue(assertThrows(WeightFormatException.class, () -> ClipConfig.read(dir.resolve("absent")))
                .getMessage().contains("no such file"));
    }
}
