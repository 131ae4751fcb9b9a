package dev.unclip4j.cli;

import dev.unclip4j.testing.SharedData;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

/** Runs the command line in-process, as on a non-terminal, and keeps what it printed. */
final class Cli {
    private Cli() {}

    private static final String[] DECODER_STEPS = {"--decoder-steps", "2", "--super-res-steps", "2"};

    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int status = Main.execute(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(status, out.toString(), err.toString());
    }

    /**
     * {@code args} with two steps in every stage, the least the scheduler takes: the built-in
     * model then makes an image in well under a second on an idle machine.
     */
    static String[] fast(String... args) {
        return concat(args, "--prior-steps", "2", "--decoder-steps", "2", "--super-res-steps", "2");
    }

    /** {@link #fast} for the commands without a prior (variations, edit). */
    static String[] fastDecoder(String... args) {
        return concat(args, DECODER_STEPS);
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** The tiny random-weight UnCLIP of the pipeline fixtures: other sizes than the built-in model's everywhere. */
    static Path tinyModel() {
        return SharedData.repoRoot().resolve("java/src/test/resources/fixtures/pipeline/tiny_random");
    }
}
