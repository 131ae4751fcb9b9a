package dev.unclip4j.spark;

import dev.unclip4j.api.Unclip;
import dev.unclip4j.clip.Clip;
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
 * The score job on one partition: the CLIP similarity of each row's image to its prompt, the
 * cosine of their CLIP embeddings (torchmetrics' CLIPScore is 100 · max(cosine, 0)), {@code batch}
 * rows per call into each tower. Rows failed by an earlier job (generate's error rows) pass through.
 */
final class ScoreTask implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    private final JobSettings settings;
    private final int prompt;
    private final ImageCell image;
    private final Columns columns;

    ScoreTask(JobSettings settings, StructType input, String promptColumn, String imageColumn) {
        this.settings = settings;
        this.prompt = Columns.required(input, promptColumn, "--prompt-column");
        Columns.requireText(input, prompt);
        this.image = ImageCell.of(input, imageColumn, "--image-column");
        List<StructField> added = List.of(DataTypes.createStructField("clip_score", DataTypes.DoubleType, true),
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
        return new Windows(rows, settings.batch(), window -> score(unclip, device, window));
    }

    private List<Row> score(Unclip unclip, String device, List<Row> window) {
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
                String t = Columns.text(r, prompt);
                if (t == null || t.isBlank()) throw new Columns.RowError("empty prompt");
                DecodedImage img = image.read(r);
                texts.add(t);
                images.add(img);
                at.add(i);
            } catch (Columns.RowError e) {
                out[i] = columns.error(r, e.getMessage());
            }
        }
        if (!at.isEmpty()) {
            float[][] t = unclip.embedTexts(texts, false), e = unclip.embedImages(images, false);
            for (int k = 0; k < at.size(); k++) {
                out[at.get(k)] = columns.row(window.get(at.get(k)), Clip.cosine(t[k], e[k]), device, null);
            }
        }
        return List.of(out);
    }
}
