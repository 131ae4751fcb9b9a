package dev.unclip4j.spark;

import dev.unclip4j.api.Unclip;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

/**
 * A job that runs CLIP on each row (embed, score) on one partition: the executor's model, the rows
 * a window of {@link JobSettings#batch()} at a time, each window's inputs in one call per tower.
 * A row whose input is bad (an empty text, an unreadable image) gets its error; a row that carries
 * one from an earlier job passes through.
 *
 * @param <T> what the job reads from a row for the model
 */
abstract class ClipRowTask<T> implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    final JobSettings settings;
    private final Columns columns;

    /** {@code columns} adds the job's value, then {@code device} and {@code error}. */
    ClipRowTask(JobSettings settings, Columns columns) {
        this.settings = settings;
        this.columns = columns;
    }

    StructType output() {
        return columns.output();
    }

    /** What the model needs from the row, or the row's error. */
    abstract T read(Row row) throws Columns.RowError;

    /** The job's value for each input, in order, from as few calls into the model as it takes. */
    abstract List<Object> compute(Unclip unclip, List<T> inputs);

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        String device = TaskDevice.forTask(settings.device(), TaskContext.get());
        Unclip unclip = ExecutorModels.get(settings.modelFor(device));
        return new Windows(rows, settings.batch(), window -> window(unclip, device, window));
    }

    private List<Row> window(Unclip unclip, String device, List<Row> window) {
        Row[] out = new Row[window.size()];
        List<Integer> at = new ArrayList<>();
        List<T> inputs = new ArrayList<>();
        for (int i = 0; i < window.size(); i++) {
            Row r = window.get(i);
            String carried = columns.carriedError(r);
            if (carried != null) {
                out[i] = columns.error(r, carried);
                continue;
            }
            try {
                inputs.add(read(r));
                at.add(i);
            } catch (Columns.RowError e) {
                out[i] = columns.error(r, e.getMessage());
            }
        }
        if (!inputs.isEmpty()) {
            List<Object> values = compute(unclip, inputs);
            for (int k = 0; k < at.size(); k++) out[at.get(k)] = columns.row(window.get(at.get(k)), values.get(k), device, null);
        }
        return List.of(out);
    }
}
