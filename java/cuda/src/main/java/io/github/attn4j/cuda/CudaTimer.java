package io.github.attn4j.cuda;

import io.github.attn4j.DeviceTimer;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * {@code cuda-events}: two events created once in the backend's primary context and recorded on the
 * scope's stream; {@code cuEventElapsedTime} between them is the device time of the work in
 * between (resolution about 0.5 µs).
 */
final class CudaTimer implements DeviceTimer {
    private final CudaBackend backend;
    private final CUstream stream;
    private final CUevent start = new CUevent();
    private final CUevent stop = new CUevent();
    private boolean started, stopped, closed;

    CudaTimer(CudaBackend backend, CUstream stream) {
        this.backend = backend;
        this.stream = stream;
        try (CudaBackend.Ctx c = backend.enter()) {
            CudaCheck.check(JCudaDriver.cuEventCreate(start, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
            int r = JCudaDriver.cuEventCreate(stop, CUevent_flags.CU_EVENT_DEFAULT);
            if (r != 0) {
                JCudaDriver.cuEventDestroy(start);
                CudaCheck.check(r, "cuEventCreate");
            }
        }
    }

    @Override
    public String method() {
        return "cuda-events";
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("cuda timer is closed");
        }
    }

    @Override
    public void start() {
        checkOpen();
        try (CudaBackend.Ctx c = backend.enter()) {
            CudaCheck.check(JCudaDriver.cuEventRecord(start, stream), "cuEventRecord(start)");
        }
        started = true;
        stopped = false;
    }

    @Override
    public void stop() {
        checkOpen();
        if (!started) {
            throw new IllegalStateException("timer: stop() before start()");
        }
        try (CudaBackend.Ctx c = backend.enter()) {
            CudaCheck.check(JCudaDriver.cuEventRecord(stop, stream), "cuEventRecord(stop)");
        }
        stopped = true;
    }

    @Override
    public double elapsedMillis() {
        checkOpen();
        if (!stopped) {
            throw new IllegalStateException("timer: elapsedMillis() needs start() and stop() first");
        }
        float[] ms = new float[1];
        try (CudaBackend.Ctx c = backend.enter()) {
            CudaCheck.check(JCudaDriver.cuEventSynchronize(stop), "cuEventSynchronize");
            CudaCheck.check(JCudaDriver.cuEventElapsedTime(ms, start, stop), "cuEventElapsedTime");
        }
        return ms[0];
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try (CudaBackend.Ctx c = backend.enterForRelease()) {
            JCudaDriver.cuEventDestroy(start);
            JCudaDriver.cuEventDestroy(stop);
        } catch (RuntimeException e) {
            // the backend is released: its context, and the events with it, are gone
        }
    }
}
