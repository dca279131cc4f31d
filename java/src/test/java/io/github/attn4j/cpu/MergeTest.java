package io.github.attn4j.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Masks;
import io.github.attn4j.MergeParams;
import io.github.attn4j.Scope;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Merge of attention states on the reference: hand-computed rows, the empty and NaN rules, the
 * validation messages, and an SDPA problem whose keys are split across three scopes, merged, and
 * compared with the unsplit result.
 */
class MergeTest {
    private static final Backend CPU = new CpuBackend();

    @AfterAll
    static void close() {
        CPU.close();
    }

    private static Tensor t(float[] data, int... shape) {
        return Tensor.of(data, shape);
    }

    @Test
    void handComputed() {
        // Part 0: LSE ln 1 = 0, O = 2; part 1: LSE ln 3, O = 6. LSE = ln 4, O = (1*2 + 3*6)/4 = 5.
        // Row 1: part 0 empty (-inf, O = NaN garbage, never read), part 1 LSE 0.5, O = 7: O = 7, LSE = 0.5.
        // Row 2: both empty: O = 0, LSE = -inf. Row 3: a NaN LSE: O = NaN, LSE = NaN.
        float ninf = Float.NEGATIVE_INFINITY;
        Tensor o0 = t(new float[] {2, Float.NaN, Float.NaN, 1}, 1, 1, 4, 1);
        Tensor o1 = t(new float[] {6, 7, 3, 1}, 1, 1, 4, 1);
        Tensor l0 = t(new float[] {0, ninf, ninf, Float.NaN}, 1, 1, 4);
        Tensor l1 = t(new float[] {(float) Math.log(3), 0.5f, ninf, 0}, 1, 1, 4);
        Tensor out = t(new float[4], 1, 1, 4, 1);
        Tensor lse = t(new float[4], 1, 1, 4);
        CPU.merge(MergeParams.builder(List.of(o0, o1), List.of(l0, l1), out).lse(lse).build());
        assertEquals(5f, out.get(0, 0, 0, 0), 1e-6f);
        assertEquals((float) Math.log(4), lse.get(0, 0, 0), 1e-6f);
        assertEquals(7f, out.get(0, 0, 1, 0), 1e-6f);
        assertEquals(0.5f, lse.get(0, 0, 1), 1e-6f);
        assertEquals(0f, out.get(0, 0, 2, 0));
        assertEquals(ninf, lse.get(0, 0, 2));
        assertTrue(Float.isNaN(out.get(0, 0, 3, 0)) && Float.isNaN(lse.get(0, 0, 3)));
    }

    @Test
    void validation() {
        Tensor o = t(new float[6], 1, 1, 2, 3), l = t(new float[2], 1, 1, 2), out = t(new float[6], 1, 1, 2, 3);
        assertMessage("lse: expected 2 partial LSEs", () -> MergeParams.builder(List.of(o, o), List.of(l), out).build());
        assertMessage("o: expected at least one partial output", () -> MergeParams.builder(List.of(), List.of(), out).build());
        assertMessage("o[1].shape: expected [1, 1, 2, 3], got [1, 1, 2, 4]", () -> MergeParams.builder(
                List.of(o, t(new float[8], 1, 1, 2, 4)), List.of(l, l), out).build());
        assertMessage("lse[0].shape: expected [1, 1, 2], got [1, 2, 1]", () -> MergeParams.builder(List.of(o),
                List.of(t(new float[2], 1, 2, 1)), out).build());
        assertMessage("lse[0].dtype: expected F32, got F16", () -> MergeParams.builder(List.of(o),
                List.of(Tensor.ofHalf(DType.F16, new short[2], 1, 1, 2)), out).build());
        assertMessage("o[0].dtype: expected F16, got F32", () -> MergeParams.builder(List.of(o), List.of(l),
                Tensor.ofHalf(DType.F16, new short[6], 1, 1, 2, 3)).build());
        assertMessage("out: expected memory disjoint from o[0]", () -> MergeParams.builder(List.of(o), List.of(l), o)
                .build());
        assertMessage("lse-out.shape: expected [1, 1, 2]", () -> MergeParams.builder(List.of(o), List.of(l), out)
                .lse(t(new float[3], 1, 1, 3)).build());
    }

