package dev.unclip4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unclip4j.api.Unclip;
import dev.unclip4j.bindings.UnclipLibrary;
import dev.unclip4j.clip.ClipModelFiles;
import dev.unclip4j.clip.ClipTokenizer;
import dev.unclip4j.image.RgbImage;
import dev.unclip4j.io.Checkpoint;
import dev.unclip4j.io.ConfigReader;
import dev.unclip4j.io.TensorEntry;
import dev.unclip4j.io.WeightFormatException;
import dev.unclip4j.tensor.Backend;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code unclip info}: the machine (backends, devices, native libraries, kernels), a model
 * folder (parameters and configuration per component), or the recipe an image carries.
 */
@Command(name = "info", description = {"Show the backends and devices of this machine, the native libraries and kernels;",
        "with --model, the parameters and configuration of each component; with IMAGE.png, the recipe it carries."})
final class InfoCommand implements Callable<Integer> {
    /** The components of a diffusers UnCLIP folder, in pipeline order. */
    static final List<String> COMPONENTS = List.of("tokenizer", "text_encoder", "prior", "prior_scheduler", "text_proj", "decoder",
            "decoder_scheduler", "super_res_first", "super_res_last", "super_res_scheduler", "image_encoder", "feature_extractor");

    /** The configuration keys a summary shows, where a component has them. */
    static final List<String> SUMMARY_KEYS = List.of("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
            "projection_dim", "max_position_embeddings", "image_size", "patch_size", "num_layers", "attention_head_dim",
            "embedding_dim", "num_embeddings", "additional_embeddings", "clip_embeddings_dim", "clip_extra_context_tokens",
            "cross_attention_dim", "sample_size", "in_channels", "out_channels", "block_out_channels", "layers_per_block",
            "down_block_types", "num_train_timesteps", "beta_schedule", "variance_type", "prediction_type", "clip_sample_range",
            "crop_size", "size");

    @CommandLine.Mixin
    Main.Common common = new Main.Common();

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "A diffusers UnCLIP folder to describe.")
    Path model;

    @Parameters(index = "0", arity = "0..1", paramLabel = "IMAGE.png", description = "A PNG whose recipe to print.")
    Path image;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (image != null) {
            Main.Common.requireImageIo();
            Map<String, String> recipe = RgbImage.readPngText(image);
            if (recipe.isEmpty()) throw new IllegalArgumentException(image + " carries no recipe (no PNG text chunks)");
            recipe.forEach((k, v) -> out.println(k + ": " + v.replace("\n", "\n  ")));
            out.flush();
            return 0;
        }
        machine(out);
        if (model != null) model(out, model);
        out.flush();
        return 0;
    }

    private void machine(PrintWriter out) {
        out.printf(Locale.ROOT, "unclip4j %s, Java %s (%s), %s %s%n", Unclip.VERSION, Runtime.version(),
                System.getProperty("java.vendor"), System.getProperty("os.name"), System.getProperty("os.arch"));
        try (Backend cpu = Backend.cpu()) {
            out.println("cpu:  " + cpu.device());
            library(out, UnclipLibrary.get(UnclipLibrary.Kind.CPU));
        }
        String reason = Backend.cudaUnavailableReason();
        if (reason == null) {
            try (Backend cuda = Backend.cuda(0)) {
                out.println("cuda: " + cuda.device());
                library(out, UnclipLibrary.get(UnclipLibrary.Kind.CUDA));
            }
        } else {
            out.println("cuda: unavailable (" + reason + ")");
        }
        try (Backend chosen = Backend.named(common.device)) {
            out.println("--device " + common.device + " runs on: " + chosen.name() + " ("
                    + (chosen.kind() == Backend.Kind.CPU ? "f32" : "bf16") + ")");
        }
        out.println("kernels: " + String.join(" ", UnclipLibrary.OPS));
    }

    private static void library(PrintWriter out, UnclipLibrary lib) {
        out.println("      " + lib.path().getFileName() + ", ABI " + lib.abiVersion() + ", " + lib.path());
    }

    /** Every component: parameters (from the safetensors headers), stored type and the configuration's main keys. */
    static void model(PrintWriter out, Path root) {
        Path index = root.resolve("model_index.json");
        if (!Files.isRegularFile(index)) throw new WeightFormatException(root + ": not a diffusers UnCLIP folder (no model_index.json)");
        JsonNode idx = ConfigReader.parse(index);
        out.printf(Locale.ROOT, "model: %s (%s, diffusers %s)%n", root.toAbsolutePath().normalize(),
                idx.path("_class_name").asText("?"), idx.path("_diffusers_version").asText("?"));
        long total = 0;
        for (String name : COMPONENTS) {
            Path dir = root.resolve(name);
            if (!Files.isDirectory(dir)) continue;
            long params = 0;
            TreeSet<String> types = new TreeSet<>();
            if (hasWeights(dir)) {
                try (Checkpoint ck = Checkpoint.open(dir)) {
                    for (String t : ck.names()) {
                        TensorEntry e = ck.entry(t);
                        long n = 1;
                        for (long d : e.shape()) n *= d;
                        params += n;
                        types.add(e.type().name().toLowerCase(Locale.ROOT));
                    }
                }
            }
            total += params;
            out.printf(Locale.ROOT, "  %-20s %10s %-5s %s%n", name, params == 0 ? "" : String.format(Locale.ROOT, "%,d", params),
                    String.join("/", types), summary(dir));
        }
        out.printf(Locale.ROOT, "  %-20s %10s parameters%n", "total", String.format(Locale.ROOT, "%,d", total));
        Path templates = root.resolve(ClipModelFiles.TEMPLATES_FILE);
        if (Files.isRegularFile(templates)) {
            out.println("  zero-shot templates: " + ConfigReader.parse(templates).path("templates"));
        }
    }

    private static boolean hasWeights(Path dir) {
        try (var files = Files.list(dir)) {
            return files.anyMatch(f -> f.getFileName().toString().endsWith(".safetensors"));
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static String summary(Path dir) {
        if (dir.getFileName().toString().equals("tokenizer")) {
            ClipTokenizer tok = ClipTokenizer.load(dir);
            return "CLIPTokenizer: vocabulary " + tok.vocabSize() + ", context " + tok.contextLength();
        }
        for (String file : List.of("config.json", "scheduler_config.json", "preprocessor_config.json")) {
            Path f = dir.resolve(file);
            if (!Files.isRegularFile(f)) continue;
            JsonNode cfg = ConfigReader.parse(f);
            List<String> parts = new ArrayList<>();
            for (String k : SUMMARY_KEYS) {
                JsonNode v = cfg.get(k);
                if (v != null && !v.isNull()) parts.add(k + " " + v);
            }
            String cls = cfg.path(file.equals("preprocessor_config.json") ? "image_processor_type" : "_class_name").asText("");
            if (cls.isEmpty()) cls = cfg.path("architectures").path(0).asText("");
            return (cls.isEmpty() ? "" : cls + ": ") + String.join(", ", parts);
        }
        return "";
    }
}
