package io.github.attn4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.AdditiveParams;
import io.github.attn4j.DType;
import io.github.attn4j.Layout;
import io.github.attn4j.Masks;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxBackwardParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cuda.CudaPlans.GemmProvider;
import io.github.attn4j.spi.KernelId;
import io.github.attn4j.spi.Plan;
import org.junit.jupiter.api.Test;

/** Plans: kernel choice, tile selection, launch shapes and workspaces, without a GPU. */
class CudaPlansTest {
    static final CudaPlans.Context CTX = new CudaPlans.Context(DeviceProps.h100(), CudaOptions.defaults(),
            GemmProvider.KERNEL);

    static Tensor t(Layout l, int b, int h, int s, int d) {
        return Tensor.of(new float[b * h * s * d], l, b, h, s, d);
    }

    static SdpaParams sdpa(int b, int hq, int hkv, int sq, int sk, int d, int dv) {
        return SdpaParams.builder(t(Layout.BHSD, b, hq, sq, d), t(Layout.BHSD, b, hkv, sk, d), t(Layout.BHSD, b, hkv, sk, dv),
                t(Layout.BHSD, b, hq, sq, dv)).build();
    }

    @Test
    void sdpaTileIsTheSmallestBucketHoldingBothHeadDims() {
        assertEquals(32, CudaPlans.sdpaTile(1, 1).dmax());
        assertEquals(32, CudaPlans.sdpaTile(32, 32).dmax());
        assertEquals(64, CudaPlans.sdpaTile(33, 8).dmax());
        assertEquals(128, CudaPlans.sdpaTile(64, 80).dmax());
        assertEquals(256, CudaPlans.sdpaTile(256, 129).dmax());
        assertNull(CudaPlans.sdpaTile(257, 64));
        assertNull(CudaPlans.sdpaTile(64, 300));
    }

    @Test
    void sdpaTilesFitSm75() {
        for (CudaTables.SdpaTile t : CudaTables.SDPA_TILES) {
            assertTrue(t.smemBytes() <= 64 * 1024, t + " needs " + t.smemBytes() + " B");
            assertEquals(0, t.threads() % t.bm());
            assertEquals(0, 32 % (t.threads() / t.bm()));
        }
        // Q [32][129] + K [32][129] + V [32][128] + P [32][33] floats
        assertEquals((32 * 129 + 32 * 129 + 32 * 128 + 32 * 33) * 4, CudaPlans.sdpaTile(128, 128).smemBytes());
    }

    @Test
    void fusedSdpaPicksTheBucketEntryAndGrid() {
        Plan p = CudaPlans.sdpaFused(sdpa(2, 8, 2, 100, 300, 64, 64), DeviceProps.h100(), false);
        assertTrue(p.supported(), p.reason());
        assertEquals("fused-simt-d64-f32", p.variant());
        assertEquals("attn_sdpa_fwd_f32_d64", p.step(0).entry());
        assertEquals("sdpa", p.step(0).module());
        Plan.Step lc = p.step(0);
        assertEquals(16, lc.grid()[0]); // B * Hq
        assertEquals(4, lc.grid()[1]); // ceil(100 / 32)
        assertEquals(128, lc.block()[0]);
        assertEquals(0, p.workspaceBytes());

        Plan big = CudaPlans.sdpaFused(sdpa(1, 1, 1, 17, 5, 200, 256), DeviceProps.t4(), false);
        assertEquals("attn_sdpa_fwd_f32", big.step(0).entry(), "D <= 256 uses the general entry");
        assertEquals(2, big.step(0).grid()[1]); // ceil(17 / 16)
    }

    @Test
    void fusedSdpaRefusesHeadDimsAbove256AndSaysWhy() {
        Plan p = CudaPlans.sdpaFused(sdpa(1, 1, 1, 4, 4, 320, 64), DeviceProps.h100(), false);
        assertFalse(p.supported());
        assertTrue(p.reason().contains("D, Dv <= 256"), p.reason());
    }

