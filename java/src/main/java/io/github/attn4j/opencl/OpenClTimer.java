package io.github.attn4j.opencl;

import io.github.attn4j.DeviceTimer;
import io.github.attn4j.spi.WallClockTimer;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_event;

/**
 * {@code opencl-events}: two markers ({@code clEnqueueMarkerWithWaitList}, OpenCL 1.2) on the scope's
 * in-order queue; the time is {@code END(stop) - END(start)} from the profiling info, i.e. the device
 * time of everything queued in between. Needs a queue created with {@code CL_QUEUE_PROFILING_ENABLE}
 * (the backend's own scopes have one); on a caller's queue without it, {@link #on} gives the
 * {@code wall+sync} timer instead.
 */
final class OpenClTimer implements DeviceTimer {
    private final cl_command_queue queue;
    private cl_event start, stop;
    private boolean closed;

    private OpenClTimer(cl_command_queue queue) {
        this.queue = queue;
    }

    /** Profiling markers when {@code queue} has profiling enabled, else the host clock around {@code sync}. */
    static DeviceTimer on(cl_command_queue queue, Runnable sync) {
        long[] props = new long[1];
        Cl.check(CL.clGetCommandQueueInfo(queue, CL.CL_QUEUE_PROPERTIES, Sizeof.cl_ulong, Pointer.to(props), null),
                "clGetCommandQueueInfo(CL_QUEUE_PROPERTIES)");
        return (props[0] & CL.CL_QUEUE_PROFILING_ENABLE) != 0 ? new OpenClTimer(queue) : new WallClockTimer(sync);
    }

    @Override
    public String method() {
        return "opencl-events";
    }

    private cl_event marker(cl_event old, String which) {
        if (closed) {
            throw new IllegalStateException("opencl timer is closed");
        }
        release(old);
        cl_event e = new cl_event();
        Cl.check(CL.clEnqueueMarkerWithWaitList(queue, 0, null, e), "clEnqueueMarkerWithWaitList(" + which + ")");
        return e;
    }

    @Override
    public void start() {
        start = marker(start, "start");
        release(stop);
        stop = null;
    }

    @Override
    public void stop() {
        if (start == null) {
            throw new IllegalStateException("timer: stop() before start()");
        }
        stop = marker(stop, "stop");
    }

    @Override
    public double elapsedMillis() {
        if (closed) {
            throw new IllegalStateException("opencl timer is closed");
        }
        if (stop == null) {
            throw new IllegalStateException("timer: elapsedMillis() needs start() and stop() first");
        }
        Cl.check(CL.clWaitForEvents(1, new cl_event[] {stop}), "clWaitForEvents");
        return (end(stop) - end(start)) / 1e6;
    }

    private static long end(cl_event e) {
        long[] t = new long[1];
        Cl.check(CL.clGetEventProfilingInfo(e, CL.CL_PROFILING_COMMAND_END, Sizeof.cl_ulong, Pointer.to(t), null),
                "clGetEventProfilingInfo(CL_PROFILING_COMMAND_END)");
        return t[0];
    }

    private static void release(cl_event e) {
        if (e != null) {
            CL.clReleaseEvent(e);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        release(start);
        release(stop);
        start = stop = null;
    }
}
