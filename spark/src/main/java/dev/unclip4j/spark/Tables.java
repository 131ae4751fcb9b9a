package dev.unclip4j.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.apache.hadoop.fs.FileSystem;
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

    /**
     * Writes the table (running the job). When the job fails, an output folder it created and left
     * empty (Spark's commit protocol removes its temporary files, not the folder) is removed too, so
     * that running the job again needs no --overwrite.
     */
    static void write(Dataset<Row> table, String path, OutputFormat format, boolean overwrite) {
        org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(path);
        FileSystem fs;
        boolean existed;
        try {
            fs = out.getFileSystem(table.sparkSession().sparkContext().hadoopConfiguration());
            existed = fs.exists(out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot reach " + path + ": " + e.getMessage(), e);
        }
        try {
            table.write().mode(overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists).format(format.name()).save(path);
        } catch (Exception e) {  // Spark's own SparkException is a checked exception, thrown undeclared from Scala
            try {
                if (!existed && fs.exists(out) && fs.listStatus(out).length == 0) fs.delete(out, false);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }
}
