package dev.unclip4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unclip4j.bindings.Activation;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.io.WeightFormatException;
import dev.unclip4j.tensor.Backend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** PriorConfig and TextProjectionConfig read config.json as diffusers' ConfigMixin fills the constructors. */
class PriorConfigTest {
    private static JsonNode json(String s) {
        try {
            return new ObjectMapper().readTree(s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void absentKeysTakeTheConstructorDefaults() {
        PriorConfig c = PriorConfig.from("test", json("{\"_class_name\": \"PriorTransformer\", \"_diffusers_version\": \"0.20.0\"}"));
        assertEquals(new PriorConfig(32, 64, 20, 768, 77, 4, 0.0, Activation.SILU, false, false, true, true, 2048, 768, 768), c);
        assertEquals(81, c.positions());
    }

    @Test
    void nullMeansNoneAndZeroDimsMeanDerived() {
        PriorConfig c = PriorConfig.from("test", json("""
                {"num_attention_heads": 2, "attention_head_dim": 6, "embedding_dim": 10, "encoder_hid_proj_type": null,
                 "added_emb_type": null, "norm_in_type": "layer", "embedding_proj_norm_type": "layer",
                 "time_embed_dim": 0, "embedding_proj_dim": null, "clip_embed_dim": 7, "time_embed_act_fn": "gelu",
                 "_name_or_path": "x"}"""));
        assertFalse(c.encoderHidProj());
        assertFalse(c.prdEmbedding());
        assertTrue(c.normIn() && c.embeddingProjNorm());
        assertEquals(12, c.timeEmbedDim());   // `time_embed_dim or inner_dim`: 0 is falsy
        assertEquals(10, c.embeddingProjDim());
        assertEquals(7, c.clipEmbedDim());
        assertEquals(Activation.GELU_ERF, c.timeEmbedAct());
        assertEquals(Activation.SILU, PriorConfig.from("t", json("{\"time_embed_act_fn\": \"swish\"}")).timeEmbedAct());
    }

    /** Each unsupported value fails naming component, key and value, before any weight file is opened (there is none). */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "norm_in_type|\"group\"", "added_emb_type|\"clip\"", "encoder_hid_proj_type|\"conv\"",
            "embedding_proj_norm_type|\"batch\"", "time_embed_act_fn|\"mish\"", "time_embed_act_fn|null",
            "attention_head_dim|160", "num_layers|null", "num_attention_heads|0", "dropout|1.5", "clip_embed_dim|-3"})
    void unsupportedValuesAreNamed(String key, String value, @TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("config.json"), "{\"_class_name\": \"PriorTransformer\", \"" + key + "\": " + value + "}");
        try (Backend cpu = Backend.cpu()) {
            WeightFormatException e = assertThrows(WeightFormatException.class, () -> PriorTransformer.load(dir, cpu, DType.F32));
            String m = e.getMessage();
            assertTrue(m.contains("PriorTransformer") && m.contains("'" + key + "'") && m.contains(value.replace("\"", "")), m);
        }
    }

    @Test
    void unknownKeysAndAnotherClassAreErrors() {
        String m = assertThrows(WeightFormatException.class, () -> PriorConfig.from("c.json",
                json("{\"num_layers\": 1, \"num_heads\": 4}"))).getMessage();
        assertTrue(m.contains("PriorTransformer c.json") && m.contains("num_heads"), m);
        m = assertThrows(WeightFormatException.class, () -> PriorConfig.from("c.json",
                json("{\"_class_name\": \"UnCLIPTextProjModel\"}"))).getMessage();
        assertTrue(m.contains("UnCLIPTextProjModel") && m.contains("_class_name"), m);
        m = assertThrows(WeightFormatException.class, () -> PriorConfig.from("c.json",
                json("{\"num_embeddings\": 0, \"additional_embeddings\": 0}"))).getMessage();
        assertTrue(m.contains("num_embeddings + additional_embeddings"), m);
    }

    @Test
    void textProjectionConfig() {
        assertEquals(new TextProjectionConfig(4, 768, 32, 16), TextProjectionConfig.from("t",
                json("{\"time_embed_dim\": 32, \"cross_attention_dim\": 16}")));
        String m = assertThrows(WeightFormatException.class, () -> TextProjectionConfig.from("t",
                json("{\"time_embed_dim\": 32}"))).getMessage();
        assertTrue(m.contains("UnCLIPTextProjModel") && m.contains("'cross_attention_dim' is missing"), m);
        m = assertThrows(WeightFormatException.class, () -> TextProjectionConfig.from("t",
                json("{\"time_embed_dim\": 32, \"cross_attention_dim\": 16, \"clip_extra_context_tokens\": 0}"))).getMessage();
        assertTrue(m.contains("'clip_extra_context_tokens'") && m.contains("value 0"), m);
        m = assertThrows(WeightFormatException.class, () -> TextProjectionConfig.from("t",
                json("{\"time_embed_dim\": 32, \"cross_attention_dim\": 16, \"act_fn\": \"silu\"}"))).getMessage();
        assertTrue(m.contains("act_fn"), m);
    }

    @Test
    void theShippedConfigsParse() {
        PriorFixtures.builtinComponent("prior").ifPresent(dir -> {
            PriorConfig c = PriorConfig.read(dir.resolve("config.json"));
            assertEquals(128, c.innerDim());
            assertEquals(36, c.positions());
        });
        PriorFixtures.builtinComponent("text_proj").ifPresent(dir ->
                assertEquals(4, TextProjectionConfig.read(dir.resolve("config.json")).clipExtraContextTokens()));
    }
}
