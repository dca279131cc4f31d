package io.github.attn4j.bench;

import io.github.attn4j.DeviceTimer;
import io.github.attn4j.Scope;

/**
 * How the bench times a point on an attn4j backend: {@code warmup} untimed runs and one synchronize,
 * then {@code iters} runs, each bracketed by the markers of the scope's own {@link DeviceTimer}
 * ({@link Scope#timer()}: CUDA events on the stream, OpenCL profiling markers on the queue, the host
 * clock around a synchronize on the cpu reference) and waited for. The timer's method is written
 * into every row.
 */
final class Timing {
    private Timing() {}

    /**
     * ms per timed run, how they were taken ("cuda-events", "opencl-events", "wall+sync"), and whether the
     * warm-up ended with the JIT compiler idle ({@link Timer#warmUp}).
     */
    record Runs(double[] ms, String method, boolean jitQuiet) {}

    static Runs time(Scope scope, Runnable op, int warmup, int iters) {
        return time(scope, op, warmup, 0, 0, iters);
    }

    /**
     * As {@link #time(Scope, Runnable, int, int)}, the warm-up extended to {@code warmupMs} and then until the JIT
     * compiler is idle, up to {@code warmupMaxMs} ({@link Timer#warmUp}).
     */
    static Runs time(Scope scope, Runnable op, int warmup, int warmupMs, int warmupMaxMs, int iters) {
        boolean quiet = Timer.warmUp(scope::synchronize, op, warmup, warmupMs, warmupMaxMs);
        double[] ms = new double[iters];
        try (DeviceTimer t = scope.timer()) {
            for (int i = 0; i < iters; i++) {
                t.start();
                op.run();
                t.stop();
                ms[i] = t.elapsedMillis();
            }
            return new Runs(ms, t.method(), quiet);
        }
    }

    /** The method a backend's scopes time with, for the report header. */
    static String method(Scope scope) {
        try (DeviceTimer t = scope.timer()) {
            return t.method();
        }
    }
}
