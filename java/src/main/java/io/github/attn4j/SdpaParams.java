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
 */
public record SdpaParams(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Masks masks, float scale,
        float softcap) implements OpParams {

    /** A builder for Q {@code [B, Hq, Sq, D]}, K {@code [B, Hkv, Sk, D]}, V {@code [B, Hkv, Sk, Dv]} and the output O {@code [B, Hq, Sq, Dv]}. */
    public static Builder builder(Tensor q, Tensor k, Tensor v, Tensor o) {
        return new Builder(q, k, v, o);
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
        return k.dim(2);
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
        return l;
    }

    @Override
    public List<Tensor> outputs() {
        return lse == null ? List.of(o) : List.of(o, lse);
    }

    @Override
    public SdpaParams mapTensors(UnaryOperator<Tensor> f) {
        return new SdpaParams(f.apply(q), f.apply(k), f.apply(v), f.apply(o), lse == null ? null : f.apply(lse),
                masks.map(f), scale, softcap);
    }

    /** Builder that validates every argument in {@link #build()}. */
    public static final class Builder {
        private final Tensor q, k, v, o;
        private Tensor lse;
        private Masks masks = Masks.NONE;
        private Float scale;
        private float softcap;

        Builder(Tensor q, Tensor k, Tensor v, Tensor o) {
            this.q = q;
            this.k = k;
            this.v = v;
            this.o = o;
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
            int hkv = k.dim(1), sk = k.dim(2), dv = v.dim(3);
            for (Tensor t : new Tensor[] {q, k, v}) {
                for (int i = 0; i < 4; i++) {
                    Check.arg(t.dim(i) >= 1, (t == q ? "q" : t == k ? "k" : "v") + ".shape[" + i + "]", ">= 1",
                            t.dim(i));
                }
            }
            OpParams.dim("k", k, 0, "B", b);
            OpParams.dim("k", k, 3, "D", d);
            OpParams.dim("v", v, 0, "B", b);
            OpParams.dim("v", v, 1, "Hkv", hkv);
            OpParams.dim("v", v, 2, "Sk", sk);
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
            Masks m = masks.validated(b, hq, sq, sk);
            OpParams.checkNoOverlap(List.of("o", "lse"), Arrays.asList(o, lse), List.of("q", "k", "v", "mask", "bias",
                    "alibi"), Arrays.asList(q, k, v, m.boolMask(), m.bias(), m.alibiSlopes()), null, null);
            return new SdpaParams(q, k, v, o, lse, m, sc, softcap);
        }
    }
}
