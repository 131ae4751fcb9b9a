package dev.unclip4j.api;

/**
 * Told after every denoising step of every stage ("prior", "decoder", "super-res"), on the
 * thread that runs the request. It should return quickly: the next step waits for it.
 */
@FunctionalInterface
public interface ProgressListener {
    /** Step {@code step} of {@code steps} of {@code stage} is done. */
    void stepDone(String stage, int step, int steps);

    /** A listener that ignores everything. */
    ProgressListener NONE = (stage, step, steps) -> {};
}
