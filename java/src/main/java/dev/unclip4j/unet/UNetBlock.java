package dev.unclip4j.unet;

import dev.unclip4j.io.WeightReader;
import dev.unclip4j.nn.ResBlock;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import dev.unclip4j.unet.UNetConfig.Sampler;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * One down, mid or up block of a U-Net (diffusers unet_2d_blocks.py), built from its
 * {@link UNetConfig.Block}: each layer a ResnetBlock2D followed, in the attention blocks, by an
 * {@link UNetAttention}; then the resampler. The block types differ only in what that spec says
 * (which attention, which resampler), so one class runs them all:
 *
 * <pre>
 * down (ResnetDownsample / SimpleCrossAttnDown / Down / AttnDown):
 *   per layer: x = resnet(x, temb); x = attn(x); skips += x     then x = downsampler(x); skips += x
 * mid (UNetMidBlock2DSimpleCrossAttn / UNetMidBlock2D):
 *   x = resnets[0](x, temb); x = attn(x); x = resnets[1](x, temb)
 * up (ResnetUpsample / SimpleCrossAttnUp / Up / AttnUp):
 *   per layer: x = resnet(x ‖ skips.pop(), temb); x = attn(x)   then x = upsampler(x)
 * </pre>
 */
final class UNetBlock {
    private final Backend backend;
    private final UNetConfig.Block spec;
    private final List<ResBlock> resnets = new ArrayList<>();
    private final List<UNetAttention> attentions = new ArrayList<>();
    private final ResBlock resnetSampler;                 // Sampler.RESNET
    private final Tensor samplerConvWeight, samplerConvBias;  // Sampler.CONV: OHWI [C, 3, 3, C], [C]

    /** prefix: "down_blocks.1.", "mid_block." or "up_blocks.0."; samplers: "downsamplers" or "upsamplers". */
    UNetBlock(WeightReader r, String prefix, UNetConfig.Block spec, int temb, String samplers, List<ResBlock> created) {
        this.backend = r.backend();
        this.spec = spec;
        for (int j = 0; j < spec.layers().size(); j++) {
            UNetConfig.Layer l = spec.layers().get(j);
            resnets.add(resnet(r, prefix + "resnets." + j + ".", l.in(), l.out(), temb, l.options(), created));
        }
        // A mid block has one attention between its two resnets; the others one per layer.
        int attentionLayers = !spec.hasAttention() ? 0 : samplers == null ? 1 : spec.layers().size();
        for (int j = 0; j < attentionLayers; j++) {
            attentions.add(new UNetAttention(r, prefix + "attentions." + j + ".", spec.attention()));
        }
        String s = prefix + samplers + ".0.";
        int c = spec.channels();
        resnetSampler = spec.sampler() == Sampler.RESNET ? resnet(r, s, c, c, temb, spec.samplerOptions(), created) : null;
        samplerConvWeight = spec.sampler() == Sampler.CONV ? r.conv(s + "conv.weight", c, c, 3, 3) : null;
        samplerConvBias = spec.sampler() == Sampler.CONV ? r.get(s + "conv.bias", c) : null;
    }

    /** A ResnetBlock2D's weights by diffusers' names; the layer keeps its own OHWI conv weights. */
    static ResBlock resnet(WeightReader r, String p, int in, int out, int temb, ResBlock.Options o, List<ResBlock> created) {
        int t = o.timeNorm() == ResBlock.TimeNorm.SCALE_SHIFT ? 2 * out : out;
        Tensor conv1 = r.get(p + "conv1.weight", out, in, 3, 3), conv2 = r.get(p + "conv2.weight", out, out, 3, 3);
        Tensor shortcut = in != out ? r.get(p + "conv_shortcut.weight", out, in, 1, 1) : null;
        ResBlock block = new ResBlock(r.backend(), new ResBlock.Weights(
                r.get(p + "norm1.weight", in), r.get(p + "norm1.bias", in), conv1, r.get(p + "conv1.bias", out),
                r.get(p + "time_emb_proj.weight", t, temb), r.get(p + "time_emb_proj.bias", t),
                r.get(p + "norm2.weight", out), r.get(p + "norm2.bias", out), conv2, r.get(p + "conv2.bias", out),
                shortcut, in != out ? r.get(p + "conv_shortcut.bias", out) : null), o);
        created.add(block);
        r.release(conv1);  // the block converted them to OHWI
        r.release(conv2);
        if (shortcut != null) r.release(shortcut);
        return block;
    }

