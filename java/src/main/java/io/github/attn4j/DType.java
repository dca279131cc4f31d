package io.github.attn4j;

/** Element types of tensors. Half types are storage formats: every backend computes in fp32 or better. */
public enum DType {
    /** IEEE binary32. */
    F32(4),
    /** IEEE binary16, storage only; arithmetic is fp32. */
    F16(2),
    /** bfloat16, storage only; arithmetic is fp32. */
    BF16(2),
    /** One byte per element, nonzero = true. Used for boolean masks. */
    BOOL(1),
    /** 32-bit signed integer. */
    I32(4);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Size of one element in bytes. */
    public int bytes() {
        return bytes;
    }

    /** True for the floating-point types that ops take as data (F32, F16, BF16). */
    public boolean isFloat() {
        return this == F32 || this == F16 || this == BF16;
    }
}
