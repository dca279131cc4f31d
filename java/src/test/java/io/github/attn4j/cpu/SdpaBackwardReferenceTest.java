package io.github.attn4j.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Alignment;
import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Layout;
import io.github.attn4j.Masks;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Proves the float64 SDPA backward of {@link Reference}: hand-computed 2x2 examples, and central
 * finite differences of {@code L = <dO, O(x)>} (float64 forward) for every input element and every
 * option. Each perturbed input is an exact float, and the difference quotient divides by the
 * exact distance between the two floats, so only the O(h^2) truncation error remains.
 */
class SdpaBackwardReferenceTest {
    private static final Backend CPU = new CpuBackend();

    @AfterAll
    static void close() {
        CPU.close();
    }

    private static Tensor t(float[] data, int... shape) {
        return Tensor.of(data, shape);
    }

    private static Tensor zeros(int... shape) {
        return Tensor.of(new float[(int) Tensor.numel(shape)], shape);
    }

    @Test
    void twoByTwoByHand() {
        // Sq = Sk = 2, D = Dv = 1, scale 1, q = [1, 0], k = [1, 0], v = [1, 2], dO = [1, 1], bias 0.
        // Row 0: s = [1, 0], P = [a, b] with a = e/(e+1), b = 1/(e+1). Row 1: s = [0, 0], P = [1/2, 1/2].
        // dP_ij = dO_i v_j = [1, 2]; Delta_i = P_i . dP_i = O_i: Delta_0 = a + 2b, Delta_1 = 3/2.
        // dS_0 = [a (1 - a - 2b), b (2 - a - 2b)] = [-ab, ab] (a + b = 1); dS_1 = [-1/4, 1/4].
        // dQ_i = sum_j dS_ij k_j: dQ = [-ab, -1/4]. dK_j = sum_i dS_ij q_i: dK = [-ab, ab].
        // dV_j = sum_i P_ij dO_i: dV = [a + 1/2, b + 1/2]. dBias = dS.
        double e = Math.E, a = e / (e + 1), b = 1 / (e + 1), ab = a * b;
        Tensor q = t(new float[] {1, 0}, 1, 1, 2, 1), k = t(new float[] {1, 0}, 1, 1, 2, 1);
        Tensor v = t(new float[] {1, 2}, 1, 1, 2, 1), dO = t(new float[] {1, 1}, 1, 1, 2, 1);
        Tensor bias = zeros(2, 2), dbias = zeros(2, 2);
        Masks m = Masks.builder().bias(bias).build();
        Tensor[] g = run(q, k, v, dO, m, 1f, 0f, dbias);
        assertClose(new double[] {-ab, -0.25}, g[0]);
        assertClose(new double[] {-ab, ab}, g[1]);
        assertClose(new double[] {a + 0.5, b + 0.5}, g[2]);
        assertClose(new double[] {-ab, ab, -0.25, 0.25}, dbias);
    }

    @Test
    void twoByTwoCausalByHand() {
        // Causal (Sq = Sk: both alignments agree), q = [1, 2], k = [1, 0], v = [1, 2], dO = [1, 1], scale 1.
        // Row 0 sees key 0 only: P = [1, 0], dS_0 = 1 (1 - 1) = 0 and key 1 gets nothing from it.
        // Row 1: s = [2, 0], P = [c, d], c = e^2/(e^2+1), d = 1/(e^2+1); dS_1 = [-cd, cd] as above.
        // dQ = [0, -cd]; dK = [dS_10 q_1, dS_11 q_1] = [-2cd, 2cd]; dV = [1 + c, d].
        double e2 = Math.exp(2), c = e2 / (e2 + 1), d = 1 / (e2 + 1), cd = c * d;
        Tensor q = t(new float[] {1, 2}, 1, 1, 2, 1), k = t(new float[] {1, 0}, 1, 1, 2, 1);
        Tensor v = t(new float[] {1, 2}, 1, 1, 2, 1), dO = t(new float[] {1, 1}, 1, 1, 2, 1);
        for (Alignment al : Alignment.values()) {
            Tensor[] g = run(q, k, v, dO, Masks.builder().alignment(al).causal().build(), 1f, 0f, null);
            assertClose(new double[] {0, -cd}, g[0]);
            assertClose(new double[] {-2 * cd, 2 * cd}, g[1]);
            assertClose(new double[] {1 + c, d}, g[2]);
        }
    }

