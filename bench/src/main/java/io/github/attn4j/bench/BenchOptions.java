package io.github.attn4j.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The options of {@code attn4j bench}. Flags take their value as the next argument or after '='
 * ({@code --iters 20}, {@code --iters=20}). Every problem is an {@link IllegalArgumentException}
 * whose message names the flag, what it expects and what it got.
 *
 * @param backends  backend ids ("cpu", "opencl", "cuda:1"); empty = every available device
 *                  ({@code --quick}: the best one)
 * @param ops       ops to keep from the shape sets; empty = all
 * @param dtypes    data dtypes; empty = f16 on cuda, f32 elsewhere
 * @param out       output folder; null = a timestamped folder (none for {@code --quick})
 * @param warmupMs  after the {@code warmup} runs, more untimed runs (each waited for) until the warm-up
 *                  has lasted this long (at most {@link #MAX_WARMUP_RUNS} runs): the host path of a call
 *                  (planning, argument binding) is then JIT-compiled, as in any long-running caller
 * @param warmupMaxMs then more untimed runs until the JIT compiler has been idle for {@link Timer#JIT_QUIET_MS},
 *                  for at most this long in all (no wait where it is not above {@code warmupMs})
 * @param maxSeconds the most one point may take (estimated from the rate measured on smaller points
 *                  before it starts); larger points are skipped with the estimate as the reason
 */
public record BenchOptions(List<String> backends, Set<String> ops, List<String> dtypes, String shapes, int warmup,
        int warmupMs, int warmupMaxMs, int iters, Path out, boolean quick, Path plotOnly, List<Path> peerCsvs,
        List<String> peers, double maxSeconds, double totalSeconds, long seed, boolean progress, boolean interleave,
        boolean help) {

    public static final int MIN_ITERS = 10;
    /** The most untimed runs the {@code --warmup-ms} phase adds. */
    public static final int MAX_WARMUP_RUNS = 100_000;
    /** The default of {@code --warmup-ms} ({@code --quick}: 100). */
    public static final int DEFAULT_WARMUP_MS = 300;
    /** The default of {@code --warmup-max-ms} ({@code --quick}: 2000; 0 where {@code --warmup-ms} is 0). */
    public static final int DEFAULT_WARMUP_MAX_MS = 10_000;

    public static final String USAGE = """
            usage: attn4j bench [options]
              --backend LIST    backends/devices to run: cpu, opencl, cuda, opencl:1, ... (default: every
                                available device; with --quick the best one)
              --op LIST         sdpa, sdpa_bwd, softmax, softmax_bwd, additive, additive_bwd, gemm
                                (default: all in the shape sets)
              --dtype LIST      f32, f16, bf16 (default: f16 on cuda, f32 elsewhere)
              --shapes LIST     sets flash, flash-bwd, decode, serve, softmax, softmax-bwd, additive, additive-bwd,
                                standard, small, gemm,
                                or explicit shapes such as sdpa:b=2:h=16:s=1024:d=64:causal or
                                sdpa:b=8:h=32:hkv=8:sq=1:sk=8192:d=128:page=16:varlen (default: standard;
                                --quick: small)
              --warmup N        untimed runs before timing (default 3)
              --warmup-ms MS    then more untimed runs until the warm-up has lasted MS ms, so that the
                                host side of a call is JIT-compiled (default 300; --quick 100; 0: none)
              --warmup-max-ms MS
                                then more until the JIT compiler has been idle for 250 ms, up to MS ms
                                in all (default 10000; --quick 2000; 0 with --warmup-ms 0)
              --iters N         timed runs per point, the median is reported (default 10, at least 10)
              --max-seconds S   skip a point whose estimated time exceeds S seconds (default 120)
              --out DIR         folder for results.csv, results.md and the PNG charts
                                (default bench-results/<date-time>; --quick writes nothing unless given)
              --quick           a ~30 s tour on the best backend that prints a small table
              --plot-only CSV   draw charts and the markdown report from an existing results CSV
              --peer-csv FILE   merge a peer's CSV (bench/peers/torch_sdpa.py) and print ratios; repeatable
              --peers LIST      run CPU peers in the same run (nd4j, djl; needs the -Ppeers build)
              --interleave      time each shape on every backend and peer before the next shape (default:
                                each implementation's shapes in a row), so that the two sides of a ratio
                                are timed seconds apart, in the same phase of a noisy host
              --seed N          input seed (default 42)
              --no-progress     no progress bar on stderr
            """;

    public static BenchOptions parse(String[] args) {
        List<String> backends = new ArrayList<>();
        Set<String> ops = new LinkedHashSet<>();
        List<String> dtypes = new ArrayList<>();
        String shapes = null;
        Integer warmup = null;
        Integer warmupMs = null;
        Integer warmupMaxMs = null;
        Integer iters = null;
        Path out = null;
        boolean quick = false;
        Path plotOnly = null;
        List<Path> peerCsvs = new ArrayList<>();
        List<String> peers = new ArrayList<>();
        Double maxSeconds = null;
        long seed = 42;
        boolean progress = true;
        boolean interleave = false;
        boolean help = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String flag = a;
            String inline = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                flag = a.substring(0, eq);
                inline = a.substring(eq + 1);
            }
            switch (flag) {
                case "--help", "-h" -> help = true;
                case "--quick" -> quick = true;
                case "--no-progress" -> progress = false;
                case "--interleave" -> interleave = true;
                case "--backend", "--op", "--dtype", "--shapes", "--warmup", "--warmup-ms", "--warmup-max-ms", "--iters",
                        "--out", "--plot-only", "--peer-csv", "--peers", "--max-seconds", "--seed" -> {
                    String v = inline;
                    if (v == null) {
                        if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
                            throw new IllegalArgumentException(flag + ": expected a value, got "
                                    + (i + 1 >= args.length ? "the end of the arguments" : "'" + args[i + 1] + "'"));
                        }
                        v = args[++i];
                    }
                    if (v.isBlank()) {
                        throw new IllegalArgumentException(flag + ": expected a value, got an empty string");
                    }
                    switch (flag) {
                        case "--backend" -> backends.addAll(list(v));
                        case "--op" -> {
                            for (String o : list(v)) {
                                String op = o.toLowerCase(Locale.ROOT);
                                if (!Shape.OPS.contains(op)) {
                                    throw new IllegalArgumentException("--op: expected one of " + Shape.OPS + ", got '"
                                            + o + "'");
                                }
                                ops.add(op);
                            }
                        }
                        case "--dtype" -> {
                            for (String d : list(v)) {
                                dtypes.add(Workload.name(Workload.dtype(d)));
                            }
                        }
                        case "--shapes" -> {
                            ShapeSets.resolve(v); // validates now, one line on error
                            shapes = shapes == null ? v : shapes + "," + v;
                        }
                        case "--warmup" -> warmup = integer(flag, v, 0);
                        case "--warmup-ms" -> warmupMs = integer(flag, v, 0);
                        case "--warmup-max-ms" -> warmupMaxMs = integer(flag, v, 0);
                        case "--iters" -> iters = integer(flag, v, MIN_ITERS);
                        case "--out" -> out = Path.of(v);
                        case "--plot-only" -> plotOnly = Path.of(v);
                        case "--peer-csv" -> peerCsvs.add(Path.of(v));
                        case "--peers" -> {
                            for (String p : list(v)) {
                                peers.add(p.toLowerCase(Locale.ROOT));
                            }
                        }
                        case "--max-seconds" -> maxSeconds = positiveDouble(flag, v);
                        default -> seed = longValue(flag, v);
                    }
                }
                default -> throw new IllegalArgumentException("unknown option '" + a + "' (see attn4j bench --help)");
            }
        }
        if (plotOnly != null && (quick || !peers.isEmpty())) {
            throw new IllegalArgumentException("--plot-only: expected no --quick/--peers with it (it runs nothing), got "
                    + (quick ? "--quick" : "--peers"));
        }
        int wMs = warmupMs != null ? warmupMs : quick ? 100 : DEFAULT_WARMUP_MS;
        int wMaxMs = warmupMaxMs != null ? warmupMaxMs : wMs == 0 ? 0 : quick ? 2000 : DEFAULT_WARMUP_MAX_MS;
        return new BenchOptions(List.copyOf(backends), Set.copyOf(ops), List.copyOf(dtypes),
                shapes != null ? shapes : quick ? "small" : "standard", warmup != null ? warmup : quick ? 2 : 3,
                wMs, wMaxMs, iters != null ? iters : MIN_ITERS, out,
                quick, plotOnly, List.copyOf(peerCsvs), List.copyOf(peers),
                maxSeconds != null ? maxSeconds : quick ? 3 : 120, quick ? 30 : Double.POSITIVE_INFINITY, seed, progress,
                interleave, help);
    }

    /** The shapes to run: the --shapes sets filtered by --op. */
    public List<Shape> shapeList() {
        List<Shape> l = new ArrayList<>();
        for (Shape s : ShapeSets.resolve(shapes)) {
            if (ops.isEmpty() || ops.contains(s.op())) {
                l.add(s);
            }
        }
        if (l.isEmpty()) {
            throw new IllegalArgumentException("--op: expected an op present in --shapes " + shapes + ", got " + ops);
        }
        return l;
    }

    private static List<String> list(String v) {
        List<String> l = new ArrayList<>();
        for (String s : v.split(",")) {
            if (!s.isBlank()) {
                l.add(s.trim());
            }
        }
        return l;
    }

    private static int integer(String flag, String v, int min) {
        int n;
        try {
            n = Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + ": expected an integer, got '" + v + "'");
        }
        if (n < min) {
            throw new IllegalArgumentException(flag + ": expected >= " + min + ", got " + n);
        }
        return n;
    }

    private static long longValue(String flag, String v) {
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + ": expected an integer, got '" + v + "'");
        }
    }

    private static double positiveDouble(String flag, String v) {
        double d;
        try {
            d = Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + ": expected a number of seconds, got '" + v + "'");
        }
        if (!(d > 0) || Double.isInfinite(d)) {
            throw new IllegalArgumentException(flag + ": expected a finite number > 0, got '" + v + "'");
        }
        return d;
    }
}
