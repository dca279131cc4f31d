package io.github.attn4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.DType;
import io.github.attn4j.GemmParams;
import io.github.attn4j.RopeParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cuda.CudaPlans.GemmProvider;
import io.github.attn4j.spi.Plan;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** Which GEMM path the public GEMM takes on CUDA (cuBLAS or the kernel), its launch, and the RoPE launch. */
class CudaGemmPlanTest {
    private static Tensor t(DType dt, int... shape) {
        return Tensor.of(ByteBuffer.allocate(Math.toIntExact(Tensor.numel(shape) * dt.bytes())), dt, shape);
    }

    @Test
    void cublasWhenItLoadedAndFitsElseTheKernel() {
        for (DType dt : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            GemmParams p = GemmParams.builder(t(dt, 3, 70, 40), t(dt, 90, 40), t(dt, 3, 70, 90)).transB(true).build();
            Plan blas = CudaPlans.gemm(p, GemmProvider.CUBLAS);
            assertEquals(CudaPlans.CUBLAS, blas.step(0).module());
            assertEquals("gemm", blas.step(0).entry());
            assertTrue(CublasGemm.fits(p));
            Plan k = CudaPlans.gemm(p, GemmProvider.KERNEL);
            assertEquals("attn_gemm_" + dt.name().toLowerCase(java.util.Locale.ROOT), k.step(0).entry());
            assertEquals(2 * 2, k.step(0).grid()[0], "ceil(70/64) * ceil(90/64) tiles");
            assertEquals(3, k.step(0).grid()[1], "one z per grid row");
            // no unit stride in a matrix dim of A: cuBLAS cannot take it, the kernel does, and the variant says why
            Tensor a = t(dt, 3, 70, 80);
            Tensor aStrided = a.view(0, new int[] {3, 70, 40}, new long[] {5600, 80, 2});
            GemmParams q = GemmParams.builder(aStrided, t(dt, 40, 90), t(dt, 3, 70, 90)).build();
            assertFalse(CublasGemm.fits(q));
            Plan kq = CudaPlans.gemm(q, GemmProvider.CUBLAS);
            assertEquals("gemm", kq.step(0).module());
            assertTrue(kq.variant().contains("cuBLAS not used"), kq.variant());
        }
        GemmParams huge = GemmParams.builder(t(DType.F32, 70000, 1, 1), t(DType.F32, 1, 1), t(DType.F32, 70000, 1, 1)).build();
        assertTrue(CudaPlans.gemm(huge, GemmProvider.KERNEL).reason().contains("batch <= 65535"));
        assertTrue(CudaPlans.gemm(huge, GemmProvider.CUBLAS).supported(), "cuBLAS takes any batch count");
    }

    @Test
    void ropeLaunch() {
        Tensor x = t(DType.BF16, 2, 3, 5, 8);
        Plan p = CudaPlans.plan(RopeParams.builder(x, x).offset(3).build(), CudaPlansTest.CTX);
        assertEquals("attn_rope_bf16", p.step(0).entry());
        assertEquals(CudaTables.ROPE_THREADS, p.step(0).block()[0]);
        assertEquals(1, p.step(0).grid()[0], "2*3*5*4 = 120 pairs: one block");
    }
}
