package dev.unclip4j.cli;

import dev.unclip4j.api.EditRequest;
import dev.unclip4j.api.Result;
import dev.unclip4j.api.Unclip;
import dev.unclip4j.image.RgbImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code unclip edit}: DALL·E 2's text diffs, an image moved from one caption toward another. */
@Command(name = "edit", description = "Edit an image with a text diff: frames from its variation toward --to, away from --from.")
final class EditCommand extends PipelineCommand {
    @Parameters(index = "0", paramLabel = "IMAGE", description = "The image (PNG, JPEG, BMP, GIF).")
    Path image;

    @Option(names = "--from", paramLabel = "TEXT", required = true, description = "A caption of the image as it is.")
    String from;

    @Option(names = "--to", paramLabel = "TEXT", required = true, description = "A caption of the image as it should become.")
    String to;

    @Option(names = "--frames", paramLabel = "K", defaultValue = "5", description = "Frames, the plain variation first (default: ${DEFAULT-VALUE}).")
    int frames;

    @Option(names = "--grid", description = "One strip image of the frames, left to right.")
    boolean grid;

    @CommandLine.Mixin
    DecoderOptions decoder = new DecoderOptions();

    @Override
    public Integer call() {
        Main.Common.requireImageIo();
        requireAtLeast("--frames", frames, 2);
        EditRequest request = EditRequest.of(RgbImage.read(image), from, to).withFrames(frames).withSeed(seed)
                .withSteps(decoder.steps, decoder.superResSteps).withGuidance(decoder.guidance);
        request.validate();
        FramesOutput out = new FramesOutput(Outputs.of(output, stem(image) + "-edit-" + slug(to) + "-" + seed, true), grid, frames);
        checkWritable(out.files());
        Result r;
        try (Unclip unclip = load(); ProgressDisplay progress = progress()) {
            r = unclip.edit(request, progress);
        }
        List<String> args = new ArrayList<>(modelArgs());
        args.addAll(List.of("--seed", Long.toString(seed), "--frames", Integer.toString(frames), "--decoder-steps",
                Integer.toString(decoder.steps), "--super-res-steps", Integer.toString(decoder.superResSteps),
                "--decoder-guidance", Double.toString(decoder.guidance), "--from", from, "--to", to, image.toString()));
        Recipe recipe = new Recipe("edit").put("image", image).put("prompt", from + " → " + to).put("seed", seed)
                .put("steps", Recipe.stages("decoder", decoder.steps, "super-res", decoder.superResSteps))
                .put("guidance", Recipe.stages("decoder", decoder.guidance)).put("model", modelName()).args(args);
        out.write(this, r.images(), recipe.toMap());
        printTimes(List.of(r));
        return 0;
    }
}
