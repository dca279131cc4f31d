package io.github.attn4j.spi;

import io.github.attn4j.DeviceTimer;

/**
 * The host clock around the work and a synchronize ({@code wall+sync}): {@link #start()} waits for
 * earlier work and reads {@link System#nanoTime()}, {@link #stop()} waits for the work in between
 * and reads it again. It is the cpu reference's device time (its ops run synchronously) and the
 * fallback where a stream has no device markers; it includes launch overhead and the host wake-up
 * after the wait.
 */
public final class WallClockTimer implements DeviceTimer {
    private final Runnable sync;
    private long t0 = -1, t1 = -1;

    /** {@code sync} waits for everything issued so far (a scope's {@code synchronize}). */
    public WallClockTimer(Runnable sync) {
        this.sync = sync;
    }

    @Override
    public String method() {
        return "wall+sync";
    }

    @Override
    public void start() {
        sync.run();
        t0 = System.nanoTime();
        t1 = -1;
    }

    @Override
    public void stop() {
        if (t0 < 0) {
            throw new IllegalStateException("timer: stop() before start()");
        }
        sync.run();
        t1 = System.nanoTime();
    }

    @Override
    public double elapsedMillis() {
        if (t1 < 0) {
            throw new IllegalStateException("timer: elapsedMillis() needs start() and stop() first");
        }
        return (t1 - t0) / 1e6;
    }

    @Override
    public void close() {}
}