    @Test
    void softcapByHand() {
        // One query, two keys, D = 1, scale 1, softcap 2: s_j = 2 tanh(q k_j / 2), q = 1, k = [1, 0]:
        // s = [2 tanh(1/2), 0]. With v = [1, 0] and dO = 1: O = P_0, dS = [P0 (1 - P0), -P0 P1]
        // = [P0 P1, -P0 P1]; dR_0 = dS_0 (1 - tanh^2(1/2)), dR_1 = dS_1 (1 - tanh^2(0)) = dS_1.
        // dQ = dR_0 k_0 + dR_1 k_1 = P0 P1 (1 - tanh^2(1/2)); dK = [dR_0 q, dR_1 q].
        double th = Math.tanh(0.5), s0 = 2 * th, p0 = Math.exp(s0) / (Math.exp(s0) + 1), p1 = 1 - p0;
        Tensor[] g = run(t(new float[] {1}, 1, 1, 1, 1), t(new float[] {1, 0}, 1, 1, 2, 1),
                t(new float[] {1, 0}, 1, 1, 2, 1), t(new float[] {1}, 1, 1, 1, 1), Masks.NONE, 1f, 2f, null);
        assertClose(new double[] {p0 * p1 * (1 - th * th)}, g[0]);
        assertClose(new double[] {p0 * p1 * (1 - th * th), -p0 * p1}, g[1]);
        assertClose(new double[] {p0, p1}, g[2]);
    }

    @Test
    void maskedKeysAndDeadRowsGetZero() {
        // kvLengths [1]: key 1 is masked (its K and V hold NaN and are never read): dK = dV = 0 there.
        // qLengths [1]: row 1 is dead: dQ = 0. A -inf bias on a live pair: dBias = 0 there.
        Tensor q = t(new float[] {1, 2}, 1, 1, 2, 1), k = t(new float[] {1, Float.NaN}, 1, 1, 2, 1);
        Tensor v = t(new float[] {1, Float.NaN}, 1, 1, 2, 1), dO = t(new float[] {1, 1}, 1, 1, 2, 1);
        Tensor bias = t(new float[] {0, 0, Float.NEGATIVE_INFINITY, 0}, 2, 2), dbias = zeros(2, 2);
        Masks m = Masks.builder().kvLengths(1).qLengths(1).bias(bias).build();
        Tensor[] g = run(q, k, v, dO, m, 1f, 0f, dbias);
        // Row 0 sees key 0 only: P = 1, dS = 0, so dQ_0 = dK_0 = 0; dV_0 = dO_0 = 1.
        assertClose(new double[] {0, 0}, g[0]);
        assertClose(new double[] {0, 0}, g[1]);
        assertClose(new double[] {1, 0}, g[2]);
        assertClose(new double[] {0, 0, 0, 0}, dbias);
    }

