package io.github.attn4j.bench;

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

    /**
     * As {@link #time(Runnable, Runnable, int, int)}, with the warm-up extended by {@link #warmUp} until
     * it has lasted {@code warmupMs}.
     */
    default double[] time(Runnable sync, Runnable op, int warmup, int warmupMs, int iters) {
        warmUp(sync, op, warmup, warmupMs);
        return time(sync, op, 0, iters);
    }

    /**
     * The untimed warm-up: {@code runs} runs and a {@code sync}, then more runs, each followed by
     * {@code sync}, until {@code millis} have passed since the start (at most
     * {@link BenchOptions#MAX_WARMUP_RUNS} of them). A call's host side (planning, binding, the
     * launch) runs interpreted for its first few hundred calls; timing it then would time the JIT.
     */
    static void warmUp(Runnable sync, Runnable op, int runs, int millis) {
        long t0 = System.nanoTime();
        for (int i = 0; i < runs; i++) {
            op.run();
        }
        sync.run();
        long end = t0 + millis * 1_000_000L;
        for (int i = 0; i < BenchOptions.MAX_WARMUP_RUNS && System.nanoTime() < end; i++) {
            op.run();
            sync.run();
        }
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
