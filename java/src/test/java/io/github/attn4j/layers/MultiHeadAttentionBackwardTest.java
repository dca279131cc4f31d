package io.github.attn4j.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Scope;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.CpuBackend;
import io.github.attn4j.testing.LayerChecks;
import io.github.attn4j.testing.LayerGradChecks;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * {@link MultiHeadAttention#backward} on the float64 reference backend against central finite
 * differences of an independent float64 forward (every gradient: x, memory, Wq, Wk, Wv, Wo and the
 * biases), over GQA/MQA, causal, RoPE, key padding, cross-attention and biases.
 * {@code LayersOnDevicesTest} (native-tests) compares the device backends with the reference.
 */
class MultiHeadAttentionBackwardTest {
    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2})
    void gradientsEqualFiniteDifferences(int i) {
        LayerGradChecks.MhaCase c = LayerGradChecks.mhaCase(i);
        try (Backend cpu = new CpuBackend()) {
            int n = LayerGradChecks.compare("reference, case " + i + " (" + c.name() + ")",
                    LayerGradChecks.finiteDifferences(c), LayerGradChecks.layerGradients(cpu, DType.F32, c), 2e-5);
            assertEquals(c.memory() != null ? 6 : c.w().hasBias() ? 9 : 5, n);
        }
    }

    @Test
    void backwardNeedsATrainingForward() {
        try (Backend cpu = new CpuBackend(); Scope scope = cpu.newScope()) {
            LayerGradChecks.MhaCase c = LayerGradChecks.mhaCase(2);
            MultiHeadAttention mha = MultiHeadAttention.builder(c.w()).build(scope);
            assertThrows(IllegalStateException.class, () -> mha.backward(c.dy()));
            mha.forward(MultiHeadAttention.Call.builder(c.x()).train(true).build());
            assertEquals("dy.shape: expected [1, 5, 6], got [1, 4, 6]", assertThrows(IllegalArgumentException.class,
                    () -> mha.backward(Tensor.of(new float[24], 1, 4, 6))).getMessage());
            MultiHeadAttention.Gradients g = mha.backward(c.dy());
            assertNull(g.memory());
            mha.forward(c.x());
            assertThrows(IllegalStateException.class, () -> mha.backward(c.dy()));
            MultiHeadAttention.KvCache cache = mha.newCache(1, 8);
            assertThrows(IllegalArgumentException.class, () -> mha.forward(MultiHeadAttention.Call.builder(c.x()).cache(cache)
                    .train(true).build()));
            float[] dx = LayerChecks.readBack(scope, g.dx());
            assertEquals(30, dx.length);
        }
    }
}
