package dev.unclip4j.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unclip4j.io.WeightFormatException;
import dev.unclip4j.testing.SharedData;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Parity with openai/CLIP's SimpleTokenizer on the prompts of
 * fixtures/clip_tokenizer_ids.json (tools/reference/make_tokenizer_fixture.py), with the real
 * vocabulary from ../shared/data/clip-bpe/ (skipped, saying so, where that folder is absent); and
 * the Hugging Face file formats made from the same vocabulary giving the same ids.
 */
class ClipTokenizerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path bpe;
    private static ClipTokenizer openai;
    private static JsonNode fixture;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() throws IOException {
        Optional<Path> found = SharedData.find("clip-bpe/bpe_simple_vocab_16e6.txt.gz");
        try (InputStream in = ClipTokenizerTest.class.getResourceAsStream("/fixtures/clip_tokenizer_ids.json")) {
            fixture = JSON.readTree(in);
        }
        if (found.isEmpty()) return;
        bpe = found.get();
        openai = ClipTokenizer.fromOpenAiBpe(bpe);
    }

    private static void needVocabulary() {
        assumeTrue(openai != null, "the CLIP BPE vocabulary ../shared/data/clip-bpe/bpe_simple_vocab_16e6.txt.gz "
                + "(beside the checkout) is absent: tokenizer parity not checked");
    }

    private static List<String> prompts() {
        List<String> p = new ArrayList<>();
        fixture.get("cases").forEach(c -> p.add(c.get("prompt").textValue()));
        return p;
    }

    private static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).intValue();
        return out;
    }

    @Test
    void fixtureIsLargeAndVaried() {
        assertTrue(fixture.get("cases").size() >= 200, "at least 200 prompts");
        assertTrue(prompts().contains(""));
        assertTrue(prompts().stream().anyMatch(p -> p.codePoints().anyMatch(c -> c >= 0x1F300)), "emoji");
        assertTrue(prompts().stream().anyMatch(p -> p.length() > 300), "very long");
    }

    @Test
    void idsMatchOpenAiSimpleTokenizer() {
        needVocabulary();
        assertEquals(49408, openai.vocabSize());
        assertEquals(49406, openai.startId());
        assertEquals(49407, openai.endId());
        assertEquals(0, openai.padId());
        List<String> mismatches = new ArrayList<>();
        for (JsonNode c : fixture.get("cases")) {
            String p = c.get("prompt").textValue();
            int[] want = ints(c.get("ids")), got = openai.encode(p);
            if (!Arrays.equals(want, got)) {
                mismatches.add(JSON.valueToTree(p) + ": want " + Arrays.toString(want) + " got " + Arrays.toString(got));
            }
        }
        assertTrue(mismatches.isEmpty(), mismatches.size() + " of " + fixture.get("cases").size() + " prompts differ:\n"
                + String.join("\n", mismatches.subList(0, Math.min(15, mismatches.size()))));
    }

    @Test
    void rowsMatchClipTokenizeWithTruncation() {
        needVocabulary();
        List<String> prompts = prompts();
        ClipTokenizer.Batch b = openai.batch(prompts, 77);
        int truncated = 0;
        for (int i = 0; i < prompts.size(); i++) {
            JsonNode c = fixture.get("cases").get(i);
            assertArrayEquals(ints(c.get("tokenized77")), b.ids()[i], "row of " + JSON.valueToTree(prompts.get(i)));
            int real = Math.min(c.get("ids").size() + 2, 77);
            assertEquals(real - 1, b.endIndex()[i]);
            assertEquals(openai.endId(), b.ids()[i][b.endIndex()[i]]);
            for (int j = 0; j < 77; j++) assertEquals(j < real ? 1 : 0, b.attentionMask()[i][j]);
            assertEquals(c.get("ids").size() + 2 > 77, b.truncated()[i]);
            if (b.truncated()[i]) truncated++;
        }
        assertTrue(truncated >= 4, "several prompts exceed the context: " + truncated);
    }

    /** vocab.json + merges.txt as Hugging Face ships them for CLIP, made from the same BPE file. */
    private Path writeHuggingFaceFiles(String padToken) throws IOException {
        Path d = Files.createDirectories(dir.resolve("tokenizer"));
        ObjectNode vocab = JSON.createObjectNode();
        openai.vocabulary().forEach(vocab::put);
        Files.writeString(d.resolve("vocab.json"), JSON.writeValueAsString(vocab));
        String text;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(bpe))) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        List<String> lines = Arrays.asList(text.split("\n")).subList(1, 1 + ClipTokenizer.MERGE_LINES);
        Files.writeString(d.resolve("merges.txt"), "#version: 0.2\n" + String.join("\n", lines) + "\n");
        Files.writeString(d.resolve("special_tokens_map.json"), """
            {"bos_token": {"content": "<|startoftext|>", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false},
             "eos_token": {"content": "<|endoftext|>", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false},
             "pad_token": "%s", "unk_token": {"content": "<|endoftext|>"}}""".formatted(padToken));
        Files.writeString(d.resolve("tokenizer_config.json"), """
            {"model_max_length": 77, "tokenizer_class": "CLIPTokenizer", "do_lower_case": true}""");
        return d;
    }

    @Test
    void huggingFaceFilesGiveTheSameIds() throws IOException {
        needVocabulary();
        Path d = writeHuggingFaceFiles("<|endoftext|>");
        ClipTokenizer hf = ClipTokenizer.load(d);
        for (String p : prompts()) assertArrayEquals(openai.encode(p), hf.encode(p), p);
        assertEquals(49407, hf.padId());  // openai/clip-vit-*: pad with the end token
        assertEquals(77, hf.contextLength());
        ClipTokenizer.Batch b = hf.batch(List.of("a photo of a cat"));
        assertArrayEquals(new int[] {49406, 320, 1125, 539, 320, 2368, 49407, 49407}, Arrays.copyOf(b.ids()[0], 8));
        assertEquals(6, b.endIndex()[0]);

        // tokenizer.json (the fast format) from the same files.
        ObjectNode root = JSON.createObjectNode();
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.set("vocab", JSON.readTree(Files.readString(d.resolve("vocab.json"))));
        ArrayNode merges = model.putArray("merges");
        List<String> lines = Files.readAllLines(d.resolve("merges.txt"));
        for (String line : lines.subList(1, lines.size())) merges.add(line);
        ArrayNode added = root.putArray("added_tokens");
        added.addObject().put("id", 49406).put("content", "<|startoftext|>").put("special", true);
        added.addObject().put("id", 49407).put("content", "<|endoftext|>").put("special", true);
        Path fast = Files.createDirectories(dir.resolve("fast"));
        Files.writeString(fast.resolve("tokenizer.json"), JSON.writeValueAsString(root));
        ClipTokenizer ft = ClipTokenizer.load(fast);
        for (String p : prompts()) assertArrayEquals(openai.encode(p), ft.encode(p), p);
    }

    @Test
    void karloPadsWithExclamationMark() throws IOException {
        needVocabulary();
        ClipTokenizer karlo = ClipTokenizer.load(writeHuggingFaceFiles("!"));
        assertEquals(0, karlo.padId());
        ClipTokenizer.Batch b = karlo.batch(List.of("a cat", ""), 10);
        assertArrayEquals(new int[] {49406, 320, 2368, 49407, 0, 0, 0, 0, 0, 0}, b.ids()[0]);
        assertArrayEquals(new int[] {49406, 49407, 0, 0, 0, 0, 0, 0, 0, 0}, b.ids()[1]);
        assertArrayEquals(new int[] {1, 1, 0, 0, 0, 0, 0, 0, 0, 0}, b.attentionMask()[1]);
        // Hugging Face never splits a special token, and "!" is one here: id 0, not "!</w>".
        assertArrayEquals(new int[] {1883, 0, 1883}, karlo.encode("hi!hi"));
        assertArrayEquals(new int[] {1883, 256}, openai.encode("hi!"));
        assertArrayEquals(new int[] {1883, 0}, karlo.encode("hi!"));
    }

    @Test
    void specialTokensAreMatchedWhole() {
        needVocabulary();
        int[] ids = openai.encode("hello <|endoftext|> world<|startoftext|>");
        assertEquals(49407, ids[1]);
        assertEquals(49406, ids[ids.length - 1]);
        assertEquals(4, ids.length);
    }

    @Test
    void truncationKeepsTheEndToken() {
        needVocabulary();
        ClipTokenizer.Batch b = openai.batch(List.of("one two three four five six", "short"), 5);
        assertArrayEquals(new int[] {49406, openai.encode("one")[0], openai.encode("two")[0], openai.encode("three")[0], 49407},
                b.ids()[0]);
        assertTrue(b.truncated()[0]);
        assertFalse(b.truncated()[1]);
        assertEquals(4, b.endIndex()[0]);
    }

    @Test
    void decodeInvertsEncode() {
        needVocabulary();
        assertEquals("a photo of a cat , it 's café ! ", openai.decode(openai.encode("A photo of a cat, it's café!")));
    }

    @Test
    void vocabularyMustFitTheEmbeddingTable() {
        needVocabulary();
        ClipTextConfig small = ClipTextConfig.of(1000, 64, 256, 64, 2, 4, 77, ClipActivation.QUICK_GELU);
        var e = assertThrows(WeightFormatException.class, () -> openai.checkFits(small));
        assertTrue(e.getMessage().contains("49408") && e.getMessage().contains("vocab_size 1000"), e.getMessage());
    }

    @Test
    void cleanUpWithoutTheVocabulary() {
        assertEquals("tom & jerry", ClipTextCleaner.clean("  Tom &amp;amp; JERRY \n"));
        assertEquals("loud noises", ClipTextCleaner.clean("ＬＯＵＤ　ＮＯＩＳＥＳ"));
        assertEquals("don't \"x\"", ClipTextCleaner.clean("don’t “x”"));
        assertEquals("financial", ClipTextCleaner.clean("ﬁnancial"));
        assertEquals("été", ClipTextCleaner.clean("&EACUTE;T&EACUTE;"));
        assertEquals("<b> &", ClipTextCleaner.clean("<b> &amp;amp;"));  // ftfy skips text with '<'; html.unescape twice
        assertEquals("\u20ac \u2013", ClipTextCleaner.htmlUnescape("&#128; &#150;"));
        assertEquals("\u00a9 2023 \u00acit; \u2209", ClipTextCleaner.htmlUnescape("&copy 2023 &notit; &notin;"));
        assertEquals("", ClipTextCleaner.clean(" \t\n"));
        assertThrows(WeightFormatException.class, () -> ClipTokenizer.load(dir));
        assertTrue(Map.of().isEmpty());
    }
}
