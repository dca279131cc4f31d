package io.github.attn4j.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Masks;
import io.github.attn4j.Scope;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.Reference;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Long runs that must not grow: 10,000 device-resident launches in one scope, 2,000 scope
 * open/close cycles, and a decode loop (Sq = 1) whose {@code kvLengths} change every step. Each
 * asserts that {@code allocatedBytes()} stays flat, and that direct memory ({@link BufferPoolMXBean}
 * "direct") and the process's resident set ({@code VmRSS}) grow by less than a bound after a
 * warm-up (a leak of one kernel object or one small buffer per launch would exceed it). Results
 * are checked against the reference along the way.
 */
class OpenClSoakTest {
    /**
     * Growth allowed after the warm-up. Direct memory is exact: a leaked staging buffer per launch
     * would add 10,000 of them. RSS is noisy on PoCL (malloc arenas of its worker threads: repeated
     * blocks of 10,000 launches measured 335 to 467 MiB with no trend), so its bound only catches
     * a leak of more than about 20 KiB per iteration.
     */
    static final long DIRECT_BOUND = 16L << 20;
    static final long RSS_BOUND = 192L << 20;

    static Backend cl;

    @BeforeAll
    static void open() {
        cl = OpenClTesting.openOrNull();
    }

    @AfterAll
    static void close() {
        if (cl != null) {
            cl.close();
        }
    }