    @Test
    void fusedSdpaRefusesTilesBeyondTheDevicesSharedMemory() {
        DeviceProps tiny = new DeviceProps("tiny", 7, 5, 1, 48 * 1024, 48 * 1024, 65536, 1024, 1024, 65536, 1L << 30);
        Plan p = CudaPlans.sdpaSimt(sdpa(1, 1, 1, 4, 4, 128, 128), tiny);
        assertFalse(p.supported());
        assertTrue(p.reason().contains("shared memory"), p.reason());
        assertTrue(CudaPlans.sdpaSimt(sdpa(1, 1, 1, 4, 4, 64, 64), tiny).supported());
    }

    @Test
    void fusedSdpaRefusesGridsBeyondCudaLimits() {
        // Sq / 32 > 65535 query tiles
        Tensor q = Tensor.of(io.github.attn4j.HostMemory.of(new float[1]), DType.F32, new int[] {1, 1, 65536 * 32 + 1, 1}, new long[] {0, 0, 0, 1}, 0);
        Tensor k = Tensor.of(io.github.attn4j.HostMemory.of(new float[1]), DType.F32, new int[] {1, 1, 1, 1}, new long[] {1, 1, 1, 1}, 0);
        Tensor o = Tensor.of(io.github.attn4j.HostMemory.of(new float[1]), DType.F32, new int[] {1, 1, 65536 * 32 + 1, 1}, new long[] {0, 0, 0, 1}, 0);
        SdpaParams p = new SdpaParams(q, k, k, o, null, Masks.NONE, 1f, 0f);
        Plan plan = CudaPlans.sdpaSimt(p, DeviceProps.h100());
        assertFalse(plan.supported());
        assertTrue(plan.reason().contains("grid"), plan.reason());
    }

    @Test
    void halfStorageUsesTheHalfEntries() {
        Tensor q = Tensor.ofHalf(DType.BF16, new short[2 * 4 * 16], 1, 2, 4, 16);
        SdpaParams p = SdpaParams.builder(q, q, q, Tensor.ofHalf(DType.BF16, new short[2 * 4 * 16], 1, 2, 4, 16)).build();
        Plan plan = CudaPlans.sdpaFused(p, DeviceProps.h100(), false);
        assertEquals("attn_sdpa_fwd_bf16_d32", plan.step(0).entry());
        assertEquals("fused-simt-d32-bf16", plan.variant());
    }

    @Test
    void unfusedSdpaSaysWhatItCannotDo() {
        Tensor lse = Tensor.of(new float[8 * 16], 1, 8, 16);
        SdpaParams base = sdpa(1, 8, 8, 16, 16, 32, 32);
        SdpaParams withLse = SdpaParams.builder(base.q(), base.k(), base.v(), base.o()).lse(lse).build();
        SdpaParams withCap = SdpaParams.builder(base.q(), base.k(), base.v(), base.o()).softcap(30f).build();
        Plan a = CudaPlans.sdpaUnfused(withLse, DeviceProps.h100(), GemmProvider.KERNEL);
        Plan b = CudaPlans.sdpaUnfused(withCap, DeviceProps.h100(), GemmProvider.KERNEL);
        assertFalse(a.supported());
        assertTrue(a.reason().contains("LSE"), a.reason());
        assertFalse(b.supported());
        assertTrue(b.reason().contains("softcap"), b.reason());
        assertTrue(CudaPlans.sdpaFused(withLse, DeviceProps.h100(), false).supported());
    }

