package io.github.attn4j;

/**
 * A block of memory that tensors view: host memory (Java arrays, NIO buffers) or device memory
 * owned by a backend. A tensor is a (memory, dtype, shape, strides, offset) view of one.
 */
public abstract sealed class Memory permits HostMemory, DeviceMemory {
    /** Size in bytes. */
    public abstract long byteSize();

    /** True when the CPU can read and write this memory directly. */
    public abstract boolean isHost();

    /** A short description for error messages ("host float[12]", "cuda:0 device 4096 B"). */
    public abstract String describe();

    /** Throws {@link IllegalStateException} when the memory has been freed. */
    public void checkOpen() {}
}
