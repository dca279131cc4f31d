package io.github.attn4j.cuda;

import io.github.attn4j.AdditiveBackwardParams;
import io.github.attn4j.AdditiveParams;
import io.github.attn4j.GemmParams;
import io.github.attn4j.RopeParams;
import io.github.attn4j.DType;
import io.github.attn4j.KvAppendParams;
import io.github.attn4j.MergeParams;
import io.github.attn4j.OpParams;
import io.github.attn4j.OpVisitor;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxBackwardParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.spi.Arg;
import io.github.attn4j.spi.KernelArgs;
import io.github.attn4j.spi.KernelId;
import io.github.attn4j.spi.KernelParams;
import io.github.attn4j.spi.KernelParams.Bgemm;
import io.github.attn4j.spi.KernelParams.Operand;
import io.github.attn4j.spi.Plan;
import io.github.attn4j.spi.Workspace;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The CUDA planner: "which kernel, with which launch shape and arguments", decided once per call
 * from the op, the device and the backend's options, and read by {@code supports()},
 * {@code workspaceBytes()} and the launch alike. Plain functions over plain data; the tile tables
 * come from the kernel sources ({@link CudaTables}).
 */
final class CudaPlans {
    private CudaPlans() {}

    /** Module (file name without .cu) of the steps that are library calls instead of kernels. */
    static final String CUBLAS = "cublas";

    static String dt(DType t) {
        return t.name().toLowerCase(Locale.ROOT);
    }

    /** Which GEMM implementation the unfused path and the additive projections use. */
    enum GemmProvider {
        CUBLAS, KERNEL
    }

    /** What the planner knows: the device, the options, the GEMM provider that loaded. */
    record Context(DeviceProps dev, CudaOptions options, GemmProvider gemm) {}

    /** The plan of any op: the one dispatch over the ops. */
    static Plan plan(OpParams op, Context c) {
        return op.accept(new OpVisitor<Plan>() {
            @Override
            public Plan sdpa(SdpaParams p) {
                return c.options().unfusedSdpa() ? sdpaUnfused(p, c.dev(), c.gemm())
                        : sdpaFused(p, c.dev(), c.options().tensorCores());
            }

            @Override
            public Plan softmax(SoftmaxParams p) {
                return softmaxPlan(p.dtype(), p.rows(), p.seqK(), false, KernelArgs.softmax(p));
            }

            @Override
            public Plan softmaxBackward(SoftmaxBackwardParams p) {
                return softmaxPlan(p.dtype(), p.rows(), p.seqK(), true, KernelArgs.softmaxBackward(p));
            }

            @Override
            public Plan additive(AdditiveParams p) {
                return CudaPlans.additive(p, c.dev(), c.gemm());
            }

            @Override
            public Plan sdpaBackward(SdpaBackwardParams p) {
                return CudaPlans.sdpaBackward(p);
            }

            @Override
            public Plan merge(MergeParams p) {
                return CudaPlans.merge(p, c.dev());
            }

            @Override
            public Plan kvAppend(KvAppendParams p) {
                return CudaPlans.kvAppend(p, c.dev());
            }

            @Override
            public Plan additiveBackward(AdditiveBackwardParams p) {
                return CudaPlans.additiveBackward(p, c.dev(), c.gemm());
            }

            @Override
            public Plan gemm(GemmParams g) {
                return CudaPlans.gemm(g, c.gemm());
            }

            @Override
            public Plan rope(RopeParams r) {
                long pairs = (long) r.batch() * r.heads() * r.seq() * (r.headDim() / 2);
                long blocks = Math.max(1, Math.min(LaunchConfig.ceilDiv(pairs, CudaTables.ROPE_THREADS),
                        32L * c.dev().multiprocessors()));
                return Plan.of("rope-" + dt(r.dtype()), 0, List.of(kernel("rope", KernelId.ROPE.entry(r.dtype()), blocks, 1, 1,
                        CudaTables.ROPE_THREADS, 0, KernelArgs.rope(r))));
            }
        });
    }

    private static Plan.Step kernel(String module, String entry, long gx, long gy, long gz, int threads, int smem,
            List<Arg> args) {
        return Plan.Step.of(module, entry, new long[] {gx, gy, gz}, new long[] {threads, 1, 1}, smem, args);
    }

    private static Plan.Step library(String entry, List<Arg> args) {
        return Plan.Step.of(CUBLAS, entry, new long[] {1, 1, 1}, new long[] {1, 1, 1}, 0, args);
    }

    /** The strided copy kernel {@code attn_copy_u<bits>} between two device views of one shape. */
    static Plan copy(Tensor src, Tensor dst, DeviceProps dev) {
        int threads = CudaTables.COPY_THREADS;
        long blocks = Math.max(1, Math.min(LaunchConfig.ceilDiv(src.numel(), threads), 32L * dev.multiprocessors()));
        String entry = KernelId.copyEntry(src.dtype());
        return Plan.of("copy-" + entry.substring(entry.lastIndexOf('_') + 1), 0,
                List.of(kernel("copy", entry, blocks, 1, 1, threads, 0, KernelArgs.copy(src, dst))));
    }