    UNetConfig.Block spec() {
        return spec;
    }

    /** A down block: x [N, H, W, Cin] → [N, H', W', C], each layer's output (and the downsampler's) appended to skips. */
    Tensor down(Tensor x, Tensor temb, Tensor text, Tensor mask, List<Tensor> skips, Workspace ws) {
        for (int j = 0; j < resnets.size(); j++) {
            x = layer(j, x, temb, text, mask, ws);
            skips.add(x);
        }
        if (spec.sampler() != Sampler.NONE) {
            x = resample(x, temb, ws);
            skips.add(x);
        }
        return x;
    }

    /** The mid block: resnet, attention, resnet. */
    Tensor mid(Tensor x, Tensor temb, Tensor text, Tensor mask, Workspace ws) {
        x = run(resnets.get(0), x, temb, ws);
        if (!attentions.isEmpty()) x = attend(attentions.get(0), x, text, mask, ws);
        return run(resnets.get(1), x, temb, ws);
    }

    /** An up block: each layer concatenates the last skip (torch.cat dim=1: NHWC's channels), then resamples. */
    Tensor up(Tensor x, Tensor temb, Tensor text, Tensor mask, Deque<Tensor> skips, Workspace ws) {
        for (int j = 0; j < resnets.size(); j++) {
            Tensor skip = skips.removeLast();
            long cx = x.dim(3), cs = skip.dim(3);
            long[] catShape = {x.dim(0), x.dim(1), x.dim(2), cx + cs};                      // [N, H, W, Cx + Cs]
            ResBlock resnet = resnets.get(j);
            Tensor out = ws.allocate(x.dtype(), resnet.outputShape(catShape));
            try (Workspace.Scope _ = ws.scope()) {  // the concatenation: dead once the resnet has read it
                Tensor cat = ws.allocate(x.dtype(), catShape);
                backend.copyColumns(x, 0, cat, 0, cx);
                backend.copyColumns(skip, 0, cat, cx, cs);
                resnet.forward(cat, temb, out, ws);
            }
            x = attentions.isEmpty() ? out : attend(attentions.get(j), out, text, mask, ws);
        }
        return spec.sampler() == Sampler.NONE ? x : resample(x, temb, ws);
    }

    private Tensor layer(int j, Tensor x, Tensor temb, Tensor text, Tensor mask, Workspace ws) {
        x = run(resnets.get(j), x, temb, ws);
        return attentions.isEmpty() ? x : attend(attentions.get(j), x, text, mask, ws);
    }

    private Tensor run(ResBlock block, Tensor x, Tensor temb, Workspace ws) {
        Tensor out = ws.allocate(x.dtype(), block.outputShape(x.shape()));
        block.forward(x, temb, out, ws);
        return out;
    }

    private Tensor attend(UNetAttention attention, Tensor x, Tensor text, Tensor mask, Workspace ws) {
        Tensor out = ws.allocate(x.dtype(), x.shape());
        attention.forward(x, text, mask, out, ws);
        return out;
    }

    /** Downsample2D (conv stride 2, pad 1), Upsample2D (nearest 2×, conv pad 1) or the resnet variant. */
    private Tensor resample(Tensor x, Tensor temb, Workspace ws) {
        if (resnetSampler != null) return run(resnetSampler, x, temb, ws);
        long n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
        if (isDown()) {
            Tensor out = ws.allocate(x.dtype(), n, (h + 1) / 2, (w + 1) / 2, c);  // (h + 2 − 3) / 2 + 1
            backend.conv2d(x, samplerConvWeight, samplerConvBias, null, out, 2, 1, 1f);
            return out;
        }
        Tensor out = ws.allocate(x.dtype(), n, 2 * h, 2 * w, c);
        try (Workspace.Scope _ = ws.scope()) {  // the upsampled input: dead once the conv has read it
            Tensor big = ws.allocate(x.dtype(), n, 2 * h, 2 * w, c);
            backend.upsampleNearest2x(x, big);
            backend.conv2d(big, samplerConvWeight, samplerConvBias, null, out, 1, 1, 1f);
        }
        return out;
    }

    private boolean isDown() {
        return spec.type().contains("Down");
    }
}
