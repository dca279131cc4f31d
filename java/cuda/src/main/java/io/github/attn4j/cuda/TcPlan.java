package io.github.attn4j.cuda;

import io.github.attn4j.DType;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import java.util.Locale;

/**
 * The launch plan of the tensor-core fp16/bf16 SDPA forward ({@code kernels/cuda/sdpa_tc.cu}): a
 * pure function of the call and the device, used alike by {@code supports()},
 * {@code workspaceBytes()} and the launch, so the three never disagree.
 *
 * <p><b>Status: the kernels behind this plan have never run on a GPU.</b> A backend must route to
 * them only when the caller opts in ({@link CudaOptions#tensorCores()}, {@code -Dattn4j.cuda.tc=true}),
 * until the verify matrix has passed on a GPU.
 *
 * <h2>When the path applies</h2>
 * dtype F16 or BF16; compute capability 8.0 or newer; D == Dv and D in {@link TcTraits#table()}; unit
 * last-dim strides on Q, K, V and O; Q, K, V element offsets and outer strides multiples of 8 (16-byte
 * cp.async rows) and O's multiples of 2 (32-bit stores); the row's shared memory and threads within
 * the device's limits; {@code B * Hq <= 65535} (grid y). Otherwise {@link #applies()} is false and
 * {@link #reason()} says why, so the backend can fall back to its general kernel and say so.
 * The backend must also check that the device pointers themselves are 16-byte aligned
 * ({@link CudaMemory#aligned16()}, read once when memory is wrapped), which element offsets cannot know.
 *
 * <h2>Grid</h2>
 * {@code (ceil(Sq / blockM), B * Hq, splits)}, {@code warps * 32} threads, {@code sharedBytes} of
 * dynamic shared memory (the backend raises {@code CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES}
 * to it when above 48 KiB). With splits, the combine kernel runs after it on grid
 * {@code ceil(B * Hq * Sq / 4)} x 128 threads.
 *
 * <h2>Split-KV heuristic</h2>
 * A launch of {@code ctas = ceil(Sq / blockM) * B * Hq} CTAs fills {@code slots = SMs * ctasPerSm}
 * (shared memory, threads and registers per SM). Decoding ({@code Sq = 1}) with few heads gives a
 * handful of CTAs, each streaming the whole K/V of its head through one SM: most of the GPU idles.
 * Splitting the key range over {@code z} CTAs multiplies the parallelism by {@code z}, at the price
 * of writing {@code z} fp32 partial rows plus their LSE and a combine pass, which is small when a
 * split still streams many keys. So:
 * <ol>
 *   <li>no split when {@code ctas >= 0.8 * slots} (the launch already fills 80% of the GPU) or when
 *       the key range is short: fewer than {@code 2 * MIN_TILES_PER_SPLIT} key tiles;
 *   <li>otherwise {@code z = min(floor(slots / ctas), keyTiles / MIN_TILES_PER_SPLIT, MAX_SPLITS)}:
 *       the split launch still fits one wave ({@code ctas * z <= slots}; rounding up would start a
 *       second, mostly empty wave that costs as much as the first), and every split streams at
 *       least {@link #MIN_TILES_PER_SPLIT} tiles ({@code 4 * blockN} keys); {@code z < 2} means no
 *       split;
 *   <li>then {@code z} is rebalanced to {@code ceil(keyTiles / ceil(keyTiles / z))} so no split is
 *       empty (the kernel gives split {@code s} tiles {@code [s*per, (s+1)*per)} of its range).
 * </ol>
 * {@code keyTiles} counts tiles of the longest key range ({@code max(kvLengths)} when given, else
 * Sk); causal CTAs see fewer keys, so the count is an upper bound. The split count is a prediction
 * from this model and has not been tuned on hardware.
 *
 * @param applies whether the tensor-core path can run this call
 * @param reason why not (empty when it applies)
 * @param traits the table row (null when it does not apply)
 * @param dtype the storage dtype
 * @param gridX {@code ceil(Sq / blockM)}
 * @param gridY {@code B * Hq}
 * @param splits split-KV count (grid z), 1 = no split
 * @param ctasPerSm resident CTAs per SM assumed by the heuristic
 */
