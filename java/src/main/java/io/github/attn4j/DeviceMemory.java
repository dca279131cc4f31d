package io.github.attn4j;

/**
 * Memory that lives on a backend's device. Backends subclass this. Memory is either owned
 * (allocated by a {@link Scope}, freed when the scope or the memory closes) or wrapped (the
 * caller's own {@code CUdeviceptr} or {@code cl_mem}; closing it never frees it).
 */
public abstract non-sealed class DeviceMemory extends Memory implements AutoCloseable {
    private final String backend;
    private final long bytes;
    private final boolean owned;
    private volatile boolean closed;
    private volatile Object lastWriter;

    /** Memory of {@code bytes} on {@code backend}'s device; {@code owned} when attn4j frees it on close. */
    protected DeviceMemory(String backend, long bytes, boolean owned) {
        this.backend = backend;
        this.bytes = bytes;
        this.owned = owned;
    }

    /** The name of the backend this memory belongs to ("cuda", "opencl", ...). */
    public String backend() {
        return backend;
    }

    /**
     * True when {@code backend} can read and write this memory: by default a backend of the same
     * name; device backends narrow it to the same native context (two OpenCL contexts, or two
     * CUDA devices, cannot use each other's buffers even though their backends share a name).
     */
    public boolean usableBy(Backend backend) {
        return this.backend.equals(backend.name());
    }

    /** True when attn4j allocated this memory and frees it on close. */
    public boolean owned() {
        return owned;
    }

    /** True once closed (owned memory is then freed). */
    public boolean isClosed() {
        return closed;
    }

    @Override
    public long byteSize() {
        return bytes;
    }

    @Override
    public boolean isHost() {
        return false;
    }

    @Override
    public String describe() {
        return backend + " device " + (owned ? "" : "(wrapped) ") + bytes + " B";
    }

    @Override
    public void checkOpen() {
        if (closed) {
            throw new IllegalStateException("device memory (" + describe() + ") is closed");
        }
    }

    /**
     * The scope that last issued a write to this memory, for ordering across scopes (backends set it
     * after each op or copy; a scope that reads or writes memory last written by another scope makes
     * its stream wait for that scope's work first). Null when never written by attn4j.
     */
    public Object lastWriter() {
        return lastWriter;
    }

    /** Records the scope that just issued a write to this memory (see {@link #lastWriter()}). */
    public void markWrittenBy(Object scope) {
        lastWriter = scope;
    }

    /** Frees owned memory (idempotent); wrapped memory is only marked closed. */
    @Override
    public final void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (owned) {
            free();
        }
    }

    /** Releases the native allocation. Called at most once, only for owned memory. */
    protected abstract void free();
}
