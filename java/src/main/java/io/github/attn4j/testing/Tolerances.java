package io.github.attn4j.testing;

import io.github.attn4j.DType;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one table of comparison thresholds, with the reason for each value.
 *
 * <h2>F32 storage: NMSE thresholds</h2>
 * NMSE = {@code sum (a-b)^2 / sum b^2} against the float64 reference computed from the very same
 * (already rounded) inputs, so input quantisation never counts.
 *
 * <table>
 * <caption>F32 NMSE thresholds</caption>
 * <tr><th>op.output</th><th>NMSE</th><th>why</th></tr>
 * <tr><td>sdpa.o</td><td>1e-8</td><td>fp32 dot products over D &le; 256 and an fp32 online softmax
 *   over up to 32768 keys give NMSE of 1e-13..1e-11 (device exp/exp2 are 1-2 ulp); a mask bug of one
 *   key in a 1000-key row changes O by about 1/1000 of |v| while |O| itself is about |v|/sqrt(1000),
 *   an NMSE near 1e-3, so 1e-8 keeps five decades on both sides.</td></tr>
 * <tr><td>sdpa.lse</td><td>1e-10</td><td>LSE = max + log(sum): one fp32 rounding of values of size
 *   |max| + log(Sk); NMSE near 1e-14. A key wrongly in or out moves LSE by about 1/Sk relative.</td></tr>
 * <tr><td>softmax.y</td><td>1e-9</td><td>each y is exp(x - max)/sum with an fp32 sum over at most
 *   ~8k terms: a few ulp, NMSE below 1e-12; anything structural (a key in or out) is above 1e-4.</td></tr>
 * <tr><td>softmax_backward.dx</td><td>1e-8</td><td>dY - rowsum(dY*Y) cancels; with |dY| ~ 1 the fp32
 *   rowsum error is ~1e-7 absolute, relative to dX ~ |Y| that is an NMSE of at most ~1e-10.</td></tr>
 * <tr><td>additive.out</td><td>1e-8</td><td>as sdpa.o, plus fp32 tanh (1-2 ulp) in A &le; 256 terms
 *   and, for raw inputs, an fp32 projection GEMM over Dq, Dk &le; 128.</td></tr>
 * <tr><td>additive.weights</td><td>1e-8</td><td>the softmax of the same scores, one fp32 division.</td></tr>
 * <tr><td>rope.out</td><td>1e-8</td><td>the device forms the angle (offset + s) * theta^(-2i/D) in fp32, as Hugging
 *   Face does: at positions below ~1000 its error is below 1e-4 rad, an NMSE below ~1e-9; a wrong position or
 *   frequency moves the angle by whole radians (NMSE ~1).</td></tr>
 * <tr><td>gemm.c</td><td>1e-9</td><td>fp32 dot products of K &le; 1024 random terms: relative error of a
 *   few 1e-7, NMSE near 1e-13; a wrong or missing term of K = 1000 is ~1/K of |C|^2, NMSE ~1e-3.</td></tr>
 * <tr><td>sdpa_backward.dq, .dk, .dv, .dbias</td><td>1e-6</td><td>P is recomputed in fp32 as
 *   exp(s - LSE) from the forward's fp32 LSE: with logits of ~1e4 (the LARGE cases) one ulp of LSE is
 *   ~1e-3, a relative error of P that gave NMSE 1.4e-7 in dQ; other cases measure below 1e-10. A key
 *   wrongly in or out changes a gradient row by ~1/Sk of its size (NMSE ~1e-3 at Sk = 1000).</td></tr>
 * <tr><td>merge.o</td><td>1e-9</td><td>at most 8 fp32 exp weights (1-2 ulp) and products per element:
 *   NMSE near 1e-13; a part dropped or counted twice moves O by a sizeable fraction, NMSE above 1e-3.</td></tr>
 * <tr><td>kv_append.k_cache, kv_append.v_cache</td><td>0</td><td>a copy of stored bits: exact in
 *   every dtype (F16/BF16 compare against the same exact values).</td></tr>
 * <tr><td>merge.lse</td><td>1e-10</td><td>one fp32 rounding of m + log(sum of at most 8 weights).</td></tr>
 * <tr><td>additive_backward.dv</td><td>1e-8</td><td>P^T dC with P recomputed from an fp32 LSE.</td></tr>
 * <tr><td>additive_backward.dq, dk, dw, db, dwq, dwk</td><td>1e-7</td><td>dE = P (dP - delta) cancels
 *   (sum_j dE = 0 per row), so relative errors grow by the cancellation; fp32 tanh, LSE and delta give
 *   NMSE near 1e-10; one key wrongly in or out is about 1e-3.</td></tr>
 * </table>
 *
 * <h2>F16 and BF16 storage: the FlashAttention rule</h2>
 * Following flash-attention's {@code tests/test_flash_attn.py}: the kernel's error against the
 * float64 reference may be at most twice the error of a naive implementation in the same
 * precision ({@link LowPrecisionNaive}: unfused steps, each result rounded to the storage dtype as
 * a framework would store it, accumulation in fp32 or better). Concretely both must hold:
 * <ul>
 *   <li>{@code maxAbs(kernel) <= 2 * maxAbs(naive) + u * max|ref|}</li>
 *   <li>{@code nmse(kernel) <= 4 * nmse(naive) + u^2} (twice the error is four times its square)</li>
 * </ul>
 * with {@code u} the unit roundoff of the storage dtype ({@link #unitRoundoff(DType)}: 2^-11 for
 * F16, 2^-8 for BF16). The floor is one rounding of the largest output: tiny outputs (one row,
 * Dv = 16) can give a naive error that happens to be smaller than the kernel's own final rounding.
 * Outputs that are F32 whatever the storage dtype (LSE) keep their F32 threshold: the kernel
 * computes them in fp32 from the same inputs.
 */
public final class Tolerances {
    private Tolerances() {}

    /** One row of the table. */
    public record Row(String key, double nmseF32, String reason) {}

    private static final Map<String, Row> TABLE = new LinkedHashMap<>();

    private static void row(String key, double nmse, String reason) {
        TABLE.put(key, new Row(key, nmse, reason));
    }

    static {
        row("sdpa.o", 1e-8, "fp32 dots and online softmax give 1e-13..1e-11; one wrong key in 1000 gives ~1e-3");
        row("sdpa.lse", 1e-10, "one fp32 rounding of max + log(sum): ~1e-14");
        row("softmax.y", 1e-9, "a few ulp per element: < 1e-12");
        row("softmax_backward.dx", 1e-8, "cancellation in dY - rowsum(dY*Y): < 1e-10");
        row("additive.out", 1e-8, "as sdpa.o plus fp32 tanh and the projection GEMM");
        row("additive.weights", 1e-8, "the softmax of the same scores");
        row("sdpa_backward.dq", 1e-6, "P = exp(s - LSE) from the fp32 LSE input: with |s| ~ 1e4 its ulp (~1e-3) "
                + "is a relative error of P; measured 1.4e-7 there, < 1e-10 otherwise; a wrong key ~1e-3");
        row("sdpa_backward.dk", 1e-6, "as dq, summed over the rows and the query heads of a kv head");
        row("sdpa_backward.dv", 1e-6, "P^T dO with P recomputed from the fp32 LSE, as dq");
        row("sdpa_backward.dbias", 1e-6, "dS itself, summed over the broadcast dims in a fixed order");
        row("merge.o", 1e-9, "at most 8 fp32 exp weights and products per element: ~1e-13");
        row("merge.lse", 1e-10, "one fp32 rounding of m + log(sum): ~1e-14");
        row("kv_append.k_cache", 0, "a copy of stored bits: exact");
        row("kv_append.v_cache", 0, "a copy of stored bits: exact");
        row("additive_backward.dv", 1e-8, "P^T dC: the forward's softmax (recomputed from an fp32 lse) and fp32 sums");
        row("additive_backward.dq", 1e-7, "P (dP - delta) cancels; fp32 tanh, lse and delta: ~1e-10; one key wrong ~1e-3");
        row("additive_backward.dk", 1e-7, "as dq, summed over the rows instead of the keys");
        row("additive_backward.dw", 1e-7, "dE t summed over B*H*Sq*Sk terms that cancel (sum_j dE = 0 per row)");
        row("additive_backward.db", 1e-7, "the sum of dQp over every row");
        row("additive_backward.dwq", 1e-7, "dQp^T q in fp32 over B*H*Sq rows");
        row("additive_backward.dwk", 1e-7, "dKp^T k in fp32 over B*H*Sk rows");
        row("rope.out", 1e-8, "fp32 angles (as HF) at positions < ~1000: < 1e-9; a wrong position gives ~1");
        row("gemm.c", 1e-9, "fp32 dots over K <= 1024: ~1e-13; one wrong term in 1000 gives ~1e-3");
    }

    /** Every row, in table order. */
    public static Iterable<Row> table() {
        return TABLE.values();
    }

    /** The F32 NMSE threshold of {@code op.output}, e.g. {@code "sdpa.o"}. */
    public static double nmseF32(String op, String output) {
        Row r = TABLE.get(op + "." + output);
        if (r == null) {
            throw new IllegalArgumentException("tolerance: expected one of " + TABLE.keySet() + ", got " + op + "." + output);
        }
        return r.nmseF32();
    }

    /** Unit roundoff of a storage dtype: 2^-24 (F32), 2^-11 (F16), 2^-8 (BF16). */
    public static double unitRoundoff(DType t) {
        return switch (t) {
            case F16 -> 0x1p-11;
            case BF16 -> 0x1p-8;
            default -> 0x1p-24;
        };
    }

    /** The factor on the naive error's max abs (2) and on its NMSE (2^2). */
    public static final double HALF_ERROR_FACTOR = 2.0;
}