    @Test
    void unfusedSdpaStepsWorkspaceAndProviders() {
        SdpaParams p = sdpa(2, 4, 2, 10, 2000, 32, 48);
        Plan k = CudaPlans.sdpaUnfused(p, DeviceProps.h100(), GemmProvider.KERNEL);
        assertTrue(k.supported(), k.reason());
        assertEquals(2L * 4 * 10 * 2000 * 4, k.workspaceBytes());
        assertEquals("unfused-qk:kernel-softmax-pv:kernel-f32", k.variant());
        assertEquals("attn_bgemm_f32_f32_f32", k.step(0).entry());
        assertEquals("attn_masked_softmax_f32", k.step(1).entry(), "2000 keys: block per row");
        assertEquals("attn_bgemm_f32_f32_f32", k.step(2).entry());
        assertEquals(8, k.step(0).grid()[1]);
        assertEquals(1 * 32, k.step(0).grid()[0]); // ceil(10/64) * ceil(2000/64)

        Plan c = CudaPlans.sdpaUnfused(p, DeviceProps.h100(), GemmProvider.CUBLAS);
        assertEquals("unfused-qk:cublas-softmax-pv:cublas-f32", c.variant());

        // BSHD keeps unit inner strides: still cuBLAS; kv lengths push P.V to the kernel (it honours them)
        SdpaParams kvl = SdpaParams.builder(p.q(), p.k(), p.v(), p.o()).masks(Masks.builder().kvLengths(5, 7).build()).build();
        assertEquals("unfused-qk:cublas-softmax-pv:kernel-f32",
                CudaPlans.sdpaUnfused(kvl, DeviceProps.h100(), GemmProvider.CUBLAS).variant());

        Tensor hq = Tensor.ofHalf(DType.F16, new short[4 * 8 * 16], 1, 4, 8, 16);
        SdpaParams half = SdpaParams.builder(hq, hq, hq, Tensor.ofHalf(DType.F16, new short[4 * 8 * 16], 1, 4, 8, 16)).build();
        Plan h = CudaPlans.sdpaUnfused(half, DeviceProps.h100(), GemmProvider.CUBLAS);
        assertEquals("unfused-qk:cublas-softmax-pv:kernel-f16", h.variant(), "cuBLAS cannot mix an fp32 P with f16 V");
        assertEquals(CudaPlans.CUBLAS, h.step(0).module());
        assertEquals("qk", h.step(0).entry(), "Q.K^T through cuBLAS");
        assertEquals("attn_masked_softmax_f32_warp", h.step(1).entry(), "the scores are fp32 in the workspace");
        assertEquals("attn_bgemm_f32_f16_f16", h.step(2).entry());
    }

    @Test
    void unfusedSdpaRefusesAScoreWorkspaceBeyondHalfTheDevice() {
        Tensor q = Tensor.of(io.github.attn4j.HostMemory.of(new float[1]), DType.F32, new int[] {1, 4, 65536, 1},
                new long[] {0, 0, 0, 1}, 0);
        SdpaParams p = new SdpaParams(q, q, q, q, null, Masks.NONE, 1f, 0f); // 4 * 65536^2 * 4 B = 64 GiB
        Plan t4 = CudaPlans.sdpaUnfused(p, DeviceProps.t4(), GemmProvider.KERNEL);
        assertFalse(t4.supported());
        assertTrue(t4.reason().contains("64.0 GiB"), t4.reason());
        assertTrue(CudaPlans.sdpaSimt(p, DeviceProps.t4()).supported());
    }

    @Test
    void softmaxIsWarpPerRowUpTo1024Keys() {
        Tensor x = t(Layout.BHSD, 2, 3, 5, 1024);
        Plan w = CudaPlans.plan(SoftmaxParams.builder(x, x).build(), CTX);
        assertEquals("attn_masked_softmax_f32_warp", w.step(0).entry());
        assertEquals("warp-per-row-f32", w.variant());
        assertEquals(LaunchConfig.ceilDiv(30, 4), w.step(0).grid()[0]);
        assertEquals(128, w.step(0).block()[0]);

        Tensor y = t(Layout.BHSD, 2, 3, 5, 1025);
        Plan b = CudaPlans.plan(SoftmaxParams.builder(y, y).build(), CTX);
        assertEquals("attn_masked_softmax_f32", b.step(0).entry());
        assertEquals(30, b.step(0).grid()[0]);
        assertEquals(256, b.step(0).block()[0]);

        Plan bw = CudaPlans.plan(SoftmaxBackwardParams.builder(x, x, t(Layout.BHSD, 2, 3, 5, 1024)).build(), CTX);
        assertEquals("attn_masked_softmax_bwd_f32_warp", bw.step(0).entry());
    }

