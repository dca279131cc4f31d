package io.github.attn4j.opencl;

import io.github.attn4j.DeviceMemory;
import org.jocl.CL;
import org.jocl.cl_context;
import org.jocl.cl_mem;

/**
 * An OpenCL buffer: allocated by a scope (owned, released on close) or the caller's own
 * {@code cl_mem} wrapped by {@link OpenClBackend#wrap(cl_mem, long)} (never released by attn4j).
 */
public final class OpenClMemory extends DeviceMemory {
    private final cl_mem mem;
    private final cl_context context;

    OpenClMemory(cl_mem mem, cl_context context, long bytes, boolean owned) {
        super("opencl", bytes, owned);
        this.mem = mem;
        this.context = context;
    }

    /** The buffer, for passing to the caller's own OpenCL code. */
    public cl_mem mem() {
        checkOpen();
        return mem;
    }

    cl_context context() {
        return context;
    }

    /** Only a backend on the same OpenCL context: a buffer of another context is CL_INVALID_CONTEXT there. */
    @Override
    public boolean usableBy(io.github.attn4j.Backend b) {
        return b instanceof OpenClBackend o && o.context().equals(context);
    }

    @Override
    protected void free() {
        Cl.check(CL.clReleaseMemObject(mem), "clReleaseMemObject(" + byteSize() + " B)");
    }
}
