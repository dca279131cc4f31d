package io.github.attn4j.bench;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One benchmark point's problem size, independent of backend and dtype.
 *
 * <ul>
 *   <li>{@code sdpa}: Q [B, H, Sq, D], K/V [B, Hkv, Sk, D|Dv].</li>
 *   <li>{@code softmax}: X [R, N] stored as [1, 1, R, N]: {@code seqQ} = rows, {@code seqK} = row width.</li>
 *   <li>{@code additive}: Qp [B, H, Sq, A], Kp [B, H, Sk, A], V [B, H, Sk, Dv], w [A], b [A].</li>
 *   <li>{@code gemm}: {@code batch} products A [M, K] . B [K, N] = C [M, N], stored as {@code seqQ} = M,
 *       {@code seqK} = N, {@code headDim} = K.</li>
 * </ul>
 *
 * @param set the shape set it came from ("flash", "decode", "serve", "softmax", "additive", "small", "custom"),
 *            used to group charts
 * @param page   sdpa: K/V in a paged cache of this many rows per page (0 = dense)
 * @param varlen sdpa: per-sequence key lengths {@link #kvLengths()} instead of Sk for every sequence
 */
public record Shape(String op, String set, int batch, int heads, int headsKv, int seqQ, int seqK, int headDim,
        int headDimV, int dimA, boolean causal, int page, boolean varlen) {

    /** A dense shape with every sequence of length Sk. */
    public Shape(String op, String set, int batch, int heads, int headsKv, int seqQ, int seqK, int headDim,
            int headDimV, int dimA, boolean causal) {
        this(op, set, batch, heads, headsKv, seqQ, seqK, headDim, headDimV, dimA, causal, 0, false);
    }

    /**
     * The key length of each sequence: Sk, or with {@code varlen} {@code Sk - Sk*b/(2B)} (from Sk
     * down towards Sk/2, the longest first, so the logical Sk is still Sk).
     */
    public int[] kvLengths() {
        int[] l = new int[batch];
        for (int b = 0; b < batch; b++) {
            l[b] = varlen ? seqK - (int) ((long) seqK * b / (2L * batch)) : seqK;
        }
        return l;
    }

    /** Total keys over the batch, {@code sum(kvLengths)}. */
    public long totalKeys() {
        long t = 0;
        for (int x : kvLengths()) {
            t += x;
        }
        return t;
    }

    /** The ops a shape may name; {@code sdpa_bwd} and {@code additive_bwd} take their forward's dims. */
    public static final java.util.List<String> OPS = java.util.List.of("sdpa", "sdpa_bwd", "softmax", "softmax_bwd",
            "additive", "additive_bwd", "gemm");

    /**
     * FLOPs of a backward point relative to its forward: 2.5, FlashAttention's convention (the
     * backward's five matmuls against the forward's two).
     */
    public static final double BACKWARD_FLOPS = 2.5;

    /** The forward op of a backward op ({@code sdpa_bwd -> sdpa}); other ops are their own base. */
    public static String base(String op) {
        return switch (op) {
            case "sdpa_bwd" -> "sdpa";
            case "additive_bwd" -> "additive";
            default -> op;
        };
    }

    /** True for the training backward points ({@code sdpa_bwd}, {@code additive_bwd}). */
    public boolean backward() {
        return op.equals("sdpa_bwd") || op.equals("additive_bwd");
    }

    /** The same dims with another op (a forward point's backward, or the reverse). */
    public Shape withOp(String newOp, String newSet) {
        return new Shape(newOp, newSet, batch, heads, headsKv, seqQ, seqK, headDim, headDimV, dimA, causal, page, varlen);
    }

    public Shape {
        if (!OPS.contains(op)) {
            throw new IllegalArgumentException("op: expected one of " + OPS + ", got '" + op + "'");
        }
        positive("batch", batch);
        positive("heads", heads);
        positive("heads_kv", headsKv);
        positive("seq_q", seqQ);
        positive("seq_k", seqK);
        if (page < 0 || (page > 0 && !op.equals("sdpa"))) {
            throw new IllegalArgumentException("page: expected 0, or >= 1 for sdpa, got " + page);
        }
        if (heads % headsKv != 0) {
            throw new IllegalArgumentException("heads_kv: expected a divisor of heads = " + heads + ", got " + headsKv);
        }
        if (base(op).equals("sdpa")) {
            positive("head_dim", headDim);
            positive("head_dim_v", headDimV);
        }
        if (op.equals("gemm")) {
            positive("k", headDim);
        }
        if (base(op).equals("additive")) {
            positive("dim_a", dimA);
            positive("head_dim_v", headDimV);
        }
    }

    private static void positive(String name, int v) {
        if (v < 1) {
            throw new IllegalArgumentException(name + ": expected >= 1, got " + v);
        }
    }

    public static Shape sdpa(String set, int b, int h, int hkv, int sq, int sk, int d, boolean causal) {
        return new Shape("sdpa", set, b, h, hkv, sq, sk, d, d, 0, causal);
    }

    public static Shape softmax(String set, int rows, int n) {
        return new Shape("softmax", set, 1, 1, 1, rows, n, 0, 0, 0, false);
    }

    /** The masked softmax backward over R rows of N: dX from Y and dY. */
    public static Shape softmaxBackward(String set, int rows, int n) {
        return new Shape("softmax_bwd", set, 1, 1, 1, rows, n, 0, 0, 0, false);
    }

    public static Shape additive(String set, int b, int h, int sq, int sk, int a, int dv, boolean causal) {
        return new Shape("additive", set, b, h, h, sq, sk, 0, dv, a, causal);
    }

    /** A batched GEMM point: {@code b} products of {@code [m, k] . [k, n]}. */
    public static Shape gemm(String set, int b, int m, int n, int k) {
        return new Shape("gemm", set, b, 1, 1, m, n, k, 0, 0, false);
    }

    /**
     * Floating-point operations of one call, the FlashAttention convention.
     * <ul>
     *   <li>sdpa: {@code 2·B·H·Sq·Sk·(D + Dv)}, i.e. {@code 4·B·H·Sq·Sk·D} for Dv = D (QKᵀ and PV, a
     *       multiply-add counted as 2); half of that for causal.</li>
     *   <li>additive: {@code B·H·Sq·Sk·(5·A + 2·Dv)}: per (i, j) pair, qp+kp, +b, tanh, ·w and the
     *       sum over a (tanh counted as one operation), then PV; half for causal.</li>
     *   <li>softmax: 0, it is reported in GB/s.</li>
     *   <li>gemm: {@code 2·B·M·N·K}.</li>
     * </ul>
     */
    public double flops() {
        double pairs = (double) heads * seqQ * (op.equals("sdpa") ? totalKeys() : (long) batch * seqK);
        if (backward()) {
            return BACKWARD_FLOPS * new Shape(base(op), set, batch, heads, headsKv, seqQ, seqK, headDim, headDimV, dimA,
                    causal, page, varlen).flops();
        }
        double f = switch (op) {
            case "sdpa" -> 2.0 * pairs * (headDim + headDimV);
            case "additive" -> pairs * (5.0 * dimA + 2.0 * headDimV);
            case "gemm" -> 2.0 * batch * seqQ * (double) seqK * headDim;
            default -> 0;
        };
        return causal ? f / 2 : f;
    }

    /**
     * The minimal device memory traffic of one call in bytes: every input read once and every output
     * written once ({@code es} = bytes per element of the data dtype).
     * <ul>
     *   <li>sdpa: Q + K + V + O.</li>
     *   <li>softmax: X read + Y written, {@code 2·R·N·es}.</li>
     *   <li>softmax_bwd: Y and dY read + dX written, {@code 3·R·N·es}.</li>
     *   <li>additive: Qp + Kp + V + w + b + C.</li>
     * </ul>
     */
    public double bytes(int es) {
        return switch (op) {
            case "sdpa_bwd" -> es * (2.0 * batch * heads * seqQ * (headDim + 2.0 * headDimV) + 2.0 * batch * headsKv * seqK
                    * (headDim + headDimV)) + 4.0 * batch * heads * seqQ;
            case "additive_bwd" -> es * (2.0 * batch * heads * seqQ * (dimA + headDimV) + 2.0 * batch * heads * seqK * (dimA
                    + headDimV) + 4.0 * dimA);
            case "sdpa" -> es * ((double) batch * heads * seqQ * headDim + (double) headsKv * totalKeys() * (headDim
                    + headDimV) + (double) batch * heads * seqQ * headDimV);
            case "gemm" -> es * (double) batch * ((double) seqQ * headDim + (double) headDim * seqK + (double) seqQ * seqK);
            case "softmax" -> 2.0 * es * batch * heads * seqQ * seqK;
            case "softmax_bwd" -> 3.0 * es * batch * heads * seqQ * seqK;
            default -> es * ((double) batch * heads * seqQ * dimA + (double) batch * heads * seqK * (dimA + headDimV)
                    + 2.0 * dimA + (double) batch * heads * seqQ * headDimV);
        };
    }

    /** True when the op is judged by bandwidth (GB/s) rather than TFLOP/s: softmax and decode. */
    public boolean memoryBound() {
        return op.startsWith("softmax") || (op.equals("sdpa") && seqQ == 1);
    }

    /** The value plotted on the x axis: S for square problems, Sk (decode), N (softmax). */
    public int xValue() {
        return seqK;
    }

    /** Elements of the largest single tensor, to check host/device limits. */
    public long largestTensorElements() {
        long q = (long) batch * heads * seqQ * Math.max(Math.max(headDim, headDimV), dimA);
        if (op.equals("gemm")) {
            return (long) batch * Math.max(Math.max((long) seqQ * headDim, (long) headDim * seqK), (long) seqQ * seqK);
        }
        long kv = (long) batch * headsKv * seqK * Math.max(Math.max(headDim, headDimV), dimA);
        long x = (long) batch * heads * seqQ * seqK;
        return op.startsWith("softmax") ? x : Math.max(q, kv);
    }

    /**
     * The canonical text of this shape; {@link ShapeSets#parse} reads it back. It keys the merge of
     * peer CSVs, so the PyTorch script writes the same text.
     */
    public String key() {
        Map<String, Object> m = new LinkedHashMap<>();
        switch (base(op)) {
            case "sdpa" -> {
                m.put("b", batch);
                m.put("h", heads);
                if (headsKv != heads) {
                    m.put("hkv", headsKv);
                }
                m.put("sq", seqQ);
                m.put("sk", seqK);
                m.put("d", headDim);
                if (headDimV != headDim) {
                    m.put("dv", headDimV);
                }
            }
            case "softmax", "softmax_bwd" -> {
                m.put("r", seqQ);
                m.put("n", seqK);
            }
            case "gemm" -> {
                m.put("b", batch);
                m.put("m", seqQ);
                m.put("n", seqK);
                m.put("k", headDim);
            }
            default -> {
                m.put("b", batch);
                m.put("h", heads);
                m.put("sq", seqQ);
                m.put("sk", seqK);
                m.put("a", dimA);
                m.put("dv", headDimV);
            }
        }
        StringBuilder s = new StringBuilder(op);
        m.forEach((k, v) -> s.append(':').append(k).append('=').append(v));
        if (causal) {
            s.append(":causal");
        }
        if (page > 0) {
            s.append(":page=").append(page);
        }
        if (varlen) {
            s.append(":varlen");
        }
        return s.toString();
    }

    /** A short human label for tables and the progress bar. */
    public String label() {
        return switch (base(op)) {
            case "sdpa" -> String.format(Locale.ROOT, "B=%d H=%d%s Sq=%d Sk=%d D=%d%s%s", batch, heads,
                    headsKv != heads ? "/" + headsKv : "", seqQ, seqK, headDim, headDimV != headDim ? " Dv=" + headDimV
                            : "", causal ? " causal" : "") + (page > 0 ? " page=" + page : "") + (varlen ? " varlen" : "");
            case "softmax", "softmax_bwd" -> String.format(Locale.ROOT, "R=%d N=%d", seqQ, seqK);
            case "gemm" -> String.format(Locale.ROOT, "B=%d M=%d N=%d K=%d", batch, seqQ, seqK, headDim);
            default -> String.format(Locale.ROOT, "B=%d H=%d Sq=%d Sk=%d A=%d Dv=%d%s", batch, heads, seqQ, seqK, dimA,
                    headDimV, causal ? " causal" : "");
        };
    }

    @Override
    public String toString() {
        return key();
    }
}
