package io.github.attn4j.spi;

import io.github.attn4j.Backend;
import io.github.attn4j.Check;
import io.github.attn4j.DType;
import io.github.attn4j.DeviceMemory;
import io.github.attn4j.HostMemory;
import io.github.attn4j.Memory;
import io.github.attn4j.OpParams;
import io.github.attn4j.Scope;
import io.github.attn4j.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A device scope: owns allocations, stages host tensors, checks that device tensors belong to this
 * backend, and leaves the op itself to {@link #launch(OpParams)} on device tensors only.
 */
public abstract class AbstractDeviceScope implements Scope {
    private final AbstractDeviceBackend backend;
    private final List<DeviceMemory> owned = new ArrayList<>();
    private final String origin;
    private boolean closed;

    protected AbstractDeviceScope(AbstractDeviceBackend backend) {
        this.backend = backend;
        this.origin = Leaks.tracking() ? "opened at " + stack() : "(run with -Dattn4j.leaks=fail to see where it was opened)";
        backend.register(this);
    }

    private static String stack() {
        StackTraceElement[] st = new Throwable().getStackTrace();
        return Arrays.stream(st).skip(2).limit(6).map(String::valueOf).reduce((a, b) -> a + " <- " + b).orElse("?");
    }

    String origin() {
        return origin;
    }

    int allocationCount() {
        return owned.size();
    }

    @Override
    public Backend backend() {
        return backend;
    }

    protected void checkOpen() {
        if (closed) {
            throw new IllegalStateException("scope on " + backend.device().id() + " is closed");
        }
        backend.checkOpen();
    }

    /** Allocates {@code bytes} of device memory (never 0: callers round up). */
    protected abstract DeviceMemory allocateBytes(long bytes);

    /** Host to device; may be asynchronous only if the host bytes are copied first. */
    protected abstract void copyToDevice(HostMemory src, long srcByte, DeviceMemory dst, long dstByte, long bytes);

    /** Device to host; returns when the host bytes are written. */
    protected abstract void copyToHost(DeviceMemory src, long srcByte, HostMemory dst, long dstByte, long bytes);

    /** Device to device, asynchronous on this scope's stream. */
    protected abstract void copyOnDevice(DeviceMemory src, long srcByte, DeviceMemory dst, long dstByte, long bytes);

    /** Runs an op whose tensors are all on this backend's device. */
    protected abstract void launch(OpParams p);

    /** Releases the stream/queue the scope owns (not wrapped ones). */
    protected void releaseStream() {}

    @Override
    public Tensor allocate(DType dtype, int... shape) {
        checkOpen();
        long bytes = Math.max(1, Tensor.byteSize(dtype, shape)); // checks the shape before anything is allocated
        DeviceMemory m = allocateBytes(bytes);
        owned.add(m);
        return Tensor.of(m, dtype, shape, Tensor.contiguousStrides(shape), 0);
    }

    /** Device memory owned by this scope, for workspaces. */
    protected DeviceMemory workspace(long bytes) {
        checkOpen();
        DeviceMemory m = allocateBytes(Math.max(1, bytes));
        owned.add(m);
        return m;
    }

    /** Frees one allocation of this scope early. */
    protected void free(DeviceMemory m) {
        if (owned.remove(m)) {
            m.close();
        }
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        checkOpen();
        Check.arg(src.dtype() == dst.dtype(), "dst.dtype", src.dtype(), dst.dtype());
        Check.arg(Arrays.equals(src.shape(), dst.shape()), "dst.shape", Arrays.toString(src.shape()),
                Arrays.toString(dst.shape()));
        Check.arg(src.isContiguous(), "src", "a contiguous tensor", Arrays.toString(src.strides()));
        Check.arg(dst.isContiguous(), "dst", "a contiguous tensor", Arrays.toString(dst.strides()));
        checkMemory("src", src.memory());
        checkMemory("dst", dst.memory());
        long bytes = src.numel() * src.dtype().bytes();
        long so = src.offset() * src.dtype().bytes();
        long d0 = dst.offset() * dst.dtype().bytes();
        if (bytes == 0) {
            return;
        }
        Memory s = src.memory();
        Memory d = dst.memory();
        if (s instanceof HostMemory hs && d instanceof DeviceMemory dd) {
            copyToDevice(hs, so, dd, d0, bytes);
        } else if (s instanceof DeviceMemory ds && d instanceof HostMemory hd) {
            copyToHost(ds, so, hd, d0, bytes);
        } else if (s instanceof DeviceMemory ds && d instanceof DeviceMemory dd) {
            copyOnDevice(ds, so, dd, d0, bytes);
        } else {
            ByteArrayCopy.hostToHost((HostMemory) s, so, (HostMemory) d, d0, bytes);
        }
    }

    private void checkMemory(String name, Memory m) {
        m.checkOpen();
        if (m instanceof DeviceMemory dm) {
            Check.arg(dm.usableBy(backend), name + ".memory", "host memory or device memory of this " + backend.name()
                    + " backend (" + backend.device().id() + ", same context)", dm.describe());
        }
    }

    @Override
    public void run(OpParams params) {
        checkOpen();
        backend.supports(params).require(backend.device().id(), params);
        List<Tensor> all = new ArrayList<>(params.inputs());
        all.addAll(params.outputs());
        boolean anyHost = false;
        for (Tensor t : all) {
            checkMemory("tensor " + t, t.memory());
            anyHost |= t.memory().isHost();
        }
        if (!anyHost) {
            launch(params);
            return;
        }
        // Stage: one device buffer per distinct host array or buffer (so in-place views stay in place,
        // also when the caller wrapped one array twice).
        Map<Object, DeviceMemory> staged = new IdentityHashMap<>();
        try {
            for (Tensor t : all) {
                if (t.memory() instanceof HostMemory h && !staged.containsKey(stageKey(h))) {
                    DeviceMemory d = allocateBytes(Math.max(1, h.byteSize()));
                    staged.put(stageKey(h), d);
                    copyToDevice(h, 0, d, 0, h.byteSize());
                }
            }
            OpParams dev = params.mapTensors(t -> {
                DeviceMemory d = t.memory() instanceof HostMemory h ? staged.get(stageKey(h)) : null;
                return d == null ? t : Tensor.of(d, t.dtype(), t.shape(), t.strides(), t.offset());
            });
            launch(dev);
            Map<Object, Boolean> done = new IdentityHashMap<>();
            for (Tensor t : params.outputs()) {
                if (t.memory() instanceof HostMemory h && done.put(stageKey(h), Boolean.TRUE) == null) {
                    copyToHost(staged.get(stageKey(h)), 0, h, 0, h.byteSize());
                }
            }
            synchronize();
        } finally {
            for (DeviceMemory d : staged.values()) {
                d.close();
            }
        }
    }

    /** What identifies host memory for staging: the Java array when there is one. */
    private static Object stageKey(HostMemory h) {
        return h.array() != null ? h.array() : h;
    }

    @Override
    public long allocatedBytes() {
        long n = 0;
        for (DeviceMemory m : owned) {
            n += m.byteSize();
        }
        return n;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            for (DeviceMemory m : owned) {
                m.close();
            }
            owned.clear();
            releaseStream();
        } finally {
            backend.unregister(this);
        }
    }
}
