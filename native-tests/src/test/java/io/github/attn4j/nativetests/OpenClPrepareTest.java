package io.github.attn4j.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Attn4j;
import io.github.attn4j.Backend;
import io.github.attn4j.Masks;
import io.github.attn4j.OpParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.spi.KernelBuilds;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code Backend.prepare} on OpenCL: it builds the programs of the calls it is given, and running
 * those calls afterwards builds nothing. Uses two variants that the matrix also uses (SDPA f32
 * D = 16 causal, softmax f32), so it adds no PoCL compile time to a CI run beyond their first build.
 */
class OpenClPrepareTest {
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

    static float[] rand(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    @Test
    void afterPrepareTheRunBuildsNothing() {
        OpenClTesting.assumeDevice(backend);
        int b = 2, h = 2, sq = 5, sk = 7, d = 16;
        float[] q = rand(b * h * sq * d, 1), k = rand(b * h * sk * d, 2), v = rand(b * h * sk * d, 3);
        float[] o = new float[b * h * sq * d], want = new float[o.length];
        float[] x = rand(b * h * sq * sk, 4), y = new float[x.length], yWant = new float[x.length];
        OpParams sdpa = SdpaParams.builder(Tensor.of(q, b, h, sq, d), Tensor.of(k, b, h, sk, d), Tensor.of(v, b, h, sk, d),
                Tensor.of(o, b, h, sq, d)).masks(Masks.causal()).build();
        OpParams softmax = SoftmaxParams.builder(Tensor.of(x, b, h, sq, sk), Tensor.of(y, b, h, sq, sk)).build();

        long before = KernelBuilds.count();
        backend.prepare(sdpa, softmax);
        long prepared = KernelBuilds.count();
        // a new backend has a new context: its programs are built here (the cache is per context)
        assertTrue(prepared > before, "prepare built nothing: " + before + " -> " + prepared);

        backend.run(sdpa);
        backend.run(softmax);
        assertEquals(prepared, KernelBuilds.count(), "the runs after prepare built kernels");

        try (Backend cpu = Attn4j.open("cpu")) {
            cpu.run(SdpaParams.builder(Tensor.of(q, b, h, sq, d), Tensor.of(k, b, h, sk, d), Tensor.of(v, b, h, sk, d),
                    Tensor.of(want, b, h, sq, d)).masks(Masks.causal()).build());
            cpu.run(SoftmaxParams.builder(Tensor.of(x, b, h, sq, sk), Tensor.of(yWant, b, h, sq, sk)).build());
        }
        for (int i = 0; i < o.length; i++) {
            assertEquals(want[i], o[i], 1e-5f, "o[" + i + "]");
        }
        for (int i = 0; i < y.length; i++) {
            assertEquals(yWant[i], y[i], 1e-6f, "y[" + i + "]");
        }
    }
}
