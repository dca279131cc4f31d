package io.github.attn4j;

/**
 * One device of one backend. Thread-safe: open a {@link Scope} per thread or per model step.
 * Every backend implements the same semantics (see the op records); the float64 CPU reference
 * ("cpu") defines them.
 */
public interface Backend extends AutoCloseable {
    /** "cuda", "opencl" or "cpu". */
    String name();

    /** The device this backend runs on. */
    DeviceInfo device();

    /** Whether this backend can run the call, and which kernel path would. Never throws. */
    Support supports(OpParams params);

    /** Device workspace the call needs beyond its own tensors (projections, split-KV partials...). */
    long workspaceBytes(OpParams params);

    /**
     * Builds ahead of time what these calls will need (OpenCL programs, CUDA modules), so that the
     * first real call of each kernel variant does not pay for the build (seconds per variant on
     * some drivers). The calls are planned as {@link Scope#run} plans them: pass params with the
     * shapes, dtypes, strides and masks the model will use (host or device tensors; no data is read
     * or written). Builds are cached per process and device, so a later backend on the same device
     * reuses them while one is open. The CPU reference has nothing to build and only checks support.
     *
     * @param params the calls to prepare
     * @throws UnsupportedFeatureException when this backend cannot run one of the calls
     * @throws BackendException when a kernel fails to build (with its build log)
     */
    default void prepare(OpParams... params) {
        for (OpParams p : params) {
            supports(p).require(name(), p);
        }
    }

    /** A new scope with its own stream/queue. */
    Scope newScope();

    /** Runs one op in a temporary scope (host tensors: synchronous; device tensors: waits too). */
    default void run(OpParams params) {
        try (Scope s = newScope()) {
            s.run(params);
            s.synchronize();
        }
    }

    /** Runs a scaled dot-product attention in a temporary scope; see {@link #run(OpParams)}. */
    default void sdpa(SdpaParams p) {
        run(p);
    }

    /** Runs a masked softmax in a temporary scope; see {@link #run(OpParams)}. */
    default void softmax(SoftmaxParams p) {
        run(p);
    }

    /** Runs the masked softmax backward in a temporary scope; see {@link #run(OpParams)}. */
    default void softmaxBackward(SoftmaxBackwardParams p) {
        run(p);
    }

    /** Runs additive attention in a temporary scope; see {@link #run(OpParams)}. */
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

    /** Releases the device. Reports (and with {@code -Dattn4j.leaks=fail} throws on) scopes never closed. */
    @Override
    void close();
}
