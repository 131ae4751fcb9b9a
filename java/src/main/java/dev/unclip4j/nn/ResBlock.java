package dev.unclip4j.nn;

import dev.unclip4j.bindings.Activation;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import java.util.Arrays;

/**
 * diffusers' ResnetBlock2D (models/resnet.py) as the unCLIP U-Nets use it: time_embedding_norm
 * "scale_shift" (Karlo's) or "default", skip_time_act, any activation of {@link Activation}, an
 * optional 1×1 shortcut, and the up/down variants of ResnetUpsampleBlock2D /
 * ResnetDownsampleBlock2D; composed from the fused ops of the convolution stack, NHWC:
 *
 * <pre>
 * h = act(GroupNorm1(x))                        uc_group_norm (affine + act fused)
 * up:   h = nearest2x(h), x = nearest2x(x)      uc_upsample_nearest2x
 * down: h = avgpool2x2(h), x = avgpool2x2(x)    uc_avg_pool2x2
 * h = conv1(h) + b1                             uc_conv2d 3×3 (bias fused)
 * t = time_emb_proj(act(temb))                  uc_activate (not with skip_time_act), uc_linear
 * scale_shift: t = scale ‖ shift [N, 2·Cout]
 *   h = act(GroupNorm2(h)·(1 + scale) + shift)  uc_group_norm (affine + scale/shift + act fused)
 * default: t [N, Cout]
 *   h = act(GroupNorm2(h + t))                  uc_add per image, uc_group_norm (affine + act fused)
 * x = conv_shortcut(x) + bs    (Cin ≠ Cout)     uc_conv2d 1×1
 * out = (x + conv2(h) + b2) / output_scale_factor   uc_conv2d 3×3 (bias, residual, scale fused)
 * </pre>
 *
 * With scale_shift, five kernel launches touch the activation (seven with up/down, eight with the
 * shortcut) against diffusers' fourteen. Conv weights are held in uc_conv2d's OHWI layout, converted once
 * in the constructor from the checkpoint's [out, in, kh, kw]; the constructor's tensors stay
 * owned by the caller. Field names follow the checkpoint keys.
 */
public final class ResBlock implements AutoCloseable {
    /** The block's resampling variant (diffusers ResnetBlock2D up=True / down=True). */
    public enum Resample { NONE, UP, DOWN }

    /** How the time embedding enters (diffusers' time_embedding_norm / resnet_time_scale_shift). */
    public enum TimeNorm {
        /** h + time_emb_proj(t) before norm2. */
        DEFAULT,
        /** norm2(h)·(1 + scale) + shift, scale ‖ shift = time_emb_proj(t). */
        SCALE_SHIFT
    }

    /**
     * The block's options: groups and eps of both norms, output_scale_factor, the resample variant,
     * the time norm, skip_time_act (no activation on temb before time_emb_proj) and the
     * nonlinearity (diffusers' non_linearity: SiLU for "silu"/"swish", GELU_ERF for "gelu").
     */
    public record Options(int groups, float eps, float outputScaleFactor, Resample resample, TimeNorm timeNorm,
                          boolean skipTimeAct, Activation act) {
        /** Karlo's: scale_shift time norm, SiLU. */
        public static Options karlo(int groups, float eps, float outputScaleFactor, Resample resample) {
            return new Options(groups, eps, outputScaleFactor, resample, TimeNorm.SCALE_SHIFT, false, Activation.SILU);
        }
    }

    /** The weights in checkpoint layout (diffusers names); timeEmbProj* and convShortcut* may be null. */
    public record Weights(Tensor norm1Weight, Tensor norm1Bias, Tensor conv1Weight, Tensor conv1Bias,
                          Tensor timeEmbProjWeight, Tensor timeEmbProjBias, Tensor norm2Weight, Tensor norm2Bias,
                          Tensor conv2Weight, Tensor conv2Bias, Tensor convShortcutWeight, Tensor convShortcutBias) {}

    private final Backend backend;
    private final int inChannels, outChannels;
    private final Options o;
    private final Weights w;
    // OHWI copies of the conv weights, owned here.
    private final Tensor conv1Weight, conv2Weight, convShortcutWeight;

    /** Karlo's block ({@link Options#karlo}). */
    public ResBlock(Backend backend, Weights weights, int groups, float eps, float outputScaleFactor, Resample resample) {
        this(backend, weights, Options.karlo(groups, eps, outputScaleFactor, resample));
    }

    public ResBlock(Backend backend, Weights weights, Options options) {
        this.backend = backend;
        this.w = weights;
        this.o = options;
        if (options.act() == null || options.act() == Activation.NONE) {
            throw UnclipException.invalidArgument("ResBlock", "a ResBlock needs a nonlinearity");
        }
        long[] c1 = weights.conv1Weight().shape();
        this.outChannels = (int) c1[0];
        this.inChannels = (int) c1[1];
        if ((inChannels != outChannels) != (weights.convShortcutWeight() != null)) {
            throw UnclipException.invalidArgument("ResBlock", "conv_shortcut is " + (weights.convShortcutWeight() == null
                    ? "missing" : "present") + " for " + inChannels + " → " + outChannels + " channels");
        }
        if (weights.timeEmbProjWeight() != null) {
            long expected = (options.timeNorm() == TimeNorm.SCALE_SHIFT ? 2L : 1L) * outChannels;
            if (weights.timeEmbProjWeight().dim(0) != expected) {
                throw UnclipException.invalidArgument("ResBlock", "time_emb_proj has " + weights.timeEmbProjWeight().dim(0)
                        + " outputs, expected " + expected + " for time norm " + options.timeNorm());
            }
        }
        this.conv1Weight = toOhwi(weights.conv1Weight());
        this.conv2Weight = toOhwi(weights.conv2Weight());
        this.convShortcutWeight = weights.convShortcutWeight() == null ? null : toOhwi(weights.convShortcutWeight());
    }

