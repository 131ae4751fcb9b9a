package dev.unclip4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unclip4j.api.Unclip;
import dev.unclip4j.clip.Clip;
import dev.unclip4j.io.AtomicFiles;
import dev.unclip4j.tensor.Backend;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code unclip embed}: the projected CLIP embedding of a text or an image, as JSON or .npy. */
@Command(name = "embed", description = "Print or save the CLIP embedding of a text or an image.")
final class EmbedCommand implements Callable<Integer> {
    enum Format { json, npy }

    static final class Input {
        @Option(names = "--text", paramLabel = "T", description = "The text to embed.")
        String text;

        @Option(names = "--image", paramLabel = "FILE", description = "The image to embed (PNG, JPEG, BMP, GIF).")
        Path image;
    }

    @CommandLine.Mixin
    Main.Common common = new Main.Common();

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "A Hugging Face CLIP folder, an OpenAI/open_clip "
            + "checkpoint or a diffusers UnCLIP folder (default: the built-in " + Unclip.BUILT_IN + ").")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    @Option(names = "--normalize", description = "L2-normalise the embedding.")
    boolean normalize;

    @Option(names = "--format", defaultValue = "json", description = "json or npy (default: ${DEFAULT-VALUE}).")
    Format format;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write to FILE instead of stdout (required for npy).")
    Path output;

    @Override
    public Integer call() {
        if (input.image != null) Main.Common.requireImageIo();
        Path m = ClipCommands.modelOrBuiltIn(model);
        if (format == Format.npy && output == null) {
            throw new IllegalArgumentException("--format npy writes binary: give -o FILE");
        }
        float[] e;
        try (Backend backend = Backend.named(common.device); Clip clip = Clip.open(m, backend)) {
            e = input.text != null ? clip.textEmbeddings(List.of(input.text), normalize)[0]
                    : clip.imageEmbeddings(List.of(input.image), normalize)[0];
        }
        byte[] bytes = format == Format.npy ? Npy.float32(e, e.length) : json(e).getBytes(StandardCharsets.UTF_8);
        if (output != null) {
            AtomicFiles.write(output, bytes);
        } else {
            spec.commandLine().getOut().print(new String(bytes, StandardCharsets.UTF_8));
            spec.commandLine().getOut().flush();
        }
        return 0;
    }

    private String json(float[] e) {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        if (input.text != null) root.put("text", input.text);
        else root.put("image", input.image.toString());
        root.put("normalized", normalize);
        root.put("dim", e.length);
        ArrayNode arr = root.putArray("embedding");
        for (float v : e) arr.add(v);  // float nodes print the shortest decimal that reads back to the same float
        return root.toString() + "\n";
    }
}
