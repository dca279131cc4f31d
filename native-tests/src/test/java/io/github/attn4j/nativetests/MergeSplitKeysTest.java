package io.github.attn4j.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Masks;
import io.github.attn4j.MergeParams;
import io.github.attn4j.Scope;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Support;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Merge of attention states across scopes and backends: the keys of one SDPA problem are split into
 * shards, one shard computed on the cpu reference and two on OpenCL (each in its own scope, the K/V
 * shards as views of one device upload), their (O, LSE) merged on OpenCL and on cpu, and the result
 * compared with the unsplit SDPA. Batch 0's kv length ends inside the first shard, so its later
 * shards are empty (LSE = -inf, O rows unread).
 */
class MergeSplitKeysTest {
    static Backend cl;
    static final Backend CPU = new CpuBackend();

    @BeforeAll
    static void open() {
        cl = OpenClTesting.openOrNull();
    }

    @AfterAll
    static void close() {
        if (cl != null) {
            cl.close();
        }
        CPU.close();
    }

    static Tensor random(SplittableRandom rnd, int... shape) {
        float[] a = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (2 * rnd.nextDouble() - 1);
        }
        return Tensor.of(a, shape);
    }

    /** Keys [from, to) of a [B, H, S, D] tensor: a view, no copy. */
    static Tensor slice(Tensor t, int from, int to) {
        return t.view(t.offset() + from * t.stride(2), new int[] {t.dim(0), t.dim(1), to - from, t.dim(3)}, t.strides());
    }

    @Test
    void cpuAndOpenClShardsMergeToTheUnsplitResult() {
        OpenClTesting.assumeDevice(cl);
        int b = 2, hq = 4, hkv = 2, sq = 3, sk = 301, d = 32, dv = 24;
        int[] kvLen = {40, 301};
        int[] cuts = {0, 100, 217, 301};
        SplittableRandom rnd = new SplittableRandom(20261130);
        Tensor q = random(rnd, b, hq, sq, d), k = random(rnd, b, hkv, sk, d), v = random(rnd, b, hkv, sk, dv);
        Tensor o = Tensor.of(new float[b * hq * sq * dv], b, hq, sq, dv), lse = Tensor.of(new float[b * hq * sq], b, hq, sq);
        CPU.sdpa(SdpaParams.builder(q, k, v, o).lse(lse).masks(Masks.builder().kvLengths(kvLen).build()).build());

        List<Tensor> os = new ArrayList<>(), ls = new ArrayList<>();
        List<Scope> scopes = new ArrayList<>();
        try {
            Scope up = cl.newScope();
            scopes.add(up);
            Tensor dq = up.upload(q), dk = up.upload(k), dv0 = up.upload(v);
            for (int s = 0; s + 1 < cuts.length; s++) {
                int[] len = new int[b];
                for (int i = 0; i < b; i++) {
                    len[i] = Math.max(0, Math.min(kvLen[i], cuts[s + 1]) - cuts[s]);
                }
                Masks m = Masks.builder().kvLengths(len).build();
                if (s == 0) { // the first shard on the cpu reference, host tensors
                    Tensor po = Tensor.of(new float[b * hq * sq * dv], b, hq, sq, dv);
                    Tensor pl = Tensor.of(new float[b * hq * sq], b, hq, sq);
                    CPU.sdpa(SdpaParams.builder(q, slice(k, cuts[0], cuts[1]), slice(v, cuts[0], cuts[1]), po).lse(pl)
                            .masks(m).build());
                    os.add(po);
                    ls.add(pl);
                    continue;
                }
                Scope scope = cl.newScope(); // each OpenCL shard in its own scope (its own queue)
                scopes.add(scope);
                Tensor po = scope.allocate(DType.F32, b, hq, sq, dv), pl = scope.allocate(DType.F32, b, hq, sq);
                scope.sdpa(SdpaParams.builder(dq, slice(dk, cuts[s], cuts[s + 1]), slice(dv0, cuts[s], cuts[s + 1]), po)
                        .lse(pl).masks(m).build());
                scope.synchronize();
                Tensor ho = Tensor.of(new float[b * hq * sq * dv], b, hq, sq, dv), hl = Tensor.of(new float[b * hq * sq], b, hq, sq);
                scope.copy(po, ho);
                scope.copy(pl, hl);
                os.add(ho);
                ls.add(hl);
            }
            assertEquals(Float.NEGATIVE_INFINITY, ls.get(2).get(0, 1, 2), "batch 0 has no key in the last shard");
            // Merge on OpenCL (device tensors: the cpu shard is uploaded like any host data) and on cpu.
            Scope merger = cl.newScope();
            scopes.add(merger);
            List<Tensor> dos = new ArrayList<>(), dls = new ArrayList<>();
            for (int i = 0; i < os.size(); i++) {
                dos.add(merger.upload(os.get(i)));
                dls.add(merger.upload(ls.get(i)));
            }
            Tensor mo = merger.allocate(DType.F32, b, hq, sq, dv), ml = merger.allocate(DType.F32, b, hq, sq);
            MergeParams mp = MergeParams.builder(dos, dls, mo).lse(ml).build();
            Support s = cl.supports(mp);
            assertTrue(s.supported(), s.reason());
            merger.merge(mp);
            Tensor ho = Tensor.of(new float[b * hq * sq * dv], b, hq, sq, dv), hl = Tensor.of(new float[b * hq * sq], b, hq, sq);
            merger.copy(mo, ho);
            merger.copy(ml, hl);
            assertClose(o, ho, 2e-5, "OpenCL merge O");
            assertClose(lse, hl, 2e-6, "OpenCL merge LSE");
            Tensor co = Tensor.of(new float[b * hq * sq * dv], b, hq, sq, dv), cl2 = Tensor.of(new float[b * hq * sq], b, hq, sq);
            CPU.merge(MergeParams.builder(os, ls, co).lse(cl2).build());
            assertClose(o, co, 2e-5, "cpu merge O");
            assertClose(lse, cl2, 2e-6, "cpu merge LSE");
        } finally {
            for (int i = scopes.size() - 1; i >= 0; i--) {
                scopes.get(i).close();
            }
        }
    }

    @Test
    void moreThanEightPartsAreRefusedOnTheDevice() {
        OpenClTesting.assumeDevice(cl);
        List<Tensor> os = new ArrayList<>(), ls = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            os.add(Tensor.of(new float[4], 1, 1, 2, 2));
            ls.add(Tensor.of(new float[2], 1, 1, 2));
        }
        MergeParams p = MergeParams.builder(os, ls, Tensor.of(new float[4], 1, 1, 2, 2)).build();
        Support s = cl.supports(p);
        assertTrue(!s.supported() && s.reason().contains("at most 8"), s.toString());
        org.junit.jupiter.api.Assertions.assertThrows(io.github.attn4j.UnsupportedFeatureException.class, () -> cl.merge(p));
    }

    static void assertClose(Tensor want, Tensor got, double tol, String what) {
        float[] a = want.toFloatArray(), g = got.toFloatArray();
        for (int i = 0; i < a.length; i++) {
            if (Float.isInfinite(a[i]) || Float.isNaN(a[i])) {
                assertEquals(a[i], g[i], what + " element " + i);
            } else {
                assertEquals(a[i], g[i], tol * (1 + Math.abs(a[i])), what + " element " + i);
            }
        }
    }
}
