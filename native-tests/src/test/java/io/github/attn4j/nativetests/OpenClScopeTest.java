package io.github.attn4j.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Masks;
import io.github.attn4j.Scope;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.Reference;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Scope mechanics on a real OpenCL device: ordering across scopes, a scope used from two threads,
 * bounded host staging, and per-call state that never grows with the number of distinct calls.
 */
class OpenClScopeTest {
    static Backend backend;

    @BeforeAll
    static void open() {
        backend = OpenClTesting.openOrNull();
    }

    @AfterAll
    static void close() {
        if (backend != null) {
            backend.close();
        }
    }

    static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    /**
     * An op on scope A writes a device tensor; scope B reads it at once (a copy to the host, and an
     * op). B must see A's result, not what was there before: B's queue waits for A's work.
     */
    @Test
    void aReadOnAnotherScopeWaitsForTheWriter() {
        OpenClTesting.assumeDevice(backend);
        int b = 1, h = 4, s = 1024, d = 64, n = b * h * s * d;
        float[] q = random(n, 1), k = random(n, 2), v = random(n, 3);
        float[] want = toFloat(Reference.sdpa(SdpaParams.builder(Tensor.of(q, b, h, s, d),
                Tensor.of(k, b, h, s, d), Tensor.of(v, b, h, s, d), Tensor.of(new float[n], b, h, s, d)).build()).o());
        float[] poison = new float[n];
        Arrays.fill(poison, Float.NaN);
        for (int run = 0; run < 3; run++) {
            try (Scope a = backend.newScope(); Scope bScope = backend.newScope()) {
                Tensor dq = a.upload(Tensor.of(q, b, h, s, d)), dk = a.upload(Tensor.of(k, b, h, s, d));
                Tensor dv = a.upload(Tensor.of(v, b, h, s, d)), o = a.upload(Tensor.of(poison, b, h, s, d));
                a.synchronize();
                a.sdpa(SdpaParams.builder(dq, dk, dv, o).build()); // asynchronous on A's queue
                float[] got = new float[n];
                bScope.copy(o, Tensor.of(got, b, h, s, d)); // on B's queue
                for (int i = 0; i < n; i++) {
                    assertEquals(want[i], got[i], 1e-4f, "run " + run + ": element " + i + " read before A wrote it");
                }
                // an op on B reading A's output, then A reading B's
                Tensor x = o.view(0, new int[] {b, h, s, d}, o.strides());
                a.sdpa(SdpaParams.builder(dq, dk, dv, o).scale(0.05f).build());
                Tensor y = bScope.allocate(DType.F32, b, h, s, d);
                bScope.softmax(SoftmaxParams.builder(x, y).build());
                float[] ys = new float[n];
                a.copy(y, Tensor.of(ys, b, h, s, d));
                float[] o2 = new float[n];
                a.copy(o, Tensor.of(o2, b, h, s, d));
                float[] wantY = toFloat(Reference.softmax(SoftmaxParams.builder(Tensor.of(o2, b, h, s, d),
                        Tensor.of(new float[n], b, h, s, d)).build()));
                for (int i = 0; i < n; i++) {
                    assertEquals(wantY[i], ys[i], 1e-5f, "run " + run + ": softmax element " + i);
                }
            }
        }
    }

