package io.github.attn4j.cuda;

import io.github.attn4j.AdditiveParams;
import io.github.attn4j.DType;
import io.github.attn4j.OpParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxBackwardParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.cuda.tc.TcDevice;
import io.github.attn4j.cuda.tc.TcPlan;
import io.github.attn4j.spi.KernelId;
import java.util.List;
import java.util.Locale;

/**
 * "Which kernel, with which launch shape": decided once per call from the op and the device, and
 * used by {@code supports()}, {@code workspaceBytes()} and the launch alike. Plain functions over
 * plain data; the tile tables mirror those in {@code kernels/cuda/*.cu} (CudaKernelTablesTest
 * checks that they agree).
 */
final class CudaPlans {
    private CudaPlans() {}

    /** Module (file name without .cu) of each kernel id. */
    static String module(KernelId id) {
        return switch (id) {
            case SDPA_FWD -> "sdpa";
            case MASKED_SOFTMAX, MASKED_SOFTMAX_BWD -> "softmax";
            case ADDITIVE_FWD -> "additive";
            case GEMM_NT -> "gemm";
        };
    }

    static String dt(DType t) {
        return t.name().toLowerCase(Locale.ROOT);
    }

    /** One kernel launch of a plan. */
    record Step(String module, String entry, LaunchConfig launch) {}

    /** SDPA tile of sdpa.cu's ATTN_SDPA_TILES. */
    record SdpaTile(int dmax, int bm, int bn, int threads) {
        int smemBytes() {
            int floats = bm * (dmax + 1) + bn * (dmax + 1) + bn * dmax + bm * (bn + 1);
            return floats * 4;
        }
    }

    static final List<SdpaTile> SDPA_TILES = List.of(new SdpaTile(32, 32, 32, 128), new SdpaTile(64, 32, 32, 128),
            new SdpaTile(128, 32, 32, 128), new SdpaTile(256, 16, 16, 128));

    /** The smallest tile whose DMAX holds max(D, Dv), or null above 256. */
    static SdpaTile sdpaTile(int d, int dv) {
        int need = Math.max(d, dv);
        for (SdpaTile t : SDPA_TILES) {
            if (need <= t.dmax()) {
                return t;
            }
        }
        return null;
    }

    /** Additive tile of additive.cu's ATTN_ADDITIVE_TILES. */
    record AdditiveTile(int dmax, int bm, int bn, int ac, int threads) {
        int smemBytes() {
            int floats = bm * (ac + 1) + bn * (ac + 1) + ac + bn * dmax + bm * (bn + 1);
            return floats * 4;
        }
    }

    static final List<AdditiveTile> ADDITIVE_TILES = List.of(new AdditiveTile(64, 16, 32, 32, 128),
            new AdditiveTile(256, 16, 32, 32, 128));

    static AdditiveTile additiveTile(int dv) {
        for (AdditiveTile t : ADDITIVE_TILES) {
            if (dv <= t.dmax()) {
                return t;
            }
        }
        return null;
    }

    /** softmax.cu constants. */
    static final int SOFTMAX_WARP_ROWS = 4, SOFTMAX_WARP_MAX_SK = 1024, SOFTMAX_BLOCK_THREADS = 256;
    /** gemm.cu constants. */
    static final int GEMM_TM = 64, GEMM_TN = 64, GEMM_THREADS = 256;

    /** A plan, or the reason there is none. */
    record Plan(boolean supported, String variant, String reason, long workspaceBytes, List<Step> steps) {
        static Plan no(String reason) {
            return new Plan(false, "", reason, 0, List.of());
        }

        Step step(int i) {
            return steps.get(i);
        }
    }

    /** How SDPA runs: the fused kernel, or the unfused GEMM + softmax + GEMM reference path. */
    enum SdpaPath {
        FUSED, UNFUSED
    }

    /** Which GEMM implementation the unfused path and the additive projections use. */
    enum GemmProvider {
        CUBLAS, KERNEL;

        String label() {
            return this == CUBLAS ? "cublas" : "kernel";
        }
    }

    // ------------------------------------------------------------------ SDPA

    static Plan sdpa(SdpaParams p, DeviceProps dev, SdpaPath path, GemmProvider gemm) {
        return path == SdpaPath.FUSED ? sdpaFused(p, dev, TcPlan.optedIn()) : sdpaUnfused(p, dev, gemm);
    }

