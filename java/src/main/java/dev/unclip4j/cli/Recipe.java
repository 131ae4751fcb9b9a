package dev.unclip4j.cli;

import dev.unclip4j.api.Unclip;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The recipe a PNG carries in its text chunks, so that the image can be made again: what was
 * asked (prompt, image, frame), the seed, steps and guidance, the model, the unclip4j version,
 * and {@code command}, a command line that makes the same image.
 */
final class Recipe {
    private final Map<String, String> entries = new LinkedHashMap<>();
    private final List<String> command = new ArrayList<>();

    /** A recipe for {@code unclip <subcommand>}. */
    Recipe(String subcommand) {
        command.add("unclip");
        command.add(subcommand);
    }

    Recipe put(String key, Object value) {
        entries.put(key, String.valueOf(value));
        return this;
    }

    /** Arguments of the command line that makes the image again. */
    Recipe args(List<String> args) {
        command.addAll(args);
        return this;
    }

    Recipe args(String... args) {
        return args(List.of(args));
    }

    /** The text chunks: the entries, the version, then the command line. */
    Map<String, String> toMap() {
        Map<String, String> out = new LinkedHashMap<>(entries);
        out.put("Software", "unclip4j " + Unclip.VERSION);
        out.put("command", String.join(" ", command.stream().map(Recipe::quote).toList()));
        return out;
    }

    /** A POSIX shell word: as it is when plain, else in single quotes. */
    static String quote(String s) {
        if (!s.isEmpty() && s.matches("[A-Za-z0-9_./:=,+-]+")) return s;
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** "prior 25, decoder 25, super-res 7" and the like, from name/value pairs. */
    static String stages(Object... nameValue) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < nameValue.length; i += 2) {
            if (i > 0) b.append(", ");
            b.append(nameValue[i]).append(' ').append(nameValue[i + 1]);
        }
        return b.toString();
    }
}
