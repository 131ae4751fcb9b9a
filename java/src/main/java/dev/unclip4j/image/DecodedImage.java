package dev.unclip4j.image;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/**
 * A decoded 8-bit image in the Pillow mode a file opens as: L, LA, RGB, RGBA (samples
 * interleaved, 1–4 per pixel) or P (one palette index per pixel, {@code palette} holding R, G, B
 * per entry). The mode matters where a pipeline resizes before converting to RGB, as openai/CLIP's
 * transform does: Pillow resizes RGBA and LA premultiplied, and P by nearest neighbour.
 */
public record DecodedImage(int width, int height, Mode mode, byte[] samples, byte[] palette) {
    public enum Mode {
        L(1), LA(2), RGB(3), RGBA(4), P(1);

        public final int bands;

        Mode(int bands) {
            this.bands = bands;
        }
    }

    public DecodedImage {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("empty image " + width + "×" + height);
        if (samples.length != (long) width * height * mode.bands) {
            throw new IllegalArgumentException(samples.length + " samples for a " + width + "×" + height + " " + mode + " image");
        }
        if ((mode == Mode.P) != (palette != null)) throw new IllegalArgumentException("a palette goes with mode P only");
    }

    /** Decodes a PNG, JPEG, BMP or GIF file; anything else is an error naming the file. */
    public static DecodedImage read(Path file) {
        BufferedImage img;
        try (InputStream in = Files.newInputStream(file)) {
            img = ImageIO.read(in);
        } catch (NoSuchFileException e) {
            throw new ImageFormatException(file + ": no such image file");
        } catch (IOException | RuntimeException e) {
            throw new ImageFormatException(file + ": cannot decode the image: " + e.getMessage());
        }
        if (img == null) {
            throw new ImageFormatException(file + ": not an image in a format this Java runtime reads (PNG, JPEG, BMP, GIF)");
        }
        return of(img, file.toString());
    }

    /**
     * The samples of {@code img} as stored — read from the raster, not through {@code getRGB},
     * which would pass 8-bit grayscale through a linear-to-sRGB conversion that Pillow does not do.
     */
    public static DecodedImage of(BufferedImage img, String where) {
        int w = img.getWidth(), h = img.getHeight();
        Raster r = img.getRaster();
        ColorModel cm = img.getColorModel();
        if (cm instanceof IndexColorModel icm) {
            byte[] idx = new byte[w * h];
            for (int y = 0, i = 0; y < h; y++) for (int x = 0; x < w; x++) idx[i++] = (byte) r.getSample(x, y, 0);
            byte[] pal = new byte[256 * 3];
            for (int i = 0; i < icm.getMapSize(); i++) {
                pal[3 * i] = (byte) icm.getRed(i);
                pal[3 * i + 1] = (byte) icm.getGreen(i);
                pal[3 * i + 2] = (byte) icm.getBlue(i);
            }
            return new DecodedImage(w, h, Mode.P, idx, pal);
        }
        if (cm.isAlphaPremultiplied()) throw new ImageFormatException(where + ": premultiplied alpha is not supported");
        if (!(cm instanceof ComponentColorModel)) {
            // Packed-int layouts (BMP and the like): getRGB is exact for these sRGB models.
            byte[] out = new byte[w * h * 3];
            for (int y = 0, i = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int argb = img.getRGB(x, y);
                    out[i++] = (byte) (argb >> 16);
                    out[i++] = (byte) (argb >> 8);
                    out[i++] = (byte) argb;
                }
            }
            return new DecodedImage(w, h, Mode.RGB, out, null);
        }
        int bits = cm.getComponentSize(0);
        int colors = cm.getNumColorComponents();
        boolean alpha = cm.hasAlpha();
        if (bits != 8 && !(bits == 16 && colors == 3)) {
            throw new ImageFormatException(where + ": unsupported " + bits + "-bit " + (colors == 1 ? "grayscale " : "")
                    + "samples (8-bit images and 16-bit RGB are read)");
        }
        Mode mode = colors == 1 ? (alpha ? Mode.LA : Mode.L) : colors == 3 ? (alpha ? Mode.RGBA : Mode.RGB) : null;
        if (mode == null) throw new ImageFormatException(where + ": unsupported colour model " + cm);
        int shift = bits == 16 ? 8 : 0;  // Pillow reads 16-bit RGB PNGs as 8-bit RGB (the high byte)
        byte[] out = new byte[w * h * mode.bands];
        for (int y = 0, i = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int b = 0; b < mode.bands; b++) out[i++] = (byte) (r.getSample(x, y, b) >> shift);
            }
        }
        return new DecodedImage(w, h, mode, out, null);
    }

    /** Pillow's {@code convert("RGB")}: gray replicated, alpha dropped (not composited), palette looked up. */
    public RgbImage toRgb() {
        byte[] out = new byte[width * height * 3];
        int n = width * height;
        for (int p = 0; p < n; p++) {
            switch (mode) {
                case L, LA -> {
                    byte v = samples[p * mode.bands];
                    out[3 * p] = v;
                    out[3 * p + 1] = v;
                    out[3 * p + 2] = v;
                }
                case RGB, RGBA -> System.arraycopy(samples, p * mode.bands, out, 3 * p, 3);
                case P -> System.arraycopy(palette, 3 * (samples[p] & 0xff), out, 3 * p, 3);
            }
        }
        return new RgbImage(width, height, out);
    }
}
