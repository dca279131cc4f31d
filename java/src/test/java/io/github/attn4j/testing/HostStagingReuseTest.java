package io.github.attn4j.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Attn4j;
import io.github.attn4j.Backend;
import io.github.attn4j.Scope;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Host-array calls on one scope reuse the device copies of the previous host call: the same shapes
 * allocate nothing, other sizes free what does not fit, a failed call keeps nothing, close frees all.
 */
class HostStagingReuseTest {
    static float[] rand(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    /** SDPA on fresh host arrays of sequence length {@code s}; returns {output, reference}. */
    static float[][] run(Scope scope, int s, long seed) {
        int b = 1, h = 2, d = 8;
        float[] q = rand(b * h * s * d, seed), k = rand(b * h * s * d, seed + 1), v = rand(b * h * s * d, seed + 2);
        float[] o = new float[q.length], want = new float[q.length];
        scope.sdpa(SdpaParams.builder(Tensor.of(q, b, h, s, d), Tensor.of(k, b, h, s, d), Tensor.of(v, b, h, s, d),
                Tensor.of(o, b, h, s, d)).causal().build());
        try (Backend cpu = Attn4j.open("cpu")) {
            cpu.sdpa(SdpaParams.builder(Tensor.of(q, b, h, s, d), Tensor.of(k, b, h, s, d), Tensor.of(v, b, h, s, d),
                    Tensor.of(want, b, h, s, d)).causal().build());
        }
        return new float[][] {o, want};
    }

    @Test
    void theSameShapesAllocateNothingAndTheResultsAreFresh() {
        try (FakeDevice dev = new FakeDevice()) {
            Scope scope = dev.newScope();
            float[][] r = run(scope, 5, 1);
            assertArrayEquals(r[1], r[0]);
            assertEquals(4, dev.allocations.size(), "q, k, v and o staged");
            for (int i = 0; i < 3; i++) {
                r = run(scope, 5, 10 + i); // new data each time: a stale copy would show
                assertArrayEquals(r[1], r[0]);
            }
            assertEquals(4, dev.allocations.size(), "the same shapes reuse the four device copies");
            assertTrue(dev.allocations.stream().noneMatch(m -> m.freed));
            assertEquals(0, scope.allocatedBytes(), "kept copies are not counted as the scope's tensors");

            r = run(scope, 9, 20); // larger: none fits, four new ones, the four old ones freed
            assertArrayEquals(r[1], r[0]);
            assertEquals(8, dev.allocations.size());
            assertTrue(dev.allocations.subList(0, 4).stream().allMatch(m -> m.freed));

            r = run(scope, 3, 30); // smaller: the larger copies fit and are reused
            assertArrayEquals(r[1], r[0]);
            assertEquals(8, dev.allocations.size());

            scope.close();
            assertTrue(dev.allocations.stream().allMatch(m -> m.freed), "close frees the kept copies");
        }
    }

    @Test
    void aFailedCallKeepsNothing() {
        try (FakeDevice dev = new FakeDevice(); Scope scope = dev.newScope()) {
            run(scope, 5, 1);
            dev.fault = p -> {
                throw new IllegalStateException("injected launch failure");
            };
            assertThrows(IllegalStateException.class, () -> run(scope, 5, 2));
            assertEquals(4, dev.allocations.size(), "the failed call reused the kept copies");
            assertTrue(dev.allocations.stream().allMatch(m -> m.freed), "and freed them when it failed");
            dev.fault = p -> {};
            float[][] r = run(scope, 5, 3);
            assertArrayEquals(r[1], r[0]);
            assertEquals(8, dev.allocations.size());
        }
    }
}
