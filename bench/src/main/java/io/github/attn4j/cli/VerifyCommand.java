package io.github.attn4j.cli;

import io.github.attn4j.Attn4j;
import io.github.attn4j.Backend;
import io.github.attn4j.BackendProvider;
import io.github.attn4j.DeviceInfo;
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
 * {@code attn4j verify}: runs the case matrix ({@link CaseMatrix}) on every available backend, or
 * the one named by {@code --backend}, against the float64 reference. Prints one line per case
 * (op, case, backend, NMSE, max abs error, PASS/FAIL/UNSUPPORTED) and a summary; exits 1 when any
 * case fails.
 *
 * <p>Without {@code --backend} the {@code cpu} backend is skipped when a device backend is
 * available: it is the reference itself, so comparing it with the reference only checks the test
 * harness. {@code --backend cpu} runs it.
 */
public final class VerifyCommand {
    private VerifyCommand() {}

    public static final String USAGE = """
            usage: attn4j verify [--backend NAME] [--op sdpa|softmax|softmax_backward|additive] [--filter REGEX]
                                 [--seed N] [--quick] [--list]
              --backend  one backend (cpu, opencl, cuda, opencl:1, ...); default: every available device backend
              --op       only the cases of one op
              --filter   only the cases whose name matches REGEX (find, e.g. 'type=f16' or 'causal.*lse')
              --seed     the seed every case draws its inputs from (default %d)
              --quick    the small subset (S <= 17, D <= 64); without it device backends also run the
                         two Sq = Sk = 32768 cases (checked on 64 sampled rows)
              --list     print the selected cases and exit""".formatted(Case.DEFAULT_SEED);

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
                throw new Cli.UsageException("no case matches (--op " + a.get("op") + ", --filter " + a.get("filter") + ")");
            }
            if (a.has("list")) {
                cases.forEach(c -> out.println(c.name()));
                longCases.forEach(c -> out.println(c.name() + "  (device backends only)"));
                out.println(cases.size() + longCases.size() + " cases");
                return Cli.OK;
            }
            List<String> specs = backends(a, out);
            if (specs.isEmpty()) {
                throw new IllegalStateException("no backend is available (see 'attn4j devices')");
            }
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
                summary.add(String.format(Locale.ROOT, "%s: %d passed, %d failed, %d unsupported of %d cases (%.1f s)",
                        id, pass, fail, unsup, run.size(), (System.nanoTime() - t0) / 1e9));
            }
            out.println();
            summary.forEach(out::println);
            if (total == 0) {
                throw new Cli.UsageException("no case ran: the selected cases run on device backends only");
            }
            out.println(failed == 0 ? "verify: OK" : "verify: FAILED (" + failed + " failing cases)");
            return failed == 0 ? Cli.OK : Cli.FAILED;
        });
    }

    /** The device specs to run: --backend, or every available device (cpu only when nothing else is). */
    private static List<String> backends(Cli.Args a, PrintStream out) {
        if (a.has("backend")) {
            return List.of(a.get("backend"));
        }
        List<String> l = new ArrayList<>();
        for (BackendProvider p : Attn4j.providers()) {
            List<DeviceInfo> devs;
            try {
                devs = p.devices();
            } catch (RuntimeException | LinkageError e) {
                out.println("# " + p.name() + ": unavailable (" + Cli.oneLine(e) + ")");
                continue;
            }
            for (DeviceInfo d : devs) {
                if (d.available()) {
                    l.add(d.id());
                } else {
                    out.println("# " + d.id() + ": unavailable (" + d.reason() + ")");
                }
            }
        }
        if (l.size() > 1) {
            l.removeIf(s -> s.startsWith("cpu"));
            out.println("# cpu: skipped (it is the reference; --backend cpu runs it)");
        }
        return l;
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
