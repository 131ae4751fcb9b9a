package dev.unclip4j.pipeline;

/** The settings every pipeline checks before it starts. */
final class Checks {
    private Checks() {}

    /** Steps of a stage: at least 2, since diffusers' UnCLIPScheduler divides by steps − 1. */
    static void steps(String stage, int steps) {
        if (steps < 2) {
            throw new IllegalArgumentException(stage + " steps must be at least 2, not " + steps
                    + " (the UnCLIP scheduler spaces its timesteps by (T − 1) / (steps − 1))");
        }
        if (steps > 1000) throw new IllegalArgumentException(stage + " steps " + steps + " exceed the 1000 training timesteps");
    }

    /** A guidance scale below 1 would push away from the prompt; diffusers' pipelines document ≥ 1. */
    static void guidance(String stage, double scale) {
        if (!(scale >= 1) || Double.isInfinite(scale)) {
            throw new IllegalArgumentException(stage + " guidance must be a number ≥ 1, not " + scale);
        }
    }
}
