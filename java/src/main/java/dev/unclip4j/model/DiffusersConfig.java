package dev.unclip4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unclip4j.io.ConfigReader;
import dev.unclip4j.io.WeightFormatException;
import java.util.List;

/**
 * Reads a diffusers component's config.json the way ConfigMixin.from_config fills the constructor:
 * an absent key takes the constructor default; a key written as null passes None, which is not
 * the default where the default is not None (encoder_hid_proj_type: null means no projection);
 * keys the constructor does not take are an error here (diffusers would warn and drop them, and
 * we would silently run another model). Every error names the component, its file, the key and
 * the value.
 */
final class DiffusersConfig {
    /** Keys ConfigMixin itself writes or adds; they describe the file, not the model. */
    private static final List<String> BOOKKEEPING = List.of("_class_name", "_diffusers_version", "_name_or_path");

    private final ConfigReader reader;
    private final JsonNode node;

    DiffusersConfig(String className, String where, JsonNode node) {
        this.reader = new ConfigReader(className + " " + where, node);
        this.node = node;
        String declared = reader.string("_class_name", className);
        if (!declared.equals(className)) {
            throw new WeightFormatException(reader.where() + ": '_class_name' is \"" + declared + "\", expected \""
                    + className + "\"");
        }
        reader.ignore(BOOKKEEPING.toArray(String[]::new));
    }

    String where() {
        return reader.where();
    }

    /** An integer ≥ min; absent: the default; null: an error (the constructor would fail on None). */
    int integer(String key, Integer fallback, int min) {
        Integer v = reader.optionalInteger(key, fallback);
        if (v == null) {
            throw new WeightFormatException(where() + ": '" + key + "' is " + (node.has(key) ? "null" : "missing")
                    + " (an integer ≥ " + min + " is required)");
        }
        if (v < min) throw reader.unsupported(key, String.valueOf(v), "an integer ≥ " + min);
        return v;
    }

    /** Python's {@code value or derived}: absent, null and 0 all mean {@code derived}. */
    int orDerived(String key, int derived) {
        Integer v = reader.optionalInteger(key, null);
        if (v == null || v == 0) return derived;
        if (v < 0) throw reader.unsupported(key, String.valueOf(v), "a positive integer, or null");
        return v;
    }

    /**
     * A string option that may be null: absent takes {@code fallback}, an explicit null is null,
     * anything but one of {@code allowed} (or null where {@code nullable}) is unsupported.
     */
    String option(String key, String fallback, boolean nullable, String... allowed) {
        if (node.has(key) && node.get(key).isNull()) {
            reader.ignore(key);
            if (!nullable) throw reader.unsupported(key, "null", String.join(", ", allowed));
            return null;
        }
        String v = reader.string(key, fallback);
        if (v != null && !List.of(allowed).contains(v)) {
            throw reader.unsupported(key, "\"" + v + "\"", String.join(", ", allowed) + (nullable ? ", null" : ""));
        }
        return v;
    }

    double number(String key, double fallback) {
        return reader.number(key, fallback);
    }

    WeightFormatException unsupported(String key, String value, String supported) {
        return reader.unsupported(key, value, supported);
    }

    /** Fails on keys the constructor does not take. */
    void finish() {
        reader.rejectUnreadKeys();
    }
}