    @Test
    void additiveEntriesFollowRawInputsAndDv() {
        Tensor q = t(Layout.BHSD, 2, 2, 7, 16), k = t(Layout.BHSD, 2, 2, 9, 16), v = t(Layout.BHSD, 2, 2, 9, 80);
        Tensor w = Tensor.of(new float[16], 16), out = t(Layout.BHSD, 2, 2, 7, 80);
        Plan pre = CudaPlans.additive(AdditiveParams.builder(q, k, v, w, out).build(), DeviceProps.h100(), GemmProvider.KERNEL);
        assertEquals(1, pre.steps().size());
        assertEquals("attn_additive_fwd_f32", pre.step(0).entry());
        assertEquals(0, pre.workspaceBytes());

        Tensor v64 = t(Layout.BHSD, 2, 2, 9, 64), out64 = t(Layout.BHSD, 2, 2, 7, 64);
        Tensor wq = Tensor.of(new float[12 * 16], 12, 16), wk = Tensor.of(new float[12 * 16], 12, 16);
        Tensor wa = Tensor.of(new float[12], 12);
        Tensor wts = t(Layout.BHSD, 2, 2, 7, 9);
        AdditiveParams raw = AdditiveParams.builder(q, k, v64, wa, out64).projections(wq, wk).weights(wts).build();
        Plan r = CudaPlans.additive(raw, DeviceProps.h100(), GemmProvider.KERNEL);
        assertTrue(r.supported(), r.reason());
        assertEquals(3, r.steps().size());
        assertEquals("attn_gemm_nt_f32", r.step(0).entry());
        assertEquals("attn_additive_fwd_f32_qkf32_d64", r.step(2).entry());
        assertEquals(2L * 2 * (7 + 9) * 12 * 4, r.workspaceBytes());
        assertEquals("projection:kernel-fused-d64-f32-two-pass-weights", r.variant());
        assertEquals(1, r.step(0).grid()[0]); // ceil(7/64) * ceil(12/64)
        assertEquals(4, r.step(0).grid()[1]); // B * H

        Tensor vBig = t(Layout.BHSD, 2, 2, 9, 300), outBig = t(Layout.BHSD, 2, 2, 7, 300);
        Plan no = CudaPlans.additive(AdditiveParams.builder(q, k, vBig, w, outBig).build(), DeviceProps.h100(),
                GemmProvider.KERNEL);
        assertFalse(no.supported());
        assertTrue(no.reason().contains("Dv <= 256"), no.reason());
    }

    @Test
    void additiveTilesFitTheDefaultSharedMemory() {
        for (CudaTables.AdditiveTile t : CudaTables.ADDITIVE_TILES) {
            assertTrue(t.smemBytes() <= 48 * 1024, t.toString());
        }
    }

    static SdpaBackwardParams sdpaBwd(int b, int hq, int hkv, int sq, int sk, int d, int dv, Tensor dbias) {
        Tensor lse = Tensor.of(new float[b * hq * sq], b, hq, sq);
        SdpaBackwardParams.Builder x = SdpaBackwardParams.builder(t(Layout.BHSD, b, hq, sq, d), t(Layout.BHSD, b, hkv, sk, d),
                t(Layout.BHSD, b, hkv, sk, dv), t(Layout.BHSD, b, hq, sq, dv), t(Layout.BHSD, b, hq, sq, dv), lse,
                t(Layout.BHSD, b, hq, sq, d), t(Layout.BHSD, b, hkv, sk, d), t(Layout.BHSD, b, hkv, sk, dv));
        if (dbias != null) {
            Tensor bias = Tensor.of(new float[(int) dbias.numel()], dbias.shape()); // the bias, of dBias's shape
            x.masks(Masks.builder().bias(bias).build()).dbias(dbias);
        }
        return x.build();
    }

