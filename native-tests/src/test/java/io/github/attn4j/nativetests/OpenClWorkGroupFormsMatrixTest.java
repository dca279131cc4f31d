package io.github.attn4j.nativetests;

import io.github.attn4j.DType;
import io.github.attn4j.GemmParams;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.testing.Case;
import java.util.Map;
import org.junit.jupiter.api.Assertions;

/**
 * The GEMM, SDPA-backward and SDPA-forward cases of the matrix on OpenCL with the work-group (GPU) forms
 * of their kernels forced ({@code attn4j.opencl.tune=gemmCpu=0,bwdCpu=0,fwdCpu=0}): on PoCL the planner
 * would choose the CPU forms (a work-item per tile or row block, register micro-kernels), so without this
 * class the forms that GPUs run would not be checked here. The forward cases: those in f32 below a million
 * score pairs (each option combination is a program to build; the dtypes share the form's code).
 */
class OpenClWorkGroupFormsMatrixTest extends PropertyScopedMatrix {
    OpenClWorkGroupFormsMatrixTest() {
        super(Map.of("attn4j.opencl.tune", "gemmCpu=0,bwdCpu=0,fwdCpu=0"));
    }

    @Override
    protected String backendName() {
        return "opencl";
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
        String g = backend().supports(GemmParams.builder(a, a, Tensor.of(new float[4], 1, 2, 2)).build()).variant();
        Assertions.assertFalse(g.contains("-cpu-"), "the backend must plan the work-group GEMM, got " + g);
        Tensor[] t = new Tensor[8];
        for (int i = 0; i < t.length; i++) {
            t[i] = Tensor.of(new float[8], 1, 1, 2, 4);
        }
        String b = backend().supports(SdpaBackwardParams.builder(t[0], t[1], t[2], t[3], t[4],
                Tensor.of(new float[2], 1, 1, 2), t[5], t[6], t[7]).build()).variant();
        Assertions.assertFalse(b.contains("-cpu-"), "the backend must plan the work-group SDPA backward, got " + b);
        String f = backend().supports(SdpaParams.builder(t[0], t[1], t[2], t[3]).build()).variant();
        Assertions.assertFalse(f.contains("-cpu-"), "the backend must plan the work-group SDPA forward, got " + f);
    }
}
