package io.github.attn4j;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Every argument is validated before anything runs, and every message names the argument and
 * gives the expected and the actual value ("name: expected X, got Y").
 */
class ValidationTest {
    /** Asserts an IllegalArgumentException whose message starts with {@code name}, then holds expected and got. */
    static void bad(Executable e, String name, String expected, String got) {
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
        String m = x.getMessage();
        assertTrue(m.startsWith(name + ": expected "), "message '" + m + "' should start with '" + name + ": expected'");
        assertTrue(m.contains(expected), "message '" + m + "' should contain the expected '" + expected + "'");
        assertTrue(m.contains(", got " + got), "message '" + m + "' should contain ', got " + got + "'");
    }

    static Tensor f(int... shape) {
        return Tensor.of(new float[Math.toIntExact(Tensor.numel(shape))], shape);
    }

    static Tensor h(int... shape) {
        return Tensor.ofHalf(DType.F16, new short[Math.toIntExact(Tensor.numel(shape))], shape);
    }

    static Tensor bool(int... shape) {
        return Tensor.ofBool(new boolean[Math.toIntExact(Tensor.numel(shape))], shape);
    }

    // B=2, Hq=4, Hkv=2, Sq=3, Sk=5, D=8, Dv=6
    static SdpaParams.Builder sdpa() {
        return SdpaParams.builder(f(2, 4, 3, 8), f(2, 2, 5, 8), f(2, 2, 5, 6), f(2, 4, 3, 6));
    }

    static SdpaParams.Builder sdpa(Tensor q, Tensor k, Tensor v, Tensor o) {
        return SdpaParams.builder(q, k, v, o);
    }

    @Test
    void tensors() {
        float[] a = new float[10];
        HostMemory m = HostMemory.of(a);
        bad(() -> Tensor.of(m, DType.F32, new int[] {2, 5}, new long[] {5}, 0), "strides", "2 strides", "1");
        bad(() -> Tensor.of(m, DType.F32, new int[] {-1, 5}, new long[] {5, 1}, 0), "shape[0]", ">= 0", "-1");
        bad(() -> Tensor.of(m, DType.F32, new int[] {2, 5}, new long[] {5, -1}, 0), "strides[1]", ">= 0", "-1");
        bad(() -> Tensor.of(m, DType.F32, new int[] {2, 5}, new long[] {5, 1}, -1), "offset", ">= 0", "-1");
        bad(() -> Tensor.of(m, DType.F16, new int[] {2, 5}, new long[] {5, 1}, 0), "dtype", "stored in host float[10]",
                "F16");
        bad(() -> Tensor.of(m, DType.F32, new int[] {2, 5}, new long[] {5, 1}, 1), "memory", "at least 44 bytes",
                "40 bytes");
        bad(() -> Tensor.ofHalf(DType.F32, new short[1], 1), "dtype", "F16 or BF16", "F32");
        bad(() -> Layout.parse("bsdh"), "layout", "bhsd or bshd", "'bsdh'");
        bad(() -> Alignment.parse("left"), "align", "top-left or bottom-right", "'left'");
    }