    /**
     * The fused SDPA plan. With {@code tensorCores} (set by {@code -Dattn4j.cuda.tc=true}, off by
     * default because the tensor-core kernel has not yet passed the matrix on a GPU), an F16/BF16
     * call that {@link TcPlan} accepts runs {@code kernels/cuda/sdpa_tc.cu} (variant
     * {@code tc-mma-...}); any other call keeps the fp32-math kernel, and its variant then says why
     * the tensor-core path was not taken.
     */
    static Plan sdpaFused(SdpaParams p, DeviceProps dev, boolean tensorCores) {
        Plan simt = sdpaFused(p, dev);
        if (!tensorCores) {
            return simt;
        }
        TcPlan tc = TcPlan.choose(p, tcDevice(dev));
        if (!tc.applies()) {
            return simt.supported() ? new Plan(true, simt.variant() + " (tensor-core path not taken: " + tc.reason()
                    + ")", "", simt.workspaceBytes(), simt.steps()) : simt;
        }
        int[] g = tc.grid();
        Step fwd = new Step("sdpa_tc", tc.entry(), LaunchConfig.of(g[0], g[1], g[2], tc.blockX(), tc.sharedBytes()));
        List<Step> steps = tc.splits() == 1 ? List.of(fwd) : List.of(fwd, new Step("sdpa_tc", tc.combineEntry(),
                LaunchConfig.of(tc.combineGridX(p), 1, 1, TcPlan.COMBINE_THREADS, 0)));
        return new Plan(true, tc.variant(), "", tc.workspaceBytes(p), steps);
    }

    /**
     * The tensor-core plan's view of the device. DeviceProps has no per-SM figures; these follow
     * from the compute capability: shared memory per SM = the opt-in per-block limit + the 1 KiB
     * the driver reserves (sm_80: 163 + 1, sm_86/89: 99 + 1, sm_90: 227 + 1 KiB), 1536 threads per SM
     * on sm_86/87/89 and 2048 otherwise, 64K registers.
     */
    static TcDevice tcDevice(DeviceProps d) {
        boolean ga10x = d.ccMajor() == 8 && d.ccMinor() >= 6;
        return new TcDevice(d.multiprocessors(), d.ccMajor(), d.ccMinor(), d.smemPerBlockOptin(),
                d.smemPerBlockOptin() + 1024, 1024, ga10x ? 1536 : 2048, 65536);
    }

    static Plan sdpaFused(SdpaParams p, DeviceProps dev) {
        SdpaTile t = sdpaTile(p.headDim(), p.headDimV());
        if (t == null) {
            return Plan.no("head dims D=" + p.headDim() + ", Dv=" + p.headDimV()
                    + ": the CUDA SDPA kernel takes D, Dv <= 256");
        }
        if (t.smemBytes() > dev.smemPerBlockOptin()) {
            return Plan.no("the D<=" + t.dmax() + " SDPA tile needs " + t.smemBytes() + " B of shared memory, "
                    + dev.name() + " allows " + dev.smemPerBlockOptin() + " B per block");
        }
        long gx = (long) p.batch() * p.headsQ(), gy = LaunchConfig.ceilDiv(p.seqQ(), t.bm());
        if (!LaunchConfig.fits(gx, gy, 1)) {
            return Plan.no("grid (" + gx + ", " + gy + ") exceeds CUDA's limits (B*Hq <= 2^31-1, Sq/" + t.bm()
                    + " <= 65535)");
        }
        String entry = KernelId.SDPA_FWD.entry(p.dtype()) + (t.dmax() < 256 ? "_d" + t.dmax() : "");
        Step s = new Step("sdpa", entry, LaunchConfig.of(gx, gy, 1, t.threads(), t.smemBytes()));
        return new Plan(true, "fused-simt-d" + t.dmax() + "-" + dt(p.dtype()), "", 0, List.of(s));
    }

    /** cuBLAS can take Q.K^T when the head dim is the unit stride of both. */
    static boolean cublasQk(SdpaParams p) {
        return p.q().stride(3) == 1 && p.k().stride(3) == 1 && p.q().stride(2) >= p.headDim()
                && p.k().stride(2) >= p.headDim();
    }

    /** cuBLAS can take P.V when everything is fp32 with unit inner strides and no kv lengths. */
    static boolean cublasPv(SdpaParams p) {
        return p.dtype() == DType.F32 && p.v().stride(3) == 1 && p.o().stride(3) == 1 && p.masks().kvLengths() == null
                && p.v().stride(2) >= p.headDimV() && p.o().stride(2) >= p.headDimV();
    }

