package dev.unclip4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code benchmarks/compare/cpu.sh --smoke}: the CPU comparison harness works (not how fast
 * anything is). An integration test: failsafe runs it after packaging, so benchmarks.jar is there
 * and the script does not build. About a minute with PyTorch and diffusers present; where they are
 * not (a fresh clone has no third_party/, a machine may lack python3-torch) the script skips those
 * sides and says why, and this test checks that it said so, while every unclip4j side still runs.
 */
class CpuCompareSmokeIT {
    @TempDir
    Path dir;

    @Test
    void smokeRunWritesTheReportAndTheRawResults() throws Exception {
        Path root = Path.of("").toAbsolutePath();
        if (!Files.exists(root.resolve("benchmarks/compare/cpu.sh"))) root = root.getParent();
        Path script = root.resolve("benchmarks/compare/cpu.sh");
        assertTrue(Files.isExecutable(script), script + " is missing or not executable");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "no /usr/bin/python3: the harness's driver is Python");
        assumeTrue(onPath("gcc"), "no gcc: the peak micro-benchmark is compiled by the script");

        Path out = dir.resolve("cpu-smoke.md"), log = dir.resolve("cpu-smoke.stderr");
        Process p = new ProcessBuilder(script.toString(), "--smoke", "--out", out.toString()).directory(root.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        // CI's budget: the smoke is about a minute; a hang must not hold the build for long.
        boolean finished = p.waitFor(5, TimeUnit.MINUTES);
        if (!finished) p.destroyForcibly().waitFor();
        String output = Files.readString(log, StandardCharsets.UTF_8);
        System.out.println(output);  // what ran and what was skipped, in the build's log
        assertTrue(finished, "cpu.sh --smoke did not finish in 5 minutes:\n" + output);
        assertEquals(0, p.exitValue(), "cpu.sh --smoke failed:\n" + output);

        String md = Files.readString(out, StandardCharsets.UTF_8);
        for (String section : new String[] {"## Issue 19's targets", "## The machine's limits", "## 1. End to end",
                "## 3. Kernels at those shapes", "## 4. Peak resident memory", "**Command**: `benchmarks/compare/cpu.sh --smoke"}) {
            assertTrue(md.contains(section), "the report has no '" + section + "':\n" + md);
        }
        JsonNode json = new ObjectMapper().readTree(out.resolveSibling("cpu-smoke.json").toFile());
        assertTrue(json.at("/meta/errors").isEmpty(), json.at("/meta/errors").toString());
        assertTrue(json.at("/peak/0/best").asDouble() > 0, "no FMA peak measured");
        assertFalse(json.at("/e2e/0/runs/unclip4j").isMissingNode(), "no unclip4j end-to-end run");
        assertFalse(json.at("/kernels/0/runs/unclip4j").isMissingNode(), "no unclip4j kernel run");
        assertTrue(json.at("/e2e/0/peak_rss_mib/unclip4j").asDouble() > 0, "no peak RSS");

        // Each side of the comparison either ran or was skipped with its reason.
        String skipped = json.at("/meta/skipped").toString();
        boolean torch = !json.at("/kernels/0/runs/torch").isMissingNode();
        assertTrue(torch || skipped.contains("PyTorch is not installed"), "no torch kernels and no reason: " + skipped);
        boolean diffusers = !json.at("/e2e/0/runs/torch").isMissingNode();
        assertTrue(diffusers || skipped.contains("diffusers side skipped"), "no diffusers run and no reason: " + skipped);
        if (diffusers) {
            assertEquals(3, json.at("/networks").size(), "the three networks, when diffusers is present");
            json.at("/networks").forEach(n -> assertTrue(n.path("shapes_checked").asBoolean(),
                    n.path("network") + ": karlo_shapes.py's calls differ from diffusers'"));
        } else {
            assertTrue(skipped.contains("networks"), "networks neither ran nor were skipped: " + skipped);
        }
    }

    private static boolean onPath(String program) {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String d : path.split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(d, program))) return true;
        }
        return false;
    }
}
