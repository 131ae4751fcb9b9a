package dev.unclip4j.spark;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Function;
import org.apache.spark.sql.Row;

/** A partition's rows taken {@code size} at a time, each window turned into its output rows as the consumer asks for them. */
final class Windows implements Iterator<Row> {
    private final Iterator<Row> input;
    private final int size;
    private final Function<List<Row>, List<Row>> work;
    private final ArrayDeque<Row> ready = new ArrayDeque<>();

    Windows(Iterator<Row> input, int size, Function<List<Row>, List<Row>> work) {
        this.input = input;
        this.size = size;
        this.work = work;
    }

    @Override
    public boolean hasNext() {
        while (ready.isEmpty() && input.hasNext()) {
            List<Row> window = new ArrayList<>(size);
            while (window.size() < size && input.hasNext()) window.add(input.next());
            ready.addAll(work.apply(window));
        }
        return !ready.isEmpty();
    }

    @Override
    public Row next() {
        if (!hasNext()) throw new NoSuchElementException();
        return ready.poll();
    }
}
