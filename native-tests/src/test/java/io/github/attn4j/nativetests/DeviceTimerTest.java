package io.github.attn4j.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.DeviceTimer;
import io.github.attn4j.Scope;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.CpuBackend;
import io.github.attn4j.opencl.OpenClBackend;
import io.github.attn4j.opencl.OpenClScope;
import org.jocl.CL;
import org.jocl.cl_command_queue;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Scope.timer(): its method per backend, device time within the host time around it, and misuse. */
class DeviceTimerTest {
    /** Times one softmax of [256, 1024] on a scope; checks the device time against the host time around it. */
    private static double timeSoftmax(Scope s, DeviceTimer t) {
        Tensor x = s.allocate(DType.F32, 256, 1024);
        Tensor y = s.allocate(DType.F32, 256, 1024);
        s.copy(Tensor.of(new float[256 * 1024], 256, 1024), x);
        SoftmaxParams p = SoftmaxParams.builder(x, y).build();
        s.run(p); // warm-up: program build, first touch
        s.synchronize();
        long t0 = System.nanoTime();
        t.start();
        s.run(p);
        t.stop();
        double ms = t.elapsedMillis();
        double host = (System.nanoTime() - t0) / 1e6;
        assertTrue(ms > 0 && ms <= host + 0.5, t.method() + ": " + ms + " ms on the device, " + host + " ms on the host");
        assertEquals(ms, t.elapsedMillis(), "elapsedMillis() is repeatable");
        return ms;
    }

    private static void misuse(Scope s) {
        try (DeviceTimer t = s.timer()) {
            assertThrows(IllegalStateException.class, t::stop);
            assertThrows(IllegalStateException.class, t::elapsedMillis);
            t.start();
            assertThrows(IllegalStateException.class, t::elapsedMillis);
            t.close();
            t.close(); // idempotent
        }
    }

    @Test
    void cpuIsWallClock() {
        try (Backend cpu = new CpuBackend(); Scope s = cpu.newScope(); DeviceTimer t = s.timer()) {
            assertEquals("wall+sync", t.method());
            timeSoftmax(s, t);
            misuse(s);
        }
    }

    @Test
    void openClScopesTimeWithProfilingMarkers() {
        Backend b = OpenClTesting.openOrNull();
        OpenClTesting.assumeDevice(b);
        try (b; Scope s = b.newScope(); DeviceTimer t = s.timer()) {
            assertEquals("opencl-events", t.method());
            for (int i = 0; i < 3; i++) { // reusable
                timeSoftmax(s, t);
            }
            misuse(s);
        }
    }

    @Test
    void openClCallerQueueWithoutProfilingFallsBackToTheWallClock() {
        Backend b = OpenClTesting.openOrNull();
        OpenClTesting.assumeDevice(b);
        OpenClBackend cl = (OpenClBackend) b;
        int[] err = new int[1];
        @SuppressWarnings("deprecation")
        cl_command_queue q = CL.clCreateCommandQueue(cl.context(), cl.deviceId(), 0, err);
        assertEquals(CL.CL_SUCCESS, err[0]);
        try (b; OpenClScope s = cl.newScope(q); DeviceTimer t = s.timer()) {
            assertEquals("wall+sync", t.method());
            timeSoftmax(s, t);
        } finally {
            CL.clReleaseCommandQueue(q);
        }
    }

    @Test
    void cudaScopesTimeWithEvents() {
        String why = Requirement.unavailableReason("cuda:0");
        Assumptions.assumeTrue(why == null || Requirement.isRequired("cuda"), () -> "cuda is unavailable: " + why);
        try (Backend b = Requirement.open("cuda:0"); Scope s = b.newScope(); DeviceTimer t = s.timer()) {
            assertEquals("cuda-events", t.method());
            timeSoftmax(s, t);
            misuse(s);
        }
    }
}
