package io.github.attn4j.cuda;

import io.github.attn4j.Backend;
import io.github.attn4j.BackendException;
import io.github.attn4j.BackendProvider;
import io.github.attn4j.DeviceInfo;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * ServiceLoader provider of the CUDA backend (rank 300). {@link #devices()} never throws and never
 * crashes the JVM: a missing {@code libcuda.so.1} or JCuda native library surfaces as a
 * {@link LinkageError}, which is caught, and driver errors such as {@code CUDA_ERROR_NO_DEVICE}
 * become an unavailable entry with the reason.
 */
public final class CudaProvider implements BackendProvider {
    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public int rank() {
        return 300;
    }

    @Override
    public List<DeviceInfo> devices() {
        try {
            return probe();
        } catch (LinkageError e) {
            return List.of(DeviceInfo.unavailable("cuda", linkageReason(e)));
        } catch (RuntimeException e) {
            return List.of(DeviceInfo.unavailable("cuda", e.toString()));
        }
    }

    /**
     * A one-line reason for a native loading failure. JCuda's messages carry nested stack traces;
     * this keeps the line that names the missing library ("libcuda.so.1: cannot open shared object
     * file") when there is one.
     */
    static String linkageReason(Throwable e) {
        String msg = String.valueOf(e.getMessage());
        String detail = msg.lines().filter(l -> l.contains("cannot open shared object file")).findFirst()
                .map(l -> l.substring(l.indexOf(": ") + 2).trim()).orElse(msg.lines().findFirst().orElse(""));
        boolean noDriver = msg.contains("libcuda.so");
        return (noDriver ? "no NVIDIA driver: libcuda.so.1 could not be loaded"
                : "the JCuda native libraries could not be loaded") + " (" + e.getClass().getSimpleName() + ": " + detail + ")";
    }

    /** The reason for an unavailable entry given a cuInit/cuDeviceGetCount result, or null when fine. */
    static String initFailure(int result, int count) {
        if (result == CUresult.CUDA_ERROR_NO_DEVICE || (result == CUresult.CUDA_SUCCESS && count == 0)) {
            return "no CUDA device (CUDA_ERROR_NO_DEVICE)";
        }
        if (result != CUresult.CUDA_SUCCESS) {
            return "cuInit failed: " + CudaCheck.name(result) + " (is the NVIDIA driver installed and new enough for CUDA 12?)";
        }
        return null;
    }

    private static List<DeviceInfo> probe() {
        int r = JCudaDriver.cuInit(0);
        int[] count = {0};
        if (r == CUresult.CUDA_SUCCESS) {
            r = JCudaDriver.cuDeviceGetCount(count);
        }
        String why = initFailure(r, count[0]);
        if (why != null) {
            return List.of(DeviceInfo.unavailable("cuda", why));
        }
        int[] driver = {0};
        JCudaDriver.cuDriverGetVersion(driver);
        String gemm = CublasGemm.probe();
        List<DeviceInfo> out = new ArrayList<>();
        for (int i = 0; i < count[0]; i++) {
            try {
                DeviceProps p = props(i);
                Map<String, String> d = new LinkedHashMap<>();
                d.put("compute capability", p.cc());
                d.put("multiprocessors", Integer.toString(p.multiprocessors()));
                d.put("memory", String.format(Locale.ROOT, "%.1f GiB", p.totalMemory() / (double) (1L << 30)));
                d.put("driver", (driver[0] / 1000) + "." + (driver[0] % 1000 / 10));
                d.put("gemm provider", gemm == null ? "cublas (libcublas.so.12)" : "kernel (" + gemm + ")");
                String targets = KernelSources.fatbinTargets("sdpa");
                d.put("kernels", KernelSources.hasFatbin("sdpa") ? "embedded fatbin (" + (targets != null ? targets
                        : "sm_75..sm_90 + compute_90 PTX") + ")" : "NVRTC from the jar's sources (no fatbin embedded)");
                out.add(DeviceInfo.available("cuda", i, p.name(), d));
            } catch (RuntimeException e) {
                out.add(new DeviceInfo("cuda", i, "?", false, e.getMessage(), Map.of()));
            }
        }
        return out;
    }

    static DeviceProps props(int index) {
        CUdevice dev = new CUdevice();
        CudaCheck.check(JCudaDriver.cuDeviceGet(dev, index), "cuDeviceGet(" + index + ")");
        byte[] name = new byte[256];
        CudaCheck.check(JCudaDriver.cuDeviceGetName(name, name.length, dev), "cuDeviceGetName");
        int n = 0;
        while (n < name.length && name[n] != 0) {
            n++;
        }
        long[] mem = {0};
        CudaCheck.check(JCudaDriver.cuDeviceTotalMem(mem, dev), "cuDeviceTotalMem");
        return new DeviceProps(new String(name, 0, n, StandardCharsets.US_ASCII),
                attr(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                attr(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
                attr(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT),
                attr(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK),
                attr(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN),
                attr(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR),
                attr(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK),
                attr(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR),
                attr(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR), mem[0]);
    }

    private static int attr(CUdevice dev, int a) {
        int[] v = {0};
        CudaCheck.check(JCudaDriver.cuDeviceGetAttribute(v, a, dev), "cuDeviceGetAttribute(" + a + ")");
        return v[0];
    }

    @Override
    public Backend open(int deviceIndex) {
        return open(deviceIndex, CudaOptions.fromSystemProperties());
    }

    /** Opens device {@code deviceIndex} with explicit options (e.g. the unfused SDPA path). */
    public CudaBackend open(int deviceIndex, CudaOptions options) {
        try {
            for (DeviceInfo d : devices()) {
                if (d.index() == deviceIndex && d.available()) {
                    CUdevice dev = new CUdevice();
                    CudaCheck.check(JCudaDriver.cuDeviceGet(dev, deviceIndex), "cuDeviceGet(" + deviceIndex + ")");
                    return new CudaBackend(deviceIndex, dev, props(deviceIndex), options, d);
                }
                if (!d.available() && (d.index() < 0 || d.index() == deviceIndex)) {
                    throw new BackendException("cuda:" + deviceIndex + " is unavailable: " + d.reason());
                }
            }
            throw new BackendException("cuda: no device " + deviceIndex);
        } catch (LinkageError e) {
            throw new BackendException("cuda is unavailable: " + e, e);
        }
    }
}
