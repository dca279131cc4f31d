package io.github.attn4j.bench;

import io.github.attn4j.Attn4j;
import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.DeviceInfo;
import io.github.attn4j.Scope;
import io.github.attn4j.Support;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code attn4j bench}: times every shape on every chosen backend (and CPU peer), with the device
 * ceilings measured in the same run, and writes CSV, markdown and PNG charts.
 *
 * <p>Points too large for a backend are skipped with the reason instead of hanging: before a point
 * starts, its time is estimated from the rate measured on the smaller points before it (or on a tiny
 * calibration point), and it is skipped when the warm-up plus timed runs would exceed
 * {@code --max-seconds}. The float64 CPU reference is also capped by the Java heap.
 */
public final class BenchCommand {
    private final BenchOptions opt;
    private final PrintStream out;
    private final PrintStream err;
    private final Timer timer = Timer.WALL;
    /** Work units per second measured per (impl, op, dtype): FLOP for sdpa/additive, bytes for softmax. */
    private final Map<String, Double> rates = new HashMap<>();
    /** Points timed, and those whose warm-up ended with the JIT compiler idle ({@link Timer#warmUp}). */
    private int warmedPoints, jitQuietPoints;
    private long started;
    /** A CPU GEMM ceiling measured by a BLAS-backed peer in this run (NaN without peers). */
    private double cpuGemm = Double.NaN;
    private String cpuGemmNote = "";

    private BenchCommand(BenchOptions opt, PrintStream out, PrintStream err) {
        this.opt = opt;
        this.out = out;
        this.err = err;
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        BenchOptions o = BenchOptions.parse(args);
        if (o.help()) {
            out.print(BenchOptions.USAGE);
            return 0;
        }
        return new BenchCommand(o, out, err).execute(String.join(" ", args));
    }