    @Test
    void sdpaShapesAndDtypes() {
        assertDoesNotThrow(() -> sdpa().build());
        bad(() -> sdpa(null, f(2, 2, 5, 8), f(2, 2, 5, 6), f(2, 4, 3, 6)).build(), "q", "a tensor", "null");
        bad(() -> sdpa(f(4, 3, 8), f(2, 2, 5, 8), f(2, 2, 5, 6), f(2, 4, 3, 6)).build(), "q.rank", "4", "3");
        bad(() -> sdpa(f(2, 4, 3, 8), f(2, 5, 8), f(2, 2, 5, 6), f(2, 4, 3, 6)).build(), "k.rank", "4", "3");
        bad(() -> sdpa(f(2, 4, 3, 8), f(2, 2, 5, 8), f(2, 5, 6), f(2, 4, 3, 6)).build(), "v.rank", "4", "3");
        bad(() -> sdpa(f(2, 4, 3, 8), f(2, 2, 5, 8), f(2, 2, 5, 6), f(2, 4, 3)).build(), "o.rank", "4", "3");
        bad(() -> sdpa(bool(2, 4, 3, 8), f(2, 2, 5, 8), f(2, 2, 5, 6), f(2, 4, 3, 6)).build(), "q.dtype",
                "F32, F16 or BF16", "BOOL");
        bad(() -> sdpa(f(2, 4, 3, 8), h(2, 2, 5, 8), f(2, 2, 5, 6), f(2, 4, 3, 6)).build(), "k.dtype", "F32", "F16");
        bad(() -> sdpa(f(2, 4, 3, 8), f(2, 2, 5, 8), h(2, 2, 5, 6), f(2, 4, 3, 6)).build(), "v.dtype", "F32", "F16");
        bad(() -> sdpa(f(2, 4, 3, 8), f(2, 2, 5, 8), f(2, 2, 5, 6), h(2, 4, 3, 6)).build(), "o.dtype", "F32", "F16");
        bad(() -> sdpa(f(2, 4, 0, 8), f(2, 2, 5, 8), f(2, 2, 5, 6), f(2, 4, 0, 6)).build(), "q.shape[2]", ">= 1", "0");
        bad(() -> sdpa(f(2, 4, 3, 8), f(2, 2, 0, 8), f(2, 2, 0, 6), f(2, 4, 3, 6)).build(), "k.shape[2]", ">= 1", "0");
        bad(() -> sdpa(f(2, 4, 3, 8), f(1, 2, 5, 8), f(2, 2, 5, 6), f(2, 4, 3, 6)).build(), "k.shape[0] (B)", "2", "1");
        bad(() -> sdpa(f(2, 4, 3, 8), f(2, 2, 5, 7), f(2, 2, 5, 6), f(2, 4, 3, 6)).build(), "k.shape[3] (D)", "8", "7");
        bad(() -> sdpa(f(2, 4, 3, 8), f(2, 2, 5, 8), f(1, 2, 5, 6), f(2, 4, 3, 6)).build(), "v.shape[0] (B)", "2", "1");
        bad(() -> sdpa(f(2, 4, 3, 8), f(2, 2, 5, 8), f(2, 1, 5, 6), f(2, 4, 3, 6)).build(), "v.shape[1] (Hkv)", "2",
                "1");
        bad(() -> sdpa(f(2, 4, 3, 8), f(2, 2, 5, 8), f(2, 2, 4, 6), f(2, 4, 3, 6)).build(), "v.shape[2] (Sk)", "5", "4");
        bad(() -> sdpa(f(2, 4, 3, 8), f(2, 3, 5, 8), f(2, 3, 5, 6), f(2, 4, 3, 6)).build(), "k.shape[1] (Hkv)",
                "a divisor of Hq = 4", "3");
        bad(() -> sdpa(f(2, 4, 3, 8), f(2, 2, 5, 8), f(2, 2, 5, 6), f(2, 4, 3, 8)).build(), "o.shape", "[2, 4, 3, 6]",
                "[2, 4, 3, 8]");
        bad(() -> sdpa().lse(f(2, 4, 3, 1)).build(), "lse.rank", "3", "4");
        bad(() -> sdpa().lse(h(2, 4, 3)).build(), "lse.dtype", "F32", "F16");
        bad(() -> sdpa().lse(f(2, 4, 4)).build(), "lse.shape", "[2, 4, 3]", "[2, 4, 4]");
        bad(() -> sdpa().scale(Float.NaN).build(), "scale", "a finite number", "NaN");
        bad(() -> sdpa().scale(Float.POSITIVE_INFINITY).build(), "scale", "a finite number", "Infinity");
        bad(() -> sdpa().softcap(-1f).build(), "softcap", "a finite number >= 0", "-1.0");
        bad(() -> sdpa().softcap(Float.NaN).build(), "softcap", "a finite number >= 0", "NaN");
    }