    private static void assertMessage(String prefix, Runnable r) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
    }

    /**
     * One SDPA problem (B = 2, H = 3, Sq = 5, Sk = 23, kvLengths 9 and 23) whose keys are cut into
     * three slices [0, 6), [6, 15), [15, 23) of K and V (views), each run in its own scope with its
     * kv lengths clipped to the slice (batch 0 has no key in the last slice: LSE -inf), then merged.
     */
    @Test
    void splitKeysAcrossScopesMatchesUnsplit() {
        int b = 2, h = 3, sq = 5, sk = 23, d = 8, dv = 6;
        int[] kvLen = {9, 23};
        SplittableRandom rnd = new SplittableRandom(7);
        Tensor q = random(rnd, b, h, sq, d), k = random(rnd, b, h, sk, d), v = random(rnd, b, h, sk, dv);
        Tensor o = t(new float[b * h * sq * dv], b, h, sq, dv), lse = t(new float[b * h * sq], b, h, sq);
        CPU.sdpa(SdpaParams.builder(q, k, v, o).lse(lse).masks(Masks.builder().kvLengths(kvLen).build()).build());

        int[] cuts = {0, 6, 15, 23};
        List<Tensor> os = new ArrayList<>(), ls = new ArrayList<>();
        List<Scope> scopes = new ArrayList<>();
        try {
            for (int s = 0; s + 1 < cuts.length; s++) {
                Scope scope = CPU.newScope();
                scopes.add(scope);
                int[] sliceLen = new int[b];
                for (int i = 0; i < b; i++) {
                    sliceLen[i] = Math.max(0, Math.min(kvLen[i], cuts[s + 1]) - cuts[s]);
                }
                Tensor po = scope.allocate(DType.F32, b, h, sq, dv), pl = scope.allocate(DType.F32, b, h, sq);
                scope.sdpa(SdpaParams.builder(q, slice(k, cuts[s], cuts[s + 1]), slice(v, cuts[s], cuts[s + 1]), po)
                        .lse(pl).masks(Masks.builder().kvLengths(sliceLen).build()).build());
                os.add(po);
                ls.add(pl);
            }
            assertEquals(Float.NEGATIVE_INFINITY, ls.get(2).get(0, 1, 3), "batch 0 has no key in the last slice");
            Tensor mo = t(new float[b * h * sq * dv], b, h, sq, dv), ml = t(new float[b * h * sq], b, h, sq);
            scopes.get(0).merge(MergeParams.builder(os, ls, mo).lse(ml).build());
            assertClose(o, mo, 1e-6);
            assertClose(lse, ml, 1e-6);
        } finally {
            scopes.forEach(Scope::close);
        }
    }

    @Test
    void moreThanEightPartsOnTheReference() {
        // Ten parts, one key each: the merge over all of them is the SDPA over the ten keys.
        int sk = 10;
        SplittableRandom rnd = new SplittableRandom(11);
        Tensor q = random(rnd, 1, 2, 3, 4), k = random(rnd, 1, 2, sk, 4), v = random(rnd, 1, 2, sk, 5);
        Tensor o = t(new float[30], 1, 2, 3, 5), lse = t(new float[6], 1, 2, 3);
        CPU.sdpa(SdpaParams.builder(q, k, v, o).lse(lse).build());
        List<Tensor> os = new ArrayList<>(), ls = new ArrayList<>();
        for (int j = 0; j < sk; j++) {
            Tensor po = t(new float[30], 1, 2, 3, 5), pl = t(new float[6], 1, 2, 3);
            CPU.sdpa(SdpaParams.builder(q, slice(k, j, j + 1), slice(v, j, j + 1), po).lse(pl).build());
            os.add(po);
            ls.add(pl);
        }
        Tensor mo = t(new float[30], 1, 2, 3, 5), ml = t(new float[6], 1, 2, 3);
        CPU.merge(MergeParams.builder(os, ls, mo).lse(ml).build());
        assertClose(o, mo, 1e-6);
        assertClose(lse, ml, 1e-6);
    }

    static Tensor random(SplittableRandom rnd, int... shape) {
        float[] a = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (2 * rnd.nextDouble() - 1);
        }
        return Tensor.of(a, shape);
    }

    /** Keys [from, to) of a [B, H, S, D] tensor: a view, no copy. */
    static Tensor slice(Tensor t, int from, int to) {
        return t.view(t.offset() + from * t.stride(2), new int[] {t.dim(0), t.dim(1), to - from, t.dim(3)}, t.strides());
    }

    static void assertClose(Tensor want, Tensor got, double tol) {
        float[] a = want.toFloatArray(), g = got.toFloatArray();
        for (int i = 0; i < a.length; i++) {
            if (Float.isInfinite(a[i]) || Float.isNaN(a[i])) {
                assertEquals(a[i], g[i], "element " + i);
            } else {
                assertEquals(a[i], g[i], tol * (1 + Math.abs(a[i])), "element " + i);
            }
        }
    }
}