    static Plan sdpaUnfused(SdpaParams p, DeviceProps dev, GemmProvider gemm) {
        if (p.lse() != null) {
            return Plan.no("the unfused SDPA path does not produce the LSE (use the fused path)");
        }
        if (p.hasSoftcap()) {
            return Plan.no("the unfused SDPA path has no softcap step (use the fused path)");
        }
        long bh = (long) p.batch() * p.headsQ();
        long ws = bh * p.seqQ() * p.seqK() * 4L;
        if (ws > dev.totalMemory() / 2) {
            return Plan.no(String.format(Locale.ROOT, "the unfused path needs a %.1f GiB fp32 score workspace"
                    + " [B, Hq, Sq, Sk], more than half of the device's %.1f GiB (use the fused path)",
                    ws / (double) (1L << 30), dev.totalMemory() / (double) (1L << 30)));
        }
        String qk = gemm == GemmProvider.CUBLAS && cublasQk(p) ? "cublas" : "kernel";
        String pv = gemm == GemmProvider.CUBLAS && cublasPv(p) ? "cublas" : "kernel";
        Step sQk = bgemmStep("qk", p.dtype(), p.seqQ(), p.seqK(), bh);
        Step sPv = bgemmStep("pv", p.dtype(), p.seqQ(), p.headDimV(), bh);
        if ((qk.equals("kernel") || pv.equals("kernel")) && bh > LaunchConfig.MAX_GRID_YZ) {
            return Plan.no("B*Hq = " + bh + " exceeds the GEMM kernel's 65535 batch limit");
        }
        Step sm = softmaxStep(DType.F32, bh * p.seqQ(), p.seqK(), false);
        if (sm == null) {
            return Plan.no("too many softmax rows: " + bh * p.seqQ());
        }
        return new Plan(true, "unfused-qk:" + qk + "-softmax-pv:" + pv + "-" + dt(p.dtype()), "", ws,
                List.of(sQk, sm, sPv));
    }

    /** The batched GEMM kernel step: "qk" is {@code <dt,dt,f32>}, "pv" is {@code <f32,dt,dt>}. */
    static Step bgemmStep(String which, DType dtype, long m, long n, long batchHeads) {
        String d = dt(dtype);
        String entry = which.equals("qk") ? "attn_bgemm_" + d + "_" + d + "_f32" : "attn_bgemm_f32_" + d + "_" + d;
        long gx = LaunchConfig.ceilDiv(m, GEMM_TM) * LaunchConfig.ceilDiv(n, GEMM_TN);
        if (!LaunchConfig.fits(gx, Math.min(batchHeads, LaunchConfig.MAX_GRID_YZ), 1)) {
            return new Step("gemm", entry, null);
        }
        return new Step("gemm", entry, LaunchConfig.of(gx, Math.min(batchHeads, LaunchConfig.MAX_GRID_YZ), 1,
                GEMM_THREADS, 0));
    }

    // ------------------------------------------------------------------ masked softmax

    /** Warp per row up to 1024 keys, block per row above. Null when the grid cannot hold the rows. */
    static Step softmaxStep(DType dtype, long rows, int seqK, boolean backward) {
        String base = (backward ? KernelId.MASKED_SOFTMAX_BWD : KernelId.MASKED_SOFTMAX).entry(dtype);
        if (seqK <= SOFTMAX_WARP_MAX_SK) {
            long gx = LaunchConfig.ceilDiv(rows, SOFTMAX_WARP_ROWS);
            return LaunchConfig.fits(gx, 1, 1)
                    ? new Step("softmax", base + "_warp", LaunchConfig.of(gx, 1, 1, 32 * SOFTMAX_WARP_ROWS, 0))
                    : null;
        }
        return LaunchConfig.fits(rows, 1, 1)
                ? new Step("softmax", base, LaunchConfig.of(rows, 1, 1, SOFTMAX_BLOCK_THREADS, 0))
                : null;
    }

    static Plan softmax(SoftmaxParams p) {
        Step s = softmaxStep(p.dtype(), p.rows(), p.seqK(), false);
        if (s == null) {
            return Plan.no("rows = " + p.rows() + " exceed the grid limit");
        }
        return new Plan(true, (s.entry().endsWith("_warp") ? "warp-per-row-" : "block-per-row-") + dt(p.dtype()), "", 0,
                List.of(s));
    }

    static Plan softmaxBackward(SoftmaxBackwardParams p) {
        Step s = softmaxStep(p.dtype(), p.rows(), p.seqK(), true);
        if (s == null) {
            return Plan.no("rows = " + p.rows() + " exceed the grid limit");
        }
        return new Plan(true, (s.entry().endsWith("_warp") ? "warp-per-row-" : "block-per-row-") + dt(p.dtype()), "", 0,
                List.of(s));
    }

    // ------------------------------------------------------------------ additive

