package io.github.attn4j;

/**
 * An execution scope on one backend: it owns the device memory it allocates and the stream or
 * queue its ops are issued on. Closing it frees that memory (idempotent); using it afterwards throws
 * {@link IllegalStateException}. A scope is meant for one thread at a time.
 *
 * <p>Ops on device tensors are asynchronous on the scope's stream: nothing waits for the device
 * until host data is needed ({@link #copy} to host memory, an op with a host output, or
 * {@link #synchronize()}). Host tensors are staged to the device and back, and the op returns when
 * the host outputs are written.
 */
public interface Scope extends AutoCloseable {
    Backend backend();

    /** A new contiguous tensor in device memory owned by this scope. Its contents are undefined. */
    Tensor allocate(DType dtype, int... shape);

    /** Copies {@code src} to {@code dst}: same dtype and shape; host or device on either side. */
    void copy(Tensor src, Tensor dst);

    /** A device copy of a host tensor (same shape and dtype, contiguous). */
    default Tensor upload(Tensor host) {
        Tensor t = allocate(host.dtype(), host.shape());
        copy(host, t);
        return t;
    }

    /** Runs an op. Throws {@link UnsupportedFeatureException} when the backend cannot. */
    void run(OpParams params);

    default void sdpa(SdpaParams p) {
        run(p);
    }

    default void softmax(SoftmaxParams p) {
        run(p);
    }

    default void softmaxBackward(SoftmaxBackwardParams p) {
        run(p);
    }

    default void additive(AdditiveParams p) {
        run(p);
    }

    /** Waits until everything issued on this scope's stream has finished. */
    void synchronize();

    /**
     * A timer whose markers go on this scope's stream: device events where the backend has them
     * (CUDA events; OpenCL profiling markers), otherwise the host clock around a synchronize, as
     * here. {@link DeviceTimer#method()} says which. The caller closes it.
     */
    default DeviceTimer timer() {
        return new io.github.attn4j.spi.WallClockTimer(this::synchronize);
    }

    /** Bytes of device memory this scope currently owns. */
    long allocatedBytes();

    @Override
    void close();
}
