package dev.unclip4j.unet;

import dev.unclip4j.bindings.Activation;
import dev.unclip4j.io.ConfigReader;
import dev.unclip4j.io.WeightFormatException;
import dev.unclip4j.nn.ResBlock;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A U-Net's config.json, read as diffusers v0.20.0 reads it — {@code UNet2DConditionModel} (the
 * unCLIP decoder) or {@code UNet2DModel} (the super-resolution nets) — and laid out into the
 * blocks its constructor would build ({@link Block}), with every per-block rule of
 * {@code get_down_block} / {@code get_up_block} applied here, once, so that {@link UNet} only
 * builds what this says.
 *
 * <p>Every key either class writes is read. A key or value these classes implement but this code
 * does not (another block type, {@code only_cross_attention}, {@code dual_cross_attention},
 * {@code encoder_hid_dim}, a {@code time_embedding_type} other than positional, …) is an error
 * naming the component, the key and the value; so is a key neither class knows. Keys that only
 * affect blocks this code refuses anyway ({@code use_linear_projection},
 * {@code transformer_layers_per_block}, {@code addition_embed_type_num_heads}, …) are read and
 * ignored: they change nothing in the blocks built here.
 *
 * @param component       the model folder's component name, for messages
 * @param conditional     UNet2DConditionModel (true) or UNet2DModel (false)
 * @param sampleSize      [H, W] the model was trained at (the pipeline reads it)
 * @param timeEmbedDim    the time embedding's width (time_embedding_dim or 4 × block_out_channels[0])
 * @param timeInputDim    the sinusoidal projection's width (block_out_channels[0])
 * @param timeAct         TimestepEmbedding's act_fn (between linear_1 and linear_2)
 * @param timePostAct     timestep_post_act, or NONE
 * @param timeEmbedAct    time_embedding_act_fn (after the class embedding), or NONE
 * @param classIdentity   class_embed_type "identity": class_labels [N, timeEmbedDim] added to emb
 * @param crossAttentionDims per down block (the text tokens' width at each block's added K/V)
 * @param convOutAct      the activation after conv_norm_out (UNet2DModel: always SiLU)
 */
