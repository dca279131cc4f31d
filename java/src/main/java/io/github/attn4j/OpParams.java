package io.github.attn4j;

import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The validated arguments of one op call. There is one record per op; every backend consumes the
 * same record. Records are built through their builders, which check every argument before
 * anything native runs.
 */
public sealed interface OpParams permits SdpaParams, SoftmaxParams, SoftmaxBackwardParams, AdditiveParams,
        SdpaBackwardParams, AdditiveBackwardParams, MergeParams, KvAppendParams, GemmParams, RopeParams {
    /** The op's name: "sdpa", "softmax", "softmax_backward", "additive", "sdpa_backward", "additive_backward", "merge", "kv_append". */
    String op();

    /** Calls the visitor's method for this op: the one dispatch over the ops. */
    <R> R accept(OpVisitor<R> visitor);

    /** Tensors read by the op (mask tensors included), nulls skipped. */
    List<Tensor> inputs();

    /** Tensors written by the op, nulls skipped. */
    List<Tensor> outputs();

    /** The same call with every tensor replaced by {@code f(tensor)} (used to stage host data). */
    OpParams mapTensors(UnaryOperator<Tensor> f);

    /** The float dtype of the op's data tensors. */
    DType dtype();

    /** Checks that no output overlaps an input or another output (exact in-place views may be allowed). */
    static void checkNoOverlap(List<String> outNames, List<Tensor> outs, List<String> inNames, List<Tensor> ins,
            Tensor allowedInPlaceIn, Tensor allowedInPlaceOut) {
        for (int o = 0; o < outs.size(); o++) {
            Tensor out = outs.get(o);
            if (out == null) {
                continue;
            }
            checkWritable(outNames.get(o), out);
            for (int i = 0; i < ins.size(); i++) {
                Tensor in = ins.get(i);
                if (in == null || (in == allowedInPlaceIn && out == allowedInPlaceOut)) {
                    continue;
                }
                Check.arg(!overlaps(out, in), outNames.get(o), "memory disjoint from " + inNames.get(i),
                        "an overlapping view of " + out.memory().describe());
            }
            for (int p = o + 1; p < outs.size(); p++) {
                Tensor other = outs.get(p);
                if (other != null) {
                    Check.arg(!overlaps(out, other), outNames.get(o), "memory disjoint from " + outNames.get(p),
                            "an overlapping view of " + out.memory().describe());
                }
            }
        }
    }

    /**
     * True when the byte ranges the two views can reach intersect (a conservative test). Host
     * memory is compared by its storage, so two wrappers of one array or buffer, or of slices of
     * one buffer, are the same memory ({@link HostMemory#mayOverlap}).
     */
    static boolean overlaps(Tensor a, Tensor b) {
        if (a.numel() == 0 || b.numel() == 0) {
            return false;
        }
        long a0 = a.offset() * a.dtype().bytes();
        long a1 = a.spanEnd() * a.dtype().bytes();
        long b0 = b.offset() * b.dtype().bytes();
        long b1 = b.spanEnd() * b.dtype().bytes();
        if (a.memory() == b.memory()) {
            return a0 < b1 && b0 < a1;
        }
        return a.memory() instanceof HostMemory ha && b.memory() instanceof HostMemory hb
                && ha.mayOverlap(a0, a1, hb, b0, b1);
    }

    /** Same dtype, dims, strides and first byte: an exact in-place pair (also across two wrappers). */
    static boolean sameView(Tensor a, Tensor b) {
        if (a.dtype() != b.dtype() || !java.util.Arrays.equals(a.shape(), b.shape())
                || !java.util.Arrays.equals(a.strides(), b.strides())) {
            return false;
        }
        if (a.memory() == b.memory()) {
            return a.offset() == b.offset();
        }
        return a.memory() instanceof HostMemory ha && b.memory() instanceof HostMemory hb
                && ha.sameByte(a.offset() * a.dtype().bytes(), hb, b.offset() * b.dtype().bytes());
    }

    /**
     * Checks that an output view never reaches one element twice: a 0 stride on a dim of size
     * &gt; 1 would have several threads write one element (a broadcast is fine for inputs only).
     */
    static void checkWritable(String name, Tensor t) {
        if (t == null) {
            return;
        }
        for (int i = 0; i < t.rank(); i++) {
            Check.arg(t.dim(i) <= 1 || t.stride(i) != 0, name + ".strides[" + i + "]",
                    "a non-zero stride on a dim of size > 1 (an output may not write one element twice)",
                    java.util.Arrays.toString(t.strides()) + " for shape " + java.util.Arrays.toString(t.shape()));
        }
    }

    /** Checks a tensor's rank, dtype and float-ness, returning it. */
    static Tensor rank(String name, Tensor t, int rank) {
        Check.notNull(name, t);
        Check.arg(t.rank() == rank, name + ".rank", rank, t.rank() + " (shape " + java.util.Arrays.toString(t.shape()) + ")");
        return t;
    }

    /** Checks a float dtype equal to {@code want}. */
    static void dtype(String name, Tensor t, DType want) {
        Check.arg(t.dtype() == want, name + ".dtype", want, t.dtype());
    }

    /** Checks that a dim has the expected size. */
    static void dim(String name, Tensor t, int axis, String axisName, int want) {
        Check.arg(t.dim(axis) == want, name + ".shape[" + axis + "] (" + axisName + ")", want,
                t.dim(axis) + " (shape " + java.util.Arrays.toString(t.shape()) + ")");
    }

    /** Checks a finite scale. */
    static void finite(String name, float v) {
        Check.arg(Float.isFinite(v), name, "a finite number", v);
    }
}
