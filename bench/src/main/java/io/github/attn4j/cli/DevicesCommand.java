package io.github.attn4j.cli;

import io.github.attn4j.Attn4j;
import java.io.PrintStream;
import java.util.Set;

/** {@code attn4j devices}: every backend and device, with the reason when one is unavailable. */
public final class DevicesCommand {
    private DevicesCommand() {}

    public static final String USAGE = "usage: attn4j devices";

    /** Runs the command on the arguments after {@code devices}; returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return Cli.guard("devices", err, () -> {
            Cli.Args a = Cli.parse(args, Set.of(), Set.of("help"));
            if (a.has("help")) {
                out.println(USAGE);
                return Cli.OK;
            }
            if (!a.positional().isEmpty()) {
                throw new Cli.UsageException("expected no arguments, got '" + a.positional().get(0) + "'");
            }
            out.print(Attn4j.devicesReport());
            return Cli.OK;
        });
    }
}
