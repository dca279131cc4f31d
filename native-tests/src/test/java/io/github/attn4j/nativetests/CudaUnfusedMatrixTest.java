package io.github.attn4j.nativetests;

import io.github.attn4j.testing.Case;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;

/**
 * The case matrix on CUDA device 0 with SDPA on the unfused reference path (batched GEMM for
 * Q.K^T, the masked-softmax kernel, GEMM for P.V): the benchmark baseline and a second opinion on
 * the fused kernel. Calls the unfused path cannot take (LSE, softcap) are reported as skipped with
 * that reason. The path is chosen by {@code -Dattn4j.cuda.sdpa=unfused}, set while this class opens
 * its backend and restored right after.
 */
class CudaUnfusedMatrixTest extends BackendMatrix {
    private static final String PROP = "attn4j.cuda.sdpa";
    private final String previous = System.getProperty(PROP);

    CudaUnfusedMatrixTest() {
        System.setProperty(PROP, "unfused");
    }

    @Override
    protected String backendName() {
        return "cuda";
    }

    /** Called by the matrix right after the backend is opened: restore the property, check the path. */
    @Override
    protected List<Case> cases() {
        restore();
        Assertions.assertTrue(backend().supports(probe()).variant().startsWith("unfused"),
                "the backend must run SDPA unfused, got " + backend().supports(probe()));
        return super.cases();
    }

    private static io.github.attn4j.SdpaParams probe() {
        io.github.attn4j.Tensor t = io.github.attn4j.Tensor.of(new float[2 * 4], 1, 1, 2, 4);
        return io.github.attn4j.SdpaParams.builder(t, t, t, io.github.attn4j.Tensor.of(new float[2 * 4], 1, 1, 2, 4)).build();
    }

    private void restore() {
        if (previous == null) {
            System.clearProperty(PROP);
        } else {
            System.setProperty(PROP, previous);
        }
    }

    @AfterAll
    void restoreProperty() {
        restore();
    }
}
