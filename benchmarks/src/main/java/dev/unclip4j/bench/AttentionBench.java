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
 * uc_attention and uc_attention_added_kv at the callers' real shapes, beside a float32 GEMM
 * (uc_linear) of the same FLOPs: the CPU target is attention within 2× of that GEMM's
 * time on the same cores. TFLOP/s = {@link #flops()} / time, the FLOPs the op table counts
 * (4·B·H·Lq·Lk·D, halved for causal); setUp prints them per case.
 *
 * <p>Cases: CLIP ViT-L/14 text tower (prompt + negative prompt: B = 2 × 77 tokens, 12 heads × 64,
 * causal), its vision tower (257 tokens, 16 × 64), Karlo's prior (B = 2 for guidance, 81
 * tokens, 32 × 64, causal + text padding mask), Karlo's decoder added-KV attention at 32×32,
 * 16×16 and 8×8 (B = 2, 81 text tokens, widths 640/960/1280 = 10/15/20 heads × 64), and an odd
 * case (B = 3, 113 tokens, 5 × 40, causal) that hits every remainder path.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
// One fork: the native library and its OpenMP pool are process-wide; warmup lets the pool spin up
// and the JIT compile the downcall stubs.
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class AttentionBench {
    @Param({"cpu", "cuda"})
    public String backend;

    @Param({"clip_text", "clip_vision", "prior", "decoder_32", "decoder_16", "decoder_8", "odd"})
    public String shape;

    @Param({"F32"})
    public DType dtype;

    /** One benchmark case: B, Lq, text keys (added-KV only), own keys, heads, head dim, options. */
    record Case(int b, int lq, int lt, int lk, int h, int d, boolean causal, boolean mask, boolean addedKv) {
        double flops() {
            double full = 4.0 * b * h * lq * (double) (lt + lk) * d;
            return causal ? full / 2 : full;
        }
    }

    static Case of(String name) {
        return switch (name) {
            case "clip_text" -> new Case(2, 77, 0, 77, 12, 64, true, false, false);
            case "clip_vision" -> new Case(1, 257, 0, 257, 16, 64, false, false, false);
            case "prior" -> new Case(2, 81, 0, 81, 32, 64, true, true, false);
            case "decoder_32" -> new Case(2, 1024, 81, 1024, 10, 64, false, true, true);
            case "decoder_16" -> new Case(2, 256, 81, 256, 15, 64, false, true, true);
            case "decoder_8" -> new Case(2, 64, 81, 64, 20, 64, false, true, true);
            case "odd" -> new Case(3, 113, 0, 113, 5, 40, true, false, false);
            default -> throw new IllegalArgumentException("unknown case " + name);
        };
    }

    private Backend b;
    private Case c;
    private Tensor q, k, v, kText, vText, mask, out;
    // The same-FLOPs GEMM: x [B·Lq, H·D] · w [n, H·D]ᵀ with n = 2·(Lt + Lk) (half that when causal).
    private Tensor gx, gw, gout;

    @Setup(Level.Trial)
    public void setUp() {
        b = Backend.named(backend);
        c = of(shape);
        SplittableRandom random = new SplittableRandom(42);
        q = b.fromFloats(dtype, LinearBench.random(random, c.b * c.lq * c.h * c.d), c.b, c.lq, c.h, c.d);
        k = b.fromFloats(dtype, LinearBench.random(random, c.b * c.lk * c.h * c.d), c.b, c.lk, c.h, c.d);
        v = b.fromFloats(dtype, LinearBench.random(random, c.b * c.lk * c.h * c.d), c.b, c.lk, c.h, c.d);
        int maskLen = c.addedKv ? c.lt : c.lk;
        if (c.addedKv) {
            kText = b.fromFloats(dtype, LinearBench.random(random, c.b * c.lt * c.h * c.d), c.b, c.lt, c.h, c.d);
            vText = b.fromFloats(dtype, LinearBench.random(random, c.b * c.lt * c.h * c.d), c.b, c.lt, c.h, c.d);
        }
        if (c.mask) {
            // A prompt of 20 tokens padded to 77, after Karlo's 4 extra context tokens (81).
            float[] m = new float[c.b * maskLen];
            for (int i = 0; i < c.b; i++) for (int j = 0; j < maskLen; j++) m[i * maskLen + j] = j < 24 ? 1 : 0;
            mask = b.fromFloats(dtype, m, c.b, maskLen);
        }
        out = b.allocate(dtype, c.b, c.lq, c.h, c.d);
        int gm = c.b * c.lq, gk = c.h * c.d, gn = c.causal ? c.lt + c.lk : 2 * (c.lt + c.lk);
        gx = b.fromFloats(dtype, LinearBench.random(random, gm * gk), gm, gk);
        gw = b.fromFloats(dtype, LinearBench.random(random, gn * gk), gn, gk);
        gout = b.allocate(dtype, gm, gn);
        System.out.printf("%n[AttentionBench] %s %s: %.3f GFLOP per call (%s); same-FLOPs GEMM m=%d n=%d k=%d%n", shape,
                backend, c.flops() / 1e9, c, gm, gn, gk);
    }

    double flops() {
        return c.flops();
    }

    @Benchmark
    public void attention() {
        float scale = (float) (1 / Math.sqrt(c.d));
        if (c.addedKv) b.attentionAddedKv(q, kText, vText, mask, k, v, out, scale);
        else b.attention(q, k, v, mask, out, scale, c.causal);
        b.synchronize();
    }

    /** The anchor of the CPU target: a float32 GEMM (uc_linear, no epilogue) of the same FLOPs. */
    @Benchmark
    public void gemmSameFlops() {
        b.linear(gx, gw, null, null, gout, Activation.NONE);
        b.synchronize();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        b.close();
    }
}