    @Test
    void sdpaBackwardStepsGridsSharedMemoryAndWorkspace() {
        int t = CudaTables.SDPABWD_THREADS, bn = CudaTables.SDPABWD_BN;
        Plan p = CudaPlans.plan(sdpaBwd(2, 8, 2, 100, 300, 64, 40, null), CTX);
        assertTrue(p.supported(), p.reason());
        assertEquals("simt-sdpa-bwd-f32", p.variant());
        assertEquals(3, p.steps().size());
        assertEquals(2L * 4 * 2 * 8 * 100, p.workspaceBytes()); // Delta and LSE per query row
        assertEquals(KernelId.SDPA_BWD_PRE.entry(DType.F32), p.step(0).entry());
        assertEquals((2 * 8 * 100 + t - 1) / t, p.step(0).grid()[0]);
        assertEquals(KernelId.SDPA_BWD_DKDV.entry(DType.F32), p.step(1).entry());
        assertEquals((300 + t - 1) / t, p.step(1).grid()[0]);
        assertEquals(2 * 2, p.step(1).grid()[1]); // one block row per (b, kv head): GQA summed inside
        assertEquals(4 * (t * (2 * 64 + 2 * 40) + bn * (64 + 40 + 2)), p.step(1).smemBytes());
        assertEquals(KernelId.SDPA_BWD_DQ.entry(DType.F32), p.step(2).entry());
        assertEquals((100 + t - 1) / t, p.step(2).grid()[0]);
        assertEquals(2 * 8, p.step(2).grid()[1]);
        assertEquals(4 * (t * (2 * 64 + 40) + bn * (64 + 40)), p.step(2).smemBytes());
        for (Plan.Step s : p.steps()) {
            assertEquals("sdpa_bwd", s.module());
            assertEquals(t, s.block()[0]);
            assertEquals(p.step(0).args(), s.args()); // one argument list for the four entries
        }
    }

    @Test
    void sdpaBackwardWithABroadcastDbiasAddsTheOwnerComputesStep() {
        Tensor db = Tensor.of(new float[8 * 16 * 24], 1, 8, 16, 24);
        Plan p = CudaPlans.plan(sdpaBwd(3, 8, 4, 16, 24, 32, 32, db), CTX);
        assertTrue(p.supported(), p.reason());
        assertEquals("simt-sdpa-bwd-f32+dbias", p.variant());
        assertEquals(4, p.steps().size());
        assertEquals(KernelId.SDPA_BWD_DBIAS.entry(DType.F32), p.step(3).entry());
        assertEquals(8, p.step(3).grid()[1]); // one block row per dBias slice [1, 8]
    }

    @Test
    void sdpaBackwardRefusesHeadDimsBeyondSharedMemoryAndSaysWhy() {
        assertTrue(CudaPlans.plan(sdpaBwd(1, 1, 1, 4, 4, 128, 128, null), CTX).supported());
        Plan p = CudaPlans.plan(sdpaBwd(1, 1, 1, 4, 4, 256, 256, null), CTX);
        assertFalse(p.supported());
        assertTrue(p.reason().contains("D = 256") && p.reason().contains("48 KiB"), p.reason());
    }

    @Test
    void launchConfigChecksCudaLimits() {
        assertTrue(LaunchConfig.fits(Integer.MAX_VALUE, 65535, 65535));
        assertFalse(LaunchConfig.fits(1L << 31, 1, 1));
        assertFalse(LaunchConfig.fits(1, 65536, 1));
        assertFalse(LaunchConfig.fits(0, 1, 1));
        assertEquals(3, LaunchConfig.ceilDiv(65, 32));
    }

    // ------------------------------------------------------------------ split-KV decode (sdpa_decode.cu)

    @Test
    void decodeSplitsTheKeysWhenTheForwardCannotFillTheDevice() {
        // B=1, Hq/Hkv = 32/8, Sq=1, Sk=8k: 32 forward CTAs for 132 SMs
        SdpaParams p = sdpa(1, 32, 8, 1, 8192, 128, 128);
        Plan plan = CudaPlans.sdpaFused(p, DeviceProps.h100(), false);
        assertEquals("decode-splitkv32-gqa4-simt-d128-f32", plan.variant());
        Plan.Step dec = plan.step(0), comb = plan.step(1);
        assertEquals("sdpa_decode", dec.module());
        assertEquals(KernelId.SDPA_DECODE.entry(DType.F32) + "_d128", dec.entry());
        // 256 key tiles, 8 (b, kv head) CTAs: 4 * 132 / 8 wanted, at least 8 tiles per split: 32
        assertEquals(8, dec.grid()[0]);
        assertEquals(32, dec.grid()[1]);
        assertEquals(1, dec.grid()[2]); // 4 packed rows: one chunk
        assertEquals(CudaTables.DecodeTile.class, CudaPlans.decodeTile(128, 128).getClass());
        assertEquals(CudaPlans.decodeTile(128, 128).smemBytes(), dec.smemBytes());
        assertEquals(KernelId.SDPA_COMBINE.entry(DType.F32), comb.entry());
        assertEquals(8, comb.grid()[0]); // 32 rows, a warp per row, 4 warps per CTA
        assertEquals(4L * 32 * 32 * (128 + 1), plan.workspaceBytes());
        // the same argument lists as the OpenCL decode
        assertEquals(io.github.attn4j.spi.KernelArgs.sdpaDecode(p, null, null, 1).stream().map(a -> a.name()).toList(),
                dec.argNames());
    }