    /** Projection GEMM step {@code attn_gemm_nt_<dt>}: [B*H] x [S, Din] . [A, Din]^T. */
    static Step projectionStep(DType dtype, long s, long a, long batchHeads) {
        long gx = LaunchConfig.ceilDiv(s, GEMM_TM) * LaunchConfig.ceilDiv(a, GEMM_TN);
        return new Step("gemm", KernelId.GEMM_NT.entry(dtype), LaunchConfig.fits(gx, batchHeads, 1)
                ? LaunchConfig.of(gx, batchHeads, 1, GEMM_THREADS, 0) : null);
    }

    /** Bytes of the fp32 projection workspace of a raw call: Qp [B,H,Sq,A] then Kp [B,H,Sk,A]. */
    static long projectionWorkspace(AdditiveParams p) {
        return p.raw() ? (long) p.batch() * p.heads() * ((long) p.seqQ() + p.seqK()) * p.dimA() * 4L : 0;
    }

    static Plan additive(AdditiveParams p, DeviceProps dev, GemmProvider gemm) {
        AdditiveTile t = additiveTile(p.headDimV());
        if (t == null) {
            return Plan.no("Dv = " + p.headDimV() + ": the CUDA additive kernel takes Dv <= 256");
        }
        if ((p.w().dim(0) > 1 && p.w().stride(0) != 1) || (p.b() != null && p.b().dim(0) > 1 && p.b().stride(0) != 1)) {
            return Plan.no("w and b must be contiguous (the kernel addresses them as w_off + a, b_off + a)");
        }
        long bh = (long) p.batch() * p.heads();
        long gy = LaunchConfig.ceilDiv(p.seqQ(), t.bm());
        if (!LaunchConfig.fits(bh, gy, 1)) {
            return Plan.no("grid (" + bh + ", " + gy + ") exceeds CUDA's limits");
        }
        String entry = KernelId.ADDITIVE_FWD.entry(p.dtype()) + (p.raw() ? "_qkf32" : "") + (t.dmax() < 256 ? "_d" + t.dmax() : "");
        Step fused = new Step("additive", entry, LaunchConfig.of(bh, gy, 1, t.threads(), t.smemBytes()));
        String v = "fused-d" + t.dmax() + "-" + dt(p.dtype()) + (p.weights() != null ? "-two-pass-weights" : "");
        if (!p.raw()) {
            return new Plan(true, v, "", 0, List.of(fused));
        }
        boolean cublas = gemm == GemmProvider.CUBLAS && cublasProjection(p);
        Step pq = projectionStep(p.dtype(), p.seqQ(), p.dimA(), bh);
        Step pk = projectionStep(p.dtype(), p.seqK(), p.dimA(), bh);
        if (!cublas && (pq.launch() == null || pk.launch() == null)) {
            return Plan.no("B*H = " + bh + " exceeds the projection GEMM kernel's 65535 batch limit");
        }
        return new Plan(true, "projection:" + (cublas ? "cublas" : "kernel") + "-" + v, "", projectionWorkspace(p),
                List.of(pq, pk, fused));
    }

    /** cuBLAS takes the projections when the feature dims are the unit strides. */
    static boolean cublasProjection(AdditiveParams p) {
        return p.q().stride(3) == 1 && p.k().stride(3) == 1 && p.wq().stride(1) == 1 && p.wk().stride(1) == 1
                && CublasGemm.fits(p);
    }

    /**
     * The keys {@code [lo, hi)} that the window and kv length allow for some row of {@code [i0, i1)}:
     * the Java mirror of {@code RowMask::key_range} in kernels/cuda/mask.cuh (the fused kernels skip
     * every K/V tile outside it). Returns {@code {lo, hi}}; empty when {@code lo >= hi}.
     */
    static int[] keyRange(int i0, int i1, int alignOff, int winLeft, int winRight, int kvLen) {
        long l = 0, r = kvLen;
        if (winLeft >= 0) {
            l = Math.max(l, (long) i0 + alignOff - winLeft);
        }
        if (winRight >= 0) {
            r = Math.min(r, (long) (i1 - 1) + alignOff + winRight + 1);
        }
        int lo = (int) Math.max(0, Math.min(l, kvLen));
        int hi = (int) Math.max(lo, r);
        return new int[] {lo, hi};
    }

    /** The plan of any op. */
    static Plan plan(OpParams op, DeviceProps dev, SdpaPath path, GemmProvider gemm) {
        if (op instanceof SdpaParams p) {
            return sdpa(p, dev, path, gemm);
        } else if (op instanceof SoftmaxParams p) {
            return softmax(p);
        } else if (op instanceof SoftmaxBackwardParams p) {
            return softmaxBackward(p);
        } else if (op instanceof AdditiveParams p) {
            return additive(p, dev, gemm);
        }
        return Plan.no("unknown op " + op.op());
    }
}
