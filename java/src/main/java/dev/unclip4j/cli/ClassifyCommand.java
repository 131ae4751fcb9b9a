package dev.unclip4j.cli;

import dev.unclip4j.api.Unclip;
import dev.unclip4j.clip.Clip;
import dev.unclip4j.clip.ClipModelFiles;
import dev.unclip4j.tensor.Backend;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code unclip classify}: zero-shot probabilities of an image among labels, best first. */
@Command(name = "classify", description = "Zero-shot classification of an image among labels (CLIP), best first.")
final class ClassifyCommand implements Callable<Integer> {
    @CommandLine.Mixin
    Main.Common common = new Main.Common();

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "A Hugging Face CLIP folder, an OpenAI/open_clip "
            + "checkpoint or a diffusers UnCLIP folder with an image encoder (default: the built-in " + Unclip.BUILT_IN + ").")
    Path model;

    @Option(names = "--template", paramLabel = "T", description = "A prompt template with {} for the label; repeat "
            + "for an ensemble (default: the model folder's " + ClipModelFiles.TEMPLATES_FILE + ", else \"a photo of a {}.\").")
    List<String> templates;

    @Parameters(index = "0", paramLabel = "IMAGE", description = "The image.")
    Path image;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "LABEL", description = "The candidate labels.")
    List<String> labels;

    @Override
    public Integer call() {
        Main.Common.requireImageIo();
        Path m = ClipCommands.modelOrBuiltIn(model);
        List<Clip.Prediction> ps;
        try (Backend backend = Backend.named(common.device); Clip clip = Clip.open(m, backend)) {
            ps = clip.classify(image, labels, templates == null || templates.isEmpty() ? clip.templates() : templates);
        }
        PrintWriter out = spec.commandLine().getOut();
        for (Clip.Prediction p : ps) out.println(String.format(Locale.ROOT, "%.6f\t%s", p.probability(), p.label()));
        out.flush();
        return 0;
    }
}
