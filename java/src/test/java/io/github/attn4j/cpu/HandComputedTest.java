package io.github.attn4j.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.attn4j.AdditiveParams;
import io.github.attn4j.Alignment;
import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Masks;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxBackwardParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Small cases computed by hand; the arithmetic is in the comments. */
class HandComputedTest {
    private static final Backend CPU = new CpuBackend();
    private static final float LN3 = (float) Math.log(3);

    @AfterAll
    static void close() {
        CPU.close();
    }

    private static Tensor t(float[] data, int... shape) {
        return Tensor.of(data, shape);
    }

    @Test
    void sdpaTwoKeys() {
        // q = [1], k = [0, ln 3], scale 1: s = [0, ln 3]; softmax = [1, 3] / 4 = [1/4, 3/4].
        // v = [4, 8]: O = 4/4 + 8*3/4 = 1 + 6 = 7. LSE = ln(e^0 + e^ln3) = ln 4.
        Tensor o = t(new float[1], 1, 1, 1, 1);
        Tensor lse = t(new float[1], 1, 1, 1);
        CPU.sdpa(SdpaParams.builder(t(new float[] {1}, 1, 1, 1, 1), t(new float[] {0, LN3}, 1, 1, 2, 1),
                t(new float[] {4, 8}, 1, 1, 2, 1), o).lse(lse).scale(1f).build());
        assertEquals(7f, o.get(0, 0, 0, 0), 1e-6f);
        assertEquals((float) Math.log(4), lse.get(0, 0, 0), 1e-6f);
    }

    @Test
    void sdpaDefaultScaleIsOneOverSqrtD() {
        // D = 4, q = [1,1,1,1], k0 = 0, k1 = [ln3/2]*4: q.k1 = 2 ln 3, scale 1/sqrt(4) = 1/2 -> s = [0, ln 3]
        // as above: O = 7 (v = [4, 8] in the one value column).
        float h = LN3 / 2;
        Tensor o = t(new float[1], 1, 1, 1, 1);
        CPU.sdpa(SdpaParams.builder(t(new float[] {1, 1, 1, 1}, 1, 1, 1, 4),
                t(new float[] {0, 0, 0, 0, h, h, h, h}, 1, 1, 2, 4), t(new float[] {4, 8}, 1, 1, 2, 1), o).build());
        assertEquals(7f, o.get(0, 0, 0, 0), 1e-5f);
    }

    @Test
    void sdpaCausalBothAlignments() {
        // Sq = 2, Sk = 3, q = k = 0 so every allowed key has weight 1/n; v = [3, 6, 9].
        // TOP_LEFT (off 0): row 0 sees key 0 -> 3; row 1 sees keys 0,1 -> (3+6)/2 = 4.5.
        // BOTTOM_RIGHT (off 1): row 0 sees keys 0,1 -> 4.5; row 1 sees all -> (3+6+9)/3 = 6.
        float[][] expect = {{3, 4.5f}, {4.5f, 6}};
        Alignment[] al = {Alignment.TOP_LEFT, Alignment.BOTTOM_RIGHT};
        for (int a = 0; a < 2; a++) {
            Tensor o = t(new float[2], 1, 1, 2, 1);
            Tensor lse = t(new float[2], 1, 1, 2);
            CPU.sdpa(SdpaParams.builder(t(new float[2], 1, 1, 2, 1), t(new float[3], 1, 1, 3, 1),
                    t(new float[] {3, 6, 9}, 1, 1, 3, 1), o).lse(lse)
                    .masks(Masks.builder().alignment(al[a]).causal().build()).build());
            assertArrayEquals(expect[a], o.toFloatArray(), 1e-6f);
            // LSE of n zero scores is ln n.
            int n0 = a == 0 ? 1 : 2;
            assertArrayEquals(new float[] {(float) Math.log(n0), (float) Math.log(n0 + 1)}, lse.toFloatArray(), 1e-6f);
        }
    }

