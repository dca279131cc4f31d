package io.github.attn4j.layers;

import io.github.attn4j.AdditiveBackwardParams;
import io.github.attn4j.AdditiveParams;
import io.github.attn4j.Check;
import io.github.attn4j.DType;
import io.github.attn4j.GemmParams;
import io.github.attn4j.Masks;
import io.github.attn4j.Scope;
import io.github.attn4j.Tensor;
import java.util.Arrays;

/**
 * Bahdanau (additive) attention of an encoder-decoder, on one {@link Scope}'s device:
 * <pre>
 *   Kp = H Wk^T                          [B, Sk, A]   once per source sentence ({@link #encode})
 *   e_ij = w . tanh(Wq s_i + Kp_j + b)   alignment scores, keys j &gt;= length[b] masked
 *   a_ij = softmax_j(e_ij)               alignment weights [B, Sq, Sk]
 *   c_i  = sum_j a_ij H_j                context [B, Sq, Dk]
 * </pre>
 * with encoder states {@code H [B, Sk, Dk]} (the values too), decoder states {@code s [B, Dq]}
 * for one step ({@link #step}) or {@code [B, Sq, Dq]} for a whole sequence ({@link #forward}),
 * weights {@code Wq [A, Dq]}, {@code Wk [A, Dk]}, {@code w [A]} and an optional {@code b [A]}.
 * The projections are GEMM ops; scores, softmax and context are the fused additive op, so the
 * {@code [Sq, Sk, A]} tensor never exists. Results live in the layer's reusable buffers until the
 * next call.
 *
 * <p>{@link #backward} gives the gradients of the encoder states, the decoder states and every
 * weight from the gradient of the context, on the device: the fused additive backward on the raw
 * inputs (it recomputes the softmax statistics, so no training forward is needed), and a GEMM that
 * adds the encoder states' two gradients (as keys and as values).
 */
public final class AdditiveAttention {
    private final Scope scope;
    private final DType dtype;
    private final Tensor wq, wk, w, b;
    private final int dimA, dimQ, dimK;
    private final Buffers buf;
    private Tensor identity;

    private AdditiveAttention(Scope scope, DType dt, Tensor wq, Tensor wk, Tensor w, Tensor b) {
        this.scope = scope;
        this.dtype = dt;
        this.dimA = wq.dim(0);
        this.dimQ = wq.dim(1);
        this.dimK = wk.dim(1);
        this.wq = Buffers.upload(scope, wq, dt);
        this.wk = Buffers.upload(scope, wk, dt);
        this.w = Buffers.upload(scope, w, dt);
        this.b = b == null ? null : Buffers.upload(scope, b, dt);
        this.buf = new Buffers(scope);
    }

    /**
     * A layer from host weights {@code wq [A, Dq]}, {@code wk [A, Dk]}, {@code w [A]} and the optional
     * {@code b [A]}, uploaded to {@code scope}'s device in {@code dtype}.
     */
    public static AdditiveAttention create(Scope scope, DType dtype, Tensor wq, Tensor wk, Tensor w, Tensor b) {
        Check.notNull("scope", scope);
        Check.arg(dtype != null && dtype.isFloat(), "dtype", "F32, F16 or BF16", dtype);
        Check.arg(Check.notNull("wq", wq).rank() == 2, "wq.rank", 2, wq.rank());
        Check.arg(Check.notNull("wk", wk).rank() == 2, "wk.rank", 2, wk.rank());
        Check.arg(Check.notNull("w", w).rank() == 1, "w.rank", 1, w.rank());
        int a = wq.dim(0);
        Check.arg(wk.dim(0) == a, "wk.shape[0] (A)", a, wk.dim(0));
        Check.arg(w.dim(0) == a, "w.shape[0] (A)", a, w.dim(0));
        if (b != null) {
            Check.arg(b.rank() == 1 && b.dim(0) == a, "b.shape", "[" + a + "]", Arrays.toString(b.shape()));
        }
        return new AdditiveAttention(scope, dtype, wq, wk, w, b);
    }

    /** The attention dim A. */
    public int dimA() {
        return dimA;
    }

    /** The storage dtype. */
    public DType dtype() {
        return dtype;
    }

    /** Encoder states projected once: {@code H [B, Sk, Dk]} and {@code Kp [B, Sk, A]} on the device, and the lengths. */
    public static final class Encoded {
        private final AdditiveAttention layer;
        private final Tensor states, keys;
        private final int[] lengths;

        Encoded(AdditiveAttention layer, Tensor states, Tensor keys, int[] lengths) {
            this.layer = layer;
            this.states = states;
            this.keys = keys;
            this.lengths = lengths;
        }

        /** B. */
        public int batch() {
            return states.dim(0);
        }

        /** Sk. */
        public int length() {
            return states.dim(1);
        }
    }

