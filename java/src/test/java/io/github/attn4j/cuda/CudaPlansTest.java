package io.github.attn4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.AdditiveParams;
import io.github.attn4j.Alignment;
import io.github.attn4j.DType;
import io.github.attn4j.Layout;
import io.github.attn4j.Masks;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxBackwardParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cuda.CudaPlans.GemmProvider;
import io.github.attn4j.cuda.CudaPlans.Plan;
import io.github.attn4j.cuda.CudaPlans.SdpaPath;
import org.junit.jupiter.api.Test;

/** Variant choice, tile selection and launch shapes, without a GPU. */
class CudaPlansTest {
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
        for (CudaPlans.SdpaTile t : CudaPlans.SDPA_TILES) {
            assertTrue(t.smemBytes() <= 64 * 1024, t + " needs " + t.smemBytes() + " B");
            assertEquals(0, t.threads() % t.bm());
            assertEquals(0, 32 % (t.threads() / t.bm()));
        }
        // Q [32][129] + K [32][129] + V [32][128] + P [32][33] floats
        assertEquals((32 * 129 + 32 * 129 + 32 * 128 + 32 * 33) * 4, CudaPlans.sdpaTile(128, 128).smemBytes());
    }

    @Test
    void fusedSdpaPicksTheBucketEntryAndGrid() {
        Plan p = CudaPlans.sdpa(sdpa(2, 8, 2, 100, 300, 64, 64), DeviceProps.h100(), SdpaPath.FUSED, GemmProvider.KERNEL);
        assertTrue(p.supported(), p.reason());
        assertEquals("fused-simt-d64-f32", p.variant());
        assertEquals("attn_sdpa_fwd_f32_d64", p.step(0).entry());
        assertEquals("sdpa", p.step(0).module());
        LaunchConfig lc = p.step(0).launch();
        assertEquals(16, lc.gridX()); // B * Hq
        assertEquals(4, lc.gridY()); // ceil(100 / 32)
        assertEquals(128, lc.blockX());
        assertEquals(0, p.workspaceBytes());

        Plan big = CudaPlans.sdpa(sdpa(1, 1, 1, 17, 5, 200, 256), DeviceProps.t4(), SdpaPath.FUSED, GemmProvider.KERNEL);
        assertEquals("attn_sdpa_fwd_f32", big.step(0).entry(), "D <= 256 uses the general entry");
        assertEquals(2, big.step(0).launch().gridY()); // ceil(17 / 16)
    }

    @Test
    void fusedSdpaRefusesHeadDimsAbove256AndSaysWhy() {
        Plan p = CudaPlans.sdpa(sdpa(1, 1, 1, 4, 4, 320, 64), DeviceProps.h100(), SdpaPath.FUSED, GemmProvider.KERNEL);
        assertFalse(p.supported());
        assertTrue(p.reason().contains("D, Dv <= 256"), p.reason());
    }

    @Test
    void fusedSdpaRefusesTilesBeyondTheDevicesSharedMemory() {
        DeviceProps tiny = new DeviceProps("tiny", 7, 5, 1, 48 * 1024, 48 * 1024, 1L << 30);
        Plan p = CudaPlans.sdpaFused(sdpa(1, 1, 1, 4, 4, 128, 128), tiny);
        assertFalse(p.supported());
        assertTrue(p.reason().contains("shared memory"), p.reason());
        assertTrue(CudaPlans.sdpaFused(sdpa(1, 1, 1, 4, 4, 64, 64), tiny).supported());
    }

    @Test
    void fusedSdpaRefusesGridsBeyondCudaLimits() {
        // Sq / 32 > 65535 query tiles
        Tensor q = Tensor.of(io.github.attn4j.HostMemory.of(new float[1]), DType.F32, new int[] {1, 1, 65536 * 32 + 1, 1}, new long[] {0, 0, 0, 1}, 0);
        Tensor k = Tensor.of(io.github.attn4j.HostMemory.of(new float[1]), DType.F32, new int[] {1, 1, 1, 1}, new long[] {1, 1, 1, 1}, 0);
        Tensor o = Tensor.of(io.github.attn4j.HostMemory.of(new float[1]), DType.F32, new int[] {1, 1, 65536 * 32 + 1, 1}, new long[] {0, 0, 0, 1}, 0);
        SdpaParams p = new SdpaParams(q, k, k, o, null, Masks.NONE, 1f, 0f);
        Plan plan = CudaPlans.sdpaFused(p, DeviceProps.h100());
        assertFalse(plan.supported());
        assertTrue(plan.reason().contains("grid"), plan.reason());
    }

    @Test
    void halfStorageUsesTheHalfEntries() {
        Tensor q = Tensor.ofHalf(DType.BF16, new short[2 * 4 * 16], 1, 2, 4, 16);
        SdpaParams p = SdpaParams.builder(q, q, q, Tensor.ofHalf(DType.BF16, new short[2 * 4 * 16], 1, 2, 4, 16)).build();
        Plan plan = CudaPlans.sdpa(p, DeviceProps.h100(), SdpaPath.FUSED, GemmProvider.KERNEL);
        assertEquals("attn_sdpa_fwd_bf16_d32", plan.step(0).entry());
        assertEquals("fused-simt-d32-bf16", plan.variant());
    }

    @Test
    void unfusedSdpaSaysWhatItCannotDo() {
        Tensor lse = Tensor.of(new float[8 * 16], 1, 8, 16);
        SdpaParams base = sdpa(1, 8, 8, 16, 16, 32, 32);
        SdpaParams withLse = SdpaParams.builder(base.q(), base.k(), base.v(), base.o()).lse(lse).build();
        SdpaParams withCap = SdpaParams.builder(base.q(), base.k(), base.v(), base.o()).softcap(30f).build();
        Plan a = CudaPlans.sdpa(withLse, DeviceProps.h100(), SdpaPath.UNFUSED, GemmProvider.KERNEL);
        Plan b = CudaPlans.sdpa(withCap, DeviceProps.h100(), SdpaPath.UNFUSED, GemmProvider.KERNEL);
        assertFalse(a.supported());
        assertTrue(a.reason().contains("LSE"), a.reason());
        assertFalse(b.supported());
        assertTrue(b.reason().contains("softcap"), b.reason());
        assertTrue(CudaPlans.sdpa(withLse, DeviceProps.h100(), SdpaPath.FUSED, GemmProvider.KERNEL).supported());
    }

    @Test
    void unfusedSdpaStepsWorkspaceAndProviders() {
        SdpaParams p = sdpa(2, 4, 2, 10, 2000, 32, 48);
        Plan k = CudaPlans.sdpa(p, DeviceProps.h100(), SdpaPath.UNFUSED, GemmProvider.KERNEL);
        assertTrue(k.supported(), k.reason());
        assertEquals(2L * 4 * 10 * 2000 * 4, k.workspaceBytes());
        assertEquals("unfused-qk:kernel-softmax-pv:kernel-f32", k.variant());
        assertEquals("attn_bgemm_f32_f32_f32", k.step(0).entry());
        assertEquals("attn_masked_softmax_f32", k.step(1).entry(), "2000 keys: block per row");
        assertEquals("attn_bgemm_f32_f32_f32", k.step(2).entry());
        assertEquals(8, k.step(0).launch().gridY());
        assertEquals(1 * 32, k.step(0).launch().gridX()); // ceil(10/64) * ceil(2000/64)

        Plan c = CudaPlans.sdpa(p, DeviceProps.h100(), SdpaPath.UNFUSED, GemmProvider.CUBLAS);
        assertEquals("unfused-qk:cublas-softmax-pv:cublas-f32", c.variant());

        // BSHD keeps unit inner strides: still cuBLAS; kv lengths push P.V to the kernel (it honours them)
        SdpaParams kvl = SdpaParams.builder(p.q(), p.k(), p.v(), p.o()).masks(Masks.builder().kvLengths(5, 7).build()).build();
        assertEquals("unfused-qk:cublas-softmax-pv:kernel-f32",
                CudaPlans.sdpa(kvl, DeviceProps.h100(), SdpaPath.UNFUSED, GemmProvider.CUBLAS).variant());

        Tensor hq = Tensor.ofHalf(DType.F16, new short[4 * 8 * 16], 1, 4, 8, 16);
        SdpaParams half = SdpaParams.builder(hq, hq, hq, Tensor.ofHalf(DType.F16, new short[4 * 8 * 16], 1, 4, 8, 16)).build();
        Plan h = CudaPlans.sdpa(half, DeviceProps.h100(), SdpaPath.UNFUSED, GemmProvider.CUBLAS);
        assertEquals("unfused-qk:cublas-softmax-pv:kernel-f16", h.variant(), "cuBLAS cannot mix an fp32 P with f16 V");
        assertEquals("attn_bgemm_f16_f16_f32", h.step(0).entry());
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
        assertTrue(CudaPlans.sdpaFused(p, DeviceProps.t4()).supported());
    }

    @Test
    void softmaxIsWarpPerRowUpTo1024Keys() {
        Tensor x = t(Layout.BHSD, 2, 3, 5, 1024);
        Plan w = CudaPlans.softmax(SoftmaxParams.builder(x, x).build());
        assertEquals("attn_masked_softmax_f32_warp", w.step(0).entry());
        assertEquals("warp-per-row-f32", w.variant());
        assertEquals(LaunchConfig.ceilDiv(30, 4), w.step(0).launch().gridX());
        assertEquals(128, w.step(0).launch().blockX());

        Tensor y = t(Layout.BHSD, 2, 3, 5, 1025);
        Plan b = CudaPlans.softmax(SoftmaxParams.builder(y, y).build());
        assertEquals("attn_masked_softmax_f32", b.step(0).entry());
        assertEquals(30, b.step(0).launch().gridX());
        assertEquals(256, b.step(0).launch().blockX());

        Plan bw = CudaPlans.softmaxBackward(SoftmaxBackwardParams.builder(x, x, t(Layout.BHSD, 2, 3, 5, 1024)).build());
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
        assertEquals(1, r.step(0).launch().gridX()); // ceil(7/64) * ceil(12/64)
        assertEquals(4, r.step(0).launch().gridY()); // B * H

        Tensor vBig = t(Layout.BHSD, 2, 2, 9, 300), outBig = t(Layout.BHSD, 2, 2, 7, 300);
        Plan no = CudaPlans.additive(AdditiveParams.builder(q, k, vBig, w, outBig).build(), DeviceProps.h100(),
                GemmProvider.KERNEL);
        assertFalse(no.supported());
        assertTrue(no.reason().contains("Dv <= 256"), no.reason());
    }

    @Test
    void additiveTilesFitTheDefaultSharedMemory() {
        for (CudaPlans.AdditiveTile t : CudaPlans.ADDITIVE_TILES) {
            assertTrue(t.smemBytes() <= 48 * 1024, t.toString());
        }
    }

    @Test
    void launchConfigChecksCudaLimits() {
        assertTrue(LaunchConfig.fits(Integer.MAX_VALUE, 65535, 65535));
        assertFalse(LaunchConfig.fits(1L << 31, 1, 1));
        assertFalse(LaunchConfig.fits(1, 65536, 1));
        assertFalse(LaunchConfig.fits(0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> LaunchConfig.of(1, 70000, 1, 128, 0));
        assertEquals("grid (3, 2, 1) block (128, 1, 1) smem 1024 B", LaunchConfig.of(3, 2, 1, 128, 1024).toString());
        assertEquals(3, LaunchConfig.ceilDiv(65, 32));
    }

    @Test
    void keyRangeNeverDropsAnAllowedKeyAndIsTight() {
        int[][] windows = {{-1, -1}, {-1, 0}, {3, 0}, {0, 2}, {5, 5}, {0, 0}, {-1, 4}};
        for (int sq : new int[] {1, 7, 33}) {
            for (int sk : new int[] {1, 5, 40}) {
                for (Alignment al : Alignment.values()) {
                    for (int[] w : windows) {
                        for (int kv : new int[] {0, 1, sk / 2, sk}) {
                            Masks m = Masks.builder().alignment(al).window(w[0], w[1]).kvLengths(kv).build();
                            int off = al.offset(sq, sk);
                            for (int bm : new int[] {1, 16, 32}) {
                                for (int i0 = 0; i0 < sq; i0 += bm) {
                                    int i1 = Math.min(sq, i0 + bm);
                                    int[] r = CudaPlans.keyRange(i0, i1, off, w[0], w[1], kv);
                                    int min = Integer.MAX_VALUE, max = -1;
                                    for (int i = i0; i < i1; i++) {
                                        for (int j = 0; j < sk; j++) {
                                            if (m.allowsBounds(0, i, j, sq, sk)) {
                                                min = Math.min(min, j);
                                                max = Math.max(max, j);
                                                assertTrue(j >= r[0] && j < r[1], "key " + j + " of row " + i
                                                        + " outside " + r[0] + ".." + r[1] + " for " + m);
                                            }
                                        }
                                    }
                                    if (max >= 0) {
                                        assertEquals(min, r[0], "lo for " + m);
                                        assertEquals(max + 1, r[1], "hi for " + m);
                                    } else {
                                        assertTrue(r[0] >= r[1] || r[0] >= kv, "empty range expected for " + m);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
