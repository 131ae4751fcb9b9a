package dev.unclip4j.bench;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.clip.ClipActivation;
import dev.unclip4j.clip.ClipTextConfig;
import dev.unclip4j.clip.ClipTextEncoder;
import dev.unclip4j.clip.ClipVisionConfig;
import dev.unclip4j.clip.ClipVisionEncoder;
import dev.unclip4j.clip.ClipWeights;
import dev.unclip4j.clip.Weight;
import dev.unclip4j.io.StoredType;
import dev.unclip4j.io.TensorEntry;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
 * CLIP's towers at ViT-L/14 size (the text encoder of Karlo and of openai/clip-vit-large-patch14)
 * with random weights: text — 77 tokens, width 768, 12 layers × 12 heads, MLP 3072, vocabulary
 * 49408, projection 768; vision — 224 px, patch 14 (257 tokens), width 1024, 24 layers × 16
 * heads, MLP 4096, projection 768. One forward pass per invocation, batch 1 and 16.
 *
 * <p>Work per prompt/image (multiply-add = 2 FLOPs, GEMMs and attention): text ≈ 2 · 77 ·
 * 85 M + attention ≈ 13.2 GFLOP; vision ≈ 2 · 257 · 302 M + attention ≈ 161 GFLOP. Reported
 * GFLOP/s = {@link #flops} / time.
 *
 * <p><b>CPU runs take a while</b>: the vision tower at batch 16 is ~2.6 TFLOP per call, tens of
 * seconds to minutes on a few cores; run e.g. {@code -p backend=cpu -p tower=text} first. On CUDA
 * add {@code -p dtype=BF16} (the CPU computes in F32 only). The PyTorch side-by-side (openai/CLIP
 * on the same weights) is not written yet.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
// One fork (the native library and its OpenMP pool are process-wide); few iterations because one
// call is long (a whole tower), enough to warm the JIT'd Java side, which is negligible here.
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
public class ClipBench {
    @Param({"cpu", "cuda"})
    public String backend;

    @Param({"text", "vision"})
    public String tower;

    @Param({"1", "16"})
    public int batch;

    @Param({"F32"})
    public DType dtype;

    private Backend b;
    private Workspace ws;
    private ClipTextEncoder text;
    private ClipVisionEncoder vision;
    private int[][] ids;
    private Tensor pixels;

    /** FLOPs of one call at this batch (GEMMs + attention, as the class comment counts). */
    public double flops;

    @Setup(Level.Trial)
    public void setUp() {
        b = Backend.named(backend);
        ws = b.newWorkspace(0);
        SplittableRandom r = new SplittableRandom(7);
        try (Arena arena = Arena.ofConfined()) {
            RandomWeights w = new RandomWeights(arena, r);
            if (tower.equals("text")) {
                ClipTextConfig c = ClipTextConfig.of(49408, 768, 3072, 768, 12, 12, 77, ClipActivation.QUICK_GELU);
                text = new ClipTextEncoder(b, w.text(c), dtype);
                ids = new int[batch][77];
                for (int[] row : ids) {
                    row[0] = 49406;
                    int end = 5 + r.nextInt(70);
                    for (int j = 1; j < end; j++) row[j] = r.nextInt(49406);
                    row[end] = 49407;
                }
                flops = batch * (2.0 * 77 * (12 * (4.0 * 768 * 768 + 2.0 * 768 * 3072)) + 12 * 2.0 * 77 * 77 * 768 + 2.0 * 768 * 768);
            } else {
                ClipVisionConfig c = ClipVisionConfig.of(1024, 4096, 768, 24, 16, 224, 14, ClipActivation.QUICK_GELU);
                vision = new ClipVisionEncoder(b, w.vision(c), dtype);
                float[] px = new float[batch * 224 * 224 * 3];
                for (int i = 0; i < px.length; i++) px[i] = (float) (r.nextDouble() * 4 - 2);
                pixels = b.fromFloats(dtype, px, batch, 224, 224, 3);
                flops = batch * (2.0 * 256 * 1024 * 3 * 14 * 14 + 2.0 * 257 * (24 * (4.0 * 1024 * 1024 + 2.0 * 1024 * 4096))
                        + 24 * 4.0 * 257 * 257 * 1024 + 2.0 * 1024 * 768);
            }
        }
        System.out.printf("%nClipBench %s %s batch %d: %.1f GFLOP per call%n", backend, tower, batch, flops / 1e9);
    }

    @Benchmark
    public void forward() {
        if (text != null) text.forward(ids, ws);
        else vision.forward(pixels, ws);
        b.synchronize();
        ws.reset();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (text != null) text.close();
        if (vision != null) vision.close();
        if (pixels != null) pixels.close();
        ws.close();
        b.close();
    }

    /** Random float32 weights in host memory shaped as the loader would give them (LayerNorms 1 and 0). */
    static final class RandomWeights {
        private final Arena arena;
        private final SplittableRandom r;

        RandomWeights(Arena arena, SplittableRandom r) {
            this.arena = arena;
            this.r = r;
        }

        Weight w(String name, double scale, double offset, long... shape) {
            long n = 1;
            for (long d : shape) n *= d;
            MemorySegment s = arena.allocate(4 * n, 64);
            for (long i = 0; i < n; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) (offset + scale * (r.nextDouble() * 2 - 1)));
            return new Weight(new TensorEntry(name, StoredType.F32, shape, 0, 4 * n, Path.of("random")), s);
        }

        ClipWeights.Linear linear(String name, long out, long in) {
            return new ClipWeights.Linear(w(name + ".weight", 0.02, 0, out, in), w(name + ".bias", 0.02, 0, out));
        }

        ClipWeights.LayerNorm norm(String name, long d) {
            return new ClipWeights.LayerNorm(w(name + ".weight", 0, 1, d), w(name + ".bias", 0, 0, d));
        }

        List<ClipWeights.Layer> layers(String prefix, int n, long d, long mlp) {
            List<ClipWeights.Layer> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String p = prefix + i;
                out.add(new ClipWeights.Layer(norm(p + ".ln1", d), linear(p + ".q", d, d), linear(p + ".k", d, d),
                        linear(p + ".v", d, d), linear(p + ".out", d, d), norm(p + ".ln2", d), linear(p + ".fc1", mlp, d),
                        linear(p + ".fc2", d, mlp)));
            }
            return out;
        }

        ClipWeights.Text text(ClipTextConfig c) {
            long d = c.hiddenSize();
            return new ClipWeights.Text(c, w("tok", 0.02, 0, c.vocabSize(), d), w("pos", 0.01, 0, c.maxPositionEmbeddings(), d),
                    layers("text", c.numHiddenLayers(), d, c.intermediateSize()), norm("final", d),
                    new ClipWeights.Linear(w("proj", 0.02, 0, c.projectionDim(), d), null));
        }

        ClipWeights.Vision vision(ClipVisionConfig c) {
            long d = c.hiddenSize();
            return new ClipWeights.Vision(c, w("cls", 0.02, 0, d), w("patch", 0.02, 0, d, 3, c.patchSize(), c.patchSize()),
                    w("pos", 0.01, 0, c.numPositions(), d), norm("pre", d), layers("vision", c.numHiddenLayers(), d,
                    c.intermediateSize()), norm("post", d), new ClipWeights.Linear(w("proj", 0.02, 0, c.projectionDim(), d), null));
        }
    }
}
