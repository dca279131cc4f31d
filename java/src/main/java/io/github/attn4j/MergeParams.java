package io.github.attn4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Merge of attention states: N partial results {@code (O_i, LSE_i)} of one attention problem, each
 * computed over a disjoint set of keys (another shard, device, machine, or a shared prefix), give
 * the result over the union of the keys:
 * <pre>
 *   LSE = log sum_i exp(LSE_i)
 *   O   = sum_i exp(LSE_i - LSE) * O_i
 * </pre>
 * (FlashInfer's {@code merge_state}, FlashAttention-3's split-KV combine). Shapes: every
 * {@code O_i} and {@code O} are {@code [B, H, S, Dv]} in one float dtype (any strides), every
 * {@code LSE_i} and the optional output {@code LSE} are F32 {@code [B, H, S]}, natural log, as
 * {@link SdpaParams} writes them.
 *
 * <p>Per row, with {@code m = max_i LSE_i}:
 * <ul>
 *   <li>a part whose {@code LSE_i} is {@code -inf} (no key of that row in that part) contributes
 *       nothing and its {@code O_i} row is never read (it may hold garbage, NaN included);</li>
 *   <li>all parts {@code -inf}: {@code O = 0}, {@code LSE = -inf};</li>
 *   <li>a NaN in any {@code LSE_i}, or a {@code +inf} (which has no finite weights), gives NaN in
 *       the whole row of O and in LSE;</li>
 *   <li>a NaN in a read {@code O_i} element propagates to that element of O.</li>
 * </ul>
 * Arithmetic is fp32 on the device backends (float64 in the reference), the weights
 * {@code exp(LSE_i - m)} are at most 1, so no term overflows. Device backends take up to
 * {@link #MAX_DEVICE_PARTS} parts per call (merge a larger set as a tree: the LSE output of one
 * merge is a valid part of the next); the cpu backend takes any number.
 *
 * @param o   the partial outputs {@code O_i}
 * @param lse the partial log-sum-exps {@code LSE_i}, one per {@code O_i}
 * @param out the merged output O
 * @param outLse the merged LSE, or null
 */
public record MergeParams(List<Tensor> o, List<Tensor> lse, Tensor out, Tensor outLse) implements OpParams {

    /** The most parts one device kernel launch merges ({@code ATTN_MERGE_MAX_PARTS} in attn_params.h). */
    public static final int MAX_DEVICE_PARTS = 8;

    /** Canonical constructor: copies the part lists. */
    public MergeParams {
        o = List.copyOf(o);
        lse = List.copyOf(lse);
    }

    /** A builder over the parts {@code (o.get(i), lse.get(i))} and the output {@code out}. */
    public static Builder builder(List<Tensor> o, List<Tensor> lse, Tensor out) {
        return new Builder(o, lse, out);
    }

    @Override
    public <R> R accept(OpVisitor<R> v) {
        return v.merge(this);
    }

    @Override
    public String op() {
        return "merge";
    }

    /** The number of parts N. */
    public int parts() {
        return o.size();
    }

    /** B. */
    public int batch() {
        return out.dim(0);
    }

    /** H. */
    public int heads() {
        return out.dim(1);
    }

    /** S, the query rows. */
    public int seq() {
        return out.dim(2);
    }

    /** Dv. */
    public int headDimV() {
        return out.dim(3);
    }

    /** B * H * S. */
    public long rows() {
        return (long) batch() * heads() * seq();
    }

    @Override
    public DType dtype() {
        return out.dtype();
    }

    @Override
    public List<Tensor> inputs() {
        List<Tensor> l = new ArrayList<>(o);
        l.addAll(lse);
        return l;
    }

    @Override
    public List<Tensor> outputs() {
        return outLse == null ? List.of(out) : List.of(out, outLse);
    }

    @Override
    public MergeParams mapTensors(UnaryOperator<Tensor> f) {
        return new MergeParams(o.stream().map(f).toList(), lse.stream().map(f).toList(), f.apply(out),
                outLse == null ? null : f.apply(outLse));
    }

    /** Builder that validates every argument in {@link #build()}. */
    public static final class Builder {
        private final List<Tensor> o, lse;
        private final Tensor out;
        private Tensor outLse;

        Builder(List<Tensor> o, List<Tensor> lse, Tensor out) {
            this.o = o == null ? null : new ArrayList<>(o);
            this.lse = lse == null ? null : new ArrayList<>(lse);
            this.out = out;
        }

        /** Also writes the merged LSE, F32 {@code [B, H, S]}. */
        public Builder lse(Tensor outLse) {
            this.outLse = outLse;
            return this;
        }

        /** Checks every argument; throws {@link IllegalArgumentException} naming the first bad one. */
        public MergeParams build() {
            Check.arg(o != null && !o.isEmpty(), "o", "at least one partial output", o == null ? "null" : "none");
            Check.arg(lse != null && lse.size() == o.size(), "lse", o.size() + " partial LSEs (one per partial output)",
                    lse == null ? "null" : lse.size());
            OpParams.rank("out", out, 4);
            Check.arg(out.dtype().isFloat(), "out.dtype", "F32, F16 or BF16", out.dtype());
            for (int i = 0; i < 4; i++) {
                Check.arg(out.dim(i) >= 1, "out.shape[" + i + "]", ">= 1", out.dim(i));
            }
            int[] rowShape = {out.dim(0), out.dim(1), out.dim(2)};
            for (int i = 0; i < o.size(); i++) {
                String on = "o[" + i + "]", ln = "lse[" + i + "]";
                OpParams.rank(on, o.get(i), 4);
                OpParams.dtype(on, o.get(i), out.dtype());
                Check.arg(Arrays.equals(o.get(i).shape(), out.shape()), on + ".shape", Arrays.toString(out.shape()),
                        Arrays.toString(o.get(i).shape()));
                OpParams.rank(ln, lse.get(i), 3);
                OpParams.dtype(ln, lse.get(i), DType.F32);
                Check.arg(Arrays.equals(lse.get(i).shape(), rowShape), ln + ".shape", Arrays.toString(rowShape),
                        Arrays.toString(lse.get(i).shape()));
            }
            if (outLse != null) {
                OpParams.rank("lse-out", outLse, 3);
                OpParams.dtype("lse-out", outLse, DType.F32);
                Check.arg(Arrays.equals(outLse.shape(), rowShape), "lse-out.shape", Arrays.toString(rowShape),
                        Arrays.toString(outLse.shape()));
            }
            List<String> inNames = new ArrayList<>();
            for (int i = 0; i < o.size(); i++) {
                inNames.add("o[" + i + "]");
            }
            for (int i = 0; i < lse.size(); i++) {
                inNames.add("lse[" + i + "]");
            }
            List<Tensor> ins = new ArrayList<>(o);
            ins.addAll(lse);
            List<Tensor> outs = new ArrayList<>();
            outs.add(out);
            outs.add(outLse);
            OpParams.checkNoOverlap(List.of("out", "lse-out"), outs, inNames, ins, null, null);
            return new MergeParams(o, lse, out, outLse);
        }
    }
}
