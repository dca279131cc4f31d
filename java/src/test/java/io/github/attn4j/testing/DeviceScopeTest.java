package io.github.attn4j.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.DType;
import io.github.attn4j.Layout;
import io.github.attn4j.Scope;
import io.github.attn4j.Tensor;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The shared scope mechanics of every device backend ({@code AbstractDeviceScope}) on the fake
 * device: strided copies in every direction, allocation with a layout, a scope refusing a second
 * thread at once, and chunked staging of copies larger than the staging buffer.
 */
class DeviceScopeTest {
    static float[] iota(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = i + 0.5f;
        }
        return a;
    }

    /** Appending one token to a KV cache: a [B, H, 1, D] host tensor into a slice of a device cache. */
    @Test
    void copiesBetweenStridedViewsInEveryDirection() {
        int b = 2, h = 3, s = 7, d = 5;
        try (FakeDevice dev = new FakeDevice(); Scope scope = dev.newScope()) {
            Tensor cache = scope.allocate(DType.F32, b, h, s, d);
            scope.copy(Tensor.of(new float[b * h * s * d], b, h, s, d), cache); // zeros
            float[] tok = iota(b * h * d);
            int pos = 4;
            Tensor slot = cache.view(cache.offset() + (long) pos * d, new int[] {b, h, 1, d}, cache.strides());
            scope.copy(Tensor.of(tok, b, h, 1, d), slot); // host contiguous -> device strided
            float[] all = new float[b * h * s * d];
            scope.copy(cache, Tensor.of(all, b, h, s, d));
            for (int x = 0; x < b * h; x++) {
                for (int j = 0; j < s; j++) {
                    for (int k = 0; k < d; k++) {
                        float want = j == pos ? tok[x * d + k] : 0f;
                        assertEquals(want, all[(x * s + j) * d + k], "bh " + x + " pos " + j + " dim " + k);
                    }
                }
            }
            float[] back = new float[b * h * d];
            scope.copy(slot, Tensor.of(back, b, h, 1, d)); // device strided -> host contiguous
            assertArrayEquals(tok, back);
            // device strided -> device strided (BSHD view of the cache's first 1 slot)
            Tensor other = scope.allocate(DType.F32, Layout.BSHD, b, h, 1, d);
            assertArrayEquals(Layout.BSHD.strides(b, h, 1, d), other.strides());
            scope.copy(slot, other);
            float[] viaBshd = new float[b * h * d];
            scope.copy(other, Tensor.of(viaBshd, b, h, 1, d));
            assertArrayEquals(tok, viaBshd);
            // host strided -> device and device -> host strided (upload of a BSHD host view)
            float[] bshd = iota(b * s * h * d);
            Tensor hostView = Tensor.of(bshd, Layout.BSHD, b, h, s, d);
            Tensor up = scope.upload(hostView);
            float[] bhsd = new float[b * h * s * d];
            scope.copy(up, Tensor.of(bhsd, b, h, s, d));
            for (int i0 = 0; i0 < b; i0++) {
                for (int i1 = 0; i1 < h; i1++) {
                    for (int i2 = 0; i2 < s; i2++) {
                        for (int i3 = 0; i3 < d; i3++) {
                            assertEquals(bshd[((i0 * s + i2) * h + i1) * d + i3], bhsd[((i0 * h + i1) * s + i2) * d + i3]);
                        }
                    }
                }
            }
            float[] out = new float[b * s * h * d];
            scope.copy(up, Tensor.of(out, Layout.BSHD, b, h, s, d));
            assertArrayEquals(bshd, out);
        }
    }

    @Test
    void overlappingStridedDeviceCopiesAreRefused() {
        try (FakeDevice dev = new FakeDevice(); Scope scope = dev.newScope()) {
            Tensor t = scope.allocate(DType.F32, 4, 4);
            Tensor tr = t.view(t.offset(), new int[] {4, 4}, new long[] {1, 4});
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> scope.copy(t, tr));
            assertTrue(e.getMessage().startsWith("dst"), e.getMessage());
        }
    }

    /** Copies larger than the 4 MiB staging buffer go through it in chunks, bytes intact. */
    @Test
    void largeCopiesAreChunked() {
        int n = (9 << 20) / 4 + 3; // 9 MiB + 12 B
        float[] a = iota(n), back = new float[n];
        try (FakeDevice dev = new FakeDevice(); Scope scope = dev.newScope()) {
            Tensor d = scope.upload(Tensor.of(a, n));
            scope.copy(d, Tensor.of(back, n));
        }
        assertArrayEquals(a, back);
    }

    /** A second thread inside a scope at the same time gets an IllegalStateException; nothing leaks. */
    @Test
    void aSecondThreadAtOnceIsRefused() throws Exception {
        try (FakeDevice dev = new FakeDevice(); Scope scope = dev.newScope()) {
            CountDownLatch inside = new CountDownLatch(1), release = new CountDownLatch(1);
            dev.fault = p -> {
                inside.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                float[] x = iota(16);
                Future<?> f = pool.submit(() -> scope.softmax(io.github.attn4j.SoftmaxParams.builder(Tensor.of(x, 1, 1, 4, 4),
                        Tensor.of(new float[16], 1, 1, 4, 4)).build()));
                assertTrue(inside.await(30, TimeUnit.SECONDS));
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> scope.allocate(DType.F32, 8));
                assertTrue(e.getMessage().contains("one thread at a time"), e.getMessage());
                release.countDown();
                f.get(30, TimeUnit.SECONDS);
            } finally {
                pool.shutdownNow();
            }
            // handing the scope to this thread afterwards is fine, and the books are straight
            Tensor t = scope.allocate(DType.F32, 8);
            assertEquals(t.memory().byteSize(), scope.allocatedBytes());
        }
    }
}
