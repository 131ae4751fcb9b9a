package dev.unclip4j.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

/** Reading a job's input table and writing its output, with Spark's own readers and writers. */
final class Tables {
    /** The formats a job reads. */
    enum Format {
        parquet, csv, json;

        /** The format a path's name says (.parquet, .csv, .json/.jsonl/.ndjson), or that of the files of a local folder; null when neither tells. */
        static Format of(String path) {
            Format f = ofName(path);
            if (f != null) return f;
            Path local = localPath(path);
            if (local == null || !Files.isDirectory(local)) return null;
            try (Stream<Path> files = Files.list(local)) {
                List<Format> found = files.map(p -> ofName(p.getFileName().toString())).filter(x -> x != null).distinct().toList();
                return found.size() == 1 ? found.getFirst() : null;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + path + ": " + e.getMessage(), e);
            }
        }

        private static Format ofName(String name) {
            String n = name.toLowerCase(Locale.ROOT);
            if (n.endsWith(".parquet")) return parquet;
            if (n.endsWith(".csv")) return csv;
            if (n.endsWith(".json") || n.endsWith(".jsonl") || n.endsWith(".ndjson")) return json;
            return null;
        }
    }

    /** The formats a job writes (CSV holds neither bytes nor arrays). */
    enum OutputFormat { parquet, json }

    private Tables() {}

    /** The local file a path names (no scheme, or file:), or null for other file systems (hdfs:, s3a:, …). */
    static Path localPath(String path) {
        if (path.startsWith("file:")) return Path.of(URI.create(path));
        int colon = path.indexOf(':'), slash = path.indexOf('/');
        boolean scheme = colon > 1 && (slash < 0 || colon < slash);
        return scheme ? null : Path.of(path);
    }

    /**
     * The table at {@code path}: Parquet as stored, JSON lines with their inferred types, CSV with a
     * header row and every value as text (the jobs read numbers from text), RFC 4180 quoting.
     */
    static Dataset<Row> read(SparkSession spark, String path, Format format) {
        DataFrameReader r = spark.read();
        return switch (format) {
            case parquet -> r.parquet(path);
            case json -> r.json(path);
            case csv -> r.option("header", "true").option("escape", "\"").option("multiLine", "true").csv(path);
        };
    }

    static void write(Dataset<Row> table, String path, OutputFormat format, boolean overwrite) {
        table.write().mode(overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists).format(format.name()).save(path);
    }
}
