package dev.unclip4j.cli;

import dev.unclip4j.api.Unclip;
import java.io.Console;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code unclip} command line. */
@Command(name = "unclip", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "DALL·E 2-style (unCLIP) text-to-image generation on the CPU or a CUDA GPU.",
        subcommands = {GenerateCommand.class, VariationsCommand.class, InterpolateCommand.class, EditCommand.class,
                EmbedCommand.class, ClassifyCommand.class, InfoCommand.class})
public final class Main {
    /** Whether standard output is an interactive terminal: progress bars there, plain lines elsewhere. */
    final boolean terminal;

    Main(boolean terminal) {
        this.terminal = terminal;
    }

    /** Options every subcommand shares. */
    static final class Common {
        @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "auto", description = "auto, cpu, cuda or cuda:N (default: ${DEFAULT-VALUE})")
        String device;

        @Option(names = "--verbose", description = "Say more (the device, load time), and print stack traces of errors.")
        boolean verbose;

        @Option(names = "--quiet", description = "Print no progress and no stage times.")
        boolean quiet;

        @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
        boolean help;

        /**
         * Fails in one line where this Java runtime has no javax.imageio (a jlink'd runtime without
         * java.desktop, like the GPU bundle's), before any work rather than at the first image.
         */
        static void requireImageIo() {
            if (ModuleLayer.boot().findModule("java.desktop").isEmpty()) {
                throw new IllegalStateException("this Java runtime has no javax.imageio (module java.desktop): commands "
                        + "that read or write images need a full JDK");
            }
        }
    }

    /** {@code --version}: the version the build filtered into version.properties. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"unclip4j " + Unclip.VERSION};
        }
    }

    public static void main(String[] args) {
        // Warnings of the library (e.g. a prompt truncated to CLIP's context) as one line each.
        System.setProperty("java.util.logging.SimpleFormatter.format", "unclip: %4$s: %5$s%6$s%n");
        Console console = System.console();
        boolean terminal = console != null && console.isTerminal();
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true), terminal));
    }

    /** {@link #execute(String[], PrintWriter, PrintWriter, boolean)} as on a non-terminal. */
    static int execute(String[] args, PrintWriter out, PrintWriter err) {
        return execute(args, out, err, false);
    }

    /**
     * Runs the command line with the given streams and returns its exit status: errors are one
     * line on err ("unclip: message") and status 1, the stack trace too with --verbose; usage
     * errors are one line and status 2.
     */
    static int execute(String[] args, PrintWriter out, PrintWriter err, boolean terminal) {
        CommandLine cli = new CommandLine(new Main(terminal));
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
        oneLineUsageErrors(cli, "unclip");
        int status = cli.execute(args);
        out.flush();
        err.flush();
        return status;
    }

    /**
     * Makes a usage error of {@code cli} or its subcommands one line on stderr and exit status 2
     * (picocli would add the whole usage text; --help shows it). Shared with the Spark job's
     * command line.
     */
    public static void oneLineUsageErrors(CommandLine cli, String program) {
        cli.setParameterExceptionHandler((e, badArgs) -> {
            CommandLine c = e.getCommandLine();
            String name = c == cli ? program : program + " " + c.getCommandName();
            c.getErr().println(name + ": " + e.getMessage().replace('\n', ' ') + " (see " + name + " --help)");
            c.getErr().flush();
            return 2;
        });
    }
}