public record UNetConfig(String component, boolean conditional, int inChannels, int outChannels, int[] sampleSize,
                         boolean centerInputSample, boolean flipSinToCos, float freqShift, int[] blockOutChannels,
                         int normGroups, float normEps, int timeEmbedDim, int timeInputDim, Activation timeAct,
                         Activation timePostAct, Activation timeEmbedAct, boolean classIdentity, int convInKernel,
                         int convOutKernel, Activation convOutAct, int[] crossAttentionDims, List<Block> down,
                         Block mid, List<Block> up) {

    /** Where a block's attention takes its keys and values from. */
    public enum AttentionKind {
        /** AttnAddedKVProcessor: the text tokens' add_k/add_v projections, then the pixels' own. */
        ADDED_KV,
        /** AttnProcessor: self-attention over the pixels (UNet2DModel's AttnDownBlock2D …). */
        SELF
    }

    /** diffusers' cross_attention_norm: how the text tokens are normed before add_k/add_v. */
    public enum CrossNorm { NONE, LAYER_NORM, GROUP_NORM }

    /** How a block changes the resolution after its layers. */
    public enum Sampler {
        NONE,
        /** A ResnetBlock2D with down=True / up=True (Resnet*Block2D, *_type "resnet"). */
        RESNET,
        /** Downsample2D (3×3 conv, stride 2) / Upsample2D (nearest 2×, then 3×3 conv). */
        CONV
    }

    /**
     * One attention layer's shape: heads × headDim (inner width), its group norm (0 groups: none,
     * the mid-block quirk of UNetMidBlock2D under scale_shift), output rescale, and for ADDED_KV
     * the text width and its norm.
     */
    public record Attention(AttentionKind kind, int channels, int heads, int headDim, int groups, float eps,
                            float rescaleOutputFactor, int crossDim, CrossNorm crossNorm) {}

    /**
     * One block: its type name as in the config, the ResnetBlock2D of each layer (input and output
     * channels and options; up blocks' inputs include the skip connection they concatenate), the
     * attention after each layer's resnet (null: none), and its resampler (a resnet with the
     * sampler's options, or a conv with stride 2 / after nearest 2×).
     */
    public record Block(String type, List<Layer> layers, Attention attention, Sampler sampler,
                        ResBlock.Options samplerOptions, int channels) {
        public boolean hasAttention() {
            return attention != null;
        }
    }

    /** A block's layer: its resnet's input channels (skip included for up blocks), output channels, options. */
    public record Layer(int in, int out, ResBlock.Options options) {}

    private static final List<String> DOWN_TYPES = List.of("ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D",
            "DownBlock2D", "AttnDownBlock2D");
    private static final List<String> UP_TYPES = List.of("ResnetUpsampleBlock2D", "SimpleCrossAttnUpBlock2D",
            "UpBlock2D", "AttnUpBlock2D");

    /** Reads {@code dir/config.json}; {@code component} names it in messages. */
    public static UNetConfig read(Path dir, String component) {
        Path file = dir.resolve("config.json");
        return read(new ConfigReader(component + " (" + file + ")", ConfigReader.parse(file)), component);
    }

    public static UNetConfig read(ConfigReader r, String component) {
        // diffusers' own bookkeeping (_diffusers_version, _name_or_path, _use_default_values, …).
        for (String key : r.unreadKeys()) if (key.startsWith("_") && !key.equals("_class_name")) r.ignore(key);
        String cls = r.choice("_class_name", "UNet2DConditionModel", "UNet2DConditionModel", "UNet2DModel");
        boolean conditional = cls.equals("UNet2DConditionModel");
        UNetConfig c = conditional ? readConditional(r, component) : readPlain(r, component);
        r.rejectUnreadKeys();
        return c;
    }

    // ---- UNet2DConditionModel (models/unet_2d_condition.py __init__) ----------------------------

    private static UNetConfig readConditional(ConfigReader r, String component) {
        int inC = r.positive("in_channels", 4), outC = r.positive("out_channels", 4);
        int[] sample = sampleSize(r);
        boolean center = r.bool("center_input_sample", false);
        boolean flip = r.bool("flip_sin_to_cos", true);
        float shift = (float) r.number("freq_shift", 0);
        List<String> downTypes = blockTypes(r, "down_block_types", List.of("CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                "CrossAttnDownBlock2D", "DownBlock2D"), DOWN_TYPES);
        // Absent: the constructor's default; null: no mid block.
        String midType = r.string("mid_block_type", r.present("mid_block_type") ? null : "UNetMidBlock2DCrossAttn");
        if (midType != null && !midType.equals("UNetMidBlock2DSimpleCrossAttn")) {
            throw r.unsupported("mid_block_type", "\"" + midType + "\"", "UNetMidBlock2DSimpleCrossAttn, null");
        }
        List<String> upTypes = blockTypes(r, "up_block_types", List.of("UpBlock2D", "CrossAttnUpBlock2D",
                "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"), UP_TYPES);
        int blocks = downTypes.size();
        // only_cross_attention drops the pixels' own keys; v0.20.0 then pads the text mask to the
        // wrong length and fails, so no working unCLIP checkpoint sets it.
        requireFalse(r, "only_cross_attention", blocks);
        requireFalse(r, "mid_block_only_cross_attention", 1);
        int[] channels = r.integers("block_out_channels", new int[] {320, 640, 1280, 1280});
        checkBlocks(r, downTypes, upTypes, channels);
        int[] layers = r.integerOrList("layers_per_block", blocks);
        if (layers == null) layers = filled(blocks, 2);
        int downsamplePadding = r.integer("downsample_padding", 1);
        float midScale = (float) r.number("mid_block_scale_factor", 1);
        Activation act = activation(r, "act_fn", "silu");
        int groups = normGroups(r);
        float eps = (float) r.number("norm_eps", 1e-5);
        int[] cross = r.integerOrList("cross_attention_dim", blocks);
        if (cross == null) cross = filled(blocks, 1280);
        r.integerOrList("transformer_layers_per_block", blocks);  // Transformer2DModel blocks only
        r.requireDefault("encoder_hid_dim", null);
        r.requireDefault("encoder_hid_dim_type", null);
        int[] headDim = r.integerOrList("attention_head_dim", blocks);
        if (headDim == null) headDim = filled(blocks, 8);
        // v0.20.0 raises on num_attention_heads ("not possible … because of a naming issue").
        r.requireDefault("num_attention_heads", null);
        r.requireDefault("dual_cross_attention", false);
        r.bool("use_linear_projection", false);  // Transformer2DModel blocks only
        String classType = r.choice("class_embed_type", null, "identity");
        r.requireDefault("num_class_embeds", null);
        r.requireDefault("addition_embed_type", null);
        r.ignore("addition_time_embed_dim", "addition_embed_type_num_heads", "projection_class_embeddings_input_dim");
        r.bool("upcast_attention", false);  // the kernels keep softmax statistics in f32 whatever the dtype
        ResBlock.TimeNorm timeNorm = timeNorm(r);
        boolean skipTimeAct = r.bool("resnet_skip_time_act", false);
        float outScale = (float) r.number("resnet_out_scale_factor", 1.0);
        r.choice("time_embedding_type", "positional", "positional");
        int timeDim = r.optionalInteger("time_embedding_dim", null) == null ? channels[0] * 4
                : r.positive("time_embedding_dim", 0);
        Activation timeEmbedAct = optionalActivation(r, "time_embedding_act_fn");
        Activation postAct = optionalActivation(r, "timestep_post_act");
        r.requireDefault("time_cond_proj_dim", null);
        int convIn = oddKernel(r, "conv_in_kernel"), convOut = oddKernel(r, "conv_out_kernel");
        r.choice("attention_type", "default", "default");
        r.requireDefault("class_embeddings_concat", false);
        String crossNormName = r.choice("cross_attention_norm", null, "layer_norm", "group_norm");
        CrossNorm crossNorm = crossNormName == null ? CrossNorm.NONE
                : crossNormName.equals("layer_norm") ? CrossNorm.LAYER_NORM : CrossNorm.GROUP_NORM;

        // The blocks, as __init__ builds them.
        List<Block> down = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            int in = i == 0 ? channels[0] : channels[i - 1];
            boolean last = i == blocks - 1;
            down.add(downBlock(r, downTypes.get(i), layers[i], in, channels[i], !last, groups, eps, act, timeNorm,
                    skipTimeAct, outScale, headDim[i], cross[i], crossNorm, downsamplePadding, "conv"));
        }
        Block mid = null;
        if (midType != null) {
            int c = channels[blocks - 1];
            ResBlock.Options o = new ResBlock.Options(groups, eps, midScale, ResBlock.Resample.NONE, timeNorm, skipTimeAct, act);
            Attention a = addedKv(r, c, headDim[blocks - 1], groups, cross[blocks - 1], crossNorm);
            mid = new Block(midType, List.of(new Layer(c, c, o), new Layer(c, c, o)), a, Sampler.NONE, null, c);
        }
        List<Block> up = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            int rev = blocks - 1 - i;
            int out = channels[rev], prev = channels[Math.min(rev + 1, blocks - 1)];
            int in = channels[Math.max(rev - 1, 0)];
            // v0.20.0 hands the up blocks attention_head_dim[i], not reversed (unet_2d_condition.py
            // "attention_head_dim=attention_head_dim[i]"), while channels and layers are reversed.
            up.add(upBlock(r, upTypes.get(i), layers[rev] + 1, in, out, prev, i != blocks - 1, groups, eps, act,
                    timeNorm, skipTimeAct, outScale, headDim[i], cross[rev], crossNorm, "conv"));
        }
        return new UNetConfig(component, true, inC, outC, sample, center, flip, shift, channels, groups, eps, timeDim,
                channels[0], act, postAct, timeEmbedAct, "identity".equals(classType), convIn, convOut, act, cross, down,
                mid, up);
    }

    // ---- UNet2DModel (models/unet_2d.py __init__) -----------------------------------------------

    private static UNetConfig readPlain(ConfigReader r, String component) {
        int[] sample = sampleSize(r);
        int inC = r.positive("in_channels", 3), outC = r.positive("out_channels", 3);
        boolean center = r.bool("center_input_sample", false);
        r.choice("time_embedding_type", "positional", "positional");
        float shift = (float) r.number("freq_shift", 0);
        boolean flip = r.bool("flip_sin_to_cos", true);
        List<String> downTypes = blockTypes(r, "down_block_types", List.of("DownBlock2D", "AttnDownBlock2D",
                "AttnDownBlock2D", "AttnDownBlock2D"), DOWN_TYPES);
        List<String> upTypes = blockTypes(r, "up_block_types", List.of("AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D",
                "UpBlock2D"), UP_TYPES);
        for (String t : downTypes) if (t.startsWith("SimpleCrossAttn")) throw r.unsupported("down_block_types", t, "UNet2DModel has no text input");
        for (String t : upTypes) if (t.startsWith("SimpleCrossAttn")) throw r.unsupported("up_block_types", t, "UNet2DModel has no text input");
        int[] channels = r.integers("block_out_channels", new int[] {224, 448, 672, 896});
        checkBlocks(r, downTypes, upTypes, channels);
        int blocks = channels.length;
        int layers = r.positive("layers_per_block", 2);
        float midScale = (float) r.number("mid_block_scale_factor", 1);
        int downsamplePadding = r.integer("downsample_padding", 1);
        String downType = r.choice("downsample_type", "conv", "conv", "resnet");
        String upType = r.choice("upsample_type", "conv", "conv", "resnet");
        Activation act = activation(r, "act_fn", "silu");
        // Absent: the constructor's 8; null: one head as wide as each block.
        Integer headDim = r.present("attention_head_dim") && !r.has("attention_head_dim") ? null
                : Integer.valueOf(r.positive("attention_head_dim", 8));
        r.ignore("attention_head_dim");
        int groups = normGroups(r);
        float eps = (float) r.number("norm_eps", 1e-5);
        ResBlock.TimeNorm timeNorm = timeNorm(r);
        boolean addAttention = r.bool("add_attention", true);
        r.requireDefault("class_embed_type", null);
        r.requireDefault("num_class_embeds", null);

        // get_down_block / get_up_block receive neither resnet_skip_time_act nor
        // resnet_out_scale_factor from UNet2DModel: their defaults (False, 1.0) apply.
        List<Block> down = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            int in = i == 0 ? channels[0] : channels[i - 1];
            down.add(downBlock(r, downTypes.get(i), layers, in, channels[i], i != blocks - 1, groups, eps, act, timeNorm,
                    false, 1f, headDim == null ? channels[i] : headDim, 0, CrossNorm.NONE, downsamplePadding, downType));
        }
        int c = channels[blocks - 1];
        ResBlock.Options mo = new ResBlock.Options(groups, eps, midScale, ResBlock.Resample.NONE, timeNorm, false, act);
        Attention midAttention = null;
        if (addAttention) {
            int hd = headDim == null ? c : headDim;
            // UNetMidBlock2D: the attention's group norm only under time shift "default"
            // (norm_num_groups=resnet_groups if resnet_time_scale_shift == "default" else None).
            midAttention = new Attention(AttentionKind.SELF, c, c / hd, hd,
                    timeNorm == ResBlock.TimeNorm.DEFAULT ? groups : 0, eps, midScale, 0, CrossNorm.NONE);
        }
        Block mid = new Block("UNetMidBlock2D", List.of(new Layer(c, c, mo), new Layer(c, c, mo)), midAttention,
                Sampler.NONE, null, c);
        List<Block> up = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            int rev = blocks - 1 - i;
            int out = channels[rev], prev = channels[Math.min(rev + 1, blocks - 1)];
            int in = channels[Math.max(rev - 1, 0)];
            up.add(upBlock(r, upTypes.get(i), layers + 1, in, out, prev, i != blocks - 1, groups, eps, act, timeNorm,
                    false, 1f, headDim == null ? out : headDim, 0, CrossNorm.NONE, upType));
        }
        // UNet2DModel's conv_act is nn.SiLU() whatever act_fn says.
        return new UNetConfig(component, false, inC, outC, sample, center, flip, shift, channels, groups, eps,
                channels[0] * 4, channels[0], Activation.SILU, Activation.NONE, Activation.NONE, false, 3, 3,
                Activation.SILU, new int[blocks], down, mid, up);
    }

    // ---- blocks (unet_2d_blocks.py) -----------------------------------------------------------

    private static Block downBlock(ConfigReader r, String type, int layers, int in, int out, boolean sample, int groups,
                                   float eps, Activation act, ResBlock.TimeNorm timeNorm, boolean skipTimeAct,
                                   float outScale, int headDim, int cross, CrossNorm crossNorm, int downsamplePadding,
                                   String downsampleType) {
        // Which of the model's options get_down_block passes on to each type.
        boolean resnetType = type.equals("ResnetDownsampleBlock2D") || type.equals("SimpleCrossAttnDownBlock2D");
        ResBlock.Options o = new ResBlock.Options(groups, eps, resnetType ? outScale : 1f, ResBlock.Resample.NONE, timeNorm,
                resnetType && skipTimeAct, act);
        List<Layer> ls = new ArrayList<>();
        for (int j = 0; j < layers; j++) ls.add(new Layer(j == 0 ? in : out, out, o));
        Attention a = switch (type) {
            case "SimpleCrossAttnDownBlock2D" -> addedKv(r, out, headDim, groups, cross, crossNorm);
            case "AttnDownBlock2D" -> new Attention(AttentionKind.SELF, out, out / headDim, headDim, groups, eps, 1f, 0,
                    CrossNorm.NONE);
            default -> null;
        };
        Sampler s = !sample ? Sampler.NONE
                : resnetType ? Sampler.RESNET
                : type.equals("AttnDownBlock2D") && downsampleType.equals("resnet") ? Sampler.RESNET : Sampler.CONV;
        if (s == Sampler.CONV && downsamplePadding != 1) {
            throw r.unsupported("downsample_padding", String.valueOf(downsamplePadding), "1");
        }
        ResBlock.Options so = s == Sampler.RESNET ? withResample(o, ResBlock.Resample.DOWN) : null;
        return new Block(type, ls, a, s, so, out);
    }

    private static Block upBlock(ConfigReader r, String type, int layers, int in, int out, int prev, boolean sample,
                                 int groups, float eps, Activation act, ResBlock.TimeNorm timeNorm, boolean skipTimeAct,
                                 float outScale, int headDim, int cross, CrossNorm crossNorm, String upsampleType) {
        boolean resnetType = type.equals("ResnetUpsampleBlock2D") || type.equals("SimpleCrossAttnUpBlock2D");
        ResBlock.Options o = new ResBlock.Options(groups, eps, resnetType ? outScale : 1f, ResBlock.Resample.NONE, timeNorm,
                resnetType && skipTimeAct, act);
        List<Layer> ls = new ArrayList<>();
        for (int j = 0; j < layers; j++) {
            int skip = j == layers - 1 ? in : out;
            ls.add(new Layer((j == 0 ? prev : out) + skip, out, o));
        }
        Attention a = switch (type) {
            case "SimpleCrossAttnUpBlock2D" -> addedKv(r, out, headDim, groups, cross, crossNorm);
            case "AttnUpBlock2D" -> new Attention(AttentionKind.SELF, out, out / headDim, headDim, groups, eps, 1f, 0,
                    CrossNorm.NONE);
            default -> null;
        };
        Sampler s = !sample ? Sampler.NONE
                : resnetType ? Sampler.RESNET
                : type.equals("AttnUpBlock2D") && upsampleType.equals("resnet") ? Sampler.RESNET : Sampler.CONV;
        ResBlock.Options so = s == Sampler.RESNET ? withResample(o, ResBlock.Resample.UP) : null;
        return new Block(type, ls, a, s, so, out);
    }

    /** The SimpleCrossAttn blocks' Attention: heads = channels // head dim, group norm eps 1e-5 (Attention's default). */
    private static Attention addedKv(ConfigReader r, int channels, int headDim, int groups, int cross, CrossNorm norm) {
        if (norm == CrossNorm.GROUP_NORM && cross % 32 != 0) {
            // Attention builds GroupNorm(added_kv_proj_dim, cross_attention_norm_num_groups=32).
            throw r.unsupported("cross_attention_norm", "\"group_norm\" with cross_attention_dim " + cross,
                    "group_norm needs cross_attention_dim divisible by 32, as in diffusers");
        }
        if (norm == CrossNorm.LAYER_NORM && cross != channels) {
            // Attention builds LayerNorm(cross_attention_dim = the block's channels) and applies it to
            // the text tokens, so diffusers itself fails unless the two widths agree.
            throw r.unsupported("cross_attention_norm", "\"layer_norm\" with cross_attention_dim " + cross
                    + " ≠ block channels " + channels, "layer_norm needs them equal, as in diffusers");
        }
        return new Attention(AttentionKind.ADDED_KV, channels, channels / headDim, headDim, groups, 1e-5f, 1f, cross, norm);
    }

    private static ResBlock.Options withResample(ResBlock.Options o, ResBlock.Resample resample) {
        return new ResBlock.Options(o.groups(), o.eps(), o.outputScaleFactor(), resample, o.timeNorm(), o.skipTimeAct(),
                o.act());
    }

    // ---- key readers ------------------------------------------------------------------------------

    private static int[] sampleSize(ConfigReader r) {
        return r.integerOrList("sample_size", 2);
    }

    private static List<String> blockTypes(ConfigReader r, String key, List<String> fallback, List<String> supported) {
        List<String> types = new ArrayList<>();
        for (String t : r.strings(key, fallback)) {
            String name = t.startsWith("UNetRes") ? t.substring(7) : t;  // get_down_block / get_up_block strip it
            if (!supported.contains(name)) throw r.unsupported(key, "\"" + t + "\"", String.join(", ", supported));
            types.add(name);
        }
        return types;
    }

    private static void checkBlocks(ConfigReader r, List<String> down, List<String> up, int[] channels) {
        if (down.size() != up.size() || channels.length != down.size() || channels.length == 0) {
            throw new WeightFormatException(r.where() + ": down_block_types (" + down.size() + "), up_block_types ("
                    + up.size() + ") and block_out_channels (" + channels.length + ") must have one entry per block");
        }
        for (int c : channels) if (c <= 0) throw r.unsupported("block_out_channels", Arrays.toString(channels), "positive widths");
    }

    private static void requireFalse(ConfigReader r, String key, int count) {
        boolean[] v = r.boolOrList(key, count);
        if (v == null) return;
        for (boolean b : v) if (b) throw r.unsupported(key, "true", "false");
    }

    private static int normGroups(ConfigReader r) {
        if (r.present("norm_num_groups") && !r.has("norm_num_groups")) {
            throw r.unsupported("norm_num_groups", "null", "a number of groups");
        }
        return r.positive("norm_num_groups", 32);
    }

    private static ResBlock.TimeNorm timeNorm(ConfigReader r) {
        String s = r.choice("resnet_time_scale_shift", "default", "default", "scale_shift");
        return s.equals("default") ? ResBlock.TimeNorm.DEFAULT : ResBlock.TimeNorm.SCALE_SHIFT;
    }

    /** diffusers' get_activation names that the kernels have. */
    private static Activation activation(ConfigReader r, String key, String fallback) {
        String s = r.choice(key, fallback, "silu", "swish", "gelu");
        return s.equals("gelu") ? Activation.GELU_ERF : Activation.SILU;
    }

    private static Activation optionalActivation(ConfigReader r, String key) {
        if (r.has(key)) return activation(r, key, null);
        r.ignore(key);
        return Activation.NONE;
    }

    private static int oddKernel(ConfigReader r, String key) {
        int k = r.positive(key, 3);
        if (k % 2 == 0) throw r.unsupported(key, String.valueOf(k), "an odd kernel size (padding (k - 1) / 2)");
        return k;
    }

    private static int[] filled(int n, int v) {
        int[] a = new int[n];
        Arrays.fill(a, v);
        return a;
    }

    /** Resolution halvings from the input to the lowest block (a sample side must divide 2^this). */
    public int downsamplings() {
        int n = 0;
        for (Block b : down) if (b.sampler() != Sampler.NONE) n++;
        return n;
    }
}
