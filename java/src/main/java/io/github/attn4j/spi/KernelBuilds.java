package io.github.attn4j.spi;

import java.util.concurrent.atomic.LongAdder;

/**
 * Process-wide totals of kernel builds (OpenCL {@code clBuildProgram}, CUDA module loads and NVRTC
 * compiles): how many, and the time they took. Lets a caller tell build time from run time, as
 * {@code verify} does, without timing inside every call.
 */
public final class KernelBuilds {
    private static final LongAdder COUNT = new LongAdder();
    private static final LongAdder NANOS = new LongAdder();

    private KernelBuilds() {}

    /**
     * Records one build.
     *
     * @param nanos how long it took
     */
    public static void record(long nanos) {
        COUNT.increment();
        NANOS.add(nanos);
    }

    /**
     * Builds recorded in this process so far.
     *
     * @return the count
     */
    public static long count() {
        return COUNT.sum();
    }

    /**
     * Time spent in the builds recorded so far.
     *
     * @return nanoseconds, summed over threads
     */
    public static long nanos() {
        return NANOS.sum();
    }
}
