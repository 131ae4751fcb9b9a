package dev.unclip4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unclip4j.clip.Clip;
import dev.unclip4j.clip.TinyClipFolder;
import dev.unclip4j.tensor.Backend;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code unclip embed} and {@code unclip classify} run in-process on a Hugging Face folder made
 * from the "both" golden fixture model, their output checked against the Java API.
 */
class ClipCommandsTest {
    @TempDir
    Path dir;
    Path model, image;

    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int status = Main.execute(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(status, out.toString(), err.toString());
    }

    @BeforeEach
    void folder() {
        model = TinyClipFolder.make("both", dir.resolve("model"));
        image = TinyClipFolder.image(dir.resolve("img.png"), 50, 41, 3);
    }

    @Test
    void embedTextAsJsonEqualsTheApi() throws Exception {
        Run r = run("embed", "--model", model.toString(), "--device", "cpu", "--text", "a photo of a cat.", "--normalize");
        assertEquals(0, r.status(), r.err());
        JsonNode json = new ObjectMapper().readTree(r.out());
        float[] got = new float[json.get("embedding").size()];
        for (int i = 0; i < got.length; i++) got[i] = json.get("embedding").get(i).floatValue();
        try (Backend cpu = Backend.cpu(); Clip clip = Clip.open(model, cpu)) {
            assertArrayEquals(clip.textEmbeddings(List.of("a photo of a cat."), true)[0], got);
        }
        assertEquals(got.length, json.get("dim").asInt());
        assertTrue(json.get("normalized").asBoolean());
        assertEquals("a photo of a cat.", json.get("text").asText());
    }

    @Test
    void embedImageAsNpyEqualsTheApi() throws Exception {
        Path out = dir.resolve("e.npy");
        Run r = run("embed", "--model", model.toString(), "--image", image.toString(), "--format", "npy", "-o", out.toString());
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.out());
        byte[] b = Files.readAllBytes(out);
        assertEquals((byte) 0x93, b[0]);
        assertEquals("NUMPY", new String(b, 1, 5, StandardCharsets.US_ASCII));
        assertEquals(1, b[6]);
        int headerLen = (b[8] & 0xff) | (b[9] & 0xff) << 8;
        String header = new String(b, 10, headerLen, StandardCharsets.US_ASCII);
        assertEquals(0, (10 + headerLen) % 64);
        assertTrue(header.endsWith("\n"));
        try (Backend cpu = Backend.cpu(); Clip clip = Clip.open(model, cpu)) {
            float[] want = clip.imageEmbeddings(List.of(image), false)[0];
            assertTrue(header.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (" + want.length + ",), }"), header);
            float[] got = new float[want.length];
            ByteBuffer.wrap(b, 10 + headerLen, 4 * want.length).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(got);
            assertEquals(10 + headerLen + 4 * want.length, b.length);
            assertArrayEquals(want, got);
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".part")), "a temporary file was left behind");
        }
    }

    @Test
    void classifyPrintsTheApiProbabilitiesBestFirst() {
        Run r = run("classify", "--model", model.toString(), "--template", "a {}.", "--template", "a photo of a {}.",
                image.toString(), "cat", "dog", "car");
        assertEquals(0, r.status(), r.err());
        String[] lines = r.out().strip().split("\n");
        assertEquals(3, lines.length);
        try (Backend cpu = Backend.cpu(); Clip clip = Clip.open(model, cpu)) {
            List<Clip.Prediction> want = clip.classify(image, List.of("cat", "dog", "car"), List.of("a {}.", "a photo of a {}."));
            for (int i = 0; i < 3; i++) {
                String[] f = lines[i].split("\t");
                assertEquals(want.get(i).label(), f[1]);
                assertEquals(want.get(i).probability(), Double.parseDouble(f[0]), 1e-6);
            }
        }
    }

    @Test
    void withoutModelTheBuiltInOneIsUsed() throws Exception {
        Run r = run("embed", "--text", "a red circle");
        assertEquals(0, r.status(), r.err());
        assertEquals(128, new ObjectMapper().readTree(r.out()).get("dim").asInt(), "the built-in CLIP's projection_dim");
    }

    @Test
    void errorsAreOneLineAndNonZero() throws Exception {
        Path notImage = Files.writeString(dir.resolve("notes.png"), "hello");
        Run r = run("classify", "--model", model.toString(), notImage.toString(), "cat", "dog");
        assertNotEquals(0, r.status());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("notes.png"), r.err());

        r = run("classify", "--model", model.toString(), "--verbose", notImage.toString(), "cat", "dog");
        assertNotEquals(0, r.status());
        assertTrue(r.err().contains("\tat "), "--verbose shows the stack trace: " + r.err());

        r = run("embed", "--model", dir.resolve("nothing").toString(), "--text", "a cat");
        assertNotEquals(0, r.status());
        assertTrue(r.err().contains("nothing") && r.err().startsWith("unclip: "), r.err());

        r = run("embed", "--model", model.toString(), "--text", "a", "--format", "npy");
        assertNotEquals(0, r.status());
        assertTrue(r.err().contains("-o FILE"), r.err());

        // usage errors are one line too, status 2
        r = run("embed", "--model", model.toString(), "--text", "a", "--image", image.toString());
        assertEquals(2, r.status());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("mutually exclusive") && r.err().contains("--help"), r.err());
        r = run("classify", "--model", model.toString(), image.toString());
        assertEquals(2, r.status());
        assertEquals(1, r.err().strip().lines().count(), r.err());

        // a failed write leaves no file and no temporary behind
        Path out = dir.resolve("fail.json");
        r = run("embed", "--model", model.toString(), "--image", notImage.toString(), "-o", out.toString());
        assertNotEquals(0, r.status());
        assertFalse(Files.exists(out));
    }
}
