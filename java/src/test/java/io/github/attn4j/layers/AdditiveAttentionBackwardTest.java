package io.github.attn4j.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Scope;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.CpuBackend;
import io.github.attn4j.testing.LayerGradChecks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link AdditiveAttention#backward} on the float64 reference backend against central finite
 * differences of an independent float64 Bahdanau attention (gradients of the encoder states, the
 * decoder states, Wq, Wk, w and b), with and without the tanh bias and key padding, a whole
 * sequence and one step. {@code LayersOnDevicesTest} (native-tests) compares OpenCL with the reference.
 */
class AdditiveAttentionBackwardTest {
    @ParameterizedTest
    @ValueSource(ints = {0, 1})
    void gradientsEqualFiniteDifferences(int i) {
        LayerGradChecks.AdditiveCase c = LayerGradChecks.additiveCase(i);
        try (Backend cpu = new CpuBackend()) {
            int n = LayerGradChecks.compare("reference, bahdanau case " + i + " (" + c.name() + ")",
                    LayerGradChecks.finiteDifferences(c), LayerGradChecks.layerGradients(cpu, DType.F32, c), 2e-5);
            assertEquals(c.b() != null ? 6 : 5, n);
        }
    }

    @Test
    void validation() {
        LayerGradChecks.AdditiveCase c = LayerGradChecks.additiveCase(0);
        try (Backend cpu = new CpuBackend(); Scope scope = cpu.newScope()) {
            AdditiveAttention att = AdditiveAttention.create(scope, DType.F32, c.wq(), c.wk(), c.w(), c.b());
            AdditiveAttention.Encoded enc = att.encode(c.h(), c.lengths());
            assertEquals("dContext.shape: expected [2, 3, 5], got [2, 3, 4]", assertThrows(IllegalArgumentException.class,
                    () -> att.backward(enc, c.s(), Tensor.of(new float[24], 2, 3, 4))).getMessage());
            assertEquals("states.shape[2] (Dq): expected 4, got 5", assertThrows(IllegalArgumentException.class,
                    () -> att.backward(enc, c.dc(), c.dc())).getMessage());
        }
    }
}
