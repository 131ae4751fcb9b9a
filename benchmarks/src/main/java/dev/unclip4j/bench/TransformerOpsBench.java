package dev.unclip4j.bench;

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
 * The transformer family's memory-bound ops at real shapes: uc_layer_norm and uc_softmax
 * (GB/s = 2 · rows · width · dtype bytes / time: one read, one write), uc_timestep_embedding
 * and uc_embedding (latency: they run once per step or per prompt).
 *
 * <p>Shapes "rows,width": CLIP text tower activations (2 prompts × 77 tokens, 768), Karlo's
 * prior (2 × 81 tokens, 2048), the decoder's 32×32 attention block input (2 × 1024 tokens, 640),
 * and an odd one.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
// As LinearBench: one fork (process-wide native library and OpenMP pool), warmup for the pool and JIT.
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class TransformerOpsBench {
    @Param({"cpu", "cuda"})
    public String backend;

    @Param({"154,768", "162,2048", "2048,640", "37,1001"})
    public String shape;

    @Param({"F32"})
    public DType dtype;

    private Backend b;
    private Tensor x, gamma, beta, out, timesteps, temb, table, tokens;
    private int[] ids;

    @Setup(Level.Trial)
    public void setUp() {
        b = Backend.named(backend);
        String[] s = shape.split(",");
        int rows = Integer.parseInt(s[0]), width = Integer.parseInt(s[1]);
        SplittableRandom random = new SplittableRandom(42);
        x = b.fromFloats(dtype, LinearBench.random(random, rows * width), rows, width);
        gamma = b.fromFloats(dtype, LinearBench.random(random, width), width);
        beta = b.fromFloats(dtype, LinearBench.random(random, width), width);
        out = b.allocate(dtype, rows, width);
        // Karlo's decoder: batch 2, time embedding of 320 channels (its first block width).
        timesteps = b.fromFloats(DType.F32, new float[] {999, 999}, 2);
        temb = b.allocate(dtype, 2, 320);
        // CLIP's token embedding: 49408 × 768, two prompts of 77 tokens.
        table = b.fromFloats(dtype, LinearBench.random(random, 49408 * 768), 49408, 768);
        ids = new int[154];
        for (int i = 0; i < ids.length; i++) ids[i] = random.nextInt(49408);
        tokens = b.allocate(dtype, 154, 768);
    }

    @Benchmark
    public void layerNorm() {
        b.layerNorm(x, gamma, beta, out, 1e-5f);
        b.synchronize();
    }

    @Benchmark
    public void softmax() {
        b.softmax(x, out);
        b.synchronize();
    }

    @Benchmark
    public void timestepEmbedding() {
        b.timestepEmbedding(timesteps, temb, true, 0, 10000);
        b.synchronize();
    }

    @Benchmark
    public void embedding() {
        b.embedding(table, ids, tokens);
        b.synchronize();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        b.close();
    }
}
