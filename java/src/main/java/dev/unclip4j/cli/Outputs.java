package dev.unclip4j.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Where a command's images go: {@code -o FILE.png} for one image, {@code FILE-0.png},
 * {@code FILE-1.png}, … for several, or one file for a grid or an animated GIF; without
 * {@code -o}, {@code <stem>.png} in the working folder.
 *
 * @param base the output path without its extension
 * @param extension ".png" or ".gif"
 */
record Outputs(Path base, String extension) {
    /**
     * From {@code -o} (or null) and the default stem; {@code gif} says whether the command can
     * write an animated GIF.
     */
    static Outputs of(Path output, String defaultStem, boolean gif) {
        if (output == null) return new Outputs(Path.of(defaultStem), ".png");
        String name = output.getFileName() == null ? "" : output.getFileName().toString();
        String lower = name.toLowerCase(Locale.ROOT);
        String ext = lower.endsWith(".png") ? ".png" : gif && lower.endsWith(".gif") ? ".gif" : null;
        if (ext == null || name.length() == ext.length()) {
            throw new IllegalArgumentException("-o " + output + ": give a file name ending in .png" + (gif ? " (or .gif for an animation)" : ""));
        }
        return new Outputs(output.resolveSibling(name.substring(0, name.length() - ext.length())), ext);
    }

    boolean gif() {
        return extension.equals(".gif");
    }

    /** The one file of a single image, a grid or an animation. */
    Path single() {
        return Path.of(base + extension);
    }

    /** The files of {@code count} images: the single file when there is one, else numbered from 0. */
    List<Path> files(int count) {
        if (count == 1) return List.of(single());
        List<Path> out = new ArrayList<>();
        for (int i = 0; i < count; i++) out.add(Path.of(base + "-" + i + extension));
        return out;
    }
}