    /** Two threads in one scope at once: the second gets a clear error, nothing leaks or breaks. */
    @Test
    void aScopeRefusesASecondThreadAtOnce() throws Exception {
        OpenClTesting.assumeDevice(backend);
        int n = 1 << 22;
        float[] big = random(n, 4);
        try (Scope scope = backend.newScope()) {
            Tensor dev = scope.allocate(DType.F32, n);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                CountDownLatch go = new CountDownLatch(1);
                AtomicReference<Throwable> error = new AtomicReference<>();
                Future<?> copier = pool.submit(() -> {
                    go.countDown();
                    for (int i = 0; i < 20; i++) {
                        scope.copy(Tensor.of(big, n), dev); // 16 MiB through the staging buffer: takes a while
                    }
                    return null;
                });
                go.await();
                Future<?> other = pool.submit(() -> {
                    for (int i = 0; i < 2000; i++) {
                        try {
                            scope.allocate(DType.F32, 16);
                        } catch (IllegalStateException e) {
                            error.set(e);
                            return null;
                        }
                    }
                    return null;
                });
                other.get(60, TimeUnit.SECONDS);
                copier.get(60, TimeUnit.SECONDS);
                assertTrue(error.get() != null, "concurrent use was not detected");
                assertTrue(error.get().getMessage().contains("one thread at a time"), error.get().getMessage());
            } finally {
                pool.shutdownNow();
            }
            // the bookkeeping is intact: every allocation counted exactly once
            long bytes = scope.allocatedBytes();
            assertEquals(0, (bytes - 4L * n) % 64, "allocations of 64 B plus the big tensor: " + bytes);
        }
    }

    static long directBytes() {
        for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (b.getName().equals("direct")) {
                return b.getMemoryUsed();
            }
        }
        return 0;
    }

    /** Host copies go through a bounded staging buffer: direct memory does not grow with the number of copies. */
    @Test
    void stagingIsReusedNotReallocated() {
        OpenClTesting.assumeDevice(backend);
        int n = 1 << 18; // 1 MiB
        float[] host = random(n, 5), back = new float[n];
        long before = directBytes();
        for (int cycle = 0; cycle < 300; cycle++) {
            try (Scope s = backend.newScope()) {
                Tensor d = s.upload(Tensor.of(host, n));
                s.copy(d, Tensor.of(back, n));
            }
        }
        long grown = directBytes() - before;
        assertTrue(grown <= 5L * (4 << 20), "direct memory grew by " + grown + " B over 300 scopes of 1 MiB copies");
        assertEquals(host[n - 1], back[n - 1]);
    }

    /** Changing kv lengths every call (a decode loop): the scope's device bytes stay flat. */
    @Test
    void changingLengthsKeepTheScopeFlat() {
        OpenClTesting.assumeDevice(backend);
        int b = 2, h = 2, sk = 64, d = 16;
        try (Scope s = backend.newScope()) {
            Tensor q = s.upload(Tensor.of(random(b * h * d, 6), b, h, 1, d));
            Tensor k = s.upload(Tensor.of(random(b * h * sk * d, 7), b, h, sk, d));
            Tensor v = s.upload(Tensor.of(random(b * h * sk * d, 8), b, h, sk, d));
            Tensor o = s.allocate(DType.F32, b, h, 1, d);
            long flat = -1;
            for (int step = 0; step < 10_000; step++) {
                int len = 1 + step % sk;
                s.sdpa(SdpaParams.builder(q, k, v, o).masks(Masks.builder().kvLengths(len, sk - len + 1).build()).build());
                if (step == 10) {
                    flat = s.allocatedBytes();
                }
                if (step % 1000 == 999) {
                    s.synchronize();
                    assertEquals(flat, s.allocatedBytes(), "step " + step);
                }
            }
        }
    }

    /**
     * A scope keeps one kernel object per kernel and binds its arguments at every launch: calls of the same
     * kernels on other tensors and lengths, queued back to back with no wait between them, each give their
     * own result (the arguments an enqueue captured are not those of the next call).
     */
    @Test
    void kernelObjectsAreReboundAtEveryLaunch() {
        OpenClTesting.assumeDevice(backend);
        int b = 2, h = 4, d = 32;
        int[] sks = {100, 333, 100};
        int[][] lens = {{100, 37}, {333, 1}, {5, 99}};
        try (Scope s = backend.newScope()) {
            Tensor[] outs = new Tensor[sks.length];
            SdpaParams[] calls = new SdpaParams[sks.length];
            float[][] want = new float[sks.length][];
            for (int c = 0; c < sks.length; c++) { // every upload first: the launches below go out back to back
                int sk = sks[c];
                float[] q = random(b * h * d, 20 + c), k = random(b * h * sk * d, 30 + c), v = random(b * h * sk * d, 40 + c);
                Masks m = Masks.builder().kvLengths(lens[c]).build();
                want[c] = toFloat(Reference.sdpa(SdpaParams.builder(Tensor.of(q, b, h, 1, d), Tensor.of(k, b, h, sk, d),
                        Tensor.of(v, b, h, sk, d), Tensor.of(new float[b * h * d], b, h, 1, d)).masks(m).build()).o());
                float[] poison = new float[b * h * d];
                Arrays.fill(poison, Float.NaN);
                outs[c] = s.upload(Tensor.of(poison, b, h, 1, d));
                calls[c] = SdpaParams.builder(s.upload(Tensor.of(q, b, h, 1, d)), s.upload(Tensor.of(k, b, h, sk, d)),
                        s.upload(Tensor.of(v, b, h, sk, d)), outs[c]).masks(m).build();
            }
            for (SdpaParams call : calls) {
                s.sdpa(call);
            }
            for (int c = 0; c < sks.length; c++) {
                float[] got = new float[b * h * d];
                s.copy(outs[c], Tensor.of(got, b, h, 1, d));
                for (int i = 0; i < got.length; i++) {
                    assertTrue(Math.abs(got[i] - want[c][i]) <= 1e-5f + 1e-4f * Math.abs(want[c][i]),
                            "call " + c + " element " + i + ": " + got[i] + " vs " + want[c][i]);
                }
            }
        }
    }

    /**
     * Strided copies on the device (the copy kernel): appending a token to a KV cache slot in one
     * call, a BSHD host view uploaded, read back through strided views, for every element width.
     */
    @Test
    void stridedCopiesRunOnTheDevice() {
        OpenClTesting.assumeDevice(backend);
        int b = 2, h = 3, s = 33, d = 16;
        try (Scope scope = backend.newScope()) {
            for (DType dt : new DType[] {DType.F32, DType.F16, DType.BOOL}) {
                int n = b * h * s * d, es = dt.bytes();
                java.nio.ByteBuffer hostCache = java.nio.ByteBuffer.allocate(n * es);
                SplittableRandom r = new SplittableRandom(9);
                for (int i = 0; i < n * es; i++) {
                    hostCache.put(i, (byte) r.nextInt(dt == DType.BOOL ? 2 : 256));
                }
                Tensor cache = scope.upload(Tensor.of(hostCache, dt, b, h, s, d));
                java.nio.ByteBuffer tok = java.nio.ByteBuffer.allocate(b * h * d * es);
                for (int i = 0; i < b * h * d * es; i++) {
                    tok.put(i, (byte) (dt == DType.BOOL ? 1 - hostCache.get(i) : i * 7 + 1));
                }
                int pos = 17;
                Tensor slot = cache.view(cache.offset() + (long) pos * d, new int[] {b, h, 1, d}, cache.strides());
                scope.copy(Tensor.of(tok, dt, b, h, 1, d), slot);
                java.nio.ByteBuffer all = java.nio.ByteBuffer.allocate(n * es);
                scope.copy(cache, Tensor.of(all, dt, b, h, s, d));
                for (int x = 0; x < b * h; x++) {
                    for (int j = 0; j < s; j++) {
                        for (int k = 0; k < d * es; k++) {
                            int at = (x * s + j) * d * es + k;
                            byte want = j == pos ? tok.get(x * d * es + k) : hostCache.get(at);
                            assertEquals(want, all.get(at), dt + " bh " + x + " pos " + j + " byte " + k);
                        }
                    }
                }
                // the whole cache through a BSHD device view and back
                Tensor bshd = scope.allocate(dt, io.github.attn4j.Layout.BSHD, b, h, s, d);
                scope.copy(cache, bshd);
                java.nio.ByteBuffer again = java.nio.ByteBuffer.allocate(n * es);
                scope.copy(bshd, Tensor.of(again, dt, b, h, s, d));
                assertEquals(all, again, dt + ": BHSD -> BSHD -> BHSD");
            }
        }
    }
}
