package io.github.attn4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The gradients of {@link SdpaParams}' forward with respect to Q, K, V and (optionally) the bias,
 * for the very same options (scale, softcap, masks, GQA). With {@code s_ij} the forward's score
 * before the softmax, {@code P_ij = exp(s_ij - LSE_i)} and
 * <pre>
 *   dV_j  = sum_{i, h in group} P_ij dO_i
 *   dP_ij = dO_i . V_j,        Delta_i = sum_j P_ij dP_ij  (= dO_i . O_i)
 *   dS_ij = P_ij (dP_ij - Delta_i)                         (the gradient of the score)
 *   dR_ij = dS_ij * (1 - tanh^2(scale q_i.k_j / softcap))  (dR = dS without a softcap)
 *   dQ_i  = scale * sum_j dR_ij K_j,   dK_j = scale * sum_{i, h in group} dR_ij Q_i
 *   dBias[b', h', i, j] = sum over the broadcast (b, h) of dS[b, h, i, j]
 * </pre>
 * Shapes: Q, dQ {@code [B, Hq, Sq, D]}; K, dK {@code [B, Hkv, Sk, D]}; V, dV {@code [B, Hkv, Sk, Dv]};
 * O, dO {@code [B, Hq, Sq, Dv]}; LSE F32 {@code [B, Hq, Sq]} as the forward wrote it; dBias F32 with
 * the bias's own shape ({@code [B|1, H|1, Sq, Sk]} or {@code [Sq, Sk]}): a dim of size 1 where the
 * bias broadcasts holds the sum of the gradient over that dim. ALiBi has no gradient.
 *
 * <p>Masked pairs contribute nothing: a key that no live row attends gets dK = dV = 0 and is never
 * read, a dead or fully masked row gets dQ = 0, and dBias is 0 at masked positions. NaN reaches a
 * gradient only through a pair the forward reads. Every output is overwritten (no accumulation).
 * O and LSE must be the forward's outputs for the same inputs and options; the kernels use them
 * (Delta from O, P from LSE) instead of recomputing the softmax statistics.
 */
