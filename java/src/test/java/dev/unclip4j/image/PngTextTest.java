package dev.unclip4j.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PNG text chunks written and read back through ImageIO; the grid; the all-or-nothing write. */
class PngTextTest {
    @TempDir
    Path dir;

    static RgbImage image(int w, int h, int seed) {
        byte[] rgb = new byte[w * h * 3];
        for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) (i * 31 + seed);
        return new RgbImage(w, h, rgb);
    }

    @Test
    void textChunksComeBackInOrderAsLatin1OrUtf8() throws IOException {
        Map<String, String> text = new LinkedHashMap<>();
        text.put("prompt", "a café, two lines\nsecond");
        text.put("edit", "a red circle → a green circle");   // not Latin-1: iTXt chunks
        text.put("Software", "unclip4j test");
        Path png = dir.resolve("t.png");
        RgbImage img = image(5, 3, 1);
        img.writePng(png, text);
        assertEquals(text, RgbImage.readPngText(png));
        assertEquals(List.copyOf(text.keySet()), List.copyOf(RgbImage.readPngText(png).keySet()));
        assertArrayEquals(img.rgb(), RgbImage.read(png).rgb(), "the pixels are untouched");
        text.remove("edit");  // all Latin-1: tEXt chunks
        img.writePng(png, text);
        assertEquals(List.copyOf(text.entrySet()), List.copyOf(RgbImage.readPngText(png).entrySet()));
        Path plain = dir.resolve("plain.png");
        image(2, 2, 0).writePng(plain);
        assertEquals(Map.of(), RgbImage.readPngText(plain));
    }

    @Test
    void badKeywordsAndNonPngFilesAreClearErrors() throws IOException {
        Path png = dir.resolve("k.png");
        assertThrows(IllegalArgumentException.class, () -> image(2, 2, 0).writePng(png, Map.of(" lead", "x")));
        assertThrows(IllegalArgumentException.class, () -> image(2, 2, 0).writePng(png, Map.of("", "x")));
        assertFalse(Files.exists(png));
        Path text = Files.writeString(dir.resolve("x.png"), "not a png");
        assertThrows(ImageFormatException.class, () -> RgbImage.readPngText(text));
        assertThrows(ImageFormatException.class, () -> RgbImage.readPngText(dir.resolve("missing.png")));
    }

    @Test
    void aWriteIntoAMissingFolderLeavesNothing() throws IOException {
        Path target = dir.resolve("no/such/folder/x.png");
        assertThrows(java.io.UncheckedIOException.class, () -> image(2, 2, 0).writePng(target));
        try (Stream<Path> s = Files.walk(dir)) {
            assertEquals(List.of(dir), s.toList());
        }
    }

    @Test
    void gridTilesRowByRow() {
        RgbImage a = image(2, 1, 1), b = image(2, 1, 2), c = image(2, 1, 3);
        RgbImage g = RgbImage.grid(List.of(a, b, c), 2);
        assertEquals(4, g.width());
        assertEquals(2, g.height());
        for (int ch = 0; ch < 3; ch++) {
            assertEquals(a.get(1, 0, ch), g.get(1, 0, ch));
            assertEquals(b.get(0, 0, ch), g.get(2, 0, ch));
            assertEquals(c.get(1, 0, ch), g.get(1, 1, ch));
            assertEquals(0, g.get(3, 1, ch), "black where the last row is short");
        }
    }
}
