package io.github.attn4j.bench;

import io.github.attn4j.Backend;
import io.github.attn4j.BackendException;
import io.github.attn4j.Scope;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUevent;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * CUDA events recorded on the scope's stream around each timed run ({@code cuEventElapsedTime}):
 * the device time of the op's kernels, without host launch overhead. The bench retains the device's
 * primary context (the one the CUDA backend uses) to create the events, and reads the scope's
 * stream through its public {@code stream()} by reflection, so that this module compiles without
 * the CUDA backend.
 */
final class CudaEventTiming implements Timing {
    private final Backend backend;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();

    CudaEventTiming(Backend backend) {
        this.backend = backend;
        check(JCudaDriver.cuDeviceGet(device, backend.device().index()), "cuDeviceGet");
        check(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
    }

    static void check(int code, String what) {
        if (code != CUresult.CUDA_SUCCESS) {
            throw new BackendException("bench: " + what + " failed: " + CUresult.stringFor(code));
        }
    }

    /** The device index this timing runs on, for the GEMM ceiling. */
    int deviceIndex() {
        return backend.device().index();
    }

    CUcontext context() {
        return context;
    }

    @Override
    public String method() {
        return "cuda-events";
    }

    @Override
    public Scope newScope() {
        return backend.newScope();
    }

    private static CUstream stream(Scope scope) {
        try {
            return (CUstream) scope.getClass().getMethod("stream").invoke(scope);
        } catch (ReflectiveOperationException e) {
            throw new BackendException("bench: cannot read the CUDA scope's stream: " + e, e);
        }
    }

    @Override
    public double[] time(Scope scope, Runnable op, int warmup, int iters) {
        CUstream stream = stream(scope);
        for (int i = 0; i < warmup; i++) {
            op.run();
        }
        scope.synchronize();
        double[] ms = new double[iters];
        check(JCudaDriver.cuCtxPushCurrent(context), "cuCtxPushCurrent");
        CUevent a = new CUevent();
        CUevent b = new CUevent();
        try {
            check(JCudaDriver.cuEventCreate(a, 0), "cuEventCreate");
            check(JCudaDriver.cuEventCreate(b, 0), "cuEventCreate");
            float[] t = new float[1];
            for (int i = 0; i < iters; i++) {
                check(JCudaDriver.cuEventRecord(a, stream), "cuEventRecord");
                op.run();
                check(JCudaDriver.cuEventRecord(b, stream), "cuEventRecord");
                check(JCudaDriver.cuEventSynchronize(b), "cuEventSynchronize");
                check(JCudaDriver.cuEventElapsedTime(t, a, b), "cuEventElapsedTime");
                ms[i] = t[0];
            }
            scope.synchronize();
        } finally {
            JCudaDriver.cuEventDestroy(a);
            JCudaDriver.cuEventDestroy(b);
            JCudaDriver.cuCtxPopCurrent(new CUcontext());
        }
        return ms;
    }

    @Override
    public void close() {
        JCudaDriver.cuDevicePrimaryCtxRelease(device);
    }
}
