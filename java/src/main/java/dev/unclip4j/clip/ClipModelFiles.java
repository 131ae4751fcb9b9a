package dev.unclip4j.clip;

import dev.unclip4j.image.ClipImageProcessor;
import dev.unclip4j.image.OpenAiClipTransform;
import dev.unclip4j.io.Checkpoint;
import dev.unclip4j.io.ConfigReader;
import dev.unclip4j.io.WeightFormatException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A CLIP model on disk, whichever of the three layouts it comes in, opened into the weights by
 * role, the tokenizer and the image preprocessing that go with it:
 *
 * <ul>
 *   <li>a Hugging Face CLIP folder: {@code config.json}, {@code model.safetensors} (or an index),
 *       tokenizer files, {@code preprocessor_config.json};
 *   <li>an OpenAI/open_clip checkpoint: a {@code .safetensors} file, or a folder holding
 *       {@code open_clip_model.safetensors} (optionally {@code open_clip_config.json}, and a
 *       tokenizer: {@code bpe_simple_vocab_16e6.txt.gz} or HF tokenizer files); preprocessing is
 *       openai/CLIP's own transform;
 *   <li>a diffusers UnCLIP folder (Karlo's layout): {@code text_encoder/} and {@code tokenizer/},
 *       and {@code image_encoder/} + {@code feature_extractor/} where present.
 * </ul>
 *
 * The weights stay memory-mapped until {@link #close}. Missing pieces are null (a text-only folder
 * has no vision tower); what cannot be used is an error naming the file.
 */
public final class ClipModelFiles implements AutoCloseable {
    public enum Kind { HUGGING_FACE, OPENAI, DIFFUSERS_UNCLIP }

    /**
     * The file in a model folder that names the zero-shot prompt templates its CLIP suits:
     * {@code {"templates": ["{}"]}}, each with {} for the label; keys starting with "_" are
     * comments. Without it, openai/CLIP's "a photo of a {}." is used.
     */
    public static final String TEMPLATES_FILE = "zero_shot_templates.json";

    private final Path root;
    private final Kind kind;
    private final List<Checkpoint> checkpoints;
    private final ClipWeights.Text text;
    private final ClipWeights.Vision vision;
    private final Weight logitScale;
    private final ClipTokenizer tokenizer;
    private final ClipImageProcessor imageProcessor;
    private final OpenAiClipTransform openAiTransform;
    private final List<String> unexpected;
    private final List<String> templates;

    private ClipModelFiles(Path root, Kind kind, List<Checkpoint> checkpoints, ClipWeights.Text text,
                           ClipWeights.Vision vision, Weight logitScale, ClipTokenizer tokenizer,
                           ClipImageProcessor imageProcessor, OpenAiClipTransform openAiTransform, List<String> unexpected) {
        this.root = root;
        this.kind = kind;
        this.checkpoints = checkpoints;
        this.text = text;
        this.vision = vision;
        this.logitScale = logitScale;
        this.tokenizer = tokenizer;
        this.imageProcessor = imageProcessor;
        this.openAiTransform = openAiTransform;
        this.unexpected = List.copyOf(unexpected);
        this.templates = root == null ? null : readTemplates(root.resolve(TEMPLATES_FILE));
        if (tokenizer != null && text != null) tokenizer.checkFits(text.config());
    }

    /** Opens the model at {@code path} (a folder or, for OpenAI/open_clip, a .safetensors file). */
    public static ClipModelFiles open(Path path) {
        if (!Files.exists(path)) throw new WeightFormatException(path + ": no such model file or folder");
        if (Files.isRegularFile(path)) return openOpenAi(path, path.getParent());
        if (Files.isDirectory(path.resolve("text_encoder")) || Files.isRegularFile(path.resolve("model_index.json"))) {
            return openDiffusers(path);
        }
        if (Files.isRegularFile(path.resolve("config.json"))) return openHuggingFace(path);
        if (Files.isRegularFile(path.resolve("open_clip_model.safetensors"))) {
            return openOpenAi(path.resolve("open_clip_model.safetensors"), path);
        }
        throw new WeightFormatException(path + ": not a CLIP model: expected a Hugging Face CLIP folder (config.json + "
                + "model.safetensors), an OpenAI/open_clip checkpoint (.safetensors or open_clip_model.safetensors), "
                + "or a diffusers UnCLIP folder (text_encoder/, tokenizer/)");
    }

    private static ClipModelFiles openHuggingFace(Path dir) {
        Checkpoint ck = Checkpoint.open(dir);
        try {
            ClipWeights.Model m = ClipWeightLoader.load(ck, ClipConfig.read(dir));
            ClipTokenizer tok = hasTokenizer(dir) ? ClipTokenizer.load(dir) : null;
            ClipImageProcessor proc = Files.isRegularFile(dir.resolve("preprocessor_config.json"))
                    ? ClipImageProcessor.read(dir) : null;
            return new ClipModelFiles(dir, Kind.HUGGING_FACE, List.of(ck), m.text(), m.vision(), m.logitScale(), tok, proc,
                    null, m.unexpected());
        } catch (RuntimeException e) {
            ck.close();
            throw e;
        }
    }

    private static ClipModelFiles openOpenAi(Path file, Path dir) {
        Checkpoint ck = Checkpoint.open(file);
        try {
            Path cfgFile = dir == null ? null : dir.resolve("open_clip_config.json");
            ClipConfig cfg = cfgFile != null && Files.isRegularFile(cfgFile) ? ClipWeightLoader.readOpenClipConfig(cfgFile) : null;
            ClipWeights.Model m = ClipWeightLoader.load(ck, cfg);
            ClipTokenizer tok = dir != null && hasTokenizer(dir) ? ClipTokenizer.load(dir) : null;
            OpenAiClipTransform transform = m.vision() == null ? null : new OpenAiClipTransform(m.vision().config().imageSize());
            return new ClipModelFiles(dir, Kind.OPENAI, List.of(ck), m.text(), m.vision(), m.logitScale(), tok, null,
                    transform, m.unexpected());
        } catch (RuntimeException e) {
            ck.close();
            throw e;
        }
    }

    private static ClipModelFiles openDiffusers(Path dir) {
        Path te = dir.resolve("text_encoder"), tk = dir.resolve("tokenizer");
        Path ie = dir.resolve("image_encoder"), fe = dir.resolve("feature_extractor");
        if (!Files.isDirectory(te)) throw new WeightFormatException(dir + ": a diffusers UnCLIP folder needs text_encoder/");
        if (!Files.isDirectory(tk)) throw new WeightFormatException(dir + ": a diffusers UnCLIP folder needs tokenizer/");
        List<Checkpoint> opened = new ArrayList<>();
        try {
            Checkpoint tc = Checkpoint.open(te);
            opened.add(tc);
            ClipWeights.Model tm = ClipWeightLoader.load(tc, ClipConfig.read(te));
            if (tm.text() == null) throw new WeightFormatException(te + ": no text tower");
            List<String> unexpected = new ArrayList<>(tm.unexpected());
            ClipWeights.Vision vision = null;
            ClipImageProcessor proc = null;
            if (Files.isDirectory(ie)) {
                Checkpoint vc = Checkpoint.open(ie);
                opened.add(vc);
                ClipWeights.Model vm = ClipWeightLoader.load(vc, ClipConfig.read(ie));
                if (vm.vision() == null) throw new WeightFormatException(ie + ": no vision tower");
                vision = vm.vision();
                unexpected.addAll(vm.unexpected());
                proc = Files.isDirectory(fe) ? ClipImageProcessor.read(fe) : null;
            }
            return new ClipModelFiles(dir, Kind.DIFFUSERS_UNCLIP, List.copyOf(opened), tm.text(), vision, tm.logitScale(),
                    ClipTokenizer.load(tk), proc, null, unexpected);
        } catch (RuntimeException e) {
            opened.forEach(Checkpoint::close);
            throw e;
        }
    }

    private static List<String> readTemplates(Path file) {
        if (!Files.isRegularFile(file)) return null;
        ConfigReader r = new ConfigReader(file.toString(), ConfigReader.parse(file));
        List<String> t = r.strings("templates", null);
        if (t == null || t.isEmpty()) throw new WeightFormatException(file + ": 'templates' must list at least one template");
        for (String s : t) {
            if (!s.contains("{}")) throw new WeightFormatException(file + ": template \"" + s + "\" has no {} for the label");
        }
        r.ignore(r.unreadKeys().stream().filter(k -> k.startsWith("_")).toArray(String[]::new));
        r.rejectUnreadKeys();
        return List.copyOf(t);
    }

    private static boolean hasTokenizer(Path dir) {
        return Files.isRegularFile(dir.resolve("tokenizer.json")) || Files.isRegularFile(dir.resolve("vocab.json"))
                || Files.isRegularFile(dir.resolve("bpe_simple_vocab_16e6.txt.gz"));
    }

    public Path root() {
        return root;
    }

    public Kind kind() {
        return kind;
    }

    /** The text tower's weights, or null. */
    public ClipWeights.Text text() {
        return text;
    }

    /** The vision tower's weights, or null. */
    public ClipWeights.Vision vision() {
        return vision;
    }

    /** {@code logit_scale}, or null (Karlo's encoders have none). */
    public Weight logitScale() {
        return logitScale;
    }

    /** The tokenizer found with the model, or null (an OpenAI checkpoint without one beside it). */
    public ClipTokenizer tokenizer() {
        return tokenizer;
    }

    /** Hugging Face preprocessing (preprocessor_config.json / feature_extractor/), or null. */
    public ClipImageProcessor imageProcessor() {
        return imageProcessor;
    }

    /** openai/CLIP's own preprocessing, for OpenAI checkpoints with a vision tower; else null. */
    public OpenAiClipTransform openAiTransform() {
        return openAiTransform;
    }

    /** The zero-shot templates the folder names in {@value #TEMPLATES_FILE}, or null. */
    public List<String> templates() {
        return templates;
    }

    /** Tensors no role took, over all the checkpoints. */
    public List<String> unexpected() {
        return unexpected;
    }

    @Override
    public void close() {
        checkpoints.forEach(Checkpoint::close);
    }
}
