package io.github.attn4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.DType;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cuda.CudaPlans.GemmProvider;
import io.github.attn4j.spi.Arg;
import io.github.attn4j.spi.Plan;
import io.github.attn4j.spi.Workspace;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The tensor-core SDPA (kernels/cuda/sdpa_tc.cu) is reachable only through -Dattn4j.cuda.tc=true,
 * and then only for the calls TcPlan accepts; everything else keeps the fp32-math fused kernel and
 * says why. No GPU: plans only.
 */
class CudaTensorCoreWiringTest {
    static Tensor t(DType dt, int... shape) {
        return TcTestTensors.dev(dt, shape);
    }

    static SdpaParams sdpa(DType dt, int b, int hq, int hkv, int sq, int sk, int d) {
        return SdpaParams.builder(t(dt, b, hq, sq, d), t(dt, b, hkv, sk, d), t(dt, b, hkv, sk, d), t(dt, b, hq, sq, d))
                .build();
    }

    @Test
    void offByDefaultKeepsTheGeneralKernel() {
        SdpaParams p = sdpa(DType.BF16, 2, 16, 16, 1024, 1024, 128);
        Plan off = CudaPlans.sdpaFused(p, DeviceProps.h100(), false);
        assertEquals(CudaPlans.sdpaSimt(p, DeviceProps.h100()).variant(), off.variant());
        assertEquals("sdpa", off.step(0).module());
        assertTrue(off.variant().startsWith("fused-simt"), off.variant());
    }

    @Test
    void optInRoutesEligibleCalls() {
        SdpaParams p = sdpa(DType.BF16, 2, 16, 16, 1024, 1024, 128);
        Plan on = CudaPlans.sdpaFused(p, DeviceProps.h100(), true);
        assertTrue(on.supported());
        assertEquals("tc-mma-bf16-d128", on.variant());
        assertEquals(1, on.steps().size());
        assertEquals("sdpa_tc", on.step(0).module());
        assertEquals("attn_sdpa_fwd_tc_bf16_d128", on.step(0).entry());
        assertShape(on.step(0), 8, 32, 1, 256, 98304);
        assertEquals(0, on.workspaceBytes());
    }

    @Test
    void decodeSplitsAndCombines() {
        SdpaParams p = sdpa(DType.F16, 1, 32, 8, 1, 65536, 128);
        Plan on = CudaPlans.sdpaFused(p, DeviceProps.h100(), true);
        TcPlan tc = TcPlan.choose(p, DeviceProps.h100());
        assertEquals(4, tc.splits());
        assertEquals("tc-mma-f16-d128-splitkv4", on.variant());
        assertEquals(List.of("attn_sdpa_fwd_tc_f16_d128", "attn_sdpa_combine_f16"),
                on.steps().stream().map(Plan.Step::entry).toList());
        assertShape(on.step(0), 1, 32, 4, 256, 98304);
        assertShape(on.step(1), 8, 1, 1, 128, 0); // 32 rows, 4 per CTA
        assertEquals(tc.workspaceBytes(p), on.workspaceBytes());
        assertEquals(TcPlan.partialLseOffset(p, 4) + 4L * 32 * 4, on.workspaceBytes());
    }

    @Test
    void ineligibleCallsSayWhy() {
        Plan f32 = CudaPlans.sdpaFused(sdpa(DType.F32, 1, 4, 4, 128, 128, 128), DeviceProps.h100(), true);
        assertTrue(f32.variant().startsWith("fused-simt") && f32.variant().contains("tensor-core path not taken: dtype F32"),
                f32.variant());
        Plan t4 = CudaPlans.sdpaFused(sdpa(DType.F16, 1, 4, 4, 128, 128, 64), DeviceProps.t4(), true);
        assertTrue(t4.variant().contains("7.5 < 8.0"), t4.variant());
        Plan d80 = CudaPlans.sdpaFused(sdpa(DType.BF16, 1, 4, 4, 128, 128, 80), DeviceProps.h100(), true);
        assertTrue(d80.variant().contains("head dim 80 not in"), d80.variant());
        assertEquals("sdpa", d80.step(0).module());
    }

    @Test
    void theOptionIsTheSwitch() {
        SdpaParams p = sdpa(DType.BF16, 1, 8, 8, 512, 512, 64);
        CudaOptions off = CudaOptions.defaults();
        assertTrue(CudaPlans.plan(p, new CudaPlans.Context(DeviceProps.h100(), off, GemmProvider.KERNEL)).variant()
                .startsWith("fused-simt"));
        // 32 CTAs on 132 SMs, 8 key tiles: two splits of 4 tiles
        CudaOptions on = off.withTensorCores(true);
        assertEquals("tc-mma-bf16-d64-splitkv2", CudaPlans.plan(p, new CudaPlans.Context(DeviceProps.h100(), on,
                GemmProvider.KERNEL)).variant());
        assertTrue(CudaPlans.plan(p, new CudaPlans.Context(DeviceProps.h100(), on.withUnfusedSdpa(true),
                GemmProvider.KERNEL)).variant().startsWith("unfused"), "the unfused path is not affected");
    }

    @Test
    void splitPartialsAreWorkspaceViews() {
        SdpaParams p = sdpa(DType.F16, 1, 32, 8, 1, 65536, 128);
        Plan on = CudaPlans.sdpaFused(p, DeviceProps.h100(), true);
        Arg.Buffer oPart = (Arg.Buffer) on.step(0).args().get(11);
        Arg.Buffer lsePart = (Arg.Buffer) on.step(0).args().get(12);
        assertEquals("o_part", oPart.name());
        assertTrue(oPart.tensor().memory() instanceof Workspace);
        assertEquals(TcPlan.partialLseOffset(p, 4), lsePart.tensor().offset() * 4);
        assertEquals(new Arg.I32("num_splits", 4), on.step(0).args().get(13));
        assertEquals(List.of("p", "o_part", "lse_part", "o", "lse", "num_splits"), on.step(1).argNames());
    }

    static void assertShape(Plan.Step s, long gx, long gy, long gz, long threads, int smem) {
        assertEquals(List.of(gx, gy, gz), List.of(s.grid()[0], s.grid()[1], s.grid()[2]), s.describe());
        assertEquals(threads, s.block()[0], s.describe());
        assertEquals(smem, s.smemBytes(), s.describe());
    }
}
