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

    /** A new scope with its own stream/queue. */
    Scope newScope();

    /** Runs one op in a temporary scope (host tensors: synchronous; device tensors: waits too). */
    default void run(OpParams params) {
        try (Scope s = newScope()) {
            s.run(params);
            s.synchronize();
        }
    }

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

    /** Runs the SDPA backward ({@link SdpaBackwardParams}). */
    default void sdpaBackward(SdpaBackwardParams p) {
        run(p);
    }

    /** Releases the device. Reports (and with {@code -Dattn4j.leaks=fail} throws on) scopes never closed. */
    @Override
    void close();
}
