package dev.unclip4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.model.PriorConfig;
import dev.unclip4j.model.PriorTransformer;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.OpProfile;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import dev.unclip4j.unet.UNet;
import dev.unclip4j.unet.UNetConfig;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One forward pass of a whole unCLIP network at Karlo's full shapes on the CPU backend, timed and
 * profiled per op: the unclip4j side of {@code benchmarks/compare/networks_cpu.py}, which writes
 * the networks' folders (config.json + random weights), runs diffusers' modules on the same
 * weights and this class back to back, and writes the comparison to benchmarks/results/.
 *
 * <pre>
 * OMP_NUM_THREADS=2 java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar \
 *     dev.unclip4j.bench.NetworkForward DIR NETWORK REPEATS
 * </pre>
 *
 * DIR holds one folder per network (diffusers' UnCLIP pipeline layout: decoder/, super_res_first/,
 * prior/); NETWORK is a key of {@link #CASES} ({@code --list} prints them). Protocol, the same as the Python side's: load, one
 * warm-up forward (it also sizes the workspace), REPEATS timed forwards, then one more forward
 * with {@link Backend#startProfile} on for the op split. Prints one JSON object on stdout.
 *
 * <p>Why a main class and not JMH, the convention for kernel benchmarks: one forward is seconds to
 * minutes of native code, so what JMH guards against (JIT warm-up, dead code, too few calls per
 * sample) does not arise; what is wanted is a handful of single shots, their spread, and one
 * profiled pass in the same process, each network in its own JVM so only one set of weights
 * (up to 4 GB) is resident at a time — which a script driving both sides does directly.
 * The thread count is libunclip_cpu's OpenMP default: OMP_NUM_THREADS, else one per core.
 */
public final class NetworkForward {
    private NetworkForward() {}

    /** A loaded network with its inputs; {@link #forward} is one pass. */
    interface Run extends AutoCloseable {
        void forward(Workspace ws);

        /**
         * One pass at another spatial size (a U-Net's side; the prior has none), for a cheaper
         * warm-up of a large network: the same weights and kernels on fewer pixels.
         */
        default void forward(Workspace ws, int size) {
            forward(ws);
        }

        @Override
        void close();
    }

    /** How to load a network from its folder under DIR and build its inputs at Karlo's shape. */
    @FunctionalInterface
    interface Case {
        Run load(Path dir, Backend backend);
    }

    /**
     * The networks, at the shapes of REFERENCE.md "Full-size configurations" (networks_cpu.py's
     * CASES names the same ones): the prior at batch 2 (classifier-free guidance) with 77 text
     * tokens; the decoder at batch 2 and 64×64 with 81 text tokens (77 + 4 extra CLIP tokens,
     * text_proj's output); super_res_first at batch 1 and 256×256. A network joins with one row
     * here and one there.
     */
    static final Map<String, Case> CASES = Map.of(
            "prior", (dir, b) -> prior(dir.resolve("prior"), b, 2, 77),
            "decoder", (dir, b) -> unet(dir.resolve("decoder"), "decoder", b, 2, 64, 81),
            "super_res_first", (dir, b) -> unet(dir.resolve("super_res_first"), "super_res_first", b, 1, 256, 0));

    /** A U-Net at batch n and size×size; textLength > 0: the decoder's text tokens, mask and class labels. */
    static Run unet(Path dir, String component, Backend b, int n, int size, int textLength) {
        UNet unet = UNet.load(dir, component, b, DType.F32);
        UNetConfig c = unet.config();
        SplittableRandom r = new SplittableRandom(7);
        List<Tensor> inputs = new ArrayList<>();
        Tensor sample = keep(inputs, random(b, r, n, size, size, c.inChannels()));
        Tensor text = null, mask = null, labels = null;
        if (textLength > 0) {
            text = keep(inputs, random(b, r, n, textLength, c.crossAttentionDims()[0]));
            // 4 extra CLIP tokens and a 20-token prompt, the rest padding: the pipeline's text_mask.
            float[] m = new float[n * textLength];
            for (int i = 0; i < n; i++) Arrays.fill(m, i * textLength, i * textLength + 4 + 20, 1f);
            mask = keep(inputs, b.fromFloats(DType.F32, m, n, textLength));
            labels = keep(inputs, random(b, r, n, c.timeEmbedDim()));
        }
        float[] timesteps = new float[n];
        Arrays.fill(timesteps, 999f);
        Tensor t = text, am = mask, cl = labels;
        Map<Integer, Tensor> samples = new HashMap<>(Map.of(size, sample));
        return new Run() {
            @Override
            public void forward(Workspace ws) {
                unet.forward(sample, timesteps, t, am, cl, ws);
            }

            @Override
            public void forward(Workspace ws, int other) {
                Tensor x = samples.computeIfAbsent(other, s -> keep(inputs, random(b, r, n, s, s, c.inChannels())));
                unet.forward(x, timesteps, t, am, cl, ws);
            }

            @Override
            public void close() {
                inputs.forEach(Tensor::close);
                unet.close();
            }
        };
    }

    /** The prior at batch n with textLength text tokens. */
    static Run prior(Path dir, Backend b, int n, int textLength) {
        PriorTransformer prior = PriorTransformer.load(dir, b, DType.F32);
        PriorConfig c = prior.config();
        SplittableRandom r = new SplittableRandom(7);
        List<Tensor> inputs = new ArrayList<>();
        Tensor latents = keep(inputs, random(b, r, n, c.embeddingDim()));
        Tensor promptEmbeds = keep(inputs, random(b, r, n, c.embeddingProjDim()));
        Tensor text = keep(inputs, random(b, r, n, textLength, c.embeddingDim()));
        int[][] mask = new int[n][textLength];
        for (int[] row : mask) Arrays.fill(row, 0, 20, 1);   // a 20-token prompt, the rest padding
        return new Run() {
            @Override
            public void forward(Workspace ws) {
                prior.forward(latents, 999, promptEmbeds, text, mask, ws);
            }

            @Override
            public void close() {
                inputs.forEach(Tensor::close);
                prior.close();
            }
        };
    }

    private static Tensor keep(List<Tensor> owned, Tensor t) {
        owned.add(t);
        return t;
    }

    private static Tensor random(Backend b, SplittableRandom r, long... shape) {
        long numel = 1;
        for (long d : shape) numel *= d;
        return b.fromFloats(DType.F32, LinearBench.random(r, Math.toIntExact(numel)), shape);
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("--list")) {   // the networks this side runs, for the driver
            CASES.keySet().stream().sorted().forEach(System.out::println);
            return;
        }
        if (args.length != 3 || !CASES.containsKey(args[1])) {
            System.err.println("usage: NetworkForward DIR NETWORK REPEATS   (NETWORK: one of " + CASES.keySet() + ")");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        int repeats = Integer.parseInt(args[2]);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("network", args[1]);
        try (Backend b = Backend.cpu(); Workspace ws = b.newWorkspace(0)) {
            result.put("device", b.device());
            long t0 = System.nanoTime();
            try (Run run = CASES.get(args[1]).load(dir, b)) {
                result.put("load_s", seconds(System.nanoTime() - t0));
                result.put("warmup_s", timeOne(run, b, ws));
                List<Double> times = new ArrayList<>();
                long cpu0 = processCpuNanos();
                for (int i = 0; i < repeats; i++) times.add(timeOne(run, b, ws));
                result.put("times_s", times);
                // CPU time of the whole process over the timed forwards: with the wall time, how much
                // of its cores it got on a shared machine (OpenMP threads spinning at barriers count too).
                result.put("cpu_s", seconds(processCpuNanos() - cpu0));
                b.startProfile();
                result.put("profiled_s", timeOne(run, b, ws));
                OpProfile profile = b.stopProfile();
                Map<String, Object> ops = new LinkedHashMap<>();
                profile.entries().forEach((op, e) -> ops.put(op, Map.of("calls", e.calls(), "s", seconds(e.nanos()))));
                result.put("ops", ops);
                result.put("workspace_bytes", ws.capacity());
            }
        }
        System.out.println(new ObjectMapper().writeValueAsString(result));
    }

    private static double timeOne(Run run, Backend b, Workspace ws) {
        long t0 = System.nanoTime();
        run.forward(ws);
        b.synchronize();
        double s = seconds(System.nanoTime() - t0);
        ws.reset();
        return s;
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static double seconds(long nanos) {
        return nanos * 1e-9;
    }
}
