package dev.unclip4j.spark;

import dev.unclip4j.api.Unclip;
import dev.unclip4j.image.DecodedImage;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The embed job: the CLIP embedding of each row's text or image (the model folder's CLIP, as
 * {@code unclip embed} and {@link Unclip#embedText} give it). An empty text or a missing or
 * undecodable image is the row's error.
 */
final class EmbedTask extends ClipRowTask<Object> {
    private static final long serialVersionUID = 1L;

    private final int text;         // the text column, or -1
    private final ImageCell image;  // the image column, or null

    /** Exactly one of {@code textColumn} and {@code imageColumn} is given. */
    EmbedTask(JobSettings settings, StructType input, String textColumn, String imageColumn) {
        super(settings, new Columns(input, List.of(
                DataTypes.createStructField("embedding", DataTypes.createArrayType(DataTypes.FloatType, false), true),
                DataTypes.createStructField("device", DataTypes.StringType, true),
                DataTypes.createStructField(Columns.ERROR, DataTypes.StringType, true))));
        if ((textColumn == null) == (imageColumn == null)) {
            throw new IllegalArgumentException("give --text-column or --image-column (one of the two)");
        }
        if (textColumn != null) {
            this.text = Columns.required(input, textColumn, "--text-column");
            Columns.requireText(input, text);
            this.image = null;
        } else {
            this.text = -1;
            this.image = ImageCell.of(input, imageColumn, "--image-column");
        }
    }

    @Override
    Object read(Row row) throws Columns.RowError {
        if (image != null) return image.read(row);
        String t = Columns.text(row, text);
        if (t == null || t.isBlank()) throw new Columns.RowError("empty text");
        return t;
    }

    @Override
    List<Object> compute(Unclip unclip, List<Object> inputs) {
        float[][] e = image != null
                ? unclip.embedImages(inputs.stream().map(DecodedImage.class::cast).toList(), settings.normalize())
                : unclip.embedTexts(inputs.stream().map(String.class::cast).toList(), settings.normalize());
        return List.of((Object[]) e);
    }
}
