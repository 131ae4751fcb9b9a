package dev.unclip4j.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
public final class ConfigReader {
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final String where;
    private final JsonNode node;
    private final Set<String> read = new HashSet<>();

    public ConfigReader(String where, JsonNode node) {
        if (node == null || !node.isObject()) throw new WeightFormatException(where + ": not a JSON object");
        this.where = where;
        this.node = node;
    }

    public static JsonNode parse(Path file) {
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

    public String where() {
        return where;
    }

    public boolean has(String key) {
        JsonNode v = node.get(key);
        return v != null && !v.isNull();
    }

    /** Whether the key is there at all, null included (diffusers tells absent, the default, from null). */
    public boolean present(String key) {
        return node.has(key);
    }

    /** Marks {@code key} as understood without reading it. */
    public void ignore(String... keys) {
        read.addAll(List.of(keys));
    }

    public String string(String key, String fallback) {
        read.add(key);
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isTextual()) throw bad(key, v, "a string");
        return v.textValue();
    }

    /** A positive integer; {@code fallback} when the key is absent (the transformers default). */
    public int positive(String key, int fallback) {
        int v = integer(key, fallback);
        if (v <= 0) throw new WeightFormatException(where + ": '" + key + "' must be positive, not " + v);
        return v;
    }

    public int integer(String key, int fallback) {
        read.add(key);
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw bad(key, v, "an integer");
        return v.intValue();
    }

    /** An integer or null (token ids a config may leave unset). */
    public Integer optionalInteger(String key, Integer fallback) {
        read.add(key);
        JsonNode v = node.get(key);
        if (v == null) return fallback;
        if (v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw bad(key, v, "an integer");
        return v.intValue();
    }

    public boolean bool(String key, boolean fallback) {
        read.add(key);
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isBoolean()) throw bad(key, v, "true or false");
        return v.booleanValue();
    }

    public double number(String key, double fallback) {
        read.add(key);
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isNumber()) throw bad(key, v, "a number");
        return v.doubleValue();
    }

    /** A string that must be one of {@code allowed}; {@code fallback} when absent. */
    public String choice(String key, String fallback, String... allowed) {
        String s = string(key, fallback);
        if (s != null && !List.of(allowed).contains(s)) throw unsupported(key, "\"" + s + "\"", String.join(", ", allowed));
        return s;
    }

    /** A list of integers; {@code fallback} when absent. */
    public int[] integers(String key, int[] fallback) {
        JsonNode v = get(key);
        if (v == null) return fallback;
        if (!v.isArray()) throw bad(key, v, "a list of integers");
        int[] out = new int[v.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode e = v.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToInt()) throw bad(key, v, "a list of integers");
            out[i] = e.intValue();
        }
        return out;
    }

    /**
     * An integer or a list of {@code count} integers (diffusers' "int or one per block" keys);
     * null when absent or null.
     */
    public int[] integerOrList(String key, int count) {
        JsonNode v = get(key);
        if (v == null) return null;
        if (v.isIntegralNumber() && v.canConvertToInt()) {
            int[] out = new int[count];
            java.util.Arrays.fill(out, v.intValue());
            return out;
        }
        int[] out = integers(key, null);
        if (out.length != count) throw bad(key, v, "an integer or a list of " + count + " integers");
        return out;
    }

    /** A boolean or a list of {@code count} booleans (one per block); null when absent or null. */
    public boolean[] boolOrList(String key, int count) {
        JsonNode v = get(key);
        if (v == null) return null;
        boolean[] out = new boolean[count];
        if (v.isBoolean()) {
            java.util.Arrays.fill(out, v.booleanValue());
            return out;
        }
        if (!v.isArray() || v.size() != count) throw bad(key, v, "true, false or a list of " + count + " of them");
        for (int i = 0; i < count; i++) {
            if (!v.get(i).isBoolean()) throw bad(key, v, "true, false or a list of " + count + " of them");
            out[i] = v.get(i).booleanValue();
        }
        return out;
    }

    /** A list of strings; {@code fallback} when absent. */
    public List<String> strings(String key, List<String> fallback) {
        JsonNode v = get(key);
        if (v == null) return fallback;
        if (!v.isArray()) throw bad(key, v, "a list of strings");
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual()) throw bad(key, v, "a list of strings");
            out.add(e.textValue());
        }
        return out;
    }

    /** A key this code reads but supports only at {@code value} (or absent/null): anything else is an error. */
    public void requireDefault(String key, Object value) {
        JsonNode v = get(key);
        if (v == null) return;
        boolean same = value instanceof Boolean b ? v.isBoolean() && v.booleanValue() == b
                : value instanceof Number n ? v.isNumber() && v.doubleValue() == n.doubleValue()
                : value instanceof String s ? v.isTextual() && v.textValue().equals(s)
                : false;
        if (!same) throw unsupported(key, v.toString(), value == null ? "null" : JSON.valueToTree(value).toString());
    }

    /** An error saying that {@code key} = {@code value} is not implemented here. */
    public WeightFormatException unsupported(String key, String value, String supported) {
        return new WeightFormatException(where + ": unsupported '" + key + "' value " + value + " (supported: "
                + supported + ")");
    }

    /** Fails naming every key present that no read asked for (a config this code does not understand). */
    public void rejectUnreadKeys() {
        List<String> unread = unreadKeys();
        if (!unread.isEmpty()) throw new WeightFormatException(where + ": unknown config key(s) " + unread);
    }

    private JsonNode get(String key) {
        read.add(key);
        JsonNode v = node.get(key);
        return v == null || v.isNull() ? null : v;
    }

    public ConfigReader child(String key) {
        read.add(key);
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return null;
        if (!v.isObject()) throw bad(key, v, "an object");
        return new ConfigReader(where + " " + key, v);
    }

    /** Keys present in the object that no read asked for. */
    public List<String> unreadKeys() {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) if (!read.contains(e.getKey())) out.add(e.getKey());
        return out;
    }

    private WeightFormatException bad(String key, JsonNode v, String what) {
        return new WeightFormatException(where + ": '" + key + "' must be " + what + ", not " + v);
    }
}
