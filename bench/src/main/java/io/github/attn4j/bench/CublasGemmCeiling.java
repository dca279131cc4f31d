package io.github.attn4j.bench;

import io.github.attn4j.BackendException;
import io.github.attn4j.DType;
import io.github.attn4j.Half;
import jcuda.Pointer;
import jcuda.cudaDataType;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasComputeType;
import jcuda.jcublas.cublasGemmAlgo;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasOperation;
import jcuda.jcublas.cublasStatus;

/**
 * The GEMM ceiling on a CUDA device: an {@value #N}³ cuBLAS GEMM in the run's storage dtype with
 * fp32 accumulation ({@code cublasGemmEx}, tensor cores allowed for f16/bf16; plain
 * {@code cublasSgemm} for f32, so no TF32), timed with CUDA events like the ops, median of
 * {@code iters} after {@code warmup}. TFLOP/s = 2·N³ / time.
 */
final class CublasGemmCeiling {
    static final int N = 8192;

    private CublasGemmCeiling() {}

    private static void cublas(int status, String what) {
        if (status != cublasStatus.CUBLAS_STATUS_SUCCESS) {
            throw new BackendException("bench: " + what + " failed: " + cublasStatus.stringFor(status));
        }
    }

    static double measure(CudaEventTiming t, DType dt, int warmup, int iters) {
        long es = dt.bytes();
        long elems = (long) N * N;
        CudaEventTiming.check(JCudaDriver.cuCtxPushCurrent(t.context()), "cuCtxPushCurrent");
        CUdeviceptr[] m = {new CUdeviceptr(), new CUdeviceptr(), new CUdeviceptr()};
        cublasHandle h = new cublasHandle();
        CUevent a = new CUevent();
        CUevent b = new CUevent();
        boolean handle = false;
        try {
            for (CUdeviceptr p : m) {
                CudaEventTiming.check(JCudaDriver.cuMemAlloc(p, elems * es), "cuMemAlloc(" + elems * es + " B)");
                // Ones: finite products and sums in every dtype (8192 < 65504, the f16 maximum).
                if (dt == DType.F32) {
                    CudaEventTiming.check(JCudaDriver.cuMemsetD32(p, Float.floatToIntBits(1f), elems), "cuMemsetD32");
                } else {
                    short one = dt == DType.F16 ? Half.floatToF16(1f) : Half.floatToBf16(1f);
                    CudaEventTiming.check(JCudaDriver.cuMemsetD16(p, one, elems), "cuMemsetD16");
                }
            }
            cublas(JCublas2.cublasCreate(h), "cublasCreate");
            handle = true;
            Pointer alpha = Pointer.to(new float[] {1f});
            Pointer beta = Pointer.to(new float[] {0f});
            int type = dt == DType.F32 ? cudaDataType.CUDA_R_32F : dt == DType.F16 ? cudaDataType.CUDA_R_16F
                    : cudaDataType.CUDA_R_16BF;
            Runnable gemm = () -> {
                if (dt == DType.F32) {
                    cublas(JCublas2.cublasSgemm(h, cublasOperation.CUBLAS_OP_N, cublasOperation.CUBLAS_OP_N, N, N, N,
                            alpha, m[0], N, m[1], N, beta, m[2], N), "cublasSgemm");
                } else {
                    cublas(JCublas2.cublasGemmEx(h, cublasOperation.CUBLAS_OP_N, cublasOperation.CUBLAS_OP_N, N, N, N,
                            alpha, m[0], type, N, m[1], type, N, beta, m[2], type, N,
                            cublasComputeType.CUBLAS_COMPUTE_32F, cublasGemmAlgo.CUBLAS_GEMM_DEFAULT), "cublasGemmEx");
                }
            };
            for (int i = 0; i < warmup; i++) {
                gemm.run();
            }
            CudaEventTiming.check(JCudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
            CudaEventTiming.check(JCudaDriver.cuEventCreate(a, 0), "cuEventCreate");
            CudaEventTiming.check(JCudaDriver.cuEventCreate(b, 0), "cuEventCreate");
            CUstream legacy = new CUstream(); // the handle's default stream
            double[] ms = new double[iters];
            float[] e = new float[1];
            for (int i = 0; i < iters; i++) {
                CudaEventTiming.check(JCudaDriver.cuEventRecord(a, legacy), "cuEventRecord");
                gemm.run();
                CudaEventTiming.check(JCudaDriver.cuEventRecord(b, legacy), "cuEventRecord");
                CudaEventTiming.check(JCudaDriver.cuEventSynchronize(b), "cuEventSynchronize");
                CudaEventTiming.check(JCudaDriver.cuEventElapsedTime(e, a, b), "cuEventElapsedTime");
                ms[i] = e[0];
            }
            return 2.0 * N * N * (double) N / (Result.Stats.of(ms).median() / 1e3) / 1e12;
        } finally {
            JCudaDriver.cuEventDestroy(a);
            JCudaDriver.cuEventDestroy(b);
            if (handle) {
                JCublas2.cublasDestroy(h);
            }
            for (CUdeviceptr p : m) {
                JCudaDriver.cuMemFree(p);
            }
            JCudaDriver.cuCtxPopCurrent(new CUcontext());
        }
    }
}