    @Test
    void builderNamesTheBadArgument() {
        Tensor q = zeros(1, 2, 3, 4), k = zeros(1, 1, 5, 4), v = zeros(1, 1, 5, 2), o = zeros(1, 2, 3, 2);
        Tensor lse = zeros(1, 2, 3), dO = zeros(1, 2, 3, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SdpaBackwardParams.builder(
                q, k, v, o, dO, lse, zeros(1, 2, 3, 5), zeros(1, 1, 5, 4), zeros(1, 1, 5, 2)).build());
        assertTrue(e.getMessage().contains("dq.shape"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SdpaBackwardParams.builder(q, k, v, o, dO, lse,
                zeros(1, 2, 3, 4), zeros(1, 2, 5, 4), zeros(1, 1, 5, 2)).build());
        assertTrue(e.getMessage().contains("dk.shape"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SdpaBackwardParams.builder(q, k, v, o, dO, lse,
                zeros(1, 2, 3, 4), zeros(1, 1, 5, 4), zeros(1, 1, 5, 2)).dbias(zeros(3, 5)).build());
        assertTrue(e.getMessage().contains("dbias"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SdpaBackwardParams.builder(q, k, v, o, dO, lse,
                zeros(1, 2, 3, 4), zeros(1, 1, 5, 4), zeros(1, 1, 5, 2))
                .masks(Masks.builder().bias(zeros(3, 5)).build()).dbias(zeros(1, 1, 3, 5)).build());
        assertTrue(e.getMessage().contains("dbias.shape"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SdpaBackwardParams.builder(q, k, v, o, dO, null,
                zeros(1, 2, 3, 4), zeros(1, 1, 5, 4), zeros(1, 1, 5, 2)).build());
        assertTrue(e.getMessage().contains("lse"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SdpaBackwardParams.builder(q, k, v, o, dO, lse, dO,
                zeros(1, 1, 5, 4), zeros(1, 1, 5, 2)).build());
        assertTrue(e.getMessage().contains("dq"), e.getMessage());
    }

    // ---- finite differences -----------------------------------------------------------------

    /** One FD case: dims, layout of Q, options. */
    private record Fd(String name, int b, int hq, int hkv, int sq, int sk, int d, int dv, Layout layout,
            Function<Tensor[], Masks> masks, float scale, float softcap, int[] biasShape) {}

    private static List<Fd> fdCases() {
        List<Fd> l = new ArrayList<>();
        Layout bh = Layout.BHSD;
        l.add(new Fd("plain", 2, 2, 2, 3, 4, 3, 3, bh, x -> Masks.NONE, 0.7f, 0, null));
        l.add(new Fd("dv!=d,bshd", 1, 2, 2, 3, 5, 4, 2, Layout.BSHD, x -> Masks.NONE, 0.5f, 0, null));
        l.add(new Fd("softcap", 1, 2, 2, 3, 4, 3, 3, bh, x -> Masks.NONE, 1.3f, 0.8f, null));
        l.add(new Fd("gqa", 2, 4, 2, 3, 4, 3, 2, bh, x -> Masks.NONE, 0.6f, 0, null));
        l.add(new Fd("mqa", 1, 3, 1, 2, 5, 2, 3, bh, x -> Masks.NONE, 0.6f, 0, null));
        l.add(new Fd("bias-full", 2, 2, 2, 3, 4, 3, 3, bh, x -> Masks.builder().bias(x[0]).build(), 0.7f, 0,
                new int[] {2, 2, 3, 4}));
        l.add(new Fd("bias-heads-bcast", 2, 2, 2, 3, 4, 3, 3, bh, x -> Masks.builder().bias(x[0]).build(), 0.7f,
                0, new int[] {1, 2, 3, 4}));
        l.add(new Fd("bias-2d+gqa+softcap", 2, 4, 2, 3, 4, 3, 3, bh, x -> Masks.builder().bias(x[0]).build(), 0.7f,
                1.1f, new int[] {3, 4}));
        l.add(new Fd("causal-br", 1, 2, 1, 4, 6, 3, 3, bh, x -> Masks.causal(), 0.7f, 0, null));
        l.add(new Fd("causal-tl,sq>sk", 1, 2, 1, 5, 3, 3, 3, bh,
                x -> Masks.builder().alignment(Alignment.TOP_LEFT).causal().build(), 0.7f, 0, null));
        l.add(new Fd("window(1,1)", 1, 2, 2, 5, 5, 3, 3, bh, x -> Masks.builder().window(1, 1).build(), 0.7f, 0,
                null));
        l.add(new Fd("lengths", 2, 2, 2, 4, 5, 3, 3, bh, x -> Masks.builder().kvLengths(3, 0).qLengths(2, 4).build(),
                0.7f, 0, null));
        l.add(new Fd("boolmask+alibi", 1, 2, 2, 3, 4, 3, 3, bh, x -> Masks.builder().boolMask(x[1])
                .alibi(x[2]).build(), 0.7f, 0, null));
        return l;
    }

    @Test
    void finiteDifferencesEveryOption() {
        for (Fd c : fdCases()) {
            SplittableRandom r = new SplittableRandom(c.name().hashCode());
            Tensor q = rand(r, c.layout(), c.b(), c.hq(), c.sq(), c.d());
            Tensor k = rand(r, Layout.BHSD, c.b(), c.hkv(), c.sk(), c.d());
            Tensor v = rand(r, Layout.BHSD, c.b(), c.hkv(), c.sk(), c.dv());
            Tensor dO = rand(r, Layout.BHSD, c.b(), c.hq(), c.sq(), c.dv());
            Tensor bias = c.biasShape() == null ? null : rand(r, c.biasShape());
            boolean[] mk = new boolean[c.sq() * c.sk()];
            for (int e = 0; e < mk.length; e++) {
                mk[e] = r.nextDouble() < 0.7;
            }
            mk[0] = false; // row 0 keeps other keys; row sq-1 fully masked below
            for (int j = 0; j < c.sk(); j++) {
                mk[(c.sq() - 1) * c.sk() + j] = false;
            }
            Tensor bool = Tensor.ofBool(mk, c.sq(), c.sk());
            Tensor alibi = t(new float[] {0.5f, 0.25f}, 2);
            Masks m = c.masks().apply(new Tensor[] {bias, bool, alibi});
            Tensor dbias = bias == null ? null : zeros(c.biasShape());
            Tensor[] g = run(q, k, v, dO, m, c.scale(), c.softcap(), dbias);
            double[] dOd = Reference.copy4(dO);
            Function<Void, Double> loss = x -> {
                SdpaParams f = SdpaParams.builder(q, k, v, zeros(c.b(), c.hq(), c.sq(), c.dv())).masks(m)
                        .scale(c.scale()).softcap(c.softcap()).build();
                double[] o = Reference.sdpa(f).o();
                double s = 0;
                for (int e = 0; e < o.length; e++) {
                    s += dOd[e] * o[e];
                }
                return s;
            };
            check(c.name() + " dq", q, g[0], loss);
            check(c.name() + " dk", k, g[1], loss);
            check(c.name() + " dv", v, g[2], loss);
            if (bias != null) {
                check(c.name() + " dbias", bias, dbias, loss);
            }
        }
    }

    /** Compares every element of {@code grad} with the central difference of {@code loss} in {@code x}. */
    private static void check(String what, Tensor x, Tensor grad, Function<Void, Double> loss) {
        int[] shape = x.shape();
        int[] idx = new int[shape.length];
        int n = (int) x.numel();
        double worst = 0;
        for (int e = 0; e < n; e++) {
            int rem = e;
            for (int d = shape.length - 1; d >= 0; d--) {
                idx[d] = rem % shape[d];
                rem /= shape[d];
            }
            float x0 = x.get(idx);
            float xp = (float) (x0 + 1e-3), xm = (float) (x0 - 1e-3);
            x.set(xp, idx);
            double lp = loss.apply(null);
            x.set(xm, idx);
            double lm = loss.apply(null);
            x.set(x0, idx);
            double fd = (lp - lm) / ((double) xp - xm);
            double an = grad.get(idx);
            double err = Math.abs(fd - an);
            worst = Math.max(worst, err);
            assertTrue(err <= 2e-5 + 1e-4 * Math.abs(fd), what + " at " + java.util.Arrays.toString(idx)
                    + ": finite difference " + fd + ", reference " + an);
        }
        assertTrue(worst < 1e-4, what);
    }

    private static Tensor rand(SplittableRandom r, Layout layout, int b, int h, int s, int d) {
        float[] data = new float[b * h * s * d];
        Tensor t = Tensor.of(data, layout, b, h, s, d);
        forEach(t, r);
        return t;
    }

    private static Tensor rand(SplittableRandom r, int... shape) {
        Tensor t = zeros(shape);
        forEach(t, r);
        return t;
    }

    private static void forEach(Tensor t, SplittableRandom r) {
        int[] shape = t.shape();
        int[] idx = new int[shape.length];
        for (long e = 0; e < t.numel(); e++) {
            long rem = e;
            for (int d = shape.length - 1; d >= 0; d--) {
                idx[d] = (int) (rem % shape[d]);
                rem /= shape[d];
            }
            t.set((float) (r.nextDouble() * 2 - 1), idx);
        }
    }

    /**
     * Runs the forward (cpu) for O and LSE, then the backward on the cpu backend (float32 outputs).
     * Returns dQ, dK, dV; dBias goes to {@code dbias}.
     */
    private static Tensor[] run(Tensor q, Tensor k, Tensor v, Tensor dO, Masks m, float scale, float softcap,
            Tensor dbias) {
        int b = q.dim(0), hq = q.dim(1), sq = q.dim(2), dv = v.dim(3);
        Tensor o = zeros(b, hq, sq, dv), lse = zeros(b, hq, sq);
        CPU.sdpa(SdpaParams.builder(q, k, v, o).lse(lse).masks(m).scale(scale).softcap(softcap).build());
        Tensor dq = zeros(q.shape()), dk = zeros(k.shape()), dvt = zeros(v.shape());
        SdpaBackwardParams.Builder p = SdpaBackwardParams.builder(q, k, v, o, dO, lse, dq, dk, dvt).masks(m)
                .scale(scale).softcap(softcap);
        if (dbias != null) {
            p.dbias(dbias);
        }
        CPU.sdpaBackward(p.build());
        assertEquals(DType.F32, dq.dtype());
        return new Tensor[] {dq, dk, dvt};
    }

    private static void assertClose(double[] want, Tensor got) {
        float[] a = got.toFloatArray();
        assertEquals(want.length, a.length);
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], a[i], 1e-6, "element " + i);
        }
    }
}
