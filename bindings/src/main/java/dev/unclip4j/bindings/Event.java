package dev.unclip4j.bindings;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A {@code uc_event}: a point in a context's stream, for timing device work without the host's
 * launch and synchronisation overhead (a cudaEvent on cuda; the recording time on cpu).
 */
public final class Event implements AutoCloseable {
    private final Context context;
    private final MemorySegment handle;
    private boolean closed;

    Event(Context context, MemorySegment handle) {
        this.context = context;
        this.handle = handle;
    }

    private MemorySegment handle() {
        if (closed) throw new UnclipException("event", Status.INVALID_ARGUMENT, "the event is closed");
        return handle;
    }

    /** Marks this point of the stream. */
    public void record() {
        try {
            context.check("uc_event_record", (int) context.library().eventRecord.invokeExact(context.handle(), handle()));
        } catch (Throwable t) {
            throw Context.wrap("uc_event_record", t);
        }
    }

    /** Milliseconds from {@code start} to this event; waits until this event has completed. */
    public float elapsedMillisSince(Event start) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ms = arena.allocate(ValueLayout.JAVA_FLOAT);
            context.check("uc_event_elapsed_ms", (int) context.library().eventElapsedMs.invokeExact(context.handle(),
                    start.handle(), handle(), ms));
            return ms.get(ValueLayout.JAVA_FLOAT, 0);
        } catch (Throwable t) {
            throw Context.wrap("uc_event_elapsed_ms", t);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            context.check("uc_event_destroy", (int) context.library().eventDestroy.invokeExact(context.handle(), handle));
        } catch (Throwable t) {
            throw Context.wrap("uc_event_destroy", t);
        }
    }
}
