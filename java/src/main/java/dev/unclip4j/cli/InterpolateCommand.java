package dev.unclip4j.cli;

import dev.unclip4j.api.InterpolateRequest;
import dev.unclip4j.api.Result;
import dev.unclip4j.api.Unclip;
import dev.unclip4j.image.RgbImage;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code unclip interpolate}: frames between two prompts or two images (their embeddings slerped). */
@Command(name = "interpolate", description = "Frames between two prompts or between two images.")
final class InterpolateCommand extends PipelineCommand {
    @Parameters(index = "0", paramLabel = "A", description = "The first prompt, or image file.")
    String a;

    @Parameters(index = "1", paramLabel = "B", description = "The second prompt, or image file (of the same kind as A).")
    String b;

    @Option(names = "--frames", paramLabel = "K", defaultValue = "5", description = "Frames, A and B included (default: ${DEFAULT-VALUE}).")
    int frames;

    @Option(names = "--fixed-noise", description = "Share every random draw among the frames, so that they differ by the embedding alone.")
    boolean fixedNoise;

    @Option(names = "--grid", description = "One strip image of the frames, left to right.")
    boolean grid;

    @CommandLine.Mixin
    PriorOptions prior = new PriorOptions();

    @CommandLine.Mixin
    DecoderOptions decoder = new DecoderOptions();

    @Override
    public Integer call() {
        Main.Common.requireImageIo();
        requireAtLeast("--frames", frames, 2);
        boolean images = isImage(a);
        if (images != isImage(b)) {
            throw usage("A and B must both be prompts or both be image files: \"" + (images ? a : b) + "\" is an image file, \""
                    + (images ? b : a) + "\" is not");
        }
        InterpolateRequest request = (images ? InterpolateRequest.between(RgbImage.read(Path.of(a)), RgbImage.read(Path.of(b)))
                : InterpolateRequest.between(a, b)).withFrames(frames).withFixedNoise(fixedNoise).withSeed(seed)
                .withSteps(prior.steps, decoder.steps, decoder.superResSteps).withGuidance(prior.guidance, decoder.guidance);
        request.validate();
        String stem = images ? stem(Path.of(a)) + "-to-" + stem(Path.of(b)) : slug(a + " to " + b);
        FramesOutput out = new FramesOutput(Outputs.of(output, "interpolate-" + stem + "-" + seed, true), grid, frames);
        checkWritable(out.files());
        Result r;
        try (Unclip unclip = load(); ProgressDisplay progress = progress()) {
            r = unclip.interpolate(request, progress);
        }
        List<String> args = new ArrayList<>(modelArgs());
        args.addAll(List.of("--seed", Long.toString(seed), "--frames", Integer.toString(frames)));
        if (fixedNoise) args.add("--fixed-noise");
        args.addAll(List.of("--prior-steps", Integer.toString(prior.steps), "--decoder-steps", Integer.toString(decoder.steps),
                "--super-res-steps", Integer.toString(decoder.superResSteps), "--prior-guidance", Double.toString(prior.guidance),
                "--decoder-guidance", Double.toString(decoder.guidance), a, b));
        Recipe recipe = new Recipe("interpolate").put(images ? "image A" : "prompt", images ? a : a + " → " + b);
        if (images) recipe.put("image B", b);
        recipe.put("seed", seed).put("fixed noise", fixedNoise)
                .put("steps", images ? Recipe.stages("decoder", decoder.steps, "super-res", decoder.superResSteps)
                        : Recipe.stages("prior", prior.steps, "decoder", decoder.steps, "super-res", decoder.superResSteps))
                .put("guidance", images ? Recipe.stages("decoder", decoder.guidance)
                        : Recipe.stages("prior", prior.guidance, "decoder", decoder.guidance))
                .put("model", modelName()).args(args);
        out.write(this, r.images(), recipe.toMap());
        printTimes(List.of(r));
        return 0;
    }

    /** An end is an image when it names an existing file or ends like an image file's name. */
    static boolean isImage(String end) {
        if (end.matches("(?i).+\\.(png|jpe?g|bmp|gif)")) return true;
        try {
            return Files.isRegularFile(Path.of(end));
        } catch (InvalidPathException e) {
            return false;
        }
    }
}
