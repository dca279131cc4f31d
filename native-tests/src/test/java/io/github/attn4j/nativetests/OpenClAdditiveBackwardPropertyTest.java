package io.github.attn4j.nativetests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.AdditiveBackwardParams;
import io.github.attn4j.AdditiveParams;
import io.github.attn4j.Backend;
import io.github.attn4j.Tensor;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The additive backward on OpenCL against its own forward: for a random dC and a random direction
 * u over every input (q, k, v, w, wq, wk; raw inputs), the directional derivative of
 * {@code L = <dC, C>} by central differences of the OpenCL forward,
 * {@code (L(x + h u) - L(x - h u)) / 2h}, must equal {@code <grad, u>} from the OpenCL backward.
 *
 * <p>Tolerance (fp32): with h = 2^-7 the truncation error is O(h^2) ~ 1e-4 relative, and the fp32
 * rounding of C (~6e-8 relative, Sq*Dv = 7*16 terms per head) divided by 2h adds ~1e-5 of
 * sum|dC C|; the test allows {@code 2e-3 * (|<grad, u>| + sum_i |grad_i u_i|)}, an order of magnitude
 * above both and far below a wrong gradient term (a missing (1 - t^2) or a key off by one moves
 * the product by 1e-1 or more of that scale). The shape reuses the matrix's kernel variants.
 */
class OpenClAdditiveBackwardPropertyTest {
    private static Backend cl;
    static final int B = 2, H = 2, SQ = 7, SK = 17, A = 32, DV = 16, DQ = 24, DK = 40;

    @BeforeAll
    static void open() {
        cl = OpenClTesting.openOrNull();
    }

    @AfterAll
    static void close() {
        if (cl != null) {
            cl.close();
        }
    }

    private static float[] rand(SplittableRandom r, int n, double scale) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return f;
    }

    /** L = <dC, C> in double, C from the OpenCL forward on inputs x (q, k, v, w, wq, wk). */
    private static double loss(List<float[]> x, float[] dc) {
        Tensor c = Tensor.of(new float[B * H * SQ * DV], B, H, SQ, DV);
        cl.additive(AdditiveParams.builder(Tensor.of(x.get(0), B, H, SQ, DQ), Tensor.of(x.get(1), B, H, SK, DK),
                Tensor.of(x.get(2), B, H, SK, DV), Tensor.of(x.get(3), A), c)
                .projections(Tensor.of(x.get(4), A, DQ), Tensor.of(x.get(5), A, DK)).build());
        float[] cf = c.toFloatArray();
        double l = 0;
        for (int i = 0; i < cf.length; i++) {
            l += (double) dc[i] * cf[i];
        }
        return l;
    }

    @Test
    void directionalDerivativeMatchesTheGradient() {
        OpenClTesting.assumeDevice(cl);
        SplittableRandom r = new SplittableRandom(20261130L);
        int[] sizes = {B * H * SQ * DQ, B * H * SK * DK, B * H * SK * DV, A, A * DQ, A * DK};
        double[] scales = {1, 1, 1, 2, 1.5 / Math.sqrt(DQ), 1.5 / Math.sqrt(DK)};
        List<float[]> x = new java.util.ArrayList<>();
        List<float[]> u = new java.util.ArrayList<>();
        for (int n = 0; n < sizes.length; n++) {
            x.add(rand(r, sizes[n], scales[n]));
            u.add(rand(r, sizes[n], 1));
        }
        float[] dc = rand(r, B * H * SQ * DV, 1);
        Tensor dq = Tensor.of(new float[sizes[0]], B, H, SQ, DQ);
        Tensor dk = Tensor.of(new float[sizes[1]], B, H, SK, DK);
        Tensor dv = Tensor.of(new float[sizes[2]], B, H, SK, DV);
        Tensor dw = Tensor.of(new float[A], A);
        Tensor dwq = Tensor.of(new float[sizes[4]], A, DQ);
        Tensor dwk = Tensor.of(new float[sizes[5]], A, DK);
        AdditiveBackwardParams p = AdditiveBackwardParams.builder(Tensor.of(x.get(0), B, H, SQ, DQ),
                Tensor.of(x.get(1), B, H, SK, DK), Tensor.of(x.get(2), B, H, SK, DV), Tensor.of(x.get(3), A),
                Tensor.of(dc, B, H, SQ, DV), dq, dk, dv, dw).projections(Tensor.of(x.get(4), A, DQ),
                Tensor.of(x.get(5), A, DK)).projectionGrads(dwq, dwk).build();
        cl.additiveBackward(p);
        List<float[]> g = List.of(dq.toFloatArray(), dk.toFloatArray(), dv.toFloatArray(), dw.toFloatArray(),
                dwq.toFloatArray(), dwk.toFloatArray());
        double dot = 0, mag = 0;
        for (int n = 0; n < sizes.length; n++) {
            for (int i = 0; i < sizes[n]; i++) {
                dot += (double) g.get(n)[i] * u.get(n)[i];
                mag += Math.abs((double) g.get(n)[i] * u.get(n)[i]);
            }
        }
        float h = 1f / 128;
        List<float[]> xp = new java.util.ArrayList<>(), xm = new java.util.ArrayList<>();
        for (int n = 0; n < sizes.length; n++) {
            float[] a = x.get(n).clone(), b = x.get(n).clone();
            for (int i = 0; i < a.length; i++) {
                a[i] += h * u.get(n)[i];
                b[i] -= h * u.get(n)[i];
            }
            xp.add(a);
            xm.add(b);
        }
        double fd = (loss(xp, dc) - loss(xm, dc)) / (2 * h);
        double tol = 2e-3 * (Math.abs(dot) + mag);
        assertTrue(Math.abs(fd - dot) <= tol, "central difference " + fd + " vs <grad, u> " + dot + " (tolerance " + tol
                + ", sum |g u| " + mag + ")");
        assertTrue(mag > 1, "the gradients are not all near zero: sum |g u| = " + mag);
        // bit-identical run to run (no atomics, fixed-order sums)
        cl.additiveBackward(p);
        assertArrayEquals(g.get(0), dq.toFloatArray());
        assertArrayEquals(g.get(3), dw.toFloatArray());
        assertArrayEquals(g.get(4), dwq.toFloatArray());
    }
}
