package dev.unclip4j.cli;

import dev.unclip4j.tensor.Backend;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The {@code unclip} command line. */
@Command(name = "unclip", mixinStandardHelpOptions = true, version = "unclip4j 0.1.0-SNAPSHOT",
        description = "DALL·E 2-style (unCLIP) text-to-image generation on the CPU or a CUDA GPU.",
        subcommands = {Main.Generate.class, Main.Info.class, EmbedCommand.class, ClassifyCommand.class})
public final class Main {
    /** Options every subcommand shares. */
    static final class Common {
        @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, cuda or cuda:N (default: ${DEFAULT-VALUE})")
        String device;

        @Option(names = "--verbose", description = "Print stack traces of errors.")
        boolean verbose;
    }

    @Command(name = "generate", description = "Generate an image from a text prompt.")
    static final class Generate implements Callable<Integer> {
        @CommandLine.Mixin
        Common common = new Common();

        @Parameters(index = "0", description = "The prompt.")
        String prompt;

        @Option(names = {"-o", "--output"}, defaultValue = "unclip.png", description = "Output PNG (default: ${DEFAULT-VALUE}).")
        Path output;

        @Option(names = "--seed", defaultValue = "0", description = "Random seed (default: ${DEFAULT-VALUE}).")
        long seed;

        @Override
        public Integer call() {
            try (Backend backend = Backend.named(common.device)) {
                System.err.println("unclip generate: the generation pipeline is not built yet "
                        + "(the kernels and CLIP are in; the prior, decoder and super-resolution models and the unCLIP scheduler are next).");
                System.err.println("Backend that would run it: " + backend);
                return 3;
            }
        }
    }

    @Command(name = "info", description = "Show which backends and devices this machine can use.")
    static final class Info implements Callable<Integer> {
        @CommandLine.Mixin
        Common common = new Common();

        @Override
        public Integer call() {
            try (Backend cpu = Backend.cpu()) {
                System.out.println("cpu:  " + cpu.device());
            }
            String reason = Backend.cudaUnavailableReason();
            if (reason == null) {
                try (Backend cuda = Backend.cuda(0)) {
                    System.out.println("cuda: " + cuda.device());
                }
            } else {
                System.out.println("cuda: unavailable (" + reason + ")");
            }
            try (Backend chosen = Backend.named(common.device)) {
                System.out.println("--device " + common.device + " runs on: " + chosen.name());
            }
            return 0;
        }
    }

    public static void main(String[] args) {
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /**
     * Runs the command line with the given streams and returns its exit status: errors are one
     * line on err ("unclip: message") and status 1, the stack trace too with --verbose.
     */
    static int execute(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            boolean verbose = parseResult.originalArgs().contains("--verbose");
            if (verbose) e.printStackTrace(commandLine.getErr());
            // The message alone reads best (our exceptions name what is wrong); the type when there is none.
            String message = e.getMessage() != null ? e.getMessage() : e.toString();
            commandLine.getErr().println("unclip: " + message.replace('\n', ' '));
            commandLine.getErr().flush();
            return 1;
        });
        // A usage error too is one line (picocli would add the whole usage text); --help shows it.
        cli.setParameterExceptionHandler((e, badArgs) -> {
            CommandLine c = e.getCommandLine();
            String name = c == cli ? "unclip" : "unclip " + c.getCommandName();
            c.getErr().println(name + ": " + e.getMessage().replace('\n', ' ') + " (see " + name + " --help)");
            c.getErr().flush();
            return 2;
        });
        int status = cli.execute(args);
        out.flush();
        err.flush();
        return status;
    }
}
