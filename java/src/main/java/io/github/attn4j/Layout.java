package io.github.attn4j;

/**
 * Memory layouts of 4-D attention tensors. The logical shape is always {@code [B, H, S, D]}; the
 * layout only decides the strides. Any other layout can be described with explicit strides
 * ({@link Tensor#view(long, int[], long[])}).
 */
public enum Layout {
    /** {@code [B, H, S, D]} contiguous (PyTorch's default for attention). */
    BHSD,
    /** {@code [B, S, H, D]} contiguous (FlashAttention's and most models' projection output). */
    BSHD;

    /** Element strides for a tensor of logical shape {@code [b, h, s, d]} stored in this layout. */
    public long[] strides(int b, int h, int s, int d) {
        return switch (this) {
            case BHSD -> new long[] {(long) h * s * d, (long) s * d, d, 1};
            case BSHD -> new long[] {(long) s * h * d, d, (long) h * d, 1};
        };
    }

    /** Parses {@code bhsd} or {@code bshd}, in any case. */
    public static Layout parse(String s) {
        for (Layout l : values()) {
            if (l.name().equalsIgnoreCase(s)) {
                return l;
            }
        }
        throw new IllegalArgumentException("layout: expected bhsd or bshd, got '" + s + "'");
    }
}
