package io.github.attn4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.DType;
import io.github.attn4j.DeviceMemory;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cuda.CudaPlans.GemmProvider;
import io.github.attn4j.cuda.CudaPlans.Plan;
import io.github.attn4j.cuda.CudaPlans.SdpaPath;
import io.github.attn4j.cuda.tc.TcDevice;
import io.github.attn4j.cuda.tc.TcPlan;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The tensor-core SDPA (kernels/cuda/sdpa_tc.cu) is reachable only through -Dattn4j.cuda.tc=true,
 * and then only for the calls TcPlan accepts; everything else keeps the fp32-math fused kernel and
 * says why. No GPU: plans only.
 */
class CudaTensorCoreWiringTest {
    static final class Fake extends DeviceMemory {
        Fake(long bytes) {
            super("cuda", bytes, true);
        }

        @Override
        protected void free() {}
    }

    static Tensor t(DType dt, int... shape) {
        return Tensor.of(new Fake(Tensor.numel(shape) * dt.bytes()), dt, shape, Tensor.contiguousStrides(shape), 0);
    }

    static SdpaParams sdpa(DType dt, int b, int hq, int hkv, int sq, int sk, int d) {
        return SdpaParams.builder(t(dt, b, hq, sq, d), t(dt, b, hkv, sk, d), t(dt, b, hkv, sk, d), t(dt, b, hq, sq, d))
                .build();
    }

    @Test
    void offByDefaultKeepsTheGeneralKernel() {
        SdpaParams p = sdpa(DType.BF16, 2, 16, 16, 1024, 1024, 128);
        Plan off = CudaPlans.sdpaFused(p, DeviceProps.h100(), false);
        assertEquals(CudaPlans.sdpaFused(p, DeviceProps.h100()), off);
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
        assertEquals(LaunchConfig.of(8, 32, 1, 256, 98304), on.step(0).launch());
        assertEquals(0, on.workspaceBytes());
    }

    @Test
    void decodeSplitsAndCombines() {
        SdpaParams p = sdpa(DType.F16, 1, 32, 8, 1, 65536, 128);
        Plan on = CudaPlans.sdpaFused(p, DeviceProps.h100(), true);
        TcPlan tc = TcPlan.choose(p, CudaPlans.tcDevice(DeviceProps.h100()));
        assertEquals(4, tc.splits());
        assertEquals("tc-mma-f16-d128-splitkv4", on.variant());
        assertEquals(List.of("attn_sdpa_fwd_tc_f16_d128", "attn_sdpa_combine_f16"),
                on.steps().stream().map(CudaPlans.Step::entry).toList());
        assertEquals(LaunchConfig.of(1, 32, 4, 256, 98304), on.step(0).launch());
        assertEquals(LaunchConfig.of(8, 1, 1, 128, 0), on.step(1).launch(), "32 rows, 4 per CTA");
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
    void systemPropertyIsTheSwitch() {
        SdpaParams p = sdpa(DType.BF16, 1, 8, 8, 512, 512, 64);
        String old = System.getProperty(TcPlan.OPT_IN_PROPERTY);
        try {
            System.clearProperty(TcPlan.OPT_IN_PROPERTY);
            assertTrue(CudaPlans.sdpa(p, DeviceProps.h100(), SdpaPath.FUSED, GemmProvider.KERNEL).variant()
                    .startsWith("fused-simt"));
            System.setProperty(TcPlan.OPT_IN_PROPERTY, "true");
            // 32 CTAs on 132 SMs, 8 key tiles: two splits of 4 tiles
            assertEquals("tc-mma-bf16-d64-splitkv2", CudaPlans.sdpa(p, DeviceProps.h100(), SdpaPath.FUSED,
                    GemmProvider.KERNEL).variant());
            assertTrue(CudaPlans.sdpa(p, DeviceProps.h100(), SdpaPath.UNFUSED, GemmProvider.KERNEL).variant()
                    .startsWith("unfused"), "the unfused path is not affected");
        } finally {
            if (old == null) {
                System.clearProperty(TcPlan.OPT_IN_PROPERTY);
            } else {
                System.setProperty(TcPlan.OPT_IN_PROPERTY, old);
            }
        }
    }

    @Test
    void deviceViewFromComputeCapability() {
        assertEquals(new TcDevice(132, 9, 0, 227 * 1024, 228 * 1024, 1024, 2048, 65536),
                CudaPlans.tcDevice(DeviceProps.h100()));
        DeviceProps ada = new DeviceProps("RTX 4090", 8, 9, 128, 48 * 1024, 99 * 1024, 24L << 30);
        assertEquals(1536, CudaPlans.tcDevice(ada).maxThreadsPerSm());
    }

    @Test
    void argumentListsFollowTheKernel() {
        assertEquals(List.of("p", "q", "k", "v", "o", "lse", "mask", "bias", "alibi", "kv_len", "q_len", "o_part",
                "lse_part", "num_splits"), CudaArgs.SDPA_TC);
        assertEquals(List.of("p", "o_part", "lse_part", "o", "lse", "num_splits"), CudaArgs.SDPA_TC_COMBINE);
        assertEquals(CudaArgs.SDPA, CudaArgs.SDPA_TC.subList(0, CudaArgs.SDPA.size()),
                "the tensor-core entry takes the general entry's arguments first");
    }
}
