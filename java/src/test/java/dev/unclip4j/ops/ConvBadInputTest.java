package dev.unclip4j.ops;

import static dev.unclip4j.ops.OpAssertions.fails;

import dev.unclip4j.bindings.Activation;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.Ops;
import dev.unclip4j.bindings.Status;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Bad input to the convolution-stack ops gives an {@link UnclipException} naming the op and the
 * problem: first from the Java checks in {@link Backend}, then from the native checks behind
 * them (common.h, shared by both libraries), called directly through {@link Ops}.
 */
class ConvBadInputTest {
    private Backend cpu;
    private Tensor x;       // [2, 4, 4, 6]
    private Tensor x8;      // [2, 4, 4, 8]
    private Tensor w3;      // [8, 3, 3, 6]
    private Tensor out8;    // [2, 4, 4, 8]
    private Tensor out6;    // [2, 4, 4, 6]

    @BeforeEach
    void open() {
        cpu = Backend.cpu();
        x = cpu.allocate(DType.F32, 2, 4, 4, 6);
        x.fillBytes(0);
        x8 = cpu.allocate(DType.F32, 2, 4, 4, 8);
        x8.fillBytes(0);
        w3 = cpu.allocate(DType.F32, 8, 3, 3, 6);
        w3.fillBytes(0);
        out8 = cpu.allocate(DType.F32, 2, 4, 4, 8);
        out6 = cpu.allocate(DType.F32, 2, 4, 4, 6);
    }

    @AfterEach
    void close() {
        cpu.close();
    }

    @Test
    void groupNorm() {
        String op = "uc_group_norm";
        fails(op, "x is null", Status.INVALID_ARGUMENT, () -> cpu.groupNorm(null, null, null, null, out6, 3, 1e-5f, Activation.SILU));
        fails(op, "does not divide C = 6", Status.INVALID_ARGUMENT, () -> cpu.groupNorm(x, null, null, null, out6, 4, 1e-5f, Activation.SILU));
        fails(op, "groups = 0", Status.INVALID_ARGUMENT, () -> cpu.groupNorm(x, null, null, null, out6, 0, 1e-5f, Activation.SILU));
        fails(op, "eps", Status.INVALID_ARGUMENT, () -> cpu.groupNorm(x, null, null, null, out6, 3, 0f, Activation.SILU));
        fails(op, "differ", Status.INVALID_ARGUMENT, () -> cpu.groupNorm(x, null, null, null, out8, 3, 1e-5f, Activation.SILU));
        fails(op, "activation is null", Status.INVALID_ARGUMENT, () -> cpu.groupNorm(x, null, null, null, out6, 3, 1e-5f, null));
        try (Tensor gamma5 = cpu.allocate(DType.F32, 5); Tensor ss = cpu.allocate(DType.F32, 2, 6);
             Tensor h = cpu.allocate(DType.F16, 2, 4, 4, 6); Tensor hout = cpu.allocate(DType.F16, 2, 4, 4, 6)) {
            fails(op, "gamma is [5], expected [6]", Status.INVALID_ARGUMENT,
                    () -> cpu.groupNorm(x, gamma5, null, null, out6, 3, 1e-5f, Activation.SILU));
            fails(op, "scaleShift is [2, 6], expected [2, 12]", Status.INVALID_ARGUMENT,
                    () -> cpu.groupNorm(x, null, null, ss, out6, 3, 1e-5f, Activation.SILU));
            fails(op, "mixed dtypes", Status.INVALID_ARGUMENT, () -> cpu.groupNorm(x, null, null, null, hout, 3, 1e-5f, Activation.SILU));
            fails(op, "f32 only", Status.UNSUPPORTED, () -> cpu.groupNorm(h, null, null, null, hout, 3, 1e-5f, Activation.SILU));
        }
    }

