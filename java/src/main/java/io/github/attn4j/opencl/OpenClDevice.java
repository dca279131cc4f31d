package io.github.attn4j.opencl;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jocl.CL;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * One OpenCL device and the limits attn4j sizes its kernels by. Devices are numbered in the
 * order platforms, then devices within a platform, are reported; {@code opencl:N} is the N-th.
 */
record OpenClDevice(int index, cl_platform_id platform, cl_device_id id, String name, String platformName,
        String version, boolean cpu, long maxWorkGroupSize, long localMemBytes, boolean localIsGlobal,
        long maxAllocBytes, long globalMemBytes, int computeUnits, int preferredFloatWidth) {

    /**
     * Every device of every platform. Throws (CL errors, LinkageError) when OpenCL is missing. The
     * first call initialises the OpenCL drivers (PoCL starts its compiler here), so it runs under
     * {@link SignalHandlers#guarded}.
     */
    static List<OpenClDevice> all() {
        return SignalHandlers.guarded(OpenClDevice::enumerate);
    }

    private static List<OpenClDevice> enumerate() {
        int[] n = new int[1];
        int st = CL.clGetPlatformIDs(0, null, n);
        if (st == -1001 /* CL_PLATFORM_NOT_FOUND_KHR: an ICD loader without any platform */ || n[0] == 0) {
            return List.of();
        }
        Cl.check(st, "clGetPlatformIDs");
        cl_platform_id[] ps = new cl_platform_id[n[0]];
        Cl.check(CL.clGetPlatformIDs(ps.length, ps, null), "clGetPlatformIDs");
        List<OpenClDevice> out = new ArrayList<>();
        for (cl_platform_id p : ps) {
            int[] nd = new int[1];
            int s = CL.clGetDeviceIDs(p, CL.CL_DEVICE_TYPE_ALL, 0, null, nd);
            if (s == CL.CL_DEVICE_NOT_FOUND || nd[0] == 0) {
                continue;
            }
            Cl.check(s, "clGetDeviceIDs");
            cl_device_id[] ds = new cl_device_id[nd[0]];
            Cl.check(CL.clGetDeviceIDs(p, CL.CL_DEVICE_TYPE_ALL, ds.length, ds, null), "clGetDeviceIDs");
            String pname = Cl.platformString(p, CL.CL_PLATFORM_NAME);
            for (cl_device_id d : ds) {
                out.add(describe(out.size(), p, pname, d));
            }
        }
        return out;
    }

    static OpenClDevice describe(int index, cl_platform_id p, String pname, cl_device_id d) {
        long type = Cl.deviceLong(d, CL.CL_DEVICE_TYPE, 8);
        return new OpenClDevice(index, p, d, Cl.deviceString(d, CL.CL_DEVICE_NAME), pname,
                Cl.deviceString(d, CL.CL_DEVICE_VERSION), (type & CL.CL_DEVICE_TYPE_CPU) != 0,
                Cl.deviceSizeT(d, CL.CL_DEVICE_MAX_WORK_GROUP_SIZE), Cl.deviceLong(d, CL.CL_DEVICE_LOCAL_MEM_SIZE, 8),
                Cl.deviceLong(d, CL.CL_DEVICE_LOCAL_MEM_TYPE, 4) == CL.CL_GLOBAL,
                Cl.deviceLong(d, CL.CL_DEVICE_MAX_MEM_ALLOC_SIZE, 8), Cl.deviceLong(d, CL.CL_DEVICE_GLOBAL_MEM_SIZE, 8),
                (int) Cl.deviceLong(d, CL.CL_DEVICE_MAX_COMPUTE_UNITS, 4),
                (int) Cl.deviceLong(d, CL.CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, 4));
    }

    /** The same device with a smaller work-group limit (a kernel's own CL_KERNEL_WORK_GROUP_SIZE). */
    OpenClDevice withMaxWorkGroupSize(long limit) {
        return new OpenClDevice(index, platform, id, name, platformName, version, cpu, Math.min(limit, maxWorkGroupSize),
                localMemBytes, localIsGlobal, maxAllocBytes, globalMemBytes, computeUnits, preferredFloatWidth);
    }

    /** Facts for the devices report. */
    Map<String, String> details() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("platform", platformName);
        m.put("version", version);
        m.put("type", cpu ? "CPU" : "GPU/accelerator");
        m.put("compute units", String.valueOf(computeUnits));
        m.put("max work-group size", String.valueOf(maxWorkGroupSize));
        m.put("local memory", String.format(Locale.ROOT, "%d KiB%s", localMemBytes / 1024, localIsGlobal ? " (emulated)" : ""));
        m.put("global memory", String.format(Locale.ROOT, "%.1f GiB", globalMemBytes / (double) (1L << 30)));
        m.put("max allocation", String.format(Locale.ROOT, "%.1f GiB", maxAllocBytes / (double) (1L << 30)));
        m.put("signal handlers", SignalHandlers.status());
        return m;
    }
}
