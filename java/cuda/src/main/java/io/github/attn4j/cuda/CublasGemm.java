package io.github.attn4j.cuda;

import io.github.attn4j.AdditiveParams;
import io.github.attn4j.BackendException;
import io.github.attn4j.DType;
import io.github.attn4j.GemmParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasOperation;
import jcuda.jcublas.cublasStatus;
import jcuda.runtime.cudaStream_t;

/**
 * The cuBLAS GEMMs (JCublas2, needs {@code libcublas.so.12}). Row-major products are issued as
 * column-major ones with the operands swapped: row-major {@code C[M,N] = A[M,K] . B[N,K]^T} is
 * column-major {@code C^T = op_T(B) . op_N(A)}. One handle per scope, bound to the scope's stream.
 */
final class CublasGemm implements AutoCloseable {
    private static final int CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14, CUBLAS_COMPUTE_32F = 68,
            CUBLAS_GEMM_DEFAULT = -1;
    private final cublasHandle handle = new cublasHandle();
    private final Pointer one = Pointer.to(new float[] {1f});
    private final Pointer zero = Pointer.to(new float[] {0f});

    /** Creates a handle on the current context; throws LinkageError when libcublas.so.12 is missing. */
    CublasGemm(CUstream stream) {
        check(JCublas2.cublasCreate(handle), "cublasCreate");
        check(JCublas2.cublasSetStream(handle, new cudaStream_t(stream)), "cublasSetStream");
    }

    /** Whether JCublas2 and libcublas.so.12 load here; the reason otherwise. */
    static String probe() {
        try {
            JCublas2.initialize();
            return null;
        } catch (LinkageError e) {
            return "JCublas2 could not load (" + CudaCheck.oneLine(e) + "); libcublas.so.12 is missing (CUDA 13 hosts ship only"
                    + " libcublas.so.13)";
        }
    }

    private static void check(int status, String what) {
        if (status != cublasStatus.CUBLAS_STATUS_SUCCESS) {
            throw new BackendException("cuda: " + what + " failed: " + cublasStatus.stringFor(status));
        }
    }

    private static int cudaType(DType t) {
        return switch (t) {
            case F32 -> CUDA_R_32F;
            case F16 -> CUDA_R_16F;
            case BF16 -> CUDA_R_16BF;
            default -> throw new IllegalArgumentException("no cuBLAS type for " + t);
        };
    }

    /** Column-major strided batched GEMM with types; F32/F32/F32 goes to cublasSgemmStridedBatched. */
    private void gemm(int opA, int opB, int m, int n, int k, Pointer a, int ta, int lda, long sa, Pointer b, int tb, int ldb,
            long sb, Pointer c, int tc, int ldc, long sc, int batch, String what) {
        if (ta == CUDA_R_32F && tb == CUDA_R_32F && tc == CUDA_R_32F) {
            check(JCublas2.cublasSgemmStridedBatched(handle, opA, opB, m, n, k, one, a, lda, sa, b, ldb, sb, zero, c, ldc,
                    sc, batch), what);
        } else {
            check(JCublas2.cublasGemmStridedBatchedEx(handle, opA, opB, m, n, k, one, a, ta, lda, sa, b, tb, ldb, sb, zero,
                    c, tc, ldc, sc, batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT), what);
        }
    }

    private static CUdeviceptr at(Tensor t, long elems) {
        return ((CudaMemory) t.memory()).at((t.offset() + elems) * t.dtype().bytes());
    }

    /** S[b, h] = Q[b, h] . K[b, h / group]^T into the fp32 workspace [B, Hq, Sq, Sk]; one call per (b, kv head). */
    void qk(SdpaParams p, CudaMemory ws) {
        Tensor q = p.q(), k = p.k();
        int sq = p.seqQ(), sk = p.seqK(), d = p.headDim(), g = p.group();
        int dt = cudaType(p.dtype());
        for (int b = 0; b < p.batch(); b++) {
            for (int hk = 0; hk < p.headsKv(); hk++) {
                Pointer a = at(q, b * q.stride(0) + (long) hk * g * q.stride(1));
                Pointer bb = at(k, b * k.stride(0) + hk * k.stride(1));
                Pointer c = ws.at(((long) b * p.headsQ() + (long) hk * g) * sq * sk * 4L);
                gemm(cublasOperation.CUBLAS_OP_T, cublasOperation.CUBLAS_OP_N, sk, sq, d, bb, dt, (int) k.stride(2), 0, a,
                        dt, (int) q.stride(2), q.stride(1), c, CUDA_R_32F, sk, (long) sq * sk, g, "cuBLAS Q.K^T");
            }
        }
    }

