package io.github.attn4j.spi;

import io.github.attn4j.Backend;
import io.github.attn4j.DeviceInfo;
import io.github.attn4j.OpParams;
import io.github.attn4j.Support;
import io.github.attn4j.Tensor;
import io.github.attn4j.UnsupportedFeatureException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Shared backend bookkeeping: open scopes, close-once, leak reports; and the one planning entry
 * point, {@link #plan(OpParams)}, that {@code supports()}, {@code workspaceBytes()} and every
 * scope's launch read.
 */
public abstract class AbstractDeviceBackend implements Backend {
    private final DeviceInfo device;
    private final Set<AbstractDeviceScope> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /** A backend for {@code device}, which names it in {@link #name()} and in its messages. */
    protected AbstractDeviceBackend(DeviceInfo device) {
        this.device = device;
    }

    @Override
    public String name() {
        return device.backend();
    }

    @Override
    public DeviceInfo device() {
        return device;
    }

    /** True once {@link #close()} has begun. */
    public boolean isClosed() {
        return closed;
    }

    /** Throws {@link IllegalStateException} when closed. */
    public void checkOpen() {
        if (closed) {
            throw new IllegalStateException(device.id() + " backend is closed");
        }
    }

    /**
     * How this backend runs a call, or why it cannot: a pure function of the call, the device and
     * the options the backend was opened with. Called once per {@code supports()},
     * {@code workspaceBytes()} and {@code Scope.run()}.
     */
    protected abstract Plan plan(OpParams params);

    /**
     * The strided copy {@code dst = src} on this device (both device tensors of one shape and dtype,
     * rank at most 4): the plan of the {@code attn_copy_u<bits>} kernel.
     */
    protected abstract Plan copyPlan(Tensor src, Tensor dst);

    /** {@link #plan} on an open backend; a failure to plan is a reason, never an exception. */
    final Plan planOrReason(OpParams params) {
        if (closed) {
            return Plan.no(device.id() + " backend is closed");
        }
        try {
            return plan(params);
        } catch (RuntimeException e) {
            return Plan.no(Plan.PLANNING_FAILED + e);
        }
    }

    /**
     * {@link #plan} for a launch: like {@link #planOrReason} but a failure to plan (a kernel that
     * does not build, with its log) propagates as the exception it is.
     */
    final Plan planForRun(OpParams params) {
        checkOpen();
        return plan(params);
    }

    /** Plans each call and builds every kernel its plan launches ({@link #build(Plan)}). */
    @Override
    public final void prepare(OpParams... params) {
        for (OpParams p : params) {
            Plan plan = planForRun(p);
            if (!plan.supported()) {
                throw new UnsupportedFeatureException(device.id() + " does not support this " + p.op() + " call: "
                        + plan.reason());
            }
            build(plan);
        }
    }

    /**
     * Builds (or loads) every kernel that {@code plan}'s steps launch, as the first launch would, so
     * that launching it afterwards builds nothing. Library steps (cuBLAS) have nothing to build.
     *
     * @param plan a supported plan of this backend
     */
    protected abstract void build(Plan plan);

    @Override
    public final Support supports(OpParams params) {
        return planOrReason(params).support();
    }

    @Override
    public final long workspaceBytes(OpParams params) {
        Plan p = planOrReason(params);
        return p.supported() ? p.workspaceBytes() : 0;
    }

    void register(AbstractDeviceScope s) {
        checkOpen();
        open.add(s);
    }

    void unregister(AbstractDeviceScope s) {
        open.remove(s);
    }

    @Override
    public final void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<String> leaks = new ArrayList<>();
        for (AbstractDeviceScope s : List.copyOf(open)) {
            long bytes = s.allocatedBytes();
            leaks.add("a scope " + s.origin() + " still held " + bytes + " B in " + s.allocationCount() + " allocations");
            s.close();
        }
        try {
            release();
        } finally {
            if (!leaks.isEmpty()) {
                Leaks.report("Memory was leaked on " + device.id() + ": " + String.join("; ", leaks));
            }
        }
    }

    /** Releases the backend's own native resources (contexts, modules, programs). */
    protected abstract void release();
}
