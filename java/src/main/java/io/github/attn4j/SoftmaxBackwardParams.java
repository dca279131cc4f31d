package io.github.attn4j;

import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Backward of the masked softmax: {@code dX = scale * Y (.) (dY - rowsum(dY (.) Y))}, where Y is
 * the forward output (so masked positions, where Y = 0, get dX = 0). Y, dY and dX are
 * {@code [B, H, Sq, Sk]} or 2-D {@code [R, N]}, one float dtype. dX may be dY itself.
 */
public record SoftmaxBackwardParams(Tensor y, Tensor dy, Tensor dx, float scale) implements OpParams {

    /** A builder for the forward output Y, the incoming gradient dY and the result dX (which may be dY). */
    public static Builder builder(Tensor y, Tensor dy, Tensor dx) {
        return new Builder(y, dy, dx);
    }

    @Override
    public <R> R accept(OpVisitor<R> v) {
        return v.softmaxBackward(this);
    }

    @Override
    public String op() {
        return "softmax_backward";
    }

    /** The batch size B (1 for a 2-D input). */
    public int batch() {
        return y.dim(0);
    }

    /** The number of heads H (1 for a 2-D input). */
    public int heads() {
        return y.dim(1);
    }

    /** The rows per head, Sq. */
    public int seqQ() {
        return y.dim(2);
    }

    /** The row length Sk. */
    public int seqK() {
        return y.dim(3);
    }

    /** Number of rows, {@code B * H * Sq}. */
    public long rows() {
        return (long) batch() * heads() * seqQ();
    }

    @Override
    public DType dtype() {
        return y.dtype();
    }

    @Override
    public List<Tensor> inputs() {
        return List.of(y, dy);
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(dx);
    }

    @Override
    public SoftmaxBackwardParams mapTensors(UnaryOperator<Tensor> f) {
        Tensor ndy = f.apply(dy);
        return new SoftmaxBackwardParams(f.apply(y), ndy, dx == dy ? ndy : f.apply(dx), scale);
    }

    /** Builder that validates every argument in {@link #build()}. */
    public static final class Builder {
        private final Tensor y, dy, dx;
        private float scale = 1f;

        Builder(Tensor y, Tensor dy, Tensor dx) {
            this.y = y;
            this.dy = dy;
            this.dx = dx;
        }

        /** The scale the forward applied to X (the chain rule multiplies dX by it); default 1. */
        public Builder scale(float scale) {
            this.scale = scale;
            return this;
        }

        /**
         * Checks shapes, dtypes and strides.
         *
         * @throws IllegalArgumentException naming the argument, the expected and the actual value
         */
        public SoftmaxBackwardParams build() {
            Tensor y4 = SoftmaxParams.as4d("y", y);
            Tensor dy4 = SoftmaxParams.as4d("dy", dy);
            Tensor dx4 = dx == dy ? dy4 : SoftmaxParams.as4d("dx", dx);
            Check.arg(y4.dtype().isFloat(), "y.dtype", "F32, F16 or BF16", y4.dtype());
            OpParams.dtype("dy", dy4, y4.dtype());
            OpParams.dtype("dx", dx4, y4.dtype());
            Check.arg(Arrays.equals(y4.shape(), dy4.shape()), "dy.shape", Arrays.toString(y.shape()),
                    Arrays.toString(dy.shape()));
            Check.arg(Arrays.equals(y4.shape(), dx4.shape()), "dx.shape", Arrays.toString(y.shape()),
                    Arrays.toString(dx.shape()));
            for (int i = 0; i < 4; i++) {
                Check.arg(y4.dim(i) >= 1, "y.shape[" + i + "]", ">= 1", y4.dim(i));
            }
            OpParams.finite("scale", scale);
            if (dx4 != dy4 && OpParams.sameView(dx4, dy4)) {
                dx4 = dy4;
            }
            OpParams.checkNoOverlap(List.of("dx"), List.of(dx4), List.of("y", "dy"), List.of(y4, dy4), dx4 == dy4 ? dy4 : null,
                    dx4 == dy4 ? dx4 : null);
            return new SoftmaxBackwardParams(y4, dy4, dx4, scale);
        }
    }
}
