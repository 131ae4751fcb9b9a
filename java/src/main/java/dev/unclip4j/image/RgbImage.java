package dev.unclip4j.image;

import dev.unclip4j.io.AtomicFiles;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.w3c.dom.Node;

/**
 * An 8-bit RGB image, rows top to bottom, pixels interleaved R, G, B (height × width × 3), as
 * Pillow's {@code Image.convert("RGB")} leaves it: grayscale replicated, alpha dropped (not
 * composited), palette entries looked up.
 */
public record RgbImage(int width, int height, byte[] rgb) {
    /** The metadata format of ImageIO's PNG plugin, where the text chunks live. */
    private static final String PNG_FORMAT = "javax_imageio_png_1.0";

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
     * The images tiled row by row, {@code columns} to a row, on black where the last row is short
     * (all images of one size).
     */
    public static RgbImage grid(List<RgbImage> images, int columns) {
        if (images.isEmpty()) throw new IllegalArgumentException("no images to tile");
        int w = images.getFirst().width, h = images.getFirst().height;
        for (RgbImage i : images) {
            if (i.width != w || i.height != h) throw new IllegalArgumentException("images of different sizes cannot be tiled");
        }
        int cols = Math.min(columns, images.size()), rows = (images.size() + cols - 1) / cols;
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(cols * w, rows * h), 3)];
        for (int k = 0; k < images.size(); k++) {
            int x0 = (k % cols) * w, y0 = (k / cols) * h;
            for (int y = 0; y < h; y++) {
                System.arraycopy(images.get(k).rgb, y * w * 3, out, ((y0 + y) * cols * w + x0) * 3, w * 3);
            }
        }
        return new RgbImage(cols * w, rows * h, out);
    }

    /** {@link #writePng(Path, Map)} without text. */
    public void writePng(Path file) {
        writePng(file, Map.of());
    }

    /**
     * Writes a PNG ({@link #toPng}) carrying {@code text} as text chunks. The file is written
     * through a temporary file in the same folder moved into place, so that a failure never leaves
     * a partial file at {@code file}.
     *
     * @throws IllegalArgumentException for a keyword PNG does not allow (see {@link #toPng})
     */
    public void writePng(Path file, Map<String, String> text) {
        byte[] png = toPng(text);
        AtomicFiles.write(file, png);
    }

    /**
     * This image as PNG bytes (ImageIO's encoder) carrying {@code text} as text chunks, keyword →
     * value in order: tEXt when every value is Latin-1 (the PNG standard's text encoding), else
     * iTXt (UTF-8). The same image and text always give the same bytes.
     *
     * @throws IllegalArgumentException for a keyword PNG does not allow (1–79 printable Latin-1
     *     characters, no leading, trailing or double spaces)
     */
    public byte[] toPng(Map<String, String> text) {
        text.keySet().forEach(RgbImage::checkKeyword);
        BufferedImage img = toBufferedImage();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        try (ImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {  // no cache file on disk
            ImageWriteParam param = writer.getDefaultWriteParam();
            IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(img), param);
            if (!text.isEmpty()) meta.mergeTree(PNG_FORMAT, textTree(text));
            writer.setOutput(out);
            writer.write(null, new IIOImage(img, null, meta), param);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode a PNG: " + e.getMessage(), e);
        } finally {
            writer.dispose();
        }
        return bytes.toByteArray();
    }

    /**
     * The text chunks of a PNG file (tEXt, zTXt and iTXt), keyword → value in file order.
     *
     * @throws ImageFormatException when the file is missing or not a PNG
     */
    public static Map<String, String> readPngText(Path file) {
        try (ImageInputStream in = ImageIO.createImageInputStream(Files.newInputStream(file))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            ImageReader reader = readers.hasNext() ? readers.next() : null;
            if (reader == null || !reader.getFormatName().equalsIgnoreCase("png")) {
                throw new ImageFormatException(file + ": not a PNG file");
            }
            try {
                reader.setInput(in, true, false);
                Map<String, String> out = new LinkedHashMap<>();
                Node root = reader.getImageMetadata(0).getAsTree(PNG_FORMAT);
                for (Node chunk = root.getFirstChild(); chunk != null; chunk = chunk.getNextSibling()) {
                    String name = chunk.getNodeName();
                    if (!name.equals("tEXt") && !name.equals("zTXt") && !name.equals("iTXt")) continue;
                    for (Node e = chunk.getFirstChild(); e != null; e = e.getNextSibling()) {
                        IIOMetadataNode entry = (IIOMetadataNode) e;
                        out.put(entry.getAttribute("keyword"),
                                entry.getAttribute(name.equals("tEXt") ? "value" : "text"));
                    }
                }
                return out;
            } finally {
                reader.dispose();
            }
        } catch (ImageFormatException e) {
            throw e;
        } catch (NoSuchFileException e) {
            throw new ImageFormatException(file + ": no such image file");
        } catch (IOException | RuntimeException e) {
            throw new ImageFormatException(file + ": cannot read the PNG: " + e.getMessage());
        }
    }

    /**
     * tEXt chunks when every value is Latin-1, else iTXt chunks (UTF-8) for all: ImageIO writes
     * the chunks of one type together, so one type keeps the entries in the caller's order.
     */
    private static IIOMetadataNode textTree(Map<String, String> text) {
        boolean latin1 = text.values().stream().allMatch(StandardCharsets.ISO_8859_1.newEncoder()::canEncode);
        IIOMetadataNode chunk = new IIOMetadataNode(latin1 ? "tEXt" : "iTXt");
        for (Map.Entry<String, String> kv : text.entrySet()) {
            IIOMetadataNode e = new IIOMetadataNode(latin1 ? "tEXtEntry" : "iTXtEntry");
            e.setAttribute("keyword", kv.getKey());
            if (latin1) {
                e.setAttribute("value", kv.getValue());
            } else {
                e.setAttribute("compressionFlag", "FALSE");
                e.setAttribute("compressionMethod", "0");
                e.setAttribute("languageTag", "");
                e.setAttribute("translatedKeyword", "");
                e.setAttribute("text", kv.getValue());
            }
            chunk.appendChild(e);
        }
        IIOMetadataNode root = new IIOMetadataNode(PNG_FORMAT);
        root.appendChild(chunk);
        return root;
    }

    private static void checkKeyword(String k) {
        boolean printable = k.chars().allMatch(c -> (c >= 32 && c <= 126) || (c >= 161 && c <= 255));
        if (k.isEmpty() || k.length() > 79 || !printable || k.startsWith(" ") || k.endsWith(" ") || k.contains("  ")) {
            throw new IllegalArgumentException("\"" + k + "\" is not a PNG text keyword (1–79 printable Latin-1 characters)");
        }
    }
}