    /** Direct buffer bytes in use and VmRSS, after a GC (so that unreachable direct buffers are gone). */
    record Usage(long direct, long rss) {
        static Usage now() {
            System.gc();
            long direct = 0;
            for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
                if (b.getName().equals("direct")) {
                    direct = b.getMemoryUsed();
                }
            }
            long rss = -1;
            try {
                for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (l.startsWith("VmRSS:")) {
                        rss = Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
                    }
                }
            } catch (java.io.IOException | RuntimeException e) {
                rss = -1;
            }
            return new Usage(direct, rss);
        }

        void assertGrowthBounded(String what, Usage before) {
            long dd = direct - before.direct, dr = rss < 0 || before.rss < 0 ? 0 : rss - before.rss;
            System.out.printf(Locale.ROOT, "%s: direct %+d KiB, RSS %+d KiB%n", what, dd >> 10, dr >> 10);
            assertTrue(dd < DIRECT_BOUND, what + ": direct memory grew by " + dd + " B (bound " + DIRECT_BOUND + ")");
            assertTrue(dr < RSS_BOUND, what + ": RSS grew by " + dr + " B (bound " + RSS_BOUND + ")");
        }
    }

    static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    /** Max |a - b| relative to max |b|. */
    static double relErr(double[] ref, float[] got) {
        double num = 0, den = 1e-30;
        for (int i = 0; i < ref.length; i++) {
            num = Math.max(num, Math.abs(got[i] - ref[i]));
            den = Math.max(den, Math.abs(ref[i]));
        }
        return num / den;
    }

    @Test
    void tenThousandDeviceResidentLaunches() {
        OpenClTesting.assumeDevice(cl);
        SplittableRandom r = new SplittableRandom(1);
        int b = 1, h = 2, s = 16, d = 16;
        Tensor q = Tensor.of(random(r, b * h * s * d), b, h, s, d);
        Tensor k = Tensor.of(random(r, b * h * s * d), b, h, s, d);
        Tensor v = Tensor.of(random(r, b * h * s * d), b, h, s, d);
        try (Scope scope = cl.newScope()) {
            Tensor dq = scope.upload(q), dk = scope.upload(k), dv = scope.upload(v);
            Tensor dout = scope.allocate(DType.F32, b, h, s, d);
            // kvLengths: every launch also creates and releases a temporary length buffer.
            Masks m = Masks.builder().causal().kvLengths(12).build();
            SdpaParams p = SdpaParams.builder(dq, dk, dv, dout).masks(m).build();
            long allocated = scope.allocatedBytes();
            for (int i = 0; i < 2000; i++) {
                scope.sdpa(p);
            }
            scope.synchronize();
            Usage before = Usage.now();
            for (int i = 0; i < 10_000; i++) {
                scope.sdpa(p);
                if (i % 1000 == 999) {
                    scope.synchronize();
                }
            }
            scope.synchronize();
            assertEquals(allocated, scope.allocatedBytes(), "allocatedBytes after 10,000 launches");
            Usage.now().assertGrowthBounded("10,000 launches", before);
            Tensor out = Tensor.of(new float[b * h * s * d], b, h, s, d);
            scope.copy(dout, out);
            double err = relErr(Reference.sdpa(SdpaParams.builder(q, k, v, out).masks(m).build()).o(), out.toFloatArray());
            assertTrue(err < 1e-5, "result after 10,000 launches: relative error " + err);
        }
    }

    @Test
    void twoThousandScopeCycles() {
        OpenClTesting.assumeDevice(cl);
        SplittableRandom r = new SplittableRandom(2);
        int b = 1, h = 1, s = 8, d = 16;
        Tensor q = Tensor.of(random(r, b * h * s * d), b, h, s, d);
        Tensor out = Tensor.of(new float[b * h * s * d], b, h, s, d);
        Usage before = null;
        for (int i = 0; i < 2_200; i++) {
            if (i == 200) {
                before = Usage.now();
            }
            try (Scope scope = cl.newScope()) {
                Tensor dq = scope.upload(q);
                Tensor dout = scope.allocate(DType.F32, b, h, s, d);
                assertEquals(2L * 4 * b * h * s * d, scope.allocatedBytes());
                scope.sdpa(SdpaParams.builder(dq, dq, dq, dout).causal().build());
                scope.copy(dout, out);
                scope.close();
                assertEquals(0, scope.allocatedBytes(), "allocatedBytes after close");
            }
        }
        Usage.now().assertGrowthBounded("2,000 scope cycles", before);
        double err = relErr(Reference.sdpa(SdpaParams.builder(q, q, q, out).causal().build()).o(), out.toFloatArray());
        assertTrue(err < 1e-5, "result of the last cycle: relative error " + err);
    }

    @Test
    void decodeLoopWithChangingKvLengths() {
        OpenClTesting.assumeDevice(cl);
        SplittableRandom r = new SplittableRandom(3);
        int b = 2, hq = 4, hkv = 2, smax = 256, d = 32;
        Tensor k = Tensor.of(random(r, b * hkv * smax * d), b, hkv, smax, d);
        Tensor v = Tensor.of(random(r, b * hkv * smax * d), b, hkv, smax, d);
        Tensor q = Tensor.of(random(r, b * hq * d), b, hq, 1, d);
        Tensor out = Tensor.of(new float[b * hq * d], b, hq, 1, d);
        try (Scope scope = cl.newScope()) {
            Tensor dk = scope.upload(k), dv = scope.upload(v), dq = scope.upload(q);
            Tensor dout = scope.allocate(DType.F32, b, hq, 1, d);
            // The scope's split-KV workspace grows to the largest length's need during round 0 and is
            // reused afterwards: rounds 1..7 must allocate nothing.
            long allocated = -1;
            Usage before = null;
            int steps = 0;
            for (int round = 0; round < 8; round++) {
                for (int len = 1; len <= smax; len++) {
                    if (round == 1 && len == 1) {
                        before = Usage.now();
                        allocated = scope.allocatedBytes();
                    }
                    // Batch 0 grows one key per step, batch 1 lags behind: both lengths change every step.
                    Masks m = Masks.builder().kvLengths(len, Math.max(1, (len * 2) / 3)).build();
                    scope.sdpa(SdpaParams.builder(dq, dk, dv, dout).masks(m).build());
                    steps++;
                    if (len % 64 == 0) {
                        scope.copy(dout, out);
                        double err = relErr(Reference.sdpa(SdpaParams.builder(q, k, v, out).masks(m).build()).o(),
                                out.toFloatArray());
                        assertTrue(err < 1e-5, "decode step " + steps + ": relative error " + err);
                    }
                }
            }
            scope.synchronize();
            assertEquals(allocated, scope.allocatedBytes(), "allocatedBytes after " + steps + " decode steps");
            Usage.now().assertGrowthBounded(steps + " decode steps", before);
        }
    }
}
