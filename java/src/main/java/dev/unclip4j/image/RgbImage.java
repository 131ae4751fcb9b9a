package dev.unclip4j.image;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
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

    /** Decodes a PNG, JPEG, BMP or GIF file; anything else is an error naming the file. */
    public static RgbImage read(Path file) {
        BufferedImage img;
        try (InputStream in = Files.newInputStream(file)) {
            img = ImageIO.read(in);
        } catch (NoSuchFileException e) {
            throw new ImageFormatException(file + ": no such image file");
        } catch (IOException | RuntimeException e) {
            throw new ImageFormatException(file + ": cannot decode the image: " + e.getMessage());
        }
        if (img == null) throw new ImageFormatException(file + ": not an image in a format this Java runtime reads (PNG, JPEG, BMP, GIF)");
        return of(img, file.toString());
    }

    /**
     * The RGB samples of {@code img} as stored — read from the raster, not through
     * {@code getRGB}, which would pass 8-bit grayscale through a linear-to-sRGB conversion that
     * Pillow does not do.
     */
    public static RgbImage of(BufferedImage img, String where) {
        int w = img.getWidth(), h = img.getHeight();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        Raster r = img.getRaster();
        ColorModel cm = img.getColorModel();
        if (cm instanceof IndexColorModel icm) {
            for (int y = 0, i = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int idx = r.getSample(x, y, 0);
                    out[i++] = (byte) icm.getRed(idx);
                    out[i++] = (byte) icm.getGreen(idx);
                    out[i++] = (byte) icm.getBlue(idx);
                }
            }
            return new RgbImage(w, h, out);
        }
        int bands = r.getNumBands();
        int bits = cm.getComponentSize(0);
        boolean gray = cm.getNumColorComponents() == 1;
        if (!(cm instanceof ComponentColorModel) && !(r.getTransferType() == DataBuffer.TYPE_INT)) {
            throw new ImageFormatException(where + ": unsupported pixel layout " + cm);
        }
        if (cm instanceof ComponentColorModel && bits != 8 && bits != 16) {
            throw new ImageFormatException(where + ": unsupported " + bits + "-bit samples");
        }
        if (cm.isAlphaPremultiplied()) throw new ImageFormatException(where + ": premultiplied alpha is not supported");
        if (!(cm instanceof ComponentColorModel)) {
            // Packed-int layouts (BMP and the like): getRGB is exact for sRGB DirectColorModels.
            for (int y = 0, i = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int argb = img.getRGB(x, y);
                    out[i++] = (byte) (argb >> 16);
                    out[i++] = (byte) (argb >> 8);
                    out[i++] = (byte) argb;
                }
            }
            return new RgbImage(w, h, out);
        }
        if (gray && bits == 16) {
            throw new ImageFormatException(where + ": 16-bit grayscale is not supported (Pillow reads it as 32-bit integers)");
        }
        int shift = bits == 16 ? 8 : 0;  // Pillow reads 16-bit RGB PNGs as 8-bit RGB (the high byte)
        if (!gray && bands < 3) throw new ImageFormatException(where + ": unsupported colour model " + cm);
        for (int y = 0, i = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (gray) {
                    byte v = (byte) (r.getSample(x, y, 0) >> shift);
                    out[i++] = v;
                    out[i++] = v;
                    out[i++] = v;
                } else {
                    out[i++] = (byte) (r.getSample(x, y, 0) >> shift);
                    out[i++] = (byte) (r.getSample(x, y, 1) >> shift);
                    out[i++] = (byte) (r.getSample(x, y, 2) >> shift);
                }
            }
        }
        return new RgbImage(w, h, out);
    }
}