    private int execute(String argLine) {
        if (opt.plotOnly() != null) {
            return plotOnly();
        }
        System.setProperty("java.awt.headless", "true");
        started = System.nanoTime();
        List<Shape> shapes = new ArrayList<>(opt.shapeList());
        List<String> backendIds = backendIds();
        List<Peer> peers = openPeers();
        for (Peer p : peers) {
            double g = p.gemmTflops();
            if (!Double.isNaN(g) && (Double.isNaN(cpuGemm) || g > cpuGemm)) {
                cpuGemm = g;
                cpuGemmNote = String.format(Locale.ROOT, "%.3f TFLOP/s: %s's f32 GEMM on the same CPU", g, p.impl());
            }
        }
        List<Result> rows = new ArrayList<>();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("Date", DateTimeFormatter.ISO_INSTANT.format(Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS)));
        meta.put("Command", "`" + launcher() + argLine + "`");
        meta.put("Host", System.getProperty("os.name") + " " + System.getProperty("os.arch") + ", "
                + Runtime.getRuntime().availableProcessors() + " CPUs, Java " + System.getProperty("java.version") + " ("
                + System.getProperty("java.vm.name") + "), heap " + (Runtime.getRuntime().maxMemory() >> 20) + " MiB");
        String jitWait = opt.warmupMaxMs() > opt.warmupMs()
                ? " and the JIT compiler has been idle for " + Timer.JIT_QUIET_MS + " ms, at most " + opt.warmupMaxMs()
                        + " ms"
                : "";
        meta.put("Timing", opt.warmup() + " warm-up runs (then more, each waited for, until the warm-up has lasted "
                + opt.warmupMs() + " ms" + jitWait + "), then the median of " + opt.iters() + " timed runs, each"
                + " one op and one synchronize; opencl-events = profiling markers around the op, cuda-events ="
                + " events on the scope's stream, wall+sync = System.nanoTime() around run + synchronize");
        meta.put("Load average at start", loadAverage());
        int pointsPerImpl = 0;
        for (String id : backendIds) {
            pointsPerImpl += shapes.size() * dtypesFor(id).size();
        }
        Progress progress = new Progress(err, pointsPerImpl + peers.size() * shapes.size() * dtypesFor("cpu").size(),
                opt.progress());
        try {
            if (opt.interleave()) {
                meta.put("Order", "interleaved: each shape on every backend and peer before the next shape");
                runInterleaved(backendIds, peers, shapes, rows, progress, meta);
            } else {
                for (String id : backendIds) {
                    runBackend(id, shapes, rows, progress, meta);
                }
                for (Peer p : peers) {
                    runPeer(p, shapes, rows, progress, meta);
                }
            }
        } finally {
            progress.finish();
            for (Peer p : peers) {
                p.close();
            }
        }
        meta.put("Load average at end", loadAverage());
        if (opt.warmupMaxMs() > opt.warmupMs() && warmedPoints > 0) {
            meta.put("Warm-up", "the JIT compiler was idle at the end of the warm-up of " + jitQuietPoints + " of "
                    + warmedPoints + " timed points" + (jitQuietPoints < warmedPoints ? " (the others stopped at "
                    + opt.warmupMaxMs() + " ms)" : ""));
        }
        for (Path peerCsv : opt.peerCsvs()) {
            rows.addAll(Csv.read(peerCsv));
            meta.put("Merged", (meta.containsKey("Merged") ? meta.get("Merged") + ", " : "") + peerCsv);
        }
        out.print(Report.table(opt.quick() ? compact(rows) : rows));
        if (opt.quick()) {
            long left = rows.stream().filter(r -> Result.SKIPPED.equals(r.status())).count();
            out.printf(Locale.ROOT, "%d of %d points ran in %.0f s (%s timing); %d left out by the %.0f s tour budget or"
                    + " the %.0f s per-point limit. The full run: attn4j bench --backend %s%n", rows.size() - left,
                    rows.size(), (System.nanoTime() - started) / 1e9, rows.isEmpty() ? "-" : rows.get(0).timing(), left,
                    opt.totalSeconds(), opt.maxSeconds(), String.join(",", backendIds));
        }
        String steps = Report.fwdBwdTable(Report.fwdBwd(rows));
        if (!steps.isEmpty()) {
            out.println();
            out.print(steps);
        }
        String ratios = Report.ratioTable(Report.ratios(rows));
        if (!ratios.isEmpty()) {
            out.println();
            out.print(ratios);
        }
        Path dir = opt.out();
        if (dir == null && !opt.quick()) {
            dir = Path.of("bench-results", DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC)
                    .format(Instant.now()));
        }
        if (dir != null) {
            writeAll(rows, dir, meta);
        }
        long failed = rows.stream().filter(r -> Result.FAILED.equals(r.status())).count();
        if (failed > 0) {
            err.println(failed + " point(s) failed; see the status column");
            return 1;
        }
        return 0;
    }

    /** The quick tour prints the points that ran, plus a count of the ones it left out. */
    private static List<Result> compact(List<Result> rows) {
        List<Result> l = new ArrayList<>();
        for (Result r : rows) {
            if (!Result.SKIPPED.equals(r.status())) {
                l.add(r);
            }
        }
        return l;
    }

    private void countWarmUp(boolean jitQuiet) {
        warmedPoints++;
        if (jitQuiet) {
            jitQuietPoints++;
        }
    }

    private void writeAll(List<Result> rows, Path dir, Map<String, String> meta) {
        Csv.write(dir.resolve("results.csv"), rows);
        List<String> names = new ArrayList<>();
        for (Path p : Charts.write(rows, dir)) {
            names.add(p.getFileName().toString());
        }
        try {
            Files.writeString(dir.resolve("results.md"), Report.markdown(rows, meta, names), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot write results.md (" + e.getMessage() + ")", e);
        }
        out.println();
        out.println("wrote " + dir.resolve("results.csv") + ", " + dir.resolve("results.md") + " and " + names.size()
                + " chart(s)");
    }

    private int plotOnly() {
        List<Result> rows = new ArrayList<>(Csv.read(opt.plotOnly()));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("Source", opt.plotOnly().toString());
        for (Path p : opt.peerCsvs()) {
            rows.addAll(Csv.read(p));
            meta.put("Merged", (meta.containsKey("Merged") ? meta.get("Merged") + ", " : "") + p);
        }
        Path dir = opt.out() != null ? opt.out()
                : opt.plotOnly().toAbsolutePath().getParent();
        out.print(Report.table(rows));
        String steps = Report.fwdBwdTable(Report.fwdBwd(rows));
        if (!steps.isEmpty()) {
            out.println();
            out.print(steps);
        }
        String ratios = Report.ratioTable(Report.ratios(rows));
        if (!ratios.isEmpty()) {
            out.println();
            out.print(ratios);
        }
        List<String> names = new ArrayList<>();
        for (Path p : Charts.write(rows, dir)) {
            names.add(p.getFileName().toString());
        }
        try {
            Files.writeString(dir.resolve("results.md"), Report.markdown(rows, meta, names), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot write results.md (" + e.getMessage() + ")", e);
        }
        out.println("wrote " + dir.resolve("results.md") + " and " + names.size() + " chart(s) to " + dir);
        return 0;
    }

    /** --backend, or every available device, or (--quick) the best one. */
    private List<String> backendIds() {
        if (!opt.backends().isEmpty()) {
            List<String> l = new ArrayList<>();
            for (String b : opt.backends()) {
                if (b.equalsIgnoreCase("all")) {
                    l.addAll(availableIds());
                } else {
                    Attn4j.provider(b.contains(":") ? b.substring(0, b.indexOf(':')) : b); // unknown name: one line
                    l.add(b.toLowerCase(Locale.ROOT));
                }
            }
            return l;
        }
        if (opt.quick()) {
            try (Backend b = Attn4j.open()) {
                return List.of(b.device().id());
            }
        }
        return availableIds();
    }

    private static List<String> availableIds() {
        List<String> l = new ArrayList<>();
        for (DeviceInfo d : Attn4j.devices()) {
            if (d.available()) {
                l.add(d.id());
            }
        }
        return l;
    }

    private List<String> dtypesFor(String backendId) {
        if (!opt.dtypes().isEmpty()) {
            return opt.dtypes();
        }
        return List.of(backendId.startsWith("cuda") ? "f16" : "f32");
    }

    private List<Peer> openPeers() {
        if (opt.peers().isEmpty()) {
            return List.of();
        }
        List<Peer> avail = Peer.available();
        List<Peer> chosen = new ArrayList<>();
        for (String name : opt.peers()) {
            Peer found = null;
            for (Peer p : avail) {
                if (p.name().equalsIgnoreCase(name)) {
                    found = p;
                }
            }
            if (found == null) {
                List<String> names = avail.stream().map(Peer::name).toList();
                throw new IllegalArgumentException("--peers: expected one of " + names
                        + (names.isEmpty() ? " (none on the class path: build and run with -Ppeers, see README)" : "")
                        + ", got '" + name + "'");
            }
            chosen.add(found);
        }
        return chosen;
    }

    /** A backend opened for a run: its report name, device and the ceilings of each dtype. */
    private record Opened(String id, Backend backend, String impl, String device, Map<String, Ceilings> ceilings) {}

    /**
     * Opens a backend and measures its ceilings (one per dtype); null where it cannot be opened, after a
     * skipped row for each of its points.
     */
    private Opened open(String id, List<Shape> shapes, List<Result> rows, Progress progress, Map<String, String> meta) {
        String impl = "attn4j-" + (id.contains(":") && !id.endsWith(":0") ? id.replace(':', '-') : id.replaceAll(":0$", ""));
        Backend backend;
        try {
            backend = Attn4j.open(id);
        } catch (RuntimeException | LinkageError e) {
            for (String dt : dtypesFor(id)) {
                for (Shape s : shapes) {
                    rows.add(Result.notRun(impl, id, "-", s, dt, Result.SKIPPED, "backend unavailable: " + oneLine(e)));
                    progress.step();
                }
            }
            return null;
        }
        try {
            String device = backend.device().name();
            progress.start(impl + ": measuring the copy ceiling");
            Ceilings base = Ceilings.measure(backend, opt.warmup(), opt.warmupMs(), opt.warmupMaxMs(), opt.iters());
            meta.put("Timing " + impl, timingMethod(backend));
            Map<String, Ceilings> ceilings = new LinkedHashMap<>();
            for (String dt : dtypesFor(id)) {
                Ceilings c = base;
                if (backend.name().equals("cpu")) {
                    c = c.withGemm(cpuGemm, cpuGemmNote);
                } else if (backend.name().equals("cuda")) {
                    progress.start(impl + ": measuring the cuBLAS GEMM ceiling (" + dt + ")");
                    try {
                        double g = CublasGemmCeiling.measure(backend, Workload.dtype(dt), opt.warmup(), opt.iters());
                        c = c.withGemm(g, String.format(Locale.ROOT, "%.1f TFLOP/s: cuBLAS %d³ GEMM, %s storage, fp32"
                                + " accumulation, cuda-events", g, CublasGemmCeiling.N, dt));
                    } catch (RuntimeException | LinkageError e) {
                        c = new Ceilings(c.copyGbps(), c.copyBytes(), c.copyNote(), Double.NaN, "n/a: " + oneLine(e));
                    }
                }
                meta.put("Ceilings " + impl + " " + dt, String.format(Locale.ROOT, "copy %s GB/s (%s); GEMM %s",
                        Report.f(c.copyGbps(), 1), c.copyNote(), c.gemmNote()));
                ceilings.put(dt, c);
            }
            return new Opened(id, backend, impl, device, ceilings);
        } catch (RuntimeException | LinkageError e) {
            backend.close();
            throw e;
        }
    }

    private void runBackend(String id, List<Shape> shapes, List<Result> rows, Progress progress,
            Map<String, String> meta) {
        Opened o = open(id, shapes, rows, progress, meta);
        if (o == null) {
            return;
        }
        try (Backend backend = o.backend()) {
            for (String dt : dtypesFor(id)) {
                for (Shape s : order(shapes)) {
                    backendPoint(o, s, dt, rows, progress);
                }
            }
        }
    }

    private void backendPoint(Opened o, Shape s, String dt, List<Result> rows, Progress progress) {
        progress.start(o.impl() + " " + dt + " " + s.op() + " " + s.label());
        rows.add(point(o.backend(), o.impl(), o.device(), s, dt, o.ceilings().get(dt)));
        progress.step();
    }

    /** {@code --interleave}: every backend and peer on one shape, then the next shape (in {@link #order}). */
    private void runInterleaved(List<String> backendIds, List<Peer> peers, List<Shape> shapes, List<Result> rows,
            Progress progress, Map<String, String> meta) {
        List<Opened> opened = new ArrayList<>();
        try {
            for (String id : backendIds) {
                Opened o = open(id, shapes, rows, progress, meta);
                if (o != null) {
                    opened.add(o);
                }
            }
            for (Peer p : peers) {
                peerCeilings(p, meta);
            }
            for (Shape s : order(shapes)) {
                for (Opened o : opened) {
                    for (String dt : dtypesFor(o.id())) {
                        backendPoint(o, s, dt, rows, progress);
                    }
                }
                for (Peer p : peers) {
                    for (String dt : dtypesFor("cpu")) {
                        peerStep(p, s, dt, rows, progress);
                    }
                }
            }
        } finally {
            for (Opened o : opened) {
                o.backend().close();
            }
        }
    }

    /** Run order: per op, compute-bound then memory-bound points, each smallest first, so that every estimate comes from a measured smaller point. */
    static List<Shape> order(List<Shape> shapes) {
        List<String> ops = new ArrayList<>();
        for (Shape s : shapes) {
            if (!ops.contains(s.op())) {
                ops.add(s.op());
            }
        }
        List<Shape> l = new ArrayList<>(shapes);
        l.sort(Comparator.<Shape>comparingInt(s -> ops.indexOf(s.op())).thenComparing(Shape::memoryBound)
                .thenComparingDouble(BenchCommand::work));
        return l;
    }

    /** The unit in which a point's rate is tracked: FLOP, or bytes for memory-bound points (softmax, decode). */
    static double work(Shape s) {
        return s.memoryBound() || s.flops() == 0 ? s.bytes(4) : s.flops();
    }

    /** Rates are tracked per implementation, op, regime (compute- or memory-bound) and dtype. */
    static String rateKey(String impl, Shape s, String dt) {
        return impl + "|" + s.op() + "|" + (s.memoryBound() ? "bw" : "fl") + "|" + dt;
    }

    /** The method the backend's scope timers use ("cuda-events", "opencl-events", "wall+sync"). */
    private static String timingMethod(Backend backend) {
        try (Scope s = backend.newScope()) {
            return Timing.method(s);
        } catch (RuntimeException | LinkageError e) {
            return "unknown (" + oneLine(e) + ")";
        }
    }

    private Result point(Backend backend, String impl, String device, Shape s, String dt, Ceilings c) {
        String id = backend.device().id();
        String budget = overBudget();
        if (budget != null) {
            return Result.notRun(impl, id, device, s, dt, Result.SKIPPED, budget);
        }
        DType t = Workload.dtype(dt);
        long bytes = Workload.tensorBytes(s, t);
        if (backend.name().equals("cpu")) {
            long heap = Runtime.getRuntime().maxMemory();
            if (s.largestTensorElements() > Integer.MAX_VALUE - 8) {
                return Result.notRun(impl, id, device, s, dt, Result.SKIPPED, "the cpu reference holds tensors in Java"
                        + " arrays (at most 2^31 elements); this point needs " + s.largestTensorElements());
            }
            if (bytes > heap / 2) {
                return Result.notRun(impl, id, device, s, dt, Result.SKIPPED, String.format(Locale.ROOT,
                        "the cpu reference needs %d MiB of Java heap for the tensors, over half of -Xmx (%d MiB)",
                        bytes >> 20, heap >> 20));
            }
        }
        String rateKey = rateKey(impl, s, dt);
        int runs = opt.warmup() + opt.iters();
        try {
            if (!rates.containsKey(rateKey)) {
                calibrate(backend, s, t, rateKey);
            }
            double perRun = work(s) / rates.get(rateKey);
            // Too slow even if the estimate (extrapolated from smaller points) were 4x pessimistic: skip.
            if (perRun * runs > 4 * opt.maxSeconds()) {
                return Result.notRun(impl, id, device, s, dt, Result.SKIPPED, String.format(Locale.ROOT,
                        "estimated %.0f s for %d runs at the rate measured on smaller points; over --max-seconds %.0f",
                        perRun * runs, runs, opt.maxSeconds()));
            }
            try (Scope scope = backend.newScope()) {
                Workload w = Workload.create(scope, s, t, opt.seed());
                Support sup = backend.supports(w.params());
                if (!sup.supported()) {
                    return Result.notRun(impl, id, device, s, dt, Result.SKIPPED, "unsupported: " + sup.reason());
                }
                long peak = scope.allocatedBytes() + backend.workspaceBytes(w.params());
                int warmup = opt.warmup();
                if (perRun * runs > opt.maxSeconds()) {
                    // Borderline: one probe run (counted as a warm-up run) decides with a measured time.
                    double probe = Timing.time(scope, () -> scope.run(w.params()), 0, 1).ms()[0] / 1e3;
                    rates.put(rateKey, work(s) / probe);
                    if (probe * runs > opt.maxSeconds()) {
                        return Result.notRun(impl, id, device, s, dt, Result.SKIPPED, String.format(Locale.ROOT,
                                "one run took %.1f s: %d runs would exceed --max-seconds %.0f", probe, runs,
                                opt.maxSeconds()));
                    }
                    warmup = Math.max(0, warmup - 1);
                }
                int warm = warmup;
                Timing.Runs timed = Timing.time(scope, () -> scope.run(w.params()), warm, opt.warmupMs(),
                        opt.warmupMaxMs(), opt.iters());
                countWarmUp(timed.jitQuiet());
                Result r = Result.measured(impl, id, device, s, dt, timed.ms(), c.copyGbps(), c.gemmTflops(), peak,
                        timed.method(), sup.variant());
                rates.put(rateKey, work(s) / (r.msMedian() / 1e3));
                return r;
            }
        } catch (RuntimeException | OutOfMemoryError | LinkageError e) {
            if (outOfMemory(e)) {
                return Result.notRun(impl, id, device, s, dt, Result.SKIPPED, "does not fit: " + oneLine(e));
            }
            return Result.notRun(impl, id, device, s, dt, Result.FAILED, oneLine(e));
        }
    }

    /** An allocation the device (or the Java heap) cannot satisfy: a size limit, not a bug. */
    static boolean outOfMemory(Throwable e) {
        if (e instanceof OutOfMemoryError) {
            return true;
        }
        String m = String.valueOf(e.getMessage());
        return m.contains("OUT_OF_MEMORY") || m.contains("MEM_OBJECT_ALLOCATION_FAILURE")
                || m.contains("INVALID_BUFFER_SIZE") || m.contains("OUT_OF_RESOURCES");
    }

    /** A tiny point of the same op, timed twice, to estimate the first real point's time. */
    private void calibrate(Backend backend, Shape like, DType t, String rateKey) {
        Shape tiny = switch (like.op()) {
            case "sdpa_bwd" -> Shape.sdpa("calibration", 1, 2, 2, 256, 256, Math.min(like.headDim(), 64), false)
                    .withOp("sdpa_bwd", "calibration");
            case "additive_bwd" -> Shape.additive("calibration", 1, 1, 64, 64, 64, 64, false)
                    .withOp("additive_bwd", "calibration");
            case "sdpa" -> like.memoryBound()
                    ? Shape.sdpa("calibration", 1, 2, 2, 1, 4096, Math.min(like.headDim(), 64), false)
                    : Shape.sdpa("calibration", 1, 2, 2, 256, 256, Math.min(like.headDim(), 64), false);
            case "softmax" -> Shape.softmax("calibration", 64, 1024);
            case "gemm" -> Shape.gemm("calibration", 1, 128, 128, 128);
            case "softmax_bwd" -> Shape.softmaxBackward("calibration", 64, 1024);
            default -> Shape.additive("calibration", 1, 1, 64, 64, 64, 64, false);
        };
        try (Scope scope = backend.newScope()) {
            Workload w = Workload.create(scope, tiny, t, 7);
            if (!backend.supports(w.params()).supported()) {
                rates.put(rateKey, Double.POSITIVE_INFINITY); // the real point reports why
                return;
            }
            double[] ms = Timing.time(scope, () -> scope.run(w.params()), 1, 2).ms();
            rates.put(rateKey, work(tiny) / (Math.min(ms[0], ms[1]) / 1e3));
        }
    }

    private String overBudget() {
        double sec = (System.nanoTime() - started) / 1e9;
        if (sec > opt.totalSeconds()) {
            return String.format(Locale.ROOT, "the quick tour's %.0f s budget is spent", opt.totalSeconds());
        }
        return null;
    }

    private void runPeer(Peer p, List<Shape> shapes, List<Result> rows, Progress progress, Map<String, String> meta) {
        peerCeilings(p, meta);
        for (String dt : dtypesFor("cpu")) {
            for (Shape s : order(shapes)) {
                peerStep(p, s, dt, rows, progress);
            }
        }
    }

    /** The peer's device into the report, and the host copy ceiling, measured once for every peer. */
    private void peerCeilings(Peer p, Map<String, String> meta) {
        meta.put("Peer " + p.impl(), p.device());
        if (hostCopy == null) {
            hostCopy = Ceilings.hostCopyGbps(opt.warmup(), opt.iters(), timer);
            meta.put("Ceilings CPU peers", String.format(Locale.ROOT, "host copy %s GB/s (System.arraycopy of 64 MiB,"
                    + " median of %d); GEMM %s", Report.f(hostCopy, 1), opt.iters(),
                    Double.isNaN(cpuGemm) ? "n/a" : cpuGemmNote));
        }
    }

    private void peerStep(Peer p, Shape s, String dt, List<Result> rows, Progress progress) {
        progress.start(p.impl() + " " + dt + " " + s.op() + " " + s.label());
        rows.add(peerPoint(p, s, dt));
        progress.step();
    }

    private Double hostCopy;

    private Result peerPoint(Peer p, Shape s, String dt) {
        String why = p.unsupported(s, dt);
        if (why != null) {
            return Result.notRun(p.impl(), p.name(), p.device(), s, dt, Result.SKIPPED, why);
        }
        String budget = overBudget();
        if (budget != null) {
            return Result.notRun(p.impl(), p.name(), p.device(), s, dt, Result.SKIPPED, budget);
        }
        String rateKey = rateKey(p.impl(), s, dt);
        Double rate = rates.get(rateKey);
        if (rate != null) {
            double estimate = work(s) / rate * (opt.warmup() + opt.iters());
            if (estimate > opt.maxSeconds()) {
                return Result.notRun(p.impl(), p.name(), p.device(), s, dt, Result.SKIPPED, String.format(Locale.ROOT,
                        "estimated %.0f s for %d runs at the rate measured on smaller points; over --max-seconds %.0f",
                        estimate, opt.warmup() + opt.iters(), opt.maxSeconds()));
            }
        }
        try (Peer.Prepared call = p.prepare(s, dt, opt.seed())) {
            countWarmUp(Timer.warmUp(() -> { }, call::run, opt.warmup(), opt.warmupMs(), opt.warmupMaxMs()));
            double[] ms = timer.time(() -> { }, call::run, 0, opt.iters());
            String note = call.note().isEmpty() ? "" : call.note() + "; ";
            Result r = Result.measured(p.impl(), p.name(), p.device(), s, dt, ms, hostCopy, cpuGemm, call.bytes(),
                    timer.method(), note + "peak = the peer's input/output/temporary arrays, computed, not measured");
            rates.put(rateKey, work(s) / (r.msMedian() / 1e3));
            return r;
        } catch (RuntimeException | OutOfMemoryError | LinkageError e) {
            return Result.notRun(p.impl(), p.name(), p.device(), s, dt, Result.FAILED, oneLine(e));
        }
    }

    /** How this JVM was started, for the report: the CLI jar, or the -Ppeers build through Maven. */
    static String launcher() {
        String cmd = System.getProperty("sun.java.command", "");
        if (cmd.startsWith("org.codehaus.plexus.classworlds")) {
            return "mvn -Ppeers -Djavacpp.platform=linux-x86_64 -pl bench compile exec:java -Dexec.args=bench ";
        }
        if (cmd.startsWith("io.github.attn4j.cli.Main")) {
            return "java -cp CLASSPATH io.github.attn4j.cli.Main bench ";
        }
        return "java -jar bench/target/attn4j.jar bench ";
    }

    /** /proc/loadavg (1, 5, 15 min) against the CPU count: other work on the host skews CPU timings. */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2] + " on " + Runtime.getRuntime().availableProcessors() + " CPUs";
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }

    static String oneLine(Throwable e) {
        String m = e.getMessage();
        String s = e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
        return s.replace('\n', ' ').replace('\r', ' ');
    }
}
