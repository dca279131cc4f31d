package io.github.attn4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.github.attn4j.Attn4j;
import io.github.attn4j.Backend;
import io.github.attn4j.BackendException;
import io.github.attn4j.BackendProvider;
import io.github.attn4j.DeviceInfo;
import java.util.List;
import jcuda.driver.CUresult;
import org.junit.jupiter.api.Test;

/** The CUDA backend's discovery: registered, ranked, and when there is no device, reported cleanly. */
class CudaAvailabilityTest {
    static boolean cudaPresent() {
        return new CudaProvider().devices().stream().anyMatch(DeviceInfo::available);
    }

    @Test
    void providerIsRegisteredWithRank300() {
        BackendProvider p = Attn4j.provider("cuda");
        assertEquals(300, p.rank());
        assertEquals(CudaProvider.class, p.getClass());
        assertEquals("cuda", Attn4j.providers().get(0).name(), "cuda ranks first");
    }

    @Test
    void devicesNeverThrowsAndGivesAReason() {
        List<DeviceInfo> d = new CudaProvider().devices(); // twice: the second call sees a NoClassDefFoundError
        List<DeviceInfo> d2 = new CudaProvider().devices();
        assertFalse(d.isEmpty());
        assertEquals(d.size(), d2.size());
        for (DeviceInfo i : d) {
            assertEquals("cuda", i.backend());
            if (!i.available()) {
                assertFalse(i.reason().isBlank(), "an unavailable entry says why");
            }
        }
    }

    @Test
    void withoutADeviceOpenFallsBackAndOpeningCudaExplains() {
        assumeFalse(cudaPresent(), "a CUDA device is present: the absence path does not apply");
        DeviceInfo d = new CudaProvider().devices().get(0);
        assertFalse(d.available());
        assertEquals(-1, d.index());
        assertTrue(d.reason().contains("libcuda") || d.reason().contains("JCuda") || d.reason().contains("CUDA_ERROR_NO_DEVICE")
                || d.reason().contains("cuInit"), d.reason());
        assertFalse(d.reason().contains("\n"), "one line: " + d.reason());
        String report = Attn4j.devicesReport();
        assertTrue(report.contains("cuda") && report.contains("unavailable: "), report);
        if (System.getProperty("attn4j.backend") == null && System.getenv("ATTN4J_BACKEND") == null) {
            try (Backend b = Attn4j.open()) {
                assertNotEquals("cuda", b.name());
            }
        }
        BackendException e = assertThrows(BackendException.class, () -> Attn4j.open("cuda"));
        assertTrue(e.getMessage().contains("unavailable"), e.getMessage());
        BackendException e2 = assertThrows(BackendException.class, () -> new CudaProvider().open(0));
        assertTrue(e2.getMessage().contains("unavailable"), e2.getMessage());
    }

    @Test
    void linkageReasonsAreOneLine() {
        String r = CudaProvider.linkageReason(new UnsatisfiedLinkError("Error while loading native library \"JCudaDriver\"\n"
                + "---(start of nested stack traces)---\njava.lang.UnsatisfiedLinkError: /tmp/libJCudaDriver.so: libcuda.so.1:"
                + " cannot open shared object file: No such file or directory\n\tat x.y(Z.java:1)"));
        assertFalse(r.contains("\n"), r);
        assertTrue(r.startsWith("no NVIDIA driver: libcuda.so.1 could not be loaded"), r);
        assertTrue(r.contains("cannot open shared object file"), r);
        String n = CudaProvider.linkageReason(new NoClassDefFoundError("Could not initialize class jcuda.driver.JCudaDriver"));
        assertTrue(n.contains("NoClassDefFoundError"), n);
    }

    @Test
    void initFailuresMapToReasons() {
        assertTrue(CudaProvider.initFailure(CUresult.CUDA_ERROR_NO_DEVICE, 0).contains("CUDA_ERROR_NO_DEVICE"));
        assertTrue(CudaProvider.initFailure(CUresult.CUDA_SUCCESS, 0).contains("CUDA_ERROR_NO_DEVICE"));
        assertNull(CudaProvider.initFailure(CUresult.CUDA_SUCCESS, 2));
        assertTrue(CudaProvider.initFailure(CUresult.CUDA_ERROR_UNKNOWN, 0).contains("cuInit failed"));
    }

    @Test
    void launchErrorsNameStatusKernelAndShape() {
        String m = CudaCheck.message(CUresult.CUDA_ERROR_INVALID_VALUE, io.github.attn4j.spi.Plan.Step.of("sdpa",
                "attn_sdpa_fwd_f32_d64", new long[] {16, 4, 1}, new long[] {128, 1, 1}, 29000, java.util.List.of())
                .describe());
        assertTrue(m.contains("CUDA_ERROR_INVALID_VALUE"), m);
        assertTrue(m.contains("attn_sdpa_fwd_f32_d64"), m);
        assertTrue(m.contains("grid [16, 4, 1] block [128, 1, 1] smem 29000 B"), m);
    }

    @Test
    void optionsValidate() {
        assertThrows(IllegalArgumentException.class, () -> new CudaOptions(false, "magic", false, "auto"));
        assertEquals("kernel", CudaOptions.defaults().withGemm("KERNEL").gemm());
        assertTrue(CudaOptions.defaults().withUnfusedSdpa(true).unfusedSdpa());
    }
}
