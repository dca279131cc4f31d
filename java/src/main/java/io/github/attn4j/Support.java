package io.github.attn4j;

/**
 * Whether a backend can run a call, and how: {@code variant} names the kernel path that would run
 * (for example {@code "fused-f32"} or {@code "unfused-cublas"}); {@code reason} says why not.
 */
public record Support(boolean supported, String variant, String reason) {
    /** Supported, by the kernel path {@code variant}. */
    public static Support yes(String variant) {
        return new Support(true, variant, "");
    }

    /** Not supported, because of {@code reason}. */
    public static Support no(String reason) {
        return new Support(false, "", reason);
    }

    /** Throws {@link UnsupportedFeatureException} when not supported. */
    public void require(String backend, OpParams p) {
        if (!supported) {
            throw new UnsupportedFeatureException(backend + " does not support this " + p.op() + " call: " + reason);
        }
    }
}