public record SdpaBackwardParams(Tensor q, Tensor k, Tensor v, Tensor o, Tensor dout, Tensor lse, Tensor dq,
        Tensor dk, Tensor dv, Tensor dbias, Masks masks, float scale, float softcap) implements OpParams {

    /**
     * A builder over the forward's inputs and outputs, the output gradient {@code dout} and the
     * three gradients to write.
     */
    public static Builder builder(Tensor q, Tensor k, Tensor v, Tensor o, Tensor dout, Tensor lse, Tensor dq,
            Tensor dk, Tensor dv) {
        return new Builder(q, k, v, o, dout, lse, dq, dk, dv);
    }

    @Override
    public <R> R accept(OpVisitor<R> visitor) {
        return visitor.sdpaBackward(this);
    }

    @Override
    public String op() {
        return "sdpa_backward";
    }

    /** B. */
    public int batch() {
        return q.dim(0);
    }

    /** Hq. */
    public int headsQ() {
        return q.dim(1);
    }

    /** Hkv. */
    public int headsKv() {
        return k.dim(1);
    }

    /** {@code Hq / Hkv}: query heads per kv head. */
    public int group() {
        return q.dim(1) / k.dim(1);
    }

    /** Sq. */
    public int seqQ() {
        return q.dim(2);
    }

    /** Sk. */
    public int seqK() {
        return k.dim(2);
    }

    /** D. */
    public int headDim() {
        return q.dim(3);
    }

    /** Dv. */
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

    /** The forward call these gradients belong to (O and LSE as its outputs). */
    public SdpaParams forward() {
        return new SdpaParams(q, k, v, o, lse, masks, scale, softcap);
    }

    @Override
    public List<Tensor> inputs() {
        List<Tensor> l = new ArrayList<>(List.of(q, k, v, o, dout, lse));
        l.addAll(masks.tensors());
        return l;
    }

    @Override
    public List<Tensor> outputs() {
        return dbias == null ? List.of(dq, dk, dv) : List.of(dq, dk, dv, dbias);
    }

    @Override
    public SdpaBackwardParams mapTensors(UnaryOperator<Tensor> f) {
        return new SdpaBackwardParams(f.apply(q), f.apply(k), f.apply(v), f.apply(o), f.apply(dout), f.apply(lse),
                f.apply(dq), f.apply(dk), f.apply(dv), dbias == null ? null : f.apply(dbias), masks.map(f), scale,
                softcap);
    }

    /** Builder that validates every argument in {@link #build()}. */
    public static final class Builder {
        private final Tensor q, k, v, o, dout, lse, dq, dk, dv;
        private Tensor dbias;
        private Masks masks = Masks.NONE;
        private Float scale;
        private float softcap;

        Builder(Tensor q, Tensor k, Tensor v, Tensor o, Tensor dout, Tensor lse, Tensor dq, Tensor dk, Tensor dv) {
            this.q = q;
            this.k = k;
            this.v = v;
            this.o = o;
            this.dout = dout;
            this.lse = lse;
            this.dq = dq;
            this.dk = dk;
            this.dv = dv;
        }

        /** Also write the bias gradient: F32, the bias's own shape (broadcast dims summed). */
        public Builder dbias(Tensor dbias) {
            this.dbias = dbias;
            return this;
        }

        /** The forward's masks. */
        public Builder masks(Masks masks) {
            this.masks = masks == null ? Masks.NONE : masks;
            return this;
        }

        /** Shorthand for causal masking, keeping the other mask options. */
        public Builder causal() {
            this.masks = masks.toBuilder().causal().build();
            return this;
        }

        /** The forward's scale (default {@code 1/sqrt(D)}). */
        public Builder scale(float scale) {
            this.scale = scale;
            return this;
        }

        /** The forward's softcap (0 = none). */
        public Builder softcap(float softcap) {
            this.softcap = softcap;
            return this;
        }

        /** Validates and builds; throws {@link IllegalArgumentException} naming the bad argument. */
        public SdpaBackwardParams build() {
            // The forward's own checks cover q, k, v, o, lse, scale, softcap and the masks.
            Check.notNull("lse", lse);
            SdpaParams.Builder fb = SdpaParams.builder(q, k, v, o).lse(lse).masks(masks).softcap(softcap);
            if (scale != null) {
                fb.scale(scale);
            }
            SdpaParams f = fb.build();
            DType dt = f.dtype();
            int b = f.batch(), hq = f.headsQ(), hkv = f.headsKv(), sq = f.seqQ(), sk = f.seqK();
            int d = f.headDim(), dvd = f.headDimV();
            same("dout", dout, dt, b, hq, sq, dvd);
            same("dq", dq, dt, b, hq, sq, d);
            same("dk", dk, dt, b, hkv, sk, d);
            same("dv", dv, dt, b, hkv, sk, dvd);
            Tensor db4 = null;
            if (dbias != null) {
                Tensor bias0 = masks.bias();
                Check.arg(bias0 != null, "dbias", "absent unless the masks have a bias", "a dbias tensor without a bias");
                Check.arg(dbias.dtype() == DType.F32, "dbias.dtype", DType.F32, dbias.dtype());
                Check.arg(Arrays.equals(dbias.shape(), bias0.shape()), "dbias.shape",
                        "the bias's shape " + Arrays.toString(bias0.shape()), Arrays.toString(dbias.shape()));
                db4 = dbias.rank() == 2 ? dbias.view(dbias.offset(), new int[] {1, 1, sq, sk},
                        new long[] {0, 0, dbias.stride(0), dbias.stride(1)}) : dbias;
            }
            Masks m = f.masks();
            OpParams.checkNoOverlap(List.of("dq", "dk", "dv", "dbias"), Arrays.asList(dq, dk, dv, db4),
                    List.of("q", "k", "v", "o", "dout", "lse", "mask", "bias", "alibi"),
                    Arrays.asList(q, k, v, o, dout, lse, m.boolMask(), m.bias(), m.alibiSlopes()), null, null);
            return new SdpaBackwardParams(q, k, v, o, dout, lse, dq, dk, dv, db4, m, f.scale(), f.softcap());
        }

        private static void same(String name, Tensor t, DType dt, int... shape) {
            OpParams.rank(name, t, 4);
            OpParams.dtype(name, t, dt);
            Check.arg(Arrays.equals(t.shape(), shape), name + ".shape", Arrays.toString(shape),
                    Arrays.toString(t.shape()));
        }
    }
}
