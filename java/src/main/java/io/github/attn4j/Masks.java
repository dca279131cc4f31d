package io.github.attn4j;

import java.util.Arrays;
import java.util.function.UnaryOperator;

/**
 * The mask options shared by all three ops. Every part is optional and they compose: a key is
 * attended only when every present part allows it.
 *
 * <ul>
 *   <li>{@code alignment}: query row {@code i} is aligned with key {@code i + off}
 *       ({@link Alignment}); default {@link Alignment#BOTTOM_RIGHT}.
 *   <li>{@code window (left, right)}: key {@code j} is allowed iff
 *       {@code i + off - left <= j <= i + off + right}; -1 on a side means unbounded. Causal is
 *       {@code (-1, 0)}; {@code (-1, -1)} is no window.
 *   <li>{@code kvLengths[B]}: keys {@code j >= kvLengths[b]} are masked (and never read).
 *   <li>{@code qLengths[B]}: rows {@code i >= qLengths[b]} are fully masked: their outputs are 0
 *       (and LSE is -inf).
 *   <li>{@code boolMask}: BOOL {@code [B|1, H|1, Sq, Sk]} or {@code [Sq, Sk]}, true = attend.
 *   <li>{@code bias}: F32 {@code [B|1, H|1, Sq, Sk]} or {@code [Sq, Sk]}, added to the score; may
 *       hold -inf.
 *   <li>{@code alibiSlopes}: F32 {@code [H]} or {@code [B, H]}; adds
 *       {@code -slope[b,h] * |i + off - j|} to the score.
 * </ul>
 */