    /** Merge of attention states ({@code merge.cu}): one grid-stride launch over the elements of O. */
    static Plan merge(MergeParams p, DeviceProps dev) {
        if (p.parts() > MergeParams.MAX_DEVICE_PARTS) {
            return Plan.no(p.parts() + " parts: the merge kernel takes at most " + MergeParams.MAX_DEVICE_PARTS
                    + " per call (merge in a tree: a merged LSE is a valid part)");
        }
        int threads = CudaTables.MERGE_THREADS;
        long blocks = Math.max(1, Math.min(LaunchConfig.ceilDiv(p.rows() * p.headDimV(), threads),
                32L * dev.multiprocessors()));
        String entry = KernelId.MERGE_STATES.entry(p.dtype());
        return Plan.of("merge-" + dt(p.dtype()), 0, List.of(kernel("merge", entry, blocks, 1, 1, threads, 0,
                KernelArgs.merge(p))));
    }

    /** KV append ({@code kv_append.cu}): one grid-stride launch over the new rows' elements. */
    static Plan kvAppend(KvAppendParams p, DeviceProps dev) {
        int threads = CudaTables.KV_APPEND_THREADS;
        long n = (long) p.batch() * p.seqNew() * p.headsKv() * (p.headDim() + p.headDimV());
        long blocks = Math.max(1, Math.min(LaunchConfig.ceilDiv(n, threads), 32L * dev.multiprocessors()));
        return Plan.of("kv-append-" + dt(p.dtype()), 0, List.of(kernel("kv_append", KernelId.KV_APPEND.entry(p.dtype()),
                blocks, 1, 1, threads, 0, KernelArgs.kvAppend(p))));
    }

    // ------------------------------------------------------------------ SDPA

    /** The smallest tile whose DMAX holds max(D, Dv), or null above the table. */
    static CudaTables.SdpaTile sdpaTile(int d, int dv) {
        int need = Math.max(d, dv);
        for (CudaTables.SdpaTile t : CudaTables.SDPA_TILES) {
            if (need <= t.dmax()) {
                return t;
            }
        }
        return null;
    }

    /**
     * The fused SDPA plan. With {@code tensorCores} (off by default: the tensor-core kernel has not
     * yet passed the matrix on a GPU), an F16/BF16 call that {@link TcPlan} accepts runs
     * {@code kernels/cuda/sdpa_tc.cu} (variant {@code tc-mma-...}); any other call keeps the
     * fp32-math kernel, and its variant then says why the tensor-core path was not taken.
     */
    static Plan sdpaFused(SdpaParams p, DeviceProps dev, boolean tensorCores) {
        Plan simt = sdpaSimt(p, dev);
        if (!tensorCores) {
            return simt;
        }
        TcPlan tc = TcPlan.choose(p, dev);
        if (tc.applies() && !aligned16(p.q(), p.k(), p.v(), p.o())) {
            tc = TcPlan.no(p.dtype(), "a wrapped device pointer is not 16-byte aligned (cp.async reads whole 16-byte rows)");
        }
        if (!tc.applies()) {
            return simt.supported() ? simt.named(simt.variant() + " (tensor-core path not taken: " + tc.reason() + ")")
                    : simt;
        }
        int[] g = tc.grid();
        int splits = tc.splits();
        long ws = tc.workspaceBytes(p);
        Tensor oPart = null, lsePart = null;
        if (splits > 1) {
            Workspace w = new Workspace(ws);
            long rows = (long) p.batch() * p.headsQ() * p.seqQ();
            oPart = Tensor.of(w, DType.F32, new int[] {Math.toIntExact(splits * rows * p.headDimV())}, new long[] {1}, 0);
            lsePart = Tensor.of(w, DType.F32, new int[] {Math.toIntExact(splits * rows)}, new long[] {1},
                    tc.partialLseOffset(p) / 4);
        }
        List<Plan.Step> steps = new ArrayList<>();
        steps.add(kernel("sdpa_tc", tc.entry(), g[0], g[1], g[2], tc.blockX(), tc.sharedBytes(),
                KernelArgs.sdpaFwdSplit(p, oPart, lsePart, splits)));
        if (splits > 1) {
            steps.add(kernel("sdpa_tc", tc.combineEntry(), tc.combineGridX(p), 1, 1, TcPlan.COMBINE_THREADS, 0,
                    KernelArgs.sdpaCombine(p, oPart, lsePart, splits)));
        }
        return Plan.of(tc.variant(), ws, steps);
    }

    /** True unless a tensor is on wrapped device memory whose address is not a multiple of 16 bytes. */
    static boolean aligned16(Tensor... ts) {
        for (Tensor t : ts) {
            if (t.memory() instanceof CudaMemory m && !m.aligned16()) {
                return false;
            }
        }
        return true;
    }

