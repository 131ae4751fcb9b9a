package dev.unclip4j.image;

import java.nio.file.Path;

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
}
