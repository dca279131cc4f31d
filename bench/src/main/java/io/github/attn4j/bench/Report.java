package io.github.attn4j.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** The console table, the ratios against peers, and the markdown report. */
public final class Report {
    private Report() {}

    /** One ratio: how many times longer the peer took than attn4j on the same shape and dtype. */
    public record Ratio(String shape, String dtype, String attn4j, String peer, double attn4jMs, double peerMs) {
        /** {@code peerMs / attn4jMs}: above 1, attn4j is faster. */
        public double speedup() {
            return peerMs / attn4jMs;
        }
    }

    /**
     * A training step of one implementation: a backward point and the forward point of the same dims
     * and dtype, both measured in the run (attn4j times them separately: its backward point starts
     * from a stored O and LSE).
     *
     * @param shape the backward point's shape key
     */
    public record FwdBwd(String impl, String shape, String dtype, double fwdMs, double bwdMs) {
        /** Forward plus backward time, ms. */
        public double totalMs() {
            return fwdMs + bwdMs;
        }
    }

    /** The forward op of a backward op ({@code softmax_bwd -> softmax}); null for a forward op. */
    static String forwardOp(String op) {
        return switch (op) {
            case "sdpa_bwd" -> "sdpa";
            case "additive_bwd" -> "additive";
            case "softmax_bwd" -> "softmax";
            default -> null;
        };
    }

    /**
     * Every backward row that times the backward alone and has an ok forward row of the same
     * implementation, dims and dtype: the forward + backward time of a training step.
     */
    public static List<FwdBwd> fwdBwd(List<Result> rows) {
        Map<String, Result> forward = new LinkedHashMap<>();
        for (Result r : rows) {
            if (r.ok() && forwardOp(r.shape().op()) == null) {
                forward.put(r.impl() + "|" + r.shape().key() + "|" + r.dtype(), r);
            }
        }
        List<FwdBwd> out = new ArrayList<>();
        for (Result r : rows) {
            String fop = forwardOp(r.shape().op());
            if (!r.ok() || fop == null || r.forwardIncluded()) {
                continue;
            }
            Result f = forward.get(r.impl() + "|" + r.shape().withOp(fop, r.shape().set()).key() + "|" + r.dtype());
            if (f != null) {
                out.add(new FwdBwd(r.impl(), r.shape().key(), r.dtype(), f.msMedian(), r.msMedian()));
            }
        }
        return out;
    }

    /**
     * Every (attn4j implementation, peer implementation) pair that ran on the same shape and dtype.
     * Like is compared with like: where the peer's backward point also ran the forward
     * ({@link Result#forwardIncluded()}, an autograd step), the ratio is taken against attn4j's
     * forward + backward ({@link #fwdBwd}) and its shape is labelled "KEY fwd+bwd"; without attn4j's
     * forward point in the run that pair gives no ratio.
     */
    public static List<Ratio> ratios(List<Result> rows) {
        Map<String, List<Result>> byPoint = new LinkedHashMap<>();
        for (Result r : rows) {
            if (r.ok()) {
                byPoint.computeIfAbsent(r.shape().key() + "|" + r.dtype(), k -> new ArrayList<>()).add(r);
            }
        }
        Map<String, FwdBwd> steps = new LinkedHashMap<>();
        for (FwdBwd f : fwdBwd(rows)) {
            steps.put(f.impl() + "|" + f.shape() + "|" + f.dtype(), f);
        }
        List<Ratio> out = new ArrayList<>();
        for (List<Result> l : byPoint.values()) {
            for (Result a : l) {
                if (!a.impl().startsWith("attn4j")) {
                    continue;
                }
                for (Result p : l) {
                    if (p.impl().startsWith("attn4j")) {
                        continue;
                    }
                    boolean step = forwardOp(p.shape().op()) != null && p.forwardIncluded() && !a.forwardIncluded();
                    if (!step) {
                        out.add(new Ratio(a.shape().key(), a.dtype(), a.impl(), p.impl(), a.msMedian(), p.msMedian()));
                        continue;
                    }
                    FwdBwd f = steps.get(a.impl() + "|" + a.shape().key() + "|" + a.dtype());
                    if (f != null) {
                        out.add(new Ratio(a.shape().key() + " fwd+bwd", a.dtype(), a.impl(), p.impl(), f.totalMs(),
                                p.msMedian()));
                    }
                }
            }
        }
        return out;
    }