    private Tensor toOhwi(Tensor oihw) {
        long[] s = oihw.shape();
        if (s.length != 4) throw UnclipException.invalidArgument("ResBlock", "conv weight " + Arrays.toString(s) + " is not 4-D");
        Tensor t = backend.allocate(oihw.dtype(), s[0], s[2], s[3], s[1]);
        backend.conv2dWeightOhwi(oihw, t);
        return t.markConstant();
    }

    /** The output's shape for input x [N, H, W, Cin]. */
    public long[] outputShape(long[] x) {
        long h = x[1], wd = x[2];
        if (o.resample() == Resample.UP) {
            h *= 2;
            wd *= 2;
        } else if (o.resample() == Resample.DOWN) {
            h /= 2;
            wd /= 2;
        }
        return new long[] {x[0], h, wd, outChannels};
    }

    /**
     * out = ResBlock(x, temb). x: [N, H, W, Cin]; temb: [N, T] (the U-Net's time embedding,
     * before the block's SiLU) or null when the block has no time_emb_proj; out: {@link #outputShape}.
     * Temporaries come from a scope of ws, closed when this returns.
     */
    public void forward(Tensor x, Tensor temb, Tensor out, Workspace ws) {
        long[] xs = x.shape();
        if (xs.length != 4 || xs[3] != inChannels) {
            throw UnclipException.invalidArgument("ResBlock", "x is " + Arrays.toString(xs) + ", expected [N, H, W, "
                    + inChannels + "]");
        }
        try (Workspace.Scope _ = ws.scope()) {
            forwardInScope(x, temb, out, ws, xs);
        }
    }

    private void forwardInScope(Tensor x, Tensor temb, Tensor out, Workspace ws, long[] xs) {
        long n = x.dim(0);
        // 1. h = act(norm1(x))                                    [N, H, W, Cin]
        Tensor h = ws.allocate(x.dtype(), xs);
        backend.groupNorm(x, w.norm1Weight(), w.norm1Bias(), null, h, o.groups(), o.eps(), o.act());
        // 2. resample both paths                                  [N, H', W', Cin]
        Tensor skip = x;
        if (o.resample() != Resample.NONE) {
            long[] rs = outputShape(xs);
            rs[3] = inChannels;
            Tensor hr = ws.allocate(x.dtype(), rs), sr = ws.allocate(x.dtype(), rs);
            if (o.resample() == Resample.UP) {
                backend.upsampleNearest2x(h, hr);
                backend.upsampleNearest2x(x, sr);
            } else {
                backend.avgPool2x2(h, hr);
                backend.avgPool2x2(x, sr);
            }
            h = hr;
            skip = sr;
        }
        long[] os = outputShape(xs);
        // 3. h = conv1(h)                                         [N, H', W', Cout]
        Tensor h1 = ws.allocate(x.dtype(), os);
        backend.conv2d(h, conv1Weight, w.conv1Bias(), null, h1, 1, 1, 1f);
        // 4. t = time_emb_proj(act(temb))                         [N, Cout] or [N, 2·Cout] = scale ‖ shift
        Tensor t = null;
        if (w.timeEmbProjWeight() != null) {
            if (temb == null) throw UnclipException.invalidArgument("ResBlock", "temb is null but the block has time_emb_proj");
            Tensor a = temb;
            if (!o.skipTimeAct()) {
                a = ws.allocate(temb.dtype(), temb.shape());
                backend.activate(o.act(), temb, a);
            }
            t = ws.allocate(x.dtype(), n, w.timeEmbProjWeight().dim(0));
            backend.linear(a, w.timeEmbProjWeight(), w.timeEmbProjBias(), null, t, Activation.NONE);
        }
        // 5. h = act(norm2(h)·(1 + scale) + shift), or act(norm2(h + t)); in place   [N, H', W', Cout]
        Tensor scaleShift = null;
        if (t != null && o.timeNorm() == TimeNorm.SCALE_SHIFT) {
            scaleShift = t;
        } else if (t != null) {
            long pixels = os[1] * os[2];
            for (long b = 0; b < n; b++) {
                Tensor image = h1.view(b * pixels * outChannels, pixels, outChannels);
                backend.add(image, t.view(b * outChannels, outChannels), image);
            }
        }
        backend.groupNorm(h1, w.norm2Weight(), w.norm2Bias(), scaleShift, h1, o.groups(), o.eps(), o.act());
        // 6. skip = conv_shortcut(skip) when the channels change  [N, H', W', Cout]
        if (convShortcutWeight != null) {
            Tensor s = ws.allocate(x.dtype(), os);
            backend.conv2d(skip, convShortcutWeight, w.convShortcutBias(), null, s, 1, 0, 1f);
            skip = s;
        }
        // 7. out = (skip + conv2(h)) / output_scale_factor         [N, H', W', Cout]
        backend.conv2d(h1, conv2Weight, w.conv2Bias(), skip, out, 1, 1, o.outputScaleFactor());
    }

    @Override
    public void close() {
        conv1Weight.close();
        conv2Weight.close();
        if (convShortcutWeight != null) convShortcutWeight.close();
    }
}
