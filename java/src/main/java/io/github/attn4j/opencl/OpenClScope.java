package io.github.attn4j.opencl;

import io.github.attn4j.BackendException;
import io.github.attn4j.DeviceMemory;
import io.github.attn4j.OpParams;
import io.github.attn4j.spi.AbstractDeviceScope;
import io.github.attn4j.spi.Arg;
import io.github.attn4j.spi.Plan;
import io.github.attn4j.spi.Workspace;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * A scope on one in-order command queue. Launches are asynchronous; only host copies and
 * {@link #synchronize()} wait. The per-batch length arrays of a launch are small buffers created
 * with their contents and released right after the enqueue (OpenCL defers the release until the
 * commands that use them have finished), so nothing accumulates across calls. A kernel object is
 * created on the kernel's first launch in the scope and kept until the scope closes (one per kernel
 * variant the scope runs), so a call's host side is a map lookup, its argument bindings and the enqueue.
 */
public final class OpenClScope extends AbstractDeviceScope {
    private final OpenClBackend backend;
    private final cl_command_queue queue;
    private final boolean ownsQueue;
    /** This scope's kernel objects, by the backend's resolved kernel (identity: one instance per kernel). */
    private final Map<OpenClBackend.Kernel, cl_kernel> kernels = new IdentityHashMap<>();

    OpenClScope(OpenClBackend backend, cl_command_queue queue, boolean ownsQueue) {
        super(backend);
        this.backend = backend;
        this.queue = queue;
        this.ownsQueue = ownsQueue;
        if (backend.poclCpu()) {
            PoclLaunchGate.register(queue);
        }
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
    protected void writeChunk(ByteBuffer src, DeviceMemory dst, long dstByte) {
        int n = src.remaining();
        Cl.check(CL.clEnqueueWriteBuffer(queue, mem(dst), CL.CL_TRUE, dstByte, n, Pointer.to(src), 0, null, null),
                "clEnqueueWriteBuffer(" + n + " B at " + dstByte + ")");
    }

    @Override
    protected void readChunk(DeviceMemory src, long srcByte, ByteBuffer dst) {
        int n = dst.remaining();
        Cl.check(CL.clEnqueueReadBuffer(queue, mem(src), CL.CL_TRUE, srcByte, n, Pointer.to(dst), 0, null, null),
                "clEnqueueReadBuffer(" + n + " B at " + srcByte + ")");
    }

    @Override
    protected void copyOnDevice(DeviceMemory src, long srcByte, DeviceMemory dst, long dstByte, long bytes) {
        Cl.check(CL.clEnqueueCopyBuffer(queue, mem(src), mem(dst), srcByte, dstByte, bytes, 0, null, null),
                "clEnqueueCopyBuffer(" + bytes + " B)");
    }

    @Override
    protected void waitFor(AbstractDeviceScope other) {
        cl_command_queue q = ((OpenClScope) other).queue;
        cl_event ev = new cl_event();
        Cl.check(CL.clEnqueueMarkerWithWaitList(q, 0, null, ev), "clEnqueueMarkerWithWaitList (cross-scope fence)");
        try {
            Cl.check(CL.clFlush(q), "clFlush (cross-scope fence)");
            Cl.check(CL.clEnqueueBarrierWithWaitList(queue, 1, new cl_event[] {ev}, null),
                    "clEnqueueBarrierWithWaitList (cross-scope fence)");
        } finally {
            CL.clReleaseEvent(ev);
        }
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
    protected void drainQuietly() {
        CL.clFinish(queue);
    }

    @Override
    protected void releaseStream() {
        for (cl_kernel k : kernels.values()) {
            CL.clReleaseKernel(k);
        }
        kernels.clear();
        if (backend.poclCpu()) {
            PoclLaunchGate.unregister(queue);
        }
        if (ownsQueue) {
            Cl.check(CL.clReleaseCommandQueue(queue), "clReleaseCommandQueue");
        }
    }

    @Override
    protected void launch(Plan plan, OpParams params) {
        DeviceMemory ws = plan.workspaceBytes() > 0 ? grown(WORKSPACE, plan.workspaceBytes()) : null;
        List<cl_mem> temps = new ArrayList<>();
        try {
            for (Plan.Step step : plan.steps()) {
                enqueue(step, ws, temps);
            }
        } finally {
            for (cl_mem m : temps) {
                CL.clReleaseMemObject(m);
            }
        }
    }

    /** The buffer an argument binds: a tensor's, the workspace, a length array's, or the placeholder. */
    private cl_mem buffer(Arg a, DeviceMemory ws, List<cl_mem> temps) {
        if (a instanceof Arg.Buffer b) {
            if (b.tensor() == null) {
                return backend.dummy();
            }
            return b.tensor().memory() instanceof Workspace ? mem(ws) : mem((DeviceMemory) b.tensor().memory());
        }
        int[] v = ((Arg.Ints) a).values();
        if (v == null) {
            return backend.dummy();
        }
        cl_mem m = createBuffer(4L * v.length, Pointer.to(v));
        temps.add(m);
        return m;
    }

    /**
     * This scope's kernel object for {@code kernel}: created on its first launch here and kept until the scope
     * closes (one per kernel the scope launches). A kernel object holds its arguments, so it belongs to one
     * scope, whose single thread binds and enqueues it; OpenCL takes the arguments' values at the enqueue.
     */
    private cl_kernel kernelObject(OpenClBackend.Kernel kernel) {
        cl_kernel k = kernels.get(kernel);
        if (k == null) {
            int[] err = new int[1];
            k = Cl.created(CL.clCreateKernel(kernel.program(), kernel.entry(), err), err,
                    "clCreateKernel(" + kernel.entry() + ")");
            kernels.put(kernel, k);
        }
        return k;
    }

    /** Binds every argument in order and enqueues; the kernel is resolved and built once ({@link OpenClBackend#kernel}). */
    private void enqueue(Plan.Step step, DeviceMemory ws, List<cl_mem> temps) {
        OpenClBackend.Kernel kernel = backend.kernel(step);
        cl_kernel k = kernelObject(kernel);
        List<Arg> args = step.args();
        for (int i = 0; i < args.size(); i++) {
            Arg a = args.get(i);
            int st;
            if (a instanceof Arg.Struct s) {
                st = CL.clSetKernelArg(k, i, s.bytes().length, Pointer.to(s.bytes()));
            } else if (a instanceof Arg.I32 x) {
                st = CL.clSetKernelArg(k, i, Sizeof.cl_int, Pointer.to(new int[] {x.value()}));
            } else {
                st = CL.clSetKernelArg(k, i, Sizeof.cl_mem, Pointer.to(buffer(a, ws, temps)));
            }
            if (st != CL.CL_SUCCESS) {
                throw new BackendException("OpenCL: clSetKernelArg(" + i + ": " + a.name() + ") for " + step.describe()
                        + " failed: " + Cl.status(st));
            }
        }
        long[] global = step.global();
        Runnable launch = () -> {
            int st = CL.clEnqueueNDRangeKernel(queue, k, global.length, null, global, step.block(), 0, null, null);
            if (st != CL.CL_SUCCESS) {
                throw new BackendException("OpenCL: clEnqueueNDRangeKernel(" + step.describe() + ") failed: "
                        + Cl.status(st));
            }
        };
        if (backend.poclCpu()) {
            PoclLaunchGate.launch(PoclLaunchGate.key(kernel.gateProgram(), step.entry(), step.block()),
                    PoclLaunchGate.width(global, step.block()), queue, launch);
        } else {
            launch.run();
        }
    }
}
