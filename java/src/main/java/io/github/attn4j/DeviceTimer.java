package io.github.attn4j;

/**
 * Device time between two markers on a scope's stream: {@link #start()} and {@link #stop()} are
 * queued behind the work issued before them, so the interval covers exactly the work issued in
 * between, without host launch overhead where the backend has device markers. Get one from
 * {@link Scope#timer()}; it is reusable (start, work, stop, {@link #elapsedMillis()}, again) and is
 * closed by its caller.
 *
 * <pre>{@code
 * try (DeviceTimer t = scope.timer()) {
 *     t.start();
 *     scope.sdpa(p);
 *     t.stop();
 *     double ms = t.elapsedMillis();   // waits for the stop marker
 * }
 * }</pre>
 *
 * <p>{@link #method()} names how the time is taken: {@code cuda-events} (events recorded on the CUDA
 * stream), {@code opencl-events} (profiling markers on the queue), or {@code wall+sync} (the host
 * clock around the work and a synchronize: the cpu reference, and queues without profiling).
 */
public interface DeviceTimer extends AutoCloseable {
    /** "cuda-events", "opencl-events" or "wall+sync". */
    String method();

    /** Queues the start marker behind everything issued on the scope so far. */
    void start();

    /** Queues the stop marker; {@code wall+sync} timers wait for the work here. */
    void stop();

    /**
     * Milliseconds between the last {@link #start()} and {@link #stop()}; waits until the stop marker
     * has passed. Throws {@link IllegalStateException} if no start/stop pair was queued.
     */
    double elapsedMillis();

    /** Releases the markers; idempotent. */
    @Override
    void close();
}
