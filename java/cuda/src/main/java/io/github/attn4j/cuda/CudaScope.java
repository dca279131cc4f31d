package io.github.attn4j.cuda;

import io.github.attn4j.DeviceMemory;
import io.github.attn4j.OpParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.spi.AbstractDeviceScope;
import io.github.attn4j.spi.Arg;
import io.github.attn4j.spi.Plan;
import io.github.attn4j.spi.Workspace;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

/**
 * A CUDA scope: one stream (its own, non-blocking, or the caller's) and the memory it allocated.
 * Every step of a plan is queued on the stream; only host copies and {@link #synchronize()} wait.
 * The per-batch length arrays of a call are copied into the scope's argument arena (one buffer,
 * grown to the largest call, overwritten in stream order), so nothing accumulates across calls.
 */
public final class CudaScope extends AbstractDeviceScope {
    private final CudaBackend backend;
    private final CUstream stream;
    private final boolean ownStream;
    private CublasGemm cublas;
    /** Host side of the argument arena (length arrays), reused across launches. */
    private ByteBuffer argsHost = ByteBuffer.allocateDirect(1 << 12).order(ByteOrder.LITTLE_ENDIAN);
    /** Alignment of each length array inside the arena. */
    private static final int ARG_ALIGN = 256;

    CudaScope(CudaBackend backend, CUstream callerStream) {
        super(backend);
        this.backend = backend;
        if (callerStream != null) {
            this.stream = callerStream;
            this.ownStream = false;
        } else {
            this.stream = new CUstream();
            this.ownStream = true;
            CudaCheck.check(JCudaDriver.cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        }
    }

    /** The stream this scope issues its work on. */
    public CUstream stream() {
        return stream;
    }

    @Override
    protected DeviceMemory allocateBytes(long bytes) {
        return CudaMemory.owned(backend, backend.allocate(bytes), bytes);
    }

    private static CudaMemory mem(DeviceMemory m) {
        return (CudaMemory) m;
    }

    @Override
    protected void writeChunk(ByteBuffer src, DeviceMemory dst, long dstByte) {
        int n = src.remaining();
        try (CudaBackend.Ctx c = backend.enter()) {
            // Pageable source: the driver stages it before returning, so src may be reused after.
            CudaCheck.check(JCudaDriver.cuMemcpyHtoDAsync(mem(dst).at(dstByte), Pointer.to(src), n, stream),
                    "cuMemcpyHtoDAsync(" + n + " B)");
        }
    }

    @Override
    protected void readChunk(DeviceMemory src, long srcByte, ByteBuffer dst) {
        int n = dst.remaining();
        try (CudaBackend.Ctx c = backend.enter()) {
            CudaCheck.check(JCudaDriver.cuMemcpyDtoHAsync(Pointer.to(dst), mem(src).at(srcByte), n, stream),
                    "cuMemcpyDtoHAsync(" + n + " B)");
            CudaCheck.check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
        }
    }

    @Override
    protected void copyOnDevice(DeviceMemory src, long srcByte, DeviceMemory dst, long dstByte, long bytes) {
        try (CudaBackend.Ctx c = backend.enter()) {
            CudaCheck.check(JCudaDriver.cuMemcpyDtoDAsync(mem(dst).at(dstByte), mem(src).at(srcByte), bytes, stream),
                    "cuMemcpyDtoDAsync(" + bytes + " B)");
        }
    }

    @Override
    protected void waitFor(AbstractDeviceScope other) {
        try (CudaBackend.Ctx c = backend.enter()) {
            CUevent ev = new CUevent();
            CudaCheck.check(JCudaDriver.cuEventCreate(ev, CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate");
            try {
                CudaCheck.check(JCudaDriver.cuEventRecord(ev, ((CudaScope) other).stream), "cuEventRecord (cross-scope fence)");
                CudaCheck.check(JCudaDriver.cuStreamWaitEvent(stream, ev, 0), "cuStreamWaitEvent (cross-scope fence)");
            } finally {
                JCudaDriver.cuEventDestroy(ev); // released once the device has passed it
            }
        }
    }

    @Override
    public void synchronize() {
        checkOpen();
        try (CudaBackend.Ctx c = backend.enter()) {
            CudaCheck.check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
        }
    }

    /** {@code cuda-events} on this scope's stream. */
    @Override
    public io.github.attn4j.DeviceTimer timer() {
        checkOpen();
        return new CudaTimer(backend, stream);
    }

    @Override
    protected void drainQuietly() {
        try (CudaBackend.Ctx c = backend.enterForRelease()) {
            JCudaDriver.cuStreamSynchronize(stream);
        } catch (RuntimeException e) {
            // the backend is closing; nothing to wait for
        }
    }

    @Override
    protected void releaseStream() {
        try (CudaBackend.Ctx c = backend.enterForRelease()) {
            if (cublas != null) {
                cublas.close();
                cublas = null;
            }
            if (ownStream) {
                JCudaDriver.cuStreamDestroy(stream);
            }
        } catch (RuntimeException e) {
            // the backend is closing; nothing to release into
        }
    }

    // ------------------------------------------------------------------ launches

    @Override
    protected void launch(Plan plan, OpParams params) {
        try (CudaBackend.Ctx c = backend.enter()) {
            CudaMemory ws = plan.workspaceBytes() > 0 ? mem(grown(WORKSPACE, plan.workspaceBytes())) : null;
            CudaMemory argArena = uploadLengths(plan);
            long[] argOffset = {0};
            for (Plan.Step step : plan.steps()) {
                if (step.module().equals(CudaPlans.CUBLAS)) {
                    library(step, params, ws);
                } else {
                    kernel(step, ws, argArena, argOffset);
                }
            }
        }
    }

    /**
     * Copies every length array of the plan into the argument arena, in the order the steps bind
     * them, with one stream-ordered copy: later than the kernels of earlier calls that read the
     * arena, earlier than this call's kernels.
     */
    private CudaMemory uploadLengths(Plan plan) {
        long bytes = 0;
        for (Plan.Step s : plan.steps()) {
            for (Arg a : s.args()) {
                if (a instanceof Arg.Ints i && i.values() != null) {
                    bytes += align(4L * i.values().length);
                }
            }
        }
        if (bytes == 0) {
            return null;
        }
        if (argsHost.capacity() < bytes) {
            argsHost = ByteBuffer.allocateDirect(Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN);
        }
        argsHost.clear();
        for (Plan.Step s : plan.steps()) {
            for (Arg a : s.args()) {
                if (a instanceof Arg.Ints i && i.values() != null) {
                    int start = argsHost.position();
                    for (int v : i.values()) {
                        argsHost.putInt(v);
                    }
                    argsHost.position(start + (int) align(4L * i.values().length));
                }
            }
        }
        argsHost.flip();
        CudaMemory arena = mem(grown(ARGS, bytes));
        CudaCheck.check(JCudaDriver.cuMemcpyHtoDAsync(arena.pointer(), Pointer.to(argsHost), bytes, stream),
                "cuMemcpyHtoDAsync(length arrays, " + bytes + " B)");
        return arena;
    }

    private static long align(long b) {
        return (b + ARG_ALIGN - 1) / ARG_ALIGN * ARG_ALIGN;
    }

    private CUdeviceptr placeholder() {
        return mem(grown(ARGS, ARG_ALIGN)).pointer();
    }

    /** cuLaunchKernel's kernelParams: one pointer per argument, in order. */
    private void kernel(Plan.Step step, CudaMemory ws, CudaMemory argArena, long[] argOffset) {
        List<Arg> args = step.args();
        Pointer[] ps = new Pointer[args.size()];
        for (int i = 0; i < ps.length; i++) {
            Arg a = args.get(i);
            if (a instanceof Arg.Struct s) {
                ps[i] = Pointer.to(s.bytes());
            } else if (a instanceof Arg.I32 x) {
                ps[i] = Pointer.to(new int[] {x.value()});
            } else if (a instanceof Arg.Ints in) {
                if (in.values() == null) {
                    ps[i] = Pointer.to(placeholder());
                } else {
                    ps[i] = Pointer.to(argArena.at(argOffset[0]));
                    argOffset[0] += align(4L * in.values().length);
                }
            } else {
                Tensor t = ((Arg.Buffer) a).tensor();
                CUdeviceptr p = t == null ? placeholder() : t.memory() instanceof Workspace ? ws.pointer()
                        : mem((DeviceMemory) t.memory()).pointer();
                ps[i] = Pointer.to(p);
            }
        }
        long[] g = step.grid();
        CUfunction f = backend.modules().function(step.module(), step.entry(), step.smemBytes());
        int r = JCudaDriver.cuLaunchKernel(f, (int) g[0], (int) g[1], (int) g[2], (int) step.block()[0], 1, 1,
                step.smemBytes(), stream, Pointer.to(ps), null);
        CudaCheck.checkLaunch(r, step.describe());
    }

    private CublasGemm cublas() {
        if (cublas == null) {
            cublas = new CublasGemm(stream);
        }
        return cublas;
    }

    /** A cuBLAS step of the unfused SDPA or of the additive projections. */
    private void library(Plan.Step step, OpParams params, CudaMemory ws) {
        List<Arg> args = step.args();
        switch (step.entry()) {
            case "qk" -> cublas().qk((SdpaParams) params, ws);
            case "pv" -> cublas().pv((SdpaParams) params, ws);
            case "projection" -> cublas().projection(((Arg.Buffer) args.get(0)).tensor(), ((Arg.Buffer) args.get(1)).tensor(),
                    onWorkspace(((Arg.Buffer) args.get(2)).tensor(), ws));
            case "gemm" -> cublas().gemm((io.github.attn4j.GemmParams) params);
            default -> throw new IllegalStateException("cuda: unknown library step " + step.entry());
        }
    }

    /** A workspace view as a view of the scope's real workspace buffer. */
    private static Tensor onWorkspace(Tensor t, CudaMemory ws) {
        return Tensor.of(ws, t.dtype(), t.shape(), t.strides(), t.offset());
    }
}
