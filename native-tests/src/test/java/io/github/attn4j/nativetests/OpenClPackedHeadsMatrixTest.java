package io.github.attn4j.nativetests;

import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.testing.Case;
import org.junit.jupiter.api.Assertions;

/**
 * The GQA/MQA SDPA-forward cases of the matrix (Sq > 1) on OpenCL with up to 8 query heads of a kv head in one
 * work-item of the CPU form ({@code attn4j.opencl.tune=fwdHeads=8}; FWD_HEADS in sdpa.cl; the default packs up to
 * 4): every mask kind, bool masks and biases per head, ALiBi slopes per head, sinks, LSE, paged and strided K/V,
 * F16/BF16, each head's rows, statistics and outputs kept apart. The planner packs where the private Q and O
 * blocks fit 64 KiB and 2 items per compute unit remain, which the matrix's GQA cases of more than one row block do.
 */
class OpenClPackedHeadsMatrixTest extends OpenClTunedMatrix {
    OpenClPackedHeadsMatrixTest() {
        super("fwdHeads=8");
    }

    @Override
    protected boolean include(Case c) {
        return c.op() == Case.Op.SDPA && c.heads() > c.headsKv() && c.seqQ() > 1;
    }

    @Override
    protected void checkOptions() {
        if (onCpu()) {
            int rows = 64;
            Tensor q = Tensor.of(new float[rows * 8 * 32], 1, 8, rows, 32), o = Tensor.of(new float[rows * 8 * 32], 1, 8, rows, 32);
            Tensor kv = Tensor.of(new float[rows * 32], 1, 1, rows, 32);
            String f = variant(SdpaParams.builder(q, kv, kv, o).build());
            Assertions.assertTrue(f.contains("-h"), "the backend must pack the heads of a kv head, got " + f);
        }
    }
}
