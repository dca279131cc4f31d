package io.github.attn4j.cuda;

import io.github.attn4j.AdditiveParams;
import io.github.attn4j.BackendException;
import io.github.attn4j.DType;
import io.github.attn4j.DeviceMemory;
import io.github.attn4j.HostMemory;
import io.github.attn4j.Masks;
import io.github.attn4j.OpParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxBackwardParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cuda.tc.TcPlan;
import io.github.attn4j.spi.AbstractDeviceScope;
import io.github.attn4j.spi.KernelParams;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUpointer_attribute;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

/**
 * A CUDA scope: one stream (its own, non-blocking, or the caller's), the memory it allocated, a
 * growable fp32 workspace, and the device copies of the per-batch length arrays. Every op is
 * queued on the stream; only host copies and {@link #synchronize()} wait.
 */
public final class CudaScope extends AbstractDeviceScope {
    private final CudaBackend backend;
    private final CUstream stream;
    private final boolean ownStream;
    private CudaMemory dummy;
    private CudaMemory workspace;
    private final Map<String, CudaMemory> lengths = new HashMap<>();
    private CublasGemm cublas;

    CudaScope(CudaBackend backend, CUstream callerStream) {
        super(backend);
        this.backend = backend;
        if (callerStream != null) {
            this.stream = callerStream;
            this.ownStream = false;
        } else {
            this.stream = new CUstream();
            this.ownStream = true;
            CudaCheck.check(JCudaDriver.cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        }
    }

    /** The stream this scope issues its work on. */
    public CUstream stream() {
        return stream;
    }

    @Override
    protected DeviceMemory allocateBytes(long bytes) {
        return CudaMemory.owned(backend, backend.allocate(bytes), bytes);
    }

    private static CudaMemory mem(DeviceMemory m) {
        return (CudaMemory) m;
    }

    @Override
    protected void copyToDevice(HostMemory src, long srcByte, DeviceMemory dst, long dstByte, long bytes) {
        ByteBuffer tmp = ByteBuffer.allocateDirect(Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN);
        src.read(srcByte, tmp);
        tmp.flip();
        try (CudaBackend.Ctx c = backend.enter()) {
            // Pageable source: the driver stages it before returning, so tmp may be dropped after.
            CudaCheck.check(JCudaDriver.cuMemcpyHtoDAsync(mem(dst).at(dstByte), Pointer.to(tmp), bytes, stream),
                    "cuMemcpyHtoDAsync(" + bytes + " B)");
        }
    }

    @Override
    protected void copyToHost(DeviceMemory src, long srcByte, HostMemory dst, long dstByte, long bytes) {
        ByteBuffer tmp = ByteBuffer.allocateDirect(Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN);
        try (CudaBackend.Ctx c = backend.enter()) {
            CudaCheck.check(JCudaDriver.cuMemcpyDtoHAsync(Pointer.to(tmp), mem(src).at(srcByte), bytes, stream),
                    "cuMemcpyDtoHAsync(" + bytes + " B)");
            CudaCheck.check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
        }
        dst.write(dstByte, tmp);
    }

    @Override
    protected void copyOnDevice(DeviceMemory src, long srcByte, DeviceMemory dst, long dstByte, long bytes) {
        try (CudaBackend.Ctx c = backend.enter()) {
            CudaCheck.check(JCudaDriver.cuMemcpyDtoDAsync(mem(dst).at(dstByte), mem(src).at(srcByte), bytes, stream),
                    "cuMemcpyDtoDAsync(" + bytes + " B)");
        }
    }

    @Override
    public void synchronize() {
        checkOpen();
        try (CudaBackend.Ctx c = backend.enter()) {
            CudaCheck.check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
        }
    }

    /** {@code cuda-events} on this scope's stream. */
    @Override
    public io.github.attn4j.DeviceTimer timer() {
        checkOpen();
        return new CudaTimer(backend, stream);
    }

    @Override
    protected void releaseStream() {
        try (CudaBackend.Ctx c = backend.enterForRelease()) {
            if (cublas != null) {
                cublas.close();
                cublas = null;
            }
            if (ownStream) {
                JCudaDriver.cuStreamDestroy(stream);
            }
        } catch (RuntimeException e) {
            // the backend is closing; nothing to release into
        }
    }

    // ------------------------------------------------------------------ buffers

    private CUdeviceptr dummy() {
        if (dummy == null) {
            dummy = (CudaMemory) workspace(256);
        }
        return dummy.pointer();
    }

    private CUdeviceptr ptr(Tensor t) {
        return t == null ? dummy() : mem((DeviceMemory) t.memory()).pointer();
    }

    /** The scope's fp32 workspace, grown (never shrunk) to at least {@code bytes}. */
    private CudaMemory workspaceOf(long bytes) {
        if (workspace == null || workspace.byteSize() < bytes) {
            if (workspace != null) {
                free(workspace); // cuMemFree waits for work that may still use it
            }
            workspace = (CudaMemory) workspace(Math.max(bytes, 1 << 20));
        }
        return workspace;
    }

    /** A device copy of a length array, cached by content and written with stream-ordered memsets. */
    private CUdeviceptr lengths(int[] values) {
        if (values == null) {
            return dummy();
        }
        String key = Arrays.toString(values);
        CudaMemory m = lengths.get(key);
        if (m == null) {
            m = (CudaMemory) workspace(4L * Math.max(1, values.length));
            for (int i = 0; i < values.length; i++) {
                CudaCheck.check(JCudaDriver.cuMemsetD32Async(m.at(4L * i), values[i], 1, stream), "cuMemsetD32Async");
            }
            lengths.put(key, m);
        }
        return m.pointer();
    }

    private void launch(CudaPlans.Step step, byte[] struct, CUdeviceptr... buffers) {
        launch(step, CudaArgs.kernelParams(struct, buffers));
    }

    private void launch(CudaPlans.Step step, Pointer kernelParams) {
        LaunchConfig lc = step.launch();
        if (lc == null) {
            throw new BackendException("cuda: " + step.entry() + " has no launch shape for this size");
        }
        CUfunction f = backend.modules().function(step.module(), step.entry(), lc.smemBytes());
        int r = JCudaDriver.cuLaunchKernel(f, lc.gridX(), lc.gridY(), lc.gridZ(), lc.blockX(), 1, 1, lc.smemBytes(), stream,
                kernelParams, null);
        CudaCheck.checkLaunch(r, step.entry(), lc);
    }

    /**
     * Launches any kernel of any {@code kernels/cuda/<module>.cu} on this scope's stream (for sibling
     * kernel packages such as the tensor-core SDPA): the module is loaded like the built-in ones
     * (fatbin, else NVRTC), the struct goes first by value, then the buffers; every error names the
     * kernel and the launch shape. Asynchronous.
     */
    public void launchKernel(String module, String entry, int gridX, int gridY, int gridZ, int block, int smemBytes,
            byte[] struct, CUdeviceptr... buffers) {
        checkOpen();
        try (CudaBackend.Ctx c = backend.enter()) {
            launch(new CudaPlans.Step(module, entry, LaunchConfig.of(gridX, gridY, gridZ, block, smemBytes)), struct, buffers);
        }
    }

    /** The device pointer of a tensor on this backend (its memory's base; kernels add the offset). */
    public CUdeviceptr devicePointer(Tensor t) {
        return ptr(t);
    }

    // ------------------------------------------------------------------ ops

    @Override
    protected void launch(OpParams op) {
        CudaPlans.Plan plan = backend.plan(op);
        if (!plan.supported()) {
            throw new BackendException("cuda: no plan for this " + op.op() + " call: " + plan.reason());
        }
        try (CudaBackend.Ctx c = backend.enter()) {
            if (op instanceof SdpaParams p) {
                if (backend.sdpaPath() == CudaPlans.SdpaPath.FUSED) {
                    sdpaFused(plan, p);
                } else {
                    sdpaUnfused(plan, p);
                }
            } else if (op instanceof SoftmaxParams p) {
                softmax(plan.step(0), p);
            } else if (op instanceof SoftmaxBackwardParams p) {
                launch(plan.step(0), KernelParams.softmaxBackward(p).bytes(), ptr(p.y()), ptr(p.dy()), ptr(p.dx()));
            } else if (op instanceof AdditiveParams p) {
                additive(plan, p);
            }
        }
    }

    private CUdeviceptr[] maskArgs(Masks m) {
        return new CUdeviceptr[] {ptr(m.boolMask()), ptr(m.bias()), ptr(m.alibiSlopes()), lengths(m.kvLengths()),
            lengths(m.qLengths())};
    }

    private static CUdeviceptr[] concat(CUdeviceptr[] a, CUdeviceptr[] b) {
        CUdeviceptr[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private void sdpaFused(CudaPlans.Plan plan, SdpaParams p) {
        CUdeviceptr[] bufs = concat(new CUdeviceptr[] {ptr(p.q()), ptr(p.k()), ptr(p.v()), ptr(p.o()), ptr(p.lse())},
                maskArgs(p.masks()));
        if (plan.variant().startsWith("tc-")) {
            if (aligned16(p.q(), p.k(), p.v(), p.o())) {
                sdpaTensorCore(plan, p, bufs);
                return;
            }
            // A wrapped caller pointer that is not 16-byte aligned: cp.async cannot read it.
            plan = CudaPlans.sdpaFused(p, backend.props(), false);
        }
        launch(plan.step(0), KernelParams.sdpa(p).bytes(), bufs);
    }

    /** The tensor-core SDPA (kernels/cuda/sdpa_tc.cu): forward, then the combine when it splits the keys. */
    private void sdpaTensorCore(CudaPlans.Plan plan, SdpaParams p, CUdeviceptr[] bufs) {
        CudaPlans.Step fwd = plan.step(0);
        int splits = fwd.launch().gridZ();
        CUdeviceptr oPart = dummy(), lsePart = dummy();
        if (splits > 1) {
            CudaMemory ws = workspaceOf(plan.workspaceBytes());
            oPart = ws.pointer();
            lsePart = ws.at(TcPlan.partialLseOffset(p, splits));
        }
        byte[] struct = KernelParams.sdpa(p).bytes();
        launch(fwd, CudaArgs.kernelParams(struct, concat(bufs, new CUdeviceptr[] {oPart, lsePart}), splits));
        if (splits > 1) {
            launch(plan.step(1), CudaArgs.kernelParams(struct, new CUdeviceptr[] {oPart, lsePart, ptr(p.o()),
                ptr(p.lse())}, splits));
        }
    }

    /** True when the device addresses of these tensors' memories are multiples of 16 bytes. */
    private boolean aligned16(Tensor... ts) {
        for (Tensor t : ts) {
            CudaMemory m = mem((DeviceMemory) t.memory());
            if (m.owned()) {
                continue; // cuMemAlloc returns 256-byte aligned memory
            }
            long[] addr = new long[1];
            CudaCheck.check(JCudaDriver.cuPointerGetAttribute(Pointer.to(addr),
                    CUpointer_attribute.CU_POINTER_ATTRIBUTE_DEVICE_POINTER, m.pointer()),
                    "cuPointerGetAttribute(DEVICE_POINTER)");
            if (!TcPlan.pointersAligned(addr[0])) {
                return false;
            }
        }
        return true;
    }

    private void softmax(CudaPlans.Step step, SoftmaxParams p) {
        CUdeviceptr[] bufs = concat(new CUdeviceptr[] {ptr(p.x()), ptr(p.y())}, maskArgs(p.masks()));
        launch(step, KernelParams.softmax(p).bytes(), bufs);
    }

    private CublasGemm cublas() {
        if (cublas == null) {
            cublas = new CublasGemm(stream);
        }
        return cublas;
    }

    private void sdpaUnfused(CudaPlans.Plan plan, SdpaParams p) {
        CudaMemory ws = workspaceOf(plan.workspaceBytes());
        Tensor scores = Tensor.of(ws, DType.F32, new int[] {p.batch(), p.headsQ(), p.seqQ(), p.seqK()},
                Tensor.contiguousStrides(p.batch(), p.headsQ(), p.seqQ(), p.seqK()), 0);
        CUdeviceptr kv = lengths(p.masks().kvLengths());
        if (plan.variant().contains("qk:cublas")) {
            cublas().qk(p, ws);
        } else {
            launch(plan.step(0), CudaArgs.qk(p).pack().bytes(), ptr(p.q()), ptr(p.k()), ws.pointer(), kv);
        }
        SoftmaxParams sm = SoftmaxParams.builder(scores, scores).masks(p.masks()).scale(p.scale()).build();
        softmax(plan.step(1), sm);
        if (plan.variant().contains("pv:cublas")) {
            cublas().pv(p, ws);
        } else {
            launch(plan.step(2), CudaArgs.pv(p).pack().bytes(), ws.pointer(), ptr(p.v()), ptr(p.o()), kv);
        }
    }

    private void additive(CudaPlans.Plan plan, AdditiveParams p) {
        AdditiveParams fusedParams = p;
        if (p.raw()) {
            CudaMemory ws = workspaceOf(plan.workspaceBytes());
            int b = p.batch(), h = p.heads(), a = p.dimA();
            Tensor qp = Tensor.of(ws, DType.F32, new int[] {b, h, p.seqQ(), a}, Tensor.contiguousStrides(b, h, p.seqQ(), a), 0);
            Tensor kp = Tensor.of(ws, DType.F32, new int[] {b, h, p.seqK(), a}, Tensor.contiguousStrides(b, h, p.seqK(), a),
                    (long) b * h * p.seqQ() * a);
            if (plan.variant().startsWith("projection:cublas")) {
                cublas().projection(p.q(), p.wq(), qp);
                cublas().projection(p.k(), p.wk(), kp);
            } else {
                launch(plan.step(0), KernelParams.gemmProjection(p.q(), p.wq(), qp).bytes(), ptr(p.q()), ptr(p.wq()),
                        ws.pointer());
                launch(plan.step(1), KernelParams.gemmProjection(p.k(), p.wk(), kp).bytes(), ptr(p.k()), ptr(p.wk()),
                        ws.pointer());
            }
            fusedParams = p.withProjected(qp, kp);
        }
        AdditiveParams f = fusedParams;
        CUdeviceptr[] bufs = concat(new CUdeviceptr[] {ptr(f.q()), ptr(f.k()), ptr(f.v()), ptr(f.w()), ptr(f.b()),
            ptr(f.out()), ptr(f.weights())}, maskArgs(f.masks()));
        launch(plan.steps().get(plan.steps().size() - 1), KernelParams.additive(f).bytes(), bufs);
    }
}
