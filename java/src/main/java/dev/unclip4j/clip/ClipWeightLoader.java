package dev.unclip4j.clip;

import dev.unclip4j.io.ConfigReader;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unclip4j.clip.ClipWeights.Layer;
import dev.unclip4j.clip.ClipWeights.LayerNorm;
import dev.unclip4j.clip.ClipWeights.Layout;
import dev.unclip4j.clip.ClipWeights.Linear;
import dev.unclip4j.io.Checkpoint;
import dev.unclip4j.io.StoredType;
import dev.unclip4j.io.TensorEntry;
import dev.unclip4j.io.WeightFormatException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads CLIP tower weights from either checkpoint layout into {@link ClipWeights}, checking every
 * tensor's shape against the config (a mismatch names the tensor, both shapes and the config
 * key) and reporting the tensors no role took.
 *
 * <p>Hugging Face transformers: {@code text_model.embeddings.token_embedding.weight},
 * {@code text_model.encoder.layers.N.self_attn.{q,k,v,out}_proj}, {@code layer_norm1/2},
 * {@code mlp.fc1/fc2}, {@code text_model.final_layer_norm}, {@code text_projection.weight}
 * [proj, hidden]; {@code vision_model.embeddings.{class_embedding, patch_embedding.weight,
 * position_embedding.weight}}, {@code vision_model.pre_layrnorm} (sic), {@code post_layernorm},
 * {@code visual_projection.weight}. A config.json is required.
 *
 * <p>OpenAI/open_clip: {@code token_embedding.weight}, {@code positional_embedding},
 * {@code transformer.resblocks.N.attn.in_proj_weight} (q, k, v fused: sliced here, no copy),
 * {@code attn.out_proj}, {@code ln_1/ln_2}, {@code mlp.c_fc/c_proj}, {@code ln_final},
 * {@code text_projection} [hidden, proj] (used as x·P: transposed once here to the Linear
 * layout); {@code visual.conv1.weight}, {@code visual.class_embedding},
 * {@code visual.positional_embedding}, {@code visual.ln_pre}, {@code visual.transformer.resblocks},
 * {@code visual.ln_post}, {@code visual.proj} (transposed likewise). Without a config the
 * dimensions are inferred from the shapes as openai/CLIP's {@code build_model} does (heads =
 * width / 64); an open_clip model config ({@link #readOpenClipConfig}) can say otherwise.
 */
public final class ClipWeightLoader {
    private static final System.Logger LOG = System.getLogger("dev.unclip4j.clip");
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Buffers some checkpoints carry that inference does not need. */
    private static final List<String> KNOWN_BUFFERS = List.of(
            "text_model.embeddings.position_ids", "vision_model.embeddings.position_ids",
            "input_resolution", "context_length", "vocab_size");

    private final Checkpoint ckpt;
    private final Arena arena = Arena.ofAuto();

    private ClipWeightLoader(Checkpoint ckpt) {
        this.ckpt = ckpt;
    }

    /** Which layout {@code ckpt} is in, by its key names. */
    public static Layout detectLayout(Checkpoint ckpt) {
        boolean hf = false, openai = false;
        for (String n : ckpt.names()) {
            if (n.startsWith("text_model.") || n.startsWith("vision_model.")) hf = true;
            if (n.startsWith("transformer.resblocks.") || n.startsWith("visual.") || n.equals("token_embedding.weight")) openai = true;
        }
        if (hf == openai) {
            throw new WeightFormatException(ckpt.source() + ": " + (hf ? "mixes" : "has neither")
                    + " Hugging Face (text_model.*, vision_model.*) and OpenAI (transformer.resblocks.*, visual.*) CLIP tensor names");
        }
        return hf ? Layout.HUGGING_FACE : Layout.OPENAI;
    }

    /**
     * Loads the towers present in {@code ckpt}. {@code config} is required for the Hugging Face
     * layout; for the OpenAI layout it may be null (dimensions inferred from the shapes).
     */
    public static ClipWeights.Model load(Checkpoint ckpt, ClipConfig config) {
        Layout layout = detectLayout(ckpt);
        ClipWeightLoader l = new ClipWeightLoader(ckpt);
        ClipWeights.Model m;
        if (layout == Layout.HUGGING_FACE) {
            if (config == null) throw new WeightFormatException(ckpt.source() + ": a Hugging Face CLIP checkpoint needs its config.json");
            m = l.loadHuggingFace(config);
        } else {
            m = l.loadOpenAi(config != null ? config : inferOpenAi(ckpt, null, null));
        }
        if (!m.unexpected().isEmpty()) {
            LOG.log(System.Logger.Level.WARNING, ckpt.source() + ": " + m.unexpected().size()
                    + " unexpected tensor(s) not used by the CLIP towers: " + m.unexpected());
        }
        return m;
    }

    // ---- Hugging Face -------------------------------------------------------------------------

    private ClipWeights.Model loadHuggingFace(ClipConfig config) {
        boolean hasText = hasPrefix("text_model."), hasVision = hasPrefix("vision_model.");
        ClipWeights.Text text = null;
        ClipWeights.Vision vision = null;
        if (hasText) {
            ClipTextConfig c = config.text();
            if (c == null) throw new WeightFormatException(ckpt.source() + ": has text_model.* tensors but the config has no text tower");
            long d = c.hiddenSize();
            String p = "text_model.";
            Weight tok = tensor(p + "embeddings.token_embedding.weight", "vocab_size, hidden_size", c.vocabSize(), d);
            Weight pos = tensor(p + "embeddings.position_embedding.weight", "max_position_embeddings, hidden_size",
                    c.maxPositionEmbeddings(), d);
            List<Layer> layers = new ArrayList<>();
            for (int i = 0; i < c.numHiddenLayers(); i++) layers.add(hfLayer(p + "encoder.layers." + i + ".", d, c.intermediateSize()));
            LayerNorm fin = layerNorm(p + "final_layer_norm", d);
            Linear proj = ckpt.contains("text_projection.weight")
                    ? new Linear(tensor("text_projection.weight", "projection_dim, hidden_size", c.projectionDim(), d), null) : null;
            text = new ClipWeights.Text(c, tok, pos, layers, fin, proj);
        }
        if (hasVision) {
            ClipVisionConfig c = config.vision();
            if (c == null) throw new WeightFormatException(ckpt.source() + ": has vision_model.* tensors but the config has no vision tower");
            long d = c.hiddenSize();
            String p = "vision_model.";
            Weight cls = tensor(p + "embeddings.class_embedding", "hidden_size", d);
            Weight patch = tensor(p + "embeddings.patch_embedding.weight", "hidden_size, num_channels, patch_size, patch_size",
                    d, c.numChannels(), c.patchSize(), c.patchSize());
            Weight pos = tensor(p + "embeddings.position_embedding.weight", "(image_size/patch_size)²+1, hidden_size",
                    c.numPositions(), d);
            LayerNorm pre = layerNorm(p + "pre_layrnorm", d);
            List<Layer> layers = new ArrayList<>();
            for (int i = 0; i < c.numHiddenLayers(); i++) layers.add(hfLayer(p + "encoder.layers." + i + ".", d, c.intermediateSize()));
            LayerNorm post = layerNorm(p + "post_layernorm", d);
            Linear proj = ckpt.contains("visual_projection.weight")
                    ? new Linear(tensor("visual_projection.weight", "projection_dim, hidden_size", c.projectionDim(), d), null) : null;
            vision = new ClipWeights.Vision(c, cls, patch, pos, pre, layers, post, proj);
        }
        if (text == null && vision == null) {
            throw new WeightFormatException(ckpt.source() + ": no CLIP tower tensors (text_model.*, vision_model.*)");
        }
        return finish(Layout.HUGGING_FACE, config, text, vision);
    }

    private Layer hfLayer(String p, long d, long inner) {
        return new Layer(layerNorm(p + "layer_norm1", d),
                linear(p + "self_attn.q_proj", d, d), linear(p + "self_attn.k_proj", d, d),
                linear(p + "self_attn.v_proj", d, d), linear(p + "self_attn.out_proj", d, d),
                layerNorm(p + "layer_norm2", d),
                linear(p + "mlp.fc1", inner, d), linear(p + "mlp.fc2", d, inner));
    }

    // ---- OpenAI / open_clip -------------------------------------------------------------------

    private ClipWeights.Model loadOpenAi(ClipConfig config) {
        ClipWeights.Text text = null;
        ClipWeights.Vision vision = null;
        if (ckpt.contains("token_embedding.weight")) {
            ClipTextConfig c = config.text();
            if (c == null) throw new WeightFormatException(ckpt.source() + ": has a text tower but the config has none");
            long d = c.hiddenSize();
            Weight tok = tensor("token_embedding.weight", "vocab_size, width", c.vocabSize(), d);
            Weight pos = tensor("positional_embedding", "context_length, width", c.maxPositionEmbeddings(), d);
            List<Layer> layers = new ArrayList<>();
            for (int i = 0; i < c.numHiddenLayers(); i++) layers.add(openAiLayer("transformer.resblocks." + i + ".", d, c.intermediateSize()));
            LayerNorm fin = layerNorm("ln_final", d);
            Linear proj = ckpt.contains("text_projection")
                    ? new Linear(transposed("text_projection", "width, embed_dim", d, c.projectionDim()), null) : null;
            text = new ClipWeights.Text(c, tok, pos, layers, fin, proj);
        }
        if (hasPrefix("visual.")) {
            ClipVisionConfig c = config.vision();
            if (c == null) throw new WeightFormatException(ckpt.source() + ": has visual.* tensors but the config has no vision tower");
            long d = c.hiddenSize();
            Weight cls = tensor("visual.class_embedding", "width", d);
            Weight patch = tensor("visual.conv1.weight", "width, 3, patch_size, patch_size", d, c.numChannels(), c.patchSize(), c.patchSize());
            Weight pos = tensor("visual.positional_embedding", "grid²+1, width", c.numPositions(), d);
            LayerNorm pre = layerNorm("visual.ln_pre", d);
            List<Layer> layers = new ArrayList<>();
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                layers.add(openAiLayer("visual.transformer.resblocks." + i + ".", d, c.intermediateSize()));
            }
            LayerNorm post = layerNorm("visual.ln_post", d);
            Linear proj = ckpt.contains("visual.proj")
                    ? new Linear(transposed("visual.proj", "width, embed_dim", d, c.projectionDim()), null) : null;
            vision = new ClipWeights.Vision(c, cls, patch, pos, pre, layers, post, proj);
        }
        if (text == null && vision == null) {
            throw new WeightFormatException(ckpt.source() + ": no CLIP tower tensors (token_embedding.weight, visual.*)");
        }
        return finish(Layout.OPENAI, config, text, vision);
    }

    private Layer openAiLayer(String p, long d, long inner) {
        String w = p + "attn.in_proj_weight", b = p + "attn.in_proj_bias";
        tensor(w, "3·width, width", 3 * d, d);
        tensor(b, "3·width", 3 * d);
        Linear q = new Linear(rows(w, 0, d), rows(b, 0, d));
        Linear k = new Linear(rows(w, d, d), rows(b, d, d));
        Linear v = new Linear(rows(w, 2 * d, d), rows(b, 2 * d, d));
        return new Layer(layerNorm(p + "ln_1", d), q, k, v, linear(p + "attn.out_proj", d, d),
                layerNorm(p + "ln_2", d), linear(p + "mlp.c_fc", inner, d), linear(p + "mlp.c_proj", d, inner));
    }

    /**
     * The config openai/CLIP's {@code build_model} would build for this state dict: widths,
     * layer counts, context, vocabulary, patch and image size from the shapes; heads = width / 64
     * unless {@code textHeads}/{@code visionHeads} say otherwise; QuickGELU; eps 1e-5.
     */
    public static ClipConfig inferOpenAi(Checkpoint ckpt, Integer textHeads, Integer visionHeads) {
        if (ckpt.contains("visual.layer1.0.conv1.weight") || ckpt.contains("visual.attnpool.positional_embedding")) {
            throw new WeightFormatException(ckpt.source() + ": ResNet (ModifiedResNet) CLIP image towers are not supported, only ViT");
        }
        int embed = -1;
        ClipTextConfig text = null;
        ClipVisionConfig vision = null;
        if (ckpt.contains("token_embedding.weight")) {
            int width = dim(ckpt, "ln_final.weight", 0);
            int heads = textHeads != null ? textHeads : headsFor(ckpt, width, "text");
            if (ckpt.contains("text_projection")) embed = dim(ckpt, "text_projection", 1);
            text = ClipTextConfig.of(dim(ckpt, "token_embedding.weight", 0), width,
                    dim(ckpt, "transformer.resblocks.0.mlp.c_fc.weight", 0), embed > 0 ? embed : width,
                    countLayers(ckpt, "transformer.resblocks."), heads, dim(ckpt, "positional_embedding", 0),
                    ClipActivation.QUICK_GELU);
        }
        if (ckpt.contains("visual.conv1.weight")) {
            int width = dim(ckpt, "visual.conv1.weight", 0);
            int patch = dim(ckpt, "visual.conv1.weight", 3);
            int positions = dim(ckpt, "visual.positional_embedding", 0);
            int grid = (int) Math.round(Math.sqrt(positions - 1));
            if (grid * grid + 1 != positions) {
                throw new WeightFormatException(ckpt.source() + ": tensor 'visual.positional_embedding' has " + positions
                        + " rows, not a square grid plus the class token");
            }
            int proj = ckpt.contains("visual.proj") ? dim(ckpt, "visual.proj", 1) : width;
            if (embed < 0) embed = proj;
            int heads = visionHeads != null ? visionHeads : headsFor(ckpt, width, "vision");
            vision = ClipVisionConfig.of(width, dim(ckpt, "visual.transformer.resblocks.0.mlp.c_fc.weight", 0), proj,
                    countLayers(ckpt, "visual.transformer.resblocks."), heads, patch * grid, patch, ClipActivation.QUICK_GELU);
        }
        if (text == null && vision == null) {
            throw new WeightFormatException(ckpt.source() + ": no OpenAI CLIP tower tensors (token_embedding.weight, visual.conv1.weight)");
        }
        return new ClipConfig(text, vision, embed, 2.6592, List.of());
    }

    /**
     * An open_clip model config ({@code open_clip_config.json}'s {@code model_cfg}, or a bare
     * model config as in open_clip's {@code model_configs/}): {@code embed_dim},
     * {@code quick_gelu}, {@code text_cfg} {context_length, vocab_size, width, heads, layers,
     * mlp_ratio}, {@code vision_cfg} {image_size, patch_size, width, layers, head_width,
     * mlp_ratio}. Keys absent take open_clip's defaults (quick_gelu false: OpenAI's own weights
     * need it true).
     */
    public static ClipConfig readOpenClipConfig(Path file) {
        JsonNode root = ConfigReader.parse(file);
        ConfigReader r = new ConfigReader(file.toString(), root);
        ConfigReader m = r.has("model_cfg") ? r.child("model_cfg") : r;
        r.ignore("preprocess_cfg");
        int embed = m.positive("embed_dim", 512);
        ClipActivation act = m.bool("quick_gelu", false) ? ClipActivation.QUICK_GELU : ClipActivation.GELU;
        ConfigReader t = m.child("text_cfg"), v = m.child("vision_cfg");
        ClipTextConfig text = null;
        ClipVisionConfig vision = null;
        if (t != null) {
            int width = t.positive("width", 512);
            text = ClipTextConfig.of(t.positive("vocab_size", 49408), width,
                    (int) Math.round(width * t.number("mlp_ratio", 4.0)), embed, t.positive("layers", 12),
                    t.positive("heads", 8), t.positive("context_length", 77), act);
        }
        if (v != null) {
            int width = v.positive("width", 768);
            vision = ClipVisionConfig.of(width, (int) Math.round(width * v.number("mlp_ratio", 4.0)), embed,
                    v.positive("layers", 12), width / v.positive("head_width", 64), v.positive("image_size", 224),
                    v.positive("patch_size", 16), act);
        }
        return new ClipConfig(text, vision, embed, 2.6592, ClipConfig.ignorable(m));
    }

    private static int headsFor(Checkpoint ckpt, int width, String tower) {
        if (width % 64 != 0) {
            throw new WeightFormatException(ckpt.source() + ": the " + tower + " width " + width + " is not a multiple of 64, "
                    + "so the head count cannot be inferred as openai/CLIP does (width / 64): give an open_clip config");
        }
        return width / 64;
    }

    private static int dim(Checkpoint ckpt, String name, int axis) {
        TensorEntry e = ckpt.entry(name);
        if (e.rank() <= axis) {
            throw new WeightFormatException(ckpt.source() + ": tensor '" + name + "' is " + Arrays.toString(e.shape())
                    + ", expected at least " + (axis + 1) + " dimensions");
        }
        return Math.toIntExact(e.dim(axis));
    }

    private static int countLayers(Checkpoint ckpt, String prefix) {
        Set<Integer> seen = new TreeSet<>();
        for (String n : ckpt.names()) {
            if (!n.startsWith(prefix)) continue;
            String rest = n.substring(prefix.length());
            int dot = rest.indexOf('.');
            try {
                seen.add(Integer.parseInt(dot < 0 ? rest : rest.substring(0, dot)));
            } catch (NumberFormatException ignored) {
                // not a layer index: reported as unexpected later
            }
        }
        int n = seen.size();
        for (int i = 0; i < n; i++) {
            if (!seen.contains(i)) throw new WeightFormatException(ckpt.source() + ": missing tensors of layer '" + prefix + i + "'");
        }
        return n;
    }

    // ---- tensors by role ----------------------------------------------------------------------

    private boolean hasPrefix(String prefix) {
        for (String n : ckpt.names()) if (n.startsWith(prefix)) return true;
        return false;
    }

    private ClipWeights.Model finish(Layout layout, ClipConfig config, ClipWeights.Text text, ClipWeights.Vision vision) {
        Weight logitScale = ckpt.contains("logit_scale") ? tensor("logit_scale", "a scalar") : null;
        for (String b : KNOWN_BUFFERS) ckpt.markUsed(b);
        return new ClipWeights.Model(layout, config, text, vision, logitScale, ckpt.unusedNames());
    }

    /** {@code name}, a float tensor of exactly {@code shape} (the config keys that set it named on a mismatch). */
    private Weight tensor(String name, String keys, long... shape) {
        TensorEntry e = ckpt.entry(name);
        if (!e.type().isFloat()) {
            throw new WeightFormatException(e.file() + ": tensor '" + name + "' is " + e.type() + ", expected a float type");
        }
        boolean scalarOk = shape.length == 0 && e.numel() == 1;
        if (!scalarOk && !Arrays.equals(e.shape(), shape)) {
            throw new WeightFormatException(e.file() + ": tensor '" + name + "' is " + Arrays.toString(e.shape())
                    + " but the config (" + keys + ") gives " + Arrays.toString(shape));
        }
        return new Weight(e, ckpt.segment(name));
    }

    private Linear linear(String prefix, long out, long in) {
        return new Linear(tensor(prefix + ".weight", "out, in", out, in), tensor(prefix + ".bias", "out", out));
    }

    private LayerNorm layerNorm(String prefix, long d) {
        return new LayerNorm(tensor(prefix + ".weight", "hidden width", d), tensor(prefix + ".bias", "hidden width", d));
    }

    /** Rows [start, start + count) of a tensor already checked: a slice of the mapping, no copy. */
    private Weight rows(String name, long start, long count) {
        TensorEntry e = ckpt.entry(name);
        long rowElems = e.rank() == 1 ? 1 : e.numel() / e.dim(0);
        long rowBytes = rowElems * e.type().byteSize();
        long[] shape = e.shape();
        shape[0] = count;
        long offset = start * rowBytes, bytes = count * rowBytes;
        TensorEntry slice = new TensorEntry(name + "[" + start + ":" + (start + count) + "]", e.type(), shape,
                e.begin() + offset, e.begin() + offset + bytes, e.file());
        return new Weight(slice, ckpt.segment(name).asSlice(offset, bytes));
    }

    /** A [rows, cols] tensor as [cols, rows] float32, copied once. */
    private Weight transposed(String name, String keys, long rows, long cols) {
        Weight w = tensor(name, keys, rows, cols);
        float[] src = w.floats();
        int r = Math.toIntExact(rows), c = Math.toIntExact(cols);
        MemorySegment out = arena.allocate((long) r * c * 4, 64);
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < c; j++) out.setAtIndex(F32_LE, (long) j * r + i, src[i * c + j]);
        }
        TensorEntry e = new TensorEntry(name + ".T", StoredType.F32, new long[] {cols, rows}, 0, out.byteSize(), w.entry().file());
        return new Weight(e, out);
    }
}
