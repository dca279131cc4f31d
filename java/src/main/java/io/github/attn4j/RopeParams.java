package io.github.attn4j;

import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Rotary position embedding, the rotate-half form of Llama / Hugging Face: for a vector
 * {@code x[b, h, s, :]} of even length D at position {@code p = offset + s}, with
 * {@code f_i = theta^(-2i/D)} and {@code a = p * f_i} for {@code i < D/2},
 * <pre>
 *   out[i]       = x[i]       * cos(a) - x[i + D/2] * sin(a)
 *   out[i + D/2] = x[i + D/2] * cos(a) + x[i]       * sin(a)
 * </pre>
 * x and out are {@code [B, H, S, D]} of one float dtype, any strides; out may be x itself (in
 * place). The angle is formed in fp32 ({@code (float) p * f_i}), as Hugging Face does, so large
 * positions round the same way there and here; the reference uses double.
 *
 * <p>With {@link Builder#inverse()} the rotation is by {@code -a} instead (sin negated), the
 * inverse of the forward rotation and, the rotation being orthogonal, its transpose: applied to the
 * gradient of the output it gives the gradient of the input (the backward of RoPE).
 *
 * @param x       the input {@code [B, H, S, D]}
 * @param out     the output, the same shape and dtype (may be x)
 * @param offset  the position of row 0
 * @param theta   the base
 * @param inverse rotate by {@code -a} (the backward)
 */
public record RopeParams(Tensor x, Tensor out, int offset, float theta, boolean inverse) implements OpParams {

    /** A builder: position offset 0, theta 10000. */
    public static Builder builder(Tensor x, Tensor out) {
        return new Builder(x, out);
    }

    @Override
    public String op() {
        return "rope";
    }

    @Override
    public <R> R accept(OpVisitor<R> v) {
        return v.rope(this);
    }

    /** B. */
    public int batch() {
        return x.dim(0);
    }

    /** H. */
    public int heads() {
        return x.dim(1);
    }

    /** S. */
    public int seq() {
        return x.dim(2);
    }

    /** D (even). */
    public int headDim() {
        return x.dim(3);
    }

    /** True when out is x (the same view). */
    public boolean inPlace() {
        return OpParams.sameView(x, out);
    }

    @Override
    public DType dtype() {
        return x.dtype();
    }

    @Override
    public List<Tensor> inputs() {
        return List.of(x);
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out);
    }

    @Override
    public RopeParams mapTensors(UnaryOperator<Tensor> f) {
        Tensor nx = f.apply(x);
        return new RopeParams(nx, x == out ? nx : f.apply(out), offset, theta, inverse);
    }

    /** Builder that validates every argument in {@link #build()}. */
    public static final class Builder {
        private final Tensor x, out;
        private int offset;
        private float theta = 10000f;
        private boolean inverse;

        Builder(Tensor x, Tensor out) {
            this.x = x;
            this.out = out;
        }

        /** The position of row s is {@code offset + s} (the KV-cache length when decoding); default 0. */
        public Builder offset(int offset) {
            this.offset = offset;
            return this;
        }

        /** The base theta (&gt; 1, finite); default 10000. */
        public Builder theta(float theta) {
            this.theta = theta;
            return this;
        }

        /** The inverse rotation (by {@code -a}): the backward of RoPE, applied to the output's gradient. */
        public Builder inverse() {
            this.inverse = true;
            return this;
        }

        /** Checks every argument and returns the call. */
        public RopeParams build() {
            OpParams.rank("x", x, 4);
            OpParams.rank("out", out, 4);
            Check.arg(x.dtype().isFloat(), "x.dtype", "F32, F16 or BF16", x.dtype());
            OpParams.dtype("out", out, x.dtype());
            Check.arg(Arrays.equals(x.shape(), out.shape()), "out.shape", Arrays.toString(x.shape()),
                    Arrays.toString(out.shape()));
            Check.arg(x.dim(3) >= 2 && x.dim(3) % 2 == 0, "x.shape[3] (D)", "an even number >= 2", x.dim(3));
            Check.arg(offset >= 0, "offset", ">= 0", offset);
            Check.arg((long) offset + x.dim(2) <= Integer.MAX_VALUE, "offset + S", "<= " + Integer.MAX_VALUE,
                    (long) offset + x.dim(2));
            Check.arg(Float.isFinite(theta) && theta > 1f, "theta", "a finite number > 1", theta);
            boolean same = OpParams.sameView(x, out);
            OpParams.checkNoOverlap(List.of("out"), List.of(out), List.of("x"), List.of(x), same ? x : null,
                    same ? out : null);
            return new RopeParams(x, out, offset, theta, inverse);
        }
    }
}
