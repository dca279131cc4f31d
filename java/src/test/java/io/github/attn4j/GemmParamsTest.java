package io.github.attn4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.cpu.CpuBackend;
import io.github.attn4j.cpu.Reference;
import org.junit.jupiter.api.Test;

/** The GEMM record: validation messages, and the reference on hand-computed products. */
class GemmParamsTest {
    private static Tensor f(int... shape) {
        return Tensor.of(new float[(int) Tensor.numel(shape)], shape);
    }

    @Test
    void handComputedWithTransposesAlphaBeta() {
        // A = [[1, 2], [3, 4]] stored transposed, B = [[5, 6, 7], [8, 9, 10]], C0 = ones
        float[] at = {1, 3, 2, 4};
        float[] b = {5, 6, 7, 8, 9, 10};
        float[] c = {1, 1, 1, 1, 1, 1};
        GemmParams p = GemmParams.builder(Tensor.of(at, 2, 2), Tensor.of(b, 2, 3), Tensor.of(c, 2, 3)).transA(true)
                .alpha(2f).beta(-1f).build();
        assertEquals(2, p.m());
        assertEquals(3, p.n());
        assertEquals(2, p.k());
        assertEquals(1, p.batch());
        double[] want = {2 * 21 - 1, 2 * 24 - 1, 2 * 27 - 1, 2 * 47 - 1, 2 * 54 - 1, 2 * 61 - 1};
        assertArrayEquals(want, Reference.gemm(p), 0);
        try (Backend cpu = new CpuBackend()) {
            cpu.gemm(p);
        }
        assertArrayEquals(new float[] {41, 47, 53, 93, 107, 121}, c, 0);
    }

    @Test
    void sharedBAndBetaZeroIgnoresNanInC() {
        float[] a = {1, 2, 3, 4}; // [2, 1, 2]
        float[] b = {1, 0, 0, 1}; // identity, shared
        float[] c = {Float.NaN, Float.NaN, Float.NaN, Float.NaN};
        GemmParams p = GemmParams.builder(Tensor.of(a, 2, 1, 2), Tensor.of(b, 2, 2), Tensor.of(c, 2, 1, 2)).build();
        assertEquals(2, p.batch());
        assertArrayEquals(new double[] {1, 2, 3, 4}, Reference.gemm(p), 0);
        assertEquals(2, p.inputs().size(), "beta = 0: C is not an input");
    }

    @Test
    void validationNamesTheArgument() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GemmParams.builder(f(2, 3, 4), f(2, 5, 6), f(2, 3, 6)).build());
        assertTrue(e.getMessage().startsWith("b.shape (K): expected K = 4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> GemmParams.builder(f(2, 3, 4), f(4, 6), f(2, 5, 6)).build());
        assertTrue(e.getMessage().startsWith("a.shape ([M, K]): expected M = 5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> GemmParams.builder(f(3, 3, 4), f(4, 6), f(2, 3, 6)).build());
        assertTrue(e.getMessage().startsWith("a.shape[0] (batch): expected 2 or 1, got 3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> GemmParams.builder(f(3, 4), f(4, 6), f(3, 6)).alpha(Float.NaN).build());
        assertTrue(e.getMessage().startsWith("alpha: expected a finite number"), e.getMessage());
        Tensor c = f(3, 6);
        e = assertThrows(IllegalArgumentException.class, () -> GemmParams.builder(c, f(6, 6), c).build());
        assertTrue(e.getMessage().startsWith("c: expected memory disjoint from a"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> GemmParams.builder(f(3), f(4, 6), f(3, 6)).build());
        assertTrue(e.getMessage().startsWith("a.rank: expected 2 or 3"), e.getMessage());
    }
}
