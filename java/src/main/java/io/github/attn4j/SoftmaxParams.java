package io.github.attn4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Masked softmax over the last dim: {@code Y = softmax_lastdim(scale * X + bias + alibi)} with
 * masked elements set to 0 and fully masked rows all 0. X and Y are {@code [B, H, Sq, Sk]} (a 2-D
 * {@code [R, N]} tensor is taken as {@code [1, 1, R, N]}) of the same float dtype. Y may be X
 * itself (in place). The masks ({@link Masks}) use {@code H} as their head dim.
 */
public record SoftmaxParams(Tensor x, Tensor y, Masks masks, float scale) implements OpParams {

    /** A builder for the input X and the output Y ({@code [B, H, Sq, Sk]} or {@code [R, N]}; Y may be X). */
    public static Builder builder(Tensor x, Tensor y) {
        return new Builder(x, y);
    }

    @Override
    public <R> R accept(OpVisitor<R> v) {
        return v.softmax(this);
    }

    @Override
    public String op() {
        return "softmax";
    }

    /** The batch size B (1 for a 2-D input). */
    public int batch() {
        return x.dim(0);
    }

    /** The number of heads H (1 for a 2-D input). */
    public int heads() {
        return x.dim(1);
    }

    /** The rows per head, Sq. */
    public int seqQ() {
        return x.dim(2);
    }

    /** The row length Sk, over which the softmax runs. */
    public int seqK() {
        return x.dim(3);
    }

    /** Number of rows, {@code B * H * Sq}. */
    public long rows() {
        return (long) batch() * heads() * seqQ();
    }

    @Override
    public DType dtype() {
        return x.dtype();
    }

    /** True when Y is X (exactly the same view). */
    public boolean inPlace() {
        return OpParams.sameView(x, y);
    }

    @Override
    public List<Tensor> inputs() {
        List<Tensor> l = new ArrayList<>(List.of(x));
        l.addAll(masks.tensors());
        return l;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(y);
    }

    @Override
    public SoftmaxParams mapTensors(UnaryOperator<Tensor> f) {
        Tensor nx = f.apply(x);
        return new SoftmaxParams(nx, y == x ? nx : f.apply(y), masks.map(f), scale);
    }

    /** Views a 2-D {@code [R, N]} tensor as {@code [1, 1, R, N]}; 4-D tensors pass through. */
    static Tensor as4d(String name, Tensor t) {
        Check.notNull(name, t);
        if (t.rank() == 2) {
            return t.view(t.offset(), new int[] {1, 1, t.dim(0), t.dim(1)}, new long[] {0, 0, t.stride(0), t.stride(1)});
        }
        Check.arg(t.rank() == 4, name + ".rank", "2 ([R, N]) or 4 ([B, H, Sq, Sk])", t.rank());
        return t;
    }

    /** Builder that validates every argument in {@link #build()}. */
    public static final class Builder {
        private final Tensor x, y;
        private Masks masks = Masks.NONE;
        private float scale = 1f;

        Builder(Tensor x, Tensor y) {
            this.x = x;
            this.y = y;
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

        /** The factor applied to X before the bias and the softmax; default 1. */
        public Builder scale(float scale) {
            this.scale = scale;
            return this;
        }

        /**
         * Checks shapes, dtypes, strides and masks.
         *
         * @throws IllegalArgumentException naming the argument, the expected and the actual value
         */
        public SoftmaxParams build() {
            boolean same = x == y;
            Tensor x4 = as4d("x", x);
            Tensor y4 = same ? x4 : as4d("y", y);
            Check.arg(x4.dtype().isFloat(), "x.dtype", "F32, F16 or BF16", x4.dtype());
            OpParams.dtype("y", y4, x4.dtype());
            Check.arg(Arrays.equals(x4.shape(), y4.shape()), "y.shape", Arrays.toString(x.shape()),
                    Arrays.toString(y.shape()));
            for (int i = 0; i < 4; i++) {
                Check.arg(x4.dim(i) >= 1, "x.shape[" + i + "]", ">= 1", x4.dim(i));
            }
            OpParams.finite("scale", scale);
            Masks m = masks.validated(x4.dim(0), x4.dim(1), x4.dim(2), x4.dim(3));
            if (!same && OpParams.sameView(x4, y4)) {
                y4 = x4;
            }
            OpParams.checkNoOverlap(List.of("y"), List.of(y4), List.of("x", "mask", "bias", "alibi"),
                    Arrays.asList(x4, m.boolMask(), m.bias(), m.alibiSlopes()), y4 == x4 ? x4 : null, y4 == x4 ? y4 : null);
            return new SoftmaxParams(x4, y4, m, scale);
        }
    }
}
