package dev.unclip4j.bench;

import dev.unclip4j.bindings.Activation;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.tensor.Backend;
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
 * uc_conv2d (NHWC, bias + residual fused) at Karlo's U-Net shapes, and, for the CPU
 * target, uc_linear on the GEMM of the same size (m = N·OH·OW, n = Cout, k = KH·KW·Cin: the
 * same FLOPs without the implicit-GEMM gather). TFLOP/s = 2·m·n·k / time for both.
 *
 * <p>Shapes "NxHxWxCinxCoutxKxStride" (x-separated: JMH splits -p values on commas): the decoder's 3×3 convs (batch 2 for guidance) at 64, 32,
 * 16, 8 px with 320, 640, 960, 1280 channels, and an odd shape hitting every remainder path.
 * The super-resolution U-Net's (batch 1) are not in the defaults, to keep a CPU run to minutes
 * (one 256-px 320-channel conv is 121 GFLOP); run them with
 * {@code -p shape=1x256x256x320x320x3x1,1x128x128x640x640x3x1,1x64x64x960x960x3x1,1x32x32x1280x1280x3x1}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
// One fork: the native library and its OpenMP pool are process-wide. Each call is 4–30 ms on
// the CPU, so 1-second iterations hold tens of calls; 2 warmups let the pool and the JIT settle.
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
public class ConvBench {
    @Param({"cpu", "cuda"})
    public String backend;

    @Param({"2x64x64x320x320x3x1", "2x32x32x640x640x3x1", "2x16x16x960x960x3x1", "2x8x8x1280x1280x3x1",
            "2x64x64x320x640x1x1", "1x37x29x67x131x3x2"})
    public String shape;

    @Param({"F32"})
    public DType dtype;

    private Backend b;
    private Tensor x, w, bias, residual, out, gemmX, gemmW, gemmOut;
    private int stride, pad;

    @Setup(Level.Trial)
    public void setUp() {
        b = Backend.named(backend);
        ConvShape c = ConvShape.parse(shape);
        int n = c.n(), h = c.h(), wd = c.w(), cin = c.cin(), cout = c.cout(), k = c.k();
        int oh = c.oh(), ow = c.ow();
        stride = c.stride();
        pad = c.pad();
        SplittableRandom random = new SplittableRandom(42);
        x = b.fromFloats(dtype, LinearBench.random(random, n * h * wd * cin), n, h, wd, cin);
        w = b.fromFloats(dtype, LinearBench.random(random, cout * k * k * cin), cout, k, k, cin);
        bias = b.fromFloats(dtype, LinearBench.random(random, cout), cout);
        residual = b.fromFloats(dtype, LinearBench.random(random, n * oh * ow * cout), n, oh, ow, cout);
        out = b.allocate(dtype, n, oh, ow, cout);
        int m = n * oh * ow, kk = k * k * cin;
        gemmX = b.fromFloats(dtype, LinearBench.random(random, m * kk), m, kk);
        gemmW = b.fromFloats(dtype, LinearBench.random(random, cout * kk), cout, kk);
        gemmOut = b.allocate(dtype, m, cout);
    }

    @Benchmark
    public void conv2d() {
        b.conv2d(x, w, bias, residual, out, stride, pad, 1f);
        b.synchronize();
    }

    /** The GEMM of the same size: the rate the CPU conv is measured against (target ≥ 50%). */
    @Benchmark
    public void sameSizeGemm() {
        b.linear(gemmX, gemmW, bias, null, gemmOut, Activation.NONE);
        b.synchronize();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        b.close();
    }
}