    /** Context {@code [B, Dk]} (one step) or {@code [B, Sq, Dk]}, alignment weights {@code [B, Sk]} or {@code [B, Sq, Sk]}. */
    public record Result(Tensor context, Tensor weights) {}

    /**
     * Projects the encoder states {@code [B, Sk, Dk]} once (kept on the device for every decoder
     * step); {@code lengths} (may be null) masks the padding keys {@code j >= lengths[b]}.
     */
    public Encoded encode(Tensor states, int... lengths) {
        Check.arg(Check.notNull("states", states).rank() == 3, "states.rank", "3 ([B, Sk, Dk])", states.rank());
        Check.arg(states.dim(2) == dimK, "states.shape[2] (Dk)", dimK, states.dim(2));
        Check.arg(states.dtype() == dtype, "states.dtype", dtype, states.dtype());
        int bn = states.dim(0), sk = states.dim(1);
        if (lengths != null && lengths.length > 0) {
            Check.arg(lengths.length == bn, "lengths.length", bn, lengths.length);
        }
        // Own copies: the encoding outlives the caller's buffers and this layer's other calls.
        Tensor h = scope.allocate(dtype, bn, sk, dimK);
        scope.copy(states, h);
        Tensor kp = scope.allocate(dtype, bn, sk, dimA);
        scope.gemm(GemmParams.builder(h, wk, kp).transB(true).build());
        return new Encoded(this, h, kp, lengths == null || lengths.length == 0 ? null : lengths.clone());
    }

    /** One decoder step: {@code s [B, Dq]} to context {@code [B, Dk]} and weights {@code [B, Sk]}. */
    public Result step(Encoded enc, Tensor s) {
        Check.arg(Check.notNull("s", s).rank() == 2, "s.rank", "2 ([B, Dq])", s.rank());
        Result r = forward(enc, s.view(s.offset(), new int[] {s.dim(0), 1, s.dim(1)}, new long[] {s.stride(0), 0,
            s.stride(1)}));
        int bn = enc.batch(), sk = enc.length();
        return new Result(r.context().view(r.context().offset(), new int[] {bn, dimK}, new long[] {dimK, 1}),
                r.weights().view(r.weights().offset(), new int[] {bn, sk}, new long[] {sk, 1}));
    }

    /** A whole decoder sequence {@code [B, Sq, Dq]}: context {@code [B, Sq, Dk]}, weights {@code [B, Sq, Sk]}. */
    public Result forward(Encoded enc, Tensor states) {
        Check.arg(Check.notNull("encoded", enc).layer == this, "encoded", "an encoding made by this layer", "another layer's");
        Check.arg(states.rank() == 3, "states.rank", "3 ([B, Sq, Dq])", states.rank());
        Check.arg(states.dim(0) == enc.batch(), "states.shape[0] (B)", enc.batch(), states.dim(0));
        Check.arg(states.dim(2) == dimQ, "states.shape[2] (Dq)", dimQ, states.dim(2));
        Check.arg(states.dtype() == dtype, "states.dtype", dtype, states.dtype());
        int bn = enc.batch(), sq = states.dim(1), sk = enc.length();
        Tensor s = buf.device("s", states);
        Tensor qp = buf.get("qp", dtype, bn, sq, dimA);
        scope.gemm(GemmParams.builder(s, wq, qp).transB(true).build());
        Tensor ctx = buf.get("context", dtype, bn, 1, sq, dimK);
        Tensor wts = buf.get("weights", dtype, bn, 1, sq, sk);
        AdditiveParams.Builder p = AdditiveParams.builder(four(qp), four(enc.keys), four(enc.states), w, ctx).weights(wts);
        if (b != null) {
            p.tanhBias(b);
        }
        if (enc.lengths != null) {
            p.masks(Masks.builder().kvLengths(enc.lengths).build());
        }
        scope.additive(p.build());
        return new Result(ctx.view(ctx.offset(), new int[] {bn, sq, dimK}, Tensor.contiguousStrides(bn, sq, dimK)),
                wts.view(wts.offset(), new int[] {bn, sq, sk}, Tensor.contiguousStrides(bn, sq, sk)));
    }

    /**
     * The gradients of one {@link #backward} (device tensors in the layer's dtype, in the layer's
     * buffers: valid until the next backward on this layer).
     *
     * @param encoder dL/dH {@code [B, Sk, Dk]} (the encoder states as keys and as values)
     * @param decoder dL/ds {@code [B, Sq, Dq]}, or {@code [B, Dq]} for a step's {@code [B, Dq]} states
     * @param wq      dL/dWq {@code [A, Dq]}
     * @param wk      dL/dWk {@code [A, Dk]}
     * @param w       dL/dw {@code [A]}
     * @param b       dL/db {@code [A]}, or null for a layer without b
     */
    public record Gradients(Tensor encoder, Tensor decoder, Tensor wq, Tensor wk, Tensor w, Tensor b) {}

