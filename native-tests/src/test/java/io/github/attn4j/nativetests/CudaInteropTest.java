package io.github.attn4j.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.Reference;
import io.github.attn4j.cuda.CudaBackend;
import io.github.attn4j.cuda.CudaScope;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jcuda.Pointer;
import jcuda.Sizeof;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.Test;

/**
 * Zero-copy interop and threading on a real CUDA device (skipped without one; failed with
 * -Dattn4j.require=cuda): the caller's own JCuda memory and stream, outputs written into caller
 * memory, the caller's context left current, wrapped memory never freed, several threads at once.
 */
class CudaInteropTest {
    static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    static void ok(int r, String what) {
        assertEquals(CUresult.CUDA_SUCCESS, r, what + ": " + CUresult.stringFor(r));
    }

    @Test
    void callerMemoryAndStream() {
        try (Backend b = Requirement.open("cuda")) {
            CudaBackend cuda = (CudaBackend) b;
            int bb = 2, h = 3, s = 37, d = 64;
            int n = bb * h * s * d;
            Random rnd = new Random(7);
            float[] q = random(rnd, n), k = random(rnd, n), v = random(rnd, n);
            // the caller's own JCuda setup on the same device
            CUdevice dev = new CUdevice();
            ok(JCudaDriver.cuDeviceGet(dev, b.device().index()), "cuDeviceGet");
            CUcontext ctx = new CUcontext();
            ok(JCudaDriver.cuDevicePrimaryCtxRetain(ctx, dev), "retain");
            ok(JCudaDriver.cuCtxSetCurrent(ctx), "set current");
            CUstream stream = new CUstream();
            ok(JCudaDriver.cuStreamCreate(stream, 0), "stream");
            CUdeviceptr[] ptrs = new CUdeviceptr[4];
            float[][] host = {q, k, v, new float[n]};
            for (int i = 0; i < 4; i++) {
                ptrs[i] = new CUdeviceptr();
                ok(JCudaDriver.cuMemAlloc(ptrs[i], (long) n * Sizeof.FLOAT), "alloc");
                ok(JCudaDriver.cuMemcpyHtoD(ptrs[i], Pointer.to(host[i]), (long) n * Sizeof.FLOAT), "upload");
            }
            Tensor tq = cuda.wrap(ptrs[0], DType.F32, bb, h, s, d), tk = cuda.wrap(ptrs[1], DType.F32, bb, h, s, d);
            Tensor tv = cuda.wrap(ptrs[2], DType.F32, bb, h, s, d), to = cuda.wrap(ptrs[3], DType.F32, bb, h, s, d);
            try (CudaScope scope = cuda.newScope(stream)) {
                scope.sdpa(SdpaParams.builder(tq, tk, tv, to).causal().build());
            }
            ok(JCudaDriver.cuStreamSynchronize(stream), "caller sync");
            CUcontext cur = new CUcontext();
            ok(JCudaDriver.cuCtxGetCurrent(cur), "get current");
            assertEquals(ctx, cur, "the caller's context is still current");
            float[] o = new float[n];
            ok(JCudaDriver.cuMemcpyDtoH(Pointer.to(o), ptrs[3], (long) n * Sizeof.FLOAT), "download");
            SdpaParams ref = SdpaParams.builder(Tensor.of(q, bb, h, s, d), Tensor.of(k, bb, h, s, d), Tensor.of(v, bb, h, s, d),
                    Tensor.of(new float[n], bb, h, s, d)).causal().build();
            double[] want = Reference.sdpa(ref).o();
            for (int i = 0; i < n; i++) {
                assertEquals(want[i], o[i], 1e-4 * (1 + Math.abs(want[i])), "O[" + i + "]");
            }
            for (CUdeviceptr p : ptrs) {
                ok(JCudaDriver.cuMemFree(p), "the caller frees its own memory (attn4j did not)");
            }
            ok(JCudaDriver.cuStreamDestroy(stream), "stream destroy");
            JCudaDriver.cuDevicePrimaryCtxRelease(dev);
        }
    }

    @Test
    void severalThreadsAtOnce() throws Exception {
        try (Backend b = Requirement.open("cuda")) {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Double>> fs = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    int seed = t;
                    fs.add(pool.submit(() -> {
                        int n = 2 * 4 * 50 * 32;
                        Random rnd = new Random(seed);
                        Tensor q = Tensor.of(random(rnd, n), 2, 4, 50, 32), k = Tensor.of(random(rnd, n), 2, 4, 50, 32);
                        Tensor v = Tensor.of(random(rnd, n), 2, 4, 50, 32), o = Tensor.of(new float[n], 2, 4, 50, 32);
                        SdpaParams p = SdpaParams.builder(q, k, v, o).build();
                        b.sdpa(p);
                        double[] want = Reference.sdpa(p).o();
                        float[] got = o.toFloatArray();
                        double worst = 0;
                        for (int i = 0; i < n; i++) {
                            worst = Math.max(worst, Math.abs(want[i] - got[i]) / (1 + Math.abs(want[i])));
                        }
                        return worst;
                    }));
                }
                for (Future<Double> f : fs) {
                    double w = f.get();
                    assertFalse(Double.isNaN(w));
                    assertTrue(w < 1e-4, "worst relative error " + w);
                }
            } finally {
                pool.shutdown();
            }
        }
    }
}
