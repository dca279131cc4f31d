package io.github.attn4j;

/**
 * An execution scope on one backend: it owns the device memory it allocates and the stream or
 * queue its ops are issued on. Closing it frees that memory (idempotent); using it afterwards throws
 * {@link IllegalStateException}.
 *
 * <p><b>Threads.</b> A scope is for one thread at a time: open one scope per thread (the
 * {@link Backend} is shared). Calling a scope from a second thread while another is inside it
 * throws {@link IllegalStateException}; handing a scope from one thread to the next is fine.
 *
 * <p><b>Ordering across scopes.</b> Each device memory remembers the scope that last wrote it (an
 * op's output, a copy's destination). When another scope of the same backend then reads or writes
 * that memory, its stream first waits for everything the writing scope had issued (an event on
 * CUDA, a marker and barrier on OpenCL), so a tensor written on scope A and read on scope B is
 * never read early. The tracking covers attn4j's own writes; work the caller queued on its own
 * streams or queues against wrapped memory must be ordered by the caller. A read on scope A
 * followed by a write on scope B is not tracked: synchronize A first.
 *
 * <p>Ops on device tensors are asynchronous on the scope's stream: nothing waits for the device
 * until host data is needed ({@link #copy} to host memory, an op with a host output, or
 * {@link #synchronize()}). Host tensors are staged to the device and back, and the op returns when
 * the host outputs are written.
 */
public interface Scope extends AutoCloseable {
    /** The backend that opened this scope. */
    Backend backend();

    /** A new contiguous tensor in device memory owned by this scope. Its contents are undefined. */
    Tensor allocate(DType dtype, int... shape);

    /**
     * A new device tensor of logical shape {@code [b, h, s, d]} stored in {@code layout} (for
     * example a BSHD activation), owned by this scope. Its contents are undefined.
     */
    default Tensor allocate(DType dtype, Layout layout, int b, int h, int s, int d) {
        Tensor flat = allocate(dtype, b, h, s, d);
        return Tensor.of(flat.memory(), dtype, new int[] {b, h, s, d}, layout.strides(b, h, s, d), 0);
    }

    /**
     * Copies {@code src} to {@code dst}: same dtype and shape, any strides (a slice of a KV cache, a
     * BSHD view), host or device on either side. Views that are both contiguous are one transfer;
     * others go through a strided copy kernel on the device (or a gather/scatter on the host).
     */
    void copy(Tensor src, Tensor dst);

    /** A device copy of a host tensor (same shape and dtype, contiguous). */
    default Tensor upload(Tensor host) {
        Tensor t = allocate(host.dtype(), host.shape());
        copy(host, t);
        return t;
    }

    /** Runs an op. Throws {@link UnsupportedFeatureException} when the backend cannot. */
    void run(OpParams params);

    /** Runs a scaled dot-product attention on this scope; see {@link #run(OpParams)}. */
    default void sdpa(SdpaParams p) {
        run(p);
    }

    /** Runs a masked softmax on this scope; see {@link #run(OpParams)}. */
    default void softmax(SoftmaxParams p) {
        run(p);
    }

    /** Runs the masked softmax backward on this scope; see {@link #run(OpParams)}. */
    default void softmaxBackward(SoftmaxBackwardParams p) {
        run(p);
    }

    /** Runs additive attention on this scope; see {@link #run(OpParams)}. */
    default void additive(AdditiveParams p) {
        run(p);
    }

    /** Runs the SDPA backward ({@link SdpaBackwardParams}). */
    default void sdpaBackward(SdpaBackwardParams p) {
        run(p);
    }

    /** Merges partial attention states ({@link MergeParams}). */
    default void merge(MergeParams p) {
        run(p);
    }

    /** Appends K/V rows to paged caches ({@link KvAppendParams}). */
    default void kvAppend(KvAppendParams p) {
        run(p);
    }

    /** Runs the additive attention backward ({@link AdditiveBackwardParams}). */
    default void additiveBackward(AdditiveBackwardParams p) {
        run(p);
    }

    /** Runs a batched GEMM, {@code C = alpha * op(A) . op(B) + beta * C} (see {@link GemmParams}). */
    default void gemm(GemmParams p) {
        run(p);
    }

    /** Applies rotary position embedding (see {@link RopeParams}). */
    default void rope(RopeParams p) {
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

    /**
     * Bytes of device memory this scope currently owns: its tensors and its grown workspace and
     * argument buffers. The device copies of the last host-tensor call, kept for reuse by the next
     * one (at most one call's worth), are not counted.
     */
    long allocatedBytes();

    @Override
    void close();
}
