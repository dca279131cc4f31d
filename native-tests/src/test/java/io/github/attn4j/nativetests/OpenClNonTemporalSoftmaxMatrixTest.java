package io.github.attn4j.nativetests;

import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.testing.Case;
import org.junit.jupiter.api.Assertions;

/**
 * The softmax forward and backward cases of the matrix on OpenCL with every output written by non-temporal stores
 * ({@code attn4j.opencl.tune=smNtKiB=0}; STORE_NT in common.cl: element stores up to the row's first 64-byte
 * boundary, whole vectors after it, element stores for the tail). The planner takes that path by itself only for
 * outputs past 8 MiB on CPU devices, which the matrix's cases are not; its offsets, strides, in-place calls and
 * awkward widths are what the alignment logic has to get right.
 */
class OpenClNonTemporalSoftmaxMatrixTest extends OpenClTunedMatrix {
    OpenClNonTemporalSoftmaxMatrixTest() {
        super("smNtKiB=0");
    }

    @Override
    protected boolean include(Case c) {
        return c.op() == Case.Op.SOFTMAX || c.op() == Case.Op.SOFTMAX_BACKWARD;
    }

    @Override
    protected void checkOptions() {
        Tensor x = Tensor.of(new float[3 * 40], 3, 40);
        String v = variant(SoftmaxParams.builder(x, x).build());
        if (onCpu()) {
            Assertions.assertTrue(v.endsWith("-nt"), "the backend must plan non-temporal stores, got " + v);
        }
    }
}
