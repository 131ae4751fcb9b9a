package dev.unclip4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unclip4j.bindings.Activation;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.pipeline.Seeds;
import dev.unclip4j.pipeline.TextToImage;
import dev.unclip4j.pipeline.UnclipModel;
import dev.unclip4j.pipeline.UnclipPipeline;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.OpProfile;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The unclip4j side of {@code benchmarks/compare/cpu.sh}: one process that loads one thing, then
 * times calls on request, so that the driver can alternate between it and the PyTorch side
 * ({@code benchmarks/compare/cpu_torch.py}, the same protocol and requests) and the machine's
 * noise hits both alike.
 *
 * <pre>
 * OMP_NUM_THREADS=T java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar \
 *     dev.unclip4j.bench.CpuCompare pipeline MODEL_DIR | network DIR NETWORK | kernels
 * </pre>
 *
 * <p>Protocol: after loading it prints one JSON line ({@code {"ready": true, ...}}); then for
 * every JSON line read from stdin it does what {@code "cmd"} says and answers one JSON line (with
 * {@code "error"} when that failed) until {@code {"cmd": "quit"}} or the end of stdin. Timings are
 * wall seconds ({@link System#nanoTime}) and process CPU seconds around the timed work only.
 * Nothing else is written to stdout.
 *
 * <ul>
 *   <li>pipeline: text to image with {@link UnclipPipeline}; {@code generate} takes prompts,
 *       images_per_prompt, steps [prior, decoder, super_res] and seed (one generator for the call,
 *       as diffusers' {@code generator=torch.Generator().manual_seed(seed)}).
 *   <li>network: one of {@link NetworkForward#CASES}; {@code forward} takes an optional spatial
 *       size (a cheaper warm-up) and {@code profile} ({@link Backend#startProfile}, per op).
 *   <li>kernels: {@code setup} one op at one shape on random inputs, the call the networks make
 *       (conv 3×3 with bias fused, linear with bias, group norm + SiLU, attention / added-KV
 *       attention with the text padding mask), calibrated to last {@code min_s} per run
 *       (a warm-up call, then a calibration call unless the first took 10 × min_s or more);
 *       {@code run} times one run; {@code free} drops it.
 * </ul>
 * Why a main class and not JMH: the driver needs both sides resident and answering in turn; JMH
 * runs one benchmark to completion in its own fork. Each run here is a plain loop over calls of
 * native code after a warm-up call, which is what JMH would measure at these call lengths.
 */
public final class CpuCompare {
    private CpuCompare() {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static PrintStream protocol;

    interface Handler {
        Map<String, Object> handle(JsonNode request) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        protocol = System.out;
        System.setOut(System.err);  // nothing but the protocol on stdout
        if (args.length == 0) usage();
        try (Backend cpu = Backend.cpu()) {
            switch (args[0]) {
                case "pipeline" -> {
                    if (args.length != 2) usage();
                    pipeline(cpu, Path.of(args[1]));
                }
                case "network" -> {
                    if (args.length != 3 || !NetworkForward.CASES.containsKey(args[2])) usage();
                    network(cpu, Path.of(args[1]), args[2]);
                }
                case "kernels" -> {
                    if (args.length != 1) usage();
                    kernels(cpu);
                }
                default -> usage();
            }
        }
    }

    private static void usage() {
        System.err.println("usage: CpuCompare pipeline MODEL_DIR | network DIR NETWORK | kernels   (NETWORK: one of "
                + NetworkForward.CASES.keySet() + ")");
        System.exit(2);
    }

    private static void answer(Map<String, Object> message) throws Exception {
        protocol.println(JSON.writeValueAsString(message));
        protocol.flush();
    }

    private static Map<String, Object> ready(Backend cpu, double loadSeconds) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ready", true);
        m.put("load_s", loadSeconds);
        m.put("device", cpu.device());
        m.put("java", System.getProperty("java.vm.name") + " " + Runtime.version());
        return m;
    }

    private static void serve(Map<String, Handler> handlers) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.isBlank()) continue;
            JsonNode request = JSON.readTree(line);
            String cmd = request.path("cmd").asText();
            if (cmd.equals("quit")) return;
            Map<String, Object> out;
            try {
                Handler h = handlers.get(cmd);
                if (h == null) throw new IllegalArgumentException("unknown cmd '" + cmd + "'");
                out = h.handle(request);
            } catch (Exception | Error e) {   // one failed request is reported, the process keeps serving
                out = new LinkedHashMap<>();
                out.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
            }
            answer(out);
        }
    }

    /** Wall and CPU seconds of one timed piece of work. */
    private record Timing(double s, double cpuS) {
        static Timing of(Runnable work) {
            long c0 = cpuNanos(), t0 = System.nanoTime();
            work.run();
            long t1 = System.nanoTime(), c1 = cpuNanos();
            return new Timing((t1 - t0) * 1e-9, (c1 - c0) * 1e-9);
        }

        Map<String, Object> map() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("s", s);
            m.put("cpu_s", cpuS);
            return m;
        }
    }

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    // ---- the built-in model end to end --------------------------------------------------------

    private static void pipeline(Backend cpu, Path model) throws Exception {
        long t0 = System.nanoTime();
        try (UnclipModel m = UnclipModel.load(model, cpu, DType.F32); UnclipPipeline p = new UnclipPipeline(m)) {
            answer(ready(cpu, (System.nanoTime() - t0) * 1e-9));
            serve(Map.of("generate", r -> {
                List<String> prompts = new ArrayList<>();
                r.get("prompts").forEach(x -> prompts.add(x.asText()));
                JsonNode steps = r.get("steps");
                TextToImage request = new TextToImage(prompts, null, r.get("images_per_prompt").asInt(), steps.get(0).asInt(),
                        steps.get(1).asInt(), steps.get(2).asInt(), TextToImage.PRIOR_GUIDANCE,
                        TextToImage.DECODER_GUIDANCE, Seeds.of(r.get("seed").asLong()));
                UnclipPipeline.Result[] result = new UnclipPipeline.Result[1];
                Timing t = Timing.of(() -> result[0] = p.textToImage(request, UnclipPipeline.Progress.NONE));
                Map<String, Object> out = t.map();
                out.put("images", result[0].images().size());
                out.put("size", List.of(result[0].images().getFirst().width(), result[0].images().getFirst().height()));
                Map<String, Double> stages = new LinkedHashMap<>();
                result[0].stageNanos().forEach((k, v) -> stages.put(k, v * 1e-9));
                out.put("stages_s", stages);
                return out;
            }));
        }
    }

    // ---- Karlo's networks with random weights ---------------------------------------------------

    private static void network(Backend cpu, Path dir, String name) throws Exception {
        long t0 = System.nanoTime();
        try (NetworkForward.Run run = NetworkForward.CASES.get(name).load(dir, cpu)) {
            answer(ready(cpu, (System.nanoTime() - t0) * 1e-9));
            Workspace[] ws = {cpu.newWorkspace(0)};
            int[] warmSize = {0};
            try {
                serve(Map.of("forward", r -> {
                    int size = r.path("size").asInt(0);
                    boolean profile = r.path("profile").asBoolean(false);
                    if (size == 0 && warmSize[0] > 0) {
                        // The warm-up ran on fewer pixels: give the full-size passes a workspace
                        // scaled by the pixel ratio now, so the first timed pass does not grow it.
                        double ratio = Math.pow((double) r.path("full_size").asInt(warmSize[0]) / warmSize[0], 2);
                        long bytes = (long) (ws[0].capacity() * ratio);
                        ws[0].close();
                        ws[0] = cpu.newWorkspace(bytes);
                        warmSize[0] = 0;
                    }
                    if (size > 0) warmSize[0] = size;
                    if (profile) cpu.startProfile();
                    Timing t = Timing.of(() -> {
                        if (size > 0) run.forward(ws[0], size);
                        else run.forward(ws[0]);
                        cpu.synchronize();
                    });
                    ws[0].reset();
                    Map<String, Object> out = t.map();
                    if (profile) {
                        OpProfile p = cpu.stopProfile();
                        Map<String, Object> ops = new LinkedHashMap<>();
                        p.entries().forEach((op, e) -> ops.put(op, Map.of("calls", e.calls(), "s", e.nanos() * 1e-9)));
                        out.put("ops", ops);
                    }
                    out.put("workspace_bytes", ws[0].capacity());
                    return out;
                }));
            } finally {
                ws[0].close();
            }
        }
    }

    // ---- kernels ----------------------------------------------------------------------------------

    /** One op at one shape, on inputs it owns. */
    private record Kernel(Runnable call, List<Tensor> tensors, int calls) {}

    private static void kernels(Backend cpu) throws Exception {
        answer(ready(cpu, 0));
        Map<String, Kernel> live = new HashMap<>();
        SplittableRandom random = new SplittableRandom(42);
        serve(Map.of(
                "setup", r -> {
                    List<Tensor> tensors = new ArrayList<>();
                    Runnable call = make(cpu, r, random, tensors);
                    // A warm-up call, then one to calibrate the calls per run; a first call of a
                    // second or more (the largest convs) is its own calibration, warm-up effects
                    // being milliseconds.
                    double minS = r.get("min_s").asDouble();
                    Timing first = Timing.of(call), second = first.s() >= 10 * minS ? first : Timing.of(call);
                    int calls = (int) Math.max(1, Math.ceil(minS / Math.max(second.s(), 1e-9)));
                    Kernel old = live.put(r.get("id").asText(), new Kernel(call, tensors, calls));
                    if (old != null) old.tensors().forEach(Tensor::close);
                    return Map.of("calls", calls, "first_s", first.s(), "second_s", second.s());
                },
                "run", r -> {
                    Kernel k = live.get(r.get("id").asText());
                    if (k == null) throw new IllegalArgumentException("no kernel " + r.get("id"));
                    Timing t = Timing.of(() -> {
                        for (int i = 0; i < k.calls(); i++) k.call().run();
                    });
                    return Map.of("s_per_call", t.s() / k.calls(), "cpu_s_per_call", t.cpuS() / k.calls(), "calls", k.calls());
                },
                "free", r -> {
                    Kernel k = live.remove(r.get("id").asText());
                    if (k != null) k.tensors().forEach(Tensor::close);
                    return Map.of();
                }));
        live.values().forEach(k -> k.tensors().forEach(Tensor::close));
    }

    private static Tensor random(Backend b, SplittableRandom r, List<Tensor> owned, long... shape) {
        long numel = 1;
        for (long d : shape) numel *= d;
        Tensor t = b.fromFloats(DType.F32, LinearBench.random(r, Math.toIntExact(numel)), shape);
        owned.add(t);
        return t;
    }

    /**
     * The call the networks make for this op (see the Backend callers in unet/ and model/), with
     * the weight held as a loaded checkpoint's is: constant, so the first (warm-up) call packs it
     * for the GEMM once and the timed calls read the packed panels, as every step of a network does.
     */
    private static Runnable make(Backend b, JsonNode r, SplittableRandom rnd, List<Tensor> t) {
        switch (r.get("kind").asText()) {
            case "conv" -> {   // ResBlock's conv1: NHWC, OHWI weights, bias fused
                int n = r.get("n").asInt(), h = r.get("h").asInt(), w = r.get("w").asInt(), cin = r.get("cin").asInt();
                int cout = r.get("cout").asInt(), k = r.get("k").asInt(), stride = r.get("stride").asInt();
                Tensor x = random(b, rnd, t, n, h, w, cin), wt = random(b, rnd, t, cout, k, k, cin).markConstant();
                Tensor bias = random(b, rnd, t, cout);
                Tensor out = b.allocate(DType.F32, n, (h + 2 * (k / 2) - k) / stride + 1, (w + 2 * (k / 2) - k) / stride + 1, cout);
                t.add(out);
                return () -> b.conv2d(x, wt, bias, null, out, stride, k / 2, 1f);
            }
            case "linear" -> {
                int m = r.get("m").asInt(), n = r.get("n").asInt(), k = r.get("k").asInt();
                Tensor x = random(b, rnd, t, m, k), w = random(b, rnd, t, n, k).markConstant(), bias = random(b, rnd, t, n);
                Tensor out = b.allocate(DType.F32, m, n);
                t.add(out);
                return () -> b.linear(x, w, bias, null, out, Activation.NONE);
            }
            case "group_norm_silu" -> {   // ResBlock's norm1 + SiLU, one fused op
                int n = r.get("n").asInt(), c = r.get("c").asInt(), hw = r.get("hw").asInt(), groups = r.get("groups").asInt();
                Tensor x = random(b, rnd, t, n, hw, c), gamma = random(b, rnd, t, c), beta = random(b, rnd, t, c);
                Tensor out = b.allocate(DType.F32, n, hw, c);
                t.add(out);
                return () -> b.groupNorm(x, gamma, beta, null, out, groups, 1e-5f, Activation.SILU);
            }
            case "attention" -> {
                return attention(b, r, rnd, t);
            }
            default -> throw new IllegalArgumentException("unknown kind " + r.get("kind"));
        }
    }

    /**
     * uc_attention (the prior: causal + the text padding mask) or uc_attention_added_kv (the
     * decoder: text keys first, the text padding mask on them only), as the networks call them.
     */
    private static Runnable attention(Backend b, JsonNode r, SplittableRandom rnd, List<Tensor> t) {
        int n = r.get("b").asInt(), h = r.get("heads").asInt(), d = r.get("d").asInt(), lq = r.get("lq").asInt();
        int lt = r.get("lt").asInt(), ls = r.get("ls").asInt();
        boolean causal = r.get("causal").asBoolean();
        float scale = (float) (1 / Math.sqrt(d));
        Tensor q = random(b, rnd, t, n, lq, h, d), k = random(b, rnd, t, n, ls, h, d), v = random(b, rnd, t, n, ls, h, d);
        Tensor out = b.allocate(DType.F32, n, lq, h, d);
        t.add(out);
        // A 20-token prompt and, for the decoder, the 4 extra tokens before it attend; the rest is padding.
        int maskLength = lt > 0 ? lt : ls, attend = lt > 0 ? 24 : 20;
        float[] m = new float[n * maskLength];
        for (int i = 0; i < n; i++) for (int j = 0; j < Math.min(attend, maskLength); j++) m[i * maskLength + j] = 1;
        Tensor mask = b.fromFloats(DType.F32, m, n, maskLength);
        t.add(mask);
        if (lt > 0) {
            Tensor kt = random(b, rnd, t, n, lt, h, d), vt = random(b, rnd, t, n, lt, h, d);
            return () -> b.attentionAddedKv(q, kt, vt, mask, k, v, out, scale);
        }
        return () -> b.attention(q, k, v, mask, out, scale, causal);
    }
}
