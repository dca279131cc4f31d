package io.github.attn4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Backward of fused additive (Bahdanau) attention ({@link AdditiveParams}): from {@code dOut = dL/dC}
 * and the forward's inputs, the gradients of every learnable input. With
 * {@code u[i,j,a] = Qp[i,a] + Kp[j,a] + b[a]}, {@code t = tanh(u)}, {@code P = softmax_j(e)} and
 * {@code C = P . V}:
 *
 * <pre>
 *   dV[j]     = sum_i P[i,j] dOut[i]
 *   dE[i,j]   = P[i,j] (dOut[i].V[j] - Delta[i]),  Delta[i] = sum_j P[i,j] dOut[i].V[j] = dOut[i].C[i]
 *   dw[a]     = sum_{b,h,i,j} dE[i,j] t[i,j,a]
 *   dQp[i,a]  = sum_j dE[i,j] w[a] (1 - t[i,j,a]^2)       dKp[j,a] = sum_i (the same term)
 *   db[a]     = sum_{b,h,i} dQp[i,a]
 * </pre>
 *
 * With raw inputs ({@link Builder#projections}: {@code Qp = q . wq^T}, {@code Kp = k . wk^T}),
 * {@code dq = dQp . wq} {@code [B, H, Sq, Dq]}, {@code dk = dKp . wk} {@code [B, H, Sk, Dk]}, and the
 * optional {@code dwq = sum_{b,h} dQp^T . q} {@code [A, Dq]}, {@code dwk = sum_{b,h} dKp^T . k}
 * {@code [A, Dk]}; otherwise {@code dq} and {@code dk} are {@code dQp [B, H, Sq, A]} and
 * {@code dKp [B, H, Sk, A]}. {@code dv} is {@code [B, H, Sk, Dv]}, {@code dw} and the optional
 * {@code db} (only with a tanh bias) are {@code [A]}. The masks must be the forward's: masked pairs,
 * dead rows ({@code qLengths}) and fully masked rows contribute nothing (their dq rows are 0; keys
 * that no live row attends get dk = dv = 0). The score bias and ALiBi get no gradient.
 *
 * <p>The backward takes no forward statistics: it recomputes each row's log-sum-exp and
 * {@code Delta} itself (one extra sweep of the tanh sum, without V's weighted sum), so that a
 * caller needs nothing but the forward's inputs. No {@code [Sq, Sk, A]} or {@code [Sq, Sk]} tensor
 * exists at any point. Every output is overwritten (no accumulation). One float dtype for all.
 */
public record AdditiveBackwardParams(Tensor q, Tensor k, Tensor v, Tensor w, Tensor b, Tensor wq, Tensor wk,
        Tensor dOut, Tensor dq, Tensor dk, Tensor dv, Tensor dw, Tensor db, Tensor dwq, Tensor dwk, Masks masks)
        implements OpParams {

    /**
     * A builder over the forward's inputs {@code q, k, v, w}, the gradient of the output {@code dOut}
     * {@code [B, H, Sq, Dv]} and the gradient outputs {@code dq, dk, dv, dw}.
     */
    public static Builder builder(Tensor q, Tensor k, Tensor v, Tensor w, Tensor dOut, Tensor dq, Tensor dk,
            Tensor dv, Tensor dw) {
        return new Builder(q, k, v, w, dOut, dq, dk, dv, dw);
    }

    /** A builder seeded with a forward call's inputs, tanh bias, projections and masks. */
    public static Builder of(AdditiveParams forward, Tensor dOut, Tensor dq, Tensor dk, Tensor dv, Tensor dw) {
        Builder bd = new Builder(forward.q(), forward.k(), forward.v(), forward.w(), dOut, dq, dk, dv, dw)
                .tanhBias(forward.b()).masks(forward.masks());
        if (forward.raw()) {
            bd.projections(forward.wq(), forward.wk());
        }
        return bd;
    }

    @Override
    public <R> R accept(OpVisitor<R> visitor) {
        return visitor.additiveBackward(this);
    }

    @Override
    public String op() {
        return "additive_backward";
    }

    /** True when {@code q} and {@code k} are raw inputs with projection weights. */
    public boolean raw() {
        return wq != null;
    }

    /** B. */
    public int batch() {
        return q.dim(0);
    }

    /** H. */
    public int heads() {
        return q.dim(1);
    }

    /** Sq. */
    public int seqQ() {
        return q.dim(2);
    }

    /** Sk. */
    public int seqK() {
        return k.dim(2);
    }

    /** The attention dim A. */
    public int dimA() {
        return w.dim(0);
    }

    /** Dv. */
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
        l.add(dOut);
        l.addAll(masks.tensors());
        return l;
    }

    @Override
    public List<Tensor> outputs() {
        List<Tensor> l = new ArrayList<>(List.of(dq, dk, dv, dw));
        for (Tensor t : new Tensor[] {db, dwq, dwk}) {
            if (t != null) {
                l.add(t);
            }
        }
        return l;
    }

    @Override
    public AdditiveBackwardParams mapTensors(UnaryOperator<Tensor> f) {
        return new AdditiveBackwardParams(f.apply(q), f.apply(k), f.apply(v), f.apply(w), opt(f, b), opt(f, wq),
                opt(f, wk), f.apply(dOut), f.apply(dq), f.apply(dk), f.apply(dv), f.apply(dw), opt(f, db), opt(f, dwq),
                opt(f, dwk), masks.map(f));
    }

    private static Tensor opt(UnaryOperator<Tensor> f, Tensor t) {
        return t == null ? null : f.apply(t);
    }

    /**
     * The same call on already projected inputs {@code qp}, {@code kp}, with {@code dqp}, {@code dkp}
     * as the gradients of those (what a device runs after projecting raw inputs; the projection
     * gradients are then its own steps).
     */
    public AdditiveBackwardParams withProjected(Tensor qp, Tensor kp, Tensor dqp, Tensor dkp) {
        return new AdditiveBackwardParams(qp, kp, v, w, b, null, null, dOut, dqp, dkp, dv, dw, db, null, null, masks);
    }

    /** The forward call these gradients belong to, writing its output into {@code out}. */
    public AdditiveParams forward(Tensor out) {
        AdditiveParams.Builder bd = AdditiveParams.builder(q, k, v, w, out).tanhBias(b).masks(masks);
        if (raw()) {
            bd.projections(wq, wk);
        }
        return bd.build();
    }

    /** Builder that validates every argument in {@link #build()}. */
    public static final class Builder {
        private final Tensor q, k, v, w, dOut, dq, dk, dv, dw;
        private Tensor b, wq, wk, db, dwq, dwk;
        private Masks masks = Masks.NONE;

        Builder(Tensor q, Tensor k, Tensor v, Tensor w, Tensor dOut, Tensor dq, Tensor dk, Tensor dv, Tensor dw) {
            this.q = q;
            this.k = k;
            this.v = v;
            this.w = w;
            this.dOut = dOut;
            this.dq = dq;
            this.dk = dk;
            this.dv = dv;
            this.dw = dw;
        }

        /** The forward's tanh bias {@code b [A]} ({@link AdditiveParams.Builder#tanhBias}). */
        public Builder tanhBias(Tensor b) {
            this.b = b;
            return this;
        }

        /** Also write {@code db [A]}, the gradient of the tanh bias (which must then be present). */
        public Builder tanhBiasGrad(Tensor db) {
            this.db = db;
            return this;
        }

        /** The forward's projection weights: {@code q}, {@code k} are raw inputs, {@code dq}, {@code dk} their gradients. */
        public Builder projections(Tensor wq, Tensor wk) {
            this.wq = wq;
            this.wk = wk;
            return this;
        }

        /** Also write the weight gradients {@code dwq [A, Dq]} and {@code dwk [A, Dk]} (raw inputs only). */
        public Builder projectionGrads(Tensor dwq, Tensor dwk) {
            this.dwq = dwq;
            this.dwk = dwk;
            return this;
        }

        /** The forward's masks. */
        public Builder masks(Masks masks) {
            this.masks = masks == null ? Masks.NONE : masks;
            return this;
        }

        /** The forward was causal (bottom-right). */
        public Builder causal() {
            this.masks = masks.toBuilder().causal().build();
            return this;
        }

        private static void shape(String name, Tensor t, DType dt, int... want) {
            OpParams.rank(name, t, want.length);
            OpParams.dtype(name, t, dt);
            Check.arg(Arrays.equals(t.shape(), want), name + ".shape", Arrays.toString(want), Arrays.toString(t.shape()));
        }

        /** Checks every argument and returns the call. */
        public AdditiveBackwardParams build() {
            AdditiveParams.checkInputs(q, k, v, w, b, wq, wk);
            DType dt = v.dtype();
            int bt = q.dim(0), h = q.dim(1), sq = q.dim(2), sk = k.dim(2), a = w.dim(0), dvn = v.dim(3);
            Check.notNull("dOut", dOut);
            shape("dOut", dOut, dt, bt, h, sq, dvn);
            Check.notNull("dq", dq);
            Check.notNull("dk", dk);
            Check.notNull("dv", dv);
            Check.notNull("dw", dw);
            shape("dq", dq, dt, bt, h, sq, q.dim(3));
            shape("dk", dk, dt, bt, h, sk, k.dim(3));
            shape("dv", dv, dt, bt, h, sk, dvn);
            shape("dw", dw, dt, a);
            if (db != null) {
                Check.arg(b != null, "db", "no db without a tanh bias b", "db [" + db.dim(0) + "] and no b");
                shape("db", db, dt, a);
            }
            Check.arg((dwq == null) == (dwk == null), "dwq/dwk", "both weight gradients or neither",
                    (dwq == null ? "no dwq" : "dwq") + " and " + (dwk == null ? "no dwk" : "dwk"));
            if (dwq != null) {
                Check.arg(wq != null, "dwq", "weight gradients only with raw inputs (projections(wq, wk))",
                        "dwq and dwk on pre-projected inputs");
                shape("dwq", dwq, dt, a, q.dim(3));
                shape("dwk", dwk, dt, a, k.dim(3));
            }
            Masks m = masks.validated(bt, h, sq, sk);
            OpParams.checkNoOverlap(List.of("dq", "dk", "dv", "dw", "db", "dwq", "dwk"),
                    Arrays.asList(dq, dk, dv, dw, db, dwq, dwk),
                    List.of("q", "k", "v", "w", "b", "wq", "wk", "dOut", "mask", "bias", "alibi"),
                    Arrays.asList(q, k, v, w, b, wq, wk, dOut, m.boolMask(), m.bias(), m.alibiSlopes()), null, null);
            return new AdditiveBackwardParams(q, k, v, w, b, wq, wk, dOut, dq, dk, dv, dw, db, dwq, dwk, m);
        }
    }
}
