package io.github.attn4j;

/**
 * One function per op: the single place where a backend dispatches over {@link OpParams}. Adding
 * an op adds a method here, so every planner that implements this fails to compile until it handles
 * the new op; nothing is silently ignored.
 *
 * @param <R> what the visit returns (a plan, a reference result...)
 */
public interface OpVisitor<R> {
    R sdpa(SdpaParams p);

    R softmax(SoftmaxParams p);

    R softmaxBackward(SoftmaxBackwardParams p);

    R additive(AdditiveParams p);

    /** The SDPA backward. */
    R sdpaBackward(SdpaBackwardParams p);
}
