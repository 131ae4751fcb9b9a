package dev.unclip4j.cli;

import static dev.unclip4j.cli.Cli.fast;
import static dev.unclip4j.cli.Cli.fastDecoder;
import static dev.unclip4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input to the image-making commands: one line on stderr naming the problem, a non-zero
 * status (2 for usage errors, 1 for the rest), no stack trace unless --verbose, and no file
 * left behind. Most are caught before the model loads.
 */
class CliBadInputTest {
    @TempDir
    Path dir;
    Path out, notImage;
    Set<Path> before;

    @BeforeEach
    void files() throws IOException {
        out = dir.resolve("out.png");
        notImage = Files.writeString(dir.resolve("notes.png"), "not an image");
        before = list();
    }

    @Test
    void anUnknownModelFolder() {
        failsWith(1, "no such model folder", fast("generate", "a cat", "--model", dir.resolve("nothing").toString(), "-o", out.toString()));
    }

    @Test
    void aModelFolderMissingAComponent() throws IOException {
        Path broken = dir.resolve("broken");
        copy(Cli.tinyModel(), broken);
        delete(broken.resolve("decoder"));
        before = list();
        failsWith(1, "missing component folder decoder/", fast("generate", "a cat", "--model", broken.toString(), "-o", out.toString()));
    }

    @Test
    void aFileThatIsNotAnImage() {
        failsWith(1, "notes.png", fastDecoder("variations", notImage.toString(), "-o", out.toString()));
        failsWith(1, "notes.png", fastDecoder("edit", notImage.toString(), "--from", "a", "--to", "b", "-o", out.toString()));
        failsWith(1, "notes.png", fastDecoder("interpolate", notImage.toString(), notImage.toString(), "-o", out.toString()));
    }

    @Test
    void noImagesOrFramesOrSteps() {
        failsWith(2, "-n must be at least 1, not 0", fast("generate", "a cat", "-n", "0", "-o", out.toString()));
        failsWith(2, "--frames must be at least 2, not 1", fast("interpolate", "a cat", "a dog", "--frames", "1", "-o", out.toString()));
        failsWith(1, "prior steps must be at least 2, not 0", "generate", "a cat", "--prior-steps", "0", "-o", out.toString());
        failsWith(1, "super-resolution steps must be at least 2, not 1", "generate", "a cat", "--super-res-steps", "1", "-o",
                out.toString());
        failsWith(1, "decoder guidance must be a number ≥ 1", fast("generate", "a cat", "--decoder-guidance", "0.5", "-o", out.toString()));
    }

    @Test
    void anUnwritableOutput() throws IOException {
        failsWith(1, "no such folder", fast("generate", "a cat", "-o", dir.resolve("missing/out.png").toString()));
        Path folder = Files.createDirectory(dir.resolve("folder.png"));
        before = list();
        failsWith(1, "it is a folder", fast("generate", "a cat", "-o", folder.toString()));
        failsWith(1, "ending in .png", fast("generate", "a cat", "-o", dir.resolve("out.jpg").toString()));
    }

    @Test
    void usageErrors() {
        failsWith(2, "Unknown option: '--bogus'", fast("generate", "a cat", "--bogus"));
        failsWith(2, "give a PROMPT or --prompts FILE", fast("generate"));
        failsWith(2, "Missing required option: '--to=TEXT'", "edit", notImage.toString(), "--from", "a");
        failsWith(2, "both be prompts or both be image files", fast("interpolate", notImage.toString(), "a dog"));
        failsWith(2, "Unmatched argument at index 0: 'frobnicate'", "frobnicate");
    }

    @Test
    void verboseShowsTheStackTrace() {
        Cli.Run r = run(fastDecoder("variations", notImage.toString(), "-o", out.toString(), "--verbose"));
        assertEquals(1, r.status());
        assertTrue(r.err().contains("\tat "), r.err());
        assertEquals(before, list());
    }

    private void failsWith(int status, String message, String... args) {
        Cli.Run r = run(args);
        assertEquals(status, r.status(), String.join(" ", args) + ": " + r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        assertTrue(r.err().contains(message), "\"" + message + "\" in: " + r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose: " + r.err());
        assertEquals("", r.out());
        assertEquals(before, list(), "no file written or left behind");
    }

    private Set<Path> list() {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.collect(Collectors.toSet());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) Files.copy(p, to.resolve(from.relativize(p).toString()));
        }
    }

    private static void delete(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path f : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(f);
        }
    }
}