    /** The forward + backward table for the console and the report; empty when no pair ran. */
    public static String fwdBwdTable(List<FwdBwd> steps) {
        if (steps.isEmpty()) {
            return "";
        }
        StringBuilder s = new StringBuilder("forward + backward (a training step; the backward point starts from a"
                + " stored O and LSE)\n");
        String fmt = "%-52s %-5s %-16s %10s %10s %12s %8s%n";
        s.append(String.format(Locale.ROOT, fmt, "SHAPE", "DTYPE", "IMPL", "FWD MS", "BWD MS", "FWD+BWD MS", "BWD/FWD"));
        for (FwdBwd f : steps) {
            s.append(String.format(Locale.ROOT, fmt, f.shape(), f.dtype(), f.impl(), f(f.fwdMs(), 3), f(f.bwdMs(), 3),
                    f(f.totalMs(), 3), f(f.bwdMs() / f.fwdMs(), 2)));
        }
        return s.toString();
    }

    /** A fixed-width table of the rows for the console. */
    public static String table(List<Result> rows) {
        StringBuilder s = new StringBuilder();
        String fmt = "%-16s %-5s %-44s %10s %9s %9s %7s %10s  %s%n";
        s.append(String.format(Locale.ROOT, fmt, "IMPL", "DTYPE", "SHAPE", "MS", "TFLOP/s", "GB/s", "%COPY", "PEAK MiB",
                "NOTE"));
        for (Result r : rows) {
            s.append(String.format(Locale.ROOT, fmt, r.impl(), r.dtype(), r.shape().op() + " " + r.shape().label(),
                    f(r.msMedian(), 3), f(r.tflops(), 4), f(r.gbps(), 1), pct(r.fracCopy()), mib(r.peakBytes()),
                    r.ok() ? r.reason() : r.status() + ": " + r.reason()));
        }
        return s.toString();
    }

    public static String ratioTable(List<Ratio> ratios) {
        if (ratios.isEmpty()) {
            return "";
        }
        StringBuilder s = new StringBuilder("peer time / attn4j time (above 1: attn4j is faster)\n");
        String fmt = "%-52s %-5s %-16s %-28s %10s %10s %8s%n";
        s.append(String.format(Locale.ROOT, fmt, "SHAPE", "DTYPE", "ATTN4J", "PEER", "ATTN4J MS", "PEER MS", "RATIO"));
        for (Ratio r : ratios) {
            s.append(String.format(Locale.ROOT, fmt, r.shape(), r.dtype(), r.attn4j(), r.peer(), f(r.attn4jMs(), 3),
                    f(r.peerMs(), 3), f(r.speedup(), 2)));
        }
        return s.toString();
    }

