package io.github.attn4j.nativetests;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.cpu.CpuBackend;
import io.github.attn4j.testing.LayerGradChecks;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The layers' backward on every device backend (F32): every gradient of
 * {@code MultiHeadAttention.backward} (3 cases: GQA + causal + RoPE + key padding + biases,
 * cross-attention with MQA, plain multi-head) and of {@code AdditiveAttention.backward} (2 cases:
 * tanh bias + key padding, one step without either) equal to the reference backend's (the float64
 * ops, fp32 storage between them) and to float64 central finite differences.
 */
class LayerBackwardOnDevicesTest {
    @TestFactory
    Stream<DynamicTest> backward() {
        List<DynamicTest> l = new ArrayList<>();
        for (String name : List.of("opencl", "cuda")) {
            for (int i = 0; i < LayerGradChecks.MHA_CASES; i++) {
                int c = i;
                l.add(DynamicTest.dynamicTest(name + " mha backward, case " + i, () -> LayersOnDevicesTest.run(name,
                        b -> mha(b, c))));
            }
            for (int i = 0; i < LayerGradChecks.ADDITIVE_CASES; i++) {
                int c = i;
                l.add(DynamicTest.dynamicTest(name + " bahdanau backward, case " + i, () -> LayersOnDevicesTest.run(name,
                        b -> additive(b, c))));
            }
        }
        return l.stream();
    }

    private static void mha(Backend device, int i) {
        LayerGradChecks.MhaCase c = LayerGradChecks.mhaCase(i);
        Map<String, float[]> got = LayerGradChecks.layerGradients(device, DType.F32, c);
        try (Backend cpu = new CpuBackend()) {
            LayerGradChecks.compare(device.name() + " vs reference, mha case " + i + " (" + c.name() + ")",
                    LayerGradChecks.asDouble(LayerGradChecks.layerGradients(cpu, DType.F32, c)), got, 2e-5);
        }
        LayerGradChecks.compare(device.name() + " vs finite differences, mha case " + i, LayerGradChecks.finiteDifferences(c),
                got, 4e-5);
    }

    private static void additive(Backend device, int i) {
        LayerGradChecks.AdditiveCase c = LayerGradChecks.additiveCase(i);
        Map<String, float[]> got = LayerGradChecks.layerGradients(device, DType.F32, c);
        try (Backend cpu = new CpuBackend()) {
            LayerGradChecks.compare(device.name() + " vs reference, bahdanau case " + i + " (" + c.name() + ")",
                    LayerGradChecks.asDouble(LayerGradChecks.layerGradients(cpu, DType.F32, c)), got, 2e-5);
        }
        LayerGradChecks.compare(device.name() + " vs finite differences, bahdanau case " + i,
                LayerGradChecks.finiteDifferences(c), got, 4e-5);
    }
}
