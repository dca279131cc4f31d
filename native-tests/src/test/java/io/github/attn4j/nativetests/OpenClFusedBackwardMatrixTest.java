package io.github.attn4j.nativetests;

import io.github.attn4j.testing.Case;
import org.junit.jupiter.api.Assertions;

/**
 * The SDPA-backward cases of the matrix on OpenCL with the fused CPU form forced wherever the CPU forms
 * apply ({@code attn4j.opencl.tune=bwdCpu=2}): the planner picks it by itself only when the
 * (batch, kv head) work-items fill the device, which the matrix's small cases do not.
 */
class OpenClFusedBackwardMatrixTest extends OpenClTunedMatrix {
    OpenClFusedBackwardMatrixTest() {
        super("bwdCpu=2");
    }

    @Override
    protected boolean include(Case c) {
        return c.op() == Case.Op.SDPA_BACKWARD;
    }

    @Override
    protected void checkOptions() {
        String b = variant(smallBackward(32));
        if (onCpu()) {
            Assertions.assertTrue(b.contains("-cpu-fused-"), "the backend must plan the fused CPU form, got " + b);
        }
    }
}
