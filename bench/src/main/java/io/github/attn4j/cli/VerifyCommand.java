package io.github.attn4j.cli;

import io.github.attn4j.Attn4j;
import io.github.attn4j.Backend;
import io.github.attn4j.DeviceInfo;
import io.github.attn4j.spi.KernelBuilds;
import io.github.attn4j.testing.Case;
import io.github.attn4j.testing.CaseMatrix;
import io.github.attn4j.testing.CaseResult;
import io.github.attn4j.testing.CaseRunner;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.PatternSyntaxException;

/**
 * {@code attn4j verify}: runs the case matrix ({@link CaseMatrix}) on every available device backend,
 * or the one named by {@code --backend}, against the float64 reference. Prints one line per case
 * (op, case, backend, NMSE, max abs error, PASS/FAIL/UNSUPPORTED) and a summary; exits
 * {@link Cli#FAILED} when any case fails.
 *
 * <p>The {@code cpu} backend is the reference itself, so without {@code --backend} it is never run:
 * when no device backend is available, nothing is verified, and {@code verify} says so, gives each
 * device backend's reason and how to install one, and exits {@link Cli#NO_DEVICE} (also for a named
 * device backend that has no device). {@code --backend cpu} runs the reference against itself as a
 * check of the harness, says that nothing was verified, and exits 0 when every case passes. The
 * decision is {@link VerifyTargets#choose}.
 */
public final class VerifyCommand {
    private VerifyCommand() {}

    public static final String USAGE = """
            usage: attn4j verify [--backend NAME] [--op sdpa|softmax|softmax_backward|additive|sdpa_backward|gemm|rope] [--filter REGEX]
                                 [--seed N] [--quick] [--list]
              --backend  one backend (cpu, opencl, cuda, opencl:1, ...); default: every available device backend
              --op       only the cases of one op
              --filter   only the cases whose name matches REGEX (find, e.g. 'type=f16' or 'causal.*lse')
              --seed     the seed every case draws its inputs from (default %d)
              --quick    the small subset (S <= 17, D <= 64); without it device backends also run the
                         two Sq = Sk = 32768 cases (checked on 64 sampled rows)
              --list     print the selected cases and exit
            exit codes: 0 every case passed, 1 a case failed, 2 bad usage, 3 no device backend here (nothing was
            verified; the output says why and how to install one)""".formatted(Case.DEFAULT_SEED);

