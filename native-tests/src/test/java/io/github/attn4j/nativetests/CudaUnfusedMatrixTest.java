package io.github.attn4j.nativetests;

import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import java.util.Map;
import org.junit.jupiter.api.Assertions;

/**
 * The case matrix on CUDA device 0 with SDPA on the unfused reference path (batched GEMM for
 * Q.K^T, the masked-softmax kernel, GEMM for P.V), with the default GEMM provider (cuBLAS where
 * libcublas.so.12 loads): the benchmark baseline and a second opinion on the fused kernel. Calls
 * the unfused path cannot take (LSE, softcap) are reported as skipped with that reason.
 */
class CudaUnfusedMatrixTest extends PropertyScopedMatrix {
    CudaUnfusedMatrixTest() {
        super(Map.of("attn4j.cuda.sdpa", "unfused"));
    }

    @Override
    protected String backendName() {
        return "cuda";
    }

    static SdpaParams probe() {
        Tensor t = Tensor.of(new float[2 * 4], 1, 1, 2, 4);
        return SdpaParams.builder(t, t, t, Tensor.of(new float[2 * 4], 1, 1, 2, 4)).build();
    }

    @Override
    protected void checkOptions() {
        checkUnfused(backend());
    }

    static void checkUnfused(io.github.attn4j.Backend b) {
        String v = b.supports(probe()).variant();
        Assertions.assertTrue(v.startsWith("unfused"), "the backend must run SDPA unfused, got " + v);
    }
}
