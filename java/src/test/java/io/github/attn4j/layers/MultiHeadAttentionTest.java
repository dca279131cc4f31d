package io.github.attn4j.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Scope;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.CpuBackend;
import io.github.attn4j.testing.LayerChecks;
import io.github.attn4j.testing.LayerHalfChecks;
import io.github.attn4j.weights.AttentionWeights;
import org.junit.jupiter.api.Test;

/**
 * The layer on the float64 reference backend against an independent double implementation
 * ({@link LayerChecks#againstDouble}), and the property that incremental decoding equals the full
 * causal forward token by token. {@code LayersOnDevicesTest} (native-tests) runs the same checks on
 * the device backends.
 */
class MultiHeadAttentionTest {
    @Test
    void referenceBackendAgainstDouble() {
        try (Backend cpu = new CpuBackend()) {
            LayerChecks.againstDouble(cpu, DType.F32, 1e-5);
        }
    }

    @Test
    void incrementalDecodingEqualsTheFullCausalForward() {
        try (Backend cpu = new CpuBackend()) {
            LayerChecks.incrementalEqualsFull(cpu, DType.F32, 1e-5);
        }
    }

    @Test
    void pagedDecodingEqualsTheFullForwardAndTheDenseCache() {
        try (Backend cpu = new CpuBackend()) {
            assertEquals(9, LayerChecks.pagedEqualsFullAndDense(cpu, DType.F32, 1e-5, 1, 2, 3, 4, 5, 7, 8, 13, 16));
        }
    }

    @Test
    void pagedCacheValidation() {
        try (Backend cpu = new CpuBackend(); Scope scope = cpu.newScope()) {
            MultiHeadAttention mha = MultiHeadAttention.builder(LayerChecks.weights(5, 24, 4, 2, 8, 24, false)).causal(true)
                    .build(scope);
            assertEquals("pageSize: expected >= 1, got 0", assertThrows(IllegalArgumentException.class,
                    () -> mha.newPagedCache(2, 8, 0)).getMessage());
            assertEquals("maxLen: expected >= 1, got 0", assertThrows(IllegalArgumentException.class,
                    () -> mha.newPagedCache(2, 0, 4)).getMessage());
            MultiHeadAttention.KvCache c = mha.newPagedCache(2, 5, 3);
            assertEquals(5, c.capacity());
            assertEquals(3, c.pageSize());
            Tensor x3 = Tensor.of(new float[2 * 3 * 24], 2, 3, 24);
            mha.forward(x3, c);
            assertEquals("cache length + S: expected <= capacity 5, got 6", assertThrows(IllegalArgumentException.class,
                    () -> mha.forward(x3, c)).getMessage());
            assertEquals(3, c.length());
            assertEquals("kvLengths: expected none with a paged cache (its lengths are the cached token counts), got [1, 1]",
                    assertThrows(IllegalArgumentException.class, () -> mha.forward(MultiHeadAttention.Call.builder(
                            Tensor.of(new float[2 * 24], 2, 1, 24)).cache(c).kvLengths(1, 1).build())).getMessage());
            assertThrows(IllegalArgumentException.class, () -> mha.forward(MultiHeadAttention.Call.builder(
                    Tensor.of(new float[2 * 24], 2, 1, 24)).cache(c).weights(true).build()));
            assertThrows(IllegalStateException.class, c::keys);
            assertEquals(3, c.paged().kvLengths()[1]);
            c.reset();
            assertEquals(0, c.paged().kvLengths()[0]);
            assertEquals(null, mha.newCache(2, 4).paged());
            assertEquals("cache batch: expected 1, got 2", assertThrows(IllegalArgumentException.class,
                    () -> mha.forward(Tensor.of(new float[24], 1, 1, 24), c)).getMessage());
        }
    }

    @Test
    void additiveAgainstDoubleAndStepByStep() {
        try (Backend cpu = new CpuBackend()) {
            LayerChecks.additiveChecks(cpu, DType.F32, 1e-5);
        }
    }

    @Test
    void halfStorageWithinTwiceTheNaiveError() {
        try (Backend cpu = new CpuBackend()) {
            for (DType dt : new DType[] {DType.F16, DType.BF16}) {
                assertEquals(6, LayerHalfChecks.mha(cpu, dt, GoldenTest.DIR));
                assertEquals(2, LayerHalfChecks.additive(cpu, dt));
            }
        }
    }

    @Test
    void validation() {
        try (Backend cpu = new CpuBackend(); Scope scope = cpu.newScope()) {
            AttentionWeights w = LayerChecks.weights(5, 24, 4, 2, 8, 24, false);
            MultiHeadAttention mha = MultiHeadAttention.builder(w).build(scope);
            String m = assertThrows(IllegalArgumentException.class, () -> mha.forward(Tensor.of(new float[2 * 3 * 20], 2, 3,
                    20))).getMessage();
            assertEquals("x.shape[2] (E): expected 24, got 20", m);
            MultiHeadAttention.KvCache c = mha.newCache(2, 4);
            m = assertThrows(IllegalArgumentException.class, () -> mha.forward(Tensor.of(new float[2 * 5 * 24], 2, 5, 24), c))
                    .getMessage();
            assertEquals("cache length + S: expected <= capacity 4, got 5", m);
            assertThrows(IllegalArgumentException.class, () -> MultiHeadAttention.builder(
                    LayerChecks.weights(5, 24, 4, 2, 7, 24, false)).rope(10000f));
        }
    }
}