public record Masks(Alignment alignment, int windowLeft, int windowRight, int[] kvLengths, int[] qLengths,
        Tensor boolMask, Tensor bias, Tensor alibiSlopes) {

    /** No mask at all. */
    public static final Masks NONE = new Masks(Alignment.BOTTOM_RIGHT, -1, -1, null, null, null, null, null);

    /** Fills a null alignment with {@link Alignment#BOTTOM_RIGHT}, checks the window and copies the length arrays. */
    public Masks {
        if (alignment == null) {
            alignment = Alignment.BOTTOM_RIGHT;
        }
        Check.arg(windowLeft >= -1, "window.left", ">= -1 (-1 = unbounded)", windowLeft);
        Check.arg(windowRight >= -1, "window.right", ">= -1 (-1 = unbounded)", windowRight);
        kvLengths = kvLengths == null ? null : kvLengths.clone();
        qLengths = qLengths == null ? null : qLengths.clone();
    }

    /** Causal masking, bottom-right aligned. */
    public static Masks causal() {
        return builder().causal().build();
    }

    /** A builder with no mask set. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder seeded with these options. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.alignment = alignment;
        b.left = windowLeft;
        b.right = windowRight;
        b.kvLengths = kvLengths;
        b.qLengths = qLengths;
        b.boolMask = boolMask;
        b.bias = bias;
        b.alibi = alibiSlopes;
        return b;
    }

    /** Per-batch key lengths (a copy), or {@code null} when absent. */
    @Override
    public int[] kvLengths() {
        return kvLengths == null ? null : kvLengths.clone();
    }

    /** Per-batch query lengths (a copy), or {@code null} when absent. */
    @Override
    public int[] qLengths() {
        return qLengths == null ? null : qLengths.clone();
    }

    /** True when the window bounds at least one side. */
    public boolean hasWindow() {
        return windowLeft >= 0 || windowRight >= 0;
    }

    /** True when nothing masks or biases any score. */
    public boolean isEmpty() {
        return !hasWindow() && kvLengths == null && qLengths == null && boolMask == null && bias == null
                && alibiSlopes == null;
    }

    /** The same masks with every tensor replaced by {@code f(tensor)}. */
    public Masks map(UnaryOperator<Tensor> f) {
        return new Masks(alignment, windowLeft, windowRight, kvLengths, qLengths,
                boolMask == null ? null : f.apply(boolMask), bias == null ? null : f.apply(bias),
                alibiSlopes == null ? null : f.apply(alibiSlopes));
    }

    /** The tensors among the masks, in a fixed order (bool mask, bias, ALiBi), nulls skipped. */
    public java.util.List<Tensor> tensors() {
        java.util.List<Tensor> l = new java.util.ArrayList<>(3);
        for (Tensor t : new Tensor[] {boolMask, bias, alibiSlopes}) {
            if (t != null) {
                l.add(t);
            }
        }
        return l;
    }

    /**
     * Validates against the op's dims and returns the masks with the mask and bias as 4-D views
     * with broadcast strides (0 on broadcast dims) and ALiBi as a 2-D {@code [B, H]} view.
     */
    Masks validated(int b, int h, int sq, int sk) {
        if (kvLengths != null) {
            Check.eq("kvLengths.length", b, kvLengths.length);
            for (int i = 0; i < b; i++) {
                Check.arg(kvLengths[i] >= 0 && kvLengths[i] <= sk, "kvLengths[" + i + "]", "in [0, " + sk + "]",
                        kvLengths[i]);
            }
        }
        if (qLengths != null) {
            Check.eq("qLengths.length", b, qLengths.length);
            for (int i = 0; i < b; i++) {
                Check.arg(qLengths[i] >= 0 && qLengths[i] <= sq, "qLengths[" + i + "]", "in [0, " + sq + "]",
                        qLengths[i]);
            }
        }
        Tensor m = boolMask == null ? null : broadcast4("mask", boolMask, DType.BOOL, b, h, sq, sk);
        Tensor bi = bias == null ? null : broadcast4("bias", bias, DType.F32, b, h, sq, sk);
        Tensor al = null;
        if (alibiSlopes != null) {
            Tensor a = alibiSlopes;
            Check.arg(a.dtype() == DType.F32, "alibi.dtype", DType.F32, a.dtype());
            if (a.rank() == 1) {
                Check.eq("alibi.shape[0] (heads)", h, a.dim(0));
                al = a.view(a.offset(), new int[] {b, h}, new long[] {0, a.stride(0)});
            } else {
                Check.arg(a.rank() == 2, "alibi.rank", "1 ([H]) or 2 ([B, H])", a.rank());
                Check.arg(a.dim(0) == b || a.dim(0) == 1, "alibi.shape[0] (batch)", b + " or 1", a.dim(0));
                Check.eq("alibi.shape[1] (heads)", h, a.dim(1));
                al = a.view(a.offset(), new int[] {b, h}, new long[] {a.dim(0) == 1 ? 0 : a.stride(0), a.stride(1)});
            }
        }
        return new Masks(alignment, windowLeft, windowRight, kvLengths, qLengths, m, bi, al);
    }

    private static Tensor broadcast4(String name, Tensor t, DType want, int b, int h, int sq, int sk) {
        Check.arg(t.dtype() == want, name + ".dtype", want, t.dtype());
        if (t.rank() == 2) {
            Check.arg(t.dim(0) == sq && t.dim(1) == sk, name + ".shape", "[" + sq + ", " + sk + "]",
                    Arrays.toString(t.shape()));
            return t.view(t.offset(), new int[] {b, h, sq, sk}, new long[] {0, 0, t.stride(0), t.stride(1)});
        }
        Check.arg(t.rank() == 4, name + ".rank", "4 ([B|1, H|1, Sq, Sk]) or 2 ([Sq, Sk])", t.rank());
        boolean ok = (t.dim(0) == b || t.dim(0) == 1) && (t.dim(1) == h || t.dim(1) == 1) && t.dim(2) == sq
                && t.dim(3) == sk;
        Check.arg(ok, name + ".shape", "[" + b + "|1, " + h + "|1, " + sq + ", " + sk + "]", Arrays.toString(t.shape()));
        return t.view(t.offset(), new int[] {b, h, sq, sk}, new long[] {t.dim(0) == 1 ? 0 : t.stride(0),
                t.dim(1) == 1 ? 0 : t.stride(1), t.stride(2), t.stride(3)});
    }

    /** True when key {@code j} of row {@code i} in batch {@code b} passes the window and length bounds. */
    public boolean allowsBounds(int bIdx, int i, int j, int sq, int sk) {
        int off = alignment.offset(sq, sk);
        if (windowLeft >= 0 && j < (long) i + off - windowLeft) {
            return false;
        }
        if (windowRight >= 0 && j > (long) i + off + windowRight) {
            return false;
        }
        if (kvLengths != null && j >= kvLengths[bIdx]) {
            return false;
        }
        return qLengths == null || i < qLengths[bIdx];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Masks m && alignment == m.alignment && windowLeft == m.windowLeft
                && windowRight == m.windowRight && Arrays.equals(kvLengths, m.kvLengths)
                && Arrays.equals(qLengths, m.qLengths) && boolMask == m.boolMask && bias == m.bias
                && alibiSlopes == m.alibiSlopes;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(alignment, windowLeft, windowRight, Arrays.hashCode(kvLengths),
                Arrays.hashCode(qLengths));
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("Masks[").append(alignment);
        if (hasWindow()) {
            s.append(" window(").append(windowLeft).append(',').append(windowRight).append(')');
        }
        if (kvLengths != null) {
            s.append(" kvLengths=").append(Arrays.toString(kvLengths));
        }
        if (qLengths != null) {
            s.append(" qLengths=").append(Arrays.toString(qLengths));
        }
        if (boolMask != null) {
            s.append(" mask");
        }
        if (bias != null) {
            s.append(" bias");
        }
        if (alibiSlopes != null) {
            s.append(" alibi");
        }
        return s.append(']').toString();
    }

    /** Builder for {@link Masks}. */
    public static final class Builder {
        private Alignment alignment = Alignment.BOTTOM_RIGHT;
        private int left = -1;
        private int right = -1;
        private int[] kvLengths;
        private int[] qLengths;
        private Tensor boolMask;
        private Tensor bias;
        private Tensor alibi;

        /** Where query row 0 sits on the key axis; default {@link Alignment#BOTTOM_RIGHT}. */
        public Builder alignment(Alignment a) {
            this.alignment = java.util.Objects.requireNonNull(a, "alignment");
            return this;
        }

        /** Window {@code (left, right)}; -1 = unbounded on that side. */
        public Builder window(int left, int right) {
            this.left = left;
            this.right = right;
            return this;
        }

        /** The window {@code (-1, 0)}. */
        public Builder causal() {
            return window(-1, 0);
        }

        /** Valid keys per batch ({@code [B]}, each in {@code [0, Sk]}); keys past them are masked and never read. */
        public Builder kvLengths(int... lengths) {
            this.kvLengths = lengths;
            return this;
        }

        /** Valid query rows per batch ({@code [B]}, each in {@code [0, Sq]}); rows past them are fully masked. */
        public Builder qLengths(int... lengths) {
            this.qLengths = lengths;
            return this;
        }

        /** BOOL {@code [B|1, H|1, Sq, Sk]} or {@code [Sq, Sk]}, true = attend. */
        public Builder boolMask(Tensor mask) {
            this.boolMask = mask;
            return this;
        }

        /** F32 {@code [B|1, H|1, Sq, Sk]} or {@code [Sq, Sk]}, added to the scores. */
        public Builder bias(Tensor bias) {
            this.bias = bias;
            return this;
        }

        /** F32 {@code [H]} or {@code [B, H]}. */
        public Builder alibi(Tensor slopes) {
            this.alibi = slopes;
            return this;
        }

        /** The mask set; shapes are checked against the op in the op's {@code build()}. */
        public Masks build() {
            return new Masks(alignment, left, right, kvLengths, qLengths, boolMask, bias, alibi);
        }
    }
}