    /**
     * The backward of {@link #forward(Encoded, Tensor) forward(enc, states)} (or of a {@link #step}
     * when {@code states} is {@code [B, Dq]}): given the gradient of the context {@code dContext}
     * ({@code [B, Sq, Dk]}, or {@code [B, Dk]} for a step), the gradients of the encoder states, the
     * decoder states and every weight, for the same key padding. Needs only the inputs (the
     * encoding and the decoder states), no forward outputs. Host or device tensors.
     *
     * @throws IllegalArgumentException for shapes or dtypes that do not match the encoding and the layer
     */
    public Gradients backward(Encoded enc, Tensor states, Tensor dContext) {
        Check.arg(Check.notNull("encoded", enc).layer == this, "encoded", "an encoding made by this layer", "another layer's");
        Check.notNull("states", states);
        Check.notNull("dContext", dContext);
        boolean step = states.rank() == 2;
        if (step) {
            states = states.view(states.offset(), new int[] {states.dim(0), 1, states.dim(1)}, new long[] {states.stride(0), 0,
                states.stride(1)});
            Check.arg(dContext.rank() == 2, "dContext.rank", "2 ([B, Dk], as the step's states)", dContext.rank());
            dContext = dContext.view(dContext.offset(), new int[] {dContext.dim(0), 1, dContext.dim(1)},
                    new long[] {dContext.stride(0), 0, dContext.stride(1)});
        }
        Check.arg(states.rank() == 3, "states.rank", "3 ([B, Sq, Dq]) or 2 ([B, Dq])", states.rank());
        int bn = enc.batch(), sq = states.dim(1), sk = enc.length();
        Check.arg(states.dim(0) == bn, "states.shape[0] (B)", bn, states.dim(0));
        Check.arg(states.dim(2) == dimQ, "states.shape[2] (Dq)", dimQ, states.dim(2));
        Check.arg(states.dtype() == dtype, "states.dtype", dtype, states.dtype());
        Check.arg(Arrays.equals(dContext.shape(), new int[] {bn, sq, dimK}), "dContext.shape",
                Arrays.toString(new int[] {bn, sq, dimK}), Arrays.toString(dContext.shape()));
        Check.arg(dContext.dtype() == dtype, "dContext.dtype", dtype, dContext.dtype());
        Tensor s = buf.device("bwd.s", states);
        Tensor dc = buf.device("bwd.dc", dContext);
        Tensor ds = buf.get("d.decoder", dtype, bn, sq, dimQ);
        Tensor dhk = buf.get("d.keys", dtype, bn, sk, dimK);
        Tensor dh = buf.get("d.encoder", dtype, bn, sk, dimK);
        Tensor dw = buf.get("d.w", dtype, dimA);
        Tensor db = b == null ? null : buf.get("d.b", dtype, dimA);
        Tensor dwq = buf.get("d.wq", dtype, dimA, dimQ);
        Tensor dwk = buf.get("d.wk", dtype, dimA, dimK);
        AdditiveBackwardParams.Builder p = AdditiveBackwardParams.builder(four(s), four(enc.states), four(enc.states), w,
                four(dc), four(ds), four(dhk), four(dh), dw).projections(wq, wk).projectionGrads(dwq, dwk);
        if (b != null) {
            p.tanhBias(b).tanhBiasGrad(db);
        }
        if (enc.lengths != null) {
            p.masks(Masks.builder().kvLengths(enc.lengths).build());
        }
        scope.additiveBackward(p.build());
        // H is both the keys and the values: dH = dH(values) + dH(keys) . I (a GEMM with beta = 1, exact)
        Tensor rowsK = dhk.view(dhk.offset(), new int[] {bn * sk, dimK}, new long[] {dimK, 1});
        Tensor rowsH = dh.view(dh.offset(), new int[] {bn * sk, dimK}, new long[] {dimK, 1});
        scope.gemm(GemmParams.builder(rowsK, identity(), rowsH).beta(1f).build());
        Tensor dDec = step ? ds.view(ds.offset(), new int[] {bn, dimQ}, new long[] {(long) sq * dimQ, 1}) : ds;
        return new Gradients(dh, dDec, dwq, dwk, dw, db);
    }

    /** The identity {@code [Dk, Dk]} on the device (made once). */
    private Tensor identity() {
        if (identity == null) {
            float[] e = new float[dimK * dimK];
            for (int i = 0; i < dimK; i++) {
                e[i * dimK + i] = 1f;
            }
            identity = Buffers.upload(scope, Tensor.of(e, dimK, dimK), dtype);
        }
        return identity;
    }

    /** {@code [B, S, F]} as {@code [B, 1, S, F]}. */
    private static Tensor four(Tensor t) {
        return t.view(t.offset(), new int[] {t.dim(0), 1, t.dim(1), t.dim(2)}, new long[] {t.stride(0), 0, t.stride(1),
            t.stride(2)});
    }
}
