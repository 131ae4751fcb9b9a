package dev.unclip4j.bench;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.pipeline.Seeds;
import dev.unclip4j.pipeline.TextToImage;
import dev.unclip4j.pipeline.UnclipModel;
import dev.unclip4j.pipeline.UnclipPipeline;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.OpProfile;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Seconds per image of text to image with the pipeline's defaults (25 prior, 25 decoder, 7
 * super-resolution steps), the unclip4j side of benchmarks/compare/pipeline_cpu.sh, which runs
 * diffusers' training/generate_reference.py time beside it: the same prompt, the same seeds,
 * a warm-up call, then the median of the runs. A whole call is seconds long, so a plain timer is
 * the right tool here (JMH's machinery adds nothing at that scale). The thread count is the
 * native library's OpenMP count (OMP_NUM_THREADS).
 *
 * <pre>
 * java [-Dunclip.profile=true] -cp benchmarks/target/benchmarks.jar dev.unclip4j.bench.PipelineTime MODEL [repeats=5] [batch=1]
 * </pre>
 *
 * <p>With {@code -Dunclip.profile=true} it also prints each op's calls and share of the timed
 * runs ({@link Backend#startProfile}), which is where to look before changing a kernel.
 */
public final class PipelineTime {
    private PipelineTime() {}

    public static void main(String[] args) {
        Path model = Path.of(args.length > 0 ? args[0] : "models/unclip-shapes-tiny");
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        String prompt = "a small blue square at the top left on a yellow background";
        try (Backend cpu = Backend.cpu(); UnclipModel m = UnclipModel.load(model, cpu, DType.F32);
             UnclipPipeline p = new UnclipPipeline(m)) {
            // Warm-up at the measured batch: the first call at a batch size grows the pipeline's
            // workspaces, and on this VM each first-touched page costs ~15 µs (seconds at batch 16).
            p.textToImage(request(prompt, batch, 0), UnclipPipeline.Progress.NONE);
            double[] seconds = new double[repeats], cpuSeconds = new double[repeats];
            ThreadMXBean threadCpu = ManagementFactory.getThreadMXBean();
            List<Map<String, Long>> stages = new ArrayList<>();
            boolean profile = Boolean.getBoolean("unclip.profile");
            if (profile) cpu.startProfile();
            for (int i = 0; i < repeats; i++) {
                TextToImage r = request(prompt, batch, i);
                long t0 = System.nanoTime(), c0 = threadCpu.getCurrentThreadCpuTime();
                stages.add(p.textToImage(r, UnclipPipeline.Progress.NONE).stageNanos());
                seconds[i] = (System.nanoTime() - t0) / 1e9;
                cpuSeconds[i] = (threadCpu.getCurrentThreadCpuTime() - c0) / 1e9;
            }
            if (profile) printProfile(cpu.stopProfile(), Arrays.stream(seconds).sum());
            double[] sorted = seconds.clone();
            Arrays.sort(sorted);
            double median = sorted[repeats / 2];
            double[] cpuSorted = cpuSeconds.clone();
            Arrays.sort(cpuSorted);
            System.out.printf("unclip4j: batch %d, default steps, OMP_NUM_THREADS=%s: median %.2f s per call, %.2f s per image,"
                    + " %.2f images/s; runs %s; calling thread's CPU time: median %.2f s per call; stages of the last run (s) %s; device %s%n", batch,
                    System.getenv().getOrDefault("OMP_NUM_THREADS", "(all cores)"), median, median / batch, batch / median,
                    Arrays.toString(Arrays.stream(seconds).map(s -> Math.round(s * 100) / 100.0).toArray()),
                    cpuSorted[repeats / 2],
                    stages.getLast().entrySet().stream().map(e -> e.getKey() + " " + Math.round(e.getValue() / 1e7) / 100.0)
                            .toList(), cpu.device());
        }
    }

    private static void printProfile(OpProfile profile, double seconds) {
        System.out.printf("ops: %.3f s of %.3f s timed%n", profile.totalNanos() / 1e9, seconds);
        profile.entries().entrySet().stream()
                .sorted((a, b) -> Long.compare(b.getValue().nanos(), a.getValue().nanos()))
                .forEach(e -> System.out.printf("  %-28s %8d calls %9.3f s %5.1f %%%n", e.getKey(), e.getValue().calls(),
                        e.getValue().nanos() / 1e9, 100.0 * e.getValue().nanos() / 1e9 / seconds));
    }

    private static TextToImage request(String prompt, int batch, long seed) {
        return new TextToImage(List.of(prompt), null, batch, TextToImage.PRIOR_STEPS, TextToImage.DECODER_STEPS,
                TextToImage.SUPER_RES_STEPS, TextToImage.PRIOR_GUIDANCE, TextToImage.DECODER_GUIDANCE, Seeds.of(seed));
    }
}
