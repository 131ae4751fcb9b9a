package dev.unclip4j.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The columns of a job's input and output: the input's columns pass through (minus those the job
 * writes, which it replaces), followed by the job's own; a row whose input already carries an
 * {@code error} (a failed row of an earlier job) passes through with the job's columns empty.
 * Values are read leniently (a number may come as a string, as CSV gives everything), and a value
 * that does not parse is the row's error, never the job's.
 */
final class Columns implements Serializable {
    private static final long serialVersionUID = 1L;

    static final String ERROR = "error";

    private final int[] kept;
    private final int carriedError;
    private final int width;
    private final StructType output;

    /** @param added the job's columns, {@code error} last */
    Columns(StructType input, List<StructField> added) {
        if (!added.getLast().name().equals(ERROR)) throw new IllegalArgumentException("the error column comes last");
        Set<String> ours = new java.util.HashSet<>();
        added.forEach(f -> ours.add(f.name()));
        List<StructField> fields = new ArrayList<>();
        List<Integer> keep = new ArrayList<>();
        for (int i = 0; i < input.fields().length; i++) {
            if (ours.contains(input.fields()[i].name())) continue;
            keep.add(i);
            fields.add(input.fields()[i]);
        }
        fields.addAll(added);
        this.kept = keep.stream().mapToInt(Integer::intValue).toArray();
        this.carriedError = indexOf(input, ERROR);
        this.width = added.size();
        this.output = new StructType(fields.toArray(StructField[]::new));
    }

    StructType output() {
        return output;
    }

    /** The error an earlier job left in this row, or null. */
    String carriedError(Row in) {
        return carriedError < 0 || in.isNullAt(carriedError) ? null : in.get(carriedError).toString();
    }

    /** The output row: the kept input values, then {@code added} (the job's columns, error last). */
    Row row(Row in, Object... added) {
        if (added.length != width) throw new IllegalArgumentException(added.length + " values for " + width + " columns");
        Object[] v = new Object[kept.length + width];
        for (int i = 0; i < kept.length; i++) v[i] = in.get(kept[i]);
        System.arraycopy(added, 0, v, kept.length, width);
        return RowFactory.create(v);
    }

    /** The output row of a failed input row: the job's columns empty, the error set. */
    Row error(Row in, String error) {
        Object[] added = new Object[width];
        added[width - 1] = error;
        return row(in, added);
    }

    // ---- the input's columns, checked on the driver --------------------------------------------

    static int indexOf(StructType schema, String name) {
        return Arrays.asList(schema.fieldNames()).indexOf(name);
    }

    /** The index of a column the job needs, or a clear failure naming the columns there are. */
    static int required(StructType schema, String name, String what) {
        int i = indexOf(schema, name);
        if (i < 0) {
            throw new IllegalArgumentException("the input has no column '" + name + "' (" + what + "); its columns: "
                    + String.join(", ", schema.fieldNames()));
        }
        return i;
    }

    /** A column holding text. */
    static void requireText(StructType schema, int i) {
        requireType(schema, i, schema.fields()[i].dataType() instanceof StringType, "text");
    }

    /** A column holding numbers, or text that holds them (CSV); absent (-1) is fine. */
    static void requireNumeric(StructType schema, int i) {
        if (i < 0) return;
        DataType t = schema.fields()[i].dataType();
        requireType(schema, i, t instanceof NumericType || t instanceof StringType, "a number (or text holding one)");
    }

    /** A column of image file paths (text) or encoded image bytes (binary). */
    static void requireImage(StructType schema, int i) {
        DataType t = schema.fields()[i].dataType();
        requireType(schema, i, t instanceof StringType || t instanceof BinaryType, "image file paths (text) or image bytes (binary)");
    }

    private static void requireType(StructType schema, int i, boolean ok, String expected) {
        if (!ok) {
            StructField f = schema.fields()[i];
            throw new IllegalArgumentException("column '" + f.name() + "' is " + f.dataType().simpleString() + "; it must hold "
                    + expected);
        }
    }

    // ---- values of a row ----------------------------------------------------------------------

    /** A bad value: the row's error message. */
    static final class RowError extends Exception {
        private static final long serialVersionUID = 1L;

        RowError(String message) {
            super(message, null, false, false);
        }
    }

    /** The text of column i, or null. */
    static String text(Row row, int i) {
        return i < 0 || row.isNullAt(i) ? null : row.get(i).toString();
    }

    /** An integer of column {@code name} at i; {@code fallback} when the column is absent or the value null. */
    static long integer(Row row, int i, String name, long fallback) throws RowError {
        if (i < 0 || row.isNullAt(i)) return fallback;
        Object v = row.get(i);
        if (v instanceof Byte || v instanceof Short || v instanceof Integer || v instanceof Long) return ((Number) v).longValue();
        if (v instanceof Number n) {
            double d = n.doubleValue();
            if (d == Math.rint(d) && Math.abs(d) <= 1L << 53) return (long) d;
            throw new RowError(name + " " + v + " is not an integer");
        }
        try {
            return Long.parseLong(v.toString().strip());
        } catch (NumberFormatException e) {
            throw new RowError(name + " '" + v + "' is not an integer");
        }
    }

    /** A number of column {@code name} at i; {@code fallback} when the column is absent or the value null. */
    static double number(Row row, int i, String name, double fallback) throws RowError {
        if (i < 0 || row.isNullAt(i)) return fallback;
        Object v = row.get(i);
        if (v instanceof Number n) return n.doubleValue();
        try {
            double d = Double.parseDouble(v.toString().strip());
            if (!Double.isFinite(d)) throw new NumberFormatException();
            return d;
        } catch (NumberFormatException e) {
            throw new RowError(name + " '" + v + "' is not a number");
        }
    }

    /** An int of column {@code name} at i, within int range. */
    static int smallInteger(Row row, int i, String name, int fallback) throws RowError {
        long v = integer(row, i, name, fallback);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw new RowError(name + " " + v + " is out of range");
        return (int) v;
    }
}
