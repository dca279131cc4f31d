package io.github.attn4j.opencl;

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
import io.github.attn4j.UnsupportedFeatureException;
import io.github.attn4j.spi.AbstractDeviceScope;
import io.github.attn4j.spi.KernelParams;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

/**
 * A scope on one in-order command queue. Launches are asynchronous; only host copies and
 * {@link #synchronize()} wait. Temporary buffers of a launch (length arrays, the projection
 * workspace) are released right after their last enqueue, which OpenCL defers until the queued
 * commands that use them have finished.
 */
public final class OpenClScope extends AbstractDeviceScope {
    private final OpenClBackend backend;
    private final cl_command_queue queue;
    private final boolean ownsQueue;

    OpenClScope(OpenClBackend backend, cl_command_queue queue, boolean ownsQueue) {
        super(backend);
        this.backend = backend;
        this.queue = queue;
        this.ownsQueue = ownsQueue;
    }

    /** The queue this scope enqueues on. */
    public cl_command_queue queue() {
        return queue;
    }

    @Override
    protected DeviceMemory allocateBytes(long bytes) {
        return new OpenClMemory(createBuffer(bytes, null), backend.context(), bytes, true);
    }

    private cl_mem createBuffer(long bytes, Pointer init) {
        int[] err = new int[1];
        long flags = CL.CL_MEM_READ_WRITE | (init != null ? CL.CL_MEM_COPY_HOST_PTR : 0);
        return Cl.created(CL.clCreateBuffer(backend.context(), flags, Math.max(1, bytes), init, err), err,
                "clCreateBuffer(" + bytes + " B)");
    }

    private static cl_mem mem(DeviceMemory m) {
        return ((OpenClMemory) m).mem();
    }

    @Override
    protected void copyToDevice(HostMemory src, long srcByte, DeviceMemory dst, long dstByte, long bytes) {
        ByteBuffer tmp = ByteBuffer.allocateDirect(Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN);
        src.read(srcByte, tmp);
        tmp.flip();
        Cl.check(CL.clEnqueueWriteBuffer(queue, mem(dst), CL.CL_TRUE, dstByte, bytes, Pointer.to(tmp), 0, null, null),
                "clEnqueueWriteBuffer(" + bytes + " B at " + dstByte + ")");
    }

    @Override
    protected void copyToHost(DeviceMemory src, long srcByte, HostMemory dst, long dstByte, long bytes) {
        ByteBuffer tmp = ByteBuffer.allocateDirect(Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN);
        Cl.check(CL.clEnqueueReadBuffer(queue, mem(src), CL.CL_TRUE, srcByte, bytes, Pointer.to(tmp), 0, null, null),
                "clEnqueueReadBuffer(" + bytes + " B at " + srcByte + ")");
        dst.write(dstByte, tmp);
    }

    @Override
    protected void copyOnDevice(DeviceMemory src, long srcByte, DeviceMemory dst, long dstByte, long bytes) {
        Cl.check(CL.clEnqueueCopyBuffer(queue, mem(src), mem(dst), srcByte, dstByte, bytes, 0, null, null),
                "clEnqueueCopyBuffer(" + bytes + " B)");
    }

    @Override
    public void synchronize() {
        checkOpen();
        Cl.check(CL.clFinish(queue), "clFinish");
    }

    /** {@code opencl-events} on this scope's queue when it has profiling enabled, else {@code wall+sync}. */
    @Override
    public io.github.attn4j.DeviceTimer timer() {
        checkOpen();
        return OpenClTimer.on(queue, this::synchronize);
    }

    @Override
    protected void releaseStream() {
        if (ownsQueue) {
            Cl.check(CL.clReleaseCommandQueue(queue), "clReleaseCommandQueue");
        }
    }

    @Override
    protected void launch(OpParams p) {
        for (Tensor t : all(p)) {
            OpenClMemory m = (OpenClMemory) t.memory();
            if (!m.context().equals(backend.context())) {
                throw new IllegalArgumentException("tensor: expected memory of this backend's OpenCL context, got "
                        + m.describe() + " of another context");
            }
        }
        Variant.Choice c = Variant.choose(p, backend.dev());
        if (!c.supported()) {
            throw new UnsupportedFeatureException(backend.device().id() + " does not support this " + p.op()
                    + " call: " + c.reason());
        }
        Variant v = fitToKernelLimits(p, c.variant());
        List<cl_mem> temps = new ArrayList<>();
        try {
            if (p instanceof SdpaParams s) {
                launchSdpa(s, v, temps);
            } else if (p instanceof SoftmaxParams s) {
                launchSoftmax(s, v, temps);
            } else if (p instanceof SoftmaxBackwardParams s) {
                launchSoftmaxBackward(s, v);
            } else {
                launchAdditive((AdditiveParams) p, v, temps);
            }
        } finally {
            for (cl_mem m : temps) {
                CL.clReleaseMemObject(m);
            }
        }
    }

