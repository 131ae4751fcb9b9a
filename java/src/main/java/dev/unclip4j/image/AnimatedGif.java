package dev.unclip4j.image;

import dev.unclip4j.io.AtomicFiles;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;

/** Animated GIFs through ImageIO's GIF writer: frames shown in turn, looping forever. */
public final class AnimatedGif {
    private static final String FORMAT = "javax_imageio_gif_image_1.0";

    private AnimatedGif() {}

    /**
     * Writes {@code frames}, each shown for {@code frameTime} (GIF counts in hundredths of a
     * second), through a temporary file moved into place. ImageIO reduces each frame to a
     * palette of at most 256 colours.
     */
    public static void write(Path file, List<RgbImage> frames, Duration frameTime) {
        if (frames.isEmpty()) throw new IllegalArgumentException("an animation needs at least one frame");
        String delay = Long.toString(Math.max(1, frameTime.toMillis() / 10));
        AtomicFiles.write(file, tmp -> {
            ImageWriter writer = ImageIO.getImageWritersByFormatName("gif").next();
            try (ImageOutputStream out = ImageIO.createImageOutputStream(tmp.toFile())) {
                writer.setOutput(out);
                writer.prepareWriteSequence(null);
                ImageWriteParam param = writer.getDefaultWriteParam();
                for (int i = 0; i < frames.size(); i++) {
                    BufferedImage img = frames.get(i).toBufferedImage();
                    IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(img), param);
                    IIOMetadataNode root = (IIOMetadataNode) meta.getAsTree(FORMAT);
                    IIOMetadataNode control = child(root, "GraphicControlExtension");
                    control.setAttribute("disposalMethod", "none");
                    control.setAttribute("userInputFlag", "FALSE");
                    control.setAttribute("transparentColorFlag", "FALSE");
                    control.setAttribute("delayTime", delay);
                    control.setAttribute("transparentColorIndex", "0");
                    if (i == 0) {
                        // The NETSCAPE2.0 extension: loop count 0 = forever.
                        IIOMetadataNode app = new IIOMetadataNode("ApplicationExtension");
                        app.setAttribute("applicationID", "NETSCAPE");
                        app.setAttribute("authenticationCode", "2.0");
                        app.setUserObject(new byte[] {1, 0, 0});
                        child(root, "ApplicationExtensions").appendChild(app);
                    }
                    meta.setFromTree(FORMAT, root);
                    writer.writeToSequence(new IIOImage(img, null, meta), param);
                }
                writer.endWriteSequence();
            } finally {
                writer.dispose();
            }
        });
    }

    private static IIOMetadataNode child(IIOMetadataNode parent, String name) {
        for (int i = 0; i < parent.getLength(); i++) {
            if (parent.item(i).getNodeName().equals(name)) return (IIOMetadataNode) parent.item(i);
        }
        IIOMetadataNode node = new IIOMetadataNode(name);
        parent.appendChild(node);
        return node;
    }
}
