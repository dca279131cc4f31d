package io.github.attn4j.cuda;

import io.github.attn4j.BackendException;
import io.github.attn4j.DType;
import io.github.attn4j.DeviceInfo;
import io.github.attn4j.OpParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.spi.AbstractDeviceBackend;
import io.github.attn4j.spi.Plan;
import java.util.HashMap;
import java.util.Map;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * One CUDA device. It retains the device's primary context and pushes it around every call (and
 * pops it after), so it is safe from several threads and coexists with the caller's own JCuda code
 * on the same device. Scopes own streams and memory; nothing here synchronises the device.
 */
public final class CudaBackend extends AbstractDeviceBackend {
    private final CUdevice device;
    private final CUcontext context = new CUcontext();
    private final DeviceProps props;
    private final CudaOptions options;
    private final CudaPlans.GemmProvider gemm;
    private final String gemmReason;
    private final CudaModules modules;
    private final CudaPlans.Context planning;
    private volatile boolean released;

    CudaBackend(int index, CUdevice device, DeviceProps props, CudaOptions options, DeviceInfo info) {
        super(withGemm(info, options));
        this.device = device;
        this.props = props;
        this.options = options;
        CudaCheck.check(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain(cuda:" + index + ")");
        String why = options.gemm().equals("kernel") ? "forced by attn4j.cuda.gemm=kernel" : CublasGemm.probe();
        if (why != null && options.gemm().equals("cublas")) {
            JCudaDriver.cuDevicePrimaryCtxRelease(device);
            throw new BackendException("cuda: attn4j.cuda.gemm=cublas but " + why);
        }
        this.gemm = why == null ? CudaPlans.GemmProvider.CUBLAS : CudaPlans.GemmProvider.KERNEL;
        this.gemmReason = why;
        this.modules = new CudaModules(props, options.loader());
        this.planning = new CudaPlans.Context(props, options, gemm);
    }

    private static DeviceInfo withGemm(DeviceInfo info, CudaOptions o) {
        Map<String, String> d = new HashMap<>(info.details());
        d.put("sdpa path", o.unfusedSdpa() ? "unfused (GEMM + masked softmax + GEMM)" : "fused");
        d.put("tensor cores", o.tensorCores() ? "on for eligible F16/BF16 SDPA (attn4j.cuda.tc=true; not yet verified on a GPU)"
                : "off (attn4j.cuda.tc=true opts in)");
        return new DeviceInfo(info.backend(), info.index(), info.name(), true, "", d);
    }

    /** The GEMM provider in use: "cublas" or "kernel" (with the reason cuBLAS is not used). */
    public String gemmProvider() {
        return gemm == CudaPlans.GemmProvider.CUBLAS ? "cublas (JCublas2, libcublas.so.12)"
                : "kernel (hand-written tiled GEMM" + (gemmReason == null ? ")" : "; " + gemmReason + ")");
    }

    /** How each kernel module loaded so far was obtained (fatbin or NVRTC). */
    public Map<String, String> moduleSources() {
        return modules.sources();
    }

    /** The options this backend was opened with. */
    public CudaOptions options() {
        return options;
    }

    /** Compute capability, multiprocessors and shared-memory limits of this device. */
    public DeviceProps props() {
        return props;
    }

    CudaModules modules() {
        return modules;
    }

    CudaPlans.GemmProvider gemm() {
        return gemm;
    }

    @Override
    protected Plan plan(OpParams p) {
        return CudaPlans.plan(p, planning);
    }

    @Override
    protected Plan copyPlan(Tensor src, Tensor dst) {
        return CudaPlans.copy(src, dst, props);
    }

    /** True when {@code other} works in the same (primary) context: the same device. */
    boolean sameContext(CudaBackend other) {
        return context.equals(other.context);
    }

    /** Makes the primary context current for a block: {@code try (var c = backend.enter()) { ... }}. */
    Ctx enter() {
        checkOpen();
        return enterForRelease();
    }

    /** Like {@link #enter()} but also while the backend is closing (scopes release their streams). */
    Ctx enterForRelease() {
        if (released) {
            throw new IllegalStateException(device().id() + " backend is released");
        }
        CudaCheck.check(JCudaDriver.cuCtxPushCurrent(context), "cuCtxPushCurrent");
        return new Ctx();
    }

    /** Pops the context pushed by {@link #enter()}. */
    final class Ctx implements AutoCloseable {
        @Override
        public void close() {
            CudaCheck.check(JCudaDriver.cuCtxPopCurrent(new CUcontext()), "cuCtxPopCurrent");
        }
    }

    /** Loads the module of every kernel step (fatbin or NVRTC) and resolves its entry. */
    @Override
    protected void build(Plan plan) {
        try (Ctx c = enter()) {
            for (Plan.Step step : plan.steps()) {
                if (!step.module().equals(CudaPlans.CUBLAS)) {
                    modules.function(step.module(), step.entry(), step.smemBytes());
                }
            }
        }
    }

    @Override
    public CudaScope newScope() {
        try (Ctx c = enter()) {
            return new CudaScope(this, null);
        }
    }

    /**
     * A scope that issues its work on the caller's stream (not owned: closing the scope leaves it
     * alone). Work is ordered with whatever the caller queued on that stream.
     */
    public CudaScope newScope(CUstream callerStream) {
        try (Ctx c = enter()) {
            return new CudaScope(this, callerStream);
        }
    }

    /** The caller's device memory as attn4j memory, not owned: closing it never frees it. */
    public CudaMemory wrap(CUdeviceptr ptr, long bytes) {
        checkOpen();
        if (bytes <= 0) {
            throw new IllegalArgumentException("bytes: expected > 0, got " + bytes);
        }
        long[] addr = new long[1];
        try (Ctx c = enter()) {
            CudaCheck.check(JCudaDriver.cuPointerGetAttribute(jcuda.Pointer.to(addr),
                    jcuda.driver.CUpointer_attribute.CU_POINTER_ATTRIBUTE_DEVICE_POINTER, ptr),
                    "cuPointerGetAttribute(DEVICE_POINTER) of the wrapped pointer");
        }
        return CudaMemory.wrapped(this, ptr, bytes, addr[0]);
    }

    /** A contiguous tensor over the caller's device memory (not owned). */
    public Tensor wrap(CUdeviceptr ptr, DType dtype, int... shape) {
        long bytes = Math.max(1, Tensor.byteSize(dtype, shape));
        return Tensor.of(wrap(ptr, bytes), dtype, shape, Tensor.contiguousStrides(shape), 0);
    }

    CUdeviceptr allocate(long bytes) {
        CUdeviceptr p = new CUdeviceptr();
        try (Ctx c = enter()) {
            CudaCheck.check(JCudaDriver.cuMemAlloc(p, bytes), "cuMemAlloc(" + bytes + " B)");
        }
        return p;
    }

    /** Frees device memory; errors (e.g. after the context is gone) are ignored. */
    void freeQuietly(CUdeviceptr p) {
        if (released) {
            return;
        }
        if (JCudaDriver.cuCtxPushCurrent(context) != CUresult.CUDA_SUCCESS) {
            return;
        }
        try {
            JCudaDriver.cuMemFree(p);
        } finally {
            JCudaDriver.cuCtxPopCurrent(new CUcontext());
        }
    }

    @Override
    protected void release() {
        if (JCudaDriver.cuCtxPushCurrent(context) == CUresult.CUDA_SUCCESS) {
            try {
                modules.unloadAll();
            } finally {
                JCudaDriver.cuCtxPopCurrent(new CUcontext());
            }
        }
        released = true;
        JCudaDriver.cuDevicePrimaryCtxRelease(device);
    }

    @Override
    public String toString() {
        return "CudaBackend[" + device().id() + " " + props.name() + ", sm_" + props.ccMajor() + props.ccMinor() + "]";
    }
}
