package io.github.attn4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.DeviceInfo;
import io.github.attn4j.cli.VerifyTargets.Kind;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The decision of what {@code verify} runs, on made-up devices reports (no native call). */
class VerifyTargetsTest {
    static final DeviceInfo CPU = DeviceInfo.available("cpu", 0, "float64 reference", Map.of());
    static final DeviceInfo NO_CUDA = DeviceInfo.unavailable("cuda", "no NVIDIA driver: libcuda.so.1 could not be loaded");
    static final DeviceInfo NO_OPENCL = DeviceInfo.unavailable("opencl", "no OpenCL platform or device found");
    static final DeviceInfo POCL = DeviceInfo.available("opencl", 0, "pthread-haswell", Map.of());
    static final DeviceInfo GPU = DeviceInfo.available("cuda", 0, "H200", Map.of());

    @Test
    void referenceAloneIsNoDevice() {
        VerifyTargets t = VerifyTargets.choose(null, List.of(NO_CUDA, NO_OPENCL, CPU));
        assertEquals(Kind.NO_DEVICE, t.kind());
        assertEquals(List.of(), t.specs());
        assertEquals(List.of(NO_CUDA, NO_OPENCL), t.unavailable());
        assertEquals(Kind.NO_DEVICE, VerifyTargets.choose(null, List.of(CPU)).kind());
        assertEquals(Kind.NO_DEVICE, VerifyTargets.choose(null, List.of()).kind());
    }

    @Test
    void devicesRunAndTheReferenceIsSkipped() {
        VerifyTargets t = VerifyTargets.choose(null, List.of(NO_CUDA, POCL, CPU));
        assertEquals(Kind.DEVICES, t.kind());
        assertEquals(List.of("opencl:0"), t.specs());
        assertEquals(List.of(NO_CUDA), t.unavailable());
        assertEquals(List.of("cuda:0", "opencl:0"), VerifyTargets.choose(null, List.of(GPU, POCL, CPU)).specs());
    }

    @Test
    void namedBackends() {
        List<DeviceInfo> none = List.of(NO_CUDA, NO_OPENCL, CPU);
        VerifyTargets self = VerifyTargets.choose("cpu", none);
        assertEquals(Kind.SELF_CHECK, self.kind());
        assertEquals(List.of("cpu"), self.specs());
        assertEquals(Kind.SELF_CHECK, VerifyTargets.choose("CPU:0", none).kind());

        VerifyTargets noOpencl = VerifyTargets.choose("opencl", none);
        assertEquals(Kind.NO_DEVICE, noOpencl.kind());
        assertEquals(List.of(NO_OPENCL), noOpencl.unavailable());
        assertEquals(Kind.NO_DEVICE, VerifyTargets.choose("cuda:1", none).kind());

        VerifyTargets pocl = VerifyTargets.choose("opencl:0", List.of(NO_CUDA, POCL, CPU));
        assertEquals(Kind.DEVICES, pocl.kind());
        assertEquals(List.of("opencl:0"), pocl.specs());
        // A name no provider has is left to Attn4j.open, whose error lists the known names.
        assertEquals(List.of("nosuch"), VerifyTargets.choose("nosuch", none).specs());
    }

    @Test
    void noDeviceReportSaysWhatHappenedAndWhatToDo() {
        String r = VerifyTargets.choose(null, List.of(NO_CUDA, NO_OPENCL, CPU)).noDeviceReport(null);
        assertTrue(r.startsWith("verify: no device backend is available here; only the float64 reference (cpu) is present.\n"), r);
        assertTrue(r.contains("  cuda     unavailable: no NVIDIA driver"), r);
        assertTrue(r.contains("  opencl   unavailable: no OpenCL platform or device found"), r);
        assertTrue(r.contains("Nothing was verified"), r);
        assertTrue(r.contains("sudo apt-get install pocl-opencl-icd ocl-icd-libopencl1"), r);
        assertTrue(r.contains("NVIDIA driver"), r);
        assertTrue(r.endsWith("verify: NO DEVICE, nothing verified (exit 3)\n"), r);
        assertTrue(VerifyTargets.choose("opencl", List.of(NO_OPENCL, CPU)).noDeviceReport("opencl")
                .startsWith("verify: backend opencl has no available device.\n"));
    }
}
