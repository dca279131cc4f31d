package io.github.attn4j.bench;

/**
 * How a point is timed. Every timed run is one issue of the op followed by one wait for the device,
 * so the time covers the whole op and nothing else that is queued.
 *
 * <p>{@link #WALL} brackets {@code run + synchronize} with {@link System#nanoTime()}: honest on every
 * backend, but it includes the launch overhead and the host wake-up after the sync (a few
 * microseconds on a GPU, which matters only for the smallest points). Device-event timers
 * (CUDA events, OpenCL profiling events) plug in here once the backends expose them; the output
 * always names the method in its {@code timing} column.
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