    @Test
    void outputsMayNotOverlapInputs() {
        float[] shared = new float[2 * 4 * 3 * 8];
        Tensor q = Tensor.of(shared, 2, 4, 3, 8);
        Tensor o = Tensor.of(HostMemory.of(shared), DType.F32, new int[] {2, 4, 3, 6}, Tensor.contiguousStrides(2, 4, 3, 6),
                0);
        bad(() -> sdpa(q, f(2, 2, 5, 8), f(2, 2, 5, 6), o).build(), "o", "memory disjoint from q", "an overlapping view");
        Tensor x = f(4, 6);
        Tensor y = x.view(0, new int[] {3, 6}, new long[] {6, 1});
        Tensor shifted = Tensor.of(x.memory(), DType.F32, new int[] {3, 6}, new long[] {6, 1}, 6);
        Tensor x3 = Tensor.of(x.memory(), DType.F32, new int[] {3, 6}, new long[] {6, 1}, 0);
        bad(() -> SoftmaxParams.builder(x3, shifted).build(), "y", "memory disjoint from x", "an overlapping view");
        assertDoesNotThrow(() -> SoftmaxParams.builder(y, y).build()); // exactly in place is fine
        assertDoesNotThrow(() -> SoftmaxParams.builder(x3, Tensor.of(x.memory(), DType.F32, new int[] {3, 6},
                new long[] {6, 1}, 0)).build()); // an equal view is in place too
        Tensor dy = f(4, 6);
        Tensor dyShifted = Tensor.of(dy.memory(), DType.F32, new int[] {3, 6}, new long[] {6, 1}, 6);
        Tensor dy3 = Tensor.of(dy.memory(), DType.F32, new int[] {3, 6}, new long[] {6, 1}, 0);
        bad(() -> SoftmaxBackwardParams.builder(f(3, 6), dy3, dyShifted).build(), "dx", "memory disjoint from dy",
                "an overlapping view");
        assertDoesNotThrow(() -> SoftmaxBackwardParams.builder(f(3, 6), dy3, dy3).build());
    }

    @Test
    void masks() {
        bad(() -> Masks.builder().window(-2, 0).build(), "window.left", ">= -1", "-2");
        bad(() -> Masks.builder().window(0, -3).build(), "window.right", ">= -1", "-3");
        bad(() -> sdpa().masks(Masks.builder().kvLengths(5).build()).build(), "kvLengths.length", "2", "1");
        bad(() -> sdpa().masks(Masks.builder().kvLengths(5, 6).build()).build(), "kvLengths[1]", "in [0, 5]", "6");
        bad(() -> sdpa().masks(Masks.builder().kvLengths(-1, 5).build()).build(), "kvLengths[0]", "in [0, 5]", "-1");
        bad(() -> sdpa().masks(Masks.builder().qLengths(1, 2, 3).build()).build(), "qLengths.length", "2", "3");
        bad(() -> sdpa().masks(Masks.builder().qLengths(4, 2).build()).build(), "qLengths[0]", "in [0, 3]", "4");
        bad(() -> sdpa().masks(Masks.builder().boolMask(f(3, 5)).build()).build(), "mask.dtype", "BOOL", "F32");
        bad(() -> sdpa().masks(Masks.builder().boolMask(bool(3, 4)).build()).build(), "mask.shape", "[3, 5]", "[3, 4]");
        bad(() -> sdpa().masks(Masks.builder().boolMask(bool(2, 3, 5)).build()).build(), "mask.rank",
                "4 ([B|1, H|1, Sq, Sk]) or 2", "3");
        bad(() -> sdpa().masks(Masks.builder().boolMask(bool(3, 4, 3, 5)).build()).build(), "mask.shape",
                "[2|1, 4|1, 3, 5]", "[3, 4, 3, 5]");
        bad(() -> sdpa().masks(Masks.builder().boolMask(bool(2, 2, 3, 5)).build()).build(), "mask.shape",
                "[2|1, 4|1, 3, 5]", "[2, 2, 3, 5]");
        bad(() -> sdpa().masks(Masks.builder().bias(bool(3, 5)).build()).build(), "bias.dtype", "F32", "BOOL");
        bad(() -> sdpa().masks(Masks.builder().bias(f(1, 1, 5, 3)).build()).build(), "bias.shape", "[2|1, 4|1, 3, 5]",
                "[1, 1, 5, 3]");
        bad(() -> sdpa().masks(Masks.builder().alibi(h(4)).build()).build(), "alibi.dtype", "F32", "F16");
        bad(() -> sdpa().masks(Masks.builder().alibi(f(2)).build()).build(), "alibi.shape[0] (heads)", "4", "2");
        bad(() -> sdpa().masks(Masks.builder().alibi(f(3, 4)).build()).build(), "alibi.shape[0] (batch)", "2 or 1", "3");
        bad(() -> sdpa().masks(Masks.builder().alibi(f(2, 3)).build()).build(), "alibi.shape[1] (heads)", "4", "3");
        bad(() -> sdpa().masks(Masks.builder().alibi(f(1, 2, 4)).build()).build(), "alibi.rank", "1 ([H]) or 2", "3");
        assertDoesNotThrow(() -> sdpa().masks(Masks.builder().boolMask(bool(1, 4, 3, 5)).bias(f(2, 1, 3, 5))
                .alibi(f(1, 4)).kvLengths(0, 5).qLengths(3, 0).window(0, 2).build()).build());
    }