    @Test
    void decodeTileSmemMatchesTheKernelsLayout() {
        // Q [16][132] + K [32][132] + P [16][32] + factors [16], V row offsets [32] as long long
        assertEquals((16 * 132 + 32 * 132 + 16 * 32 + 16 + 64) * 4, CudaPlans.decodeTile(100, 128).smemBytes());
        assertEquals(64, CudaPlans.decodeTile(1, 64).dmax());
        assertEquals(256, CudaPlans.decodeTile(129, 8).dmax());
        assertNull(CudaPlans.decodeTile(257, 8));
        for (CudaTables.DecodeTile t : CudaTables.DECODE_TILES) {
            assertTrue(t.smemBytes() <= 48 * 1024, t + " needs " + t.smemBytes() + " B");
        }
    }

    @Test
    void decodePacksMqaRowsIntoChunksAndKeepsTheForwardOtherwise() {
        Plan mqa = CudaPlans.sdpaFused(sdpa(2, 64, 1, 1, 4096, 64, 64), DeviceProps.h100(), false);
        assertTrue(mqa.variant().startsWith("decode-splitkv"), mqa.variant());
        assertEquals(4, mqa.step(0).grid()[2]); // 64 packed rows, 16 per CTA
        // a full grid keeps the forward kernel
        Plan full = CudaPlans.sdpaFused(sdpa(64, 32, 8, 1, 8192, 128, 128), DeviceProps.h100(), false);
        assertEquals("fused-simt-d128-f32", full.variant());
        // nothing to split and no group to pack: the forward kernel
        assertEquals("fused-simt-d64-f32", CudaPlans.sdpaFused(sdpa(1, 4, 4, 1, 100, 64, 64), DeviceProps.h100(), false)
                .variant());
        // more packed rows than the decode takes: the forward kernel
        assertEquals("fused-simt-d64-f32", CudaPlans.sdpaFused(sdpa(1, 64, 1, 2, 4096, 64, 64), DeviceProps.h100(), false)
                .variant());
        // a short prefill of an MHA model splits the keys (Sq = 4, G = 1) on a small device too
        Plan t4 = CudaPlans.sdpaFused(sdpa(1, 2, 2, 4, 4096, 256, 256), DeviceProps.t4(), false);
        assertEquals("decode-splitkv16-gqa1-simt-d256-f32", t4.variant());
    }

    @Test
    void decodeReadsPagedCachesAndSaysSo() {
        int pages = 40, ps = 16;
        Tensor kc = Tensor.of(new float[pages * ps * 2 * 64], pages, ps, 2, 64);
        Tensor vc = Tensor.of(new float[pages * ps * 2 * 64], pages, ps, 2, 64);
        int[] table = new int[2 * 20];
        for (int i = 0; i < table.length; i++) {
            table[i] = i % pages;
        }
        Tensor bt = Tensor.of(io.github.attn4j.HostMemory.of(table), DType.I32, new int[] {2, 20}, new long[] {20, 1}, 0);
        SdpaParams p = SdpaParams.builder(t(Layout.BHSD, 2, 16, 1, 64),
                new io.github.attn4j.PagedKv(kc, vc, bt, new int[] {300, 17}), t(Layout.BHSD, 2, 16, 1, 64)).build();
        Plan plan = CudaPlans.sdpaFused(p, DeviceProps.h100(), false);
        assertTrue(plan.variant().startsWith("decode-splitkv") && plan.variant().endsWith("-gqa8-simt-d64-f32-paged"),
                plan.variant());
        assertEquals(2 * 2, plan.step(0).grid()[0]);
    }
}