    @Test
    void sdpaSoftcapBiasAlibiWindowAndLengths() {
        // q = [2], k = [1, 0, 1], scale 1, softcap 1: s = [tanh 2, 0, tanh 2] = [0.9640276, 0, 0.9640276].
        // bias [0, ln 2, -inf]: s = [0.9640276, 0.6931472, -inf]; ALiBi slope 0.5, Sq = 1, Sk = 3,
        // BOTTOM_RIGHT off = 2: distances [2, 1, 0] -> [-1, -0.5, 0]: s = [-0.0359724, 0.1931472, -inf].
        // softmax: e = [0.9646669, 1.2130613, 0]; sum 2.1777282; p = [0.4429694, 0.5570306, 0].
        // v = [10, 20, 1000]: O = 4.429694 + 11.140613 = 15.570306. LSE = ln 2.1777282 = 0.7782822.
        Tensor o = t(new float[1], 1, 1, 1, 1);
        Tensor lse = t(new float[1], 1, 1, 1);
        Masks m = Masks.builder().bias(t(new float[] {0, (float) Math.log(2), Float.NEGATIVE_INFINITY}, 1, 3))
                .alibi(t(new float[] {0.5f}, 1)).build();
        CPU.sdpa(SdpaParams.builder(t(new float[] {2}, 1, 1, 1, 1), t(new float[] {1, 0, 1}, 1, 1, 3, 1),
                t(new float[] {10, 20, 1000}, 1, 1, 3, 1), o).lse(lse).scale(1f).softcap(1f).masks(m).build());
        assertEquals(15.570306f, o.get(0, 0, 0, 0), 2e-5f);
        assertEquals(0.7782822f, lse.get(0, 0, 0), 1e-6f);

        // Window (0, 0) with TOP_LEFT: row i sees only key i. kvLengths [1]: row 1 sees nothing -> O 0, LSE -inf.
        // qLengths [2] of Sq = 3: row 2 is dead -> O 0, LSE -inf. Row 0: O = v0 = 5, LSE = s00 = 0.
        Tensor o2 = t(new float[3], 1, 1, 3, 1);
        Tensor l2 = t(new float[3], 1, 1, 3);
        CPU.sdpa(SdpaParams.builder(t(new float[3], 1, 1, 3, 1), t(new float[3], 1, 1, 3, 1),
                t(new float[] {5, 6, 7}, 1, 1, 3, 1), o2).lse(l2).masks(Masks.builder().alignment(Alignment.TOP_LEFT)
                .window(0, 0).kvLengths(1).qLengths(2).build()).build());
        assertArrayEquals(new float[] {5, 0, 0}, o2.toFloatArray());
        assertArrayEquals(new float[] {0, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}, l2.toFloatArray());
    }

    @Test
    void sdpaGqaReadsKvHeadHOverGroup() {
        // Hq = 2, Hkv = 1, Sk = 1: both query heads read the one kv head: O = v = [7] for both.
        Tensor o = t(new float[2], 1, 2, 1, 1);
        CPU.sdpa(SdpaParams.builder(t(new float[] {1, -1}, 1, 2, 1, 1), t(new float[] {3}, 1, 1, 1, 1),
                t(new float[] {7}, 1, 1, 1, 1), o).build());
        assertArrayEquals(new float[] {7, 7}, o.toFloatArray());
    }

    @Test
    void softmaxForward() {
        // Row 0: x = [0, ln 3] -> [1/4, 3/4]. Row 1: x = [0.7, 0.7] -> [1/2, 1/2].
        // Row 2 with bool mask [1, 0]: [1, 0]. A fully masked row (mask [0, 0]) gives [0, 0].
        // Separately, scale 2 and x = [0, ln3 / 2] give [1/4, 3/4] again.
        Tensor x = t(new float[] {0, LN3, 0.7f, 0.7f, 5, 6, 5, 6}, 4, 2);
        Tensor scaleRow = t(new float[] {0, LN3 / 2}, 1, 2);
        Tensor y = t(new float[8], 4, 2);
        Tensor mask = Tensor.ofBool(new boolean[] {true, true, true, true, true, false, false, false}, 4, 2);
        CPU.softmax(SoftmaxParams.builder(x, y).masks(Masks.builder().boolMask(mask).build()).build());
        assertArrayEquals(new float[] {0.25f, 0.75f, 0.5f, 0.5f, 1, 0, 0, 0}, y.toFloatArray(), 1e-6f);
        Tensor y2 = t(new float[2], 1, 2);
        CPU.softmax(SoftmaxParams.builder(scaleRow, y2).scale(2f).build());
        assertArrayEquals(new float[] {0.25f, 0.75f}, y2.toFloatArray(), 1e-6f);
    }

    @Test
    void softmaxInPlaceWithAlibi() {
        // x = [0, 0, 0], ALiBi slope ln 2, Sq = 1, Sk = 3, off = 2: terms [-2 ln2, -ln2, 0] -> e = [1/4, 1/2, 1],
        // sum 7/4 -> y = [1/7, 2/7, 4/7]. In place: y is x.
        Tensor x = t(new float[3], 1, 1, 1, 3);
        CPU.softmax(SoftmaxParams.builder(x, x).masks(Masks.builder().alibi(t(new float[] {(float) Math.log(2)}, 1))
                .build()).build());
        assertArrayEquals(new float[] {1 / 7f, 2 / 7f, 4 / 7f}, x.toFloatArray(), 1e-6f);
    }

