package io.github.attn4j.opencl;

import io.github.attn4j.BackendException;
import io.github.attn4j.DeviceInfo;
import io.github.attn4j.OpParams;
import io.github.attn4j.spi.AbstractDeviceBackend;
import io.github.attn4j.spi.Plan;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_program;
import org.jocl.cl_mem;

/**
 * The OpenCL backend: one device, one context, a cache of built programs. Open it through
 * {@code Attn4j.open("opencl:N")} (device N counted over all platforms), or wrap a context the
 * caller already has with {@link #wrap(cl_context, cl_device_id)}. The caller's buffers and
 * queues are used without copying: {@link #wrap(cl_mem, long)}, {@link #newScope(cl_command_queue)}.
 */
public final class OpenClBackend extends AbstractDeviceBackend {
    /** The logger of the {@code io.github.attn4j.opencl} package. */
    static final System.Logger LOG = System.getLogger("io.github.attn4j.opencl");

    private final OpenClDevice dev;
    private final cl_context context;
    private final boolean ownsContext;
    private final ProgramCache programs;
    private final cl_mem dummy;
    private final OpenClOptions options;
    private final OpenClPlans.Tune tune;
    /** {@link #kernel}'s resolved kernels (a handful per op and dtype in use). */
    private final Map<KernelKey, Kernel> kernels = new ConcurrentHashMap<>();
    /**
     * Whether program builds are logged (DEBUG), read once at open. Without it, builds pass {@code -w}:
     * compilers such as PoCL's clang print "N warnings generated." to the process's stderr otherwise.
     */
    private final boolean logBuilds = LOG.isLoggable(System.Logger.Level.DEBUG);
    /** The programs whose build was logged. */
    private final Set<String> loggedBuilds = ConcurrentHashMap.newKeySet();
    /**
     * A CPU device of PoCL: launches go through {@link PoclLaunchGate} (the system property
     * {@code attn4j.opencl.launchGate=false}, read at open, turns it off to show the defect it avoids).
     */
    private final boolean poclCpu;

    OpenClBackend(OpenClDevice dev, OpenClOptions options) {
        this(dev, createContext(dev), true, options);
    }

    private OpenClBackend(OpenClDevice dev, cl_context context, boolean ownsContext, OpenClOptions options) {
        super(DeviceInfo.available("opencl", dev.index(), dev.name(), dev.details()));
        this.dev = dev;
        this.options = options;
        this.tune = OpenClPlans.Tune.of(dev.cpu(), options);
        this.context = context;
        this.ownsContext = ownsContext;
        this.poclCpu = dev.cpu() && dev.platformName().contains("Portable Computing Language")
                && !"false".equals(System.getProperty("attn4j.opencl.launchGate"));
        this.programs = new ProgramCache(context, dev.id());
        int[] err = new int[1];
        // Passed for absent optional buffers (the flags tell the kernel not to read them).
        this.dummy = Cl.created(CL.clCreateBuffer(context, CL.CL_MEM_READ_WRITE, 64, null, err), err,
                "clCreateBuffer(64 B placeholder)");
    }

    private static cl_context createContext(OpenClDevice dev) {
        int[] err = new int[1];
        org.jocl.cl_context_properties props = new org.jocl.cl_context_properties();
        props.addProperty(CL.CL_CONTEXT_PLATFORM, dev.platform());
        return Cl.created(CL.clCreateContext(props, 1, new cl_device_id[] {dev.id()}, null, null, err), err,
                "clCreateContext(" + dev.name() + ")");
    }

    /**
     * A backend on the caller's context and device. The context is not released on close; the
     * device is reported as {@code opencl:-1} unless it is found among the enumerated devices.
     */
    public static OpenClBackend wrap(cl_context context, cl_device_id device) {
        return wrap(context, device, OpenClOptions.fromSystemProperties());
    }

    /** {@link #wrap(cl_context, cl_device_id)} with explicit options. */
    public static OpenClBackend wrap(cl_context context, cl_device_id device, OpenClOptions options) {
        OpenClDevice d = null;
        for (OpenClDevice x : OpenClDevice.all()) {
            if (x.id().equals(device)) {
                d = x;
            }
        }
        if (d == null) {
            throw new BackendException("OpenCL: the device to wrap is not among the enumerated devices");
        }
        return new OpenClBackend(d, context, false, options);
    }

    /** The caller's buffer of {@code bytes} as device memory of this backend; never released by attn4j. */
    public OpenClMemory wrap(cl_mem mem, long bytes) {
        checkOpen();
        long[] size = new long[1];
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(8).order(java.nio.ByteOrder.nativeOrder());
        Cl.check(CL.clGetMemObjectInfo(mem, CL.CL_MEM_SIZE, org.jocl.Sizeof.size_t, Pointer.to(b), size),
                "clGetMemObjectInfo(CL_MEM_SIZE)");
        long actual = b.getLong(0);
        if (bytes > actual) {
            throw new IllegalArgumentException("bytes: expected at most the buffer's size " + actual + ", got " + bytes);
        }
        return new OpenClMemory(mem, context, bytes, false);
    }

    /** The context this backend allocates in and builds for. */
    public cl_context context() {
        return context;
    }

    /** The device. */
    public cl_device_id deviceId() {
        return dev.id();
    }

    OpenClDevice dev() {
        return dev;
    }

    ProgramCache programs() {
        return programs;
    }

    cl_mem dummy() {
        return dummy;
    }

    /** The options this backend was opened with. */
    public OpenClOptions options() {
        return options;
    }

