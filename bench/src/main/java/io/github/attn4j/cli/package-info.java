/**
 * The attn4j command line: {@link io.github.attn4j.cli.Main} (the jar's {@code Main-Class}) and the
 * {@code devices}, {@code run} and {@code verify} commands; {@code bench} is handed to
 * {@link io.github.attn4j.bench.BenchCommand}. Each command class has
 * {@code run(String[] args, PrintStream out, PrintStream err)} taking the arguments after the command
 * word and returning the exit code (0 ok, 1 failure, 2 bad usage, 3 for {@code verify}: no device
 * backend, nothing verified); errors are one line on {@code err}, never a stack trace.
 * {@link io.github.attn4j.cli.Cli} holds the shared flag parsing.
 */
package io.github.attn4j.cli;
