package dev.unclip4j.cli;

import dev.unclip4j.api.Result;
import dev.unclip4j.api.Unclip;
import dev.unclip4j.api.VariationsRequest;
import dev.unclip4j.image.RgbImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code unclip variations}: new images with the CLIP image embedding of an image; variation i uses seed S + i. */
@Command(name = "variations", description = "Variations of an image (its CLIP image embedding decoded again).")
final class VariationsCommand extends PipelineCommand {
    @Parameters(index = "0", paramLabel = "IMAGE", description = "The image (PNG, JPEG, BMP, GIF).")
    Path image;

    @Option(names = "-n", paramLabel = "N", defaultValue = "1", description = "Variations (default: ${DEFAULT-VALUE}).")
    int n;

    @CommandLine.Mixin
    DecoderOptions decoder = new DecoderOptions();

    @Override
    public Integer call() {
        Main.Common.requireImageIo();
        requireAtLeast("-n", n, 1);
        RgbImage input = RgbImage.read(image);
        VariationsRequest request = VariationsRequest.of(input).withImagesPerImage(n).withSeed(seed)
                .withSteps(decoder.steps, decoder.superResSteps).withGuidance(decoder.guidance);
        request.validate();
        List<Path> files = Outputs.of(output, stem(image) + "-variation-" + seed, false).files(n);
        checkWritable(files);
        Result r;
        try (Unclip unclip = load(); ProgressDisplay progress = progress()) {
            r = unclip.variations(request, progress);
        }
        List<Map<String, String>> recipes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            List<String> args = new ArrayList<>(modelArgs());
            args.addAll(List.of("--seed", Long.toString(seed + i), "--decoder-steps", Integer.toString(decoder.steps),
                    "--super-res-steps", Integer.toString(decoder.superResSteps), "--decoder-guidance",
                    Double.toString(decoder.guidance), image.toString()));
            recipes.add(new Recipe("variations").put("image", image).put("seed", seed + i)
                    .put("steps", Recipe.stages("decoder", decoder.steps, "super-res", decoder.superResSteps))
                    .put("guidance", Recipe.stages("decoder", decoder.guidance)).put("model", modelName()).args(args).toMap());
        }
        write(r.images(), recipes, files);
        printTimes(List.of(r));
        return 0;
    }
}
