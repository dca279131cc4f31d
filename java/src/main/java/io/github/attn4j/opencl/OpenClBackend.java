package io.github.attn4j.opencl;

import io.github.attn4j.BackendException;
import io.github.attn4j.DeviceInfo;
import io.github.attn4j.OpParams;
import io.github.attn4j.Support;
import io.github.attn4j.spi.AbstractDeviceBackend;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_mem;

/**
 * The OpenCL backend: one device, one context, a cache of built programs. Open it through
 * {@code Attn4j.open("opencl:N")} (device N counted over all platforms), or wrap a context the
 * caller already has with {@link #wrap(cl_context, cl_device_id)}. The caller's buffers and
 * queues are used without copying: {@link #wrap(cl_mem, long)}, {@link #newScope(cl_command_queue)}.
 */
public final class OpenClBackend extends AbstractDeviceBackend {
    private final OpenClDevice dev;
    private final cl_context context;
    private final boolean ownsContext;
    private final ProgramCache programs;
    private final cl_mem dummy;

    OpenClBackend(OpenClDevice dev) {
        this(dev, createContext(dev), true);
    }

    private OpenClBackend(OpenClDevice dev, cl_context context, boolean ownsContext) {
        super(DeviceInfo.available("opencl", dev.index(), dev.name(), dev.details()));
        this.dev = dev;
        this.context = context;
        this.ownsContext = ownsContext;
        this.programs = new ProgramCache(context, dev.id());
        int[] err = new int[1];
        // Passed for absent optional buffers (the flags tell the kernel not to read them).
        this.dummy = Cl.created(CL.clCreateBuffer(context, CL.CL_MEM_READ_WRITE, 64, null, err), err,
                "clCreateBuffer(64 B placeholder)");
    }

    private static cl_context createContext(OpenClDevice dev) {
        int[] err = new int[1];
        org.jocl.cl_context_properties props = new org.jocl.cl_context_properties();
        props.addProperty(CL.CL_CONTEXT_PLATFORM, dev.platform());
        return Cl.created(CL.clCreateContext(props, 1, new cl_device_id[] {dev.id()}, null, null, err), err,
                "clCreateContext(" + dev.name() + ")");
    }

    /**
     * A backend on the caller's context and device. The context is not released on close; the
     * device is reported as {@code opencl:-1} unless it is found among the enumerated devices.
     */
    public static OpenClBackend wrap(cl_context context, cl_device_id device) {
        OpenClDevice d = null;
        for (OpenClDevice x : OpenClDevice.all()) {
            if (x.id().equals(device)) {
                d = x;
            }
        }
        if (d == null) {
            throw new BackendException("OpenCL: the device to wrap is not among the enumerated devices");
        }
        return new OpenClBackend(d, context, false);
    }

    /** The caller's buffer of {@code bytes} as device memory of this backend; never released by attn4j. */
    public OpenClMemory wrap(cl_mem mem, long bytes) {
        checkOpen();
        long[] size = new long[1];
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(8).order(java.nio.ByteOrder.nativeOrder());
        Cl.check(CL.clGetMemObjectInfo(mem, CL.CL_MEM_SIZE, org.jocl.Sizeof.size_t, Pointer.to(b), size),
                "clGetMemObjectInfo(CL_MEM_SIZE)");
        long actual = b.getLong(0);
        if (bytes > actual) {
            throw new IllegalArgumentException("bytes: expected at most the buffer's size " + actual + ", got " + bytes);
        }
        return new OpenClMemory(mem, context, bytes, false);
    }

    /** The context this backend allocates in and builds for. */
    public cl_context context() {
        return context;
    }

    /** The device. */
    public cl_device_id deviceId() {
        return dev.id();
    }

    OpenClDevice dev() {
        return dev;
    }

    ProgramCache programs() {
        return programs;
    }

    cl_mem dummy() {
        return dummy;
    }

    @Override
    public Support supports(OpParams params) {
        if (isClosed()) {
            return Support.no("backend is closed");
        }
        try {
            Variant.Choice c = Variant.choose(params, dev);
            return c.supported() ? Support.yes(c.variant().name()) : Support.no(c.reason());
        } catch (RuntimeException e) {
            return Support.no("cannot plan the call: " + e.getMessage());
        }
    }

    @Override
    public long workspaceBytes(OpParams params) {
        Variant.Choice c = Variant.choose(params, dev);
        return c.supported() ? c.variant().workspaceBytes() : 0;
    }

    /** A scope with its own in-order queue. */
    @Override
    public OpenClScope newScope() {
        checkOpen();
        int[] err = new int[1];
        @SuppressWarnings("deprecation")
        cl_command_queue q = Cl.created(CL.clCreateCommandQueue(context, dev.id(), 0, err), err,
                "clCreateCommandQueue(" + dev.name() + ")");
        return new OpenClScope(this, q, true);
    }

    /** A scope on the caller's in-order queue (of this backend's context); the queue is not released on close. */
    public OpenClScope newScope(cl_command_queue queue) {
        checkOpen();
        return new OpenClScope(this, queue, false);
    }

    @Override
    protected void release() {
        programs.release();
        CL.clReleaseMemObject(dummy);
        if (ownsContext) {
            Cl.check(CL.clReleaseContext(context), "clReleaseContext");
        }
    }
}