    @Test
    void softmaxBackward() {
        // y = [1/4, 3/4], dy = [1, 0]: rowsum(dy*y) = 1/4; dx = y * (dy - 1/4) = [3/16, -3/16];
        // scale 2: [3/8, -3/8].
        Tensor dx = t(new float[2], 1, 2);
        CPU.softmaxBackward(SoftmaxBackwardParams.builder(t(new float[] {0.25f, 0.75f}, 1, 2),
                t(new float[] {1, 0}, 1, 2), dx).scale(2f).build());
        assertArrayEquals(new float[] {0.375f, -0.375f}, dx.toFloatArray(), 1e-7f);
    }

    @Test
    void additivePreProjectedAndRaw() {
        // A = 1, w = [2 ln 3], qp = [0], kp = [0, atanh(1/2)]: e = w * tanh(qp + kp) = [0, 2 ln3 * 1/2] = [0, ln 3];
        // p = [1/4, 3/4]; v = [4, 8] -> C = 7; weights [1/4, 3/4].
        float at = (float) (0.5 * Math.log(3)); // atanh(1/2) = ln(3)/2
        Tensor w = t(new float[] {2 * LN3}, 1);
        Tensor v = t(new float[] {4, 8}, 1, 1, 2, 1);
        Tensor c = t(new float[1], 1, 1, 1, 1);
        Tensor wts = t(new float[2], 1, 1, 1, 2);
        CPU.additive(AdditiveParams.builder(t(new float[] {0}, 1, 1, 1, 1), t(new float[] {0, at}, 1, 1, 2, 1), v, w, c)
                .weights(wts).build());
        assertEquals(7f, c.get(0, 0, 0, 0), 1e-5f);
        assertArrayEquals(new float[] {0.25f, 0.75f}, wts.toFloatArray(), 1e-6f);

        // Raw: Q = [1, 2], Wq = [[0.5, -0.25]] -> qp = 0.5 - 0.5 = 0; K = [[0, 1], [2, 1]], Wk = [[at/2, 0]]
        // -> kp = [0, at]: the same scores. With b = [0] nothing changes; C = 7.
        Tensor c2 = t(new float[1], 1, 1, 1, 1);
        CPU.additive(AdditiveParams.builder(t(new float[] {1, 2}, 1, 1, 1, 2), t(new float[] {0, 1, 2, 1}, 1, 1, 2, 2),
                v, w, c2).projections(t(new float[] {0.5f, -0.25f}, 1, 2), t(new float[] {at / 2, 0}, 1, 2))
                .tanhBias(t(new float[] {0}, 1)).build());
        assertEquals(7f, c2.get(0, 0, 0, 0), 1e-5f);

        // b = [atanh(1/2)] and kp = [0, 0]: e = [ln 3, ln 3] -> p = [1/2, 1/2] -> C = 6. Fully masked
        // (kvLengths [0]) gives C = 0 and zero weights.
        Tensor c3 = t(new float[1], 1, 1, 1, 1);
        CPU.additive(AdditiveParams.builder(t(new float[] {0}, 1, 1, 1, 1), t(new float[] {0, 0}, 1, 1, 2, 1), v, w, c3)
                .tanhBias(t(new float[] {at}, 1)).build());
        assertEquals(6f, c3.get(0, 0, 0, 0), 1e-5f);
        Tensor c4 = t(new float[] {9}, 1, 1, 1, 1);
        Tensor w4 = t(new float[] {9, 9}, 1, 1, 1, 2);
        CPU.additive(AdditiveParams.builder(t(new float[] {0}, 1, 1, 1, 1), t(new float[] {0, 0}, 1, 1, 2, 1), v, w, c4)
                .weights(w4).masks(Masks.builder().kvLengths(0).build()).build());
        assertArrayEquals(new float[] {0}, c4.toFloatArray());
        assertArrayEquals(new float[] {0, 0}, w4.toFloatArray());
    }

    @Test
    void halfStorageRoundsOnceAtTheEnd() {
        // F16 storage of the two-key case: O = 7 exactly representable.
        short one = io.github.attn4j.Half.floatToF16(1f);
        Tensor q = Tensor.ofHalf(DType.F16, new short[] {one}, 1, 1, 1, 1);
        Tensor k = Tensor.ofHalf(DType.F16, new short[] {0, io.github.attn4j.Half.floatToF16(LN3)}, 1, 1, 2, 1);
        Tensor v = Tensor.ofHalf(DType.F16, new short[] {io.github.attn4j.Half.floatToF16(4),
                io.github.attn4j.Half.floatToF16(8)}, 1, 1, 2, 1);
        Tensor o = Tensor.ofHalf(DType.F16, new short[1], 1, 1, 1, 1);
        CPU.sdpa(SdpaParams.builder(q, k, v, o).scale(1f).build());
        assertEquals(7f, o.get(0, 0, 0, 0), 7f * 0x1p-10f); // ln 3 itself is rounded to f16
    }
}
