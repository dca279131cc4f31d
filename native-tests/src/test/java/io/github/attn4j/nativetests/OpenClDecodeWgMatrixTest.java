package io.github.attn4j.nativetests;

import io.github.attn4j.testing.Case;
import io.github.attn4j.testing.Case.MaskShape;
import io.github.attn4j.testing.Case.Op;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assertions;

/**
 * The split-KV decode's GPU variant (a work-group per split, {@code kernels/opencl/sdpa_decode.cl}
 * with {@code DEC_WG > 0}) on OpenCL device 0: PoCL is a CPU device, whose planner picks the
 * work-item variant, so the tuning option {@code decWg=64} forces the work-group one. The cases are
 * the matrix's decode cases (SDPA, Sq = 1, no per-element score work) with more than one key or
 * Dv above the work-group (two column chunks), one per kernel variant (dtype, head dims, group,
 * paged), so that few programs are built: 14 cases (Sk 1 to 1000, D up to 256, GQA, paged with lengths,
 * F16/BF16; D = 72 is not a multiple of the vector width and runs the flash kernel).
 */
class OpenClDecodeWgMatrixTest extends OpenClTunedMatrix {
    OpenClDecodeWgMatrixTest() {
        super("decWg=64");
    }

    @Override
    protected void checkOptions() {
        Assertions.assertEquals("decWg=64", ((io.github.attn4j.opencl.OpenClBackend) backend()).options().tune());
    }

    @Override
    protected List<Case> cases() {
        Map<String, Integer> perVariant = new HashMap<>();
        return super.cases().stream().filter(c -> c.op() == Op.SDPA && c.seqQ() == 1 && c.boolMask() == MaskShape.NONE
                && c.bias() == MaskShape.NONE && c.alibi() == Case.AlibiShape.NONE && c.softcap() == 0f
                && c.sampledRows() == 0)
                .filter(c -> perVariant.merge(c.dtype() + "/" + c.dim() + "/" + c.dimV() + "/" + c.heads() / c.headsKv()
                        + "/" + c.has(Case.Flag.PAGED), 1, Integer::sum) == 1)
                .filter(c -> c.seqK() > 1 || c.dimV() > 64).toList();
    }
}
