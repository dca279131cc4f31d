package io.github.attn4j.opencl;

import io.github.attn4j.AdditiveParams;
import io.github.attn4j.DType;
import io.github.attn4j.Masks;
import io.github.attn4j.OpParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxBackwardParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.spi.KernelId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Which kernel path runs a call, and how: the program sources, the {@code -D} options that
 * specialise them, and the NDRange. {@link #choose} is the single decision that
 * {@code supports()}, {@code workspaceBytes()} and {@code launch()} all use, so a call that is
 * reported supported is exactly the call that launches.
 *
 * @param name      what {@code Support.variant()} reports, e.g. {@code sdpa-f16-d64-bn32-r4x64}
 * @param main      the op's kernel
 * @param projection the projection GEMM for raw additive inputs (run twice: q, then k), or null
 * @param workspaceBytes fp32 workspace for the projections
 */
record Variant(String name, Step main, Step projection, long workspaceBytes) {

    /** One kernel: {@code source} built with {@code options}, entry {@code entry}, work-group {@code local}. */
    record Step(String source, String entry, String options, long[] local) {
        String describe(long[] global) {
            return entry + " global " + Arrays.toString(global) + " local " + Arrays.toString(local);
        }
    }

    /** Either a variant or the reason there is none. */
    record Choice(Variant variant, String reason) {
        boolean supported() {
            return variant != null;
        }

        static Choice no(String reason) {
            return new Choice(null, reason);
        }
    }

    /**
     * The tuning table: every tile size and vector width of every kernel, per device class. The
     * kernels only check (#error) that the values they get are consistent; the launch code shrinks
     * the work-groups and tiles to the device's reported limits. {@code -Dattn4j.opencl.tune=k=v,...}
     * overrides entries (for tuning runs).
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
     */
    record Tune(int vw, int sdpaBlockN, int sdpaRows, int sdpaWg, int addBlockN, int addWg, int smShortMax,
            int smKeysPerThread, int smShortGroup, int smLongThreads, int gemmTile) {
        /**
         * CPUs (PoCL, measured in bench/results/opencl-pocl.md): 16-wide explicit vectors (one zmm),
         * 4 query rows per work-item, 64-key tiles and 64 work-items, so 256 rows share each K/V tile.
         */
        static final Tune CPU = new Tune(16, 64, 4, 64, 32, 32, 4096, 512, 64, 16, 16);
        /** GPUs: one row per work-item, float4 vectors, 128-item groups. */
        static final Tune GPU = new Tune(4, 32, 1, 128, 32, 64, 1024, 16, 256, 256, 16);

        static Tune forDevice(OpenClDevice d) {
            Tune t = d.cpu() ? CPU : GPU;
            String o = System.getProperty("attn4j.opencl.tune");
            if (o == null || o.isBlank()) {
                return t;
            }
            int[] v = {t.vw, t.sdpaBlockN, t.sdpaRows, t.sdpaWg, t.addBlockN, t.addWg, t.smShortMax, t.smKeysPerThread,
                t.smShortGroup, t.smLongThreads, t.gemmTile};
            List<String> names = List.of("vw", "sdpaBlockN", "sdpaRows", "sdpaWg", "addBlockN", "addWg", "smShortMax",
                    "smKeysPerThread", "smShortGroup", "smLongThreads", "gemmTile");
            for (String kv : o.split(",")) {
                String[] p = kv.trim().split("=");
                int i = names.indexOf(p[0].trim());
                if (p.length != 2 || i < 0) {
                    throw new IllegalArgumentException("attn4j.opencl.tune: expected NAME=INT with NAME in " + names
                            + ", got '" + kv + "'");
                }
                v[i] = Integer.parseInt(p[1].trim());
            }
            return new Tune(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]);
        }
    }

    /** Head dims (D, Dv) and the attention dim A are specialised up to these (private arrays). */
    static final int MAX_HEAD_DIM = 512, MAX_DIM_A = 1024;

    static Choice choose(OpParams p, OpenClDevice dev) {
        Tune t = Tune.forDevice(dev);
        String big = tooLarge(p, dev);
        if (big != null) {
            return Choice.no(big);
        }
        if (p instanceof SdpaParams s) {
            return sdpa(s, dev, t);
        } else if (p instanceof SoftmaxParams s) {
            return softmax(s.dtype(), s.seqK(), s.masks(), dev, t, false);
        } else if (p instanceof SoftmaxBackwardParams s) {
            return softmax(s.dtype(), s.seqK(), Masks.NONE, dev, t, true);
        } else {
            return additive((AdditiveParams) p, dev, t);
        }
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

    private static int roundUp(int x, int m) {
        return (x + m - 1) / m * m;
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

    private static String dtypeOptions(DType dt) {
        String s = dt.name().toLowerCase(Locale.ROOT);
        // attn4j.opencl.options: extra build options, for tuning experiments only
        String extra = System.getProperty("attn4j.opencl.options", "");
        return "-cl-std=CL1.2 -DDT_" + dt.name() + " -DDT_SUFFIX=" + s + (extra.isBlank() ? "" : " " + extra.trim());
    }

    private static String maskOptions(Masks m) {
        return " -DHAS_BOOL_MASK=" + b(m.boolMask() != null) + " -DHAS_BIAS=" + b(m.bias() != null) + " -DHAS_ALIBI="
                + b(m.alibiSlopes() != null) + " -DHAS_WINDOW=" + b(m.hasWindow()) + " -DHAS_KV_LEN="
                + b(m.kvLengths() != null) + " -DHAS_Q_LEN=" + b(m.qLengths() != null);
    }

    private static int b(boolean x) {
        return x ? 1 : 0;
    }

    private static Choice sdpa(SdpaParams s, OpenClDevice dev, Tune t) {
        int d = s.headDim(), dv = s.headDimV();
        if (d > MAX_HEAD_DIM || dv > MAX_HEAD_DIM) {
            return Choice.no("head dim D=" + d + ", Dv=" + dv + ": the OpenCL SDPA kernel is specialised up to "
                    + MAX_HEAD_DIM);
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
            return Choice.no("D=" + d + ", Dv=" + dv + " needs " + local + " B of local memory for a " + bn
                    + "-key tile; the device has " + dev.localMemBytes() + " B");
        }
        String opts = dtypeOptions(s.dtype()) + " -DHEAD_DIM=" + d + " -DHEAD_DIM_V=" + dv + " -DDV_PAD=" + dvPad
                + " -DVW=" + vw + " -DBLOCK_N=" + bn + " -DWG=" + wg + " -DROWS=" + rows + " -DKVW=" + loadWidth(d)
                + " -DVVW=" + loadWidth(dv) + " -DHAS_SOFTCAP="
                + b(s.hasSoftcap()) + " -DHAS_LSE=" + b(s.lse() != null) + maskOptions(s.masks());
        String name = String.format(Locale.ROOT, "flash-%s-d%d-dv%d-bn%d-r%dx%d", s.dtype().name().toLowerCase(Locale.ROOT),
                d, dv, bn, rows, wg);
        return new Choice(new Variant(name, new Step("sdpa.cl", KernelId.SDPA_FWD.entry(s.dtype()), opts,
                new long[] {wg, 1}), null, 0), "");
    }

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

    private static Choice softmax(DType dt, int n, Masks m, OpenClDevice dev, Tune t, boolean backward) {
        int[] shape = softmaxShape(n, dev, t);
        long local = 2L * 4 * shape[0] * shape[1];
        if (local > dev.localMemBytes()) {
            return Choice.no("softmax reduction needs " + local + " B of local memory; the device has "
                    + dev.localMemBytes() + " B");
        }
        String opts = dtypeOptions(dt) + " -DROW_THREADS=" + shape[0] + " -DROWS_PER_WG=" + shape[1]
                + maskOptions(m);
        KernelId k = backward ? KernelId.MASKED_SOFTMAX_BWD : KernelId.MASKED_SOFTMAX;
        String name = String.format(Locale.ROOT, "%s-%s-%s-%dx%d", backward ? "softmax-bwd" : "softmax",
                shape[1] > 1 ? "short-rows" : "long-rows", dt.name().toLowerCase(Locale.ROOT), shape[0], shape[1]);
        return new Choice(new Variant(name, new Step("softmax.cl", k.entry(dt), opts, new long[] {shape[0], shape[1]}),
                null, 0), "");
    }

    private static Choice additive(AdditiveParams a, OpenClDevice dev, Tune t) {
        int da = a.dimA(), dv = a.headDimV();
        if (da > MAX_DIM_A || dv > MAX_HEAD_DIM) {
            return Choice.no("A=" + da + ", Dv=" + dv + ": the OpenCL additive kernel is specialised up to A <= "
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
            return Choice.no("A=" + da + ", Dv=" + dv + " needs " + local + " B of local memory; the device has "
                    + dev.localMemBytes() + " B");
        }
        DType dt = a.dtype();
        String opts = dtypeOptions(dt) + " -DDIM_A=" + da + " -DA_PAD=" + aPad + " -DHEAD_DIM_V=" + dv + " -DDV_PAD="
                + dvPad + " -DVW=" + vw + " -DBLOCK_N=" + bn + " -DWG=" + wg + " -DHAS_WEIGHTS="
                + b(a.weights() != null) + " -DHAS_ADD_BIAS=" + b(a.b() != null) + " -DQK_F32=" + b(a.raw())
                + maskOptions(a.masks());
        Step proj = null;
        long ws = 0;
        if (a.raw()) {
            int tile = Math.min(t.gemmTile, pow2Floor((long) Math.sqrt((double) dev.maxWorkGroupSize())));
            if (2L * 4 * tile * (tile + 1) > dev.localMemBytes()) {
                return Choice.no("the projection GEMM tile does not fit the device's local memory");
            }
            proj = new Step("gemm.cl", KernelId.GEMM_NT.entry(dt), dtypeOptions(dt) + " -DGEMM_TILE=" + tile,
                    new long[] {tile, tile, 1});
            ws = 4L * a.batch() * a.heads() * ((long) a.seqQ() + a.seqK()) * da;
            long each = 4L * a.batch() * a.heads() * Math.max(a.seqQ(), a.seqK()) * da;
            if (each > dev.maxAllocBytes()) {
                return Choice.no("the fp32 projection workspace (" + each + " B) exceeds the device's largest allocation");
            }
        }
        String name = String.format(Locale.ROOT, "fused-additive-%s-a%d-dv%d-bn%d-wg%d%s", dt.name().toLowerCase(Locale.ROOT),
                da, dv, bn, wg, a.raw() ? "+gemm" : "");
        return new Choice(new Variant(name, new Step("additive.cl", KernelId.ADDITIVE_FWD.entry(dt), opts,
                new long[] {wg, 1}), proj, ws), "");
    }
}
