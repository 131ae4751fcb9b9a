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
 * uc_add (per-channel broadcast) and uc_activate (SiLU) on decoder-sized activations; these are
 * memory-bound, so GB/s = bytes moved (the op table's elementsMoved × dtype size) / time.
 *
 * <p>Shapes "rowsxchannels": Karlo's decoder at 64 px × 320 channels × batch 2 (2,621,440 elements), at 8 px ×
 * 1280 (163,840), and an odd size.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ElementwiseBench {
    @Param({"cpu", "cuda"})
    public String backend;

    @Param({"8192x320", "128x1280", "1001x37"})
    public String shape;

    @Param({"F32"})
    public DType dtype;

    private Backend b;
    private Tensor x, bias, out;

    @Setup(Level.Trial)
    public void setUp() {
        b = Backend.named(backend);
        String[] s = shape.split("x");
        int rows = Integer.parseInt(s[0]), channels = Integer.parseInt(s[1]);
        SplittableRandom random = new SplittableRandom(7);
        x = b.fromFloats(dtype, LinearBench.random(random, rows * channels), rows, channels);
        bias = b.fromFloats(dtype, LinearBench.random(random, channels), channels);
        out = b.allocate(dtype, rows, channels);
    }

    @Benchmark
    public void addBias() {
        b.add(x, bias, out);
        b.synchronize();
    }

    @Benchmark
    public void silu() {
        b.activate(Activation.SILU, x, out);
        b.synchronize();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        b.close();
    }
}
