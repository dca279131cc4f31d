package io.github.attn4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Scaled dot-product attention:
 * {@code O[b,h,i,:] = sum_j softmax_j(s_ij) V[b, h/(Hq/Hkv), j, :]} with, in this order,
 * <ol>
 *   <li>{@code s = scale * (q_i . k_j)}, default scale {@code 1/sqrt(D)};
 *   <li>if {@code softcap > 0}: {@code s = softcap * tanh(s / softcap)};
 *   <li>{@code s += bias[b,h,i,j] - slope[b,h] * |i + off - j|};
 *   <li>masked pairs ({@link Masks}) become {@code -inf}.
 * </ol>
 * Shapes: Q {@code [B, Hq, Sq, D]}, K {@code [B, Hkv, Sk, D]}, V {@code [B, Hkv, Sk, Dv]},
 * O {@code [B, Hq, Sq, Dv]}, optional LSE (F32) {@code [B, Hq, Sq]}: the natural log of
 * {@code sum_j exp(s_ij)}. A fully masked row gives O = 0 and LSE = -inf, never NaN; a NaN in an
 * input reaches every output that reads it. Q, K, V and O share one float dtype.
 *
 * <p><b>Sinks</b> ({@link Builder#sinks}): an F32 logit {@code sinks[h]} per query head adds
 * {@code exp(sinks[h])} to every row's softmax denominator without a value row; the LSE includes
 * it, and a fully masked row gives O = 0 and LSE = {@code sinks[h]} (a dead row, {@code i >=
 * qLengths[b]}, still gives LSE = -inf).
 *
 * <p><b>Paged KV</b> ({@link #builder(Tensor, PagedKv, Tensor)}): K and V are read through a
 * block table ({@link PagedKv}); the logical key count is {@code Sk = max(kvLengths)}, the
 * lengths act as {@code Masks.kvLengths}, and with {@code BOTTOM_RIGHT} alignment each sequence is
 * aligned to its own length ({@code off_b = kvLengths[b] - Sq}), so a batch of decode rows or of
 * prefill chunks sees the causal/window bounds of each sequence. Then {@link #k()} and {@link #v()}
 * are the caches viewed as {@code [numPages, Hkv, pageSize, D]}.
 *
 * @param q       queries {@code [B, Hq, Sq, D]}
 * @param k       keys {@code [B, Hkv, Sk, D]}, or the K cache as {@code [numPages, Hkv, pageSize, D]} when paged
 * @param v       values {@code [B, Hkv, Sk, Dv]}, or the V cache as {@code [numPages, Hkv, pageSize, Dv]} when paged
 * @param o       output {@code [B, Hq, Sq, Dv]}
 * @param lse     optional log-sum-exp output F32 {@code [B, Hq, Sq]}, or null
 * @param masks   the masks (with the paged lengths as kvLengths)
 * @param scale   the score scale
 * @param softcap the softcap, 0 = none
 * @param sinks   optional per-head sink logits F32 {@code [Hq]}, or null
 * @param paged   the paged cache, or null for dense K/V
 */
public record SdpaParams(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Masks masks, float scale,
        float softcap, Tensor sinks, PagedKv paged) implements OpParams {

    /** Dense K and V, no sinks (the form before sinks and paged caches existed). */
    public SdpaParams(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Masks masks, float scale, float softcap) {
        this(q, k, v, o, lse, masks, scale, softcap, null, null);
    }

    /** A builder for Q {@code [B, Hq, Sq, D]}, dense K {@code [B, Hkv, Sk, D]}, V {@code [B, Hkv, Sk, Dv]} and the output O {@code [B, Hq, Sq, Dv]}. */
    public static Builder builder(Tensor q, Tensor k, Tensor v, Tensor o) {
        return new Builder(q, k, v, o, null);
    }

    /** A builder for K and V in a paged cache (see {@link PagedKv}); the lengths come from {@code kv}. */
    public static Builder builder(Tensor q, PagedKv kv, Tensor o) {
        return new Builder(q, null, null, o, kv);
    }

    /** True when K and V are read through a block table. */
    public boolean isPaged() {
        return paged != null;
    }

    /** The block table when paged, else null. */
    public Tensor blockTable() {
        return paged == null ? null : paged.blockTable();
    }

    /** Element {@code x} of key {@code j} of (batch b, kv head hk), dense or paged (host tensors). */
    public float key(int b, int hk, int j, int x) {
        return paged == null ? k.get(b, hk, j, x) : k.get(paged.page(b, j), hk, j % paged.pageSize(), x);
    }

    /** Element {@code x} of value {@code j} of (batch b, kv head hk), dense or paged (host tensors). */
    public float value(int b, int hk, int j, int x) {
        return paged == null ? v.get(b, hk, j, x) : v.get(paged.page(b, j), hk, j % paged.pageSize(), x);
    }

    /**
     * The key count that the alignment offset of batch {@code b} uses: {@code Sk}, or the
     * sequence's own length when paged.
     */
    public int alignSeqK(int b) {
        return paged == null ? seqK() : masks.kvLengths()[b];
    }

    @Override
    public <R> R accept(OpVisitor<R> v) {
        return v.sdpa(this);
    }

    @Override
    public String op() {
        return "sdpa";
    }

    /** The batch size B. */
    public int batch() {
        return q.dim(0);
    }

    /** The number of query heads Hq. */
    public int headsQ() {
        return q.dim(1);
    }

    /** The number of key/value heads Hkv (a divisor of Hq). */
    public int headsKv() {
        return k.dim(1);
    }

    /** {@code Hq / Hkv}: query heads per kv head. */
    public int group() {
        return q.dim(1) / k.dim(1);
    }

    /** The query length Sq. */
    public int seqQ() {
        return q.dim(2);
    }

    /** The key length Sk. */
    public int seqK() {
        return paged == null ? k.dim(2) : paged.seqK();
    }

    /** The head dim D of Q and K. */
    public int headDim() {
        return q.dim(3);
    }

    /** The head dim Dv of V and O. */
    public int headDimV() {
        return v.dim(3);
    }

    @Override
    public DType dtype() {
        return q.dtype();
    }

    /** True when a softcap is applied. */
    public boolean hasSoftcap() {
        return softcap > 0;
    }

    @Override
    public List<Tensor> inputs() {
        List<Tensor> l = new ArrayList<>(List.of(q, k, v));
        l.addAll(masks.tensors());
        if (sinks != null) {
            l.add(sinks);
        }
        if (paged != null) {
            l.add(paged.blockTable());
        }
        return l;
    }

    @Override
    public List<Tensor> outputs() {
        return lse == null ? List.of(o) : List.of(o, lse);
    }

    @Override
    public SdpaParams mapTensors(UnaryOperator<Tensor> f) {
        return new SdpaParams(f.apply(q), f.apply(k), f.apply(v), f.apply(o), lse == null ? null : f.apply(lse),
                masks.map(f), scale, softcap, sinks == null ? null : f.apply(sinks),
                paged == null ? null : paged.map(f));
    }

    /** Builder that validates every argument in {@link #build()}. */
    public static final class Builder {
        private final Tensor q, o;
        private Tensor k, v;
        private final PagedKv paged;
        private Tensor lse, sinks;
        private Masks masks = Masks.NONE;
        private Float scale;
        private float softcap;

        Builder(Tensor q, Tensor k, Tensor v, Tensor o, PagedKv paged) {
            this.q = q;
            this.k = k;
            this.v = v;
            this.o = o;
            this.paged = paged;
        }

        /**
         * Per-head sink logits, F32 {@code [Hq]}: each adds {@code exp(sinks[h])} to the softmax
         * denominator of every row of head h, without a value row.
         */
        public Builder sinks(Tensor sinks) {
            this.sinks = sinks;
            return this;
        }

        /** Also write the log-sum-exp, F32 {@code [B, Hq, Sq]}. */
        public Builder lse(Tensor lse) {
            this.lse = lse;
            return this;
        }

        /** The mask options ({@code null} = none); replaces earlier ones, including {@link #causal()}. */
        public Builder masks(Masks masks) {
            this.masks = masks == null ? Masks.NONE : masks;
            return this;
        }

        /** Shorthand for {@code masks(Masks.causal())} keeping the other mask options. */
        public Builder causal() {
            this.masks = masks.toBuilder().causal().build();
            return this;
        }

        /** The factor applied to {@code q . k}; default {@code 1/sqrt(D)}. */
        public Builder scale(float scale) {
            this.scale = scale;
            return this;
        }

        /** {@code c > 0} applies {@code c * tanh(s / c)}; 0 disables. */
        public Builder softcap(float softcap) {
            this.softcap = softcap;
            return this;
        }

        /**
         * Checks every shape, dtype, stride and mask against the others.
         *
         * @throws IllegalArgumentException naming the argument, the expected and the actual value
         */
        public SdpaParams build() {
            Check.notNull("q", q);
            Check.notNull("o", o);
            Masks base = masks;
            if (paged != null) {
                validatePaged();
                int[] lens = paged.kvLengths();
                Check.arg(base.kvLengths() == null || Arrays.equals(base.kvLengths(), lens), "masks.kvLengths",
                        "absent or equal to the paged kvLengths " + Arrays.toString(lens),
                        Arrays.toString(base.kvLengths()));
                base = base.toBuilder().kvLengths(lens).build();
                k = PagedKv.headMajor(paged.kCache());
                v = PagedKv.headMajor(paged.vCache());
            } else {
                Check.notNull("k", k);
                Check.notNull("v", v);
            }
            OpParams.rank("q", q, 4);
            OpParams.rank("k", k, 4);
            OpParams.rank("v", v, 4);
            OpParams.rank("o", o, 4);
            DType dt = q.dtype();
            Check.arg(dt.isFloat(), "q.dtype", "F32, F16 or BF16", dt);
            OpParams.dtype("k", k, dt);
            OpParams.dtype("v", v, dt);
            OpParams.dtype("o", o, dt);
            int b = q.dim(0), hq = q.dim(1), sq = q.dim(2), d = q.dim(3);
            int hkv = k.dim(1), sk = paged != null ? paged.seqK() : k.dim(2), dv = v.dim(3);
            for (Tensor t : paged != null ? new Tensor[] {q} : new Tensor[] {q, k, v}) {
                for (int i = 0; i < 4; i++) {
                    Check.arg(t.dim(i) >= 1, (t == q ? "q" : t == k ? "k" : "v") + ".shape[" + i + "]", ">= 1",
                            t.dim(i));
                }
            }
            if (paged == null) {
                OpParams.dim("k", k, 0, "B", b);
                OpParams.dim("k", k, 3, "D", d);
                OpParams.dim("v", v, 0, "B", b);
                OpParams.dim("v", v, 1, "Hkv", hkv);
                OpParams.dim("v", v, 2, "Sk", sk);
            } else {
                OpParams.dim("kCache", paged.kCache(), 3, "D", d);
                Check.arg(paged.blockTable().dim(0) == b, "blockTable.shape[0]", "B = " + b,
                        paged.blockTable().dim(0));
                Check.arg(sk >= 1, "kvLengths", "at least one length >= 1", Arrays.toString(paged.kvLengths()));
            }
            Check.arg(hq % hkv == 0, "k.shape[1] (Hkv)", "a divisor of Hq = " + hq, hkv);
            Check.arg(Arrays.equals(o.shape(), new int[] {b, hq, sq, dv}), "o.shape",
                    Arrays.toString(new int[] {b, hq, sq, dv}), Arrays.toString(o.shape()));
            if (lse != null) {
                OpParams.rank("lse", lse, 3);
                OpParams.dtype("lse", lse, DType.F32);
                Check.arg(Arrays.equals(lse.shape(), new int[] {b, hq, sq}), "lse.shape",
                        Arrays.toString(new int[] {b, hq, sq}), Arrays.toString(lse.shape()));
            }
            float sc = scale != null ? scale : (float) (1.0 / Math.sqrt(d));
            OpParams.finite("scale", sc);
            Check.arg(Float.isFinite(softcap) && softcap >= 0, "softcap", "a finite number >= 0", softcap);
            if (sinks != null) {
                OpParams.rank("sinks", sinks, 1);
                OpParams.dtype("sinks", sinks, DType.F32);
                OpParams.dim("sinks", sinks, 0, "Hq", hq);
            }
            Masks m = base.validated(b, hq, sq, sk);
            OpParams.checkNoOverlap(List.of("o", "lse"), Arrays.asList(o, lse), List.of("q", "k", "v", "mask", "bias",
                    "alibi", "sinks", "blockTable"), Arrays.asList(q, k, v, m.boolMask(), m.bias(), m.alibiSlopes(),
                    sinks, paged == null ? null : paged.blockTable()), null, null);
            return new SdpaParams(q, k, v, o, lse, m, sc, softcap, sinks, paged);
        }

        /** The cache shapes, the table and the lengths; host table entries that are read. */
        private void validatePaged() {
            Tensor kc = Check.notNull("kCache", paged.kCache());
            Tensor vc = Check.notNull("vCache", paged.vCache());
            Tensor bt = Check.notNull("blockTable", paged.blockTable());
            int[] lens = Check.notNull("kvLengths", paged.kvLengths());
            OpParams.rank("kCache", kc, 4);
            OpParams.rank("vCache", vc, 4);
            OpParams.rank("blockTable", bt, 2);
            OpParams.dtype("blockTable", bt, DType.I32);
            for (int i = 0; i < 4; i++) {
                Check.arg(kc.dim(i) >= 1, "kCache.shape[" + i + "]", ">= 1", kc.dim(i));
                Check.arg(vc.dim(i) >= 1, "vCache.shape[" + i + "]", ">= 1", vc.dim(i));
            }
            Check.arg(bt.dim(1) >= 1, "blockTable.shape[1]", ">= 1", bt.dim(1));
            OpParams.dim("vCache", vc, 0, "numPages", kc.dim(0));
            OpParams.dim("vCache", vc, 1, "pageSize", kc.dim(1));
            OpParams.dim("vCache", vc, 2, "Hkv", kc.dim(2));
            Check.arg(lens.length == bt.dim(0), "kvLengths.length", "B = " + bt.dim(0) + " (blockTable.shape[0])",
                    lens.length);
            long cap = (long) bt.dim(1) * kc.dim(1);
            for (int b = 0; b < lens.length; b++) {
                Check.arg(lens[b] >= 0 && lens[b] <= cap, "kvLengths[" + b + "]", "in [0, " + cap
                        + "] (maxPagesPerSeq " + bt.dim(1) + " * pageSize " + kc.dim(1) + ")", lens[b]);
            }
            if (bt.memory().isHost()) {
                int ps = kc.dim(1), np = kc.dim(0);
                for (int b = 0; b < lens.length; b++) {
                    for (int e = 0; e < (lens[b] + ps - 1) / ps; e++) {
                        int pg = (int) bt.get(b, e);
                        Check.arg(pg >= 0 && pg < np, "blockTable[" + b + ", " + e + "]", "a page in [0, " + np + ")",
                                pg);
                    }
                }
            }
        }
    }
}