    @Test
    void conv2d() {
        String op = "uc_conv2d";
        fails(op, "w is null", Status.INVALID_ARGUMENT, () -> cpu.conv2d(x, null, null, null, out8, 1, 1, 1f));
        fails(op, "does not end in Cin = 8", Status.INVALID_ARGUMENT, () -> cpu.conv2d(x8, w3, null, null, out8, 1, 1, 1f));
        fails(op, "stride = 0", Status.INVALID_ARGUMENT, () -> cpu.conv2d(x, w3, null, null, out8, 0, 1, 1f));
        fails(op, "pad = 3", Status.INVALID_ARGUMENT, () -> cpu.conv2d(x, w3, null, null, out8, 1, 3, 1f));
        fails(op, "outputScaleFactor", Status.INVALID_ARGUMENT, () -> cpu.conv2d(x, w3, null, null, out8, 1, 1, 0f));
        fails(op, "expected [2, 2, 2, 8]", Status.INVALID_ARGUMENT, () -> cpu.conv2d(x, w3, null, null, out8, 2, 1, 1f));
        fails(op, "x must be [N, H, W, Cin]", Status.INVALID_ARGUMENT,
                () -> cpu.conv2d(x.reshape(32, 6), w3, null, null, out8, 1, 1, 1f));
        try (Tensor bias6 = cpu.allocate(DType.F32, 6); Tensor tiny = cpu.allocate(DType.F32, 1, 2, 2, 6);
             Tensor tinyOut = cpu.allocate(DType.F32, 1, 1, 1, 8)) {
            fails(op, "bias is [6], expected [8]", Status.INVALID_ARGUMENT, () -> cpu.conv2d(x, w3, bias6, null, out8, 1, 1, 1f));
            fails(op, "residual is [2, 4, 4, 6]", Status.INVALID_ARGUMENT, () -> cpu.conv2d(x, w3, null, out6, out8, 1, 1, 1f));
            fails(op, "does not fit", Status.INVALID_ARGUMENT, () -> cpu.conv2d(tiny, w3, null, null, tinyOut, 1, 0, 1f));
        }
        try (Tensor w1 = cpu.allocate(DType.F32, 8, 1, 1, 8)) {
            fails(op, "residual must not alias x", Status.INVALID_ARGUMENT, () -> cpu.conv2d(x8, w1, null, x8, out8, 1, 0, 1f));
        }
    }

    @Test
    void weightConversionAndResize() {
        fails("uc_conv2d_weight_ohwi", "expected [8, 3, 6, 3]", Status.INVALID_ARGUMENT, () -> cpu.conv2dWeightOhwi(w3, w3));
        fails("uc_upsample_nearest2x", "expected [2, 8, 8, 6]", Status.INVALID_ARGUMENT, () -> cpu.upsampleNearest2x(x, out6));
        fails("uc_avg_pool2x2", "expected [2, 2, 2, 6]", Status.INVALID_ARGUMENT, () -> cpu.avgPool2x2(x, out6));
        fails("uc_avg_pool2x2", "x is null", Status.INVALID_ARGUMENT, () -> cpu.avgPool2x2(null, out6));
        fails("uc_resize_bicubic_aa", "out must not alias x", Status.INVALID_ARGUMENT, () -> cpu.resizeBicubicAa(x, x));
        fails("uc_resize_bicubic_aa", "out must be [N, OH, OW, C]", Status.INVALID_ARGUMENT,
                () -> cpu.resizeBicubicAa(x, out6.reshape(32, 6)));
        try (Tensor empty = cpu.allocate(DType.F32, 1, 0, 3, 6); Tensor some = cpu.allocate(DType.F32, 1, 4, 4, 6)) {
            fails("uc_resize_bicubic_aa", "cannot resize the empty", Status.INVALID_ARGUMENT, () -> cpu.resizeBicubicAa(empty, some));
        }
    }

