package dev.unclip4j.bench;

import static org.bytedeco.cuda.global.cudart.cudaDeviceSynchronize;

import dev.unclip4j.bench.anchor.CudaAnchors;
import dev.unclip4j.bench.anchor.CudnnConv;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.HostCodec;
import dev.unclip4j.tensor.Tensor;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cuDNN anchor of {@link ConvBench}: the same conv (NHWC, out = conv(x, w) + bias + residual)
 * through cuDNN via JavaCPP ({@link CudnnConv}), at ConvBench's shapes, to set beside
 * {@code ConvBench -p backend=cuda}. TFLOP/s = 2·N·OH·OW·Cout·KH·KW·Cin / time.
 *
 * <p>Params: shape as ConvBench's ("NxHxWxCinxCoutxKxStride", pad = K/2); dtype F32 (exact fp32,
 * no TF32), F16, BF16 (f32 accumulation); epilogue FUSED (one cudnnConvolutionBiasActivationForward,
 * identity activation, which pins the IMPLICIT_PRECOMP_GEMM algorithm) or UNFUSED (cuDNN's
 * fastest measured conv, then bias and residual by two cudnnAddTensor).
 *
 * <p>Setup fails, and JMH reports why and goes on to the next parameters, when cuDNN cannot be
 * loaded or there is no GPU ({@link CudaAnchors#unavailableReason()}), or when the anchor's
 * self-check fails: one forward pass, read back and compared with our CPU uc_conv2d on the same
 * inputs (rounded to the dtype), relative L2 ≤ 1e-4 (F32) or 2e-2 (F16/BF16). Each timed call is
 * followed by cudaDeviceSynchronize, as our benches call {@code b.synchronize()}.
 * Run: {@code ./run bench CudnnConvBench} in the GPU bundle. Compiled, never run on a GPU yet.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
// One fork: the native libraries are process-wide. Warmup and measurement as ConvBench's.
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
public class CudnnConvBench {
    @Param({"2x64x64x320x320x3x1", "2x32x32x640x640x3x1", "2x16x16x960x960x3x1", "2x8x8x1280x1280x3x1",
            "2x64x64x320x640x1x1", "1x37x29x67x131x3x2"})
    public String shape;

    @Param({"F32", "F16", "BF16"})
    public DType dtype;

    @Param({"FUSED", "UNFUSED"})
    public CudnnConv.Epilogue epilogue;

    private CudnnConv conv;

    @Setup(Level.Trial)
    public void setUp() {
        String reason = CudaAnchors.unavailableReason();
        if (reason != null) throw new IllegalStateException(reason);
        ConvShape c = ConvShape.parse(shape);
        int n = c.n(), h = c.h(), wd = c.w(), cin = c.cin(), cout = c.cout(), k = c.k();
        int stride = c.stride(), pad = c.pad(), oh = c.oh(), ow = c.ow();
        SplittableRandom random = new SplittableRandom(42);
        float[] x = LinearBench.random(random, n * h * wd * cin);
        float[] w = LinearBench.random(random, cout * k * k * cin);
        float[] bias = LinearBench.random(random, cout);
        float[] residual = LinearBench.random(random, n * oh * ow * cout);
        conv = new CudnnConv(dtype, epilogue, n, h, wd, cin, cout, k, stride, pad, x, w, bias, residual);

        try {
            conv.run();
            CudaAnchors.check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
            float[] want = cpuConv(dtype, n, h, wd, cin, cout, k, stride, pad, oh, ow, x, w, bias, residual);
            CudaAnchors.selfCheck("cuDNN conv (" + epilogue + ", algo " + conv.algorithm() + ")", dtype, conv.output(), want);
        } catch (RuntimeException e) {
            conv.close();
            conv = null;
            throw e;
        }
    }

    /** Our CPU uc_conv2d on the inputs as the anchor sees them (rounded to dtype), in float32. */
    static float[] cpuConv(DType dtype, int n, int h, int wd, int cin, int cout, int k, int stride, int pad, int oh, int ow,
                           float[] x, float[] w, float[] bias, float[] residual) {
        try (Backend cpu = Backend.cpu();
             Tensor tx = cpu.fromFloats(DType.F32, rounded(x, dtype), n, h, wd, cin);
             Tensor tw = cpu.fromFloats(DType.F32, rounded(w, dtype), cout, k, k, cin);
             Tensor tb = cpu.fromFloats(DType.F32, rounded(bias, dtype), cout);
             Tensor tr = cpu.fromFloats(DType.F32, rounded(residual, dtype), n, oh, ow, cout);
             Tensor out = cpu.allocate(DType.F32, n, oh, ow, cout)) {
            cpu.conv2d(tx, tw, tb, tr, out, stride, pad, 1f);
            return out.toFloatArray();
        }
    }

    /** The values as stored in {@code dtype} and read back (HostCodec's rounding). */
    static float[] rounded(float[] values, DType dtype) {
        float[] r = new float[values.length];
        for (int i = 0; i < r.length; i++) r[i] = HostCodec.round(values[i], dtype);
        return r;
    }

    @Benchmark
    public void conv2d() {
        conv.run();
        CudaAnchors.check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (conv != null) conv.close();
    }
}
