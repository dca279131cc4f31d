package io.github.attn4j.opencl;

import io.github.attn4j.AdditiveBackwardParams;
import io.github.attn4j.AdditiveParams;
import io.github.attn4j.GemmParams;
import io.github.attn4j.RopeParams;
import io.github.attn4j.DType;
import io.github.attn4j.KvAppendParams;
import io.github.attn4j.Masks;
import io.github.attn4j.MergeParams;
import io.github.attn4j.OpParams;
import io.github.attn4j.OpVisitor;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxBackwardParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.spi.KernelArgs;
import io.github.attn4j.spi.KernelId;
import io.github.attn4j.spi.Plan;
import io.github.attn4j.spi.Workspace;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The OpenCL planner: which kernels run a call, specialised by which {@code -D} constants, on
 * which NDRange, bound to which arguments. {@link #plan} is the one decision that
 * {@code supports()}, {@code workspaceBytes()} and the launch all read.
 */
final class OpenClPlans {
    private OpenClPlans() {}

    /**
     * The tuning table: every tile size and vector width of every kernel, per device class. The
     * kernels only check (#error) that the values they get are consistent; the planner shrinks the
     * work-groups and tiles to the device's reported limits.
     *
     * @param vw            vector width: score chunk, accumulator chunk and attention-dim chunk
     * @param sdpaBlockN    keys per K/V tile (a multiple of vw, at most 64)
     * @param sdpaRows      query rows per work-item (register blocking of the score and PV loops)
     * @param sdpaWg        work-items per SDPA work-group; BLOCK_M = sdpaWg * sdpaRows
     * @param addBlockN     keys per additive tile
     * @param addWg         work-items (= query rows) per additive work-group
     * @param smShortMax    softmax rows up to this length use the short-row shape
     * @param smKeysPerThread keys per thread aimed at in the short-row shape
     * @param smShortGroup  work-items per short-row work-group (rows * threads per row)
     * @param smLongThreads threads per row in the long-row shape
     * @param gemmTile      projection GEMM tile edge
     * @param smRowPerItem  softmax: 0 = the work-group shapes above; N > 0 = one row per work-item,
     *                      work-groups of one, N work-items per compute unit walking the rows
     *                      (CPUs: no barriers or local memory, VW-wide vectors along the row)
     * @param gemmCpu       public GEMM: 1 = the CPU form (a work-item per C block, packed B panel,
     *                      register micro-kernel), 0 = the GPU form (work-group tiles in local memory)
     * @param bwdCpu        SDPA backward: 1 = the CPU forms where the call allows them: the fused form (a
     *                      work-item per batch and kv head computing dQ, dK and dV, query rows as vector
     *                      lanes) when those items fill the device ({@link #BWD_FUSED_ITEMS_PER_CU}), else a
     *                      work-item per key tile (dK/dV) and one per row block (dQ), keys as vector lanes; 2 = the fused form
     *                      wherever the CPU forms are allowed; 0 = the work-group forms always
     * @param decWg         split-KV decode: 0 = a work-item per (split, batch, block of kv heads) (CPUs);
     *                      N > 0 = a work-group of N items per (split, batch, kv head) (GPUs)
     * @param fwdCpu        SDPA forward: 1 = the CPU form where the call allows it (a work-item per block of
     *                      query rows, the rows as vector lanes, register micro-kernels), 0 = the work-group form
     * @param fwdCopyKiB    SDPA forward, CPU form: K and V rows not adjacent in memory are copied a block at a time,
     *                      the next block prefetched, when a kv head's K and V span more than this many KiB
     *                      ({@link #rowsApart}); 0 = whenever they are apart (tests)
     * @param smNtKiB       softmax forward and backward, row-per-item form on a CPU device: an output (Y, dX) of
     *                      more than this many KiB is written with non-temporal stores (no read-for-ownership; it
     *                      leaves the caches); 0 = always (tests)
     * @param fwdHeads      SDPA forward, CPU form: at most this many query heads of one kv head per work-item, each
     *                      key block read once for them ({@link #fwdCpuHeads}); 1 = a head per work-item
     */
    record Tune(int vw, int sdpaBlockN, int sdpaRows, int sdpaWg, int addBlockN, int addWg, int smShortMax,
            int smKeysPerThread, int smShortGroup, int smLongThreads, int gemmTile, int smRowPerItem, int gemmCpu,
            int bwdCpu, int decWg, int fwdCpu, int fwdCopyKiB, int smNtKiB, int fwdHeads) {
        /**
         * CPUs (PoCL, measured in bench/results/opencl-pocl.md): 16-wide explicit vectors (one zmm),
         * 4 query rows per work-item, 64-key tiles and 64 work-items, so 256 rows share each K/V tile.
         */
        static final Tune CPU = new Tune(16, 64, 4, 64, 32, 32, 4096, 512, 64, 16, 16, 8, 1, 1, 0, 1, 2048, 8192, 4);
        /**
         * GPUs: one row per work-item, float4 vectors, 128-item groups; softmax rows per work-group;
         * a 64-item work-group per decode split.
         */
        static final Tune GPU = new Tune(4, 32, 1, 128, 32, 64, 1024, 16, 256, 256, 16, 0, 0, 0, 64, 0, 2048, 8192, 1);

        /** The row for a device class with the options' overrides applied (once, when the backend opens). */
        static Tune of(boolean cpu, OpenClOptions o) {
            Tune t = cpu ? CPU : GPU;
            if (o.tune().isEmpty()) {
                return t;
            }
            int[] v = {t.vw, t.sdpaBlockN, t.sdpaRows, t.sdpaWg, t.addBlockN, t.addWg, t.smShortMax, t.smKeysPerThread,
                t.smShortGroup, t.smLongThreads, t.gemmTile, t.smRowPerItem, t.gemmCpu, t.bwdCpu, t.decWg, t.fwdCpu,
                t.fwdCopyKiB, t.smNtKiB, t.fwdHeads};
            for (String kv : o.tune().split(",")) {
                String[] p = kv.trim().split("=");
                v[OpenClOptions.TUNE_NAMES.indexOf(p[0].trim())] = Integer.parseInt(p[1].trim());
            }
            return new Tune(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14],
                    v[15], v[16], v[17], v[18]);
        }
    }

    /** The work-group limit of a compiled kernel ({@code CL_KERNEL_WORK_GROUP_SIZE}), by step. */
    interface KernelLimits {
        long maxWorkGroupSize(Plan.Step step);
    }

    /** Head dims (D, Dv) and the attention dim A are specialised up to these (private arrays). */
    static final int MAX_HEAD_DIM = 512, MAX_DIM_A = 1024;

    /**
     * The plan of a call. A kernel may allow fewer work-items per group than the device (registers,
     * private memory): then the planner chooses again under the kernel's limit, here, so the plan
     * that {@code supports()} reports is the one that launches.
     */
    static Plan plan(OpParams p, OpenClDevice dev, Tune t, KernelLimits limits) {
        Plan plan = choose(p, dev, t);
        for (int attempt = 0; attempt < 4 && plan.supported(); attempt++) {
            long limit = Long.MAX_VALUE;
            for (Plan.Step s : plan.steps()) {
                long k = limits.maxWorkGroupSize(s);
                if (s.blockItems() > k) {
                    limit = Math.min(limit, k);
                }
            }
            if (limit == Long.MAX_VALUE) {
                return plan;
            }
            if (limit < 1) {
                return Plan.no(plan.step(0).entry() + " reports a work-group limit of " + limit + " on this device");
            }
            Plan again = choose(p, dev.withMaxWorkGroupSize(limit), t);
            if (!again.supported()) {
                return Plan.no(plan.step(plan.steps().size() - 1).entry() + " allows only " + limit
                        + " work-items per group on this device: " + again.reason());
            }
            plan = again;
        }
        return plan.supported() ? Plan.no("no work-group shape fits the kernel limits of " + plan.step(0).entry()) : plan;
    }

    /** The plan for the device's limits, before the compiled kernels' own limits are known. */
    static Plan choose(OpParams p, OpenClDevice dev, Tune t) {
        String big = tooLarge(p, dev);
        if (big != null) {
            return Plan.no(big);
        }
        return p.accept(new OpVisitor<Plan>() {
            @Override
            public Plan sdpa(SdpaParams s) {
                return OpenClPlans.sdpa(s, dev, t);
            }

            @Override
            public Plan softmax(SoftmaxParams s) {
                return OpenClPlans.softmax(s.dtype(), s.rows(), s.seqK(), s.masks(), dev, t, false,
                        KernelArgs.softmax(s));
            }

            @Override
            public Plan softmaxBackward(SoftmaxBackwardParams s) {
                return OpenClPlans.softmax(s.dtype(), s.rows(), s.seqK(), Masks.NONE, dev, t, true,
                        KernelArgs.softmaxBackward(s));
            }

            @Override
            public Plan additive(AdditiveParams a) {
                return OpenClPlans.additive(a, dev, t);
            }

            @Override
            public Plan sdpaBackward(SdpaBackwardParams s) {
                return OpenClPlans.sdpaBackward(s, dev, t);
            }

            @Override
            public Plan merge(MergeParams m) {
                return OpenClPlans.merge(m, dev);
            }

            @Override
            public Plan kvAppend(KvAppendParams k) {
                return OpenClPlans.kvAppend(k, dev);
            }

            @Override
            public Plan additiveBackward(AdditiveBackwardParams a) {
                return OpenClPlans.additiveBackward(a, dev, t);
            }

            @Override
            public Plan gemm(GemmParams g) {
                return OpenClGemmPlan.plan(g, dev, t);
            }

            @Override
            public Plan rope(RopeParams r) {
                return OpenClGemmPlan.rope(r, dev);
            }
        });
    }

    /** Work-items per group of the strided copy (fewer when the device or kernel allows fewer). */
    static final int COPY_WG = 256;

    /** The strided copy kernel {@code attn_copy_u<bits>} between two device views of one shape. */
    static Plan copy(Tensor src, Tensor dst, OpenClDevice dev, KernelLimits limits) {
        long n = src.numel();
        String t = switch (src.dtype().bytes()) {
            case 1 -> "uchar";
            case 2 -> "ushort";
            default -> "uint";
        };
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("DT_F32", 1);
        c.put("DT_SUFFIX", "u" + 8 * src.dtype().bytes());
        c.put("COPY_T", t);
        long wg = Math.min(COPY_WG, pow2Floor(dev.maxWorkGroupSize()));
        for (int attempt = 0; attempt < 2; attempt++) {
            long groups = Math.max(1, Math.min(ceilDiv(n, wg), 4L * dev.computeUnits() * 64));
            Plan.Step step = new Plan.Step("copy", KernelId.copyEntry(src.dtype()), c, new long[] {groups},
                    new long[] {wg}, 0, KernelArgs.copy(src, dst));
            long limit = limits.maxWorkGroupSize(step);
            if (wg <= limit) {
                return Plan.of("copy-" + c.get("DT_SUFFIX"), 0, List.of(step));
            }
            wg = pow2Floor(limit);
        }
        return Plan.no("the copy kernel fits no work-group on this device");
    }

    /** Every tensor (and so every staged copy of host memory) must fit one device allocation. */
    private static String tooLarge(OpParams p, OpenClDevice dev) {
        List<Tensor> all = new ArrayList<>(p.inputs());
        all.addAll(p.outputs());
        for (Tensor x : all) {
            long bytes = x.memory().byteSize();
            if (bytes > dev.maxAllocBytes()) {
                return "a tensor's memory (" + x.memory().describe() + ") exceeds the device's largest allocation, "
                        + dev.maxAllocBytes() + " B";
            }
        }
        return null;
    }

    /** Whether a float workspace of {@code bytes} fits one allocation and int element indices. */
    private static boolean floatWorkspaceFits(long bytes, OpenClDevice dev) {
        return bytes <= dev.maxAllocBytes() && bytes / 4 <= Integer.MAX_VALUE;
    }

    private static int roundUp(int x, int m) {
        return (x + m - 1) / m * m;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    private static int pow2Floor(long x) {
        return x <= 1 ? 1 : Integer.highestOneBit((int) Math.min(x, 1 << 30));
    }

    private static int pow2Ceil(long x) {
        return x <= 1 ? 1 : Integer.highestOneBit((int) Math.min(x - 1, 1 << 29)) << 1;
    }

    /** The widest vector load (16, 8, 4; 1 = scalar) that divides a row of n elements. */
    static int loadWidth(int n) {
        for (int w : new int[] {16, 8, 4}) {
            if (n % w == 0) {
                return w;
            }
        }
        return 1;
    }

    private static String dt(DType t) {
        return t.name().toLowerCase(Locale.ROOT);
    }

    /** The storage-type constants every program takes. */
    private static Map<String, Object> dtypeConstants(DType dt) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("DT_" + dt.name(), 1);
        c.put("DT_SUFFIX", dt(dt));
        return c;
    }

    private static void maskConstants(Map<String, Object> c, Masks m) {
        c.put("HAS_BOOL_MASK", b(m.boolMask() != null));
        c.put("HAS_BIAS", b(m.bias() != null));
        c.put("HAS_ALIBI", b(m.alibiSlopes() != null));
        c.put("HAS_WINDOW", b(m.hasWindow()));
        c.put("HAS_KV_LEN", b(m.kvLengths() != null));
        c.put("HAS_Q_LEN", b(m.qLengths() != null));
    }

    private static int b(boolean x) {
        return x ? 1 : 0;
    }

    /** Keys per online-softmax step of the decode kernel. */
    static final int DECODE_BN = 16;

    /**
     * Why a call cannot take the split-KV decode kernel, or null when it can: one query row, no
     * per-element score work (bool mask, bias, ALiBi, softcap), unit-stride K/V rows of multiples of
     * the vector width, a group of at most 16 query heads per kv head; on a GPU the work-group
     * variant ({@code decWg > 0}, the GPU row's default) whose group holds a tile's keys and heads.
     */
    static String decodeProblem(SdpaParams s, OpenClDevice dev, Tune t) {
        Masks m = s.masks();
        if (!dev.cpu() && t.decWg == 0) {
            return "a GPU device with decWg=0 (the work-item-per-split variant is for CPUs)";
        }
        if (t.decWg > 0 && decodeWg(dev, t) < Math.max(DECODE_BN, s.group())) {
            return "the decode work-group (" + decodeWg(dev, t) + " items) is smaller than " + DECODE_BN
                    + " keys or the " + s.group() + " heads of a group";
        }
        if (s.seqQ() != 1) {
            return "Sq = " + s.seqQ() + " (the decode kernel takes one query row)";
        }
        if (m.boolMask() != null || m.bias() != null || m.alibiSlopes() != null || s.hasSoftcap()) {
            return "per-element score work (bool mask, bias, ALiBi or softcap)";
        }
        int vw = cpuVectorWidth(dev, t);
        if (s.k().stride(3) != 1 || s.v().stride(3) != 1 || s.headDim() % vw != 0 || s.headDimV() % vw != 0
                || s.headDim() > 256 || s.headDimV() > 256) {
            return "K/V rows are not unit-stride multiples of " + vw + " up to 256";
        }
        if (s.group() > 16) {
            return "more than 16 query heads per kv head";
        }
        return null;
    }

    /**
     * The vector width of the CPU-device kernels with register micro-kernels (split-KV decode, the CPU
     * forms of the SDPA backward): the device's preferred float width (one register: 8 on AVX2, 16 on
     * AVX-512) where it reports 4, 8 or 16, else the tuning table's; their register blocking is sized
     * for one register per vector.
     */
    static int cpuVectorWidth(OpenClDevice dev, Tune t) {
        int w = dev.preferredFloatWidth();
        return w == 4 || w == 8 || w == 16 ? w : t.vw;
    }

    /** Private bytes of per-head state (Q and O rows) one decode work-item may hold: half of a 64 KiB L1/L2 budget. */
    static final int DECODE_STATE_BYTES = 32 << 10;

    /**
     * The kv heads per decode work-item. Where a kv head's key rows are contiguous (dense BHSD) one
     * kv head per item: each item then streams two contiguous runs. Where they are not (the NHD page
     * layout, BSHD: the kv heads interleave row by row), the largest divisor of Hkv whose query heads'
     * Q and O rows fit {@link #DECODE_STATE_BYTES}: walking several kv heads per key turns the item's
     * reads into whole [key, kv heads, D] runs, where one kv head per item would touch one 4 KiB page
     * per key (paged decode ran 2.4-3x slower than dense with one kv head per item).
     */
    static int decodeHeadsPerItem(SdpaParams s) {
        boolean headRowsContiguous = !s.isPaged() && s.k().stride(2) == s.headDim() && s.v().stride(2) == s.headDimV();
        if (headRowsContiguous) {
            return 1;
        }
        long perHead = 4L * s.group() * (s.headDim() + s.headDimV());
        int best = 1;
        for (int h = 1; h <= s.headsKv(); h++) {
            if (s.headsKv() % h == 0 && h * perHead <= DECODE_STATE_BYTES) {
                best = h;
            }
        }
        return best;
    }

    /** Items per work-group of the decode's GPU variant: decWg within the device's limit (a power of two). */
    static int decodeWg(OpenClDevice dev, Tune t) {
        return (int) Math.min(t.decWg, pow2Floor(dev.maxWorkGroupSize()));
    }

    /**
     * The split-KV decode plan: a work-item per (split, batch, block of kv heads) with the kv heads'
     * query heads packed together (CPUs), or a work-group of {@code decWg} items per (split, batch,
     * kv head) (GPUs), then the combine. Splits fill the device: at least 8 work-items (work-groups)
     * per compute unit, at least 256 keys per split, at most 64 splits; a split count of one still
     * runs the combine (it writes O and LSE from the single partial).
     */
    private static Plan sdpaDecode(SdpaParams s, OpenClDevice dev, Tune t) {
        int wg = t.decWg > 0 ? decodeWg(dev, t) : 0;
        if (wg > 0) {
            long local = 4L * (s.group() * (long) s.headDim() + DECODE_BN * (s.headDim() + 1L) + (long) s.group() * DECODE_BN
                    + 3L * s.group()) + 16L * DECODE_BN;
            if (local > dev.localMemBytes()) {
                return Plan.no("the decode work-group needs " + local + " B of local memory; the device has "
                        + dev.localMemBytes() + " B");
            }
        }
        int hkb = wg > 0 ? 1 : decodeHeadsPerItem(s);
        long items = (long) s.batch() * (s.headsKv() / hkb);
        int keys = s.seqK();
        int want = (int) Math.max(1, ceilDiv(8L * dev.computeUnits(), items));
        int splits = (int) Math.max(1, Math.min(Math.min(want, ceilDiv(keys, 256)), 64));
        long rows = (long) s.batch() * s.headsQ();
        long ws = 4L * splits * rows * (s.headDimV() + 1);
        if (ws > dev.maxAllocBytes()) {
            return Plan.no("the split-KV workspace (" + ws + " B) exceeds the device's largest allocation");
        }
        Workspace w = new Workspace(ws);
        Tensor oPart = Tensor.of(w, DType.F32, new int[] {Math.toIntExact(splits * rows * s.headDimV())}, new long[] {1}, 0);
        Tensor lsePart = Tensor.of(w, DType.F32, new int[] {Math.toIntExact(splits * rows)}, new long[] {1},
                splits * rows * s.headDimV());
        Map<String, Object> c = dtypeConstants(s.dtype());
        c.put("HEAD_DIM", s.headDim());
        c.put("HEAD_DIM_V", s.headDimV());
        c.put("VW", cpuVectorWidth(dev, t));
        c.put("GROUP", s.group());
        c.put("DEC_BN", DECODE_BN);
        c.put("DEC_HKB", hkb);
        c.put("DEC_WG", wg);
        maskConstants(c, s.masks());
        if (s.isPaged()) {
            c.put("PAGED", 1);
        }
        String dt = dt(s.dtype());
        Plan.Step dec = new Plan.Step("sdpa_decode", KernelId.SDPA_DECODE.entry(s.dtype()), c,
                new long[] {splits, items}, new long[] {Math.max(1, wg), 1}, 0,
                KernelArgs.sdpaDecode(s, oPart, lsePart, splits));
        Plan.Step comb = new Plan.Step("sdpa_decode", KernelId.SDPA_COMBINE.entry(s.dtype()), c, new long[] {rows},
                new long[] {1}, 0,
                KernelArgs.sdpaCombine(s, oPart, lsePart, splits));
        String name = String.format(Locale.ROOT, "decode-%ssplitkv%d-gqa%dx%d-%s-d%d-dv%d%s", wg > 0 ? "wg" + wg + "-" : "",
                splits, s.group(), hkb, dt, s.headDim(), s.headDimV(), s.isPaged() ? "-paged" : "");
        return Plan.of(name, ws, List.of(dec, comb));
    }

    /**
     * Keys per block of the row-lane CPU forms of the SDPA forward and backward (LANES_KB in common.cl, a
     * multiple of its 6-key score step): the forward's online-softmax step, the accumulators' load and store
     * and the f16/bf16 conversion of K and V happen once per block.
     */
    static final int LANES_KEYS = 48;

    /**
     * Row vectors per work-item of the row-lane CPU forms (LANES_FR in common.cl): a work-item owns
     * LANES_ROW_VECTORS * VW query rows, the lanes of its vectors; its micro-kernels keep 12 accumulators.
     */
    static final int LANES_ROW_VECTORS = 2;

    /**
     * Why a forward call cannot take the CPU form, or null when it can: unit-stride rows of Q, K, V and O, D and
     * Dv up to 256 (Q, the accumulators and a converted key block live in private memory).
     */
    static String fwdCpuProblem(SdpaParams s) {
        for (Tensor x : new Tensor[] {s.q(), s.k(), s.v(), s.o()}) {
            if (x.stride(3) != 1) {
                return "a tensor's last dim is not unit-stride";
            }
        }
        if (s.headDim() > 256 || s.headDimV() > 256) {
            return "D, Dv above 256";
        }
        return null;
    }

    /**
     * The CPU form of the SDPA forward launches its row blocks padded to a multiple of this many work-groups
     * (the padding groups return at once), so that its grid widths take few values (64, 128, ...; calls of up
     * to 1024 rows and 64 (batch, head) pairs share one): on PoCL each launch wider than every earlier one of
     * its kernel waits in {@link PoclLaunchGate} until the process's queues are idle (PoCL 3.1 loads a second
     * copy of the kernel for it and miscounts the first one's launches in flight).
     */
    static final int FWD_CPU_GROUPS = 64;

    /**
     * Whether consecutive rows (dim 2) of some tensor are not adjacent in memory (a paged NHD cache's head-major
     * view, BSHD). For the forward's CPU form with such K and V whose rows of one kv head span more than
     * {@code Tune.fwdCopyKiB} (2 MiB), the key blocks are copied into private rows (LANES_COPY in common.cl; f16 and bf16
     * are converted so anyway) and the next block's rows are prefetched between the micro-kernel's steps: read in
     * place, each key of a step is its own stream pages apart, which the hardware prefetchers do not follow, and
     * rows exactly 4 KiB apart share one L1 set. Measured in alternation (bench/results/sdpa-cpu-paged-prefetch-pocl):
     * 1.13-1.25x and 1.42-1.56x at Sk = 4096, D = 128 (pages of 16 and 256, two runs); at 2 MiB and below, where
     * the rows stay in the caches, the copy cost 0.82-0.89x, hence the threshold.
     */
    static boolean rowsApart(Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && t.stride(2) != t.dim(3)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The CPU form of the SDPA forward: a work-item per LANES_ROW_VECTORS * vw query rows of a (batch, query head), the rows as
     * the vector lanes (sdpa.cl, SDPA_CPU).
     */
    private static Plan sdpaCpu(SdpaParams s, int vw, int computeUnits, Tune t) {
        int d = s.headDim(), dv = s.headDimV(), rows = LANES_ROW_VECTORS * vw;
        int heads = fwdCpuHeads(s, rows, computeUnits, t);
        Map<String, Object> c = dtypeConstants(s.dtype());
        c.put("HEAD_DIM", d);
        c.put("HEAD_DIM_V", dv);
        c.put("VW", vw);
        c.put("LANES_KB", LANES_KEYS);
        c.put("LANES_FR", LANES_ROW_VECTORS);
        c.put("HAS_SOFTCAP", b(s.hasSoftcap()));
        c.put("HAS_LSE", b(s.lse() != null));
        c.put("SDPA_CPU", 1);
        maskConstants(c, s.masks());
        if (s.isPaged()) {
            c.put("PAGED", 1);
        }
        boolean copy = rowsApart(s.k(), s.v())
                && (long) s.seqK() * (d + dv) * s.dtype().bytes() > 1024L * t.fwdCopyKiB();
        c.put("LANES_COPY", b(copy));
        c.put("FWD_HEADS", heads);
        String name = String.format(Locale.ROOT, "flash-cpu-%s-d%d-dv%d-r%dk%d%s%s%s", dt(s.dtype()), d, dv, rows,
                LANES_KEYS, heads > 1 ? "-h" + heads : "", s.isPaged() ? "-paged" : "", copy ? "-copy" : "");
        return Plan.of(name, 0, List.of(new Plan.Step("sdpa", KernelId.SDPA_FWD.entry(s.dtype()), c,
                new long[] {ceilDiv(ceilDiv(s.seqQ(), rows), FWD_CPU_GROUPS) * FWD_CPU_GROUPS,
                    (long) s.batch() * s.headsQ() / heads}, new long[] {1, 1}, 0,
                KernelArgs.sdpaFwd(s))));
    }

    /**
     * Query heads per work-item of the SDPA forward's CPU form (FWD_HEADS in sdpa.cl): the largest divisor of the
     * GQA group up to {@code Tune.fwdHeads} whose private Q blocks and output accumulators (4 (D + Dv) bytes per
     * row and head) stay within 64 KiB, and that leaves at least 2 work-items with rows per compute unit. The item
     * reads (and, when it copies, converts) each key block once for all its heads, where an item per head read it
     * once per head. Measured in alternation against one head per item (bench/results/sdpa-cpu-heads-pocl, GQA
     * 32/8, D = 128, Sq = 256 over 4096 keys): paged caches 1.26-1.36x (f32) and 1.13-1.14x (f16), dense 1.09-1.11x.
     */
    static int fwdCpuHeads(SdpaParams s, int rows, int computeUnits, Tune t) {
        long blocks = (long) s.batch() * s.headsQ() * ceilDiv(s.seqQ(), rows);
        int best = 1;
        for (int h = 2; h <= Math.min(s.group(), t.fwdHeads()); h++) {
            if (s.group() % h == 0 && 4L * h * (s.headDim() + s.headDimV()) * rows <= 64 * 1024
                    && blocks / h >= 2L * computeUnits) {
                best = h;
            }
        }
        return best;
    }

    private static Plan sdpa(SdpaParams s, OpenClDevice dev, Tune t) {
        if (decodeProblem(s, dev, t) == null) {
            return sdpaDecode(s, dev, t);
        }
        int d = s.headDim(), dv = s.headDimV();
        if (d > MAX_HEAD_DIM || dv > MAX_HEAD_DIM) {
            return Plan.no("head dim D=" + d + ", Dv=" + dv + ": the OpenCL SDPA kernel is specialised up to "
                    + MAX_HEAD_DIM);
        }
        if (t.fwdCpu() != 0 && fwdCpuProblem(s) == null) {
            return sdpaCpu(s, cpuVectorWidth(dev, t), dev.computeUnits(), t);
        }
        int vw = t.vw;
        int dvPad = roundUp(dv, vw);
        int rows = t.sdpaRows;
        int wg = (int) Math.min(t.sdpaWg, dev.maxWorkGroupSize());
        // Fewer rows than a group: shrink the group (decode-like calls).
        while (wg > 8 && (long) wg * rows / 2 >= s.seqQ()) {
            wg /= 2;
        }
        int bn = t.sdpaBlockN;
        long local = 4L * (d * (long) bn + (long) bn * dvPad);
        while (local > dev.localMemBytes() && bn > vw) {
            bn /= 2;
            local = 4L * (d * (long) bn + (long) bn * dvPad);
        }
        if (local > dev.localMemBytes()) {
            return Plan.no("D=" + d + ", Dv=" + dv + " needs " + local + " B of local memory for a " + bn
                    + "-key tile; the device has " + dev.localMemBytes() + " B");
        }
        Map<String, Object> c = dtypeConstants(s.dtype());
        c.put("HEAD_DIM", d);
        c.put("HEAD_DIM_V", dv);
        c.put("DV_PAD", dvPad);
        c.put("VW", vw);
        c.put("BLOCK_N", bn);
        c.put("WG", wg);
        c.put("ROWS", rows);
        c.put("KVW", loadWidth(d));
        c.put("VVW", loadWidth(dv));
        c.put("HAS_SOFTCAP", b(s.hasSoftcap()));
        c.put("HAS_LSE", b(s.lse() != null));
        maskConstants(c, s.masks());
        if (s.isPaged()) {
            c.put("PAGED", 1);
        }
        long groups = ceilDiv(s.seqQ(), (long) wg * rows);
        String name = String.format(Locale.ROOT, "flash-%s-d%d-dv%d-bn%d-r%dx%d%s", dt(s.dtype()), d, dv, bn, rows, wg,
                s.isPaged() ? "-paged" : "");
        return Plan.of(name, 0, List.of(new Plan.Step("sdpa", KernelId.SDPA_FWD.entry(s.dtype()), c,
                new long[] {groups, (long) s.batch() * s.headsQ()}, new long[] {wg, 1}, 0, KernelArgs.sdpaFwd(s))));
    }

    /**
     * The longest live span of a row whose exponentials the softmax forward's row-per-item form keeps in
     * float for its last pass on a CPU device (a private row of 128 KiB on the work-item's stack, within
     * L2): f16/bf16 compute one exp per element instead of two, Y still rounded once; f32 uses it only with
     * non-temporal stores of Y ({@code smNtKiB}), where e cannot be parked in Y. Longer rows recompute e
     * (f16/bf16) or scale Y in place (f32).
     */
    static final int SOFTMAX_KEEP_KEYS = 32768;

    /** The (threads per row, rows per group) shape of the softmax kernels for rows of n keys. */
    static int[] softmaxShape(int n, OpenClDevice dev, Tune t) {
        int maxWg = pow2Floor(dev.maxWorkGroupSize());
        if (n <= t.smShortMax) {
            int threads = Math.min(Math.min(32, maxWg), pow2Ceil((n + t.smKeysPerThread - 1) / t.smKeysPerThread));
            int rowsPerGroup = Math.max(1, Math.min(t.smShortGroup, maxWg) / threads);
            return new int[] {threads, rowsPerGroup};
        }
        return new int[] {Math.min(pow2Floor(t.smLongThreads), maxWg), 1};
    }

    private static Plan softmax(DType dt, long rows, int n, Masks m, OpenClDevice dev, Tune t, boolean backward,
            List<io.github.attn4j.spi.Arg> args) {
        KernelId k = backward ? KernelId.MASKED_SOFTMAX_BWD : KernelId.MASKED_SOFTMAX;
        if (t.smRowPerItem > 0) {
            // A row per work-item: enough work-items to keep every compute unit busy; the same count for every
            // call (items past the rows return at once), so one grid width per kernel (see FWD_CPU_GROUPS).
            long items = Math.max(1, (long) t.smRowPerItem * dev.computeUnits());
            Map<String, Object> c = dtypeConstants(dt);
            c.put("ROW_THREADS", 1);
            c.put("ROWS_PER_WG", 1);
            c.put("ROW_PER_ITEM", 1);
            c.put("VW", t.vw);
            if (!backward && dev.cpu()) {
                c.put("SM_EBUF", SOFTMAX_KEEP_KEYS);
            }
            boolean nt = dev.cpu() && rows * n * dt.bytes() > 1024L * t.smNtKiB;
            if (nt) {
                c.put("STORE_NT", 1);
            }
            maskConstants(c, m);
            String name = String.format(Locale.ROOT, "%s-row-per-item-%s-v%d%s", backward ? "softmax-bwd" : "softmax",
                    dt(dt), t.vw, nt ? "-nt" : "");
            return Plan.of(name, 0, List.of(new Plan.Step("softmax", k.entry(dt), c, new long[] {items, 1},
                    new long[] {1, 1}, 0, args)));
        }
        int[] shape = softmaxShape(n, dev, t);
        long local = 2L * 4 * shape[0] * shape[1];
        if (local > dev.localMemBytes()) {
            return Plan.no("softmax reduction needs " + local + " B of local memory; the device has "
                    + dev.localMemBytes() + " B");
        }
        Map<String, Object> c = dtypeConstants(dt);
        c.put("ROW_THREADS", shape[0]);
        c.put("ROWS_PER_WG", shape[1]);
        maskConstants(c, m);
        String name = String.format(Locale.ROOT, "%s-%s-%s-%dx%d", backward ? "softmax-bwd" : "softmax",
                shape[1] > 1 ? "short-rows" : "long-rows", dt(dt), shape[0], shape[1]);
        return Plan.of(name, 0, List.of(new Plan.Step("softmax", k.entry(dt), c,
                new long[] {1, ceilDiv(rows, shape[1])}, new long[] {shape[0], shape[1]}, 0, args)));
    }

    private static Plan additive(AdditiveParams a, OpenClDevice dev, Tune t) {
        int da = a.dimA(), dv = a.headDimV();
        if (da > MAX_DIM_A || dv > MAX_HEAD_DIM) {
            return Plan.no("A=" + da + ", Dv=" + dv + ": the OpenCL additive kernel is specialised up to A <= "
                    + MAX_DIM_A + ", Dv <= " + MAX_HEAD_DIM);
        }
        int vw = t.vw;
        int aPad = roundUp(da, vw), dvPad = roundUp(dv, vw);
        int wg = (int) Math.min(t.addWg, dev.maxWorkGroupSize());
        while (wg > 8 && wg / 2 >= a.seqQ()) {
            wg /= 2;
        }
        int bn = t.addBlockN;
        long local = 4L * ((long) bn * aPad + (long) bn * dvPad + aPad);
        while (local > dev.localMemBytes() && bn > 8) {
            bn /= 2;
            local = 4L * ((long) bn * aPad + (long) bn * dvPad + aPad);
        }
        if (local > dev.localMemBytes()) {
            return Plan.no("A=" + da + ", Dv=" + dv + " needs " + local + " B of local memory; the device has "
                    + dev.localMemBytes() + " B");
        }
        DType dt = a.dtype();
        Map<String, Object> c = additiveConstants(dt, da, aPad, dv, dvPad, vw, bn, wg, a.b() != null, a.raw(), a.masks());
        c.put("HAS_WEIGHTS", b(a.weights() != null));
        List<Plan.Step> steps = new ArrayList<>();
        AdditiveParams f = a;
        long ws = 0;
        if (a.raw()) {
            int tile = Math.min(t.gemmTile, pow2Floor((long) Math.sqrt((double) dev.maxWorkGroupSize())));
            if (2L * 4 * tile * (tile + 1) > dev.localMemBytes()) {
                return Plan.no("the projection GEMM tile does not fit the device's local memory");
            }
            long bh = (long) a.batch() * a.heads();
            ws = 4L * bh * ((long) a.seqQ() + a.seqK()) * da;
            if (ws > dev.maxAllocBytes()) {
                return Plan.no("the fp32 projection workspace (" + ws + " B) exceeds the device's largest allocation");
            }
            // Qp [B, H, Sq, A] then Kp [B, H, Sk, A], fp32, in one workspace.
            Workspace w = new Workspace(ws);
            int[] qs = {a.batch(), a.heads(), a.seqQ(), da};
            int[] ks = {a.batch(), a.heads(), a.seqK(), da};
            Tensor qp = Tensor.of(w, DType.F32, qs, Tensor.contiguousStrides(qs), 0);
            Tensor kp = Tensor.of(w, DType.F32, ks, Tensor.contiguousStrides(ks), Tensor.numel(qs));
            Map<String, Object> gc = dtypeConstants(dt);
            gc.put("GEMM_TILE", tile);
            for (Tensor[] xwc : new Tensor[][] {{a.q(), a.wq(), qp}, {a.k(), a.wk(), kp}}) {
                long m = xwc[0].dim(2), n = xwc[1].dim(0);
                steps.add(new Plan.Step("gemm", KernelId.GEMM_NT.entry(dt), gc, new long[] {ceilDiv(n, tile),
                    ceilDiv(m, tile), bh}, new long[] {tile, tile, 1}, 0, KernelArgs.gemmNt(xwc[0], xwc[1], xwc[2])));
            }
            f = a.withProjected(qp, kp);
        }
        steps.add(new Plan.Step("additive", KernelId.ADDITIVE_FWD.entry(dt), c, new long[] {ceilDiv(f.seqQ(), wg),
            (long) f.batch() * f.heads()}, new long[] {wg, 1}, 0, KernelArgs.additiveFwd(f)));
        String name = String.format(Locale.ROOT, "fused-additive-%s-a%d-dv%d-bn%d-wg%d%s", dt(dt), da, dv, bn, wg,
                a.raw() ? "+gemm" : "");
        return Plan.of(name, ws, steps);
    }

    /**
     * The SDPA backward: {@code attn_sdpa_bwd_pre} (Delta and LSE into the workspace), then
     * {@code _dkdv} over key tiles, {@code _dq} over query tiles and, with a dBias, {@code _dbias}
     * over its slices; all four from one program (one set of constants), with the forward's tile table.
     */
    private static Plan sdpaBackward(SdpaBackwardParams s, OpenClDevice dev, Tune t) {
        int d = s.headDim(), dv = s.headDimV();
        if (d > MAX_HEAD_DIM || dv > MAX_HEAD_DIM) {
            return Plan.no("head dim D=" + d + ", Dv=" + dv + ": the OpenCL SDPA backward is specialised up to "
                    + MAX_HEAD_DIM);
        }
        int vw = t.vw;
        int dPad = roundUp(d, vw), dvPad = roundUp(dv, vw);
        int rows = t.sdpaRows;
        int wg = (int) Math.min(t.sdpaWg, dev.maxWorkGroupSize());
        while (wg > 8 && (long) wg * rows / 2 >= Math.max(s.seqQ(), s.seqK())) {
            wg /= 2;
        }
        int bn = t.sdpaBlockN;
        long local = bwdLocalBytes(d, dv, dPad, dvPad, bn);
        while (local > dev.localMemBytes() && bn > vw) {
            bn /= 2;
            local = bwdLocalBytes(d, dv, dPad, dvPad, bn);
        }
        if (local > dev.localMemBytes()) {
            return Plan.no("D=" + d + ", Dv=" + dv + " needs " + local + " B of local memory for a " + bn
                    + "-row tile; the device has " + dev.localMemBytes() + " B");
        }
        long nrows = (long) s.batch() * s.headsQ() * s.seqQ();
        int cpuVw = cpuVectorWidth(dev, t);
        boolean cpuForm = t.bwdCpu() != 0 && bwdCpuProblem(s, cpuVw) == null;
        long items = (long) s.batch() * s.headsKv();
        // Delta and LSE per row; the fused form adds each item's dK/dV accumulators, Sk + LANES_KEYS rows (when
        // they fit in one allocation; else the two-kernel form, which needs none)
        long fusedWs = 2 * 4 * nrows + 4L * items * (s.seqK() + LANES_KEYS) * (d + dv);
        boolean fused = cpuForm && (t.bwdCpu() == 2 || items >= (long) BWD_FUSED_ITEMS_PER_CU * dev.computeUnits())
                && floatWorkspaceFits(fusedWs, dev);
        long ws = fused ? fusedWs : 2 * 4 * nrows;
        if (!floatWorkspaceFits(ws, dev)) {
            return Plan.no("the backward's workspace (" + ws + " B) exceeds the device's largest allocation");
        }
        Tensor wsT = Tensor.of(new Workspace(ws), DType.F32, new int[] {Math.toIntExact(ws / 4)}, new long[] {1}, 0);
        Map<String, Object> c = dtypeConstants(s.dtype());
        c.put("HEAD_DIM", d);
        c.put("HEAD_DIM_V", dv);
        c.put("D_PAD", cpuForm ? roundUp(d, cpuVw) : dPad);
        c.put("DV_PAD", cpuForm ? roundUp(dv, cpuVw) : dvPad);
        c.put("VW", cpuForm ? cpuVw : vw);
        c.put("BLOCK", cpuForm ? 2 * cpuVw : bn);
        c.put("WG", wg);
        c.put("ROWS", rows);
        c.put("HAS_SOFTCAP", b(s.hasSoftcap()));
        c.put("HAS_DBIAS", b(s.dbias() != null));
        if (cpuForm) {
            c.put("BWD_CPU", 1);
            c.put("BWD_BQ", BWD_CPU_ROWS);
            c.put("BWD_FUSED", fused ? 1 : 0);
            if (fused) {
                c.put("LANES_KB", LANES_KEYS);
                c.put("LANES_FR", LANES_ROW_VECTORS);
            }
        }
        maskConstants(c, s.masks());
        List<io.github.attn4j.spi.Arg> args = KernelArgs.sdpaBackward(s, wsT);
        DType dt = s.dtype();
        long own = (long) wg * rows;
        List<Plan.Step> steps = new ArrayList<>();
        steps.add(new Plan.Step("sdpa_bwd", KernelId.SDPA_BWD_PRE.entry(dt), c, new long[] {ceilDiv(nrows, wg), 1},
                new long[] {wg, 1}, 0, args));
        if (fused) {
            steps.add(new Plan.Step("sdpa_bwd", KernelId.SDPA_BWD_DQ.entry(dt), c, new long[] {1, items},
                    new long[] {1, 1}, 0, args));
            return Plan.of(String.format(Locale.ROOT, "flash-bwd-cpu-fused-%s-d%d-dv%d-r%dk%d", dt(dt), d, dv,
                    LANES_ROW_VECTORS * cpuVw, LANES_KEYS), ws, steps);
        }
        if (cpuForm) {
            steps.add(new Plan.Step("sdpa_bwd", KernelId.SDPA_BWD_DKDV.entry(dt), c, new long[] {ceilDiv(s.seqK(),
                2L * cpuVw), (long) s.batch() * s.headsKv()}, new long[] {1, 1}, 0, args));
            steps.add(new Plan.Step("sdpa_bwd", KernelId.SDPA_BWD_DQ.entry(dt), c, new long[] {ceilDiv(s.seqQ(),
                BWD_CPU_ROWS), (long) s.batch() * s.headsQ()}, new long[] {1, 1}, 0, args));
            return Plan.of(String.format(Locale.ROOT, "flash-bwd-cpu-%s-d%d-dv%d-k%dx%d", dt(dt), d, dv, 2 * cpuVw,
                    BWD_CPU_ROWS), ws, steps);
        }
        steps.add(new Plan.Step("sdpa_bwd", KernelId.SDPA_BWD_DKDV.entry(dt), c, new long[] {ceilDiv(s.seqK(), own),
            (long) s.batch() * s.headsKv()}, new long[] {wg, 1}, 0, args));
        steps.add(new Plan.Step("sdpa_bwd", KernelId.SDPA_BWD_DQ.entry(dt), c, new long[] {ceilDiv(s.seqQ(), own),
            (long) s.batch() * s.headsQ()}, new long[] {wg, 1}, 0, args));
        if (s.dbias() != null) {
            steps.add(new Plan.Step("sdpa_bwd", KernelId.SDPA_BWD_DBIAS.entry(dt), c, new long[] {ceilDiv(s.seqQ(),
                own), (long) s.dbias().dim(0) * s.dbias().dim(1)}, new long[] {wg, 1}, 0, args));
        }
        String name = String.format(Locale.ROOT, "flash-bwd-%s-d%d-dv%d-bn%d-r%dx%d%s", dt(dt), d, dv, bn, rows, wg,
                s.dbias() != null ? "+dbias" : "");
        return Plan.of(name, ws, steps);
    }

    /** The build constants the additive forward and backward programs share (tile table, dims, masks). */
    private static Map<String, Object> additiveConstants(DType dt, int da, int aPad, int dv, int dvPad, int vw, int bn,
            int wg, boolean addBias, boolean raw, Masks masks) {
        Map<String, Object> c = dtypeConstants(dt);
        c.put("DIM_A", da);
        c.put("A_PAD", aPad);
        c.put("HEAD_DIM_V", dv);
        c.put("DV_PAD", dvPad);
        c.put("VW", vw);
        c.put("BLOCK_N", bn);
        c.put("WG", wg);
        c.put("HAS_ADD_BIAS", b(addBias));
        c.put("QK_F32", b(raw));
        maskConstants(c, masks);
        return c;
    }

    /**
     * Query rows per work-item of the CPU form of the dQ kernel (BWD_BQ in sdpa_bwd.cl): each K/V tile the
     * item transposes serves this many rows. 16 spent ~40% of the dQ kernel in the transposes; 32 measured
     * 5-10% faster over the whole backward at S = 1024-2048; 64 was slower at S = 1024 (fewer, longer items).
     */
    static final int BWD_CPU_ROWS = 32;

    /**
     * The fused CPU form of the backward runs one work-item per (batch, kv head); it is chosen when there are
     * at least this many per compute unit (fewer would leave cores idle: the two-kernel form then splits the
     * keys and the rows instead).
     */
    static final int BWD_FUSED_ITEMS_PER_CU = 4;

    /**
     * Why a backward call cannot take the CPU forms of the dK/dV and dQ kernels, or null when it can:
     * a CPU device, no per-element score work (softcap, bias, ALiBi) and no dBias, unit-stride rows of
     * every tensor the micro-kernels read or write as vectors, D and Dv multiples of the vector width
     * up to 256 (the K/V tile and the accumulators live in private memory).
     */
    static String bwdCpuProblem(SdpaBackwardParams s, int vw) {
        Masks m = s.masks();
        if (s.hasSoftcap() || m.bias() != null || m.alibiSlopes() != null || s.dbias() != null) {
            return "per-element score work (softcap, bias, ALiBi) or a dBias";
        }
        for (Tensor x : new Tensor[] {s.q(), s.k(), s.v(), s.dout(), s.dq(), s.dk(), s.dv()}) {
            if (x.stride(3) != 1) {
                return "a tensor's last dim is not unit-stride";
            }
        }
        if (s.headDim() % vw != 0 || s.headDimV() % vw != 0 || s.headDim() > 256 || s.headDimV() > 256) {
            return "D, Dv not multiples of " + vw + " up to 256";
        }
        return null;
    }

    /** Local memory of the larger backward kernel (dK/dV: Q and dO tiles, each transposed and row-major). */
    private static long bwdLocalBytes(int d, int dv, int dPad, int dvPad, int bn) {
        return 4L * bn * ((long) d + dPad + dv + dvPad + 4);
    }

    /** Work-items per group of the merge kernel (fewer when the device or kernel allows fewer). */
    static final int MERGE_WG = 256;

    /** Merge of attention states: one grid-stride launch over the elements of O, one variant per dtype. */
    private static Plan merge(MergeParams m, OpenClDevice dev) {
        if (m.parts() > MergeParams.MAX_DEVICE_PARTS) {
            return Plan.no(m.parts() + " parts: the merge kernel takes at most " + MergeParams.MAX_DEVICE_PARTS
                    + " per call (merge in a tree: a merged LSE is a valid part)");
        }
        long wg = Math.min(MERGE_WG, pow2Floor(dev.maxWorkGroupSize()));
        long groups = Math.max(1, Math.min(ceilDiv(m.rows() * m.headDimV(), wg), 4L * dev.computeUnits() * 64));
        return Plan.of("merge-" + dt(m.dtype()), 0, List.of(new Plan.Step("merge", KernelId.MERGE_STATES.entry(m.dtype()),
                dtypeConstants(m.dtype()), new long[] {groups}, new long[] {wg}, 0, KernelArgs.merge(m))));
    }

    /** KV append: one grid-stride launch over the new rows' elements, one variant per element width. */
    private static Plan kvAppend(KvAppendParams k, OpenClDevice dev) {
        long wg = Math.min(MERGE_WG, pow2Floor(dev.maxWorkGroupSize()));
        long n = (long) k.batch() * k.seqNew() * k.headsKv() * (k.headDim() + k.headDimV());
        long groups = Math.max(1, Math.min(ceilDiv(n, wg), 4L * dev.computeUnits() * 64));
        Map<String, Object> c = dtypeConstants(k.dtype());
        c.put("KV_T", k.dtype().bytes() == 4 ? "uint" : "ushort");
        return Plan.of("kv-append-" + dt(k.dtype()), 0, List.of(new Plan.Step("kv_append",
                KernelId.KV_APPEND.entry(k.dtype()), c, new long[] {groups}, new long[] {wg}, 0, KernelArgs.kvAppend(k))));
    }

    /** Work-items per group of the small additive-backward kernels (reduce, projection gradients): 8 x 8 or 64. */
    private static final int ADD_BWD_SMALL = 8;

    /**
     * The additive backward: [raw: the two projection GEMMs of the forward into the fp32 workspace],
     * the preprocess (lse, delta per row), dQp per query block, dKp/dV per key block, the fixed-order
     * reduction of the dw/db partials, [raw: dq = dQp Wq, dk = dKp Wk, and dWq, dWk when asked]. One
     * program (one set of constants) serves every additive_bwd step.
     */
    private static Plan additiveBackward(AdditiveBackwardParams a, OpenClDevice dev, Tune t) {
        int da = a.dimA(), dv = a.headDimV();
        if (da > MAX_DIM_A || dv > MAX_HEAD_DIM) {
            return Plan.no("A=" + da + ", Dv=" + dv + ": the OpenCL additive backward is specialised up to A <= "
                    + MAX_DIM_A + ", Dv <= " + MAX_HEAD_DIM);
        }
        int vw = t.vw;
        int aPad = roundUp(da, vw), dvPad = roundUp(dv, vw);
        int wg0 = (int) Math.min(t.addWg, dev.maxWorkGroupSize());
        while (wg0 > 8 && wg0 / 2 >= Math.max(a.seqQ(), a.seqK())) {
            wg0 /= 2;
        }
        final int wg = wg0;
        int bn = t.addBlockN;
        java.util.function.IntToLongFunction local = n -> 4L * ((long) n * aPad + (long) n * dvPad + aPad + 4L * n
                + (long) wg * 64);
        while (local.applyAsLong(bn) > dev.localMemBytes() && bn > 8) {
            bn /= 2;
        }
        if (local.applyAsLong(bn) > dev.localMemBytes()) {
            return Plan.no("A=" + da + ", Dv=" + dv + " needs " + local.applyAsLong(bn)
                    + " B of local memory for the additive backward; the device has " + dev.localMemBytes() + " B");
        }
        DType dt = a.dtype();
        Map<String, Object> c = additiveConstants(dt, da, aPad, dv, dvPad, vw, bn, wg, a.b() != null, a.raw(), a.masks());
        c.put("HAS_DB", b(a.db() != null));
        long bh = (long) a.batch() * a.heads();
        int qBlocks = (int) ceilDiv(a.seqQ(), wg), kBlocks = (int) ceilDiv(a.seqK(), wg);
        long sqA = bh * a.seqQ() * da, skA = bh * a.seqK() * da;
        long rawFloats = a.raw() ? 2 * (sqA + skA) : 0;
        long stOff = rawFloats, dwpOff = stOff + 2 * bh * a.seqQ(), dbpOff = dwpOff + bh * kBlocks * da;
        long ws = 4L * (dbpOff + (a.db() != null ? bh * qBlocks * da : 1));
        if (ws > dev.maxAllocBytes()) {
            return Plan.no("the additive backward's fp32 workspace (" + ws + " B) exceeds the device's largest allocation");
        }
        Workspace w = new Workspace(ws);
        Tensor st = Tensor.of(w, DType.F32, new int[] {(int) bh * a.seqQ() * 2}, new long[] {1}, stOff);
        Tensor dwp = Tensor.of(w, DType.F32, new int[] {(int) (bh * kBlocks * da)}, new long[] {1}, dwpOff);
        Tensor dbp = Tensor.of(w, DType.F32, new int[] {a.db() != null ? (int) (bh * qBlocks * da) : 1}, new long[] {1},
                dbpOff);
        List<Plan.Step> steps = new ArrayList<>();
        AdditiveBackwardParams f = a;
        Tensor qp = null, kp = null, dqp = null, dkp = null;
        if (a.raw()) {
            int tile = Math.min(t.gemmTile, pow2Floor((long) Math.sqrt((double) dev.maxWorkGroupSize())));
            if (2L * 4 * tile * (tile + 1) > dev.localMemBytes()) {
                return Plan.no("the projection GEMM tile does not fit the device's local memory");
            }
            int[] qs = {a.batch(), a.heads(), a.seqQ(), da};
            int[] ks = {a.batch(), a.heads(), a.seqK(), da};
            qp = Tensor.of(w, DType.F32, qs, Tensor.contiguousStrides(qs), 0);
            kp = Tensor.of(w, DType.F32, ks, Tensor.contiguousStrides(ks), sqA);
            dqp = Tensor.of(w, DType.F32, qs, Tensor.contiguousStrides(qs), sqA + skA);
            dkp = Tensor.of(w, DType.F32, ks, Tensor.contiguousStrides(ks), 2 * sqA + skA);
            Map<String, Object> gc = dtypeConstants(dt);
            gc.put("GEMM_TILE", tile);
            for (Tensor[] xwc : new Tensor[][] {{a.q(), a.wq(), qp}, {a.k(), a.wk(), kp}}) {
                long m = xwc[0].dim(2), n = xwc[1].dim(0);
                steps.add(new Plan.Step("gemm", KernelId.GEMM_NT.entry(dt), gc, new long[] {ceilDiv(n, tile),
                    ceilDiv(m, tile), bh}, new long[] {tile, tile, 1}, 0, KernelArgs.gemmNt(xwc[0], xwc[1], xwc[2])));
            }
            f = a.withProjected(qp, kp, dqp, dkp);
        }
        long[] rowGrid = {qBlocks, bh}, keyGrid = {kBlocks, bh}, group = {wg, 1};
        for (KernelId id : new KernelId[] {KernelId.ADDITIVE_BWD_PRE, KernelId.ADDITIVE_BWD_DQ, KernelId.ADDITIVE_BWD_DKV}) {
            steps.add(new Plan.Step("additive_bwd", id.entry(dt), c, id == KernelId.ADDITIVE_BWD_DKV ? keyGrid : rowGrid,
                    group, 0, KernelArgs.additiveBwd(id, f, qBlocks, kBlocks, st, dwp, dbp)));
        }
        int small = ADD_BWD_SMALL * ADD_BWD_SMALL;
        steps.add(new Plan.Step("additive_bwd", KernelId.ADDITIVE_BWD_REDUCE.entry(dt), c, new long[] {ceilDiv(da, small)},
                new long[] {small}, 0, KernelArgs.additiveBwd(KernelId.ADDITIVE_BWD_REDUCE, f, qBlocks, kBlocks, st, dwp,
                        dbp)));
        if (a.raw()) {
            long[] sq = {ADD_BWD_SMALL, ADD_BWD_SMALL, 1};
            Object[][] sides = {{a.q(), a.dq(), a.wq(), a.dwq(), dqp}, {a.k(), a.dk(), a.wk(), a.dwk(), dkp}};
            for (Object[] s : sides) {
                Tensor x = (Tensor) s[0], dx = (Tensor) s[1], wt = (Tensor) s[2], dwt = (Tensor) s[3], dxp = (Tensor) s[4];
                steps.add(new Plan.Step("additive_bwd", KernelId.ADDITIVE_BWD_PROJ.entry(dt), c,
                        new long[] {ceilDiv(x.dim(3), ADD_BWD_SMALL), ceilDiv(x.dim(2), ADD_BWD_SMALL), bh}, sq, 0,
                        KernelArgs.additiveProj(KernelId.ADDITIVE_BWD_PROJ, x, dx, wt, dwt, dxp)));
                if (dwt != null) {
                    steps.add(new Plan.Step("additive_bwd", KernelId.ADDITIVE_BWD_WGRAD.entry(dt), c,
                            new long[] {ceilDiv(x.dim(3), ADD_BWD_SMALL), ceilDiv(da, ADD_BWD_SMALL), 1}, sq, 0,
                            KernelArgs.additiveProj(KernelId.ADDITIVE_BWD_WGRAD, x, dx, wt, dwt, dxp)));
                }
            }
        }
        String name = String.format(Locale.ROOT, "additive-bwd-%s-a%d-dv%d-bn%d-wg%d%s", dt(dt), da, dv, bn, wg,
                a.raw() ? "+gemm" : "");
        return Plan.of(name, ws, steps);
    }
}
