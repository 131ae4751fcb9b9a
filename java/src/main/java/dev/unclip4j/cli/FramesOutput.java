package dev.unclip4j.cli;

import dev.unclip4j.image.AnimatedGif;
import dev.unclip4j.image.RgbImage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The frames of interpolate and edit: FILE-0.png … FILE-(K−1).png, one strip with --grid, or an
 * animated GIF when FILE ends in .gif; every PNG carries the recipe with its frame number.
 */
record FramesOutput(Outputs outputs, boolean grid, int frames) {
    /** How long a GIF shows each frame. */
    static final Duration FRAME_TIME = Duration.ofMillis(400);

    List<Path> files() {
        return grid || outputs.gif() ? List.of(outputs.single()) : outputs.files(frames);
    }

    void write(PipelineCommand command, List<RgbImage> images, Map<String, String> recipe) {
        if (outputs.gif()) {
            AnimatedGif.write(outputs.single(), images, FRAME_TIME);
            command.out().println(outputs.single());
            command.out().flush();
        } else if (grid) {
            command.write(List.of(RgbImage.grid(images, images.size())), List.of(with(recipe, "frames", frames + ", left to right")),
                    files());
        } else {
            List<Map<String, String>> recipes = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) recipes.add(with(recipe, "frame", i + " of " + frames));
            command.write(images, recipes, files());
        }
    }

    /** The recipe with one more entry, placed before the version and the command. */
    private static Map<String, String> with(Map<String, String> recipe, String key, String value) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        recipe.forEach((k, v) -> {
            if (k.equals("Software")) out.put(key, value);
            out.put(k, v);
        });
        return out;
    }
}
