package dev.unclip4j.clip;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unclip4j.io.WeightFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Typed reads from one JSON object of a config file: each read names the file and key when the
 * value has the wrong type or an unsupported value, and remembers the key, so what was never
 * read can be listed ({@link #unreadKeys}) rather than silently dropped.
 */
final class ConfigReader {
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final String where;
    private final JsonNode node;
    private final Set<String> read = new HashSet<>();

    ConfigReader(String where, JsonNode node) {
        if (node == null || !node.isObject()) throw new WeightFormatException(where + ": not a JSON object");
        this.where = where;
        this.node = node;
    }

    static JsonNode parse(Path file) {
        try {
            JsonNode n = JSON.readTree(Files.readString(file));
            if (n == null || !n.isObject()) throw new WeightFormatException(file + ": not a JSON object");
            return n;
        } catch (NoSuchFileException e) {
            throw new WeightFormatException(file + ": no such file");
        } catch (IOException e) {
            throw new WeightFormatException(file + ": malformed JSON: " + e.getMessage(), e);
        }
    }

    String where() {
        return where;
    }

    boolean has(String key) {
        JsonNode v = node.get(key);
        return v != null && !v.isNull();
    }

    /** Marks {@code key} as understood without reading it. */
    void ignore(String... keys) {
        read.addAll(List.of(keys));
    }

    String string(String key, String fallback) {
        read.add(key);
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isTextual()) throw bad(key, v, "a string");
        return v.textValue();
    }

    /** A positive integer; {@code fallback} when the key is absent (the transformers default). */
    int positive(String key, int fallback) {
        int v = integer(key, fallback);
        if (v <= 0) throw new WeightFormatException(where + ": '" + key + "' must be positive, not " + v);
        return v;
    }

    int integer(String key, int fallback) {
        read.add(key);
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw bad(key, v, "an integer");
        return v.intValue();
    }

    /** An integer or null (token ids a config may leave unset). */
    Integer optionalInteger(String key, Integer fallback) {
        read.add(key);
        JsonNode v = node.get(key);
        if (v == null) return fallback;
        if (v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw bad(key, v, "an integer");
        return v.intValue();
    }

    boolean bool(String key, boolean fallback) {
        read.add(key);
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isBoolean()) throw bad(key, v, "true or false");
        return v.booleanValue();
    }

    double number(String key, double fallback) {
        read.add(key);
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isNumber()) throw bad(key, v, "a number");
        return v.doubleValue();
    }

    ClipActivation activation(String key, ClipActivation fallback) {
        String s = string(key, null);
        if (s == null) return fallback;
        ClipActivation a = ClipActivation.fromConfig(s);
        if (a == null) {
            throw new WeightFormatException(where + ": unsupported '" + key + "' value \"" + s
                    + "\" (supported: quick_gelu, gelu)");
        }
        return a;
    }

    ConfigReader child(String key) {
        read.add(key);
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return null;
        if (!v.isObject()) throw bad(key, v, "an object");
        return new ConfigReader(where + " " + key, v);
    }

    /** Keys present in the object that no read asked for. */
    List<String> unreadKeys() {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) if (!read.contains(e.getKey())) out.add(e.getKey());
        return out;
    }

    private WeightFormatException bad(String key, JsonNode v, String what) {
        return new WeightFormatException(where + ": '" + key + "' must be " + what + ", not " + v);
    }
}
