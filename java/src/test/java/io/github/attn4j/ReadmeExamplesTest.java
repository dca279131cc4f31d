package io.github.attn4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.opencl.OpenClBackend;
import java.util.SplittableRandom;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_mem;
import org.junit.jupiter.api.Test;

/**
 * The README's Java examples, compiled, and run on the float64 reference where they need no device
 * (the caller-memory examples are compiled only; native-tests' interop tests run that path; the CUDA
 * one is in attn4j-cuda, {@code cuda.CudaReadmeExamplesTest}).
 * Keep the two in step: a README example that no longer compiles here is out of date.
 */
class ReadmeExamplesTest {
    static float[] rand(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    // keys [from, to) of a [B, H, S, D] tensor, as a view (no copy)
    static Tensor keys(Tensor t, int from, int to) {
        return t.view(t.offset() + from * t.stride(2), new int[] {t.dim(0), t.dim(1), to - from, t.dim(3)}, t.strides());
    }

    /** The merge example: two scopes over the two halves of the keys, merged, equal the unsplit SDPA. */
    @Test
    void mergeAcrossTwoScopes() {
        int B = 2, H = 3, Sq = 4, Sk = 9, D = 8, Dv = 6;
        float[] q = rand(B * H * Sq * D, 21), k = rand(B * H * Sk * D, 22), v = rand(B * H * Sk * Dv, 23);
        float[] o = new float[B * H * Sq * Dv], lse = new float[B * H * Sq];
        float[] want = new float[o.length], wantLse = new float[lse.length];
        System.setProperty("attn4j.backend", "cpu");
        try {
            int h2 = Sk / 2;                                    // keys [0, h2) in scope 1, [h2, Sk) in scope 2
            Tensor tq = Tensor.of(q, B, H, Sq, D), tk = Tensor.of(k, B, H, Sk, D), tv = Tensor.of(v, B, H, Sk, Dv);
            try (Backend attn = Attn4j.open(); Scope s1 = attn.newScope(); Scope s2 = attn.newScope()) {
                Tensor o1 = s1.allocate(DType.F32, B, H, Sq, Dv), lse1 = s1.allocate(DType.F32, B, H, Sq);
                Tensor o2 = s2.allocate(DType.F32, B, H, Sq, Dv), lse2 = s2.allocate(DType.F32, B, H, Sq);
                s1.sdpa(SdpaParams.builder(tq, keys(tk, 0, h2), keys(tv, 0, h2), o1).lse(lse1).build());
                s2.sdpa(SdpaParams.builder(tq, keys(tk, h2, Sk), keys(tv, h2, Sk), o2).lse(lse2).build());
                s1.merge(MergeParams.builder(java.util.List.of(o1, o2), java.util.List.of(lse1, lse2),
                        Tensor.of(o, B, H, Sq, Dv)).lse(Tensor.of(lse, B, H, Sq)).build());
                attn.sdpa(SdpaParams.builder(tq, tk, tv, Tensor.of(want, B, H, Sq, Dv)).lse(Tensor.of(wantLse, B, H, Sq))
                        .build());
            }
        } finally {
            System.clearProperty("attn4j.backend");
        }
        for (int i = 0; i < o.length; i++) {
            assertEquals(want[i], o[i], 1e-6f);
        }
        for (int i = 0; i < lse.length; i++) {
            assertEquals(wantLse[i], lse[i], 1e-6f);
        }
    }

    @Test
    void eachOpOnHostArrays() {
        int B = 2, H = 4, Sq = 5, Sk = 7, D = 16, A = 8, Dq = 12, Dk = 10, Dv = 16;
        float[] q = rand(B * H * Sq * D, 1), k = rand(B * H * Sk * D, 2), v = rand(B * H * Sk * Dv, 3);
        float[] o = new float[B * H * Sq * Dv], lse = new float[B * H * Sq];
        float[] x = rand(B * H * Sq * Sk, 4), y = new float[x.length], dy = rand(x.length, 5), dx = new float[x.length];
        float[] rq = rand(B * H * Sq * Dq, 6), rk = rand(B * H * Sk * Dk, 7), wq = rand(A * Dq, 8), wk = rand(A * Dk, 9);
        float[] qp = rand(B * H * Sq * A, 10), kp = rand(B * H * Sk * A, 11), w = rand(A, 12), b = rand(A, 13);
        float[] c = new float[B * H * Sq * Dv], weights = new float[B * H * Sq * Sk];

        try (Backend attn = Attn4j.open("cpu")) {
            // SDPA: causal (bottom-right), GQA-free, with the log-sum-exp.
            attn.sdpa(SdpaParams.builder(Tensor.of(q, B, H, Sq, D), Tensor.of(k, B, H, Sk, D),
                    Tensor.of(v, B, H, Sk, Dv), Tensor.of(o, B, H, Sq, Dv))
                .lse(Tensor.of(lse, B, H, Sq))
                .masks(Masks.builder().causal().kvLengths(7, 5).build())
                .build());

            // Masked softmax forward, then its backward from Y and dY.
            attn.softmax(SoftmaxParams.builder(Tensor.of(x, B, H, Sq, Sk), Tensor.of(y, B, H, Sq, Sk))
                .scale(0.125f).causal().build());
            attn.softmaxBackward(SoftmaxBackwardParams.builder(Tensor.of(y, B, H, Sq, Sk),
                    Tensor.of(dy, B, H, Sq, Sk), Tensor.of(dx, B, H, Sq, Sk))
                .scale(0.125f).build());

            // Additive, raw inputs: Qp = Q·Wqᵀ and Kp = K·Wkᵀ are fused in; b is the vector inside the tanh.
            attn.additive(AdditiveParams.builder(Tensor.of(rq, B, H, Sq, Dq), Tensor.of(rk, B, H, Sk, Dk),
                    Tensor.of(v, B, H, Sk, Dv), Tensor.of(w, A), Tensor.of(c, B, H, Sq, Dv))
                .projections(Tensor.of(wq, A, Dq), Tensor.of(wk, A, Dk))
                .tanhBias(Tensor.of(b, A))
                .build());

            // Additive, pre-projected Qp [B, H, Sq, A] and Kp [B, H, Sk, A], with the attention weights.
            attn.additive(AdditiveParams.builder(Tensor.of(qp, B, H, Sq, A), Tensor.of(kp, B, H, Sk, A),
                    Tensor.of(v, B, H, Sk, Dv), Tensor.of(w, A), Tensor.of(c, B, H, Sq, Dv))
                .weights(Tensor.of(weights, B, H, Sq, Sk))
                .masks(Masks.builder().causal().build())
                .build());
        }
        double rowSum = 0;
        for (int j = 0; j < Sk; j++) {
            rowSum += weights[j];
        }
        assertEquals(1.0, rowSum, 1e-5);
        assertTrue(Float.isFinite(lse[0]) && y[Sk] > 0 && dx[0] != 0 && c[0] != 0);
    }

    @Test
    void deviceResident() {
        int B = 1, H = 2, S = 16, D = 8;
        float[] x = rand(B * H * S * S, 20), dy = rand(B * H * S * S, 21), dx = new float[B * H * S * S];
        try (Backend gpu = Attn4j.open("cpu"); Scope scope = gpu.newScope()) {
            Tensor dX = scope.upload(Tensor.of(x, B, H, S, S));      // device copies, owned by the scope
            Tensor dDy = scope.upload(Tensor.of(dy, B, H, S, S));
            Tensor dY = scope.allocate(DType.F32, B, H, S, S);
            Tensor dDx = scope.allocate(DType.F32, B, H, S, S);
            scope.softmax(SoftmaxParams.builder(dX, dY).causal().build());         // queued, no wait
            scope.softmaxBackward(SoftmaxBackwardParams.builder(dY, dDy, dDx).build());
            scope.copy(dDx, Tensor.of(dx, B, H, S, S));                           // waits: host data asked for
        }
        assertTrue(dx[0] == 0 && dx[1] == 0, "row 0 sees key 0 only: its gradient is 0");
        assertTrue(dx[S * S - 1] != 0);
    }

    /** The 3×5 picture: causal under both alignments, read off the reference's masked softmax. */
    @Test
    void causalAlignmentPicture() {
        assertEquals("""
                x x x . .
                x x x x .
                x x x x x
                """, picture(Alignment.BOTTOM_RIGHT));
        assertEquals("""
                x . . . .
                x x . . .
                x x x . .
                """, picture(Alignment.TOP_LEFT));
    }

    static String picture(Alignment a) {
        float[] y = new float[15];
        try (Backend cpu = Attn4j.open("cpu")) {
            cpu.softmax(SoftmaxParams.builder(Tensor.of(rand(15, 30), 3, 5), Tensor.of(y, 3, 5))
                    .masks(Masks.builder().alignment(a).causal().build()).build());
        }
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 5; j++) {
                s.append(y[i * 5 + j] > 0 ? "x" : ".").append(j < 4 ? " " : "\n");
            }
        }
        return s.toString();
    }

    /** Compiled, not run: the caller's OpenCL context, queue and buffers. */
    static void openClCallerMemory(cl_context context, cl_device_id device, cl_command_queue queue, cl_mem qMem,
            cl_mem kMem, cl_mem vMem, cl_mem oMem, int B, int H, int S, int D) {
        int[] shape = {B, H, S, D};
        long[] strides = Tensor.contiguousStrides(shape);
        long bytes = Tensor.numel(shape) * DType.F32.bytes();
        try (OpenClBackend cl = OpenClBackend.wrap(context, device); Scope scope = cl.newScope(queue)) {
            Tensor q = Tensor.of(cl.wrap(qMem, bytes), DType.F32, shape, strides, 0);   // not owned
            Tensor k = Tensor.of(cl.wrap(kMem, bytes), DType.F32, shape, strides, 0);
            Tensor v = Tensor.of(cl.wrap(vMem, bytes), DType.F32, shape, strides, 0);
            Tensor o = Tensor.of(cl.wrap(oMem, bytes), DType.F32, shape, strides, 0);
            scope.sdpa(SdpaParams.builder(q, k, v, o).causal().build());   // enqueued on the caller's queue
        }   // closing waits for the queue; the context, queue and buffers stay the caller's
    }

    @Test
    void pagedDecodeLoop() {
        int B = 2, Hq = 4, Hkv = 2, D = 16, pageSize = 3, maxPages = 4, numPages = 9, steps = 3;
        int[] blockTable = {4, 0, 7, -1, 2, 8, 1, 5};   // unused entries may hold anything
        int[] kvLengths = {5, 7};
        float[] sinkLogits = {0.5f, -1f, 2f, 0f};
        float[] kc = rand(numPages * pageSize * Hkv * D, 21), vc = rand(kc.length, 22);
        try (Backend attn = Attn4j.open("cpu"); Scope scope = attn.newScope()) {
            Tensor kCache = scope.upload(Tensor.of(kc, numPages, pageSize, Hkv, D));
            Tensor vCache = scope.upload(Tensor.of(vc, numPages, pageSize, Hkv, D));
            Tensor table = scope.upload(Tensor.of(HostMemory.of(blockTable), DType.I32, new int[] {B, maxPages},
                    Tensor.contiguousStrides(B, maxPages), 0));
            float[] qh = rand(B * Hq * D, 23);
            Tensor q = Tensor.of(qh, B, Hq, 1, D);
            Tensor o = scope.allocate(DType.F32, B, Hq, 1, D);
            Tensor sinks = scope.upload(Tensor.of(sinkLogits, Hq));
            for (int step = 0; step < steps; step++) {
                scope.sdpa(SdpaParams.builder(q, new PagedKv(kCache, vCache, table, kvLengths), o)
                    .causal()
                    .sinks(sinks)
                    .build());
                float[] out = new float[B * Hq * D];
                scope.copy(o, Tensor.of(out, B, Hq, 1, D));
                for (float f : out) {
                    assertTrue(Float.isFinite(f));
                }
                for (int b = 0; b < B; b++) {
                    kvLengths[b]++;   // the new rows were "appended" (the cache already holds values there)
                }
            }
            assertEquals(8, kvLengths[0]);
        }
    }
}
