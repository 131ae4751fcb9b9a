package dev.unclip4j.cli;

import dev.unclip4j.api.ProgressListener;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Shows the denoising steps: on a terminal a progress bar per stage (stage, step k/N, elapsed
 * time, steps per second, time left), through the progressbar library; elsewhere (a pipe, a
 * file, a CI log) one plain line per step, "prior 3/25 0.41 s"; nothing with --quiet.
 */
final class ProgressDisplay implements ProgressListener, AutoCloseable {
    private final boolean terminal, quiet;
    private final PrintWriter err;
    private String label = "";
    private String stage;
    private long stageStart;
    private long lastEnd = System.nanoTime();  // a stage's time runs from the end of the one before
    private ProgressBar bar;

    ProgressDisplay(boolean terminal, boolean quiet, PrintWriter err) {
        this.terminal = terminal;
        this.quiet = quiet;
        this.err = err;
    }

    /** A prefix for the stages of the next run, e.g. "batch 2/3 " (empty by default). */
    void label(String prefix) {
        label = prefix;
    }

    @Override
    public void stepDone(String stage, int step, int steps) {
        if (quiet) return;
        if (!stage.equals(this.stage) || step == 1) {
            if (this.stage != null) finishStage();
            this.stage = stage;
            stageStart = lastEnd;
            if (terminal) {
                bar = new ProgressBarBuilder().setTaskName(label + stage).setInitialMax(steps)
                        .startsFrom(0, Duration.ofNanos(System.nanoTime() - stageStart))
                        .setStyle(ProgressBarStyle.UNICODE_BLOCK).setUnit(" steps", 1).showSpeed()
                        .setSpeedUnit(ChronoUnit.SECONDS).setUpdateIntervalMillis(100)
                        // System.err itself: a bar is drawn only when running from main() on a terminal.
                        .setConsumer(new ConsoleProgressBarConsumer(System.err)).build();
            }
        }
        if (bar != null) {
            bar.stepTo(step);
        } else {
            err.printf(Locale.ROOT, "%s%-9s %3d/%d %7.2f s%n", label, stage, step, steps, (System.nanoTime() - stageStart) / 1e9);
            err.flush();
        }
        if (step == steps) finishStage();
    }

    private void finishStage() {
        if (bar != null) bar.close();
        bar = null;
        stage = null;
        lastEnd = System.nanoTime();
    }

    @Override
    public void close() {
        finishStage();
    }
}
