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
 * uc_linear (x·wᵀ + bias, fused epilogue) at real layer shapes. TFLOP/s = 2·m·n·k / time.
 *
 * <p>Shapes "mxnxk" (x, not a comma: JMH splits -p values at commas): CLIP ViT-L/14 text MLP
 * up-projection (77 tokens, 768 → 3072), Karlo's prior attention projection (batch 2 × 81
 * tokens, 2048 → 2048), Karlo's decoder time MLP (batch 2, 1280 → 1280), and an odd shape that
 * hits every remainder path.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
// One fork: the native library and its OpenMP pool are process-wide; warmup lets the pool spin up
// and the JIT compile the downcall stubs.
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class LinearBench {
    @Param({"cpu", "cuda"})
    public String backend;

    @Param({"77x3072x768", "162x2048x2048", "2x1280x1280", "37x129x301"})
    public String shape;

    @Param({"F32"})
    public DType dtype;

    private Backend b;
    private Tensor x, w, bias, out;

    @Setup(Level.Trial)
    public void setUp() {
        b = Backend.named(backend);
        String[] s = shape.split("x");
        int m = Integer.parseInt(s[0]), n = Integer.parseInt(s[1]), k = Integer.parseInt(s[2]);
        SplittableRandom random = new SplittableRandom(42);
        x = b.fromFloats(dtype, random(random, m * k), m, k);
        w = b.fromFloats(dtype, random(random, n * k), n, k);
        bias = b.fromFloats(dtype, random(random, n), n);
        out = b.allocate(dtype, m, n);
    }

    static float[] random(SplittableRandom random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (random.nextDouble() * 2 - 1);
        return v;
    }

    @Benchmark
    public void linear() {
        b.linear(x, w, bias, null, out, Activation.NONE);
        b.synchronize();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        b.close();
    }
}
