package dev.unclip4j.clip;

import dev.unclip4j.io.ConfigReader;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unclip4j.io.WeightFormatException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * CLIP's byte-level BPE tokenizer, giving the ids of openai/CLIP's {@code SimpleTokenizer} and
 * Hugging Face's {@code CLIPTokenizer}:
 *
 * <ol>
 *   <li>special tokens the tokenizer's files name ({@code <|startoftext|>},
 *       {@code <|endoftext|>}, and any added tokens) are matched whole, case-sensitively, and
 *       split out before anything else (Hugging Face's behaviour; openai/CLIP matches the two
 *       specials after lower-casing, which differs only for upper-cased spellings of them);
 *   <li>each other piece is cleaned ({@link ClipTextCleaner}: ftfy-like fixes, HTML unescape
 *       twice, whitespace collapsed, lower case);
 *   <li>split by CLIP's pattern {@code 's|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+};
 *   <li>each word's UTF-8 bytes mapped through GPT-2's bytes_to_unicode table, the last symbol
 *       marked {@code </w>}, and merged by rank;
 *   <li>{@link #batch} adds the start and end tokens, truncates to the context keeping the end
 *       token (with a warning, as clip.tokenize(truncate=True) does), pads with the pad token the
 *       files name, and gives the attention mask and the end token's position.
 * </ol>
 */
public final class ClipTokenizer {
    private static final System.Logger LOG = System.getLogger("dev.unclip4j.clip");
    public static final String START = "<|startoftext|>";
    public static final String END = "<|endoftext|>";
    /** openai/CLIP and transformers' slow CLIPTokenizer both keep merges [1, 49152 − 256 − 2] of the file. */
    static final int MERGE_LINES = 49152 - 256 - 2;

    /**
     * SimpleTokenizer's pattern. It is compiled there with IGNORECASE, under which the Python
     * regex module's negated class also refuses a character whose case partner is a letter: of
     * the characters lower-casing leaves, only U+0345 (combining ypogegrammeni, partner Ι), which
     * therefore matches no branch and is dropped. Java's classes ignore case partners, so U+0345
     * is excluded by name (checked over every code point against python3-regex 2022.10.31 / Unicode 14).
     */
    private static final Pattern WORDS = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}\\u0345]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
    private static final String[] BYTE_TO_UNICODE = bytesToUnicode();

    private final Map<String, Integer> encoder;
    private final String[] decoder;
    private final Map<String, Integer> mergeRanks;
    private final Map<String, Integer> specials;
    private final Pattern specialPattern;
    private final int startId, endId, padId;
    private final Integer unkId;
    private final int contextLength;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    private ClipTokenizer(Map<String, Integer> encoder, List<String[]> merges, List<String> specialTokens, String pad,
                          int padIdOverride, String unk, int contextLength, String where) {
        this.encoder = encoder;
        int max = encoder.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        this.decoder = new String[max + 1];
        encoder.forEach((k, v) -> decoder[v] = k);
        this.mergeRanks = new HashMap<>(merges.size() * 2);
        for (int i = 0; i < merges.size(); i++) mergeRanks.putIfAbsent(merges.get(i)[0] + " " + merges.get(i)[1], i);
        this.specials = new LinkedHashMap<>();
        for (String s : specialTokens) {
            Integer id = encoder.get(s);
            if (id == null) throw new WeightFormatException(where + ": special token '" + s + "' is not in the vocabulary");
            specials.put(s, id);
        }
        List<String> bySize = new ArrayList<>(specials.keySet());
        bySize.sort((a, b) -> b.length() - a.length());  // longest first, as a trie would match
        this.specialPattern = Pattern.compile(String.join("|", bySize.stream().map(Pattern::quote).toList()));
        this.startId = id(where, START);
        this.endId = id(where, END);
        this.padId = padIdOverride >= 0 ? padIdOverride : id(where, pad);
        this.unkId = unk == null ? null : id(where, unk);
        this.contextLength = contextLength;
    }

    private int id(String where, String token) {
        Integer id = encoder.get(token);
        if (id == null) throw new WeightFormatException(where + ": token '" + token + "' is not in the vocabulary");
        return id;
    }

    // ---- loading ------------------------------------------------------------------------------

    /**
     * openai/CLIP's {@code bpe_simple_vocab_16e6.txt.gz}: the vocabulary is built from the merges
     * as SimpleTokenizer does (256 byte symbols, the same with {@code </w>}, the 48 894 merges,
     * then the two specials: 49 408 ids). Pads with id 0, as clip.tokenize does.
     */
    public static ClipTokenizer fromOpenAiBpe(Path gz) {
        String text;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(gz))) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new WeightFormatException(gz + ": cannot read the BPE merges: " + e.getMessage(), e);
        }
        List<String[]> merges = parseMerges(gz.toString(), text, true);
        // SimpleTokenizer: list(bytes_to_unicode().values()) — the printable bytes first, then the
        // rest — the same with </w>, the merged pairs, the two specials; dict(zip(...)) keeps the
        // last id of a repeated string.
        List<String> order = new ArrayList<>(2 * 256 + merges.size() + 2);
        for (int pass = 0; pass < 2; pass++) {
            for (int b = 0; b < 256; b++) if (isPrintableByte(b) == (pass == 0)) order.add(BYTE_TO_UNICODE[b]);
        }
        for (int i = 0; i < 256; i++) order.add(order.get(i) + "</w>");
        for (String[] m : merges) order.add(m[0] + m[1]);
        order.add(START);
        order.add(END);
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int i = 0; i < order.size(); i++) vocab.put(order.get(i), i);
        return new ClipTokenizer(vocab, merges, List.of(START, END), null, 0, null, 77, gz.toString());
    }

    /** Hugging Face's slow-tokenizer files: {@code vocab.json} and {@code merges.txt}. */
    public static ClipTokenizer fromVocabAndMerges(Path vocabJson, Path mergesTxt, Path tokenizerConfigDir) {
        JsonNode v = ConfigReader.parse(vocabJson);
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : v.properties()) {
            if (!e.getValue().isIntegralNumber()) {
                throw new WeightFormatException(vocabJson + ": the id of '" + e.getKey() + "' is not an integer");
            }
            vocab.put(e.getKey(), e.getValue().intValue());
        }
        String text;
        try {
            text = Files.readString(mergesTxt);
        } catch (IOException e) {
            throw new WeightFormatException(mergesTxt + ": cannot read: " + e.getMessage(), e);
        }
        return build(vocabJson.toString(), vocab, parseMerges(mergesTxt.toString(), text, true), List.of(), tokenizerConfigDir);
    }

    /** Hugging Face's fast-tokenizer file {@code tokenizer.json} (model.vocab, model.merges, added_tokens). */
    public static ClipTokenizer fromTokenizerJson(Path tokenizerJson, Path tokenizerConfigDir) {
        JsonNode root = ConfigReader.parse(tokenizerJson);
        JsonNode model = root.path("model");
        if (!model.path("vocab").isObject() || !model.path("merges").isArray()) {
            throw new WeightFormatException(tokenizerJson + ": expected a BPE 'model' with 'vocab' and 'merges'");
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        model.path("vocab").properties().forEach(e -> vocab.put(e.getKey(), e.getValue().intValue()));
        List<String[]> merges = new ArrayList<>();
        for (JsonNode m : model.path("merges")) {
            if (m.isTextual()) {
                String[] p = m.textValue().split(" ");
                if (p.length != 2) throw new WeightFormatException(tokenizerJson + ": bad merge \"" + m.textValue() + "\"");
                merges.add(p);
            } else if (m.isArray() && m.size() == 2) {
                merges.add(new String[] {m.get(0).asText(), m.get(1).asText()});
            } else {
                throw new WeightFormatException(tokenizerJson + ": bad merge " + m);
            }
        }
        List<String> added = new ArrayList<>();
        for (JsonNode t : root.path("added_tokens")) {
            String content = t.path("content").asText(null);
            if (content != null) {
                added.add(content);
                vocab.putIfAbsent(content, t.path("id").asInt());
            }
        }
        return build(tokenizerJson.toString(), vocab, merges, added, tokenizerConfigDir);
    }

    /**
     * The tokenizer in {@code dir}: {@code tokenizer.json}, else {@code vocab.json} +
     * {@code merges.txt}, else {@code bpe_simple_vocab_16e6.txt.gz}; pad token and context length
     * from {@code special_tokens_map.json} / {@code tokenizer_config.json} where present.
     */
    public static ClipTokenizer load(Path dir) {
        if (Files.isRegularFile(dir.resolve("tokenizer.json"))) return fromTokenizerJson(dir.resolve("tokenizer.json"), dir);
        if (Files.isRegularFile(dir.resolve("vocab.json")) && Files.isRegularFile(dir.resolve("merges.txt"))) {
            return fromVocabAndMerges(dir.resolve("vocab.json"), dir.resolve("merges.txt"), dir);
        }
        if (Files.isRegularFile(dir.resolve("bpe_simple_vocab_16e6.txt.gz"))) {
            return fromOpenAiBpe(dir.resolve("bpe_simple_vocab_16e6.txt.gz"));
        }
        throw new WeightFormatException(dir + ": no tokenizer files (tokenizer.json, vocab.json + merges.txt, "
                + "or bpe_simple_vocab_16e6.txt.gz)");
    }

    private static ClipTokenizer build(String where, Map<String, Integer> vocab, List<String[]> merges, List<String> added,
                                       Path configDir) {
        // transformers' CLIPTokenizer defaults: bos <|startoftext|>, eos/unk/pad <|endoftext|>, 77.
        String pad = END, unk = END;
        int context = 77;
        List<String> specials = new ArrayList<>(List.of(START, END));
        for (String a : added) if (!specials.contains(a)) specials.add(a);
        if (configDir != null) {
            for (String name : List.of("tokenizer_config.json", "special_tokens_map.json")) {
                Path f = configDir.resolve(name);
                if (!Files.isRegularFile(f)) continue;
                JsonNode n = ConfigReader.parse(f);
                String p = tokenContent(n.get("pad_token"));
                if (p != null) pad = p;
                String u = tokenContent(n.get("unk_token"));
                if (u != null) unk = u;
                // Every named special token is split out whole, as transformers' tokenize() does
                // (all_special_tokens are never split) — Karlo's pad token "!" included, so a "!"
                // in a prompt becomes id 0 there, not the word-final "!</w>" (256) SimpleTokenizer gives.
                for (String key : List.of("bos_token", "eos_token", "pad_token", "unk_token")) {
                    String s = tokenContent(n.get(key));
                    if (s != null && !s.isEmpty() && !specials.contains(s)) specials.add(s);
                }
                for (JsonNode t : n.path("additional_special_tokens")) {
                    String s = tokenContent(t);
                    if (s != null && !specials.contains(s)) specials.add(s);
                }
                JsonNode max = n.get("model_max_length");
                // transformers writes a huge sentinel (1e30) when no limit is set; keep 77 then.
                if (max != null && max.isNumber() && max.doubleValue() > 0 && max.doubleValue() < 1e6) context = max.intValue();
            }
        }
        return new ClipTokenizer(vocab, merges, specials, pad, -1, unk, context, where);
    }

    private static String tokenContent(JsonNode n) {
        if (n == null || n.isNull()) return null;
        if (n.isTextual()) return n.textValue();
        if (n.isObject() && n.path("content").isTextual()) return n.path("content").textValue();
        return null;
    }

    /** Merge lines: the first line is a header ("#version: 0.2" or the gz's own); at most MERGE_LINES are kept. */
    private static List<String[]> parseMerges(String where, String text, boolean truncate) {
        String[] lines = text.strip().split("\n");
        int end = truncate ? Math.min(lines.length, 1 + MERGE_LINES) : lines.length;
        List<String[]> merges = new ArrayList<>(end);
        for (int i = 1; i < end; i++) {
            String line = lines[i];
            if (line.isEmpty()) continue;
            String[] p = line.split(" ");
            if (p.length != 2) throw new WeightFormatException(where + ": line " + (i + 1) + " is not a merge: \"" + line + "\"");
            merges.add(p);
        }
        return merges;
    }

    // ---- encoding -----------------------------------------------------------------------------

    /** The ids of {@code text} without start and end tokens (SimpleTokenizer.encode). */
    public int[] encode(String text) {
        List<Integer> out = new ArrayList<>();
        Matcher sm = specialPattern.matcher(text);
        int pos = 0;
        while (sm.find()) {
            encodePiece(text.substring(pos, sm.start()), out);
            out.add(specials.get(sm.group()));
            pos = sm.end();
        }
        encodePiece(text.substring(pos), out);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private void encodePiece(String piece, List<Integer> out) {
        if (piece.isEmpty()) return;
        String cleaned = ClipTextCleaner.clean(piece);
        Matcher m = WORDS.matcher(cleaned);
        while (m.find()) {
            int[] ids = cache.computeIfAbsent(m.group(), this::bpeIds);
            for (int id : ids) out.add(id);
        }
    }

    private int[] bpeIds(String word) {
        byte[] utf8 = word.getBytes(StandardCharsets.UTF_8);
        List<String> symbols = new ArrayList<>(utf8.length);
        for (byte b : utf8) symbols.add(BYTE_TO_UNICODE[b & 0xff]);
        symbols.set(symbols.size() - 1, symbols.getLast() + "</w>");
        while (symbols.size() > 1) {
            int best = Integer.MAX_VALUE;
            String first = null, second = null;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer r = mergeRanks.get(symbols.get(i) + " " + symbols.get(i + 1));
                if (r != null && r < best) {
                    best = r;
                    first = symbols.get(i);
                    second = symbols.get(i + 1);
                }
            }
            if (first == null) break;
            // Merge every non-overlapping occurrence, left to right, as SimpleTokenizer.bpe does.
            List<String> merged = new ArrayList<>(symbols.size());
            for (int i = 0; i < symbols.size(); ) {
                if (i + 1 < symbols.size() && symbols.get(i).equals(first) && symbols.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i += 2;
                } else {
                    merged.add(symbols.get(i++));
                }
            }
            symbols = merged;
        }
        int[] ids = new int[symbols.size()];
        for (int i = 0; i < ids.length; i++) {
            Integer id = encoder.get(symbols.get(i));
            if (id == null) {
                if (unkId == null) {
                    throw new WeightFormatException("CLIP tokenizer: BPE symbol '" + symbols.get(i) + "' of word '" + word
                            + "' is not in the vocabulary");
                }
                id = unkId;
            }
            ids[i] = id;
        }
        return ids;
    }

    /** The text of {@code ids} (SimpleTokenizer.decode: {@code </w>} becomes a space). */
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            String s = id >= 0 && id < decoder.length ? decoder[id] : null;
            if (s == null) throw new IllegalArgumentException("token id " + id + " is not in the vocabulary");
            if (specials.containsKey(s)) {
                bytes.writeBytes(s.getBytes(StandardCharsets.UTF_8));
                continue;
            }
            for (int i = 0; i < s.length(); ) {
                if (s.startsWith("</w>", i)) {
                    bytes.write(' ');
                    i += 4;
                    continue;
                }
                int b = UNICODE_TO_BYTE.getOrDefault(s.charAt(i), -1);
                if (b < 0) bytes.writeBytes(String.valueOf(s.charAt(i)).getBytes(StandardCharsets.UTF_8));
                else bytes.write(b);
                i++;
            }
        }
        return new String(bytes.toByteArray(), StandardCharsets.UTF_8);
    }

    /**
     * Token ids of a batch of prompts, ready for the text tower.
     *
     * @param ids [batch][contextLength]: start, tokens, end, then padding
     * @param attentionMask 1 on the real tokens (start to end inclusive), 0 on padding
     * @param endIndex per prompt, the position of its end token (where CLIP pools)
     * @param truncated per prompt, whether tokens were dropped to fit the context
     */
    public record Batch(int[][] ids, int[][] attentionMask, int[] endIndex, boolean[] truncated) {}

    /** {@link #batch(List, int)} with the files' context length (model_max_length, 77 by default). */
    public Batch batch(List<String> prompts) {
        return batch(prompts, contextLength);
    }

    /**
     * Start + tokens + end, truncated to {@code contextLength} with the end token kept (a
     * warning is logged), padded with {@link #padId()}.
     */
    public Batch batch(List<String> prompts, int contextLength) {
        if (contextLength < 2) throw new IllegalArgumentException("context length " + contextLength + " < 2");
        int n = prompts.size();
        int[][] ids = new int[n][contextLength], mask = new int[n][contextLength];
        int[] endIndex = new int[n];
        boolean[] truncated = new boolean[n];
        for (int b = 0; b < n; b++) {
            int[] t = encode(prompts.get(b));
            int keep = Math.min(t.length, contextLength - 2);
            if (keep < t.length) {
                truncated[b] = true;
                LOG.log(System.Logger.Level.WARNING, "prompt " + b + " has " + (t.length + 2) + " tokens, truncated to the context of "
                        + contextLength + ": \"" + abbreviate(prompts.get(b)) + "\"");
            }
            Arrays.fill(ids[b], padId);
            ids[b][0] = startId;
            System.arraycopy(t, 0, ids[b], 1, keep);
            ids[b][keep + 1] = endId;
            endIndex[b] = keep + 1;
            Arrays.fill(mask[b], 0, keep + 2, 1);
        }
        return new Batch(ids, mask, endIndex, truncated);
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    public int startId() {
        return startId;
    }

    public int endId() {
        return endId;
    }

    /** The id padding uses: the pad token the files name (Karlo: "!" = 0), the end token by default, 0 for OpenAI's file. */
    public int padId() {
        return padId;
    }

    public int contextLength() {
        return contextLength;
    }

    /** One past the largest id: must not exceed the text tower's vocab_size. */
    public int vocabSize() {
        return decoder.length;
    }

    /** Checks that every id fits the tower's token embedding table. */
    public void checkFits(ClipTextConfig config) {
        if (vocabSize() > config.vocabSize()) {
            throw new WeightFormatException("the tokenizer's vocabulary (" + vocabSize() + " ids) does not match the text "
                    + "tower's embedding table (vocab_size " + config.vocabSize() + ")");
        }
    }

    /** Special tokens matched whole, with their ids. */
    public Map<String, Integer> specialTokens() {
        return Collections.unmodifiableMap(specials);
    }

    /** The vocabulary (token → id) — e.g. to write it out as vocab.json. */
    public Map<String, Integer> vocabulary() {
        return Collections.unmodifiableMap(encoder);
    }

    // ---- GPT-2's byte ↔ unicode table -----------------------------------------------------------

    private static final Map<Character, Integer> UNICODE_TO_BYTE = new HashMap<>();

    static {
        for (int b = 0; b < 256; b++) UNICODE_TO_BYTE.put(BYTE_TO_UNICODE[b].charAt(0), b);
    }

    private static boolean isPrintableByte(int b) {
        return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }

    /** bytes_to_unicode(): printable Latin-1 bytes map to themselves, the rest to 256 + n. */
    private static String[] bytesToUnicode() {
        String[] table = new String[256];
        int n = 0;
        for (int b = 0; b < 256; b++) {
            table[b] = String.valueOf((char) (isPrintableByte(b) ? b : 256 + n++));
        }
        return table;
    }
}
