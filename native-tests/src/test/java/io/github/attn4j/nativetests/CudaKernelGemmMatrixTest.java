package io.github.attn4j.nativetests;

import io.github.attn4j.cuda.CudaBackend;
import java.util.Map;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * The unfused matrix again with the hand-written GEMM forced ({@code attn4j.cuda.gemm=kernel}), so
 * that both GEMM providers are covered where cuBLAS exists. Where cuBLAS does not load, the default
 * run already used the kernel and this class skips.
 */
class CudaKernelGemmMatrixTest extends PropertyScopedMatrix {
    CudaKernelGemmMatrixTest() {
        super(Map.of("attn4j.cuda.sdpa", "unfused", "attn4j.cuda.gemm", "kernel"));
    }

    @Override
    protected String backendName() {
        return "cuda";
    }

    @Override
    protected void checkOptions() {
        CudaUnfusedMatrixTest.checkUnfused(backend());
        CudaBackend b = (CudaBackend) backend();
        Assertions.assertTrue(b.gemmProvider().startsWith("kernel"), b.gemmProvider());
        Assumptions.assumeTrue(new io.github.attn4j.cuda.CudaProvider().devices().get(0).details()
                .getOrDefault("gemm provider", "").startsWith("cublas"),
                "cuBLAS is not available here: CudaUnfusedMatrixTest already ran the kernel GEMM");
    }
}