    /** Runs the command on the arguments after {@code verify}; returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return Cli.guard("verify", err, () -> {
            Cli.Args a = Cli.parse(args, Set.of("backend", "op", "filter", "seed"), Set.of("quick", "list", "help"));
            if (a.has("help")) {
                out.println(USAGE);
                return Cli.OK;
            }
            if (!a.positional().isEmpty()) {
                throw new Cli.UsageException("unexpected argument '" + a.positional().get(0) + "'");
            }
            long seed = a.has("seed") ? a.longValue("seed") : Case.DEFAULT_SEED;
            List<Case> cases = a.has("quick") ? CaseMatrix.quick(seed) : CaseMatrix.all(seed);
            List<Case> longCases = a.has("quick") ? List.of() : CaseMatrix.longSequence(seed);
            Case.Op op = null;
            if (a.has("op")) {
                try {
                    op = Case.Op.parse(a.get("op"));
                } catch (IllegalArgumentException e) {
                    throw new Cli.UsageException("--" + e.getMessage());
                }
            }
            try {
                cases = CaseMatrix.filter(cases, op, a.get("filter"));
                longCases = CaseMatrix.filter(longCases, op, a.get("filter"));
            } catch (PatternSyntaxException e) {
                throw new Cli.UsageException("--filter: not a regular expression: " + e.getDescription());
            }
            if (cases.isEmpty() && longCases.isEmpty()) {
                throw new Cli.UsageException("no case matches (--op " + (a.get("op") == null ? "any" : a.get("op"))
                        + ", --filter " + (a.get("filter") == null ? "none" : a.get("filter")) + ")");
            }
            if (a.has("list")) {
                cases.forEach(c -> out.println(c.name()));
                longCases.forEach(c -> out.println(c.name() + "  (device backends only)"));
                out.println(cases.size() + longCases.size() + " cases");
                return Cli.OK;
            }
            VerifyTargets targets = VerifyTargets.choose(a.get("backend"), Attn4j.devices());
            if (targets.kind() == VerifyTargets.Kind.NO_DEVICE) {
                out.print(targets.noDeviceReport(a.get("backend")));
                out.flush();
                return Cli.NO_DEVICE;
            }
            for (DeviceInfo d : targets.unavailable()) {
                out.println("# " + d.id() + ": unavailable (" + d.reason() + ")");
            }
            if (targets.kind() == VerifyTargets.Kind.DEVICES && !a.has("backend")) {
                out.println("# cpu: skipped (it is the reference; --backend cpu runs it against itself)");
            }
            List<String> specs = targets.specs();
            int width = 4;
            for (Case c : concat(cases, longCases)) {
                width = Math.max(width, c.name().length());
            }
            String fmt = "%-16s %-" + width + "s %-10s %10s %11s %s%n";
            out.printf(Locale.ROOT, fmt, "OP", "CASE", "BACKEND", "NMSE", "MAX_ABS_ERR", "STATUS");
            List<String> summary = new ArrayList<>();
            int failed = 0, total = 0;
            for (String spec : specs) {
                int pass = 0, fail = 0, unsup = 0;
                long t0 = System.nanoTime();
                long builds0 = KernelBuilds.count(), buildNanos0 = KernelBuilds.nanos();
                String id = spec;
                List<Case> run = cases;
                try (Backend b = Attn4j.open(spec)) {
                    id = b.device().id();
                    // The cpu backend computes every row in float64: the 32768-key cases would take hours there.
                    if (!b.name().equals("cpu")) {
                        run = concat(cases, longCases);
                    }
                    for (Case c : run) {
                        CaseResult r = CaseRunner.run(b, c);
                        out.printf(Locale.ROOT, fmt, c.op().id(), c.name(), r.backend(), num(r.nmse()), num(r.maxAbs()),
                                r.status() + (r.message().isEmpty() ? "" : " " + r.message()));
                        out.flush();
                        switch (r.status()) {
                            case PASS -> pass++;
                            case FAIL -> fail++;
                            case UNSUPPORTED -> unsup++;
                        }
                    }
                }
                failed += fail;
                total += run.size();
                // kernel builds (first use of each variant on this device) apart from running and checking
                double secs = (System.nanoTime() - t0) / 1e9, buildSecs = (KernelBuilds.nanos() - buildNanos0) / 1e9;
                summary.add(String.format(Locale.ROOT,
                        "%s: %d passed, %d failed, %d unsupported of %d cases (%.1f s: kernel builds %.1f s for %d"
                                + " programs/modules, runs and checks %.1f s)",
                        id, pass, fail, unsup, run.size(), secs, buildSecs, KernelBuilds.count() - builds0,
                        Math.max(0, secs - buildSecs)));
            }
            out.println();
            summary.forEach(out::println);
            if (total == 0) {
                throw new Cli.UsageException("no case ran: the selected cases run on device backends only");
            }
            if (targets.kind() == VerifyTargets.Kind.SELF_CHECK) {
                out.println("The float64 reference was checked against itself: this tests the harness only; no device"
                        + " backend was verified.");
                out.println(failed == 0 ? "verify: OK (reference self-check; nothing was verified)"
                        : "verify: FAILED (" + failed + " failing cases in the reference self-check)");
                return failed == 0 ? Cli.OK : Cli.FAILED;
            }
            out.println(failed == 0 ? "verify: OK" : "verify: FAILED (" + failed + " failing cases)");
            return failed == 0 ? Cli.OK : Cli.FAILED;
        });
    }

    private static List<Case> concat(List<Case> a, List<Case> b) {
        List<Case> l = new ArrayList<>(a);
        l.addAll(b);
        return l;
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.3e", v);
    }
}
