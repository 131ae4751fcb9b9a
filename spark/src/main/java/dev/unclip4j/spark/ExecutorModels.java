package dev.unclip4j.spark;

import dev.unclip4j.api.Unclip;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The models of this JVM: one {@link Unclip} per (model folder, device, threads), loaded by the
 * first task that asks for it and shared by every later task and every task slot of the executor
 * (an Unclip is thread-safe: requests queue, each with the whole device). Spark runs many tasks
 * per executor JVM over its life, so a model per task would load the weights again for every
 * partition, and a model per task slot would hold the weights once a slot on a GPU that one
 * model already keeps busy.
 *
 * <p>Closed by {@link UnclipSparkPlugin} when the executor stops, and by a JVM shutdown hook
 * as a backstop (an executor JVM that exits without stopping its plugins still frees the GPU's
 * memory in an orderly way).
 */
public final class ExecutorModels {
    /** What identifies a loaded model: the folder as given, the device string, the CPU threads (0: OpenMP's choice). */
    public record Key(String model, String device, int threads) {}

    private static final Map<Key, Unclip> OPEN = new LinkedHashMap<>();
    private static long loads;
    private static boolean hooked;

    private ExecutorModels() {}

    /** The model for {@code key}, loaded now if this JVM has not loaded it yet (other callers wait). */
    public static synchronized Unclip get(Key key) {
        Unclip u = OPEN.get(key);
        if (u == null) {
            u = Unclip.builder(Path.of(key.model())).device(key.device()).threads(key.threads()).build();
            OPEN.put(key, u);
            loads++;
            if (!hooked) {
                Runtime.getRuntime().addShutdownHook(new Thread(ExecutorModels::closeAll, "unclip4j-close-models"));
                hooked = true;
            }
        }
        return u;
    }

    /** Closes every model of this JVM (each waits for its running request); returns how many it closed. */
    public static synchronized int closeAll() {
        List<Unclip> open = new ArrayList<>(OPEN.values());
        OPEN.clear();
        RuntimeException first = null;
        for (Unclip u : open) {
            try {
                u.close();
            } catch (RuntimeException e) {
                if (first == null) first = e; else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
        return open.size();
    }

    /** The keys of the models open now. */
    public static synchronized List<Key> open() {
        return List.copyOf(OPEN.keySet());
    }

    /** How many models this JVM has loaded since it started. */
    public static synchronized long loads() {
        return loads;
    }
}
