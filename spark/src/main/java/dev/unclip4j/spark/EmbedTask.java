package dev.unclip4j.spark;

import dev.unclip4j.api.Unclip;
import dev.unclip4j.image.DecodedImage;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The embed job on one partition: the CLIP embedding of each row's text or image (the model
 * folder's CLIP, as {@code unclip embed} and {@link Unclip#embedText} give it), {@code batch} rows
 * per call into a tower. An empty text or an unreadable image is the row's error.
 */
final class EmbedTask implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    private final JobSettings settings;
    private final int text;         // the text column, or -1
    private final ImageCell image;  // the image column, or null
    private final Columns columns;

    /** Exactly one of {@code textColumn} and {@code imageColumn} is given. */
    EmbedTask(JobSettings settings, StructType input, String textColumn, String imageColumn) {
        this.settings = settings;
        if ((textColumn == null) == (imageColumn == null)) throw new IllegalArgumentException("give --text-column or --image-column (one of the two)");
        if (textColumn != null) {
            this.text = Columns.required(input, textColumn, "--text-column");
            Columns.requireText(input, text);
            this.image = null;
        } else {
            this.text = -1;
            this.image = ImageCell.of(input, imageColumn, "--image-column");
        }
        List<StructField> added = List.of(
                DataTypes.createStructField("embedding", DataTypes.createArrayType(DataTypes.FloatType, false), true),
                DataTypes.createStructField("device", DataTypes.StringType, true),
                DataTypes.createStructField(Columns.ERROR, DataTypes.StringType, true));
        this.columns = new Columns(input, added);
    }

    StructType output() {
        return columns.output();
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        String device = TaskDevice.forTask(settings.device(), TaskContext.get());
        Unclip unclip = ExecutorModels.get(settings.modelFor(device));
        return new Windows(rows, settings.batch(), window -> embed(unclip, device, window));
    }

    private List<Row> embed(Unclip unclip, String device, List<Row> window) {
        Row[] out = new Row[window.size()];
        List<Integer> at = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        List<DecodedImage> images = new ArrayList<>();
        for (int i = 0; i < window.size(); i++) {
            Row r = window.get(i);
            String carried = columns.carriedError(r);
            if (carried != null) {
                out[i] = columns.error(r, carried);
                continue;
            }
            try {
                if (image != null) {
                    images.add(image.read(r));
                } else {
                    String t = Columns.text(r, text);
                    if (t == null || t.isBlank()) throw new Columns.RowError("empty text");
                    texts.add(t);
                }
                at.add(i);
            } catch (Columns.RowError e) {
                out[i] = columns.error(r, e.getMessage());
            }
        }
        if (!at.isEmpty()) {
            float[][] e = image != null ? unclip.embedImages(images, settings.normalize())
                    : unclip.embedTexts(texts, settings.normalize());
            for (int k = 0; k < at.size(); k++) out[at.get(k)] = columns.row(window.get(at.get(k)), e[k], device, null);
        }
        return List.of(out);
    }
}
