package io.github.attn4j.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.DType;
import io.github.attn4j.Half;
import org.junit.jupiter.api.Test;

/** The comparison rules on plain arrays. */
class ComparatorTest {
    private static final double INF = Double.POSITIVE_INFINITY;

    private static Comparator.Result f32(double[] e, float[] a) {
        return Comparator.compare("o", new int[] {e.length}, e, a, null, DType.F32, 1e-8, null);
    }

    @Test
    void nmseIsSumOfSquaredErrorsOverSumOfSquares() {
        // e = [3, 4]: sum e^2 = 25; a = [3, 4.05]: sum (a-e)^2 = 0.0025 -> NMSE 1e-4; max abs 0.05.
        Comparator.Result r = f32(new double[] {3, 4}, new float[] {3, 4.05f});
        assertEquals(1e-4, r.nmse(), 1e-8);
        assertEquals(0.05, r.maxAbs(), 1e-6);
        assertFalse(r.pass());
        assertTrue(r.message().contains("NMSE 1.000e-04 above the threshold 1.0e-08"), r.message());
        assertTrue(f32(new double[] {3, 4}, new float[] {3, 4}).pass());
        // All-zero reference: only an exact match passes.
        assertTrue(f32(new double[] {0, 0}, new float[] {0, 0}).pass());
        assertFalse(f32(new double[] {0, 0}, new float[] {0, 1e-30f}).pass());
    }

    @Test
    void nanRulesBothWays() {
        Comparator.Result r = f32(new double[] {1, Double.NaN}, new float[] {1, 0});
        assertFalse(r.pass());
        assertTrue(r.message().startsWith("o[1]: expected NaN"), r.message());
        r = f32(new double[] {1, 2}, new float[] {Float.NaN, 2});
        assertFalse(r.pass());
        assertTrue(r.message().startsWith("o[0]: NaN where the reference is 1.0"), r.message());
        // NaN where NaN is expected passes, and is left out of the NMSE.
        r = f32(new double[] {1, Double.NaN}, new float[] {1, Float.NaN});
        assertTrue(r.pass());
        assertEquals(0, r.nmse());
        // A poisoned element is named as never written.
        r = Comparator.compare("o", new int[] {2, 1}, new double[] {1, 2}, new float[] {1, Float.NaN}, null, DType.F32,
                1e-8, k -> k == 1);
        assertTrue(r.message().contains("o[1, 0]") && r.message().contains("never written"), r.message());
    }

    @Test
    void infinitiesMustMatchInSign() {
        assertTrue(f32(new double[] {-INF, 1}, new float[] {Float.NEGATIVE_INFINITY, 1}).pass());
        assertFalse(f32(new double[] {-INF, 1}, new float[] {Float.POSITIVE_INFINITY, 1}).pass());
        assertFalse(f32(new double[] {-INF, 1}, new float[] {-3e38f, 1}).pass());
        Comparator.Result r = f32(new double[] {5, 1}, new float[] {Float.POSITIVE_INFINITY, 1});
        assertFalse(r.pass());
        assertTrue(r.message().contains("expected 5.0, got Infinity"), r.message());
    }

    @Test
    void halfRuleIsTwiceTheNaiveError() {
        // Reference [1/3, 2/3]; the naive f16 result is the reference rounded to f16 (error ~1e-4).
        double[] e = {1 / 3.0, 2 / 3.0};
        double[] naive = {Half.round((float) e[0], DType.F16), Half.round((float) e[1], DType.F16)};
        double naiveErr = Math.max(Math.abs(naive[0] - e[0]), Math.abs(naive[1] - e[1]));
        double floor = Tolerances.unitRoundoff(DType.F16) * e[1];
        float ok = (float) (e[1] + 2 * naiveErr + floor * 0.5);
        float bad = (float) (e[1] + 2 * naiveErr + floor * 1.5);
        Comparator.Result good = Comparator.compare("o", new int[] {2}, e, new float[] {(float) naive[0], ok}, naive,
                DType.F16, 1e-8, null);
        assertTrue(good.pass(), good.toString());
        Comparator.Result r = Comparator.compare("o", new int[] {2}, e, new float[] {(float) naive[0], bad}, naive,
                DType.F16, 1e-8, null);
        assertFalse(r.pass());
        assertTrue(r.message().contains("2x the naive f16"), r.message());
        // The F32 threshold alone would have failed the good one: the rule is what lets half storage pass.
        assertFalse(f32(e, new float[] {(float) naive[0], ok}).pass());
    }

    @Test
    void everyOpOutputHasAThreshold() {
        for (String k : new String[] {"sdpa.o", "sdpa.lse", "softmax.y", "softmax_backward.dx", "additive.out",
                "additive.weights", "additive_backward.dq", "additive_backward.dk", "additive_backward.dv",
                "additive_backward.dw", "additive_backward.db", "additive_backward.dwq", "additive_backward.dwk",
                "merge.o", "merge.lse"}) {
            String[] p = k.split("\\.");
            assertTrue(Tolerances.nmseF32(p[0], p[1]) > 0);
        }
        // KV append copies stored bits: exact, in every dtype
        assertEquals(0.0, Tolerances.nmseF32("kv_append", "k_cache"));
        assertEquals(0.0, Tolerances.nmseF32("kv_append", "v_cache"));
        int rows = 0;
        for (Tolerances.Row r : Tolerances.table()) {
            assertFalse(r.reason().isBlank(), r.key());
            rows++;
        }
        assertTrue(rows >= 13, "rows: " + rows);
    }
}
