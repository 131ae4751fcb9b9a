package dev.unclip4j.bench;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.nn.ResBlock;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
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
 * A whole ResBlock (GN+SiLU → conv3×3 → time scale/shift → GN+SiLU → conv3×3 + skip) at Karlo's
 * shapes with random weights (time embedding 1280 wide, as the decoder's). TFLOP/s counts the
 * convs and the time projection: 2·N·H·W·9·(Cin·Cout + Cout²) (+ 2·N·H·W·Cin·Cout for a shortcut).
 *
 * <p>Shapes "NxHxWxCinxCoutxResample": the decoder's blocks at 64 px (320 ch) and 8 px (1280 ch),
 * its 32-px channel-changing block (320 → 640, 1×1 shortcut), a down block, an odd one.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
// One fork (process-wide native library and OpenMP pool); blocks take 10–100 ms on the CPU.
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
public class ResBlockBench {
    private static final int TEMB = 1280;

    @Param({"cpu", "cuda"})
    public String backend;

    @Param({"2x64x64x320x320xNONE", "2x32x32x320x640xNONE", "2x8x8x1280x1280xNONE", "2x16x16x640x640xDOWN",
            "1x13x11x96x160xUP"})
    public String shape;

    @Param({"F32"})
    public DType dtype;

    private Backend b;
    private Workspace ws;
    private ResBlock block;
    private Tensor x, temb, out;
    private Tensor[] weights;

    @Setup(Level.Trial)
    public void setUp() {
        b = Backend.named(backend);
        String[] s = shape.split("x");
        int n = Integer.parseInt(s[0]), h = Integer.parseInt(s[1]), w = Integer.parseInt(s[2]);
        int cin = Integer.parseInt(s[3]), cout = Integer.parseInt(s[4]);
        SplittableRandom r = new SplittableRandom(42);
        boolean shortcut = cin != cout;
        weights = new Tensor[] {
            t(r, cin), t(r, cin), t(r, cout, cin, 3, 3), t(r, cout), t(r, 2L * cout, TEMB), t(r, 2L * cout),
            t(r, cout), t(r, cout), t(r, cout, cout, 3, 3), t(r, cout),
            shortcut ? t(r, cout, cin, 1, 1) : null, shortcut ? t(r, cout) : null};
        block = new ResBlock(b, new ResBlock.Weights(weights[0], weights[1], weights[2], weights[3], weights[4],
                weights[5], weights[6], weights[7], weights[8], weights[9], weights[10], weights[11]), 32, 1e-5f, 1f,
                ResBlock.Resample.valueOf(s[5]));
        x = t(r, n, h, w, cin);
        temb = t(r, n, TEMB);
        out = b.allocate(dtype, block.outputShape(x.shape()));
        ws = b.newWorkspace(0);
    }

    private Tensor t(SplittableRandom r, long... shape) {
        long numel = 1;
        for (long d : shape) numel *= d;
        // Small weights keep activations O(1) through the block, as trained ones do.
        float[] v = LinearBench.random(r, Math.toIntExact(numel));
        for (int i = 0; i < v.length; i++) v[i] *= 0.05f;
        return b.fromFloats(dtype, v, shape);
    }

    @Benchmark
    public void resBlock() {
        block.forward(x, temb, out, ws);
        b.synchronize();
        ws.reset();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        block.close();
        b.close();
    }
}
