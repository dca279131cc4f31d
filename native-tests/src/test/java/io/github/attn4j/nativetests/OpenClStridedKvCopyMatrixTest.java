package io.github.attn4j.nativetests;

import io.github.attn4j.Layout;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.testing.Case;
import org.junit.jupiter.api.Assertions;

/**
 * The SDPA-forward cases of the matrix whose K and V rows are apart in memory (BSHD, padded rows, paged caches) on OpenCL
 * with the CPU form's copy path forced ({@code attn4j.opencl.tune=fwdCopyKiB=0}: key blocks copied into private
 * rows, the next block prefetched, LANES_COPY in common.cl). The planner takes that path by itself only when a
 * kv head's K and V span more than 2 MiB, which the matrix's cases do not.
 */
class OpenClStridedKvCopyMatrixTest extends OpenClTunedMatrix {
    OpenClStridedKvCopyMatrixTest() {
        super("fwdCopyKiB=0");
    }

    @Override
    protected boolean include(Case c) {
        return c.op() == Case.Op.SDPA && (c.has(Case.Flag.PAGED) || c.storage() != Case.Storage.BHSD);
    }

    @Override
    protected void checkOptions() {
        Tensor q = Tensor.of(new float[2 * 3 * 32], Layout.BSHD, 1, 2, 3, 32);
        String f = variant(SdpaParams.builder(q, q, q, Tensor.of(new float[2 * 3 * 32], 1, 2, 3, 32)).build());
        if (onCpu()) {
            Assertions.assertTrue(f.endsWith("-copy"), "the backend must plan the copy path, got " + f);
        }
    }
}
