package dev.unclip4j.cli;

import dev.unclip4j.api.Result;
import dev.unclip4j.api.Unclip;
import dev.unclip4j.image.RgbImage;
import dev.unclip4j.io.AtomicFiles;
import dev.unclip4j.pipeline.TextToImage;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * What the commands that make images (generate, variations, interpolate, edit) share: the model,
 * seed, threads and output options, loading, progress, the stage times, and writing PNGs that
 * carry their recipe. Each command checks its whole input and its output path before it loads
 * the model, so that a mistake costs no time and leaves no file.
 */
abstract class PipelineCommand implements Callable<Integer> {
    @CommandLine.Mixin
    Main.Common common = new Main.Common();

    @Spec
    CommandSpec spec;

    @ParentCommand
    Main main;

    @Option(names = "--model", paramLabel = "DIR", description = "A diffusers UnCLIP model folder (default: the built-in "
            + Unclip.BUILT_IN + ").")
    Path model;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--threads", paramLabel = "T", defaultValue = "0", description = "CPU threads (default: OMP_NUM_THREADS, "
            + "else one per core).")
    int threads;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE.png", description = "Output PNG; several images are FILE-0.png, "
            + "FILE-1.png, … (default: a name made from the input and the seed, in the working folder).")
    Path output;

    /** The prior's options, for the commands that run it. */
    static final class PriorOptions {
        @Option(names = "--prior-steps", paramLabel = "N", defaultValue = "" + TextToImage.PRIOR_STEPS,
                description = "Prior denoising steps (default: ${DEFAULT-VALUE}).")
        int steps;

        @Option(names = "--prior-guidance", paramLabel = "G", defaultValue = "" + TextToImage.PRIOR_GUIDANCE,
                description = "Prior classifier-free guidance scale (default: ${DEFAULT-VALUE}).")
        double guidance;
    }

    /** The decoder's and super-resolution's options, for every command. */
    static final class DecoderOptions {
        @Option(names = "--decoder-steps", paramLabel = "N", defaultValue = "" + TextToImage.DECODER_STEPS,
                description = "Decoder denoising steps (default: ${DEFAULT-VALUE}).")
        int steps;

        @Option(names = "--super-res-steps", paramLabel = "N", defaultValue = "" + TextToImage.SUPER_RES_STEPS,
                description = "Super-resolution denoising steps (default: ${DEFAULT-VALUE}).")
        int superResSteps;

        @Option(names = "--decoder-guidance", paramLabel = "G", defaultValue = "" + TextToImage.DECODER_GUIDANCE,
                description = "Decoder classifier-free guidance scale (default: ${DEFAULT-VALUE}).")
        double guidance;
    }

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** A usage error: one line, status 2. */
    CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    void requireAtLeast(String flag, int value, int min) {
        if (value < min) throw usage(flag + " must be at least " + min + ", not " + value);
    }

    Path modelDir() {
        return model != null ? model : Unclip.builtInModel();
    }

    /** The model as a recipe names it: the built-in one by its place in a checkout, others by their path. */
    String modelName() {
        return model == null ? Unclip.BUILT_IN + " (built-in)" : model.toAbsolutePath().normalize().toString();
    }

    /** The model's options as a command line gives them back (none for the built-in model). */
    List<String> modelArgs() {
        return model == null ? List.of() : List.of("--model", model.toAbsolutePath().normalize().toString());
    }

    Unclip load() {
        long t0 = System.nanoTime();
        Unclip u = Unclip.builder(modelDir()).device(common.device).threads(threads).build();
        if (common.verbose) {
            err().printf(Locale.ROOT, "unclip: %s on %s, loaded in %.2f s%n", u.model(), u.device(), (System.nanoTime() - t0) / 1e9);
        }
        return u;
    }

    ProgressDisplay progress() {
        return new ProgressDisplay(main.terminal, common.quiet, err());
    }

    /** Fails now, before any work, when an output cannot be written. */
    static void checkWritable(List<Path> files) {
        files.forEach(AtomicFiles::requireWritable);
    }

    /** Writes each image with its recipe and prints its path. */
    void write(List<RgbImage> images, List<Map<String, String>> recipes, List<Path> files) {
        for (int i = 0; i < images.size(); i++) {
            images.get(i).writePng(files.get(i), recipes.get(i));
            out().println(files.get(i));
        }
        out().flush();
    }

    /** The time of each stage over all results, and their total, on one line. */
    void printTimes(List<Result> results) {
        if (common.quiet) return;
        Map<String, Duration> sum = new LinkedHashMap<>();
        for (Result r : results) r.stageTimes().forEach((k, v) -> sum.merge(k, v, Duration::plus));
        StringBuilder line = new StringBuilder("unclip: stage times:");
        Duration total = Duration.ZERO;
        for (var e : sum.entrySet()) {
            line.append(String.format(Locale.ROOT, " %s %.2f s,", e.getKey(), e.getValue().toNanos() / 1e9));
            total = total.plus(e.getValue());
        }
        line.append(String.format(Locale.ROOT, " total %.2f s", total.toNanos() / 1e9));
        err().println(line);
        err().flush();
    }

    /** A file-name-safe stem of {@code text}: lower case, words joined by "-", at most 60 characters. */
    static String slug(String text) {
        String s = text.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("^-+|-+$", "");
        if (s.length() > 60) s = s.substring(0, 60).replaceAll("-+$", "");
        return s.isEmpty() ? "unclip" : s;
    }

    /** The file name of {@code path} without its extension. */
    static String stem(Path path) {
        String name = path.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }
}
