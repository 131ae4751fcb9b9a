package dev.unclip4j.tensor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Calls and wall-clock nanoseconds per op name ("uc_conv2d", ...), accumulated while a backend
 * profiles ({@link Backend#startProfile}). For finding where a forward pass spends its time,
 * e.g. benchmarks/compare/networks_cpu.py's op-family split; not for timing single ops (JMH is).
 */
public final class OpProfile {
    /** One op's totals. */
    public record Entry(long calls, long nanos) {}

    private final Map<String, Entry> byOp = new LinkedHashMap<>();

    void add(String op, long nanos) {
        byOp.merge(op, new Entry(1, nanos), (a, b) -> new Entry(a.calls + b.calls, a.nanos + b.nanos));
    }

    /** Op name → totals, in the order the ops were first called. */
    public Map<String, Entry> entries() {
        return Collections.unmodifiableMap(byOp);
    }

    /** The time of all ops together. */
    public long totalNanos() {
        return byOp.values().stream().mapToLong(Entry::nanos).sum();
    }
}
