package io.github.attn4j.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Scope;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.CpuBackend;
import io.github.attn4j.testing.LayerChecks;
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
    void additiveAgainstDoubleAndStepByStep() {
        try (Backend cpu = new CpuBackend()) {
            LayerChecks.additiveChecks(cpu, DType.F32, 1e-5);
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
