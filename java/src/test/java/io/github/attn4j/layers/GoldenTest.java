package io.github.attn4j.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.cpu.CpuBackend;
import io.github.attn4j.testing.LayerChecks;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The layers against PyTorch's own outputs (bench/golden/make_golden.py, committed under
 * src/test/resources/golden): nn.MultiheadAttention plain, causal with weights, key padding; a
 * Llama-style block with GQA and RoPE, whole and decoded token by token. The float64 reference
 * here; native-tests' LayersOnDevicesTest runs the same files on the device backends.
 */
class GoldenTest {
    static final Path DIR = Path.of("src", "test", "resources", "golden");

    @Test
    void referenceBackendMatchesPyTorch() {
        try (Backend cpu = new CpuBackend()) {
            assertEquals(6, LayerChecks.golden(cpu, DType.F32, DIR, 1e-5));
        }
    }
}
