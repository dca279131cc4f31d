package io.github.attn4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Layout;
import io.github.attn4j.Masks;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.spi.KernelParams;
import io.github.attn4j.cpu.Reference;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The unfused SDPA path's GEMM descriptors (CudaPlans.qk / pv), executed on the host with the exact
 * addressing of gemm.cu's bgemm kernel, reproduce the float64 reference: checks the strides, the
 * GQA head mapping, both layouts and the kv-length flags without a GPU.
 */
class UnfusedDescriptorTest {
    /** gemm.cu's bgemm, element for element, over flat arrays. */
    static void bgemm(KernelParams.Bgemm g, float[] a, float[] b, float[] c, int[] kvLen) {
        for (int z = 0; z < g.batch() * g.heads(); z++) {
            int bb = z / g.heads(), hh = z % g.heads();
            int kk = g.k(), nn = g.n();
            if ((g.flags() & KernelParams.BGEMM_K_KVLEN) != 0) {
                kk = Math.min(kk, kvLen[bb]);
            }
            if ((g.flags() & KernelParams.BGEMM_N_KVLEN) != 0) {
                nn = Math.min(nn, kvLen[bb]);
            }
            long ab = g.a().off() + bb * g.a().sb() + hh * g.a().sh();
            long bbase = g.b().off() + bb * g.b().sb() + (hh / g.group()) * g.b().sh();
            long cb = g.c().off() + bb * g.c().sb() + hh * g.c().sh();
            for (int m = 0; m < g.m(); m++) {
                for (int n = 0; n < nn; n++) {
                    float acc = 0;
                    for (int k = 0; k < kk; k++) {
                        acc += a[(int) (ab + m * g.a().s0() + k * g.a().s1())] * b[(int) (bbase + k * g.b().s0() + n * g.b().s1())];
                    }
                    c[(int) (cb + m * g.c().s0() + n * g.c().s1())] = g.alpha() * acc;
                }
            }
        }
    }

    static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    void check(Layout layout, int b, int hq, int hkv, int sq, int sk, int d, int dv, Masks masks, long seed) {
        Random r = new Random(seed);
        float[] q = random(r, b * hq * sq * d), k = random(r, b * hkv * sk * d), v = random(r, b * hkv * sk * dv);
        float[] o = new float[b * hq * sq * dv];
        SdpaParams p = SdpaParams.builder(Tensor.of(q, layout, b, hq, sq, d), Tensor.of(k, layout, b, hkv, sk, d),
                Tensor.of(v, layout, b, hkv, sk, dv), Tensor.of(o, layout, b, hq, sq, dv)).masks(masks).build();
        float[] ws = new float[b * hq * sq * sk];
        java.util.Arrays.fill(ws, Float.NaN); // unwritten score columns must be masked away
        int[] kv = masks.kvLengths();
        bgemm(CudaPlans.qk(p), q, k, ws, kv);
        Tensor scores = Tensor.of(ws, b, hq, sq, sk);
        double[] pr = Reference.softmax(SoftmaxParams.builder(scores, scores).masks(masks).scale(p.scale()).build());
        float[] pf = new float[pr.length];
        for (int i = 0; i < pr.length; i++) {
            pf[i] = (float) pr[i];
        }
        bgemm(CudaPlans.pv(p), pf, v, o, kv);
        Reference.SdpaResult ref = Reference.sdpa(p);
        Tensor ot = p.o();
        int n = 0;
        for (int bi = 0; bi < b; bi++) {
            for (int h = 0; h < hq; h++) {
                for (int i = 0; i < sq; i++) {
                    for (int x = 0; x < dv; x++) {
                        double want = ref.o()[((bi * hq + h) * sq + i) * dv + x];
                        float got = ot.get(bi, h, i, x);
                        assertEquals(want, got, 1e-4 * (1 + Math.abs(want)), layout + " seed " + seed + " at [" + bi + ","
                                + h + "," + i + "," + x + "]");
                        n++;
                    }
                }
            }
        }
        assertTrue(n > 0);
    }

    @Test
    void bhsdGqaCausal() {
        check(Layout.BHSD, 2, 4, 2, 5, 7, 8, 6, Masks.causal(), 11);
    }

    @Test
    void bshdMultiQueryWithKvLengths() {
        check(Layout.BSHD, 3, 3, 1, 4, 9, 5, 7, Masks.builder().kvLengths(9, 3, 0).build(), 12);
    }

    @Test
    void topLeftWindowAndQueryLengths() {
        check(Layout.BSHD, 2, 2, 2, 6, 6, 4, 4, Masks.builder().alignment(io.github.attn4j.Alignment.TOP_LEFT)
                .window(2, 1).qLengths(4, 6).build(), 13);
    }
}
