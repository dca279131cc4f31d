package io.github.attn4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Additive (Bahdanau) attention, fused:
 * {@code e_ij = sum_a w[a] * tanh(Qp[i,a] + Kp[j,a] + b[a]) + bias[i,j] - slope * |i + off - j|},
 * masked pairs {@code -inf}, {@code C[i,:] = sum_j softmax_j(e)[i,j] * V[j,:]}. No {@code [Sq, Sk, A]}
 * tensor exists at any point.
 *
 * <p>Inputs are either pre-projected, {@code q = Qp [B, H, Sq, A]} and {@code k = Kp [B, H, Sk, A]},
 * or raw with weights: {@code q [B, H, Sq, Dq]} with {@code wq [A, Dq]} and {@code k [B, H, Sk, Dk]}
 * with {@code wk [A, Dk]}, where {@code Qp = q . wq^T} and {@code Kp = k . wk^T}. V is
 * {@code [B, H, Sk, Dv]}, {@code w} and the optional {@code b} are {@code [A]}, the output C is
 * {@code [B, H, Sq, Dv]}, and the optional {@code weights} output is {@code [B, H, Sq, Sk]}. A fully
 * masked row gives zeros in C and in the weights. Every float tensor shares one dtype.
 */
public record AdditiveParams(Tensor q, Tensor k, Tensor v, Tensor w, Tensor b, Tensor wq, Tensor wk, Tensor out,
        Tensor weights, Masks masks) implements OpParams {

    /** A builder for the required tensors: {@code q}, {@code k} (pre-projected, or raw with {@link Builder#projections}), {@code v}, the score vector {@code w [A]} and the output {@code out [B, H, Sq, Dv]}. */
    public static Builder builder(Tensor q, Tensor k, Tensor v, Tensor w, Tensor out) {
        return new Builder(q, k, v, w, out);
    }

    @Override
    public <R> R accept(OpVisitor<R> v) {
        return v.additive(this);
    }

    @Override
    public String op() {
        return "additive";
    }

    /** True when {@code q} and {@code k} are raw inputs with projection weights. */
    public boolean raw() {
        return wq != null;
    }

    /** The batch size B. */
    public int batch() {
        return q.dim(0);
    }

    /** The number of heads H. */
    public int heads() {
        return q.dim(1);
    }

    /** The query length Sq. */
    public int seqQ() {
        return q.dim(2);
    }

    /** The key length Sk. */
    public int seqK() {
        return k.dim(2);
    }

    /** The attention dim A. */
    public int dimA() {
        return w.dim(0);
    }

    /** The value head dim Dv (the width of each output row). */
    public int headDimV() {
        return v.dim(3);
    }

    @Override
    public DType dtype() {
        return v.dtype();
    }

    @Override
    public List<Tensor> inputs() {
        List<Tensor> l = new ArrayList<>(List.of(q, k, v, w));
        for (Tensor t : new Tensor[] {b, wq, wk}) {
            if (t != null) {
                l.add(t);
            }
        }
        l.addAll(masks.tensors());
        return l;
    }

    @Override
    public List<Tensor> outputs() {
        return weights == null ? List.of(out) : List.of(out, weights);
    }

    @Override
    public AdditiveParams mapTensors(UnaryOperator<Tensor> f) {
        return new AdditiveParams(f.apply(q), f.apply(k), f.apply(v), f.apply(w), b == null ? null : f.apply(b),
                wq == null ? null : f.apply(wq), wk == null ? null : f.apply(wk), f.apply(out),
                weights == null ? null : f.apply(weights), masks.map(f));
    }

    /** The same call on already projected inputs {@code qp}, {@code kp} (used after the GEMMs). */
    public AdditiveParams withProjected(Tensor qp, Tensor kp) {
        return new AdditiveParams(qp, kp, v, w, b, null, null, out, weights, masks);
    }

    /**
     * The checks of the forward's inputs, shared with {@link AdditiveBackwardParams}: ranks, one float
     * dtype, the dims of q, k, v, w, the optional b and the optional projection weights.
     */
    static void checkInputs(Tensor q, Tensor k, Tensor v, Tensor w, Tensor b, Tensor wq, Tensor wk) {
        OpParams.rank("q", q, 4);
        OpParams.rank("k", k, 4);
        OpParams.rank("v", v, 4);
        OpParams.rank("w", w, 1);
        DType dt = v.dtype();
        Check.arg(dt.isFloat(), "v.dtype", "F32, F16 or BF16", dt);
        OpParams.dtype("q", q, dt);
        OpParams.dtype("k", k, dt);
        OpParams.dtype("w", w, dt);
        int bt = q.dim(0), h = q.dim(1), sk = k.dim(2), a = w.dim(0);
        for (Tensor t : new Tensor[] {q, k, v}) {
            for (int i = 0; i < 4; i++) {
                Check.arg(t.dim(i) >= 1, (t == q ? "q" : t == k ? "k" : "v") + ".shape[" + i + "]", ">= 1",
                        t.dim(i));
            }
        }
        Check.arg(a >= 1, "w.shape[0] (A)", ">= 1", a);
        Check.arg(a == 1 || w.stride(0) == 1, "w.strides", "[1] (a contiguous vector)", Arrays.toString(w.strides()));
        OpParams.dim("k", k, 0, "B", bt);
        OpParams.dim("k", k, 1, "H", h);
        OpParams.dim("v", v, 0, "B", bt);
        OpParams.dim("v", v, 1, "H", h);
        OpParams.dim("v", v, 2, "Sk", sk);
        Check.arg((wq == null) == (wk == null), "wq/wk", "both projection weights or neither",
                (wq == null ? "no wq" : "wq") + " and " + (wk == null ? "no wk" : "wk"));
        if (wq != null) {
            OpParams.rank("wq", wq, 2);
            OpParams.rank("wk", wk, 2);
            OpParams.dtype("wq", wq, dt);
            OpParams.dtype("wk", wk, dt);
            OpParams.dim("wq", wq, 0, "A", a);
            OpParams.dim("wq", wq, 1, "Dq", q.dim(3));
            OpParams.dim("wk", wk, 0, "A", a);
            OpParams.dim("wk", wk, 1, "Dk", k.dim(3));
        } else {
            OpParams.dim("q", q, 3, "A", a);
            OpParams.dim("k", k, 3, "A", a);
        }
        if (b != null) {
            OpParams.rank("b", b, 1);
            OpParams.dtype("b", b, dt);
            OpParams.dim("b", b, 0, "A", a);
            Check.arg(a == 1 || b.stride(0) == 1, "b.strides", "[1] (a contiguous vector)",
                    Arrays.toString(b.strides()));
        }
    }

    /** Builder that validates every argument in {@link #build()}. */
    public static final class Builder {
        private final Tensor q, k, v, w, out;
        private Tensor b, wq, wk, weights;
        private Masks masks = Masks.NONE;

        Builder(Tensor q, Tensor k, Tensor v, Tensor w, Tensor out) {
            this.q = q;
            this.k = k;
            this.v = v;
            this.w = w;
            this.out = out;
        }

        /**
         * The bias vector {@code b [A]} added inside the tanh: {@code tanh(Qp[i,a] + Kp[j,a] + b[a])}. It is
         * not the score bias {@code [B|1, H|1, Sq, Sk]} added after the tanh sum, which is
         * {@link Masks.Builder#bias(Tensor)} (through {@link #masks(Masks)}).
         */
        public Builder tanhBias(Tensor b) {
            this.b = b;
            return this;
        }

        /**
         * The old name of {@link #tanhBias(Tensor)}, which it calls. It read as the score bias of
         * {@link Masks.Builder#bias(Tensor)}; use {@code tanhBias} for the vector {@code b [A]} inside the
         * tanh and {@code masks(Masks.builder().bias(..).build())} for a bias added to the scores.
         *
         * @deprecated use {@link #tanhBias(Tensor)}
         */
        @Deprecated(forRemoval = false)
        public Builder bias(Tensor b) {
            return tanhBias(b);
        }

        /** Treat {@code q}, {@code k} as raw inputs projected by {@code wq [A, Dq]}, {@code wk [A, Dk]}. */
        public Builder projections(Tensor wq, Tensor wk) {
            this.wq = wq;
            this.wk = wk;
            return this;
        }

        /** Also write the attention weights {@code [B, H, Sq, Sk]}. */
        public Builder weights(Tensor weights) {
            this.weights = weights;
            return this;
        }

        /** The mask options ({@code null} = none); replaces earlier ones, including {@link #causal()}. */
        public Builder masks(Masks masks) {
            this.masks = masks == null ? Masks.NONE : masks;
            return this;
        }

        /** Adds causal masking (the window {@code (-1, 0)}), keeping the other mask options. */
        public Builder causal() {
            this.masks = masks.toBuilder().causal().build();
            return this;
        }

        /**
         * Checks every shape, dtype, stride and mask against the others.
         *
         * @throws IllegalArgumentException naming the argument, the expected and the actual value
         */
        public AdditiveParams build() {
            checkInputs(q, k, v, w, b, wq, wk);
            OpParams.rank("out", out, 4);
            DType dt = v.dtype();
            OpParams.dtype("out", out, dt);
            int bt = q.dim(0), h = q.dim(1), sq = q.dim(2), sk = k.dim(2), dv = v.dim(3);
            Check.arg(Arrays.equals(out.shape(), new int[] {bt, h, sq, dv}), "out.shape",
                    Arrays.toString(new int[] {bt, h, sq, dv}), Arrays.toString(out.shape()));
            if (weights != null) {
                OpParams.rank("weights", weights, 4);
                OpParams.dtype("weights", weights, dt);
                Check.arg(Arrays.equals(weights.shape(), new int[] {bt, h, sq, sk}), "weights.shape",
                        Arrays.toString(new int[] {bt, h, sq, sk}), Arrays.toString(weights.shape()));
            }
            Masks m = masks.validated(bt, h, sq, sk);
            OpParams.checkNoOverlap(List.of("out", "weights"), Arrays.asList(out, weights),
                    List.of("q", "k", "v", "w", "b", "wq", "wk", "mask", "bias", "alibi"),
                    Arrays.asList(q, k, v, w, b, wq, wk, m.boolMask(), m.bias(), m.alibiSlopes()), null, null);
            return new AdditiveParams(q, k, v, w, b, wq, wk, out, weights, m);
        }
    }
}