    @Test
    void softmax() {
        bad(() -> SoftmaxParams.builder(null, f(2, 3)).build(), "x", "a tensor", "null");
        bad(() -> SoftmaxParams.builder(f(2, 3), null).build(), "y", "a tensor", "null");
        bad(() -> SoftmaxParams.builder(f(1, 2, 3), f(1, 2, 3)).build(), "x.rank", "2 ([R, N]) or 4", "3");
        bad(() -> SoftmaxParams.builder(f(2, 3), f(2, 3, 1)).build(), "y.rank", "2 ([R, N]) or 4", "3");
        bad(() -> SoftmaxParams.builder(bool(2, 3), bool(2, 3)).build(), "x.dtype", "F32, F16 or BF16", "BOOL");
        bad(() -> SoftmaxParams.builder(f(2, 3), h(2, 3)).build(), "y.dtype", "F32", "F16");
        bad(() -> SoftmaxParams.builder(f(2, 3), f(3, 2)).build(), "y.shape", "[2, 3]", "[3, 2]");
        bad(() -> SoftmaxParams.builder(f(0, 3), f(0, 3)).build(), "x.shape[2]", ">= 1", "0");
        bad(() -> SoftmaxParams.builder(f(2, 3), f(2, 3)).scale(Float.NaN).build(), "scale", "a finite number", "NaN");
        bad(() -> SoftmaxParams.builder(f(2, 3), f(2, 3)).masks(Masks.builder().kvLengths(1, 2).build()).build(),
                "kvLengths.length", "1", "2");
        bad(() -> SoftmaxParams.builder(f(2, 3), f(2, 3)).masks(Masks.builder().boolMask(bool(3, 2)).build()).build(),
                "mask.shape", "[2, 3]", "[3, 2]");
    }

    @Test
    void softmaxBackward() {
        bad(() -> SoftmaxBackwardParams.builder(null, f(2, 3), f(2, 3)).build(), "y", "a tensor", "null");
        bad(() -> SoftmaxBackwardParams.builder(f(2, 3), f(2, 3, 1), f(2, 3)).build(), "dy.rank", "2 ([R, N]) or 4",
                "3");
        bad(() -> SoftmaxBackwardParams.builder(bool(2, 3), bool(2, 3), bool(2, 3)).build(), "y.dtype",
                "F32, F16 or BF16", "BOOL");
        bad(() -> SoftmaxBackwardParams.builder(f(2, 3), h(2, 3), f(2, 3)).build(), "dy.dtype", "F32", "F16");
        bad(() -> SoftmaxBackwardParams.builder(f(2, 3), f(2, 3), h(2, 3)).build(), "dx.dtype", "F32", "F16");
        bad(() -> SoftmaxBackwardParams.builder(f(2, 3), f(2, 4), f(2, 3)).build(), "dy.shape", "[2, 3]", "[2, 4]");
        bad(() -> SoftmaxBackwardParams.builder(f(2, 3), f(2, 3), f(1, 3)).build(), "dx.shape", "[2, 3]", "[1, 3]");
        bad(() -> SoftmaxBackwardParams.builder(f(2, 3), f(2, 3), f(2, 3)).scale(Float.NEGATIVE_INFINITY).build(),
                "scale", "a finite number", "-Infinity");
        Tensor y = f(2, 3);
        bad(() -> SoftmaxBackwardParams.builder(y, f(2, 3), y).build(), "dx", "memory disjoint from y",
                "an overlapping view");
    }

    // B=2, H=3, Sq=4, Sk=5, A=6, Dv=7, Dq=8, Dk=9
    static AdditiveParams.Builder add(Tensor q, Tensor k, Tensor v, Tensor w, Tensor out) {
        return AdditiveParams.builder(q, k, v, w, out);
    }

