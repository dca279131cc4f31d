package io.github.attn4j.cli;

import io.github.attn4j.bench.BenchCommand;
import java.io.PrintStream;
import java.util.Arrays;

/**
 * {@code java -jar bench/target/attn4j.jar COMMAND ...}: the attn4j command line, the jar's
 * {@code Main-Class}. The product commands ({@code devices}, {@code run}, {@code verify}) live in
 * this package; {@code bench} is one subcommand, handed to {@link BenchCommand}. Every command
 * returns an exit code; a bad flag or file, or any other failure, is one line on stderr and a
 * non-zero exit, never a stack trace (set {@code -Dattn4j.trace=true} to get the trace).
 */
public final class Main {
    private Main() {}

    static final String USAGE = """
            usage: java -jar bench/target/attn4j.jar COMMAND [options]
              devices   list every backend and device, with the reason when one is unavailable
              run       run one op on .npy files: run sdpa|softmax|additive --backend NAME ... (run --help);
                        the attention layers: run mha|bahdanau ... (weights from .safetensors)
              plot      draw attention/alignment heatmaps from a .npy file, one panel per head (plot --help)
              verify    run the case matrix on every available backend against the float64 reference
              bench     time the ops: TFLOP/s, GB/s, fraction of measured ceilings, charts (bench --help)
              --help    this text
            The first thing to try: verify. The second: bench --quick.
            """;

    public static void main(String[] args) {
        SignalChaining.relaunchIfNeeded(args);
        System.setProperty("java.awt.headless", "true");
        int code = run(args, System.out, System.err);
        System.out.flush();
        System.exit(code);
    }

    /** Runs a command line; returns the exit code. Never throws. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.print(USAGE);
            return 2;
        }
        String cmd = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            return switch (cmd) {
                case "--help", "-h", "help" -> {
                    out.print(USAGE);
                    yield 0;
                }
                case "devices" -> DevicesCommand.run(rest, out, err);
                case "run" -> RunCommand.run(rest, out, err);
                case "verify" -> VerifyCommand.run(rest, out, err);
                case "plot" -> PlotCommand.run(rest, out, err);
                case "bench" -> Cli.guard("bench", err, () -> BenchCommand.run(rest, out, err));
                default -> {
                    err.println("error: unknown command '" + cmd + "': expected devices, run, verify, bench or plot (see --help)");
                    yield 2;
                }
            };
        } catch (IllegalArgumentException e) {
            err.println("error: " + oneLine(e.getMessage()));
            trace(e, err);
            return 2;
        } catch (Throwable e) {
            err.println("error: " + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": "
                    + oneLine(e.getMessage())));
            trace(e, err);
            return 1;
        }
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replace('\n', ' ').replace('\r', ' ');
    }

    private static void trace(Throwable e, PrintStream err) {
        if (Boolean.getBoolean("attn4j.trace")) {
            e.printStackTrace(err);
        }
    }
}
