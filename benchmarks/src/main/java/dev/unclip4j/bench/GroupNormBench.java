package dev.unclip4j.bench;

import dev.unclip4j.bindings.Activation;
import dev.unclip4j.bindings.Context;
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
 * uc_group_norm with SiLU and the AdaGN scale/shift fused (the ResBlock's norm2), and a plain
 * device copy of the same tensor as the bandwidth yardstick (the target: ≥ 0.8 of it).
 * GB/s = 2 · N·H·W·C · dtype size / time (one read, one write) for both.
 *
 * <p>Shapes "NxHxWxC": Karlo's decoder (batch 2) at 64, 32, 16, 8 px with 320, 640, 960, 1280
 * channels, the super-resolution U-Net's 256-px 320-channel level (batch 1), and an odd shape.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
// One fork (process-wide native library and OpenMP pool); memory-bound calls of 0.1–20 ms.
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
public class GroupNormBench {
    @Param({"cpu", "cuda"})
    public String backend;

    @Param({"2x64x64x320", "2x32x32x640", "2x16x16x960", "2x8x8x1280", "1x256x256x320", "3x17x23x96"})
    public String shape;

    @Param({"F32"})
    public DType dtype;

    private Backend b;
    private Tensor x, gamma, beta, scaleShift, out;

    @Setup(Level.Trial)
    public void setUp() {
        b = Backend.named(backend);
        String[] s = shape.split("x");
        int n = Integer.parseInt(s[0]), h = Integer.parseInt(s[1]), w = Integer.parseInt(s[2]), c = Integer.parseInt(s[3]);
        SplittableRandom random = new SplittableRandom(42);
        x = b.fromFloats(dtype, LinearBench.random(random, n * h * w * c), n, h, w, c);
        gamma = b.fromFloats(dtype, LinearBench.random(random, c), c);
        beta = b.fromFloats(dtype, LinearBench.random(random, c), c);
        scaleShift = b.fromFloats(dtype, LinearBench.random(random, n * 2 * c), n, 2 * c);
        out = b.allocate(dtype, n, h, w, c);
    }

    @Benchmark
    public void groupNormSiluScaleShift() {
        b.groupNorm(x, gamma, beta, scaleShift, out, 32, 1e-5f, Activation.SILU);
        b.synchronize();
    }

    /** The same bytes moved by a plain copy: the bandwidth the group norm is a fraction of. */
    @Benchmark
    public void copy() {
        b.context().memcpy(out.address(), x.address(), x.byteSize(), Context.CopyKind.DEVICE_TO_DEVICE);
        b.synchronize();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        b.close();
    }
}