    @Override
    protected Plan plan(OpParams params) {
        return OpenClPlans.plan(params, dev, tune, this::kernelLimit);
    }

    /** Builds the program of every step (process-wide cache: a step already built costs a lookup). */
    @Override
    protected void build(Plan plan) {
        for (Plan.Step step : plan.steps()) {
            program(step);
        }
    }

    @Override
    protected Plan copyPlan(io.github.attn4j.Tensor src, io.github.attn4j.Tensor dst) {
        return OpenClPlans.copy(src, dst, dev, this::kernelLimit);
    }

    /** Whether launches go through {@link PoclLaunchGate}: a CPU device of PoCL. */
    boolean poclCpu() {
        return poclCpu;
    }

    /** The build options of a step: the language version, the options' extras, then its constants. */
    String buildOptions(Plan.Step step) {
        // -w: no compiler warnings on stderr; with DEBUG logging they are kept and logged with the build log.
        StringBuilder b = new StringBuilder(logBuilds ? "-cl-std=CL1.2" : "-cl-std=CL1.2 -w");
        if (!options.buildOptions().isEmpty()) {
            b.append(' ').append(options.buildOptions());
        }
        step.constants().forEach((k, v) -> b.append(" -D").append(k).append('=').append(v));
        return b.toString();
    }

    /** The program of a step (built once per process and options). */
    cl_program program(Plan.Step step) {
        return kernel(step).program();
    }

    /** What a kernel is identified by: its source module, entry and compile-time constants. */
    private record KernelKey(String module, String entry, Map<String, Object> constants) {
        KernelKey(Plan.Step step) {
            this(step.module(), step.entry(), step.constants());
        }
    }

    /**
     * A step's kernel as this backend launches it, resolved once per (module, entry, constants): the built
     * program, the program's identity for {@link PoclLaunchGate} (module and build options) and the kernel's
     * {@code CL_KERNEL_WORK_GROUP_SIZE} on this device. One instance per kernel, so scopes can key their
     * kernel objects by identity.
     */
    record Kernel(String entry, cl_program program, String gateProgram, long workGroupLimit) {}

    /**
     * The kernel of {@code step}: built (once per process, {@link ProgramCache}) and resolved when the planner
     * first asks for its work-group limit, then a map lookup, so that a call's host side builds no option
     * strings.
     */
    Kernel kernel(Plan.Step step) {
        KernelKey key = new KernelKey(step);
        Kernel k = kernels.get(key);
        if (k != null) {
            return k;
        }
        String options = buildOptions(step);
        cl_program program = program(step, options);
        k = new Kernel(step.entry(), program, step.module() + "|" + options, workGroupLimit(program, step.entry()));
        Kernel raced = kernels.putIfAbsent(key, k);
        return raced != null ? raced : k;
    }

    /** The program of a step whose {@link #buildOptions} the caller has already made. */
    cl_program program(Plan.Step step, String options) {
        String source = step.module() + ".cl";
        if (!logBuilds) {
            return programs.get(source, options);
        }
        long t0 = System.nanoTime();
        cl_program p = programs.get(source, options);
        if (loggedBuilds.add(source + " " + options)) {
            double ms = (System.nanoTime() - t0) / 1e6;
            String log = Cl.buildLog(p, dev.id());
            LOG.log(System.Logger.Level.DEBUG, () -> String.format(java.util.Locale.ROOT,
                    "OpenCL: built %s for %s with [%s] in %.0f ms; build log: %s", source, dev.name(), options, ms,
                    log.isEmpty() ? "(empty)" : "\n" + log));
        }
        return p;
    }

    /** {@code CL_KERNEL_WORK_GROUP_SIZE} of a step's kernel (builds the program on first use). */
    private long kernelLimit(Plan.Step step) {
        return kernel(step).workGroupLimit();
    }

    /** {@code CL_KERNEL_WORK_GROUP_SIZE} of {@code entry} in a built program on this device. */
    private long workGroupLimit(cl_program program, String entry) {
        int[] err = new int[1];
        cl_kernel k = Cl.created(CL.clCreateKernel(program, entry, err), err, "clCreateKernel(" + entry + ")");
        try {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(8).order(java.nio.ByteOrder.nativeOrder());
            Cl.check(CL.clGetKernelWorkGroupInfo(k, dev.id(), CL.CL_KERNEL_WORK_GROUP_SIZE, org.jocl.Sizeof.size_t,
                    Pointer.to(b), null), "clGetKernelWorkGroupInfo(" + entry + ")");
            return b.getLong(0);
        } finally {
            CL.clReleaseKernel(k);
        }
    }

    /** A scope with its own in-order queue, with profiling enabled for {@link OpenClScope#timer()}. */
    @Override
    public OpenClScope newScope() {
        checkOpen();
        int[] err = new int[1];
        @SuppressWarnings("deprecation")
        cl_command_queue q = Cl.created(CL.clCreateCommandQueue(context, dev.id(), CL.CL_QUEUE_PROFILING_ENABLE, err),
                err, "clCreateCommandQueue(" + dev.name() + ")");
        return new OpenClScope(this, q, true);
    }

    /** A scope on the caller's in-order queue (of this backend's context); the queue is not released on close. */
    public OpenClScope newScope(cl_command_queue queue) {
        checkOpen();
        return new OpenClScope(this, queue, false);
    }

    @Override
    protected void release() {
        programs.release();
        CL.clReleaseMemObject(dummy);
        if (ownsContext) {
            Cl.check(CL.clReleaseContext(context), "clReleaseContext");
        }
    }
}
