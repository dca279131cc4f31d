package io.github.attn4j.opencl;

import io.github.attn4j.Backend;
import io.github.attn4j.BackendException;
import io.github.attn4j.BackendProvider;
import io.github.attn4j.DeviceInfo;
import java.util.ArrayList;
import java.util.List;

/** ServiceLoader provider of the OpenCL backend (rank 200: after CUDA, before the CPU reference). */
public final class OpenClProvider implements BackendProvider {
    @Override
    public String name() {
        return "opencl";
    }

    @Override
    public int rank() {
        return 200;
    }

    /** Every OpenCL device of every platform; one unavailable entry with the reason when there is none. */
    @Override
    public List<DeviceInfo> devices() {
        try {
            List<OpenClDevice> ds = OpenClDevice.all();
            if (ds.isEmpty()) {
                return List.of(DeviceInfo.unavailable("opencl", "no OpenCL platform or device found"
                        + " (install an ICD, e.g. pocl-opencl-icd for CPUs)"));
            }
            List<DeviceInfo> out = new ArrayList<>();
            for (OpenClDevice d : ds) {
                out.add(DeviceInfo.available("opencl", d.index(), d.name(), d.details()));
            }
            return out;
        } catch (LinkageError e) {
            return List.of(DeviceInfo.unavailable("opencl", "the OpenCL library could not be loaded ("
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + "); install libOpenCL.so.1 and an ICD"));
        } catch (RuntimeException e) {
            return List.of(DeviceInfo.unavailable("opencl", "OpenCL device query failed: " + e.getMessage()));
        }
    }

    /** Opens device {@code deviceIndex} with the options of the {@code attn4j.opencl.*} system properties. */
    @Override
    public Backend open(int deviceIndex) {
        return open(deviceIndex, OpenClOptions.fromSystemProperties());
    }

    /** Opens device {@code deviceIndex} (counted over all platforms) with explicit options. */
    public OpenClBackend open(int deviceIndex, OpenClOptions options) {
        List<OpenClDevice> ds;
        try {
            ds = OpenClDevice.all();
        } catch (LinkageError e) {
            throw new BackendException("OpenCL is unavailable: " + e, e);
        }
        if (deviceIndex < 0 || deviceIndex >= ds.size()) {
            throw new IllegalArgumentException("deviceIndex: expected 0.." + (ds.size() - 1) + ", got " + deviceIndex);
        }
        return new OpenClBackend(ds.get(deviceIndex), options);
    }
}
