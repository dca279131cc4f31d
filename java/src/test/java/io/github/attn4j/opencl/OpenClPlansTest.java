package io.github.attn4j.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.AdditiveBackwardParams;
import io.github.attn4j.AdditiveParams;
import io.github.attn4j.DType;
import io.github.attn4j.KvAppendParams;
import io.github.attn4j.Masks;
import io.github.attn4j.MergeParams;
import io.github.attn4j.OpParams;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxBackwardParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.spi.KernelSignatures;
import io.github.attn4j.spi.Plan;
import io.github.attn4j.spi.Workspace;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The OpenCL planner without a device: every step binds exactly the parameters of its
 * {@code ENTRY(...)} in the {@code .cl} source (the same KernelArgs lists CUDA binds), launch
 * shapes, constants, the kernel-limit refit, and options read once.
 */
class OpenClPlansTest {
    static OpenClDevice device(boolean cpu, long maxWg, long localMem) {
        return new OpenClDevice(0, null, null, "fake", "fake platform", "OpenCL 1.2", cpu, maxWg, localMem, cpu, 1L << 30,
                4L << 30, 2, 16);
    }

    static final OpenClDevice CPU = device(true, 4096, 256 * 1024), GPU = device(false, 1024, 48 * 1024);
    static final OpenClPlans.KernelLimits NO_LIMIT = s -> Long.MAX_VALUE;

    static Tensor t(DType dt, int... shape) {
        int n = Math.toIntExact(Tensor.numel(shape));
        return dt == DType.F32 ? Tensor.of(new float[Math.max(1, n)], shape) : Tensor.ofHalf(dt, new short[Math.max(1, n)], shape);
    }

    /** A [B, H, S, D] view of a BSHD buffer (the rows of one head are H * D apart). */
    static Tensor bshd(int b, int h, int s, int d) {
        return Tensor.of(new float[b * h * s * d], io.github.attn4j.Layout.BSHD, b, h, s, d);
    }

