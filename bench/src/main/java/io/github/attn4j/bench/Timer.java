package io.github.attn4j.bench;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.function.LongSupplier;

/**
 * How a CPU peer's point is timed (peers run synchronously on the host, outside any attn4j scope).
 * Every timed run is one issue of the op followed by one wait, so the time covers the whole op and
 * nothing else. attn4j's own backends are timed through their scopes' device timers instead
 * ({@link Timing}, {@link io.github.attn4j.Scope#timer()}); the output always names the method in
 * its {@code timing} column.
 *
 * <p>{@link #WALL} brackets {@code run + sync} with {@link System#nanoTime()}.
 */
public interface Timer {
    /** The label written to the results ("wall+sync", "cuda-events", ...). */
    String method();

    /**
     * Runs {@code op} {@code warmup} times untimed, then {@code iters} times timed, each followed by
     * {@code sync} (a scope's {@code synchronize}, or nothing for a synchronous peer); returns ms per run.
     */
    double[] time(Runnable sync, Runnable op, int warmup, int iters);

    /** How long the JIT compiler must have been idle (no compilation finished) before a warm-up may end. */
    long JIT_QUIET_MS = 250;

    /** As {@link #warmUp(Runnable, Runnable, int, int, int)} without waiting for the JIT compiler. */
    static void warmUp(Runnable sync, Runnable op, int runs, int millis) {
        warmUp(sync, op, runs, millis, millis);
    }

    /**
     * The untimed warm-up: {@code runs} runs and a {@code sync}, then more runs, each followed by
     * {@code sync}, until {@code minMillis} have passed since the start and the JIT compiler has
     * finished no compilation for {@link #JIT_QUIET_MS} (the JVM's total compilation time, {@link
     * java.lang.management.CompilationMXBean}), but no longer than {@code maxMillis} (at most {@link
     * BenchOptions#MAX_WARMUP_RUNS} runs). A call's host side (planning, binding, the launch) runs
     * interpreted for its first few hundred calls and is compiled for seconds after that; on a host with
     * few cores the compiler threads take a core from the op, so timing before they are done times the JIT
     * (on the project's 2-vCPU host: SDPA [1, 8, 512, 64] 6.0-6.8 ms after 300 ms of warm-up, 5.0-5.3 ms
     * after 8 s). Returns false if the warm-up stopped at {@code maxMillis} or the run limit while the
     * compiler was still busy.
     */
    static boolean warmUp(Runnable sync, Runnable op, int runs, int minMillis, int maxMillis) {
        return warmUp(sync, op, runs, minMillis, maxMillis, Timer::jitMillis, System::nanoTime);
    }

    /** {@link #warmUp(Runnable, Runnable, int, int, int)} with its clocks given (tests). */
    static boolean warmUp(Runnable sync, Runnable op, int runs, int minMillis, int maxMillis, LongSupplier jitMillis,
            LongSupplier nanos) {
        long t0 = nanos.getAsLong();
        for (int i = 0; i < runs; i++) {
            op.run();
        }
        sync.run();
        long minEnd = t0 + minMillis * 1_000_000L;
        long maxEnd = t0 + Math.max(minMillis, maxMillis) * 1_000_000L;
        long jit = maxMillis > minMillis ? jitMillis.getAsLong() : -1;
        boolean waitJit = jit >= 0;
        long changed = nanos.getAsLong();
        for (int i = 0; i < BenchOptions.MAX_WARMUP_RUNS; i++) {
            long now = nanos.getAsLong();
            if (waitJit) {
                long j = jitMillis.getAsLong();
                if (j != jit) {
                    jit = j;
                    changed = now;
                }
            }
            boolean quiet = !waitJit || now - changed >= JIT_QUIET_MS * 1_000_000L;
            if (now >= minEnd && (quiet || now >= maxEnd)) {
                return quiet;
            }
            op.run();
            sync.run();
        }
        return !waitJit;
    }

    /** The JVM's total JIT compilation time in ms, or -1 where the JVM does not report it. */
    static long jitMillis() {
        CompilationMXBean c = ManagementFactory.getCompilationMXBean();
        return c != null && c.isCompilationTimeMonitoringSupported() ? c.getTotalCompilationTime() : -1;
    }

    Timer WALL = new Timer() {
        @Override
        public String method() {
            return "wall+sync";
        }

        @Override
        public double[] time(Runnable sync, Runnable op, int warmup, int iters) {
            warmUp(sync, op, warmup, 0);
            double[] ms = new double[iters];
            for (int i = 0; i < iters; i++) {
                long t0 = System.nanoTime();
                op.run();
                sync.run();
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            return ms;
        }
    };
}
