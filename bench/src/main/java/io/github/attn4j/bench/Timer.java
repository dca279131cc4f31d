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

    Timer WALL = new Timer() {
        @Override
        public String method() {
            return "wall+sync";
        }

        @Override
        public double[] time(Runnable sync, Runnable op, int warmup, int iters) {
            for (int i = 0; i < warmup; i++) {
                op.run();
            }
            sync.run();
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
