package io.github.attn4j.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Scope;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.CpuBackend;
import io.github.attn4j.weights.AttentionWeights;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The layer on the float64 reference backend against an independent double implementation
 * ({@link LayerTesting#forward}), and the property that incremental decoding equals the full
 * causal forward token by token. {@code LayersOnDevicesTest} (native-tests) runs the same checks on
 * the device backends.
 */
class MultiHeadAttentionTest {
    /** Self-attention with biases, GQA, RoPE, causal, key padding; cross-attention; the weights. */
    static void againstDouble(Backend backend, DType dt, double tol) {
        SplittableRandom r = new SplittableRandom(11);
        try (Scope scope = backend.newScope()) {
            // E = 24 != Hq*D = 4*8 = 32; Hkv = 2
            AttentionWeights w = LayerTesting.weights(5, 24, 4, 2, 8, 24, true);
            MultiHeadAttention mha = MultiHeadAttention.builder(w).dtype(dt).causal(true).rope(10000f).build(scope);
            Tensor x = LayerTesting.random(r, 1f, 2, 7, 24);
            int[] lens = {5, 7};
            double[] wantW = new double[2 * 4 * 7 * 7];
            double[] want = LayerTesting.forward(w, x, null, true, lens, 10000, wantW);
            MultiHeadAttention.Result res = mha.forward(MultiHeadAttention.Call.builder(Buffers.convert(x, dt))
                    .kvLengths(lens).weights(true).build());
            Tensor y = Tensor.of(new float[2 * 7 * 24], 2, 7, 24);
            Tensor wts = Tensor.of(new float[wantW.length], 2, 4, 7, 7);
            scope.copy(res.y(), Buffers.convert(y, dt).dtype() == DType.F32 ? y : host(dt, y.shape()));
            float[] got = readBack(scope, res.y());
            float[] gotW = readBack(scope, res.weights());
            assertTrue(LayerTesting.relErr(want, got) < tol, "self-attention error " + LayerTesting.relErr(want, got));
            assertTrue(LayerTesting.relErr(wantW, gotW) < tol, "weights error " + LayerTesting.relErr(wantW, gotW));

            // cross-attention: memory of width Ek = 12, no RoPE (queries and memory keys have no shared positions)
            AttentionWeights wc = LayerTesting.weights(6, 16, 2, 2, 8, 12, false);
            MultiHeadAttention cross = MultiHeadAttention.builder(wc).dtype(dt).build(scope);
            Tensor q = LayerTesting.random(r, 1f, 2, 3, 16);
            Tensor mem = LayerTesting.random(r, 1f, 2, 9, 12);
            double[] wantC = LayerTesting.forward(wc, q, mem, false, new int[] {9, 4}, 0, null);
            MultiHeadAttention.Result rc = cross.forward(MultiHeadAttention.Call.builder(Buffers.convert(q, dt))
                    .memory(Buffers.convert(mem, dt)).kvLengths(9, 4).build());
            double e = LayerTesting.relErr(wantC, readBack(scope, rc.y()));
            assertTrue(e < tol, "cross-attention error " + e);
        }
    }

    private static Tensor host(DType dt, int... shape) {
        return Buffers.convert(Tensor.of(new float[(int) Tensor.numel(shape)], shape), dt);
    }

    /** A tensor (host or device) read back as floats. */
    static float[] readBack(Scope scope, Tensor t) {
        Tensor h = host(t.dtype(), t.shape());
        scope.copy(t, h);
        return h.toFloatArray();
    }

    /**
     * Prefill {@code p} tokens into a KV cache, then decode the rest one token at a time; every
     * step's output row equals the full causal forward's row for that token.
     */
    static void incrementalEqualsFull(Backend backend, DType dt, double tol) {
        SplittableRandom r = new SplittableRandom(29);
        int bn = 2, s = 11, e = 32, p = 4;
        try (Scope scope = backend.newScope()) {
            AttentionWeights w = LayerTesting.weights(9, e, 4, 1, 8, e, true);
            MultiHeadAttention mha = MultiHeadAttention.builder(w).dtype(dt).causal(true).rope(10000f).build(scope);
            Tensor x = Buffers.convert(LayerTesting.random(r, 1f, bn, s, e), dt);
            float[] full = readBack(scope, mha.forward(x).y());
            MultiHeadAttention.KvCache cache = mha.newCache(bn, 16);
            Tensor xd = scope.upload(x);
            for (int t0 = 0; t0 < s; ) {
                int n = t0 == 0 ? p : 1;
                Tensor step = xd.view(xd.offset() + (long) t0 * e, new int[] {bn, n, e}, xd.strides());
                float[] got = readBack(scope, mha.forward(step, cache).y());
                for (int b = 0; b < bn; b++) {
                    for (int t = 0; t < n; t++) {
                        for (int c = 0; c < e; c++) {
                            double want = full[(b * s + t0 + t) * e + c];
                            double g = got[(b * n + t) * e + c];
                            assertTrue(Math.abs(want - g) <= tol * (1 + Math.abs(want)),
                                    "token " + (t0 + t) + " batch " + b + " feature " + c + ": incremental " + g + ", full " + want);
                        }
                    }
                }
                t0 += n;
                assertEquals(t0, cache.length());
            }
        }
    }

    @Test
    void referenceBackendAgainstDouble() {
        try (Backend cpu = new CpuBackend()) {
            againstDouble(cpu, DType.F32, 1e-5);
        }
    }

    @Test
    void incrementalDecodingEqualsTheFullCausalForward() {
        try (Backend cpu = new CpuBackend()) {
            incrementalEqualsFull(cpu, DType.F32, 1e-5);
        }
    }

    @Test
    void validation() {
        try (Backend cpu = new CpuBackend(); Scope scope = cpu.newScope()) {
            AttentionWeights w = LayerTesting.weights(5, 24, 4, 2, 8, 24, false);
            MultiHeadAttention mha = MultiHeadAttention.builder(w).build(scope);
            String m = assertThrows(IllegalArgumentException.class, () -> mha.forward(Tensor.of(new float[2 * 3 * 20], 2, 3,
                    20))).getMessage();
            assertEquals("x.shape[2] (E): expected 24, got 20", m);
            MultiHeadAttention.KvCache c = mha.newCache(2, 4);
            m = assertThrows(IllegalArgumentException.class, () -> mha.forward(Tensor.of(new float[2 * 5 * 24], 2, 5, 24), c))
                    .getMessage();
            assertEquals("cache length + S: expected <= capacity 4, got 5", m);
            assertThrows(IllegalArgumentException.class, () -> MultiHeadAttention.builder(
                    LayerTesting.weights(5, 24, 4, 2, 7, 24, false)).rope(10000f));
        }
    }
}
