package io.github.attn4j.opencl;

import io.github.attn4j.GemmParams;
import io.github.attn4j.RopeParams;
import io.github.attn4j.spi.KernelArgs;
import io.github.attn4j.spi.KernelId;
import io.github.attn4j.spi.Plan;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The plans of the layer ops: the public batched GEMM ({@code attn_gemm_<dt>} in
 * {@code kernels/opencl/gemm.cl}, with its tile table) and RoPE ({@code attn_rope_<dt>} in
 * {@code kernels/opencl/rope.cl}). Kept beside {@link OpenClPlans}, which dispatches to them.
 */
final class OpenClGemmPlan {
    private OpenClGemmPlan() {}

    /**
     * The tile table of {@code attn_gemm} on GPUs ({@code GEMM_TM} form): a work-group computes
     * {@code tm x tn} of C, each work-item {@code rm} rows by {@code vw} columns, stepping K
     * {@code tk} at a time through local memory.
     *
     * @param tm rows of C per work-group
     * @param tn columns of C per work-group
     * @param tk K slab staged in local memory per step
     * @param rm rows per work-item (vector accumulators)
     * @param vw columns per work-item (the vector width)
     */
    record Tiles(int tm, int tn, int tk, int rm, int vw) {
        /** GPUs: float4 columns, 4 rows per work-item, 16 x 16 work-items, 16-deep K slab. */
        static final Tiles GPU = new Tiles(64, 64, 16, 4, 4);

        int workItems() {
            return (tn / vw) * (tm / rm);
        }

        long localBytes() {
            return 4L * tk * (tm + tn);
        }
    }

    /**
     * The tile table of {@code attn_gemm} on CPU devices ({@code GEMM_MC} form): one work-item per
     * work-group computes {@code mc x 2·vw} of C with an {@code mr x 2·vw} register micro-kernel,
     * packing {@code kc} rows of the B panel into local memory at a time.
     *
     * @param mc rows of C per work-group (a multiple of mr)
     * @param mr rows of the micro-kernel (2·mr vector accumulators)
     * @param kc K slab of the packed B panel
     * @param vw the vector width (the device's preferred float width)
     */
    record CpuTiles(int mc, int mr, int kc, int vw) {
        /**
         * 6 x 16 micro-kernel on AVX2 (12 accumulators + 2 panel vectors + 1 broadcast = 15 of the 16
         * ymm registers), 96 rows per work-group (the packed 16 KiB panel is reused 16 times), 256-deep
         * K slabs. Measured on the 2-vCPU AVX2 host (bench/results/gemm-pocl): 1024³ f32 from 200 ms
         * with the GPU-style kernel to 22-25 ms.
         */
        static final CpuTiles AVX2 = new CpuTiles(96, 6, 256, 8);

        int nr() {
            return 2 * vw;
        }

        long localBytes() {
            return 4L * kc * nr();
        }
    }

    static Plan plan(GemmParams g, OpenClDevice dev, OpenClPlans.Tune tune) {
        Map<String, Object> c = new LinkedHashMap<>();
        String dt = g.dtype().name().toLowerCase(Locale.ROOT);
        c.put("DT_" + g.dtype().name(), 1);
        c.put("DT_SUFFIX", dt);
        if (tune.gemmCpu() != 0) {
            int vw = OpenClPlans.cpuVectorWidth(dev, tune);
            CpuTiles t = new CpuTiles(CpuTiles.AVX2.mc, CpuTiles.AVX2.mr, CpuTiles.AVX2.kc, vw);
            while (t.localBytes() > dev.localMemBytes() && t.kc > 16) {
                t = new CpuTiles(t.mc, t.mr, t.kc / 2, t.vw);
            }
            if (t.localBytes() > dev.localMemBytes()) {
                return Plan.no("the GEMM panel (" + t + ") does not fit the device's " + dev.localMemBytes()
                        + " B of local memory");
            }
            c.put("GEMM_MC", t.mc);
            c.put("GEMM_MR", t.mr);
            c.put("GEMM_KC", t.kc);
            c.put("GEMM_VW", t.vw);
            long gx = (g.n() + t.nr() - 1L) / t.nr(), gy = (g.m() + t.mc - 1L) / t.mc;
            String name = String.format(Locale.ROOT, "gemm-%s-cpu-%dx%dx%d-r%dx%d", dt, t.mc, t.nr(), t.kc, t.mr, t.nr());
            return Plan.of(name, 0, List.of(new Plan.Step("gemm", KernelId.GEMM.entry(g.dtype()), c,
                    new long[] {gx, gy, g.batch()}, new long[] {1, 1, 1}, 0, KernelArgs.gemm(g))));
        }
        Tiles t = Tiles.GPU;
        while (t.localBytes() > dev.localMemBytes() && t.tk > 4) {
            t = new Tiles(t.tm, t.tn, t.tk / 2, t.rm, t.vw);
        }
        while (t.workItems() > dev.maxWorkGroupSize() && t.tm > t.rm) {
            t = new Tiles(t.tm / 2, t.tn, t.tk, t.rm, t.vw);
        }
        if (t.localBytes() > dev.localMemBytes() || t.workItems() > dev.maxWorkGroupSize()) {
            return Plan.no("the GEMM tile (" + t + ") does not fit the device: " + dev.localMemBytes()
                    + " B of local memory, " + dev.maxWorkGroupSize() + " work-items per group");
        }
        c.put("GEMM_TM", t.tm);
        c.put("GEMM_TN", t.tn);
        c.put("GEMM_TK", t.tk);
        c.put("GEMM_RM", t.rm);
        c.put("GEMM_VW", t.vw);
        long gx = (g.n() + t.tn - 1L) / t.tn, gy = (g.m() + t.tm - 1L) / t.tm;
        String name = String.format(Locale.ROOT, "gemm-%s-%dx%dx%d-r%dx%d", dt, t.tm, t.tn, t.tk, t.rm, t.vw);
        return Plan.of(name, 0, List.of(new Plan.Step("gemm", KernelId.GEMM.entry(g.dtype()), c,
                new long[] {gx, gy, g.batch()}, new long[] {t.tn / t.vw, t.tm / t.rm, 1}, 0, KernelArgs.gemm(g))));
    }

    /** Work-items per RoPE work-group (fewer when the device allows fewer). */
    static final int ROPE_WG = 256;

    static Plan rope(RopeParams r, OpenClDevice dev) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("DT_" + r.dtype().name(), 1);
        c.put("DT_SUFFIX", r.dtype().name().toLowerCase(Locale.ROOT));
        long wg = Math.min(ROPE_WG, Integer.highestOneBit((int) Math.min(dev.maxWorkGroupSize(), 1 << 20)));
        long pairs = (long) r.batch() * r.heads() * r.seq() * (r.headDim() / 2);
        long groups = Math.max(1, Math.min((pairs + wg - 1) / wg, 4L * dev.computeUnits() * 64));
        return Plan.of("rope-" + c.get("DT_SUFFIX"), 0, List.of(new Plan.Step("rope", KernelId.ROPE.entry(r.dtype()), c,
                new long[] {groups}, new long[] {wg}, 0, KernelArgs.rope(r))));
    }
}
