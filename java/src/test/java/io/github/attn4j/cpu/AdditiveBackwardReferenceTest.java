package io.github.attn4j.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.AdditiveBackwardParams;
import io.github.attn4j.AdditiveParams;
import io.github.attn4j.Alignment;
import io.github.attn4j.Backend;
import io.github.attn4j.Masks;
import io.github.attn4j.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The float64 additive backward ({@link Reference#additiveBackward}) proven two ways: by central
 * finite differences of {@code L = <dC, C>} through the float64 forward, for every input and every
 * option, and by examples computed by hand.
 *
 * <p>The inputs are multiples of 2^-10 and the step is h = 2^-10, so {@code x +- h} is exact in the
 * F32 tensors and the difference quotient sees exactly the step it divides by; the forward is in
 * double, so the quotient's error is the O(h^2) truncation term only (about 1e-6 here).
 */
class AdditiveBackwardReferenceTest {
    private static final Backend CPU = new CpuBackend();
    private static final float H = 1f / 1024;

    @AfterAll
    static void close() {
        CPU.close();
    }

    /** A seeded tensor of multiples of 2^-10 in [-range, range]. */
    private static Tensor rand(SplittableRandom r, float range, int... shape) {
        float[] d = new float[Math.toIntExact(Tensor.numel(shape))];
        int steps = (int) (range * 1024);
        for (int i = 0; i < d.length; i++) {
            d[i] = (r.nextInt(2 * steps + 1) - steps) * H;
        }
        return Tensor.of(d, shape);
    }

    /** One option set of the forward: a name, and a function from the inputs to the masks. */
    record Option(String name, boolean raw, boolean tanhBias, Function<SplittableRandom, Masks> masks) {
        @Override
        public String toString() {
            return name;
        }
    }

    static final int B = 2, HEADS = 2, SQ = 3, SK = 4, A = 3, DV = 2, DQ = 2, DK = 3;

    static Stream<Arguments> options() {
        List<Option> l = new ArrayList<>();
        l.add(new Option("plain", false, false, r -> Masks.NONE));
        l.add(new Option("tanh-bias", false, true, r -> Masks.NONE));
        l.add(new Option("raw-projections+tanh-bias", true, true, r -> Masks.NONE));
        l.add(new Option("score-bias", false, false, r -> Masks.builder().bias(rand(r, 1, B, 1, SQ, SK)).build()));
        l.add(new Option("alibi", false, true, r -> Masks.builder().alibi(rand(r, 1, HEADS)).build()));
        l.add(new Option("causal-bottom-right", false, false, r -> Masks.causal()));
        l.add(new Option("causal-top-left", false, false,
                r -> Masks.builder().causal().alignment(Alignment.TOP_LEFT).build()));
        l.add(new Option("window(1,0)-top-left+alibi", true, false,
                r -> Masks.builder().window(1, 0).alignment(Alignment.TOP_LEFT).alibi(rand(r, 1, HEADS)).build()));
        l.add(new Option("kv-lengths", false, true, r -> Masks.builder().kvLengths(new int[] {2, 4}).build()));
        l.add(new Option("q-lengths (dead rows)", false, false, r -> Masks.builder().qLengths(new int[] {1, 3}).build()));
        l.add(new Option("bool-mask with a fully masked row", true, true, r -> {
            boolean[] m = new boolean[SQ * SK];
            for (int i = 0; i < m.length; i++) {
                m[i] = r.nextInt(3) != 0;
            }
            for (int j = 0; j < SK; j++) {
                m[SK + j] = false; // row 1 fully masked
            }
            return Masks.builder().boolMask(Tensor.ofBool(m, SQ, SK)).build();
        }));
        l.add(new Option("kv-length 0 (every row of batch 0 masked)", false, true,
                r -> Masks.builder().kvLengths(new int[] {0, 3}).bias(rand(r, 1, SQ, SK)).build()));
        return l.stream().map(Arguments::of);
    }

    /** The forward's inputs of one case. */
    private record Inputs(Tensor q, Tensor k, Tensor v, Tensor w, Tensor b, Tensor wq, Tensor wk, Masks masks) {
        AdditiveParams forward(Tensor out) {
            AdditiveParams.Builder f = AdditiveParams.builder(q, k, v, w, out).tanhBias(b).masks(masks);
            if (wq != null) {
                f.projections(wq, wk);
            }
            return f.build();
        }

        List<Tensor> all() {
            List<Tensor> l = new ArrayList<>(List.of(q, k, v, w));
            for (Tensor t : new Tensor[] {b, wq, wk}) {
                if (t != null) {
                    l.add(t);
                }
            }
            return l;
        }
    }

    private static Inputs inputs(Option o, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Tensor q = rand(r, 1, B, HEADS, SQ, o.raw ? DQ : A);
        Tensor k = rand(r, 1, B, HEADS, SK, o.raw ? DK : A);
        Tensor v = rand(r, 1, B, HEADS, SK, DV);
        Tensor w = rand(r, 1.5f, A);
        Tensor b = o.tanhBias ? rand(r, 0.5f, A) : null;
        Tensor wq = o.raw ? rand(r, 1, A, DQ) : null;
        Tensor wk = o.raw ? rand(r, 1, A, DK) : null;
        return new Inputs(q, k, v, w, b, wq, wk, o.masks.apply(r));
    }

    /** L = sum dC * C in double, C from the float64 forward. */
    private static double loss(Inputs in, double[] dc) {
        double[] c = Reference.additive(in.forward(Tensor.of(new float[B * HEADS * SQ * DV], B, HEADS, SQ, DV))).out();
        double l = 0;
        for (int i = 0; i < c.length; i++) {
            l += dc[i] * c[i];
        }
        return l;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("options")
    void centralDifferencesMatchEveryGradient(Option o) {
        long seed = 11 + o.name.hashCode();
        Inputs in = inputs(o, seed);
        Tensor dC = rand(new SplittableRandom(seed ^ 0xDC), 1, B, HEADS, SQ, DV);
        double[] dc = Reference.copy4(dC);
        Tensor dq = Tensor.of(new float[Math.toIntExact(in.q.numel())], in.q.shape());
        Tensor dk = Tensor.of(new float[Math.toIntExact(in.k.numel())], in.k.shape());
        Tensor dv = Tensor.of(new float[Math.toIntExact(in.v.numel())], in.v.shape());
        Tensor dw = Tensor.of(new float[A], A);
        AdditiveBackwardParams.Builder bd = AdditiveBackwardParams.of(in.forward(Tensor.of(new float[B * HEADS * SQ * DV],
                B, HEADS, SQ, DV)), dC, dq, dk, dv, dw);
        if (in.b != null) {
            bd.tanhBiasGrad(Tensor.of(new float[A], A));
        }
        if (in.wq != null) {
            bd.projectionGrads(Tensor.of(new float[A * DQ], A, DQ), Tensor.of(new float[A * DK], A, DK));
        }
        AdditiveBackwardParams p = bd.build();
        Reference.AdditiveBackwardResult g = Reference.additiveBackward(p);
        List<double[]> grads = new ArrayList<>(List.of(g.dq(), g.dk(), g.dv(), g.dw()));
        if (in.b != null) {
            grads.add(g.db());
        }
        if (in.wq != null) {
            grads.add(g.dwq());
            grads.add(g.dwk());
        }
        List<Tensor> xs = in.all();
        String[] names = {"q", "k", "v", "w", "b", "wq", "wk"};
        int checked = 0, nonzero = 0;
        for (int n = 0; n < xs.size(); n++) {
            Tensor x = xs.get(n);
            float[] data = (float[]) x.host().array();
            double[] grad = grads.get(n);
            assertEquals(data.length, grad.length, names[n]);
            for (int e = 0; e < data.length; e++) {
                float x0 = data[e];
                data[e] = x0 + H;
                double lp = loss(in, dc);
                data[e] = x0 - H;
                double lm = loss(in, dc);
                data[e] = x0;
                double fd = (lp - lm) / (2 * H);
                assertEquals(fd, grad[e], 2e-5 + 2e-5 * Math.abs(fd),
                        o.name + ": d" + names[n] + "[" + e + "] analytic vs central difference");
                checked++;
                if (Math.abs(fd) > 1e-3) {
                    nonzero++;
                }
            }
        }
        // the case must exercise the gradients, not compare zeros with zeros
        assertTrue(nonzero > checked / 3, o.name + ": only " + nonzero + " of " + checked + " gradients are nonzero");
        // and the cpu backend stores exactly the reference's values (rounded to F32)
        CPU.additiveBackward(p);
        assertEquals((float) g.dq()[1], p.dq().toFloatArray()[1]);
        assertEquals((float) g.dw()[0], p.dw().get(0));
    }

    @Test
    void deadAndFullyMaskedRowsGiveZeroRowsOfDq() {
        Option o = options().map(a -> (Option) a.get()[0]).filter(x -> x.name.startsWith("bool-mask")).findFirst()
                .orElseThrow();
        Inputs in = inputs(o, 5);
        Tensor dC = rand(new SplittableRandom(6), 1, B, HEADS, SQ, DV);
        Tensor dq = Tensor.of(new float[Math.toIntExact(in.q.numel())], in.q.shape());
        Tensor dk = Tensor.of(new float[Math.toIntExact(in.k.numel())], in.k.shape());
        AdditiveBackwardParams p = AdditiveBackwardParams.of(in.forward(Tensor.of(new float[B * HEADS * SQ * DV],
                B, HEADS, SQ, DV)), dC, dq, dk, Tensor.of(new float[B * HEADS * SK * DV], B, HEADS, SK, DV),
                Tensor.of(new float[A], A)).build();
        Reference.AdditiveBackwardResult g = Reference.additiveBackward(p);
        int dqn = in.q.dim(3);
        for (int bh = 0; bh < B * HEADS; bh++) {
            for (int x = 0; x < dqn; x++) {
                assertEquals(0.0, g.dq()[(bh * SQ + 1) * dqn + x], "row 1 is fully masked");
            }
        }
    }

    @Test
    void handComputedTwoByTwo() {
        // Sq = Sk = 2, A = 1, Qp = Kp = 0, b = 0, w = [2]: every tanh is 0, every e 0, P = 1/2 everywhere.
        // V = [1, 3] (Dv = 1), dC = [1, 2]. C = 2 on both rows.
        // dV_j = sum_i P dC_i = (1 + 2) / 2 = 1.5 for both keys.
        // dP = dC_i V_j = [[1, 3], [2, 6]]; Delta = [2, 4]; dE = P (dP - Delta) = [[-0.5, 0.5], [-1, 1]].
        // dw = sum dE t = 0 (t = 0). G = dE w (1 - t^2) = 2 dE: dQp = row sums = [0, 0],
        // dKp = column sums = [-3, 3]; db = sum dQp = 0.
        Tensor dq = Tensor.of(new float[] {9, 9}, 1, 1, 2, 1);
        Tensor dk = Tensor.of(new float[] {9, 9}, 1, 1, 2, 1);
        Tensor dv = Tensor.of(new float[] {9, 9}, 1, 1, 2, 1);
        Tensor dw = Tensor.of(new float[] {9}, 1);
        Tensor db = Tensor.of(new float[] {9}, 1);
        CPU.additiveBackward(AdditiveBackwardParams.builder(Tensor.of(new float[2], 1, 1, 2, 1),
                Tensor.of(new float[2], 1, 1, 2, 1), Tensor.of(new float[] {1, 3}, 1, 1, 2, 1), Tensor.of(new float[] {2}, 1),
                Tensor.of(new float[] {1, 2}, 1, 1, 2, 1), dq, dk, dv, dw).tanhBias(Tensor.of(new float[1], 1))
                .tanhBiasGrad(db).build());
        assertArr(new float[] {0, 0}, dq.toFloatArray());
        assertArr(new float[] {-3, 3}, dk.toFloatArray());
        assertArr(new float[] {1.5f, 1.5f}, dv.toFloatArray());
        assertEquals(0f, dw.get(0), 1e-7f);
        assertEquals(0f, db.get(0), 1e-7f);
    }

    @Test
    void handComputedNonzeroTanh() {
        // Sq = 1, Sk = 2, A = 1, w = [1], Qp = 0, Kp = [ln3/2, -ln3/2]: t = tanh(+-ln3/2) = [1/2, -1/2],
        // e = [1/2, -1/2], P = [sigma(1), sigma(-1)] = [P0, P1]; s = P0 P1 = sigma(1) sigma(-1).
        // V = [1, 3], dC = [1]: dP = [1, 3], Delta = P0 + 3 P1 = 1 + 2 P1,
        // dE = [P0 (1 - 1 - 2 P1), P1 (3 - 1 - 2 P1)] = [-2s, 2 P1 (1 - P1)] = [-2s, 2s].
        // dw = -2s (1/2) + 2s (-1/2) = -2s. G = dE (1 - 1/4) = [-1.5s, 1.5s]: dQp = 0, dKp = [-1.5s, 1.5s].
        // dV = P dC = [P0, P1].
        double p0 = 1 / (1 + Math.exp(-1)), p1 = 1 - p0, s = p0 * p1;
        float h = (float) (Math.log(3) / 2);
        Tensor dq = Tensor.of(new float[] {9}, 1, 1, 1, 1);
        Tensor dk = Tensor.of(new float[] {9, 9}, 1, 1, 2, 1);
        Tensor dv = Tensor.of(new float[] {9, 9}, 1, 1, 2, 1);
        Tensor dw = Tensor.of(new float[] {9}, 1);
        CPU.additiveBackward(AdditiveBackwardParams.builder(Tensor.of(new float[1], 1, 1, 1, 1),
                Tensor.of(new float[] {h, -h}, 1, 1, 2, 1), Tensor.of(new float[] {1, 3}, 1, 1, 2, 1),
                Tensor.of(new float[] {1}, 1), Tensor.of(new float[] {1}, 1, 1, 1, 1), dq, dk, dv, dw).build());
        assertEquals(0f, dq.get(0, 0, 0, 0), 1e-7f);
        assertArr(new float[] {(float) (-1.5 * s), (float) (1.5 * s)}, dk.toFloatArray());
        assertArr(new float[] {(float) p0, (float) p1}, dv.toFloatArray());
        assertEquals((float) (-2 * s), dw.get(0), 1e-6f);
    }

    private static void assertArr(float[] want, float[] got) {
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-6f, "element " + i);
        }
    }

    @Test
    void validationNamesTheArgument() {
        Tensor q = Tensor.of(new float[6], 1, 1, 2, 3);
        Tensor k = Tensor.of(new float[9], 1, 1, 3, 3);
        Tensor v = Tensor.of(new float[6], 1, 1, 3, 2);
        Tensor w = Tensor.of(new float[3], 3);
        Tensor dC = Tensor.of(new float[4], 1, 1, 2, 2);
        Tensor dq = Tensor.of(new float[6], 1, 1, 2, 3);
        Tensor dk = Tensor.of(new float[9], 1, 1, 3, 3);
        Tensor dv = Tensor.of(new float[6], 1, 1, 3, 2);
        Tensor dw = Tensor.of(new float[3], 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AdditiveBackwardParams
                .builder(q, k, v, w, Tensor.of(new float[6], 1, 1, 2, 3), dq, dk, dv, dw).build());
        assertTrue(e.getMessage().startsWith("dOut.shape: expected [1, 1, 2, 2]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AdditiveBackwardParams
                .builder(q, k, v, w, dC, dq, Tensor.of(new float[6], 1, 1, 2, 3), dv, dw).build());
        assertTrue(e.getMessage().startsWith("dk.shape: expected [1, 1, 3, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AdditiveBackwardParams
                .builder(q, k, v, w, dC, dq, dk, dv, dw).tanhBiasGrad(Tensor.of(new float[3], 3)).build());
        assertTrue(e.getMessage().startsWith("db: expected no db without a tanh bias"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AdditiveBackwardParams
                .builder(q, k, v, w, dC, dq, dk, dv, dw).projectionGrads(w, w).build());
        assertTrue(e.getMessage().startsWith("dwq: expected weight gradients only with raw inputs"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AdditiveBackwardParams
                .builder(q, k, v, w, dC, dq, dk, v, dw).build());
        assertTrue(e.getMessage().startsWith("dv: expected memory disjoint from v"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AdditiveBackwardParams
                .builder(q, k, v, w, dC, null, dk, dv, dw).build());
        assertTrue(e.getMessage().startsWith("dq: expected a tensor"), e.getMessage());
    }
}
