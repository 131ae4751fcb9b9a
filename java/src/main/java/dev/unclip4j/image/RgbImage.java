package dev.unclip4j.image;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import javax.imageio.ImageIO;

/**
 * An 8-bit RGB image, rows top to bottom, pixels interleaved R, G, B (height × width × 3), as
 * Pillow's {@code Image.convert("RGB")} leaves it: grayscale replicated, alpha dropped (not
 * composited), palette entries looked up.
 */
public record RgbImage(int width, int height, byte[] rgb) {
    public RgbImage {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("empty image " + width + "×" + height);
        if (rgb.length != Math.multiplyExact(Math.multiplyExact(width, height), 3)) {
            throw new IllegalArgumentException(rgb.length + " bytes for a " + width + "×" + height + " RGB image");
        }
    }

    /** The sample of channel {@code c} at (x, y), 0..255. */
    public int get(int x, int y, int c) {
        return rgb[(y * width + x) * 3 + c] & 0xff;
    }

    /** Decodes an image file and converts it to RGB as Pillow's {@code convert("RGB")} does. */
    public static RgbImage read(Path file) {
        return DecodedImage.read(file).toRgb();
    }

    /** This image as a Java 2D image (TYPE_INT_RGB). */
    public BufferedImage toBufferedImage() {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) img.setRGB(x, y, (get(x, y, 0) << 16) | (get(x, y, 1) << 8) | get(x, y, 2));
        }
        return img;
    }

    /**
     * Writes a PNG (ImageIO's encoder), through a temporary file in the same folder moved into
     * place, so that a failure never leaves a partial file at {@code file}.
     */
    public void writePng(Path file) {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            tmp = Files.createTempFile(dir, "." + file.getFileName(), ".part");
            if (!ImageIO.write(toBufferedImage(), "png", tmp.toFile())) throw new IOException("no PNG writer");
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the move succeeded or the write failed first; nothing more to clean
                }
            }
        }
    }
}
