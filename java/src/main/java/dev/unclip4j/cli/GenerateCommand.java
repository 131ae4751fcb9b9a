package dev.unclip4j.cli;

import dev.unclip4j.api.Request;
import dev.unclip4j.api.Result;
import dev.unclip4j.api.Unclip;
import dev.unclip4j.image.RgbImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code unclip generate}: text to image. Image i of the run (prompt-major) uses seed S + i, so
 * each image is what its prompt gives alone with that seed, and its recipe's command makes it
 * again; prompts from a file run in batches of at most {@value #BATCH_IMAGES} images.
 */
@Command(name = "generate", description = "Generate images from a text prompt (or one prompt a line of a file).")
final class GenerateCommand extends PipelineCommand {
    /** Images per batch: enough to keep the cores busy, few enough to keep the activations small. */
    static final int BATCH_IMAGES = 8;

    @Parameters(index = "0", arity = "0..1", paramLabel = "PROMPT", description = "The prompt.")
    String prompt;

    @Option(names = "--prompts", paramLabel = "FILE", description = "A text file of prompts, one a line (blank lines skipped).")
    Path promptsFile;

    @Option(names = "-n", paramLabel = "N", defaultValue = "1", description = "Images per prompt (default: ${DEFAULT-VALUE}).")
    int n;

    @Option(names = "--grid", description = "One image: a row per prompt, a column per image.")
    boolean grid;

    @CommandLine.Mixin
    PriorOptions prior = new PriorOptions();

    @CommandLine.Mixin
    DecoderOptions decoder = new DecoderOptions();

    @Override
    public Integer call() {
        Main.Common.requireImageIo();
        if ((prompt == null) == (promptsFile == null)) throw usage("give a PROMPT or --prompts FILE (one of the two)");
        requireAtLeast("-n", n, 1);
        List<String> prompts = prompt != null ? List.of(prompt) : readPrompts(promptsFile);
        Request all = new Request(prompts, n, seed, prior.steps, decoder.steps, decoder.superResSteps, prior.guidance,
                decoder.guidance);
        all.validate();
        String stem = (prompt != null ? slug(prompt) : stem(promptsFile)) + "-" + seed;
        Outputs outputs = Outputs.of(output, stem, false);
        List<Path> files = grid ? List.of(outputs.single()) : outputs.files(all.imageCount());
        checkWritable(files);

        List<RgbImage> images = new ArrayList<>();
        List<Result> results = new ArrayList<>();
        int perBatch = Math.max(1, BATCH_IMAGES / n), batches = (prompts.size() + perBatch - 1) / perBatch;
        try (Unclip unclip = load(); ProgressDisplay progress = progress()) {
            for (int b = 0; b < batches; b++) {
                int from = b * perBatch, to = Math.min(prompts.size(), from + perBatch);
                progress.label(batches > 1 ? "batch " + (b + 1) + "/" + batches + " " : "");
                Result r = unclip.generate(new Request(prompts.subList(from, to), n, all.seedOf(from * n), prior.steps,
                        decoder.steps, decoder.superResSteps, prior.guidance, decoder.guidance), progress);
                images.addAll(r.images());
                results.add(r);
            }
        }
        if (grid) {
            List<String> what = new ArrayList<>(List.of("-n", Integer.toString(n), "--grid"));
            what.addAll(prompt != null ? List.of(prompt) : List.of("--prompts", promptsFile.toString()));
            Recipe recipe = recipe(String.join("\n", prompts), seed, what).put("grid", prompts.size() + " rows (prompts) × "
                    + n + " columns (images; image i, row by row, has seed " + seed + " + i)");
            write(List.of(RgbImage.grid(images, n)), List.of(recipe.toMap()), files);
        } else {
            List<Map<String, String>> recipes = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) {
                recipes.add(recipe(prompts.get(i / n), all.seedOf(i), List.of(prompts.get(i / n))).toMap());
            }
            write(images, recipes, files);
        }
        printTimes(results);
        return 0;
    }

    /**
     * The recipe of an image: its prompt, its seed, and the command that makes it again (an
     * image alone: the prompt with the image's own seed).
     */
    private Recipe recipe(String p, long s, List<String> what) {
        List<String> args = new ArrayList<>(modelArgs());
        args.addAll(List.of("--seed", Long.toString(s), "--prior-steps", Integer.toString(prior.steps), "--decoder-steps",
                Integer.toString(decoder.steps), "--super-res-steps", Integer.toString(decoder.superResSteps),
                "--prior-guidance", Double.toString(prior.guidance), "--decoder-guidance", Double.toString(decoder.guidance)));
        args.addAll(what);
        return new Recipe("generate").put("prompt", p).put("seed", s)
                .put("steps", Recipe.stages("prior", prior.steps, "decoder", decoder.steps, "super-res", decoder.superResSteps))
                .put("guidance", Recipe.stages("prior", prior.guidance, "decoder", decoder.guidance))
                .put("model", modelName()).args(args);
    }

    private static List<String> readPrompts(Path file) {
        try {
            List<String> out = Files.readAllLines(file).stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
            if (out.isEmpty()) throw new IllegalArgumentException(file + ": no prompts (one a line)");
            return out;
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": no such prompts file");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
