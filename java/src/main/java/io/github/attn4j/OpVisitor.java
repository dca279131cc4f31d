package io.github.attn4j;

/**
 * One function per op: the single place where a backend dispatches over {@link OpParams}. Adding
 * an op adds a method here, so every planner that implements this fails to compile until it handles
 * the new op; nothing is silently ignored.
 *
 * @param <R> what the visit returns (a plan, a reference result...)
 */
public interface OpVisitor<R> {
    /** Visits a scaled dot-product attention call. */
    R sdpa(SdpaParams p);

    /** Visits a masked softmax call. */
    R softmax(SoftmaxParams p);

    /** The batched GEMM, {@code C = alpha * op(A) . op(B) + beta * C}. */
    R gemm(GemmParams p);

    /** Rotary position embedding (rotate-half, Llama/HF). */
    R rope(RopeParams p);

    /** Visits a masked softmax backward call. */
    R softmaxBackward(SoftmaxBackwardParams p);

    /** Visits an additive attention call. */
    R additive(AdditiveParams p);

    /** The SDPA backward. */
    R sdpaBackward(SdpaBackwardParams p);

    /** Merge of attention states ({@link MergeParams}). */
    R merge(MergeParams p);

    /** KV append into paged caches ({@link KvAppendParams}). */
    R kvAppend(KvAppendParams p);

    /** The additive attention backward. */
    R additiveBackward(AdditiveBackwardParams p);
}
