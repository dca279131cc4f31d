package io.github.attn4j.nativetests;

import io.github.attn4j.GemmParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.testing.Case;
import java.util.Map;
import org.junit.jupiter.api.Assertions;

/**
 * The GEMM cases of the matrix on OpenCL with the GPU form of {@code attn_gemm} forced
 * ({@code attn4j.opencl.tune=gemmCpu=0}: work-group tiles staged in local memory), so that both
 * forms of the kernel are checked on PoCL, where the planner would choose the CPU form.
 */
class OpenClGpuGemmMatrixTest extends PropertyScopedMatrix {
    OpenClGpuGemmMatrixTest() {
        super(Map.of("attn4j.opencl.tune", "gemmCpu=0"));
    }

    @Override
    protected String backendName() {
        return "opencl";
    }

    @Override
    protected boolean include(Case c) {
        return c.op() == Case.Op.GEMM;
    }

    @Override
    protected void checkOptions() {
        Tensor a = Tensor.of(new float[4], 1, 2, 2);
        String v = backend().supports(GemmParams.builder(a, a, Tensor.of(new float[4], 1, 2, 2)).build()).variant();
        Assertions.assertFalse(v.contains("-cpu-"), "the backend must plan the GPU form of the GEMM, got " + v);
    }
}
