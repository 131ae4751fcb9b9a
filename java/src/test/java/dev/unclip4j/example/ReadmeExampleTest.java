package dev.unclip4j.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.image.RgbImage;
import dev.unclip4j.testing.SharedData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's Java example is {@link ReadmeExample}, word for word: Maven compiles it with the
 * tests, this test checks that the README quotes it exactly, then runs it in a working folder of
 * its own (a JVM of its own, on the tests' class path) and looks at what it wrote.
 */
class ReadmeExampleTest {
    @Test
    void theReadmeQuotesTheExampleThatCompilesAndRuns(@TempDir Path dir) throws Exception {
        Path root = SharedData.repoRoot();
        String source = Files.readString(root.resolve("java/src/test/java/dev/unclip4j/example/ReadmeExample.java"));
        String example = source.substring(source.indexOf("// README-BEGIN\n") + 16, source.indexOf("// README-END"));
        String readme = Files.readString(root.resolve("README.md"));
        assertTrue(readme.contains("```java\n" + example + "```\n"), "README.md must quote ReadmeExample.java between "
                + "its README-BEGIN and README-END lines, exactly:\n" + example);

        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                ReadmeExample.class.getName()).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("super-res 7/7") && out.contains("decoder="), out);
        assertEquals(128, RgbImage.read(dir.resolve("circle.png")).width());
    }
}
