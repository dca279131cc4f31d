package io.github.attn4j.cuda;

import io.github.attn4j.BackendException;
import io.github.attn4j.spi.KernelBuilds;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;
import jcuda.nvrtc.JNvrtc;
import jcuda.nvrtc.nvrtcProgram;
import jcuda.nvrtc.nvrtcResult;

/**
 * Loads kernel modules by file name ({@code sdpa}, {@code softmax}, ... any
 * {@code kernels/cuda/<name>.cu}) in this order:
 * <ol>
 *   <li>the embedded fatbin ({@code cuModuleLoadData});
 *   <li>else the {@code .cu} from the jar compiled with NVRTC for the device's architecture
 *       (needs {@code libnvrtc.so.12}; a missing library is a {@link LinkageError}, caught);
 *   <li>else a {@link BackendException} naming both failures and how to fix them.
 * </ol>
 * {@link CudaOptions#loader()} ({@code -Dattn4j.cuda.loader=fatbin|nvrtc}) restricts the order to one
 * source (tests use it).
 * Callers hold the backend's context current. Modules and functions are cached.
 */
final class CudaModules {
    private final DeviceProps dev;
    private final String loader;
    private final Map<String, CUmodule> modules = new ConcurrentHashMap<>();
    private final Map<String, String> how = new ConcurrentHashMap<>();
    private final Map<String, CUfunction> functions = new ConcurrentHashMap<>();
    private final Map<String, Integer> smemSet = new ConcurrentHashMap<>();

    CudaModules(DeviceProps dev, String loader) {
        this.dev = dev;
        this.loader = loader;
    }

    /** How each loaded module was obtained ("fatbin" or "nvrtc compute_90"). */
    Map<String, String> sources() {
        return Map.copyOf(how);
    }

    synchronized CUmodule module(String name) {
        CUmodule m = modules.get(name);
        if (m != null) {
            return m;
        }
        long t0 = System.nanoTime();
        try {
            return load(name);
        } finally {
            KernelBuilds.record(System.nanoTime() - t0);
        }
    }

    private CUmodule load(String name) {
        List<String> failures = new ArrayList<>();
        if (!loader.equals("nvrtc")) {
            byte[] fat = KernelSources.fatbin(name);
            if (fat == null) {
                failures.add("no embedded " + name + ".fatbin (the jar was built without nvcc)");
            } else {
                CUmodule mod = new CUmodule();
                int r = JCudaDriver.cuModuleLoadData(mod, fat);
                if (r == CUresult.CUDA_SUCCESS) {
                    return remember(name, mod, "fatbin");
                }
                failures.add("embedded " + name + ".fatbin: cuModuleLoadData gave " + CudaCheck.name(r)
                        + " (no SASS for sm_" + dev.ccMajor() + dev.ccMinor()
                        + " and a driver too old for its PTX: the PTX needs a CUDA 13 driver)");
            }
        }
        if (!loader.equals("fatbin")) {
            try {
                String ptx = nvrtc(name);
                CUmodule mod = new CUmodule();
                int r = JCudaDriver.cuModuleLoadData(mod, ptx);
                if (r == CUresult.CUDA_SUCCESS) {
                    return remember(name, mod, "nvrtc " + arch());
                }
                failures.add("NVRTC PTX of " + name + ".cu: cuModuleLoadData gave " + CudaCheck.name(r)
                        + " (the driver is older than libnvrtc)");
            } catch (LinkageError e) {
                failures.add("NVRTC is not available (" + CudaCheck.oneLine(e) + "): install the CUDA 12 runtime libraries so that"
                        + " libnvrtc.so.12 is on the library path");
            } catch (BackendException e) {
                failures.add(e.getMessage());
            }
        }
        throw new BackendException("cuda: cannot load kernel module '" + name + "': " + String.join("; ", failures)
                + ". Fix: use a jar built with nvcc on the PATH (embeds fatbins for sm_75..sm_90), or install"
                + " libnvrtc.so.12 with a driver that supports it.");
    }

    private CUmodule remember(String name, CUmodule m, String source) {
        modules.put(name, m);
        how.put(name, source);
        return m;
    }

    /** The virtual architecture NVRTC compiles for: the device's, capped at what NVRTC 12 knows. */
    String arch() {
        int cc = dev.ccMajor() * 10 + dev.ccMinor();
        return "compute_" + Math.min(cc, 90);
    }

    private String nvrtc(String name) {
        String src = KernelSources.source(name);
        if (src == null) {
            throw new BackendException("no " + name + ".cu in the jar");
        }
        Map<String, String> hdr = KernelSources.headers(src);
        nvrtcProgram prog = new nvrtcProgram();
        nvrtcCheck(JNvrtc.nvrtcCreateProgram(prog, src, name + ".cu", hdr.size(), hdr.values().toArray(new String[0]),
                hdr.keySet().toArray(new String[0])), "nvrtcCreateProgram " + name);
        try {
            String[] opts = {"--gpu-architecture=" + arch(), "-std=c++17", "-default-device"};
            int r = JNvrtc.nvrtcCompileProgram(prog, opts.length, opts);
            if (r != nvrtcResult.NVRTC_SUCCESS) {
                String[] log = new String[1];
                JNvrtc.nvrtcGetProgramLog(prog, log);
                throw new BackendException("NVRTC failed to compile " + name + ".cu (" + nvrtcResult.stringFor(r) + "): "
                        + log[0]);
            }
            String[] ptx = new String[1];
            nvrtcCheck(JNvrtc.nvrtcGetPTX(prog, ptx), "nvrtcGetPTX " + name);
            return ptx[0];
        } finally {
            JNvrtc.nvrtcDestroyProgram(prog);
        }
    }

    private static void nvrtcCheck(int r, String what) {
        if (r != nvrtcResult.NVRTC_SUCCESS) {
            throw new BackendException(what + " failed: " + nvrtcResult.stringFor(r));
        }
    }

    /** A kernel, with its dynamic shared memory limit raised to {@code smemBytes} when above 48 KiB. */
    CUfunction function(String module, String entry, int smemBytes) {
        String key = module + "/" + entry;
        CUfunction f = functions.get(key);
        if (f == null) {
            synchronized (this) {
                f = functions.get(key);
                if (f == null) {
                    f = new CUfunction();
                    CudaCheck.check(JCudaDriver.cuModuleGetFunction(f, module(module), entry),
                            "cuModuleGetFunction " + entry + " in " + module);
                    functions.put(key, f);
                }
            }
        }
        if (smemBytes > 48 * 1024 && smemSet.getOrDefault(key, 0) < smemBytes) {
            synchronized (this) {
                CudaCheck.check(JCudaDriver.cuFuncSetAttribute(f,
                        CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smemBytes),
                        "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES=" + smemBytes + ") on " + entry);
                smemSet.put(key, smemBytes);
            }
        }
        return f;
    }

    void unloadAll() {
        for (CUmodule m : modules.values()) {
            JCudaDriver.cuModuleUnload(m);
        }
        modules.clear();
        functions.clear();
    }
}
