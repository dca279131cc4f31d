package io.github.attn4j.cuda;

import io.github.attn4j.DeviceMemory;
import java.lang.ref.Cleaner;
import jcuda.driver.CUdeviceptr;

/**
 * CUDA device memory: owned (allocated by a scope, freed by {@link #close()}) or wrapped (the
 * caller's {@link CUdeviceptr}; never freed by attn4j). For owned memory a {@link Cleaner} frees
 * an allocation that became unreachable without being closed: a safety net only, the scope's
 * close is the mechanism and reports such leaks in tests.
 */
public final class CudaMemory extends DeviceMemory {
    private static final Cleaner CLEANER = Cleaner.create();

    private final CUdeviceptr ptr;
    private final CudaBackend backend;
    private final Cleaner.Cleanable cleanable;
    private final boolean aligned16;

    private CudaMemory(CudaBackend backend, CUdeviceptr ptr, long bytes, boolean owned, boolean aligned16) {
        super("cuda", bytes, owned);
        this.backend = backend;
        this.ptr = ptr;
        this.aligned16 = aligned16;
        this.cleanable = owned ? CLEANER.register(this, new Free(backend, ptr)) : null;
    }

    /** Memory from cuMemAlloc (256-byte aligned). */
    static CudaMemory owned(CudaBackend backend, CUdeviceptr ptr, long bytes) {
        return new CudaMemory(backend, ptr, bytes, true, true);
    }

    /** The caller's memory; {@code address} is its device address (read once, for alignment checks). */
    static CudaMemory wrapped(CudaBackend backend, CUdeviceptr ptr, long bytes, long address) {
        return new CudaMemory(backend, ptr, bytes, false, (address & 15) == 0);
    }

    /** Whether the base address is a multiple of 16 bytes (the tensor-core kernel's cp.async rows). */
    boolean aligned16() {
        return aligned16;
    }

    /** The device pointer (of the whole allocation). */
    public CUdeviceptr pointer() {
        checkOpen();
        return ptr;
    }

    /** A pointer {@code bytes} into this memory. */
    CUdeviceptr at(long bytes) {
        return bytes == 0 ? pointer() : pointer().withByteOffset(bytes);
    }

    CudaBackend cudaBackend() {
        return backend;
    }

    /** Only a backend on the same device (the same primary context). */
    @Override
    public boolean usableBy(io.github.attn4j.Backend b) {
        return b instanceof CudaBackend c && (c == backend || c.sameContext(backend));
    }

    @Override
    protected void free() {
        cleanable.clean();
    }

    /** Frees with the backend's context current; never throws from the cleaner thread. */
    private record Free(CudaBackend backend, CUdeviceptr ptr) implements Runnable {
        @Override
        public void run() {
            backend.freeQuietly(ptr);
        }
    }
}
