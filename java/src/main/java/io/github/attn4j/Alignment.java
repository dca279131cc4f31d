package io.github.attn4j;

/**
 * Where query row 0 sits on the key axis when {@code Sq != Sk}. Query row {@code i} is aligned
 * with key {@code i + off}; windows, causal masking and ALiBi distances are measured from there.
 *
 * <p>The default is {@link #BOTTOM_RIGHT}: the last query row is aligned with the last key, which
 * is what decoding with a KV cache needs (FlashAttention 2.1+ and PyTorch's
 * {@code causal_lower_right} agree). {@link #TOP_LEFT} is PyTorch's {@code is_causal=True}.
 */
public enum Alignment {
    /** {@code off = 0}. */
    TOP_LEFT,
    /** {@code off = Sk - Sq}. */
    BOTTOM_RIGHT;

    /** The offset {@code off} for the given query and key lengths. */
    public int offset(int seqQ, int seqK) {
        return this == TOP_LEFT ? 0 : seqK - seqQ;
    }

    /** Parses {@code top-left} / {@code bottom-right} (also with underscores, any case). */
    public static Alignment parse(String s) {
        String n = s.trim().replace('-', '_').toUpperCase(java.util.Locale.ROOT);
        for (Alignment a : values()) {
            if (a.name().equals(n)) {
                return a;
            }
        }
        throw new IllegalArgumentException("align: expected top-left or bottom-right, got '" + s + "'");
    }
}