record TcPlan(boolean applies, String reason, TcTraits traits, DType dtype, int gridX, int gridY, int splits,
        int ctasPerSm) {

    /** Upper bound of the split count. */
    static final int MAX_SPLITS = 64;
    /** Every split streams at least this many K/V tiles. */
    static final int MIN_TILES_PER_SPLIT = 4;
    /** No split when the launch fills this fraction of the CTA slots. */
    static final double FILL_THRESHOLD = 0.8;
    /** Registers per thread assumed when the backend does not pass the compiled kernel's count. */
    static final int DEFAULT_REGS = 255;
    /** Threads per CTA of the combine kernel (one warp per row). */
    static final int COMBINE_THREADS = 128;
    /** Alignment of the LSE partials inside the workspace. */
    static final int WORKSPACE_ALIGN = 256;

    /** The plan with {@link #DEFAULT_REGS} registers per thread. */
    static TcPlan choose(SdpaParams p, DeviceProps dev) {
        return choose(p, dev, DEFAULT_REGS);
    }

    /**
     * The plan for a call on a device. {@code regsPerThread} is the compiled kernel's register count
     * ({@code CU_FUNC_ATTRIBUTE_NUM_REGS}) when the backend has loaded it, else {@link #DEFAULT_REGS}.
     */
    static TcPlan choose(SdpaParams p, DeviceProps dev, int regsPerThread) {
        DType dt = p.dtype();
        if (dt != DType.F16 && dt != DType.BF16) {
            return no(dt, "dtype " + dt + ": the tensor-core path takes F16 or BF16");
        }
        if (p.sinks() != null || p.isPaged()) {
            return no(dt, "the tensor-core kernel reads neither sinks nor a paged KV cache");
        }
        if (dev.sm() < 80) {
            return no(dt, "compute capability " + dev.ccMajor() + "." + dev.ccMinor()
                    + " < 8.0 (mma.m16n8k16 with bf16, ldmatrix and cp.async need sm_80)");
        }
        int d = p.headDim(), dv = p.headDimV();
        if (d != dv) {
            return no(dt, "head dims differ (D = " + d + ", Dv = " + dv + "); the tensor-core path needs D == Dv");
        }
        TcTraits t = TcTraits.forHeadDim(d).orElse(null);
        if (t == null) {
            return no(dt, "head dim " + d + " not in the tensor-core table " + TcTraits.headDims());
        }
        String layout = layoutProblem(p);
        if (layout != null) {
            return no(dt, layout);
        }
        if (t.sharedBytes() > dev.smemPerBlockOptin()) {
            return no(dt, "needs " + t.sharedBytes() + " bytes of shared memory per block, the device allows "
                    + dev.smemPerBlockOptin());
        }
        if (t.threads() > dev.maxThreadsPerBlock()) {
            return no(dt, "needs " + t.threads() + " threads per block, the device allows " + dev.maxThreadsPerBlock());
        }
        long gridY = (long) p.batch() * p.headsQ();
        if (gridY > 65535) {
            return no(dt, "B * Hq = " + gridY + " exceeds the grid y limit 65535");
        }
        int gridX = ceilDiv(p.seqQ(), t.blockM());
        int perSm = ctasPerSm(dev, t, regsPerThread);
        int splits = splits(gridX * gridY, (long) dev.multiprocessors() * perSm, keyTiles(p, t));
        return new TcPlan(true, "", t, dt, gridX, (int) gridY, splits, perSm);
    }

    /**
     * How many CTAs of {@code t} one SM holds, limited by shared memory (plus the 1 KiB the driver
     * reserves per CTA), threads and registers ({@code regsPerThread} rounded up to the allocation
     * unit of 8; the kernel's {@code __launch_bounds__(threads, 1)} allows up to 255). At least 1.
     */
    static int ctasPerSm(DeviceProps d, TcTraits t, int regsPerThread) {
        int bySmem = d.smemPerSm() / (t.sharedBytes() + 1024);
        int byThreads = d.maxThreadsPerSm() / t.threads();
        int regs = (Math.max(1, regsPerThread) + 7) / 8 * 8;
        int byRegs = d.registersPerSm() / (regs * t.threads());
        return Math.max(1, Math.min(bySmem, Math.min(byThreads, byRegs)));
    }

    /** The split-KV count of the heuristic in the class comment. */
    static int splits(long ctas, long slots, int keyTiles) {
        if (ctas >= FILL_THRESHOLD * slots || keyTiles < 2 * MIN_TILES_PER_SPLIT) {
            return 1;
        }
        long want = slots / ctas;
        int z = (int) Math.min(Math.min(want, keyTiles / MIN_TILES_PER_SPLIT), MAX_SPLITS);
        if (z < 2) {
            return 1;
        }
        int per = ceilDiv(keyTiles, z);
        return ceilDiv(keyTiles, per);
    }

    /** K/V tiles of the longest key range. */
    static int keyTiles(SdpaParams p, TcTraits t) {
        int keys = p.seqK();
        int[] kv = p.masks().kvLengths();
        if (kv != null) {
            keys = 0;
            for (int x : kv) {
                keys = Math.max(keys, x);
            }
        }
        return ceilDiv(keys, t.blockN());
    }

    private static String layoutProblem(SdpaParams p) {
        String[] names = {"q", "k", "v", "o"};
        Tensor[] ts = {p.q(), p.k(), p.v(), p.o()};
        for (int x = 0; x < 4; x++) {
            Tensor t = ts[x];
            if (t.stride(3) != 1) {
                return names[x] + " last-dim stride " + t.stride(3) + " != 1";
            }
            int unit = x < 3 ? 8 : 2;
            String why = x < 3 ? " (16-byte cp.async rows)" : " (32-bit stores)";
            if (t.offset() % unit != 0) {
                return names[x] + " offset " + t.offset() + " is not a multiple of " + unit + " elements" + why;
            }
            for (int i = 0; i < 3; i++) {
                if (t.stride(i) % unit != 0 && t.dim(i) > 1) {
                    return names[x] + " stride[" + i + "] = " + t.stride(i) + " is not a multiple of " + unit
                            + " elements" + why;
                }
            }
        }
        return null;
    }

    static TcPlan no(DType dt, String reason) {
        return new TcPlan(false, reason, null, dt, 0, 0, 0, 0);
    }

    static int ceilDiv(long a, long b) {
        return Math.toIntExact((a + b - 1) / b);
    }


    /** The entry point, e.g. {@code attn_sdpa_fwd_tc_bf16_d128}. */
    String entry() {
        requireApplies();
        return "attn_sdpa_fwd_tc_" + dtype.name().toLowerCase(Locale.ROOT) + "_d" + traits.headDim();
    }

    /** The combine entry point, e.g. {@code attn_sdpa_combine_f16}; used only when {@code splits > 1}. */
    String combineEntry() {
        requireApplies();
        return io.github.attn4j.spi.KernelId.SDPA_COMBINE.entry(dtype);
    }

    /** The name {@code supports().variant()} reports, e.g. {@code tc-mma-f16-d128} or {@code tc-mma-f16-d128-splitkv8}. */
    String variant() {
        requireApplies();
        return "tc-mma-" + dtype.name().toLowerCase(Locale.ROOT) + "-d" + traits.headDim()
                + (splits > 1 ? "-splitkv" + splits : "");
    }

    int blockX() {
        requireApplies();
        return traits.threads();
    }

    /** Dynamic shared memory of the forward kernel. */
    int sharedBytes() {
        requireApplies();
        return traits.sharedBytes();
    }

    /** {@code {gridX, gridY, splits}}. */
    int[] grid() {
        requireApplies();
        return new int[] {gridX, gridY, splits};
    }

    /** Rows of the output: {@code B * Hq * Sq}. */
    private static long rows(SdpaParams p) {
        return (long) p.batch() * p.headsQ() * p.seqQ();
    }

    /** Grid x of the combine kernel: one warp per row, four per CTA. */
    int combineGridX(SdpaParams p) {
        requireApplies();
        return ceilDiv(rows(p), COMBINE_THREADS / 32);
    }

    /** Bytes of the fp32 partial outputs {@code [splits, B*Hq, Sq, Dv]}; 0 without split. */
    long partialOBytes(SdpaParams p) {
        return partialOBytes(p, splits);
    }

    /** Bytes of the fp32 partial LSE {@code [splits, B*Hq, Sq]}; 0 without split. */
    long partialLseBytes(SdpaParams p) {
        return partialLseBytes(p, splits);
    }

    /** Byte offset of the LSE partials in the workspace: after the O partials, 256-byte aligned. */
    long partialLseOffset(SdpaParams p) {
        return partialLseOffset(p, splits);
    }

    /** Workspace for {@code Backend.workspaceBytes}: O partials, then LSE partials; 0 without split. */
    long workspaceBytes(SdpaParams p) {
        return splits > 1 ? partialLseOffset(p) + partialLseBytes(p) : 0;
    }

    /** {@link #partialOBytes(SdpaParams)} for a given split count (for launch code that kept only the grid). */
    static long partialOBytes(SdpaParams p, int splits) {
        return splits > 1 ? (long) splits * rows(p) * p.headDimV() * 4 : 0;
    }

    /** {@link #partialLseBytes(SdpaParams)} for a given split count. */
    static long partialLseBytes(SdpaParams p, int splits) {
        return splits > 1 ? (long) splits * rows(p) * 4 : 0;
    }

    /** {@link #partialLseOffset(SdpaParams)} for a given split count. */
    static long partialLseOffset(SdpaParams p, int splits) {
        return alignUp(partialOBytes(p, splits), WORKSPACE_ALIGN);
    }

    static long alignUp(long x, long a) {
        return (x + a - 1) / a * a;
    }

    private void requireApplies() {
        if (!applies) {
            throw new IllegalStateException("tensor-core path does not apply: " + reason);
        }
    }
}