    static List<OpParams> calls() {
        List<OpParams> l = new ArrayList<>();
        Masks all = Masks.builder().causal().kvLengths(3, 5).qLengths(2, 4).build();
        for (DType dt : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            for (int d : new int[] {16, 64, 100}) {
                SdpaParams p = SdpaParams.builder(t(dt, 2, 4, 9, d), t(dt, 2, 2, 5, d), t(dt, 2, 2, 5, d), t(dt, 2, 4, 9, d))
                        .lse(t(DType.F32, 2, 4, 9)).masks(all).build();
                l.add(p);
            }
            for (int n : new int[] {7, 5000}) {
                Tensor x = t(dt, 2, 3, 5, n);
                l.add(SoftmaxParams.builder(x, x).masks(all).build());
                l.add(SoftmaxBackwardParams.builder(x, t(dt, 2, 3, 5, n), t(dt, 2, 3, 5, n)).build());
            }
            Tensor q = t(dt, 2, 2, 7, 16), k = t(dt, 2, 2, 9, 16), v = t(dt, 2, 2, 9, 8), o = t(dt, 2, 2, 7, 8);
            l.add(AdditiveParams.builder(q, k, v, t(dt, 16), o).bias(t(dt, 16)).weights(t(dt, 2, 2, 7, 9)).masks(all)
                    .build());
            l.add(AdditiveParams.builder(q, k, v, t(dt, 12), o).projections(t(dt, 12, 16), t(dt, 12, 16)).build());
            l.add(AdditiveBackwardParams.builder(q, k, v, t(dt, 16), t(dt, 2, 2, 7, 8), t(dt, 2, 2, 7, 16),
                    t(dt, 2, 2, 9, 16), t(dt, 2, 2, 9, 8), t(dt, 16)).tanhBias(t(dt, 16)).tanhBiasGrad(t(dt, 16)).masks(all)
                    .build());
            l.add(AdditiveBackwardParams.builder(q, k, v, t(dt, 12), t(dt, 2, 2, 7, 8), t(dt, 2, 2, 7, 16),
                    t(dt, 2, 2, 9, 16), t(dt, 2, 2, 9, 8), t(dt, 12)).projections(t(dt, 12, 16), t(dt, 12, 16))
                    .projectionGrads(t(dt, 12, 16), t(dt, 12, 16)).build());
            l.add(io.github.attn4j.GemmParams.builder(t(dt, 3, 7, 5), t(dt, 9, 5), t(dt, 3, 7, 9)).transB(true).beta(1f)
                    .build());
            Tensor rx = t(dt, 2, 3, 5, 8);
            l.add(io.github.attn4j.RopeParams.builder(rx, rx).offset(4).build());
        }
        for (DType dt : new DType[] {DType.F32, DType.F16, DType.BF16}) { // merge: 1, 3 and 8 parts, with and without LSE
            for (int n : new int[] {1, 3, MergeParams.MAX_DEVICE_PARTS}) {
                List<Tensor> os = new ArrayList<>(), ls = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    os.add(t(dt, 2, 3, 5, 24));
                    ls.add(t(DType.F32, 2, 3, 5));
                }
                MergeParams.Builder m = MergeParams.builder(os, ls, t(dt, 2, 3, 5, 24));
                l.add((n == 3 ? m : m.lse(t(DType.F32, 2, 3, 5))).build());
            }
        }
        for (DType dt : new DType[] {DType.F32, DType.F16, DType.BF16}) { // kv append, plain and ragged
            Tensor bt = Tensor.of(io.github.attn4j.HostMemory.of(new int[] {0, 1, 2, 3}), DType.I32, new int[] {2, 2},
                    new long[] {2, 1}, 0);
            KvAppendParams.Builder k = KvAppendParams.builder(t(dt, 2, 3, 4, 16), t(dt, 2, 3, 4, 8), t(dt, 4, 5, 3, 16),
                    t(dt, 4, 5, 3, 8), bt, 0, 6);
            l.add(k.build());
            l.add(k.appendLengths(2, 0).build());
        }
        // The SDPA backward (appended: the tests above index the earlier calls).
        Masks bm = all.toBuilder().bias(t(DType.F32, 1, 4, 9, 5)).build();
        for (DType dt : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            for (int d : new int[] {16, 100}) {
                l.add(SdpaBackwardParams.builder(t(dt, 2, 4, 9, d), t(dt, 2, 2, 5, d), t(dt, 2, 2, 5, d),
                        t(dt, 2, 4, 9, d), t(dt, 2, 4, 9, d), t(DType.F32, 2, 4, 9), t(dt, 2, 4, 9, d),
                        t(dt, 2, 2, 5, d), t(dt, 2, 2, 5, d)).masks(bm).dbias(t(DType.F32, 1, 4, 9, 5)).build());
            }
        }
        // Split-KV decode (appended): GQA 8/2, Sq = 1, per-sequence lengths and a window, with LSE.
        for (DType dt : new DType[] {DType.F32, DType.BF16}) {
            l.add(SdpaParams.builder(t(dt, 2, 8, 1, 64), t(dt, 2, 2, 700, 64), t(dt, 2, 2, 700, 64), t(dt, 2, 8, 1, 64))
                    .lse(t(DType.F32, 2, 8, 1)).masks(Masks.builder().causal().window(100, 0).kvLengths(700, 9).build())
                    .build());
        }
        return l;
    }

    @Test
    void everyPlannedStepBindsItsKernelsParameters() {
        Map<String, Map<String, List<String>>> files = new HashMap<>();
        int steps = 0;
        for (OpenClDevice dev : List.of(CPU, GPU)) {
            OpenClPlans.Tune tune = OpenClPlans.Tune.of(dev.cpu(), OpenClOptions.defaults());
            for (OpParams p : calls()) {
                Plan plan = OpenClPlans.plan(p, dev, tune, NO_LIMIT);
                assertTrue(plan.supported(), plan.reason());
                for (Plan.Step s : plan.steps()) {
                    Map<String, List<String>> e = files.computeIfAbsent(s.module(), KernelSignatures::opencl);
                    String stem = s.entry().replaceAll("_(f32|f16|bf16)$", "");
                    assertEquals(s.constants().get("DT_SUFFIX") + "", s.entry().substring(stem.length() + 1));
                    KernelSignatures.assertBinds(e, s, stem);
                    steps++;
                }
            }
        }
        for (DType dt : DType.values()) {
            Tensor a = Tensor.of(java.nio.ByteBuffer.allocate(120 * dt.bytes()), dt, 2, 3, 4, 5);
            Tensor b = Tensor.of(a.memory(), dt, new int[] {2, 3, 4, 5}, new long[] {60, 5, 15, 1}, 0);
            Plan.Step s = OpenClPlans.copy(a, b, CPU, NO_LIMIT).step(0);
            KernelSignatures.assertBinds(files.computeIfAbsent("copy", KernelSignatures::opencl), s, "attn_copy");
            assertEquals("attn_copy_" + s.constants().get("DT_SUFFIX"), s.entry());
            steps++;
        }
        assertTrue(steps >= 2 * 3 * 7, "steps checked: " + steps);
    }

    @Test
    void sdpaShapeAndConstants() {
        SdpaParams p = (SdpaParams) calls().get(1); // D = 64
        OpenClPlans.Tune wgForm = OpenClPlans.Tune.of(true, new OpenClOptions("fwdCpu=0", ""));
        Plan plan = OpenClPlans.plan(p, CPU, wgForm, NO_LIMIT);
        Plan.Step s = plan.step(0);
        assertEquals("sdpa", s.module());
        assertEquals("attn_sdpa_fwd_f32", s.entry());
        assertEquals(64, s.constants().get("HEAD_DIM"));
        assertEquals(1, s.constants().get("HAS_KV_LEN"));
        long wg = s.block()[0];
        long rows = (Integer) s.constants().get("ROWS");
        assertEquals((9 + wg * rows - 1) / (wg * rows), s.grid()[0]);
        assertEquals(8, s.grid()[1]); // B * Hq
        assertEquals(plan.step(0).argNames(), OpenClPlans.plan(p, CPU, wgForm, NO_LIMIT).step(0).argNames(),
                "a plan is a value");
    }

    /**
     * The SDPA forward on a CPU device: the CPU form (a work-item per LANES_FR * VW query rows, the rows as lanes)
     * for unit-stride rows of D, Dv up to 256 (softcap, bias, ALiBi and paged K/V included); GPUs keep the
     * work-group form.
     */
    @Test
    void sdpaForwardTakesTheCpuFormOnCpusOnly() {
        SdpaParams p = (SdpaParams) calls().get(1); // D = 64, causal, kv and q lengths, LSE
        Plan cpu = OpenClPlans.plan(p, CPU, OpenClPlans.Tune.CPU, NO_LIMIT);
        int vw = OpenClPlans.cpuVectorWidth(CPU, OpenClPlans.Tune.CPU);
        int rows = OpenClPlans.LANES_ROW_VECTORS * vw;
        assertTrue(cpu.variant().startsWith("flash-cpu-f32-d64-dv64-r" + rows + "k"), cpu.variant());
        Plan.Step s = cpu.step(0);
        assertEquals("attn_sdpa_fwd_f32", s.entry());
        assertEquals(1, s.constants().get("SDPA_CPU"));
        assertEquals(OpenClPlans.LANES_KEYS, s.constants().get("LANES_KB"));
        assertEquals(OpenClPlans.FWD_CPU_GROUPS, s.grid()[0]); // one row block, padded (few grid widths)
        assertEquals(0, s.constants().get("LANES_COPY")); // BHSD: adjacent keys, read in place
        assertEquals(2, s.constants().get("FWD_HEADS")); // the group of 2 in one item: 4 items, 2 per compute unit
        assertEquals(4, s.grid()[1]); // B * Hq / FWD_HEADS
        assertTrue(cpu.variant().contains("-h2"), cpu.variant());
        assertEquals(1, s.block()[0]);
        assertFalse(OpenClPlans.plan(p, GPU, OpenClPlans.Tune.GPU, NO_LIMIT).variant().startsWith("flash-cpu-"));
        SdpaParams softcap = SdpaParams.builder(t(DType.F32, 2, 4, 9, 64), t(DType.F32, 2, 2, 5, 64),
                t(DType.F32, 2, 2, 5, 64), t(DType.F32, 2, 4, 9, 64)).softcap(30f).build();
        Plan capped = OpenClPlans.plan(softcap, CPU, OpenClPlans.Tune.CPU, NO_LIMIT);
        assertTrue(capped.variant().startsWith("flash-cpu-"), capped.variant());
        assertEquals(1, capped.step(0).constants().get("HAS_SOFTCAP"));
        // Keys a row of heads apart (BSHD) and a kv head's K and V beyond 2 MiB: copied a block at a time, the next
        // block prefetched; 300 keys (150 KiB) stay in place.
        SdpaParams bshd = SdpaParams.builder(t(DType.F32, 1, 16, 9, 64), bshd(1, 4, 5000, 64), bshd(1, 4, 5000, 64),
                t(DType.F32, 1, 16, 9, 64)).build();
        Plan strided = OpenClPlans.plan(bshd, CPU, OpenClPlans.Tune.CPU, NO_LIMIT);
        assertTrue(strided.variant().endsWith("-copy"), strided.variant());
        assertEquals(1, strided.step(0).constants().get("LANES_COPY"));
        SdpaParams shortBshd = SdpaParams.builder(t(DType.F32, 1, 16, 9, 64), bshd(1, 4, 300, 64),
                bshd(1, 4, 300, 64), t(DType.F32, 1, 16, 9, 64)).build();
        assertEquals(0, OpenClPlans.plan(shortBshd, CPU, OpenClPlans.Tune.CPU, NO_LIMIT).step(0).constants()
                .get("LANES_COPY"));
        SdpaParams wide = SdpaParams.builder(t(DType.F32, 1, 1, 9, 300), t(DType.F32, 1, 1, 5, 300),
                t(DType.F32, 1, 1, 5, 300), t(DType.F32, 1, 1, 9, 300)).build();
        assertEquals("D, Dv above 256", OpenClPlans.fwdCpuProblem(wide));
        assertNull(OpenClPlans.fwdCpuProblem(p));
    }

    /**
     * The forward's CPU form packs the query heads of a kv head into one work-item: the largest divisor of the group up
     * to fwdHeads, within 64 KiB of private Q and O blocks, leaving 2 items with rows per compute unit; never on the
     * work-group form, and a grid of B * Hq / FWD_HEADS items per row block.
     */
    @Test
    void sdpaForwardPacksTheHeadsOfAKvHead() {
        OpenClPlans.Tune t = OpenClPlans.Tune.CPU;
        OpenClDevice avx2 = new OpenClDevice(0, null, null, "fake", "fake platform", "OpenCL 1.2", true, 4096, 256 * 1024,
                true, 1L << 30, 4L << 30, 2, 8); // 8-wide vectors: 16 rows per item
        int rows = OpenClPlans.LANES_ROW_VECTORS * OpenClPlans.cpuVectorWidth(avx2, t);
        assertEquals(16, rows);
        for (int[] c : new int[][] {
            // B, Hq, Hkv, Sq, D, Dv, expected heads per item
            {1, 32, 8, 256, 128, 128, 4},  // group 4, 64 KiB at D = Dv = 128
            {1, 32, 4, 256, 128, 128, 4},  // group 8, capped by fwdHeads
            {1, 32, 8, 256, 256, 256, 2},  // D = 256: 2 heads fit
            {1, 32, 32, 256, 64, 64, 1},   // MHA
            {1, 6, 2, 256, 64, 64, 3},     // group 3
            {1, 4, 1, 16, 64, 64, 1},      // one row block: 4 items unpacked, 1 packed (< 2 per compute unit)
            {1, 8, 1, 16, 64, 64, 2},      // 8 items unpacked: 4 items of 2 heads (4 heads would leave 1 per unit)
            {2, 8, 2, 17, 64, 32, 4},      // 32 row blocks
        }) {
            SdpaParams p = SdpaParams.builder(t(DType.F32, c[0], c[1], c[3], c[4]), t(DType.F32, c[0], c[2], 40, c[4]),
                    t(DType.F32, c[0], c[2], 40, c[5]), t(DType.F32, c[0], c[1], c[3], c[5])).build();
            assertEquals(c[6], OpenClPlans.fwdCpuHeads(p, rows, avx2.computeUnits(), t), java.util.Arrays.toString(c));
            Plan plan = OpenClPlans.plan(p, avx2, t, NO_LIMIT);
            assertEquals(c[6], plan.step(0).constants().get("FWD_HEADS"), plan.variant());
            assertEquals((long) c[0] * c[1] / c[6], plan.step(0).grid()[1], plan.variant());
        }
        SdpaParams gqa = SdpaParams.builder(t(DType.F32, 1, 32, 256, 128), t(DType.F32, 1, 8, 40, 128),
                t(DType.F32, 1, 8, 40, 128), t(DType.F32, 1, 32, 256, 128)).build();
        OpenClPlans.Tune one = OpenClPlans.Tune.of(true, new OpenClOptions("fwdHeads=1", ""));
        assertEquals(1, OpenClPlans.fwdCpuHeads(gqa, rows, avx2.computeUnits(), one));
        assertEquals(null, OpenClPlans.plan(gqa, GPU, OpenClPlans.Tune.GPU, NO_LIMIT).step(0).constants()
                .get("FWD_HEADS"));
    }

    /** A refit under a kernel's smaller work-group limit happens inside the one plan. */
    @Test
    void kernelLimitRefitsTheWorkGroup() {
        SdpaParams p = SdpaParams.builder(t(DType.F32, 1, 1, 4096, 64), t(DType.F32, 1, 1, 4096, 64),
                t(DType.F32, 1, 1, 4096, 64), t(DType.F32, 1, 1, 4096, 64)).build();
        Plan free = OpenClPlans.plan(p, GPU, OpenClPlans.Tune.GPU, NO_LIMIT);
        assertEquals(128, free.step(0).block()[0]);
        Plan fitted = OpenClPlans.plan(p, GPU, OpenClPlans.Tune.GPU, s -> 64);
        assertEquals(64, fitted.step(0).block()[0]);
        Plan none = OpenClPlans.plan(p, GPU, OpenClPlans.Tune.GPU, s -> 0);
        assertFalse(none.supported());
    }

    @Test
    void rawAdditiveProjectsIntoTheWorkspace() {
        AdditiveParams a = (AdditiveParams) calls().get(8);
        assertTrue(a.raw());
        Plan plan = OpenClPlans.plan(a, CPU, OpenClPlans.Tune.CPU, NO_LIMIT);
        assertEquals(3, plan.steps().size());
        assertEquals(4L * 2 * 2 * (7 + 9) * 12, plan.workspaceBytes());
        var qp = (io.github.attn4j.spi.Arg.Buffer) plan.step(2).args().get(1);
        var kp = (io.github.attn4j.spi.Arg.Buffer) plan.step(2).args().get(2);
        assertTrue(qp.tensor().memory() instanceof Workspace && kp.tensor().memory() instanceof Workspace);
        assertEquals(2L * 2 * 7 * 12, kp.tensor().offset(), "Kp follows Qp in the workspace");
    }

    /**
     * The softmax forward keeps its exponentials on CPU devices only (used by f16/bf16, and by f32 with non-temporal
     * stores), the backward never; outputs past smNtKiB (8 MiB) on CPU devices go out with non-temporal stores.
     */
    @Test
    void softmaxKeepsExponentialsAndStoresNonTemporallyOnlyOnCpus() {
        for (DType dt : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            Tensor x = t(dt, 2, 3, 5, 40);
            Plan fwd = OpenClPlans.plan(SoftmaxParams.builder(x, x).build(), CPU, OpenClPlans.Tune.CPU, NO_LIMIT);
            assertTrue(fwd.variant().contains("row-per-item"), fwd.variant());
            assertEquals(OpenClPlans.SOFTMAX_KEEP_KEYS, fwd.step(0).constants().get("SM_EBUF"), dt + " forward");
            assertEquals(null, fwd.step(0).constants().get("STORE_NT"), dt + " forward of 1200 elements");
            Plan bwd = OpenClPlans.plan(SoftmaxBackwardParams.builder(x, t(dt, 2, 3, 5, 40), t(dt, 2, 3, 5, 40)).build(),
                    CPU, OpenClPlans.Tune.CPU, NO_LIMIT);
            assertEquals(null, bwd.step(0).constants().get("SM_EBUF"), dt + " backward");
            Plan gpu = OpenClPlans.plan(SoftmaxParams.builder(x, x).build(), GPU, OpenClPlans.Tune.GPU, NO_LIMIT);
            assertEquals(null, gpu.step(0).constants().get("SM_EBUF"), dt + " on a GPU");

            // 8 MiB of output and one element more
            int n = 8 * 1024 * 1024 / dt.bytes() / 64;
            for (int extra : new int[] {0, 1}) {
                Tensor big = t(dt, 1, 1, 64, n + extra);
                Plan f = OpenClPlans.plan(SoftmaxParams.builder(big, big).build(), CPU, OpenClPlans.Tune.CPU, NO_LIMIT);
                Plan b = OpenClPlans.plan(SoftmaxBackwardParams.builder(big, big, big).build(), CPU, OpenClPlans.Tune.CPU,
                        NO_LIMIT);
                Integer want = extra == 1 ? 1 : null;
                assertEquals(want, f.step(0).constants().get("STORE_NT"), dt + " forward, extra " + extra);
                assertEquals(want, b.step(0).constants().get("STORE_NT"), dt + " backward, extra " + extra);
                assertEquals(extra == 1, f.variant().endsWith("-nt"), f.variant());
                Plan g = OpenClPlans.plan(SoftmaxParams.builder(big, big).build(), GPU, OpenClPlans.Tune.GPU, NO_LIMIT);
                assertEquals(null, g.step(0).constants().get("STORE_NT"), dt + " on a GPU");
            }
        }
    }

    /** The decode: a work-item per split on CPUs, a work-group per split on GPUs (or forced by decWg). */
    @Test
    void decodeVariantFollowsTheDeviceTypeAndTheTuning() {
        List<OpParams> all = calls();
        SdpaParams p = (SdpaParams) all.get(all.size() - 2);
        Plan cpu = OpenClPlans.plan(p, CPU, OpenClPlans.Tune.CPU, NO_LIMIT);
        assertTrue(cpu.variant().startsWith("decode-splitkv"), cpu.variant());
        assertEquals(0, cpu.step(0).constants().get("DEC_WG"));
        assertEquals(1, cpu.step(0).block()[0]);
        Plan gpu = OpenClPlans.plan(p, GPU, OpenClPlans.Tune.GPU, NO_LIMIT);
        assertTrue(gpu.variant().startsWith("decode-wg64-splitkv"), gpu.variant());
        assertEquals("attn_sdpa_decode_f32", gpu.step(0).entry());
        assertEquals(64, gpu.step(0).constants().get("DEC_WG"));
        assertEquals(64, gpu.step(0).block()[0]);
        long splits = ((io.github.attn4j.spi.Arg.I32) gpu.step(0).args().get(gpu.step(0).args().size() - 1)).value();
        assertEquals(splits, gpu.step(0).grid()[0]); // work-groups
        assertEquals(splits * 64, gpu.step(0).global()[0]);
        assertEquals(4, gpu.step(0).grid()[1]); // B * Hkv
        assertEquals("attn_sdpa_combine_f32", gpu.step(1).entry());
        // the tuning option forces the work-group variant on a CPU device (how PoCL tests it)
        OpenClPlans.Tune forced = OpenClPlans.Tune.of(true, new OpenClOptions("decWg=64", ""));
        assertEquals(64, OpenClPlans.plan(p, CPU, forced, NO_LIMIT).step(0).block()[0]);
        // a GPU without the work-group variant keeps the flash kernel
        OpenClPlans.Tune off = OpenClPlans.Tune.of(false, new OpenClOptions("decWg=0", ""));
        assertTrue(OpenClPlans.plan(p, GPU, off, NO_LIMIT).variant().startsWith("flash-"));
        // a kernel limit under the group's 16 keys/heads: the flash kernel, planned again under the limit
        Plan small = OpenClPlans.plan(p, GPU, OpenClPlans.Tune.GPU, s -> 8);
        assertTrue(small.supported(), small.reason());
        assertTrue(small.variant().startsWith("flash-"), small.variant());
    }

    @Test
    void optionsAreValidatedOnceAndApplied() {
        assertThrows(IllegalArgumentException.class, () -> new OpenClOptions("bogus=1", ""));
        assertThrows(IllegalArgumentException.class, () -> new OpenClOptions("vw=x", ""));
        OpenClPlans.Tune t = OpenClPlans.Tune.of(true, new OpenClOptions("sdpaWg=32, sdpaRows=2", ""));
        assertEquals(32, t.sdpaWg());
        assertEquals(2, t.sdpaRows());
        assertEquals(OpenClPlans.Tune.CPU.vw(), t.vw());
    }

    /**
     * The SDPA backward on a CPU device: the fused form when the (batch, kv head) items number at least
     * BWD_FUSED_ITEMS_PER_CU per compute unit and its accumulators fit one allocation, else the two CPU
     * kernels (never unsupported for lack of the fused form's workspace).
     */
    @Test
    void backwardFusesOnlyWhenItemsFillTheDeviceAndTheWorkspaceFits() {
        OpenClDevice small = new OpenClDevice(0, null, null, "fake", "fake platform", "OpenCL 1.2", true, 4096,
                256 * 1024, true, 4L << 20, 4L << 30, 2, 8);
        assertTrue(backwardVariant(small, 8, 64).contains("-cpu-fused-"), backwardVariant(small, 8, 64));
        assertFalse(backwardVariant(small, 4, 64).contains("fused"), "4 items on 2 CUs: " + backwardVariant(small, 4, 64));
        String big = backwardVariant(small, 8, 1024); // 8 x 1024 x 128 floats of accumulators and Delta/LSE > 4 MiB
        assertTrue(big.startsWith("flash-bwd-cpu-") && !big.contains("fused"), big);
        Plan p = OpenClPlans.plan(backward(8, 64), small, OpenClPlans.Tune.CPU, NO_LIMIT);
        assertEquals(2 * 4 * 8 * 16 + 4L * 8 * (64 + OpenClPlans.LANES_KEYS) * 128, p.workspaceBytes(),
                "Delta/LSE plus the accumulators");
        assertEquals(2, p.steps().size(), "the fused form: pre and one fused step");
    }

    private static SdpaBackwardParams backward(int heads, int sk) {
        return SdpaBackwardParams.builder(t(DType.F32, 1, heads, 16, 64), t(DType.F32, 1, heads, sk, 64),
                t(DType.F32, 1, heads, sk, 64), t(DType.F32, 1, heads, 16, 64), t(DType.F32, 1, heads, 16, 64),
                t(DType.F32, 1, heads, 16), t(DType.F32, 1, heads, 16, 64), t(DType.F32, 1, heads, sk, 64),
                t(DType.F32, 1, heads, sk, 64)).build();
    }

    private static String backwardVariant(OpenClDevice dev, int heads, int sk) {
        Plan p = OpenClPlans.plan(backward(heads, sk), dev, OpenClPlans.Tune.CPU, NO_LIMIT);
        assertTrue(p.supported(), p.reason());
        return p.variant();
    }
}
