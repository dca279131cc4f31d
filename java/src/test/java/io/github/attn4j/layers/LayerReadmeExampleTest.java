package io.github.attn4j.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Scope;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.CpuBackend;
import io.github.attn4j.npy.Npy;
import io.github.attn4j.weights.AttentionWeights;
import io.github.attn4j.weights.WeightSource;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The README's layer example, verbatim except for the file paths and the backend, with checks. */
class LayerReadmeExampleTest {
    @Test
    void prefillAnd32DecodeStepsPrintEntropies() {
        Path dir = GoldenTest.DIR;
        int printed = 0;
        try (Backend dev = new CpuBackend(); Scope scope = dev.newScope()) {
            AttentionWeights w = AttentionWeights.load(WeightSource.open(dir.resolve("llama.safetensors")),
                    "model.layers.0.self_attn.", 4, 2);
            MultiHeadAttention attn = MultiHeadAttention.builder(w).causal(true).rope(10000f).build(scope);
            MultiHeadAttention.KvCache cache = attn.newCache(1, 64);
            Tensor prompt = scope.upload(Npy.read(dir.resolve("llama_x.npy")).view(0, new int[] {1, 6, 24},
                    new long[] {144, 24, 1}));
            Tensor y = attn.forward(prompt, cache).y();
            Tensor next = scope.allocate(DType.F32, 1, 1, 24);
            scope.copy(y.view(y.offset() + 5 * 24, new int[] {1, 1, 24}, y.strides()), next);
            for (int step = 0; step < 32; step++) {
                MultiHeadAttention.Result r = attn.forward(MultiHeadAttention.Call.builder(next).cache(cache)
                        .weights(true).build());
                float[] p = new float[4 * cache.length()];
                scope.copy(r.weights(), Tensor.of(p, 1, 4, 1, cache.length()));
                double h = 0;
                for (float x : p) {
                    h -= x > 0 ? x * Math.log(x) / 4 : 0;
                }
                System.out.printf("token %d: attention entropy %.3f nats over %d keys%n", 6 + step, h, cache.length());
                assertTrue(h >= 0 && h <= Math.log(cache.length()) + 1e-6, "entropy " + h);
                scope.copy(r.y(), next);
                printed++;
            }
            assertEquals(38, cache.length());
        }
        assertEquals(32, printed);
    }
}
