package dev.unclip4j.unet;

import dev.unclip4j.bindings.Activation;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.io.Checkpoint;
import dev.unclip4j.io.WeightReader;
import dev.unclip4j.nn.ResBlock;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The unCLIP U-Nets: diffusers' {@code UNet2DConditionModel} (the decoder: 64×64, conditioned on
 * the text tokens and the CLIP image embedding) and {@code UNet2DModel} (the super-resolution
 * nets). Both are the same skeleton — time embedding, conv_in, down blocks that keep their skip
 * connections, mid block, up blocks that consume them, norm + conv_out — and differ in what the
 * config builds into it ({@link UNetConfig}), so one class runs both. {@link #forward} follows the
 * numbered sections of diffusers' {@code UNet2DConditionModel.forward}.
 *
 * <p>Activations are NHWC: sample [N, H, W, C] where diffusers has [N, C, H, W]. Weights are
 * uploaded once at {@link #load} (conv weights converted to OHWI) and owned here; every
 * activation comes from the caller's {@link Workspace}, so a forward at a batch and size already
 * seen allocates nothing. The conditional and unconditional halves of classifier-free guidance
 * run as one batch of 2N.
 */
public final class UNet implements AutoCloseable {
    private final Backend backend;
    private final DType dtype;
    private final UNetConfig config;
    private final List<Tensor> owned;
    private final List<ResBlock> resBlocks;

    // 1. time
    private final Tensor timeLinear1Weight, timeLinear1Bias;   // time_embedding.linear_1 [T, C0], [T]
    private final Tensor timeLinear2Weight, timeLinear2Bias;   // time_embedding.linear_2 [T, T], [T]
    // 2. pre-process
    private final Tensor convInWeight, convInBias;             // OHWI [C0, k, k, Cin], [C0]
    private final Tensor centerScale, centerShift;             // [Cin] of 2 and −1 (center_input_sample), or null
    // 3.–5. blocks
    private final List<UNetBlock> downBlocks, upBlocks;
    private final UNetBlock midBlock;                          // null: mid_block_type null
    // 6. post-process
    private final Tensor convNormOutWeight, convNormOutBias;   // [C0]
    private final Tensor convOutWeight, convOutBias;           // OHWI [Cout, k, k, C0], [Cout]

    private UNet(Backend backend, DType dtype, UNetConfig config, WeightReader r, List<ResBlock> resBlocks) {
        this.backend = backend;
        this.dtype = dtype;
        this.config = config;
        this.resBlocks = resBlocks;
        int c0 = config.blockOutChannels()[0], t = config.timeEmbedDim(), cin = config.inChannels();
        timeLinear1Weight = r.get("time_embedding.linear_1.weight", t, config.timeInputDim());
        timeLinear1Bias = r.get("time_embedding.linear_1.bias", t);
        timeLinear2Weight = r.get("time_embedding.linear_2.weight", t, t);
        timeLinear2Bias = r.get("time_embedding.linear_2.bias", t);
        int kin = config.convInKernel();
        convInWeight = r.conv("conv_in.weight", c0, cin, kin, kin);
        convInBias = r.get("conv_in.bias", c0);
        if (config.centerInputSample()) {
            float[] two = new float[cin], minusOne = new float[cin];
            Arrays.fill(two, 2f);
            Arrays.fill(minusOne, -1f);
            centerScale = r.track(backend.fromFloats(dtype, two, cin));
            centerShift = r.track(backend.fromFloats(dtype, minusOne, cin));
        } else {
            centerScale = centerShift = null;
        }
        downBlocks = new ArrayList<>();
        for (int i = 0; i < config.down().size(); i++) {
            downBlocks.add(new UNetBlock(r, "down_blocks." + i + ".", config.down().get(i), t, "downsamplers", resBlocks));
        }
        midBlock = config.mid() == null ? null : new UNetBlock(r, "mid_block.", config.mid(), t, null, resBlocks);
        upBlocks = new ArrayList<>();
        for (int i = 0; i < config.up().size(); i++) {
            upBlocks.add(new UNetBlock(r, "up_blocks." + i + ".", config.up().get(i), t, "upsamplers", resBlocks));
        }
        convNormOutWeight = r.get("conv_norm_out.weight", c0);
        convNormOutBias = r.get("conv_norm_out.bias", c0);
        int kout = config.convOutKernel();
        convOutWeight = r.conv("conv_out.weight", config.outChannels(), c0, kout, kout);
        convOutBias = r.get("conv_out.bias", config.outChannels());
        owned = r.finish();
    }

    /**
     * Loads a U-Net component folder (config.json + diffusion_pytorch_model.safetensors) onto
     * {@code backend} in {@code dtype}. The config is checked first: an unsupported key or value
     * fails before any weight is read.
     */
    public static UNet load(Path dir, String component, Backend backend, DType dtype) {
        UNetConfig config = UNetConfig.read(dir, component);
        try (Checkpoint ckpt = Checkpoint.open(weightsFile(dir)); WeightReader r = new WeightReader(component, ckpt, backend, dtype)) {
            List<ResBlock> blocks = new ArrayList<>();
            try {
                return new UNet(backend, dtype, config, r, blocks);
            } catch (RuntimeException e) {
                blocks.forEach(ResBlock::close);
                throw e;
            }
        }
    }

    /** diffusers' weight file of a component folder: the sharded index if there is one, else the single file. */
    static Path weightsFile(Path dir) {
        Path index = dir.resolve("diffusion_pytorch_model.safetensors.index.json");
        return Files.exists(index) ? index : dir.resolve("diffusion_pytorch_model.safetensors");
    }

    public UNetConfig config() {
        return config;
    }

    public DType dtype() {
        return dtype;
    }

    /** Receives named intermediate results of a forward (diffusers' names: emb, conv_in, down.i, mid, up.i). */
    @FunctionalInterface
    public interface Probe {
        void record(String name, Tensor value);
    }

    /** {@link #forward(Tensor, float[], Tensor, Tensor, Tensor, Workspace, Probe)} without a probe. */
    public Tensor forward(Tensor sample, float[] timesteps, Tensor encoderHiddenStates, Tensor attentionMask,
                          Tensor classLabels, Workspace ws) {
        return forward(sample, timesteps, encoderHiddenStates, attentionMask, classLabels, ws, null);
    }

    /**
     * One pass. sample: [N, H, W, in_channels] (H, W divisible by 2^downsamplings); timesteps: one
     * per row (diffusers broadcasts a single one: pass it N times); encoderHiddenStates [N, L,
     * cross_attention_dim] and attentionMask [N, L] (1 = token, 0 = padding, or null) for the
     * decoder, null for UNet2DModel; classLabels [N, time_embed_dim] with class_embed_type
     * "identity" (the decoder's additive CLIP time embeddings), else null. Returns [N, H, W,
     * out_channels], a workspace tensor.
     */
    public Tensor forward(Tensor sample, float[] timesteps, Tensor encoderHiddenStates, Tensor attentionMask,
                          Tensor classLabels, Workspace ws, Probe probe) {
        long n = checkInputs(sample, timesteps, encoderHiddenStates, attentionMask, classLabels);
        long h = sample.dim(1), w = sample.dim(2);
        int c0 = config.blockOutChannels()[0], t = config.timeEmbedDim();

        // 1. time: sinusoidal projection, TimestepEmbedding, class embedding, time_embed_act
        Tensor ts = ws.allocate(DType.F32, n).copyFrom(timesteps);                            // [N]
        Tensor proj = ws.allocate(dtype, n, config.timeInputDim());                          // [N, C0]
        backend.timestepEmbedding(ts, proj, config.flipSinToCos(), config.freqShift(), 10000f);
        Tensor e1 = ws.allocate(dtype, n, t);                                                // [N, T]
        backend.linear(proj, timeLinear1Weight, timeLinear1Bias, null, e1, config.timeAct());
        Tensor emb = ws.allocate(dtype, n, t);                                               // [N, T]
        // emb = post_act(linear_2(e1)) + class_labels: the class embedding is the linear's residual.
        backend.linear(e1, timeLinear2Weight, timeLinear2Bias, config.classIdentity() ? classLabels : null, emb,
                config.timePostAct());
        if (config.timeEmbedAct() != Activation.NONE) backend.activate(config.timeEmbedAct(), emb, emb);
        if (probe != null) probe.record("emb", emb);

        // 2. pre-process: center_input_sample, conv_in
        Tensor x = sample;
        if (centerScale != null) {
            x = ws.allocate(dtype, sample.shape());                                          // [N, H, W, Cin]
            backend.mul(sample, centerScale, x);
            backend.add(x, centerShift, x);
        }
        Tensor hidden = ws.allocate(dtype, n, h, w, c0);                                     // [N, H, W, C0]
        backend.conv2d(x, convInWeight, convInBias, null, hidden, 1, (config.convInKernel() - 1) / 2, 1f);
        if (probe != null) probe.record("conv_in", hidden);

        // 3. down: every layer's output is kept for the up blocks' skip connections
        List<Tensor> skips = new ArrayList<>();
        skips.add(hidden);
        for (int i = 0; i < downBlocks.size(); i++) {
            hidden = downBlocks.get(i).down(hidden, emb, encoderHiddenStates, attentionMask, skips, ws);  // [N, H/2^i', W/2^i', Ci]
            if (probe != null) probe.record("down." + i, hidden);
        }

        // 4. mid
        if (midBlock != null) {
            hidden = midBlock.mid(hidden, emb, encoderHiddenStates, attentionMask, ws);          // [N, H', W', C_last]
            if (probe != null) probe.record("mid", hidden);
        }

        // 5. up: each resnet takes the last skip left
        ArrayDeque<Tensor> stack = new ArrayDeque<>(skips);
        for (int i = 0; i < upBlocks.size(); i++) {
            hidden = upBlocks.get(i).up(hidden, emb, encoderHiddenStates, attentionMask, stack, ws);
            if (probe != null) probe.record("up." + i, hidden);
        }

        // 6. post-process: conv_norm_out + act (one fused group norm), conv_out
        Tensor normed = ws.allocate(dtype, n, h, w, c0);                                     // [N, H, W, C0]
        backend.groupNorm(hidden, convNormOutWeight, convNormOutBias, null, normed, config.normGroups(),
                config.normEps(), config.convOutAct());
        Tensor out = ws.allocate(dtype, n, h, w, config.outChannels());                      // [N, H, W, Cout]
        backend.conv2d(normed, convOutWeight, convOutBias, null, out, 1, (config.convOutKernel() - 1) / 2, 1f);
        return out;
    }

    private long checkInputs(Tensor sample, float[] timesteps, Tensor text, Tensor mask, Tensor classLabels) {
        String op = config.component();
        if (sample == null || sample.rank() != 4 || sample.dim(3) != config.inChannels()) {
            throw UnclipException.invalidArgument(op, "sample must be [N, H, W, " + config.inChannels() + "], not "
                    + (sample == null ? "null" : Arrays.toString(sample.shape())));
        }
        long n = sample.dim(0);
        int factor = 1 << config.downsamplings();
        if (sample.dim(1) % factor != 0 || sample.dim(2) % factor != 0 || sample.dim(1) == 0 || sample.dim(2) == 0) {
            throw UnclipException.invalidArgument(op, "sample size " + sample.dim(1) + "×" + sample.dim(2)
                    + " is not a positive multiple of " + factor + " (diffusers' forward_upsample_size path is not implemented)");
        }
        if (timesteps == null || timesteps.length != n) {
            throw UnclipException.invalidArgument(op, (timesteps == null ? 0 : timesteps.length) + " timesteps for a batch of " + n);
        }
        boolean needsText = config.conditional() && anyAddedKv();
        if (needsText && (text == null || text.rank() != 3 || text.dim(0) != n)) {
            throw UnclipException.invalidArgument(op, "encoder_hidden_states must be [" + n + ", L, "
                    + config.crossAttentionDims()[0] + "], not " + (text == null ? "null" : Arrays.toString(text.shape())));
        }
        if (mask != null && (text == null || mask.rank() != 2 || mask.dim(0) != n || mask.dim(1) != text.dim(1))) {
            throw UnclipException.invalidArgument(op, "attention_mask must be [" + n + ", L] like encoder_hidden_states, not "
                    + Arrays.toString(mask.shape()));
        }
        if (config.classIdentity() != (classLabels != null)) {
            throw UnclipException.invalidArgument(op, config.classIdentity()
                    ? "class_embed_type \"identity\" needs class_labels [" + n + ", " + config.timeEmbedDim() + "]"
                    : "this U-Net has no class embedding: class_labels must be null");
        }
        if (classLabels != null && !Arrays.equals(classLabels.shape(), new long[] {n, config.timeEmbedDim()})) {
            throw UnclipException.invalidArgument(op, "class_labels must be [" + n + ", " + config.timeEmbedDim() + "], not "
                    + Arrays.toString(classLabels.shape()));
        }
        return n;
    }

    private boolean anyAddedKv() {
        for (UNetBlock b : downBlocks) if (b.spec().hasAttention() && b.spec().attention().kind() == UNetConfig.AttentionKind.ADDED_KV) return true;
        return midBlock != null && midBlock.spec().hasAttention();
    }

    @Override
    public void close() {
        resBlocks.forEach(ResBlock::close);
        owned.forEach(Tensor::close);
    }
}
