package io.github.attn4j;

import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * A batched GEMM, {@code C[z] = alpha * op(A[z]) . op(B[z]) + beta * C[z]} for z in
 * {@code [0, batch)}, with fp32 accumulation over F32, F16 or BF16 storage (one dtype for A, B and
 * C).
 *
 * <p>Shapes: {@code op(A)} is {@code [M, K]}: A is {@code [batch|1, M, K]}, or {@code [batch|1, K, M]}
 * when {@code transA}; {@code op(B)} is {@code [K, N]}: B is {@code [batch|1, K, N]}, or
 * {@code [batch|1, N, K]} when {@code transB}; C is {@code [batch, M, N]}. A rank-2 tensor is a
 * batch of one, and an A or B with batch 1 is shared by every z (its batch stride is ignored). Any
 * strides: a transpose is the same as swapping the two matrix strides. With {@code beta == 0} C is
 * not read (a NaN already in C does not propagate), as in BLAS. C may not overlap A or B.
 */
public record GemmParams(Tensor a, Tensor b, Tensor c, boolean transA, boolean transB, float alpha, float beta)
        implements OpParams {

    /** A builder for {@code C = A . B} (no transposes, alpha 1, beta 0). */
    public static Builder builder(Tensor a, Tensor b, Tensor c) {
        return new Builder(a, b, c);
    }

    @Override
    public String op() {
        return "gemm";
    }

    @Override
    public <R> R accept(OpVisitor<R> v) {
        return v.gemm(this);
    }

    /** The number of products (C's leading dim; 1 for a rank-2 C). */
    public int batch() {
        return c.rank() == 3 ? c.dim(0) : 1;
    }

    /** Rows of op(A) and C. */
    public int m() {
        return c.dim(c.rank() - 2);
    }

    /** Columns of op(B) and C. */
    public int n() {
        return c.dim(c.rank() - 1);
    }

    /** The contraction length. */
    public int k() {
        return a.dim(a.rank() - (transA ? 2 : 1));
    }

    /** The element strides of op(A) as {@code (z, m, k)}; z is 0 for a shared A. */
    public long[] aStrides() {
        return opStrides(a, transA);
    }

    /** The element strides of op(B) as {@code (z, k, n)}; z is 0 for a shared B. */
    public long[] bStrides() {
        return opStrides(b, transB);
    }

    /** The element strides of C as {@code (z, m, n)}. */
    public long[] cStrides() {
        return opStrides(c, false);
    }

    private static long[] opStrides(Tensor t, boolean trans) {
        int r = t.rank();
        long sz = r == 3 && t.dim(0) > 1 ? t.stride(0) : 0;
        long s0 = t.stride(r - 2), s1 = t.stride(r - 1);
        return trans ? new long[] {sz, s1, s0} : new long[] {sz, s0, s1};
    }

    @Override
    public DType dtype() {
        return c.dtype();
    }

    @Override
    public List<Tensor> inputs() {
        return beta != 0f ? List.of(a, b, c) : List.of(a, b);
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(c);
    }

    @Override
    public GemmParams mapTensors(UnaryOperator<Tensor> f) {
        return new GemmParams(f.apply(a), f.apply(b), f.apply(c), transA, transB, alpha, beta);
    }

    /** Builder that validates every argument in {@link #build()}. */
    public static final class Builder {
        private final Tensor a, b, c;
        private boolean transA, transB;
        private float alpha = 1f, beta = 0f;

        Builder(Tensor a, Tensor b, Tensor c) {
            this.a = a;
            this.b = b;
            this.c = c;
        }

        /** Use A transposed: A is stored {@code [batch|1, K, M]}. */
        public Builder transA(boolean t) {
            this.transA = t;
            return this;
        }

        /** Use B transposed: B is stored {@code [batch|1, N, K]} (a PyTorch {@code Linear} weight). */
        public Builder transB(boolean t) {
            this.transB = t;
            return this;
        }

        /** The factor of the product (finite; default 1). */
        public Builder alpha(float alpha) {
            this.alpha = alpha;
            return this;
        }

        /** The factor of C's old contents (finite; default 0, which does not read C). */
        public Builder beta(float beta) {
            this.beta = beta;
            return this;
        }

        /** Checks every argument and returns the call. */
        public GemmParams build() {
            Check.notNull("a", a);
            Check.notNull("b", b);
            Check.notNull("c", c);
            for (Tensor t : new Tensor[] {a, b, c}) {
                String n = t == a ? "a" : t == b ? "b" : "c";
                Check.arg(t.rank() == 2 || t.rank() == 3, n + ".rank", "2 or 3",
                        t.rank() + " (shape " + Arrays.toString(t.shape()) + ")");
            }
            DType dt = c.dtype();
            Check.arg(dt.isFloat(), "c.dtype", "F32, F16 or BF16", dt);
            OpParams.dtype("a", a, dt);
            OpParams.dtype("b", b, dt);
            OpParams.finite("alpha", alpha);
            OpParams.finite("beta", beta);
            int batch = c.rank() == 3 ? c.dim(0) : 1;
            int m = c.dim(c.rank() - 2), n = c.dim(c.rank() - 1);
            int ar = a.rank(), br = b.rank();
            int am = a.dim(ar - (transA ? 1 : 2)), ak = a.dim(ar - (transA ? 2 : 1));
            int bk = b.dim(br - (transB ? 1 : 2)), bn = b.dim(br - (transB ? 2 : 1));
            Check.arg(m >= 1 && n >= 1, "c.shape", "M >= 1 and N >= 1", Arrays.toString(c.shape()));
            Check.arg(batch >= 1, "c.shape[0] (batch)", ">= 1", batch);
            Check.arg(ak >= 1, "a.shape (K)", ">= 1", Arrays.toString(a.shape()));
            Check.arg(am == m, "a.shape" + (transA ? " (transposed: [K, M])" : " ([M, K])"), "M = " + m + " rows of op(A)",
                    Arrays.toString(a.shape()));
            Check.arg(bn == n, "b.shape" + (transB ? " (transposed: [N, K])" : " ([K, N])"), "N = " + n
                    + " columns of op(B)", Arrays.toString(b.shape()));
            Check.arg(bk == ak, "b.shape (K)", "K = " + ak + " (from a.shape " + Arrays.toString(a.shape()) + ")",
                    Arrays.toString(b.shape()));
            for (Tensor t : new Tensor[] {a, b}) {
                if (t.rank() == 3) {
                    Check.arg(t.dim(0) == batch || t.dim(0) == 1, (t == a ? "a" : "b") + ".shape[0] (batch)",
                            batch + " or 1", t.dim(0));
                }
            }
            OpParams.checkNoOverlap(List.of("c"), List.of(c), List.of("a", "b"), List.of(a, b), null, null);
            return new GemmParams(a, b, c, transA, transB, alpha, beta);
        }
    }
}
