package dev.unclip4j.spark;

import dev.unclip4j.image.DecodedImage;
import dev.unclip4j.image.ImageFormatException;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.StructType;

/** An image column: file paths as the executors see them (text), or encoded image bytes (binary, e.g. generate's png). */
record ImageCell(int index, boolean bytes) implements java.io.Serializable {
    static ImageCell of(StructType schema, String name, String what) {
        int i = Columns.required(schema, name, what);
        Columns.requireImage(schema, i);
        return new ImageCell(i, schema.fields()[i].dataType() instanceof BinaryType);
    }

    /** The row's image, decoded; a missing, unreadable or undecodable image is the row's error. */
    DecodedImage read(Row row) throws Columns.RowError {
        if (row.isNullAt(index)) throw new Columns.RowError("no image");
        try {
            if (!bytes) return DecodedImage.read(Path.of(row.getString(index)));
            BufferedImage img;
            try {
                img = ImageIO.read(new ByteArrayInputStream((byte[]) row.get(index)));
            } catch (IOException | RuntimeException e) {
                throw new Columns.RowError("cannot decode the image bytes: " + e.getMessage());
            }
            if (img == null) throw new Columns.RowError("the image bytes are not PNG, JPEG, BMP or GIF");
            return DecodedImage.of(img, "image bytes");
        } catch (ImageFormatException | java.nio.file.InvalidPathException e) {
            throw new Columns.RowError(e.getMessage());
        }
    }
}