    @Test
    void nativeChecksBehindTheJavaOnes() {
        Ops ops = cpu.context().ops();
        MemorySegment p = x.address(), q = w3.address(), o = out8.address(), nil = MemorySegment.NULL;
        fails("uc_group_norm", "does not divide", Status.INVALID_ARGUMENT,
                () -> ops.groupNorm(DType.F32, p, nil, nil, nil, o, 2, 16, 6, 4, 1e-5f, Activation.SILU));
        fails("uc_group_norm", "eps", Status.INVALID_ARGUMENT,
                () -> ops.groupNorm(DType.F32, p, nil, nil, nil, o, 2, 16, 6, 3, -1f, Activation.SILU));
        fails("uc_group_norm", "null pointer", Status.INVALID_ARGUMENT,
                () -> ops.groupNorm(DType.F32, nil, nil, nil, nil, o, 2, 16, 6, 3, 1e-5f, Activation.SILU));
        fails("uc_group_norm", "must be >= 0", Status.INVALID_ARGUMENT,
                () -> ops.groupNorm(DType.F32, p, nil, nil, nil, o, -2, 16, 6, 3, 1e-5f, Activation.SILU));
        fails("uc_conv2d", "stride = 0", Status.INVALID_ARGUMENT,
                () -> ops.conv2d(DType.F32, p, q, nil, nil, o, 2, 4, 4, 6, 8, 3, 3, 0, 1, 1f));
        fails("uc_conv2d", "pad = 3", Status.INVALID_ARGUMENT,
                () -> ops.conv2d(DType.F32, p, q, nil, nil, o, 2, 4, 4, 6, 8, 3, 3, 1, 3, 1f));
        fails("uc_conv2d", "kernel kh=0", Status.INVALID_ARGUMENT,
                () -> ops.conv2d(DType.F32, p, q, nil, nil, o, 2, 4, 4, 6, 8, 0, 3, 1, 0, 1f));
        fails("uc_conv2d", "does not fit", Status.INVALID_ARGUMENT,
                () -> ops.conv2d(DType.F32, p, q, nil, nil, o, 2, 1, 1, 6, 8, 3, 3, 1, 0, 1f));
        fails("uc_conv2d", "output_scale_factor", Status.INVALID_ARGUMENT,
                () -> ops.conv2d(DType.F32, p, q, nil, nil, o, 2, 4, 4, 6, 8, 3, 3, 1, 1, Float.NaN));
        fails("uc_conv2d", "null pointer", Status.INVALID_ARGUMENT,
                () -> ops.conv2d(DType.F32, p, nil, nil, nil, o, 2, 4, 4, 6, 8, 3, 3, 1, 1, 1f));
        fails("uc_conv2d", "residual must not alias x", Status.INVALID_ARGUMENT,
                () -> ops.conv2d(DType.F32, p, q, nil, p, o, 2, 4, 4, 6, 8, 3, 3, 1, 1, 1f));
        fails("uc_conv2d_weight_ohwi", "out must not alias w", Status.INVALID_ARGUMENT,
                () -> ops.conv2dWeightOhwi(DType.F32, q, q, 8, 6, 3, 3));
        fails("uc_conv2d_weight_ohwi", "must be >= 0", Status.INVALID_ARGUMENT,
                () -> ops.conv2dWeightOhwi(DType.F32, q, o, 8, -6, 3, 3));
        fails("uc_upsample_nearest2x", "null pointer", Status.INVALID_ARGUMENT,
                () -> ops.upsampleNearest2x(DType.F32, nil, o, 2, 4, 4, 6));
        fails("uc_avg_pool2x2", "must be >= 0", Status.INVALID_ARGUMENT, () -> ops.avgPool2x2(DType.F32, p, o, 2, -4, 4, 6));
        fails("uc_resize_bicubic_aa", "output size", Status.INVALID_ARGUMENT,
                () -> ops.resizeBicubicAa(DType.F32, p, o, 2, 4, 4, 6, -1, 3));
        fails("uc_resize_bicubic_aa", "cannot resize an empty", Status.INVALID_ARGUMENT,
                () -> ops.resizeBicubicAa(DType.F32, p, o, 2, 0, 4, 6, 3, 3));
        fails("uc_resize_bicubic_aa", "out must not alias x", Status.INVALID_ARGUMENT,
                () -> ops.resizeBicubicAa(DType.F32, p, p, 2, 4, 4, 6, 3, 3));
        fails("uc_resize_bicubic_aa", "f32 only", Status.UNSUPPORTED,
                () -> ops.resizeBicubicAa(DType.BF16, p, o, 1, 2, 2, 2, 3, 3));
    }

    @Test
    void cancelledContextFailsConvOps() {
        cpu.context().cancel();
        fails("uc_conv2d", "cancelled", Status.CANCELLED, () -> cpu.conv2d(x, w3, null, null, out8, 1, 1, 1f));
        fails("uc_group_norm", "cancelled", Status.CANCELLED, () -> cpu.groupNorm(x, null, null, null, out6, 3, 1e-5f, Activation.SILU));
        cpu.context().resetCancel();
        cpu.conv2d(x, w3, null, null, out8, 1, 1, 1f);
    }
}
