package io.github.attn4j.nativetests;

import io.github.attn4j.DType;
import io.github.attn4j.GemmParams;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.testing.Case;
import org.junit.jupiter.api.Assertions;

/**
 * The GEMM, SDPA-backward and SDPA-forward cases of the matrix on OpenCL with the work-group (GPU) forms
 * of their kernels forced ({@code attn4j.opencl.tune=gemmCpu=0,bwdCpu=0,fwdCpu=0}): on PoCL the planner
 * would choose the CPU forms (a work-item per tile or row block, register micro-kernels), so without this
 * class the forms that GPUs run would not be checked here. The forward cases: those in f32 below a million
 * score pairs (each option combination is a program to build; the dtypes share the form's code).
 */
class OpenClWorkGroupFormsMatrixTest extends OpenClTunedMatrix {
    OpenClWorkGroupFormsMatrixTest() {
        super("gemmCpu=0,bwdCpu=0,fwdCpu=0");
    }

    @Override
    protected boolean include(Case c) {
        if (c.op() == Case.Op.SDPA) {
            return c.dtype() == DType.F32 && (long) c.seqQ() * c.seqK() < 1_000_000;
        }
        return c.op() == Case.Op.GEMM || c.op() == Case.Op.SDPA_BACKWARD;
    }

    @Override
    protected void checkOptions() {
        Tensor a = Tensor.of(new float[4], 1, 2, 2);
        String g = variant(GemmParams.builder(a, a, Tensor.of(new float[4], 1, 2, 2)).build());
        Assertions.assertFalse(g.contains("-cpu-"), "the backend must plan the work-group GEMM, got " + g);
        SdpaBackwardParams bp = smallBackward(4);
        String b = variant(bp);
        Assertions.assertFalse(b.contains("-cpu-"), "the backend must plan the work-group SDPA backward, got " + b);
        String f = variant(SdpaParams.builder(bp.q(), bp.k(), bp.v(), bp.o()).build());
        Assertions.assertFalse(f.contains("-cpu-"), "the backend must plan the work-group SDPA forward, got " + f);
    }
}
