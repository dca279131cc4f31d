package io.github.attn4j.bench;

import io.github.attn4j.Backend;
import io.github.attn4j.BackendException;
import io.github.attn4j.DType;
import io.github.attn4j.Half;
import io.github.attn4j.Scope;
import io.github.attn4j.cuda.CudaScope;
import jcuda.Pointer;
import jcuda.cudaDataType;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasComputeType;
import jcuda.jcublas.cublasGemmAlgo;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasOperation;
import jcuda.jcublas.cublasStatus;
import jcuda.runtime.cudaStream_t;

/**
 * The GEMM ceiling on a CUDA device: an {@value #N}³ cuBLAS GEMM in the run's storage dtype with
 * fp32 accumulation ({@code cublasGemmEx}, tensor cores allowed for f16/bf16; plain
 * {@code cublasSgemm} for f32, so no TF32), issued on a CUDA scope's stream and timed with that
 * scope's {@link Scope#timer()} like the ops, median of {@code iters} after {@code warmup}.
 * TFLOP/s = 2·N³ / time. The matrices and the cuBLAS handle live in the device's primary context,
 * the one the CUDA backend uses, which this class retains for the measurement.
 */
final class CublasGemmCeiling {
    static final int N = 8192;

    private CublasGemmCeiling() {}

    private static void check(int code, String what) {
        if (code != CUresult.CUDA_SUCCESS) {
            throw new BackendException("bench: " + what + " failed: " + CUresult.stringFor(code));
        }
    }

    private static void cublas(int status, String what) {
        if (status != cublasStatus.CUBLAS_STATUS_SUCCESS) {
            throw new BackendException("bench: " + what + " failed: " + cublasStatus.stringFor(status));
        }
    }

    static double measure(Backend backend, DType dt, int warmup, int iters) {
        long es = dt.bytes();
        long elems = (long) N * N;
        CUdevice device = new CUdevice();
        CUcontext context = new CUcontext();
        check(JCudaDriver.cuDeviceGet(device, backend.device().index()), "cuDeviceGet");
        check(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
        CUdeviceptr[] m = {new CUdeviceptr(), new CUdeviceptr(), new CUdeviceptr()};
        cublasHandle h = new cublasHandle();
        boolean pushed = false, handle = false;
        try (Scope scope = backend.newScope()) {
            if (!(scope instanceof CudaScope cuda)) {
                throw new IllegalArgumentException("backend: expected cuda, got " + backend.name());
            }
            check(JCudaDriver.cuCtxPushCurrent(context), "cuCtxPushCurrent");
            pushed = true;
            for (CUdeviceptr p : m) {
                check(JCudaDriver.cuMemAlloc(p, elems * es), "cuMemAlloc(" + elems * es + " B)");
                // Ones: finite products and sums in every dtype (8192 < 65504, the f16 maximum).
                if (dt == DType.F32) {
                    check(JCudaDriver.cuMemsetD32(p, Float.floatToIntBits(1f), elems), "cuMemsetD32");
                } else {
                    short one = dt == DType.F16 ? Half.floatToF16(1f) : Half.floatToBf16(1f);
                    check(JCudaDriver.cuMemsetD16(p, one, elems), "cuMemsetD16");
                }
            }
            cublas(JCublas2.cublasCreate(h), "cublasCreate");
            handle = true;
            cublas(JCublas2.cublasSetStream(h, new cudaStream_t(cuda.stream())), "cublasSetStream");
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
            check(JCudaDriver.cuCtxSynchronize(), "cuCtxSynchronize"); // the memsets ran on the legacy stream
            double[] ms = Timing.time(scope, gemm, warmup, iters).ms();
            return 2.0 * N * N * (double) N / (Result.Stats.of(ms).median() / 1e3) / 1e12;
        } finally {
            if (handle) {
                JCublas2.cublasDestroy(h);
            }
            if (pushed) {
                for (CUdeviceptr p : m) {
                    JCudaDriver.cuMemFree(p);
                }
                JCudaDriver.cuCtxPopCurrent(new CUcontext());
            }
            JCudaDriver.cuDevicePrimaryCtxRelease(device);
        }
    }
}
