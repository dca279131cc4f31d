package io.github.attn4j.bench;

import io.github.attn4j.Backend;
import io.github.attn4j.BackendException;
import io.github.attn4j.Scope;
import java.lang.reflect.Method;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_event;

/**
 * OpenCL profiling events. The bench creates its own in-order queue with
 * {@code CL_QUEUE_PROFILING_ENABLE} on the backend's context and device, and opens scopes on it
 * through the backend's public {@code newScope(cl_command_queue)}. A timed run is bracketed by two
 * markers ({@code clEnqueueMarkerWithWaitList}); its time is {@code END(after) - END(before)}: the
 * device time of everything the op enqueued, without host launch overhead. The OpenCL backend is
 * reached by reflection so that this module compiles without it.
 */
final class OpenClEventTiming implements Timing {
    private final Backend backend;
    private final Method newScope;
    private final cl_command_queue queue;

    OpenClEventTiming(Backend backend) throws ReflectiveOperationException {
        this.backend = backend;
        Class<?> c = backend.getClass();
        cl_context ctx = (cl_context) c.getMethod("context").invoke(backend);
        cl_device_id dev = (cl_device_id) c.getMethod("deviceId").invoke(backend);
        this.newScope = c.getMethod("newScope", cl_command_queue.class);
        int[] err = new int[1];
        cl_command_queue q = CL.clCreateCommandQueue(ctx, dev, CL.CL_QUEUE_PROFILING_ENABLE, err);
        check(err[0], "clCreateCommandQueue(CL_QUEUE_PROFILING_ENABLE)");
        this.queue = q;
    }

    private static void check(int code, String what) {
        if (code != CL.CL_SUCCESS) {
            throw new BackendException("bench: " + what + " failed: " + CL.stringFor_errorCode(code));
        }
    }

    @Override
    public String method() {
        return "opencl-events";
    }

    @Override
    public Scope newScope() {
        try {
            return (Scope) newScope.invoke(backend, queue);
        } catch (ReflectiveOperationException e) {
            throw new BackendException("bench: " + backend.name() + ".newScope(queue): " + e, e);
        }
    }

    @Override
    public double[] time(Scope scope, Runnable op, int warmup, int iters) {
        for (int i = 0; i < warmup; i++) {
            op.run();
        }
        scope.synchronize();
        double[] ms = new double[iters];
        long[] t0 = new long[1];
        long[] t1 = new long[1];
        for (int i = 0; i < iters; i++) {
            cl_event before = new cl_event();
            cl_event after = new cl_event();
            check(CL.clEnqueueMarkerWithWaitList(queue, 0, null, before), "clEnqueueMarkerWithWaitList");
            op.run();
            check(CL.clEnqueueMarkerWithWaitList(queue, 0, null, after), "clEnqueueMarkerWithWaitList");
            scope.synchronize();
            check(CL.clGetEventProfilingInfo(before, CL.CL_PROFILING_COMMAND_END, Sizeof.cl_ulong, Pointer.to(t0), null),
                    "clGetEventProfilingInfo");
            check(CL.clGetEventProfilingInfo(after, CL.CL_PROFILING_COMMAND_END, Sizeof.cl_ulong, Pointer.to(t1), null),
                    "clGetEventProfilingInfo");
            CL.clReleaseEvent(before);
            CL.clReleaseEvent(after);
            ms[i] = (t1[0] - t0[0]) / 1e6;
        }
        return ms;
    }

    @Override
    public void close() {
        CL.clReleaseCommandQueue(queue);
    }
}
