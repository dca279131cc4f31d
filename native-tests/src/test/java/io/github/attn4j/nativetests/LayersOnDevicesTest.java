package io.github.attn4j.nativetests;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.testing.LayerChecks;
import io.github.attn4j.testing.LayerHalfChecks;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The layers on every device backend, F32 and BF16 storage: multi-head attention against an
 * independent float64 block (self-attention with GQA, RoPE, causal, key padding and the weights;
 * cross-attention); incremental decoding equal to the full causal forward token by token (dense
 * cache, and paged caches of page sizes 1, 3 and 16, equal to the dense one too); PyTorch's golden
 * outputs (nn.MultiheadAttention, a Llama block); Bahdanau attention against float64 and step by
 * step == whole sequence (BF16 with a bound of a few BF16 roundings through two projections).
 * F16 and BF16 storage under the FlashAttention rule ({@link LayerHalfChecks}): multi-head
 * attention (self, cross, and PyTorch's golden outputs) and Bahdanau attention within twice the
 * error of a naive layer in the same dtype. The layers' backward: {@code LayerBackwardOnDevicesTest}.
 */
class LayersOnDevicesTest {
    /** The golden files of bench/golden/make_golden.py (surefire runs in the module folder). */
    static final java.nio.file.Path GOLDEN = java.nio.file.Path.of("..", "java", "src", "test", "resources", "golden");

    @TestFactory
    Stream<DynamicTest> layers() {
        List<DynamicTest> l = new ArrayList<>();
        for (String name : List.of("opencl", "cuda")) {
            for (DType dt : new DType[] {DType.F32, DType.BF16}) {
                double tol = dt == DType.F32 ? 2e-5 : 6e-2;
                l.add(DynamicTest.dynamicTest(name + " " + dt + " mha against float64", () -> run(name,
                        b -> LayerChecks.againstDouble(b, dt, tol))));
                l.add(DynamicTest.dynamicTest(name + " " + dt + " incremental decoding == full causal", () -> run(name,
                        b -> LayerChecks.incrementalEqualsFull(b, dt, dt == DType.F32 ? 2e-5 : 3e-2))));
                l.add(DynamicTest.dynamicTest(name + " " + dt + " paged decoding == full causal == dense cache", () -> run(
                        name, b -> LayerChecks.pagedEqualsFullAndDense(b, dt, dt == DType.F32 ? 2e-5 : 3e-2, 1, 3, 16))));
                l.add(DynamicTest.dynamicTest(name + " " + dt + " bahdanau against float64, step by step", () -> run(name,
                        b -> LayerChecks.additiveChecks(b, dt, tol))));
                l.add(DynamicTest.dynamicTest(name + " " + dt + " golden files from PyTorch", () -> run(name,
                        b -> LayerChecks.golden(b, dt, GOLDEN, tol))));
            }
        }
        for (String name : List.of("opencl", "cuda")) {
            for (DType dt : new DType[] {DType.F16, DType.BF16}) {
                l.add(DynamicTest.dynamicTest(name + " " + dt + " mha within 2x the naive error (float64, golden files)",
                        () -> run(name, b -> LayerHalfChecks.mha(b, dt, GOLDEN))));
                l.add(DynamicTest.dynamicTest(name + " " + dt + " bahdanau within 2x the naive error", () -> run(name,
                        b -> LayerHalfChecks.additive(b, dt))));
            }
        }
        return l.stream();
    }

    static void run(String name, java.util.function.Consumer<Backend> check) {
        String why = Requirement.unavailableReason(name);
        if (why != null && !Requirement.isRequired(name)) {
            Assumptions.abort(name + " is unavailable: " + why);
        }
        try (Backend b = Requirement.open(name)) {
            check.accept(b);
        }
    }
}