    /** The markdown report: provenance, ceilings, one table per op and set, ratios, skipped points. */
    public static String markdown(List<Result> rows, Map<String, String> meta, List<String> charts) {
        StringBuilder s = new StringBuilder("# attn4j bench results\n\n");
        meta.forEach((k, v) -> s.append("- **").append(k).append("**: ").append(v).append('\n'));
        s.append("\nTFLOP/s counts 4·B·H·Sq·Sk·D for SDPA (half for causal) and B·H·Sq·Sk·(5·A + 2·Dv) for additive"
                + " attention, 2·B·M·N·K for GEMM; GB/s counts each input read once and each output written once. %copy is the achieved"
                + " GB/s over the device-to-device copy ceiling measured in the same run; %GEMM is over the GEMM"
                + " ceiling, n/a where none could be measured. Peak MiB is the device memory of the op's tensors"
                + " plus the backend's workspace. Every time is the median of the timed runs after warm-up.\n");

        s.append("\n## Devices and ceilings\n\n| impl | device | copy GB/s | GEMM TFLOP/s | timing |\n|---|---|---:|---:|---|\n");
        Set<String> seen = new LinkedHashSet<>();
        for (Result r : rows) {
            if (!r.ok()) {
                continue;
            }
            String line = "| " + r.impl() + " | " + md(r.device()) + " | " + f(r.copyGbps(), 1) + " | "
                    + (Double.isNaN(r.gemmTflops()) ? "n/a" : f(r.gemmTflops(), 3)) + " | " + r.timing() + " |\n";
            if (seen.add(line)) {
                s.append(line);
            }
        }

        Map<String, List<Result>> sections = new LinkedHashMap<>();
        for (Result r : rows) {
            sections.computeIfAbsent(r.shape().op() + " — " + r.shape().set() + " set", k -> new ArrayList<>()).add(r);
        }
        for (Map.Entry<String, List<Result>> e : sections.entrySet()) {
            s.append("\n## ").append(e.getKey()).append("\n\n");
            s.append("| shape | impl | dtype | ms | TFLOP/s | GB/s | %copy | %GEMM | peak MiB | status |\n");
            s.append("|---|---|---|---:|---:|---:|---:|---:|---:|---|\n");
            for (Result r : e.getValue()) {
                s.append("| ").append(r.shape().label()).append(" | ").append(r.impl()).append(" | ").append(r.dtype())
                        .append(" | ").append(f(r.msMedian(), 3)).append(" | ").append(f(r.tflops(), 4)).append(" | ")
                        .append(f(r.gbps(), 1)).append(" | ").append(pct(r.fracCopy())).append(" | ")
                        .append(r.ok() ? (Double.isNaN(r.fracGemm()) ? "n/a" : pct(r.fracGemm())) : "").append(" | ")
                        .append(mib(r.peakBytes())).append(" | ")
                        .append(r.ok() ? "ok" : r.status() + ": " + md(r.reason())).append(" |\n");
            }
        }
        List<FwdBwd> steps = fwdBwd(rows);
        if (!steps.isEmpty()) {
            s.append("\n## Forward + backward\n\nA training step: the backward point (which starts from a stored O"
                    + " and LSE) plus the forward point of the same dims, both timed in this run.\n\n");
            s.append("| shape | impl | dtype | fwd ms | bwd ms | fwd+bwd ms | bwd/fwd |\n|---|---|---|---:|---:|---:|---:|\n");
            for (FwdBwd f : steps) {
                s.append("| ").append(f.shape()).append(" | ").append(f.impl()).append(" | ").append(f.dtype())
                        .append(" | ").append(f(f.fwdMs(), 3)).append(" | ").append(f(f.bwdMs(), 3)).append(" | ")
                        .append(f(f.totalMs(), 3)).append(" | ").append(f(f.bwdMs() / f.fwdMs(), 2)).append(" |\n");
            }
        }
        List<Ratio> ratios = ratios(rows);
        if (!ratios.isEmpty()) {
            s.append("\n## Ratios\n\npeer time / attn4j time: above 1, attn4j is faster. A shape ending in"
                    + " \"fwd+bwd\" compares a peer's autograd step (forward and backward in one timed call) with"
                    + " attn4j's forward plus backward points.\n\n");
            s.append("| shape | dtype | attn4j | peer | attn4j ms | peer ms | ratio |\n|---|---|---|---|---:|---:|---:|\n");
            for (Ratio r : ratios) {
                s.append("| ").append(r.shape()).append(" | ").append(r.dtype()).append(" | ").append(r.attn4j())
                        .append(" | ").append(r.peer()).append(" | ").append(f(r.attn4jMs(), 3)).append(" | ")
                        .append(f(r.peerMs(), 3)).append(" | ").append(f(r.speedup(), 2)).append(" |\n");
            }
        }
        if (!charts.isEmpty()) {
            s.append("\n## Charts\n\n");
            for (String c : charts) {
                s.append("![").append(c).append("](").append(c).append(")\n\n");
            }
        }
        return s.toString();
    }

    private static String md(String v) {
        return v == null ? "" : v.replace("|", "\\|").replace("\n", " ");
    }

    static String f(double v, int digits) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "-";
        }
        double a = Math.abs(v);
        if (a != 0 && a < Math.pow(10, -digits)) {
            return String.format(Locale.ROOT, "%.2e", v);
        }
        return String.format(Locale.ROOT, "%." + digits + "f", v);
    }

    static String pct(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * v);
    }

    static String mib(long bytes) {
        return bytes < 0 ? "-" : String.format(Locale.ROOT, "%.1f", bytes / 1048576.0);
    }
}
