package dev.unclip4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.image.RgbImage;
import dev.unclip4j.testing.SharedData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./unclip} launcher itself, as a user runs it from another folder (an integration
 * test: Maven's failsafe runs it after the jar is packaged, so the launcher finds it fresh and
 * does not build). Output goes to a pipe, so progress is plain lines.
 */
class LauncherIT {
    @TempDir
    Path dir;

    record Run(int status, String out, String err) {}

    Run unclip(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(SharedData.repoRoot().resolve("unclip").toString()));
        command.addAll(List.of(args));
        Path out = dir.resolve(".stdout"), err = dir.resolve(".stderr");
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "unclip " + String.join(" ", args) + " did not finish");
        Run r = new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        Files.delete(out);
        Files.delete(err);
        return r;
    }

    @Test
    void generateWithoutOutputNamesTheFileAfterThePromptAndSeed() throws Exception {
        Run r = unclip(Cli.fast("generate", "a red circle", "--seed", "3"));
        assertEquals(0, r.status(), r.err());
        assertEquals("a-red-circle-3.png\n", r.out());
        assertEquals(128, RgbImage.read(dir.resolve("a-red-circle-3.png")).width());
        assertTrue(r.err().contains("decoder     2/2"), "plain progress lines on a pipe: " + r.err());
        assertTrue(r.err().contains("stage times:"), r.err());

        Run info = unclip("info", "a-red-circle-3.png");
        assertEquals(0, info.status(), info.err());
        assertTrue(info.out().contains("prompt: a red circle\nseed: 3\n"), info.out());

        Run c = unclip("classify", "a-red-circle-3.png", "a red circle", "a blue square");
        assertEquals(0, c.status(), c.err());
        assertEquals(2, c.out().lines().count(), c.out());
        noCrashFiles();
    }

    @Test
    void aPromptLongerThanTheContextIsTruncatedWithAWarning() throws Exception {
        String prompt = "a red circle " + "and a blue square ".repeat(20);
        Run r = unclip(Cli.fast("generate", prompt, "-o", "long.png", "--quiet"));
        assertEquals(0, r.status(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().matches("unclip: WARNING: prompt 0 has \\d+ tokens, truncated to the context of \\d+: .*\\n"), r.err());
        assertTrue(Files.isRegularFile(dir.resolve("long.png")));
    }

    @Test
    void badInputIsOneLineAndANonZeroStatus() throws Exception {
        Run r = unclip("generate", "a cat", "--bogus");
        assertEquals(2, r.status());
        assertEquals("unclip generate: Unknown option: '--bogus' (see unclip generate --help)\n", r.err());
        r = unclip(Cli.fast("generate", "a cat", "--model", "nothing"));
        assertEquals(1, r.status());
        assertTrue(r.err().startsWith("unclip: ") && r.err().contains("nothing") && r.err().lines().count() == 1, r.err());
        r = unclip("--version");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().startsWith("unclip4j "), r.out());
        noCrashFiles();
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(), s.toList(), "nothing written");
        }
    }

    private void noCrashFiles() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().startsWith("hs_err")), "a JVM crash file");
        }
    }
}
