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
     * The tile table of {@code attn_gemm}: a work-group computes {@code tm x tn} of C, each
     * work-item {@code rm} rows by {@code vw} columns, stepping K {@code tk} at a time.
     *
     * @param tm rows of C per work-group
     * @param tn columns of C per work-group
     * @param tk K slab staged in local memory per step
     * @param rm rows per work-item (vector accumulators)
     * @param vw columns per work-item (the vector width)
     */
    record Tiles(int tm, int tn, int tk, int rm, int vw) {
        /**
         * CPUs (PoCL): one native vector of columns (the device's preferred float width: 8 on AVX2,
         * 16 on AVX-512; 8 if it reports none), 8 rows per work-item (8 vector accumulators), a
         * 64-deep K slab (32 KiB of local tiles, inside L2). On the 2-vCPU AVX2 host of
         * bench/results/gemm-pocl, 8 x 8 beat 8 x 16 (16 accumulators of two registers each spill).
         */
        static final Tiles CPU = new Tiles(64, 64, 64, 8, 8);
        /** GPUs: float4 columns, 4 rows per work-item, 16 x 16 work-items, 16-deep K slab. */
        static final Tiles GPU = new Tiles(64, 64, 16, 4, 4);

        int workItems() {
            return (tn / vw) * (tm / rm);
        }

        long localBytes() {
            return 4L * tk * (tm + tn);
        }
    }

    static Plan plan(GemmParams g, OpenClDevice dev) {
        Tiles t = dev.cpu() ? Tiles.CPU : Tiles.GPU;
        if (dev.cpu() && (dev.preferredFloatWidth() == 4 || dev.preferredFloatWidth() == 16)) {
            t = new Tiles(t.tm, t.tn, t.tk, t.rm, dev.preferredFloatWidth());
        }
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
        Map<String, Object> c = new LinkedHashMap<>();
        String dt = g.dtype().name().toLowerCase(Locale.ROOT);
        c.put("DT_" + g.dtype().name(), 1);
        c.put("DT_SUFFIX", dt);
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