    static AdditiveParams.Builder add() {
        return add(f(2, 3, 4, 6), f(2, 3, 5, 6), f(2, 3, 5, 7), f(6), f(2, 3, 4, 7));
    }

    static AdditiveParams.Builder raw() {
        return add(f(2, 3, 4, 8), f(2, 3, 5, 9), f(2, 3, 5, 7), f(6), f(2, 3, 4, 7));
    }

    /** The vector inside the tanh is tanhBias; the old name bias(..) still sets it, and is not the score bias. */
    @Test
    @SuppressWarnings("deprecation")
    void additiveTanhBiasAndItsOldName() {
        Tensor b = f(6);
        assertSame(b, add().tanhBias(b).build().b());
        AdditiveParams old = add().bias(b).build();
        assertSame(b, old.b());
        assertSame(null, old.masks().bias());
        bad(() -> add().bias(f(5)).build(), "b.shape[0] (A)", "6", "5");
    }

    @Test
    void additive() {
        assertDoesNotThrow(() -> add().tanhBias(f(6)).weights(f(2, 3, 4, 5)).build());
        assertDoesNotThrow(() -> raw().projections(f(6, 8), f(6, 9)).build());
        bad(() -> add(f(3, 4, 6), f(2, 3, 5, 6), f(2, 3, 5, 7), f(6), f(2, 3, 4, 7)).build(), "q.rank", "4", "3");
        bad(() -> add(f(2, 3, 4, 6), f(3, 5, 6), f(2, 3, 5, 7), f(6), f(2, 3, 4, 7)).build(), "k.rank", "4", "3");
        bad(() -> add(f(2, 3, 4, 6), f(2, 3, 5, 6), f(3, 5, 7), f(6), f(2, 3, 4, 7)).build(), "v.rank", "4", "3");
        bad(() -> add(f(2, 3, 4, 6), f(2, 3, 5, 6), f(2, 3, 5, 7), f(1, 6), f(2, 3, 4, 7)).build(), "w.rank", "1", "2");
        bad(() -> add(f(2, 3, 4, 6), f(2, 3, 5, 6), f(2, 3, 5, 7), f(6), f(3, 4, 7)).build(), "out.rank", "4", "3");
        bad(() -> add(f(2, 3, 4, 6), f(2, 3, 5, 6), bool(2, 3, 5, 7), f(6), f(2, 3, 4, 7)).build(), "v.dtype",
                "F32, F16 or BF16", "BOOL");
        bad(() -> add(h(2, 3, 4, 6), f(2, 3, 5, 6), f(2, 3, 5, 7), f(6), f(2, 3, 4, 7)).build(), "q.dtype", "F32", "F16");
        bad(() -> add(f(2, 3, 4, 6), h(2, 3, 5, 6), f(2, 3, 5, 7), f(6), f(2, 3, 4, 7)).build(), "k.dtype", "F32", "F16");
        bad(() -> add(f(2, 3, 4, 6), f(2, 3, 5, 6), f(2, 3, 5, 7), h(6), f(2, 3, 4, 7)).build(), "w.dtype", "F32", "F16");
        bad(() -> add(f(2, 3, 4, 6), f(2, 3, 5, 6), f(2, 3, 5, 7), f(6), h(2, 3, 4, 7)).build(), "out.dtype", "F32",
                "F16");
        bad(() -> add(f(2, 3, 4, 0), f(2, 3, 5, 0), f(2, 3, 5, 7), f(0), f(2, 3, 4, 7)).build(), "q.shape[3]", ">= 1",
                "0");
        bad(() -> add(f(2, 3, 4, 6), f(1, 3, 5, 6), f(2, 3, 5, 7), f(6), f(2, 3, 4, 7)).build(), "k.shape[0] (B)", "2",
                "1");
        bad(() -> add(f(2, 3, 4, 6), f(2, 2, 5, 6), f(2, 3, 5, 7), f(6), f(2, 3, 4, 7)).build(), "k.shape[1] (H)", "3",
                "2");
        bad(() -> add(f(2, 3, 4, 6), f(2, 3, 5, 6), f(1, 3, 5, 7), f(6), f(2, 3, 4, 7)).build(), "v.shape[0] (B)", "2",
                "1");
        bad(() -> add(f(2, 3, 4, 6), f(2, 3, 5, 6), f(2, 1, 5, 7), f(6), f(2, 3, 4, 7)).build(), "v.shape[1] (H)", "3",
                "1");
        bad(() -> add(f(2, 3, 4, 6), f(2, 3, 5, 6), f(2, 3, 4, 7), f(6), f(2, 3, 4, 7)).build(), "v.shape[2] (Sk)", "5",
                "4");
        bad(() -> add(f(2, 3, 4, 5), f(2, 3, 5, 6), f(2, 3, 5, 7), f(6), f(2, 3, 4, 7)).build(), "q.shape[3] (A)", "6",
                "5");
        bad(() -> add(f(2, 3, 4, 6), f(2, 3, 5, 5), f(2, 3, 5, 7), f(6), f(2, 3, 4, 7)).build(), "k.shape[3] (A)", "6",
                "5");
        bad(() -> add().projections(f(6, 6), null).build(), "wq/wk", "both projection weights or neither",
                "wq and no wk");
        bad(() -> raw().projections(f(6, 8, 1), f(6, 9)).build(), "wq.rank", "2", "3");
        bad(() -> raw().projections(f(6, 8), f(6)).build(), "wk.rank", "2", "1");
        bad(() -> raw().projections(h(6, 8), f(6, 9)).build(), "wq.dtype", "F32", "F16");
        bad(() -> raw().projections(f(6, 8), h(6, 9)).build(), "wk.dtype", "F32", "F16");
        bad(() -> raw().projections(f(5, 8), f(6, 9)).build(), "wq.shape[0] (A)", "6", "5");
        bad(() -> raw().projections(f(6, 7), f(6, 9)).build(), "wq.shape[1] (Dq)", "8", "7");
        bad(() -> raw().projections(f(6, 8), f(5, 9)).build(), "wk.shape[0] (A)", "6", "5");
        bad(() -> raw().projections(f(6, 8), f(6, 8)).build(), "wk.shape[1] (Dk)", "9", "8");
        bad(() -> add().tanhBias(f(6, 1)).build(), "b.rank", "1", "2");
        bad(() -> add().tanhBias(h(6)).build(), "b.dtype", "F32", "F16");
        bad(() -> add().tanhBias(f(5)).build(), "b.shape[0] (A)", "6", "5");
        bad(() -> add(f(2, 3, 4, 6), f(2, 3, 5, 6), f(2, 3, 5, 7), f(6), f(2, 3, 4, 6)).build(), "out.shape",
                "[2, 3, 4, 7]", "[2, 3, 4, 6]");
        bad(() -> add().weights(f(2, 3, 4)).build(), "weights.rank", "4", "3");
        bad(() -> add().weights(h(2, 3, 4, 5)).build(), "weights.dtype", "F32", "F16");
        bad(() -> add().weights(f(2, 3, 5, 4)).build(), "weights.shape", "[2, 3, 4, 5]", "[2, 3, 5, 4]");
        bad(() -> add().masks(Masks.builder().alibi(f(2)).build()).build(), "alibi.shape[0] (heads)", "3", "2");
    }

    @Test
    void backendsAndProviders() {
        bad(() -> Attn4j.provider("nosuch"), "backend", "one of [", "'nosuch'");
        bad(() -> Attn4j.open("cpu:x"), "backend", "NAME or NAME:INDEX", "'cpu:x'");
        bad(() -> Attn4j.provider("cpu").open(1), "deviceIndex", "0", "1");
    }

    @Test
    void closedObjectsThrowIllegalState() {
        CpuBackend cpu = new CpuBackend();
        Scope s = cpu.newScope();
        Tensor t = s.allocate(DType.F32, 2, 3);
        s.close();
        s.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> s.allocate(DType.F32, 1));
        assertThrows(IllegalStateException.class, () -> s.copy(t, f(2, 3)));
        assertThrows(IllegalStateException.class, () -> s.run(SoftmaxParams.builder(f(2, 3), f(2, 3)).build()));
        assertThrows(IllegalStateException.class, s::synchronize);
        cpu.close();
        cpu.close();
        assertThrows(IllegalStateException.class, cpu::newScope);
        assertThrows(IllegalStateException.class, () -> cpu.run(SoftmaxParams.builder(f(2, 3), f(2, 3)).build()));
    }
}