    /**
     * A kernel may allow fewer work-items per group than the device (registers, private memory):
     * then choose again under the kernel's limit. Nothing is enqueued before this check passes.
     */
    private Variant fitToKernelLimits(OpParams p, Variant v) {
        for (int attempt = 0; attempt < 4; attempt++) {
            long limit = Long.MAX_VALUE;
            for (Variant.Step s : v.projection() == null ? List.of(v.main()) : List.of(v.projection(), v.main())) {
                long items = Arrays.stream(s.local()).reduce(1, (x, y) -> x * y);
                long k = kernelWorkGroupLimit(s);
                if (items > k) {
                    limit = Math.min(limit, k);
                }
            }
            if (limit == Long.MAX_VALUE) {
                return v;
            }
            Variant.Choice c = Variant.choose(p, backend.dev().withMaxWorkGroupSize(limit));
            if (!c.supported()) {
                throw new UnsupportedFeatureException(backend.device().id() + ": " + v.main().entry()
                        + " allows only " + limit + " work-items per group here: " + c.reason());
            }
            v = c.variant();
        }
        throw new BackendException("OpenCL: no work-group shape fits the kernel limits of " + v.main().entry());
    }

    private long kernelWorkGroupLimit(Variant.Step step) {
        cl_program program = backend.programs().get(step.source(), step.options());
        int[] err = new int[1];
        cl_kernel k = Cl.created(CL.clCreateKernel(program, step.entry(), err), err, "clCreateKernel(" + step.entry() + ")");
        try {
            ByteBuffer b = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
            Cl.check(CL.clGetKernelWorkGroupInfo(k, backend.deviceId(), CL.CL_KERNEL_WORK_GROUP_SIZE, Sizeof.size_t,
                    Pointer.to(b), null), "clGetKernelWorkGroupInfo(" + step.entry() + ")");
            return b.getLong(0);
        } finally {
            CL.clReleaseKernel(k);
        }
    }

    private static List<Tensor> all(OpParams p) {
        List<Tensor> l = new ArrayList<>(p.inputs());
        l.addAll(p.outputs());
        return l;
    }

    /** A tensor's buffer, or the placeholder for an absent optional tensor. */
    private cl_mem buf(Tensor t) {
        return t == null ? backend.dummy() : mem((DeviceMemory) t.memory());
    }

    /** An int[] (kv/q lengths) as a temporary device buffer, or the placeholder. */
    private cl_mem ints(int[] a, List<cl_mem> temps) {
        if (a == null) {
            return backend.dummy();
        }
        cl_mem m = createBuffer(4L * a.length, Pointer.to(a));
        temps.add(m);
        return m;
    }

    private void launchSdpa(SdpaParams s, Variant v, List<cl_mem> temps) {
        Masks m = s.masks();
        long wg = v.main().local()[0];
        long rowsPerGroup = wg * Integer.parseInt(option(v.main(), "ROWS"));
        long groups = (s.seqQ() + rowsPerGroup - 1) / rowsPerGroup;
        long[] global = {groups * wg, (long) s.batch() * s.headsQ()};
        enqueue(v.main(), global, KernelParams.sdpa(s).bytes(), buf(s.q()), buf(s.k()), buf(s.v()), buf(s.o()),
                buf(s.lse()), buf(m.boolMask()), buf(m.bias()), buf(m.alibiSlopes()), ints(m.kvLengths(), temps),
                ints(m.qLengths(), temps));
    }

    private void launchSoftmax(SoftmaxParams s, Variant v, List<cl_mem> temps) {
        Masks m = s.masks();
        long[] local = v.main().local();
        long[] global = {local[0], (s.rows() + local[1] - 1) / local[1] * local[1]};
        enqueue(v.main(), global, KernelParams.softmax(s).bytes(), buf(s.x()), buf(s.y()), buf(m.boolMask()),
                buf(m.bias()), buf(m.alibiSlopes()), ints(m.kvLengths(), temps), ints(m.qLengths(), temps));
    }