    /** O[b, h] = P[b, h] . V[b, h / group] (fp32 only). */
    void pv(SdpaParams p, CudaMemory ws) {
        Tensor v = p.v(), o = p.o();
        int sq = p.seqQ(), sk = p.seqK(), dv = p.headDimV(), g = p.group();
        for (int b = 0; b < p.batch(); b++) {
            for (int hk = 0; hk < p.headsKv(); hk++) {
                Pointer vv = at(v, b * v.stride(0) + hk * v.stride(1));
                Pointer a = ws.at(((long) b * p.headsQ() + (long) hk * g) * sq * sk * 4L);
                Pointer c = at(o, b * o.stride(0) + (long) hk * g * o.stride(1));
                gemm(cublasOperation.CUBLAS_OP_N, cublasOperation.CUBLAS_OP_N, dv, sq, sk, vv, CUDA_R_32F, (int) v.stride(2),
                        0, a, CUDA_R_32F, sk, (long) sq * sk, c, CUDA_R_32F, (int) o.stride(2), o.stride(1), g, "cuBLAS P.V");
            }
        }
    }

    /** C[b, h] = X[b, h] . W^T into an fp32 workspace view {@code c} [B, H, S, A] (contiguous). */
    void projection(Tensor x, Tensor w, Tensor c) {
        int s = x.dim(2), din = x.dim(3), a = w.dim(0), heads = x.dim(1);
        int dt = cudaType(x.dtype());
        for (int b = 0; b < x.dim(0); b++) {
            gemm(cublasOperation.CUBLAS_OP_T, cublasOperation.CUBLAS_OP_N, a, s, din, at(w, 0), dt, (int) w.stride(0), 0,
                    at(x, b * x.stride(0)), dt, (int) x.stride(2), x.stride(1), at(c, b * c.stride(0)), CUDA_R_32F,
                    (int) c.stride(2), c.stride(1), heads, "cuBLAS projection");
        }
    }

    /** Whether the additive projections satisfy cuBLAS' leading-dimension rules. */
    static boolean fits(AdditiveParams p) {
        return p.q().stride(2) >= p.q().dim(3) && p.k().stride(2) >= p.k().dim(3) && p.wq().stride(0) >= p.wq().dim(1)
                && p.wk().stride(0) >= p.wk().dim(1);
    }

    /**
     * How a row-major operand with matrix strides {@code (s0, s1)} over {@code rows x cols} reads as a
     * column-major cuBLAS operand of the transposed product: {@code {op, ld}}, or null when neither
     * stride is 1 (or the other is too small to be a leading dimension).
     */
    private static int[] colMajor(long s0, long s1, int rows, int cols) {
        if (s1 == 1 && (rows == 1 || s0 >= Math.max(1, cols)) && s0 <= Integer.MAX_VALUE) {
            return new int[] {cublasOperation.CUBLAS_OP_N, (int) Math.max(s0, Math.max(1, cols))};
        }
        if (s0 == 1 && (cols == 1 || s1 >= Math.max(1, rows)) && s1 <= Integer.MAX_VALUE) {
            return new int[] {cublasOperation.CUBLAS_OP_T, (int) Math.max(s1, Math.max(1, rows))};
        }
        return null;
    }

    /** Whether the public GEMM's operands suit cuBLAS: a unit stride in a matrix dim of each, C row-major. */
    static boolean fits(GemmParams g) {
        long[] as = g.aStrides(), bs = g.bStrides(), cs = g.cStrides();
        return colMajor(as[1], as[2], g.m(), g.k()) != null && colMajor(bs[1], bs[2], g.k(), g.n()) != null
                && cs[2] == 1 && (g.m() == 1 || cs[1] >= g.n()) && cs[1] <= Integer.MAX_VALUE;
    }

    /**
     * The public GEMM, row-major {@code C[M,N] = alpha op(A) op(B) + beta C} issued as the
     * column-major {@code C^T = alpha op(B)^T op(A)^T + beta C^T}, batched with the z strides.
     */
    void gemm(GemmParams g) {
        long[] as = g.aStrides(), bs = g.bStrides(), cs = g.cStrides();
        int[] x = colMajor(bs[1], bs[2], g.k(), g.n());
        int[] y = colMajor(as[1], as[2], g.m(), g.k());
        int t = cudaType(g.dtype());
        int ldc = (int) Math.max(cs[1], g.n());
        Pointer alpha = Pointer.to(new float[] {g.alpha()}), beta = Pointer.to(new float[] {g.beta()});
        Pointer b = at(g.b(), 0), a = at(g.a(), 0), c = at(g.c(), 0);
        int status = t == CUDA_R_32F
                ? JCublas2.cublasSgemmStridedBatched(handle, x[0], y[0], g.n(), g.m(), g.k(), alpha, b, x[1], bs[0], a, y[1],
                        as[0], beta, c, ldc, cs[0], g.batch())
                : JCublas2.cublasGemmStridedBatchedEx(handle, x[0], y[0], g.n(), g.m(), g.k(), alpha, b, t, x[1], bs[0], a, t,
                        y[1], as[0], beta, c, t, ldc, cs[0], g.batch(), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        check(status, "cuBLAS gemm");
    }

    @Override
    public void close() {
        JCublas2.cublasDestroy(handle);
    }
}
