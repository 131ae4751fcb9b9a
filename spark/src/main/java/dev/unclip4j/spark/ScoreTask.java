package dev.unclip4j.spark;

import dev.unclip4j.api.Unclip;
import dev.unclip4j.clip.Clip;
import dev.unclip4j.image.DecodedImage;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The score job: the CLIP similarity of each row's image to its prompt, the cosine of their CLIP
 * embeddings (torchmetrics' CLIPScore is 100 · max(cosine, 0)). Rows failed by an earlier job
 * (generate's error rows) pass through.
 */
final class ScoreTask extends ClipRowTask<ScoreTask.Pair> {
    private static final long serialVersionUID = 1L;

    private final int prompt;
    private final ImageCell image;

    record Pair(String prompt, DecodedImage image) {}

    ScoreTask(JobSettings settings, StructType input, String promptColumn, String imageColumn) {
        super(settings, new Columns(input, List.of(DataTypes.createStructField("clip_score", DataTypes.DoubleType, true),
                DataTypes.createStructField("device", DataTypes.StringType, true),
                DataTypes.createStructField(Columns.ERROR, DataTypes.StringType, true))));
        this.prompt = Columns.required(input, promptColumn, "--prompt-column");
        Columns.requireText(input, prompt);
        this.image = ImageCell.of(input, imageColumn, "--image-column");
    }

    @Override
    Pair read(Row row) throws Columns.RowError {
        String t = Columns.text(row, prompt);
        if (t == null || t.isBlank()) throw new Columns.RowError("empty prompt");
        return new Pair(t, image.read(row));
    }

    @Override
    List<Object> compute(Unclip unclip, List<Pair> inputs) {
        float[][] t = unclip.embedTexts(inputs.stream().map(Pair::prompt).toList(), false);
        float[][] e = unclip.embedImages(inputs.stream().map(Pair::image).toList(), false);
        List<Object> scores = new ArrayList<>();
        for (int k = 0; k < t.length; k++) scores.add(Clip.cosine(t[k], e[k]));
        return scores;
    }
}