    private void launchSoftmaxBackward(SoftmaxBackwardParams s, Variant v) {
        long[] local = v.main().local();
        long[] global = {local[0], (s.rows() + local[1] - 1) / local[1] * local[1]};
        enqueue(v.main(), global, KernelParams.softmaxBackward(s).bytes(), buf(s.y()), buf(s.dy()), buf(s.dx()));
    }

    private void launchAdditive(AdditiveParams a, Variant v, List<cl_mem> temps) {
        AdditiveParams f = a;
        cl_mem qpMem = null, kpMem = null;
        if (a.raw()) {
            // Project into fp32 workspaces [B, H, S, A]; the fused kernel reads them with QK_F32.
            int bn = a.batch(), hn = a.heads(), da = a.dimA();
            qpMem = createBuffer(4L * bn * hn * a.seqQ() * da, null);
            temps.add(qpMem);
            kpMem = createBuffer(4L * bn * hn * a.seqK() * da, null);
            temps.add(kpMem);
            OpenClMemory qpm = new OpenClMemory(qpMem, backend.context(), 4L * bn * hn * a.seqQ() * da, false);
            OpenClMemory kpm = new OpenClMemory(kpMem, backend.context(), 4L * bn * hn * a.seqK() * da, false);
            int[] qs = {bn, hn, a.seqQ(), da};
            int[] ks = {bn, hn, a.seqK(), da};
            Tensor qp = Tensor.of(qpm, DType.F32, qs, Tensor.contiguousStrides(qs), 0);
            Tensor kp = Tensor.of(kpm, DType.F32, ks, Tensor.contiguousStrides(ks), 0);
            project(v.projection(), a.q(), a.wq(), qp);
            project(v.projection(), a.k(), a.wk(), kp);
            f = a.withProjected(qp, kp);
        }
        Masks m = f.masks();
        long wg = v.main().local()[0];
        long[] global = {(f.seqQ() + wg - 1) / wg * wg, (long) f.batch() * f.heads()};
        enqueue(v.main(), global, KernelParams.additive(f).bytes(), a.raw() ? qpMem : buf(f.q()),
                a.raw() ? kpMem : buf(f.k()), buf(f.v()), buf(f.w()), buf(f.b()), buf(f.out()), buf(f.weights()),
                buf(m.boolMask()), buf(m.bias()), buf(m.alibiSlopes()), ints(m.kvLengths(), temps),
                ints(m.qLengths(), temps));
    }

    private void project(Variant.Step step, Tensor x, Tensor w, Tensor c) {
        long tile = step.local()[0];
        int mRows = x.dim(2), n = w.dim(0);
        long[] global = {(n + tile - 1) / tile * tile, (mRows + tile - 1) / tile * tile, (long) x.dim(0) * x.dim(1)};
        enqueue(step, global, KernelParams.gemmProjection(x, w, c).bytes(), buf(x), buf(w),
                ((OpenClMemory) c.memory()).mem());
    }

    private static String option(Variant.Step s, String name) {
        for (String o : s.options().split(" ")) {
            if (o.startsWith("-D" + name + "=")) {
                return o.substring(name.length() + 3);
            }
        }
        throw new IllegalStateException("option " + name + " missing in " + s.options());
    }

    /** Builds (cached), binds params + buffers, enqueues (the work-group was fitted by fitToKernelLimits). */
    private void enqueue(Variant.Step step, long[] global, byte[] params, cl_mem... buffers) {
        String what = step.describe(global);
        cl_program program = backend.programs().get(step.source(), step.options());
        int[] err = new int[1];
        cl_kernel k = Cl.created(CL.clCreateKernel(program, step.entry(), err), err, "clCreateKernel(" + step.entry() + ")");
        try {
            Cl.check(CL.clSetKernelArg(k, 0, params.length, Pointer.to(params)), "clSetKernelArg(0: params, "
                    + params.length + " B) for " + what);
            for (int i = 0; i < buffers.length; i++) {
                Cl.check(CL.clSetKernelArg(k, i + 1, Sizeof.cl_mem, Pointer.to(buffers[i])),
                        "clSetKernelArg(" + (i + 1) + ") for " + what);
            }
            int st = CL.clEnqueueNDRangeKernel(queue, k, global.length, null, global, step.local(), 0, null, null);
            if (st != CL.CL_SUCCESS) {
                throw new BackendException("OpenCL: clEnqueueNDRangeKernel(" + what + ") failed: " + Cl.status(st));
            }
        } finally {
            CL.clReleaseKernel(k);
        }
    }
}
