package io.github.attn4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import io.github.attn4j.cuda.CudaPlans.GemmProvider;
import io.github.attn4j.spi.KernelId;
import io.github.attn4j.spi.KernelSignatures;
import io.github.attn4j.spi.Plan;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every kernel step any CUDA plan can produce binds exactly the parameters its entry point declares
 * in the {@code .cu} sources (read through the C preprocessor, so macro-generated entries count as
 * written). The same {@code KernelArgs} lists drive the OpenCL backend, whose suite runs on PoCL.
 */
class CudaSignaturesTest {
    static Tensor t(DType dt, int... shape) {
        return TcTestTensors.dev(dt, shape);
    }

    static final Map<String, Map<String, List<String>>> ENTRIES = new HashMap<>();

    static Map<String, List<String>> entries(String module) {
        return ENTRIES.computeIfAbsent(module, KernelSignatures::cuda);
    }

    /** Representative calls: every dtype, every tile bucket, masks on and off, every path. */
    static List<OpParams> calls() {
        List<OpParams> l = new ArrayList<>();
        Masks all = Masks.builder().causal().kvLengths(3, 5).qLengths(2, 4).build();
        for (DType dt : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            for (int d : new int[] {16, 64, 100, 128, 256}) {
                SdpaParams p = SdpaParams.builder(t(dt, 2, 4, 9, d), t(dt, 2, 2, 5, d), t(dt, 2, 2, 5, d), t(dt, 2, 4, 9, d))
                        .lse(t(DType.F32, 2, 4, 9)).masks(all).build();
                l.add(p);
                l.add(SdpaParams.builder(p.q(), p.k(), p.v(), p.o()).build());
            }
            // tensor-core decode with a split (big Sk) and without
            l.add(SdpaParams.builder(t(dt, 1, 32, 1, 128), t(dt, 1, 8, 65536, 128), t(dt, 1, 8, 65536, 128),
                    t(dt, 1, 32, 1, 128)).build());
            // SIMT split-KV decode: each tile (D 64, 128, 256), with masks and LSE, GQA and MQA
            l.add(SdpaParams.builder(t(dt, 2, 8, 1, 64), t(dt, 2, 1, 3000, 64), t(dt, 2, 1, 3000, 64), t(dt, 2, 8, 1, 64))
                    .lse(t(DType.F32, 2, 8, 1)).masks(Masks.builder().causal().kvLengths(3000, 17).build()).build());
            l.add(SdpaParams.builder(t(dt, 1, 4, 1, 256), t(dt, 1, 2, 100, 256), t(dt, 1, 2, 100, 256),
                    t(dt, 1, 4, 1, 256)).build());
            for (int n : new int[] {7, 1024, 1025}) {
                Tensor x = t(dt, 2, 3, 5, n);
                l.add(SoftmaxParams.builder(x, x).masks(all).build());
                l.add(SoftmaxBackwardParams.builder(x, t(dt, 2, 3, 5, n), t(dt, 2, 3, 5, n)).build());
            }
            for (int dv : new int[] {8, 200}) {
                Tensor q = t(dt, 2, 2, 7, 16), k = t(dt, 2, 2, 9, 16), v = t(dt, 2, 2, 9, dv), o = t(dt, 2, 2, 7, dv);
                l.add(AdditiveParams.builder(q, k, v, t(dt, 16), o).tanhBias(t(dt, 16)).weights(t(dt, 2, 2, 7, 9))
                        .masks(all).build());
                l.add(AdditiveParams.builder(q, k, v, t(dt, 12), o).projections(t(dt, 12, 16), t(dt, 12, 16)).build());
                l.add(AdditiveBackwardParams.builder(q, k, v, t(dt, 16), o, t(dt, 2, 2, 7, 16), t(dt, 2, 2, 9, 16),
                        t(dt, 2, 2, 9, dv), t(dt, 16)).tanhBias(t(dt, 16)).tanhBiasGrad(t(dt, 16)).masks(all).build());
                l.add(AdditiveBackwardParams.builder(q, k, v, t(dt, 12), o, t(dt, 2, 2, 7, 16), t(dt, 2, 2, 9, 16),
                        t(dt, 2, 2, 9, dv), t(dt, 12)).projections(t(dt, 12, 16), t(dt, 12, 16))
                        .projectionGrads(t(dt, 12, 16), t(dt, 12, 16)).build());
            }
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
        Masks bm = all.toBuilder().bias(t(DType.F32, 1, 4, 9, 5)).build();
        for (DType dt : new DType[] {DType.F32, DType.F16, DType.BF16}) { // SDPA backward, with and without dBias
            for (int d : new int[] {16, 100}) {
                SdpaBackwardParams.Builder sb = SdpaBackwardParams.builder(t(dt, 2, 4, 9, d), t(dt, 2, 2, 5, d),
                        t(dt, 2, 2, 5, d), t(dt, 2, 4, 9, d), t(dt, 2, 4, 9, d), t(DType.F32, 2, 4, 9), t(dt, 2, 4, 9, d),
                        t(dt, 2, 2, 5, d), t(dt, 2, 2, 5, d));
                l.add(sb.build());
                l.add(sb.masks(bm).dbias(t(DType.F32, 1, 4, 9, 5)).build());
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
        return l;
    }

    static List<CudaPlans.Context> contexts() {
        CudaOptions o = CudaOptions.defaults();
        List<CudaPlans.Context> l = new ArrayList<>();
        for (DeviceProps d : List.of(DeviceProps.h100(), DeviceProps.t4())) {
            l.add(new CudaPlans.Context(d, o, GemmProvider.KERNEL));
            l.add(new CudaPlans.Context(d, o.withTensorCores(true), GemmProvider.KERNEL));
            l.add(new CudaPlans.Context(d, o.withUnfusedSdpa(true), GemmProvider.KERNEL));
        }
        return l;
    }

    @Test
    void everyPlannedStepBindsItsKernelsParameters() {
        int steps = 0;
        java.util.Set<String> seen = new java.util.TreeSet<>();
        for (CudaPlans.Context c : contexts()) {
            for (OpParams p : calls()) {
                Plan plan = CudaPlans.plan(p, c);
                if (!plan.supported()) {
                    continue;
                }
                for (Plan.Step s : plan.steps()) {
                    if (s.module().equals(CudaPlans.CUBLAS)) {
                        continue;
                    }
                    KernelSignatures.assertBinds(entries(s.module()), s, s.entry());
                    seen.add(s.entry().replaceAll("_(f32|f16|bf16)", "_<dt>"));
                    steps++;
                }
            }
        }
        for (DType dt : DType.values()) {
            Tensor a = t(dt, 2, 3, 4, 5);
            Tensor b = Tensor.of(a.memory(), dt, new int[] {2, 3, 4, 5}, new long[] {60, 5, 15, 1}, 0);
            Plan.Step s = CudaPlans.copy(a, b, DeviceProps.h100()).step(0);
            KernelSignatures.assertBinds(entries(s.module()), s, s.entry());
            seen.add(s.entry());
        }
        assertTrue(seen.containsAll(List.of("attn_copy_u8", "attn_copy_u16", "attn_copy_u32")), seen.toString());
        assertTrue(steps > 100, "steps checked: " + steps);
        // every kind of entry was planned at least once
        for (String kind : List.of("attn_sdpa_fwd_<dt>_d32", "attn_sdpa_fwd_<dt>_d64", "attn_sdpa_fwd_<dt>_d128",
                "attn_sdpa_fwd_<dt>", "attn_sdpa_fwd_tc_<dt>_d128", "attn_sdpa_combine_<dt>", "attn_masked_softmax_<dt>_warp",
                "attn_masked_softmax_<dt>", "attn_masked_softmax_bwd_<dt>_warp", "attn_masked_softmax_bwd_<dt>",
                "attn_additive_fwd_<dt>_d64", "attn_additive_fwd_<dt>", "attn_additive_fwd_<dt>_qkf32_d64",
                "attn_additive_fwd_<dt>_qkf32", "attn_gemm_nt_<dt>", "attn_bgemm_<dt>_<dt>_<dt>", "attn_gemm_<dt>", "attn_rope_<dt>",
                "attn_additive_bwd_pre_<dt>", "attn_additive_bwd_dq_<dt>_qkf32", "attn_additive_bwd_dkv_<dt>",
                "attn_additive_bwd_reduce_<dt>", "attn_additive_bwd_proj_<dt>", "attn_additive_bwd_wgrad_<dt>", "attn_merge_states_<dt>",
                "attn_kv_append_<dt>", "attn_sdpa_bwd_pre_<dt>", "attn_sdpa_bwd_dkdv_<dt>", "attn_sdpa_bwd_dq_<dt>",
                "attn_sdpa_bwd_dbias_<dt>", "attn_sdpa_decode_<dt>_d64", "attn_sdpa_decode_<dt>_d128", "attn_sdpa_decode_<dt>")) {
            assertTrue(seen.contains(kind), kind + " never planned; planned: " + seen);
        }
    }

    @Test
    void theSharedEntryNamesExistForEveryDtype() {
        Map<String, List<String>> all = new HashMap<>();
        for (String m : List.of("sdpa", "softmax", "additive", "gemm", "copy", "additive_bwd", "merge", "kv_append", "rope",
                "sdpa_bwd", "sdpa_decode")) {
            all.putAll(entries(m));
        }
        for (KernelId id : KernelId.values()) {
            for (DType t : new DType[] {DType.F32, DType.F16, DType.BF16}) {
                String e = id == KernelId.COPY ? KernelId.copyEntry(t) : id.entry(t);
                assertTrue(all.containsKey(e), "the shared entry name " + e);
            }
        }
    }

    @Test
    void tablesAreReadFromTheSources() {
        assertEquals(List.of(32, 64, 128, 256), CudaTables.SDPA_TILES.stream().map(CudaTables.SdpaTile::dmax).toList());
        assertFalse(CudaTables.ADDITIVE_TILES.isEmpty());
        assertEquals(List.of(64, 96, 128, 256), TcTraits.headDims());
        assertTrue(CudaTables.SOFTMAX_WARP_MAX_SK > 0 && CudaTables.GEMM_THREADS > 0);
        assertEquals(List.of(new int[] {1, 2}[1], 3), List.of(CudaTables.table("#define T(X) \\\n  X(1, 2) \\\n  X(3, 4)\n", "T")
                .get(0)[1], CudaTables.table("#define T(X) \\\n  X(1, 2) \\\n  X(3, 4)\n", "T").get(1)[0]));
    }

    @Test
    void headersResolveForNvrtc() {
        Map<String, String> h = KernelSources.headers(KernelSources.source("sdpa"));
        assertEquals(List.of("common.cuh", "../attn_params.h", "mask.cuh", "softmax.cuh"), List.copyOf(h.keySet()));
        assertTrue(h.get("../attn_params.h").contains("typedef struct attn_sdpa_params"));
        assertEquals("/kernels/attn_params.h", KernelSources.normalize("/kernels/cuda/../attn_params.h"));
        assertEquals("/a/c", KernelSources.normalize("/a/./b/../c"));
    }

    @Test
    void kernelSourcesUseNoSystemHeaders() {
        // NVRTC gets only attn_params.h and the .cuh files: no <...> includes anywhere.
        Pattern sys = Pattern.compile("^\\s*#\\s*include\\s*<", Pattern.MULTILINE);
        for (String module : List.of("sdpa", "softmax", "additive", "gemm", "sdpa_tc", "additive_bwd", "sdpa_bwd",
                "sdpa_decode")) {
            String s = KernelSources.source(module);
            assertFalse(sys.matcher(s).find(), module);
            for (String h : KernelSources.headers(s).values()) {
                assertFalse(sys.matcher(h).find(), module);
            }
        }
    }
}