    /** The fused SDPA on fp32 SIMT cores (any dtype storage). */
    static Plan sdpaSimt(SdpaParams p, DeviceProps dev) {
        CudaTables.SdpaTile t = sdpaTile(p.headDim(), p.headDimV());
        int top = CudaTables.SDPA_TILES.get(CudaTables.SDPA_TILES.size() - 1).dmax();
        if (t == null) {
            return Plan.no("head dims D=" + p.headDim() + ", Dv=" + p.headDimV() + ": the CUDA SDPA kernel takes D, Dv <= "
                    + top);
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
        Plan decode = sdpaDecode(p, dev, gx * gy, t);
        if (decode != null) {
            return decode;
        }
        String entry = KernelId.SDPA_FWD.entry(p.dtype()) + (t.dmax() < top ? "_d" + t.dmax() : "");
        return Plan.of("fused-simt-d" + t.dmax() + "-" + dt(p.dtype()) + (p.isPaged() ? "-paged" : ""), 0,
                List.of(kernel("sdpa", entry, gx, gy, 1, t.threads(), t.smemBytes(), KernelArgs.sdpaFwd(p))));
    }

    /** The split-KV decode takes at most this many packed rows (G * Sq) per (batch, kv head). */
    static final int DECODE_MAX_ROWS = 64;
    /** Every split of the decode streams at least this many key tiles. */
    static final int DECODE_MIN_TILES_PER_SPLIT = 8;
    /** Upper bound of the decode's split count. */
    static final int DECODE_MAX_SPLITS = 64;
    /** The decode aims at this many CTAs per multiprocessor. */
    static final int DECODE_CTAS_PER_SM = 4;

    /** The smallest decode tile whose DMAX holds max(D, Dv), or null above the table. */
    static CudaTables.DecodeTile decodeTile(int d, int dv) {
        for (CudaTables.DecodeTile t : CudaTables.DECODE_TILES) {
            if (Math.max(d, dv) <= t.dmax()) {
                return t;
            }
        }
        return null;
    }

    /** The keys a row may see at most: Sk, or the longest kv length when lengths are given. */
    static int decodeKeys(SdpaParams p) {
        int[] kv = p.masks().kvLengths();
        if (kv == null) {
            return p.seqK();
        }
        int m = 0;
        for (int x : kv) {
            m = Math.max(m, Math.min(x, p.seqK()));
        }
        return m;
    }

    /**
     * The split-KV decode plan ({@code sdpa_decode.cu}), or null when the forward kernel is the better
     * choice. Chosen when the forward's {@code B * Hq * ceil(Sq / BM)} CTAs cannot fill the device's
     * resident CTA slots (multiprocessors times the forward tile's occupancy), the packed rows
     * {@code G * Sq} of a kv head are at most {@link #DECODE_MAX_ROWS}, and there is something to
     * gain: keys enough for two splits, or one query row whose group of query heads is packed
     * ({@code Sq = 1, G > 1}; each K/V byte is then read once per group, not once per head). The split
     * count aims at {@link #DECODE_CTAS_PER_SM} CTAs per multiprocessor with at least
     * {@link #DECODE_MIN_TILES_PER_SPLIT} key tiles per split, at most {@link #DECODE_MAX_SPLITS}, then
     * is rebalanced so that no split is empty; one split still runs the combine (it writes O and LSE).
     */
    static Plan sdpaDecode(SdpaParams p, DeviceProps dev, long fwdCtas, CudaTables.SdpaTile fwd) {
        int occupancy = Math.max(1, Math.min(dev.maxThreadsPerSm() / fwd.threads(), dev.smemPerSm() / fwd.smemBytes()));
        if (fwdCtas >= (long) dev.multiprocessors() * occupancy) {
            return null;
        }
        long packed = (long) p.group() * p.seqQ();
        CudaTables.DecodeTile t = decodeTile(p.headDim(), p.headDimV());
        if (t == null || packed > DECODE_MAX_ROWS || t.smemBytes() > dev.smemPerBlock()) {
            return null;
        }
        long tiles = LaunchConfig.ceilDiv(decodeKeys(p), t.bn());
        long base = (long) p.batch() * p.headsKv() * LaunchConfig.ceilDiv(packed, t.rb());
        long want = LaunchConfig.ceilDiv((long) DECODE_CTAS_PER_SM * dev.multiprocessors(), base);
        long most = Math.min(DECODE_MAX_SPLITS, LaunchConfig.ceilDiv(tiles, DECODE_MIN_TILES_PER_SPLIT));
        int splits = (int) Math.max(1, Math.min(want, most));
        if (tiles > 0) {
            splits = (int) LaunchConfig.ceilDiv(tiles, LaunchConfig.ceilDiv(tiles, splits));
        }
        if (splits < 2 && (p.seqQ() > 1 || p.group() == 1)) {
            return null; // nothing to split and no heads to pack: the forward kernel
        }
        long gx = (long) p.batch() * p.headsKv(), gz = LaunchConfig.ceilDiv(packed, t.rb());
        long rows = (long) p.batch() * p.headsQ() * p.seqQ();
        int perCta = CudaTables.DECODE_COMBINE_THREADS / 32;
        if (!LaunchConfig.fits(gx, splits, gz) || !LaunchConfig.fits(LaunchConfig.ceilDiv(rows, perCta), 1, 1)) {
            return null;
        }
        if ((long) splits * rows * (p.headDimV() + 1) > Integer.MAX_VALUE) {
            return null;
        }
        long ws = 4L * splits * rows * (p.headDimV() + 1);
        Workspace w = new Workspace(ws);
        Tensor oPart = Tensor.of(w, DType.F32, new int[] {Math.toIntExact(splits * rows * p.headDimV())}, new long[] {1}, 0);
        Tensor lsePart = Tensor.of(w, DType.F32, new int[] {Math.toIntExact(splits * rows)}, new long[] {1},
                splits * rows * p.headDimV());
        int top = CudaTables.DECODE_TILES.get(CudaTables.DECODE_TILES.size() - 1).dmax();
        String entry = KernelId.SDPA_DECODE.entry(p.dtype()) + (t.dmax() < top ? "_d" + t.dmax() : "");
        List<Plan.Step> steps = List.of(
                kernel("sdpa_decode", entry, gx, splits, gz, t.threads(), t.smemBytes(),
                        KernelArgs.sdpaDecode(p, oPart, lsePart, splits)),
                kernel("sdpa_decode", KernelId.SDPA_COMBINE.entry(p.dtype()), LaunchConfig.ceilDiv(rows, perCta), 1, 1,
                        CudaTables.DECODE_COMBINE_THREADS, 0, KernelArgs.sdpaCombine(p, oPart, lsePart, splits)));
        String name = String.format(Locale.ROOT, "decode-splitkv%d-gqa%d-simt-d%d-%s%s", splits, p.group(), t.dmax(),
                dt(p.dtype()), p.isPaged() ? "-paged" : "");
        return Plan.of(name, ws, steps);
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

    /** The fp32 score workspace [B, Hq, Sq, Sk], contiguous, as a GEMM operand. */
    static Operand scores(SdpaParams p) {
        long sk = p.seqK(), sq = p.seqQ();
        return new Operand(0, p.headsQ() * sq * sk, sq * sk, sk, 1);
    }

    /** S = Q . K^T into the workspace (scale is applied by the softmax that follows). */
    static Bgemm qk(SdpaParams p) {
        int flags = p.masks().kvLengths() != null ? KernelParams.BGEMM_N_KVLEN : 0;
        return new Bgemm(Operand.of(p.q(), false), Operand.of(p.k(), true), scores(p), p.seqQ(), p.seqK(), p.headDim(),
                p.batch(), p.headsQ(), p.group(), 1f, flags);
    }

    /** O = P . V from the workspace; the contraction stops at kv_len[b] when kv lengths are given. */
    static Bgemm pv(SdpaParams p) {
        int flags = p.masks().kvLengths() != null ? KernelParams.BGEMM_K_KVLEN : 0;
        return new Bgemm(scores(p), Operand.of(p.v(), false), Operand.of(p.o(), false), p.seqQ(), p.headDimV(),
                p.seqK(), p.batch(), p.headsQ(), p.group(), 1f, flags);
    }

    static Plan sdpaUnfused(SdpaParams p, DeviceProps dev, GemmProvider gemm) {
        if (p.lse() != null) {
            return Plan.no("the unfused SDPA path does not produce the LSE (use the fused path)");
        }
        if (p.hasSoftcap()) {
            return Plan.no("the unfused SDPA path has no softcap step (use the fused path)");
        }
        if (p.sinks() != null || p.isPaged()) {
            return Plan.no("the unfused SDPA path reads neither sinks nor a paged KV cache (use the fused path)");
        }
        long bh = (long) p.batch() * p.headsQ();
        long ws = bh * p.seqQ() * p.seqK() * 4L;
        if (ws > dev.totalMemory() / 2) {
            return Plan.no(String.format(Locale.ROOT, "the unfused path needs a %.1f GiB fp32 score workspace"
                    + " [B, Hq, Sq, Sk], more than half of the device's %.1f GiB (use the fused path)",
                    ws / (double) (1L << 30), dev.totalMemory() / (double) (1L << 30)));
        }
        boolean qkBlas = gemm == GemmProvider.CUBLAS && cublasQk(p);
        boolean pvBlas = gemm == GemmProvider.CUBLAS && cublasPv(p);
        if ((!qkBlas || !pvBlas) && bh > LaunchConfig.MAX_GRID_YZ) {
            return Plan.no("B*Hq = " + bh + " exceeds the GEMM kernel's 65535 batch limit");
        }
        int[] shape = {p.batch(), p.headsQ(), p.seqQ(), p.seqK()};
        Tensor s = Tensor.of(new Workspace(ws), DType.F32, shape, Tensor.contiguousStrides(shape), 0);
        SoftmaxParams sm = SoftmaxParams.builder(s, s).masks(p.masks()).scale(p.scale()).build();
        Plan.Step smStep = softmaxStep(DType.F32, bh * p.seqQ(), p.seqK(), false, KernelArgs.softmax(sm));
        if (smStep == null) {
            return Plan.no("too many softmax rows: " + bh * p.seqQ());
        }
        int[] kv = p.masks().kvLengths();
        Plan.Step sQk = qkBlas ? library("qk", List.of(new Arg.Buffer("q", p.q()), new Arg.Buffer("k", p.k()),
                new Arg.Buffer("c", s))) : bgemmStep("qk", p.dtype(), p.seqQ(), p.seqK(), bh,
                KernelArgs.bgemm(qk(p), p.q(), p.k(), s, kv));
        Plan.Step sPv = pvBlas ? library("pv", List.of(new Arg.Buffer("a", s), new Arg.Buffer("v", p.v()),
                new Arg.Buffer("o", p.o()))) : bgemmStep("pv", p.dtype(), p.seqQ(), p.headDimV(), bh,
                KernelArgs.bgemm(pv(p), s, p.v(), p.o(), kv));
        return Plan.of("unfused-qk:" + (qkBlas ? "cublas" : "kernel") + "-softmax-pv:" + (pvBlas ? "cublas" : "kernel")
                + "-" + dt(p.dtype()), ws, List.of(sQk, smStep, sPv));
    }

    /** The batched GEMM kernel step: "qk" is {@code <dt,dt,f32>}, "pv" is {@code <f32,dt,dt>}. */
    static Plan.Step bgemmStep(String which, DType dtype, long m, long n, long batchHeads, List<Arg> args) {
        String d = dt(dtype);
        String entry = which.equals("qk") ? "attn_bgemm_" + d + "_" + d + "_f32" : "attn_bgemm_f32_" + d + "_" + d;
        long gx = LaunchConfig.ceilDiv(m, CudaTables.GEMM_TM) * LaunchConfig.ceilDiv(n, CudaTables.GEMM_TN);
        return kernel("gemm", entry, gx, Math.min(batchHeads, LaunchConfig.MAX_GRID_YZ), 1, CudaTables.GEMM_THREADS, 0,
                args);
    }

    // ------------------------------------------------------------------ masked softmax

    /** Warp per row up to SOFTMAX_WARP_MAX_SK keys, block per row above. Null when the grid cannot hold the rows. */
    static Plan.Step softmaxStep(DType dtype, long rows, int seqK, boolean backward, List<Arg> args) {
        String base = (backward ? KernelId.MASKED_SOFTMAX_BWD : KernelId.MASKED_SOFTMAX).entry(dtype);
        if (seqK <= CudaTables.SOFTMAX_WARP_MAX_SK) {
            long gx = LaunchConfig.ceilDiv(rows, CudaTables.SOFTMAX_WARP_ROWS);
            return LaunchConfig.fits(gx, 1, 1)
                    ? kernel("softmax", base + "_warp", gx, 1, 1, 32 * CudaTables.SOFTMAX_WARP_ROWS, 0, args) : null;
        }
        return LaunchConfig.fits(rows, 1, 1)
                ? kernel("softmax", base, rows, 1, 1, CudaTables.SOFTMAX_BLOCK_THREADS, 0, args) : null;
    }

    static Plan softmaxPlan(DType dtype, long rows, int seqK, boolean backward, List<Arg> args) {
        Plan.Step s = softmaxStep(dtype, rows, seqK, backward, args);
        if (s == null) {
            return Plan.no("rows = " + rows + " exceed the grid limit");
        }
        return Plan.of((s.entry().endsWith("_warp") ? "warp-per-row-" : "block-per-row-") + dt(dtype), 0, List.of(s));
    }

    // ------------------------------------------------------------------ additive

    static CudaTables.AdditiveTile additiveTile(int dv) {
        for (CudaTables.AdditiveTile t : CudaTables.ADDITIVE_TILES) {
            if (dv <= t.dmax()) {
                return t;
            }
        }
        return null;
    }

    /** Bytes of the fp32 projection workspace of a raw call: Qp [B,H,Sq,A] then Kp [B,H,Sk,A]. */
    static long projectionWorkspace(AdditiveParams p) {
        return p.raw() ? (long) p.batch() * p.heads() * ((long) p.seqQ() + p.seqK()) * p.dimA() * 4L : 0;
    }

    static Plan additive(AdditiveParams p, DeviceProps dev, GemmProvider gemm) {
        CudaTables.AdditiveTile t = additiveTile(p.headDimV());
        int top = CudaTables.ADDITIVE_TILES.get(CudaTables.ADDITIVE_TILES.size() - 1).dmax();
        if (t == null) {
            return Plan.no("Dv = " + p.headDimV() + ": the CUDA additive kernel takes Dv <= " + top);
        }
        if ((p.w().dim(0) > 1 && p.w().stride(0) != 1) || (p.b() != null && p.b().dim(0) > 1 && p.b().stride(0) != 1)) {
            return Plan.no("w and b must be contiguous (the kernel addresses them as w_off + a, b_off + a)");
        }
        long bh = (long) p.batch() * p.heads();
        long gy = LaunchConfig.ceilDiv(p.seqQ(), t.bm());
        if (!LaunchConfig.fits(bh, gy, 1)) {
            return Plan.no("grid (" + bh + ", " + gy + ") exceeds CUDA's limits");
        }
        String entry = KernelId.ADDITIVE_FWD.entry(p.dtype()) + (p.raw() ? "_qkf32" : "") + (t.dmax() < top ? "_d"
                + t.dmax() : "");
        String v = "fused-d" + t.dmax() + "-" + dt(p.dtype()) + (p.weights() != null ? "-two-pass-weights" : "");
        if (!p.raw()) {
            return Plan.of(v, 0, List.of(kernel("additive", entry, bh, gy, 1, t.threads(), t.smemBytes(),
                    KernelArgs.additiveFwd(p))));
        }
        long ws = projectionWorkspace(p);
        Workspace w = new Workspace(ws);
        int a = p.dimA();
        int[] qs = {p.batch(), p.heads(), p.seqQ(), a};
        int[] ks = {p.batch(), p.heads(), p.seqK(), a};
        Tensor qp = Tensor.of(w, DType.F32, qs, Tensor.contiguousStrides(qs), 0);
        Tensor kp = Tensor.of(w, DType.F32, ks, Tensor.contiguousStrides(ks), Tensor.numel(qs));
        boolean cublas = gemm == GemmProvider.CUBLAS && cublasProjection(p);
        List<Plan.Step> steps = new ArrayList<>();
        for (Tensor[] xwc : new Tensor[][] {{p.q(), p.wq(), qp}, {p.k(), p.wk(), kp}}) {
            List<Arg> args = KernelArgs.gemmNt(xwc[0], xwc[1], xwc[2]);
            if (cublas) {
                steps.add(library("projection", args.subList(1, args.size())));
                continue;
            }
            long gx = LaunchConfig.ceilDiv(xwc[0].dim(2), CudaTables.GEMM_TM) * LaunchConfig.ceilDiv(a, CudaTables.GEMM_TN);
            if (!LaunchConfig.fits(gx, bh, 1)) {
                return Plan.no("B*H = " + bh + " exceeds the projection GEMM kernel's 65535 batch limit");
            }
            steps.add(kernel("gemm", KernelId.GEMM_NT.entry(p.dtype()), gx, bh, 1, CudaTables.GEMM_THREADS, 0, args));
        }
        steps.add(kernel("additive", entry, bh, gy, 1, t.threads(), t.smemBytes(),
                KernelArgs.additiveFwd(p.withProjected(qp, kp))));
        return Plan.of("projection:" + (cublas ? "cublas" : "kernel") + "-" + v, ws, steps);
    }

    /** cuBLAS takes the projections when the feature dims are the unit strides. */
    static boolean cublasProjection(AdditiveParams p) {
        return p.q().stride(3) == 1 && p.k().stride(3) == 1 && p.wq().stride(1) == 1 && p.wk().stride(1) == 1
                && CublasGemm.fits(p);
    }

    /** The default shared-memory limit that the SIMT additive backward stays within. */
    static final int ADDBWD_SMEM_LIMIT = 48 * 1024;

    /**
     * The additive backward (additive_bwd.cu): [raw: the forward's projections into the fp32
     * workspace], pre, dq, dkv, reduce, [raw: dq/dk through proj, dWq/dWk through wgrad]. The SIMT
     * kernels keep each thread's rows in shared memory, so A and Dv are bounded by the 48 KiB limit.
     */
    static Plan additiveBackward(AdditiveBackwardParams p, DeviceProps dev, GemmProvider gemm) {
        int a = p.dimA(), dv = p.headDimV(), t = CudaTables.ADDBWD_THREADS, bn = CudaTables.ADDBWD_BN;
        int smem = 4 * (t * (3 * a + 2 * dv) + bn * (a + dv) + a + 4 * bn);
        if ((long) t * (3L * a + 2L * dv) + (long) bn * (a + dv) + a + 4L * bn > ADDBWD_SMEM_LIMIT / 4) {
            return Plan.no("A = " + a + ", Dv = " + dv + ": the CUDA additive backward keeps " + t + " rows of 3A + 2Dv floats"
                    + " and a tile in 48 KiB of shared memory (" + smem + " B needed)");
        }
        long bh = (long) p.batch() * p.heads();
        int qBlocks = (int) LaunchConfig.ceilDiv(p.seqQ(), t), kBlocks = (int) LaunchConfig.ceilDiv(p.seqK(), t);
        if (!LaunchConfig.fits(Math.max(qBlocks, kBlocks), bh, 1)) {
            return Plan.no("grid (" + Math.max(qBlocks, kBlocks) + ", " + bh + ") exceeds CUDA's limits");
        }
        DType dt = p.dtype();
        long sqA = bh * p.seqQ() * a, skA = bh * p.seqK() * a;
        long stOff = p.raw() ? 2 * (sqA + skA) : 0, dwpOff = stOff + 2 * bh * p.seqQ(), dbpOff = dwpOff + bh * kBlocks * a;
        long ws = 4L * (dbpOff + (p.db() != null ? bh * qBlocks * a : 1));
        Workspace w = new Workspace(ws);
        Tensor st = Tensor.of(w, DType.F32, new int[] {(int) (2 * bh * p.seqQ())}, new long[] {1}, stOff);
        Tensor dwp = Tensor.of(w, DType.F32, new int[] {(int) (bh * kBlocks * a)}, new long[] {1}, dwpOff);
        Tensor dbp = Tensor.of(w, DType.F32, new int[] {p.db() != null ? (int) (bh * qBlocks * a) : 1}, new long[] {1},
                dbpOff);
        List<Plan.Step> steps = new ArrayList<>();
        AdditiveBackwardParams f = p;
        Tensor dqp = null, dkp = null;
        if (p.raw()) {
            int[] qs = {p.batch(), p.heads(), p.seqQ(), a};
            int[] ks = {p.batch(), p.heads(), p.seqK(), a};
            Tensor qp = Tensor.of(w, DType.F32, qs, Tensor.contiguousStrides(qs), 0);
            Tensor kp = Tensor.of(w, DType.F32, ks, Tensor.contiguousStrides(ks), sqA);
            dqp = Tensor.of(w, DType.F32, qs, Tensor.contiguousStrides(qs), sqA + skA);
            dkp = Tensor.of(w, DType.F32, ks, Tensor.contiguousStrides(ks), 2 * sqA + skA);
            for (Tensor[] xwc : new Tensor[][] {{p.q(), p.wq(), qp}, {p.k(), p.wk(), kp}}) {
                long gx = LaunchConfig.ceilDiv(xwc[0].dim(2), CudaTables.GEMM_TM) * LaunchConfig.ceilDiv(a, CudaTables.GEMM_TN);
                if (!LaunchConfig.fits(gx, bh, 1)) {
                    return Plan.no("B*H = " + bh + " exceeds the projection GEMM kernel's 65535 batch limit");
                }
                steps.add(kernel("gemm", KernelId.GEMM_NT.entry(dt), gx, bh, 1, CudaTables.GEMM_THREADS, 0,
                        KernelArgs.gemmNt(xwc[0], xwc[1], xwc[2])));
            }
            f = p.withProjected(qp, kp, dqp, dkp);
        }
        String sfx = p.raw() ? "_qkf32" : "";
        for (KernelId id : new KernelId[] {KernelId.ADDITIVE_BWD_PRE, KernelId.ADDITIVE_BWD_DQ, KernelId.ADDITIVE_BWD_DKV}) {
            steps.add(kernel("additive_bwd", id.entry(dt) + sfx, id == KernelId.ADDITIVE_BWD_DKV ? kBlocks : qBlocks, bh, 1,
                    t, smem, KernelArgs.additiveBwd(id, f, qBlocks, kBlocks, st, dwp, dbp)));
        }
        steps.add(kernel("additive_bwd", KernelId.ADDITIVE_BWD_REDUCE.entry(dt), LaunchConfig.ceilDiv(a, 64), 1, 1, 64, 0,
                KernelArgs.additiveBwd(KernelId.ADDITIVE_BWD_REDUCE, f, qBlocks, kBlocks, st, dwp, dbp)));
        if (p.raw()) {
            Object[][] sides = {{p.q(), p.dq(), p.wq(), p.dwq(), dqp}, {p.k(), p.dk(), p.wk(), p.dwk(), dkp}};
            for (Object[] s : sides) {
                Tensor x = (Tensor) s[0], dx = (Tensor) s[1], wt = (Tensor) s[2], dwt = (Tensor) s[3], dxp = (Tensor) s[4];
                long gx = LaunchConfig.ceilDiv(x.dim(3), 64);
                if (!LaunchConfig.fits(gx, x.dim(2), bh)) {
                    return Plan.no("grid (" + gx + ", " + x.dim(2) + ", " + bh + ") exceeds CUDA's limits");
                }
                steps.add(kernel("additive_bwd", KernelId.ADDITIVE_BWD_PROJ.entry(dt), gx, x.dim(2), bh, 64, 0,
                        KernelArgs.additiveProj(KernelId.ADDITIVE_BWD_PROJ, x, dx, wt, dwt, dxp)));
                if (dwt != null) {
                    steps.add(kernel("additive_bwd", KernelId.ADDITIVE_BWD_WGRAD.entry(dt), gx, a, 1, 64, 0,
                            KernelArgs.additiveProj(KernelId.ADDITIVE_BWD_WGRAD, x, dx, wt, dwt, dxp)));
                }
            }
        }
        return Plan.of("simt-additive-bwd-" + dt(dt) + (p.raw() ? "+projection-kernel" : ""), ws, steps);
    }

    /** The default shared-memory limit that the SIMT SDPA backward stays within. */
    static final int SDPABWD_SMEM_LIMIT = 48 * 1024;

    /**
     * The SDPA backward (sdpa_bwd.cu): pre (Delta and LSE into the fp32 workspace), dkdv (a block per
     * THREADS keys of a (b, kv head), GQA summed inside), dq (a block per THREADS rows of a (b, q head)),
     * [dbias (a block per THREADS rows of a dBias slice)]; one argument list for all four. Each thread's
     * rows live in shared memory, so D and Dv are bounded by the 48 KiB limit.
     */
    static Plan sdpaBackward(SdpaBackwardParams p) {
        int d = p.headDim(), dv = p.headDimV(), t = CudaTables.SDPABWD_THREADS, bn = CudaTables.SDPABWD_BN;
        long kvFloats = (long) t * (2L * d + 2L * dv) + (long) bn * (d + dv + 2);
        long qFloats = (long) t * (2L * d + dv) + (long) bn * (d + dv);
        if (4 * kvFloats > SDPABWD_SMEM_LIMIT) {
            return Plan.no("D = " + d + ", Dv = " + dv + ": the CUDA SDPA backward keeps " + t + " keys of 2D + 2Dv floats"
                    + " and a " + bn + "-row tile in 48 KiB of shared memory (" + 4 * kvFloats + " B needed)");
        }
        long nrows = (long) p.batch() * p.headsQ() * p.seqQ();
        long qBlocks = LaunchConfig.ceilDiv(p.seqQ(), t), kBlocks = LaunchConfig.ceilDiv(p.seqK(), t);
        long bhq = (long) p.batch() * p.headsQ(), bhk = (long) p.batch() * p.headsKv();
        long dbSlices = p.dbias() == null ? 1 : (long) p.dbias().dim(0) * p.dbias().dim(1);
        long preBlocks = LaunchConfig.ceilDiv(nrows, t);
        if (!LaunchConfig.fits(preBlocks, 1, 1) || !LaunchConfig.fits(qBlocks, bhq, 1) || !LaunchConfig.fits(kBlocks, bhk, 1)
                || !LaunchConfig.fits(qBlocks, dbSlices, 1)) {
            return Plan.no("the SDPA backward's grid (" + Math.max(qBlocks, kBlocks) + ", " + bhq + ") exceeds CUDA's limits");
        }
        long ws = 2 * 4 * nrows;
        int[] wsShape = {2, p.batch(), p.headsQ(), p.seqQ()};
        Tensor wsT = Tensor.of(new Workspace(ws), DType.F32, wsShape, Tensor.contiguousStrides(wsShape), 0);
        List<Arg> args = KernelArgs.sdpaBackward(p, wsT);
        DType dt = p.dtype();
        int smemKv = (int) (4 * kvFloats), smemQ = (int) (4 * qFloats);
        List<Plan.Step> steps = new ArrayList<>();
        steps.add(kernel("sdpa_bwd", KernelId.SDPA_BWD_PRE.entry(dt), preBlocks, 1, 1, t, 0, args));
        steps.add(kernel("sdpa_bwd", KernelId.SDPA_BWD_DKDV.entry(dt), kBlocks, bhk, 1, t, smemKv, args));
        steps.add(kernel("sdpa_bwd", KernelId.SDPA_BWD_DQ.entry(dt), qBlocks, bhq, 1, t, smemQ, args));
        if (p.dbias() != null) {
            steps.add(kernel("sdpa_bwd", KernelId.SDPA_BWD_DBIAS.entry(dt), qBlocks, dbSlices, 1, t, smemQ, args));
        }
        return Plan.of("simt-sdpa-bwd-" + dt(dt) + (p.dbias() != null ? "+dbias" : ""), ws, steps);
    }

    // ------------------------------------------------------------------ public GEMM

    /**
     * The public batched GEMM: cuBLAS when it loaded and the operands suit its leading-dimension
     * rules ({@link CublasGemm#fits(GemmParams)}), else {@code attn_gemm_<dt>} of {@code gemm.cu}.
     */
    static Plan gemm(GemmParams g, GemmProvider provider) {
        String d = dt(g.dtype());
        if (provider == GemmProvider.CUBLAS && CublasGemm.fits(g)) {
            return Plan.of("gemm-cublas-" + d, 0, List.of(library("gemm", KernelArgs.gemm(g).subList(1, 4))));
        }
        long gx = LaunchConfig.ceilDiv(g.m(), CudaTables.GEMM_TM) * LaunchConfig.ceilDiv(g.n(), CudaTables.GEMM_TN);
        if (!LaunchConfig.fits(gx, g.batch(), 1)) {
            return Plan.no("grid (" + gx + ", " + g.batch() + ") exceeds CUDA's limits (batch <= 65535)");
        }
        String why = provider == GemmProvider.CUBLAS ? " (cuBLAS not used: no unit stride in a matrix dim of each operand)"
                : "";
        return Plan.of("gemm-kernel-" + d + why, 0, List.of(kernel("gemm", KernelId.GEMM.entry(g.dtype()), gx, g.batch(), 1,
                CudaTables.GEMM_THREADS, 0, KernelArgs.gemm(g))));
    }
}
