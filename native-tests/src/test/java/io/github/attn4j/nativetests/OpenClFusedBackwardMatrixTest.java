package io.github.attn4j.nativetests;

import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.testing.Case;
import java.util.Map;
import org.junit.jupiter.api.Assertions;

/**
 * The SDPA-backward cases of the matrix on OpenCL with the fused CPU form forced wherever the CPU forms
 * apply ({@code attn4j.opencl.tune=bwdCpu=2}): the planner picks it by itself only when the
 * (batch, kv head) work-items fill the device, which the matrix's small cases do not.
 */
class OpenClFusedBackwardMatrixTest extends PropertyScopedMatrix {
    OpenClFusedBackwardMatrixTest() {
        super(Map.of("attn4j.opencl.tune", "bwdCpu=2"));
    }

    @Override
    protected String backendName() {
        return "opencl";
    }

    @Override
    protected boolean include(Case c) {
        return c.op() == Case.Op.SDPA_BACKWARD;
    }

    @Override
    protected void checkOptions() {
        Tensor[] t = new Tensor[8];
        for (int i = 0; i < t.length; i++) {
            t[i] = Tensor.of(new float[64], 1, 1, 2, 32);
        }
        String b = backend().supports(SdpaBackwardParams.builder(t[0], t[1], t[2], t[3], t[4],
                Tensor.of(new float[2], 1, 1, 2), t[5], t[6], t[7]).build()).variant();
        if ("CPU".equals(backend().device().details().get("type"))) {
            Assertions.assertTrue(b.contains("-cpu-fused-"), "the backend must plan the fused CPU form, got " + b);
        }
    }
}
