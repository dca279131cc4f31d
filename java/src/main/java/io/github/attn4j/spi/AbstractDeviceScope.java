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
import io.github.attn4j.UnsupportedFeatureException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * A device scope: owns allocations, stages host tensors, orders its work after other scopes'
 * writes, and leaves the launches to {@link #launch(Plan, OpParams)} on device tensors only.
 *
 * <p>One policy for everything a scope keeps between calls: nothing grows with the number of
 * distinct calls. Host staging goes through one bounded direct buffer (borrowed from a small
 * process-wide pool, chunked copies); the workspace and the launch-argument arena are single
 * buffers grown to the largest call seen; the device copies of host tensors are those of the last
 * host-tensor call, reused by the next where they fit and freed where they do not.
 *
 * <p>A scope is for one thread at a time. Using it from two threads at once is detected and
 * refused with {@link IllegalStateException}; handing it from one thread to another is fine.
 */
public abstract class AbstractDeviceScope implements Scope {
    /** Host staging chunk: copies larger than this go through the staging buffer in pieces. */
    static final int STAGING_CHUNK = 4 << 20;
    /** Staging buffers kept for reuse across scopes (each at most {@link #STAGING_CHUNK}). */
    private static final ArrayBlockingQueue<ByteBuffer> STAGING_POOL = new ArrayBlockingQueue<>(4);

    /** Slots of {@link #grown(int, long)}. */
    protected static final int WORKSPACE = 0, ARGS = 1, COPY = 2;

    private final AbstractDeviceBackend backend;
    private final List<DeviceMemory> owned = new ArrayList<>(); // guarded by itself
    private final DeviceMemory[] grown = new DeviceMemory[3];
    private final String origin;
    private final AtomicReference<Thread> user = new AtomicReference<>();
    private int depth;
    private ByteBuffer staging;
    /** The device copies of the last host-tensor call, reused by the next one of the same sizes. */
    private final List<DeviceMemory> stagedCache = new ArrayList<>();
    /** Guards {@link #closed} against another scope's {@link #fenceFrom} during close. */
    private final Object fenceLock = new Object();
    private volatile boolean closed;

    /** A scope registered with {@code backend}, which reports it if it is never closed. */
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
        synchronized (owned) {
            return owned.size();
        }
    }

    @Override
    public Backend backend() {
        return backend;
    }

    /** Throws {@link IllegalStateException} when this scope or its backend is closed. */
    protected void checkOpen() {
        if (closed) {
            throw new IllegalStateException("scope on " + backend.device().id() + " is closed");
        }
        backend.checkOpen();
    }

    /** Marks the calling thread as this scope's user; refuses a second thread while one is inside. */
    private void enter() {
        Thread me = Thread.currentThread();
        if (!user.compareAndSet(null, me) && user.get() != me) {
            Thread other = user.get();
            throw new IllegalStateException("scope on " + backend.device().id() + " is in use by thread '"
                    + (other == null ? "?" : other.getName()) + "' and was called from thread '" + me.getName()
                    + "' at the same time: a scope is for one thread at a time (open one scope per thread)");
        }
        depth++;
    }

    private void exit() {
        if (--depth == 0) {
            user.set(null);
        }
    }

    // ------------------------------------------------------------------ what a backend provides

    /** Allocates {@code bytes} of device memory (never 0: callers round up). */
    protected abstract DeviceMemory allocateBytes(long bytes);

    /** Host to device from the staging buffer's remaining bytes; {@code src} may be reused on return. */
    protected abstract void writeChunk(ByteBuffer src, DeviceMemory dst, long dstByte);

    /** Device to host into the staging buffer's remaining bytes; returns when they are written. */
    protected abstract void readChunk(DeviceMemory src, long srcByte, ByteBuffer dst);

    /** Device to device, asynchronous on this scope's stream. */
    protected abstract void copyOnDevice(DeviceMemory src, long srcByte, DeviceMemory dst, long dstByte, long bytes);

    /** Runs a plan whose tensors are all on this backend's device ({@code params}: the same call, for library steps). */
    protected abstract void launch(Plan plan, OpParams params);

    /** Makes this scope's later work wait for everything already issued on {@code other}'s stream. */
    protected abstract void waitFor(AbstractDeviceScope other);

    /** Releases the stream/queue the scope owns (not wrapped ones). */
    protected void releaseStream() {}

    // ------------------------------------------------------------------ memory

    @Override
    public Tensor allocate(DType dtype, int... shape) {
        enter();
        try {
            checkOpen();
            Check.notNull("dtype", dtype);
            long bytes = Math.max(1, Tensor.byteSize(dtype, shape));
            DeviceMemory m = allocateBytes(bytes);
            synchronized (owned) {
                owned.add(m);
            }
            return Tensor.of(m, dtype, shape, Tensor.contiguousStrides(shape), 0);
        } finally {
            exit();
        }
    }

    /**
     * A device buffer of at least {@code bytes} kept in {@code slot} ({@link #WORKSPACE}, {@link #ARGS})
     * and grown, never shrunk, to the largest request: bounded by the largest call, not their number.
     */
    protected DeviceMemory grown(int slot, long bytes) {
        DeviceMemory m = grown[slot];
        if (m == null || m.byteSize() < bytes) {
            if (m != null) {
                free(m); // later work is ordered after the frees by the driver / queue
            }
            m = allocateBytes(Math.max(bytes, 1 << 16));
            synchronized (owned) {
                owned.add(m);
            }
            grown[slot] = m;
        }
        return m;
    }

    /** Frees one allocation of this scope early. */
    protected void free(DeviceMemory m) {
        boolean had;
        synchronized (owned) {
            had = owned.remove(m);
        }
        if (had) {
            m.close();
        }
    }

    private ByteBuffer staging() {
        if (staging == null) {
            staging = STAGING_POOL.poll();
            if (staging == null) {
                staging = ByteBuffer.allocateDirect(STAGING_CHUNK).order(ByteOrder.LITTLE_ENDIAN);
            }
        }
        return staging.clear();
    }

    /** Host to device through the staging buffer, in chunks. */
    private void copyToDevice(HostMemory src, long srcByte, DeviceMemory dst, long dstByte, long bytes) {
        for (long done = 0; done < bytes; done += STAGING_CHUNK) {
            int n = (int) Math.min(STAGING_CHUNK, bytes - done);
            ByteBuffer b = staging().limit(n);
            src.read(srcByte + done, b);
            b.flip();
            writeChunk(b, dst, dstByte + done);
        }
    }

    /** Device to host through the staging buffer, in chunks; returns when the host bytes are written. */
    private void copyToHost(DeviceMemory src, long srcByte, HostMemory dst, long dstByte, long bytes) {
        for (long done = 0; done < bytes; done += STAGING_CHUNK) {
            int n = (int) Math.min(STAGING_CHUNK, bytes - done);
            ByteBuffer b = staging().limit(n);
            readChunk(src, srcByte + done, b);
            b.position(0).limit(n);
            dst.write(dstByte + done, b);
        }
    }

    // ------------------------------------------------------------------ ordering across scopes

    /** Before this scope touches {@code m}: wait for the other scope that last wrote it, if any. */
    private void orderAfterWriter(Memory m) {
        if (m instanceof DeviceMemory dm && dm.lastWriter() instanceof AbstractDeviceScope w && w != this) {
            w.fenceFrom(this);
        }
    }

    /** Called on the writer scope by a reader scope: the reader waits for the writer's issued work. */
    private void fenceFrom(AbstractDeviceScope reader) {
        synchronized (fenceLock) {
            if (!closed) {
                reader.waitFor(this); // a closed scope drained its stream when it closed
            }
        }
    }

    private void markWritten(Memory m) {
        if (m instanceof DeviceMemory dm) {
            dm.markWrittenBy(this);
        }
    }

    // ------------------------------------------------------------------ copy and run

    @Override
    public void copy(Tensor src, Tensor dst) {
        enter();
        try {
            checkOpen();
            Check.notNull("src", src);
            Check.notNull("dst", dst);
            Check.arg(src.dtype() == dst.dtype(), "dst.dtype", src.dtype(), dst.dtype());
            Check.arg(Arrays.equals(src.shape(), dst.shape()), "dst.shape", Arrays.toString(src.shape()),
                    Arrays.toString(dst.shape()));
            checkMemory(() -> "src", src.memory());
            checkMemory(() -> "dst", dst.memory());
            if (src.numel() == 0) {
                return;
            }
            Memory s = src.memory();
            Memory d = dst.memory();
            boolean contiguous = src.isContiguous() && dst.isContiguous();
            if (!contiguous && !(s.isHost() && d.isHost())) {
                Check.arg(src.rank() <= 4, "src.rank", "at most 4 for a strided device copy", src.rank());
                Check.arg(!OpParams.overlaps(src, dst) || OpParams.sameView(src, dst), "dst",
                        "a view disjoint from src", "an overlapping view");
            }
            orderAfterWriter(s);
            orderAfterWriter(d);
            if (contiguous) {
                copyContiguous(src, dst);
            } else if (s.isHost() && d.isHost()) {
                ByteArrayCopy.strided(src, dst);
            } else if (s instanceof DeviceMemory && d instanceof DeviceMemory) {
                copyKernel(src, dst);
            } else if (s instanceof HostMemory) {
                Tensor hs = src.isContiguous() ? src : gather(src);
                if (dst.isContiguous()) {
                    copyContiguous(hs, dst);
                } else {
                    Tensor tmp = scratch(dst);
                    copyContiguous(hs, tmp);
                    copyKernel(tmp, dst);
                }
            } else {
                Tensor ds = src;
                if (!src.isContiguous()) {
                    ds = scratch(src);
                    copyKernel(src, ds);
                }
                if (dst.isContiguous()) {
                    copyContiguous(ds, dst);
                } else {
                    Tensor hc = gather(dst); // a contiguous host tensor of dst's shape
                    copyContiguous(ds, hc);
                    ByteArrayCopy.strided(hc, dst);
                }
            }
            markWritten(d);
        } finally {
            exit();
        }
    }

    /** One transfer between two contiguous views. */
    private void copyContiguous(Tensor src, Tensor dst) {
        long bytes = src.numel() * src.dtype().bytes();
        long so = src.offset() * src.dtype().bytes();
        long d0 = dst.offset() * dst.dtype().bytes();
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

    /** A contiguous host copy of a host view (or a fresh contiguous host tensor of its shape). */
    private static Tensor gather(Tensor t) {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(Math.max(1, t.numel() * t.dtype().bytes())))
                .order(ByteOrder.LITTLE_ENDIAN);
        Tensor c = Tensor.of(HostMemory.of(b), t.dtype(), t.shape(), Tensor.contiguousStrides(t.shape()), 0);
        if (t.memory().isHost()) {
            ByteArrayCopy.strided(t, c);
        }
        return c;
    }

    /** A contiguous device tensor of {@code like}'s shape in the scope's copy buffer (grown, reused). */
    private Tensor scratch(Tensor like) {
        DeviceMemory m = grown(COPY, Math.max(1, like.numel() * like.dtype().bytes()));
        return Tensor.of(m, like.dtype(), like.shape(), Tensor.contiguousStrides(like.shape()), 0);
    }

    /** The strided copy kernel between two device views. */
    private void copyKernel(Tensor src, Tensor dst) {
        Plan plan = backend.copyPlan(src, dst);
        if (!plan.supported()) {
            throw new UnsupportedFeatureException(backend.device().id() + " cannot copy between these views: "
                    + plan.reason());
        }
        launch(plan, null);
    }

    /** Open, and host memory or this backend's device memory; {@code name} is built only when the check fails. */
    private void checkMemory(Supplier<String> name, Memory m) {
        m.checkOpen();
        if (m instanceof DeviceMemory dm && !dm.usableBy(backend)) {
            Check.arg(false, name.get() + ".memory", "host memory or device memory of this " + backend.name()
                    + " backend (" + backend.device().id() + ", same context)", dm.describe());
        }
    }

    @Override
    public void run(OpParams params) {
        enter();
        try {
            checkOpen();
            List<Tensor> all = new ArrayList<>(params.inputs());
            all.addAll(params.outputs());
            boolean anyHost = false;
            for (Tensor t : all) { // before anything native: planning may build a kernel
                checkMemory(() -> "tensor " + t, t.memory());
                anyHost |= t.memory().isHost();
            }
            Plan plan = backend.planForRun(params);
            if (!plan.supported()) {
                throw new UnsupportedFeatureException(backend.device().id() + " does not support this " + params.op()
                        + " call: " + plan.reason());
            }
            if (!anyHost) {
                for (Tensor t : all) {
                    orderAfterWriter(t.memory());
                }
                launch(plan, params);
                for (Tensor t : params.outputs()) {
                    markWritten(t.memory());
                }
                return;
            }
            runStaged(plan, params, all);
        } finally {
            exit();
        }
    }

    /**
     * Stages host tensors: one device buffer per distinct host array or buffer (so in-place views
     * stay in place, also when the caller wrapped one array twice), launched, copied back. The
     * device buffers are kept for the next host-tensor call, which reuses those that fit (a model
     * step repeats its shapes) and frees the rest: the scope holds at most one call's copies.
     */
    private void runStaged(Plan plan, OpParams params, List<Tensor> all) {
        Map<Object, DeviceMemory> staged = new IdentityHashMap<>();
        List<DeviceMemory> spare = new ArrayList<>(stagedCache);
        stagedCache.clear();
        boolean finished = false;
        try {
            for (Tensor t : all) {
                if (t.memory() instanceof HostMemory h && !staged.containsKey(stageKey(h))) {
                    DeviceMemory d = takeFitting(spare, Math.max(1, h.byteSize()));
                    staged.put(stageKey(h), d);
                    copyToDevice(h, 0, d, 0, h.byteSize());
                } else {
                    orderAfterWriter(t.memory());
                }
            }
            java.util.function.UnaryOperator<Tensor> toDevice = t -> {
                DeviceMemory d = t.memory() instanceof HostMemory h ? staged.get(stageKey(h)) : null;
                return d == null ? t : Tensor.of(d, t.dtype(), t.shape(), t.strides(), t.offset());
            };
            launch(plan.mapTensors(toDevice), params.mapTensors(toDevice));
            Map<Object, Boolean> done = new IdentityHashMap<>();
            for (Tensor t : params.outputs()) {
                if (t.memory() instanceof HostMemory h && done.put(stageKey(h), Boolean.TRUE) == null) {
                    copyToHost(staged.get(stageKey(h)), 0, h, 0, h.byteSize());
                } else {
                    markWritten(t.memory());
                }
            }
            synchronize();
            finished = true;
        } finally {
            for (DeviceMemory d : spare) {
                d.close();
            }
            for (DeviceMemory d : staged.values()) {
                if (finished) {
                    stagedCache.add(d); // the call synchronized: nothing still uses it
                } else {
                    d.close();
                }
            }
        }
    }

    /** The smallest spare buffer of at least {@code bytes} (removed from {@code spare}), else a new one. */
    private DeviceMemory takeFitting(List<DeviceMemory> spare, long bytes) {
        int best = -1;
        for (int i = 0; i < spare.size(); i++) {
            long size = spare.get(i).byteSize();
            if (size >= bytes && (best < 0 || size < spare.get(best).byteSize())) {
                best = i;
            }
        }
        return best >= 0 ? spare.remove(best) : allocateBytes(bytes);
    }

    /** What identifies host memory for staging: the Java array when there is one. */
    private static Object stageKey(HostMemory h) {
        return h.array() != null ? h.array() : h;
    }

    /** The scope's tensors and grown buffers; the kept device copies of host tensors are not counted. */
    @Override
    public long allocatedBytes() {
        long n = 0;
        synchronized (owned) {
            for (DeviceMemory m : owned) {
                n += m.byteSize();
            }
        }
        return n;
    }

    /** Waits for the stream, ignoring failures (close, backend shutdown). */
    protected abstract void drainQuietly();

    @Override
    public void close() {
        synchronized (fenceLock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            drainQuietly();
            List<DeviceMemory> all;
            synchronized (owned) {
                all = new ArrayList<>(owned);
                owned.clear();
            }
            for (DeviceMemory m : all) {
                m.close();
            }
            for (DeviceMemory m : stagedCache) {
                m.close();
            }
            stagedCache.clear();
            releaseStream();
            if (staging != null) {
                STAGING_POOL.offer(staging); // dropped when the pool is full
                staging = null;
            }
        } finally {
            backend.unregister(this);
        }
    }
}
