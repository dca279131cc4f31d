package io.github.attn4j.nativetests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Masks;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.Reference;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The OpenCL SDPA backward beyond the case matrix: the directional-derivative property
 * {@code <dO, O(x + h u) - O(x - h u)> / (2h) = <grad, u>} with the forward run on the same backend in
 * fp32, and bit-identical results run to run. One call with every option at once (GQA, window,
 * bool mask, bias with dBias, ALiBi, softcap), shapes of the matrix's "everything" cases so that the
 * program variants are shared.
 */
class OpenClSdpaBackwardTest {
    static Backend cl;

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

    static final int B = 2, HQ = 4, HKV = 2, SQ = 129, SK = 113, D = 32;

    static Tensor rand(SplittableRandom r, int... shape) {
        float[] a = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return Tensor.of(a, shape);
    }

    static Tensor zeros(int... shape) {
        return Tensor.of(new float[Math.toIntExact(Tensor.numel(shape))], shape);
    }

    /** x + c * u elementwise (fp32). */
    static Tensor axpy(Tensor x, float c, Tensor u) {
        float[] a = x.toFloatArray(), b = u.toFloatArray();
        for (int i = 0; i < a.length; i++) {
            a[i] += c * b[i];
        }
        return Tensor.of(a, x.shape());
    }

    static double dot(Tensor a, Tensor b) {
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            s += (double) x[i] * y[i];
        }
        return s;
    }

    static Masks masks(Tensor bias, Tensor mask, Tensor alibi) {
        return Masks.builder().window(40, 1).boolMask(mask).bias(bias).alibi(alibi).build();
    }

    static Tensor boolMask(SplittableRandom r) {
        boolean[] m = new boolean[SQ * SK];
        for (int i = 0; i < m.length; i++) {
            m[i] = r.nextDouble() < 0.8;
        }
        return Tensor.ofBool(m, SQ, SK);
    }

    /** Forward on OpenCL: O (and LSE when lse is not null). */
    static Tensor forward(Tensor q, Tensor k, Tensor v, Tensor bias, Tensor mask, Tensor alibi, Tensor lse) {
        Tensor o = zeros(B, HQ, SQ, D);
        SdpaParams.Builder f = SdpaParams.builder(q, k, v, o).masks(masks(bias, mask, alibi)).softcap(2.5f);
        if (lse != null) {
            f.lse(lse);
        }
        cl.sdpa(f.build());
        return o;
    }

    /**
     * The tolerance: the forward's fp32 error (NMSE 1e-11, so a relative error near 3e-6 in O) divided
     * by 2h = 0.02 leaves ~2e-4 of |dO| |O| per element, summed with random signs, plus the O(h^2)
     * truncation of the central difference (h = 1e-2): we allow 1e-3 relative to the directional
     * derivative's scale sum |dO_i| |dO/dx . u| (bounded by the L1 norms used below).
     */
    @Test
    void directionalDerivativeMatchesTheGradient() {
        OpenClTesting.assumeDevice(cl);
        SplittableRandom r = new SplittableRandom(20261130L);
        Tensor q = rand(r, B, HQ, SQ, D), k = rand(r, B, HKV, SK, D), v = rand(r, B, HKV, SK, D);
        Tensor bias = rand(r, 1, HQ, SQ, SK), mask = boolMask(r), alibi = rand(r, HQ);
        Tensor dO = rand(r, B, HQ, SQ, D);
        Tensor uq = rand(r, q.shape()), uk = rand(r, k.shape()), uv = rand(r, v.shape()), ub = rand(r, bias.shape());
        Tensor lse = zeros(B, HQ, SQ);
        Tensor o = forward(q, k, v, bias, mask, alibi, lse);
        Tensor dq = zeros(q.shape()), dk = zeros(k.shape()), dv = zeros(v.shape()), db = zeros(bias.shape());
        cl.sdpaBackward(SdpaBackwardParams.builder(q, k, v, o, dO, lse, dq, dk, dv).dbias(db)
                .masks(masks(bias, mask, alibi)).softcap(2.5f).build());
        float h = 1e-2f;
        Tensor op = forward(axpy(q, h, uq), axpy(k, h, uk), axpy(v, h, uv), axpy(bias, h, ub), mask, alibi, null);
        Tensor om = forward(axpy(q, -h, uq), axpy(k, -h, uk), axpy(v, -h, uv), axpy(bias, -h, ub), mask, alibi, null);
        double lhs = (dot(dO, op) - dot(dO, om)) / (2 * h);
        double rhs = dot(dq, uq) + dot(dk, uk) + dot(dv, uv) + dot(db, ub);
        double scale = 0;
        for (Tensor[] gu : new Tensor[][] {{dq, uq}, {dk, uk}, {dv, uv}, {db, ub}}) {
            float[] g = gu[0].toFloatArray(), u = gu[1].toFloatArray();
            for (int i = 0; i < g.length; i++) {
                scale += Math.abs((double) g[i] * u[i]);
            }
        }
        double err = Math.abs(lhs - rhs);
        System.out.printf("directional derivative: fd %.6f, <grad, u> %.6f, |err| %.3g, scale %.3g%n", lhs, rhs, err,
                scale);
        assertTrue(err <= 1e-3 * scale, "finite difference " + lhs + " vs <grad, u> " + rhs + " (scale " + scale + ")");
        // Each part on its own too (u on one input only), so that a wrong part cannot hide behind another.
        Tensor[] ins = {q, k, v, bias};
        Tensor[] us = {uq, uk, uv, ub};
        Tensor[] gs = {dq, dk, dv, db};
        for (int part = 0; part < 4; part++) {
            Tensor[] p = new Tensor[4], m = new Tensor[4];
            for (int x = 0; x < 4; x++) {
                p[x] = x == part ? axpy(ins[x], h, us[x]) : ins[x];
                m[x] = x == part ? axpy(ins[x], -h, us[x]) : ins[x];
            }
            double l = (dot(dO, forward(p[0], p[1], p[2], p[3], mask, alibi, null))
                    - dot(dO, forward(m[0], m[1], m[2], m[3], mask, alibi, null))) / (2 * h);
            double g = dot(gs[part], us[part]);
            float[] ga = gs[part].toFloatArray(), ua = us[part].toFloatArray();
            double sc = 0;
            for (int i = 0; i < ga.length; i++) {
                sc += Math.abs((double) ga[i] * ua[i]);
            }
            System.out.printf("  part %d: fd %.6f, <grad, u> %.6f%n", part, l, g);
            assertTrue(Math.abs(l - g) <= 1e-3 * sc, "part " + part + ": finite difference " + l + " vs " + g);
        }
    }

    @Test
    void bitIdenticalRunToRun() {
        OpenClTesting.assumeDevice(cl);
        SplittableRandom r = new SplittableRandom(7);
        Tensor q = rand(r, B, HQ, SQ, D), k = rand(r, B, HKV, SK, D), v = rand(r, B, HKV, SK, D);
        Tensor bias = rand(r, 1, HQ, SQ, SK), mask = boolMask(r), alibi = rand(r, HQ), dO = rand(r, B, HQ, SQ, D);
        Tensor lse = zeros(B, HQ, SQ);
        Tensor o = forward(q, k, v, bias, mask, alibi, lse);
        float[][] first = null;
        for (int run = 0; run < 3; run++) {
            Tensor dq = zeros(q.shape()), dk = zeros(k.shape()), dv = zeros(v.shape()), db = zeros(bias.shape());
            cl.sdpaBackward(SdpaBackwardParams.builder(q, k, v, o, dO, lse, dq, dk, dv).dbias(db)
                    .masks(masks(bias, mask, alibi)).softcap(2.5f).build());
            float[][] now = {dq.toFloatArray(), dk.toFloatArray(), dv.toFloatArray(), db.toFloatArray()};
            if (first == null) {
                first = now;
            } else {
                for (int x = 0; x < 4; x++) {
                    int[] a = bits(first[x]), b = bits(now[x]);
                    assertArrayEquals(a, b, "output " + x + " differs between runs");
                }
            }
        }
        assertTrue(DType.F32.bytes() == 4);
    }

    /**
     * The CPU forms of the dK/dV and dQ kernels (a PoCL device plans them for calls without softcap,
     * bias, ALiBi or dBias): a window, a bool mask and per-batch kv lengths, GQA, D = 32. Checks that the
     * plan is the CPU form, the directional derivative per input against central differences of the
     * OpenCL forward (the bound as above), and bit identity over three runs.
     */
    @Test
    void cpuFormsMatchTheDirectionalDerivativeAndAreBitIdentical() {
        OpenClTesting.assumeDevice(cl);
        checkCpuForm(cl, "flash-bwd-cpu");
    }

    /** The same with the fused CPU form forced (a work-item per batch and kv head computes dQ, dK and dV). */
    @Test
    void fusedCpuFormMatchesTheDirectionalDerivativeAndIsBitIdentical() {
        OpenClTesting.assumeDevice(cl);
        try (Backend f = withTune("bwdCpu=2")) {
            checkCpuForm(f, "flash-bwd-cpu-fused");
        }
    }

    /**
     * The fused form's last, shorter key block (its blocks hold 48 keys: Sk = 50 ends in a block of 2, 113 in one
     * of 17) ends at Sk and is taken as a full block: the keys past the valid ones repeat the last key's K and V
     * rows and must get P = dS = 0 (a repeat counted twice would be a finite error, a +inf in V's last row
     * would turn dS into NaN) and their dK/dV sums must land outside dK and dV. Against the float64 reference,
     * outputs poisoned: finite data, then V's last row +inf (dQ and dK are NaN everywhere, dV finite).
     */
    @Test
    void fusedFormTailBlockAgainstTheReference() {
        OpenClTesting.assumeDevice(cl);
        try (Backend fused = withTune("bwdCpu=2")) {
            for (int sk : new int[] {50, 113}) {
                for (boolean infV : new boolean[] {false, true}) {
                    SplittableRandom r = new SplittableRandom(sk);
                    int hq = 2, hkv = 1, sq = 40, d = 32;
                    Tensor q = rand(r, 1, hq, sq, d), k = rand(r, 1, hkv, sk, d), v = rand(r, 1, hkv, sk, d);
                    if (infV) {
                        for (int x = 0; x < d; x++) {
                            v.set(Float.POSITIVE_INFINITY, 0, 0, sk - 1, x);
                        }
                    }
                    Tensor dO = rand(r, 1, hq, sq, d), o = zeros(1, hq, sq, d), lse = zeros(1, hq, sq);
                    fused.sdpa(SdpaParams.builder(q, k, v, o).lse(lse).build());
                    Tensor dq = OpenClKernelTest.poisoned(DType.F32, q.shape());
                    Tensor dk = OpenClKernelTest.poisoned(DType.F32, k.shape());
                    Tensor dv = OpenClKernelTest.poisoned(DType.F32, v.shape());
                    SdpaBackwardParams bp = SdpaBackwardParams.builder(q, k, v, o, dO, lse, dq, dk, dv).build();
                    if ("CPU".equals(fused.device().details().get("type"))) {
                        String variant = fused.supports(bp).variant();
                        assertTrue(variant.contains("-cpu-fused-"), "the fused CPU form, got " + variant);
                    }
                    fused.sdpaBackward(bp);
                    Reference.SdpaGrads ref = Reference.sdpaBackward(bp);
                    String what = "Sk " + sk + (infV ? " +inf in V's last row" : "") + ": ";
                    OpenClKernelTest.compare(what + "dQ", ref.dq(), dq, 1e-9);
                    OpenClKernelTest.compare(what + "dK", ref.dk(), dk, 1e-9);
                    OpenClKernelTest.compare(what + "dV", ref.dv(), dv, 1e-9);
                    if (infV) {
                        for (float x : dv.toFloatArray()) {
                            assertTrue(Float.isFinite(x), what + "dV must stay finite");
                        }
                    }
                }
            }
        }
    }

    /** A backend opened with attn4j.opencl.tune set to tune (the property restored). */
    private static Backend withTune(String tune) {
        String old = System.getProperty("attn4j.opencl.tune");
        System.setProperty("attn4j.opencl.tune", tune);
        try {
            return OpenClTesting.openOrNull();
        } finally {
            if (old == null) {
                System.clearProperty("attn4j.opencl.tune");
            } else {
                System.setProperty("attn4j.opencl.tune", old);
            }
        }
    }

    /** On a CPU device the planner fuses the backward when the (batch, kv head) items fill the device. */
    @Test
    void thePlannerFusesWhenTheBatchAndKvHeadsFillTheDevice() {
        OpenClTesting.assumeDevice(cl);
        org.junit.jupiter.api.Assumptions.assumeTrue("CPU".equals(cl.device().details().get("type")), "a CPU device");
        int cus = Integer.parseInt(cl.device().details().get("compute units"));
        assertTrue(plan(4 * cus, 1).contains("-cpu-fused-"), plan(4 * cus, 1));
        assertTrue(plan(4 * cus, 2).contains("-cpu-fused-"), "GQA: items are kv heads, " + plan(4 * cus, 2));
        assertTrue(!plan(2 * cus, 2).contains("fused"), "GQA: 2 kv heads per CU are too few, " + plan(2 * cus, 2));
        String few = plan(1, 4);
        assertTrue(few.startsWith("flash-bwd-cpu-") && !few.contains("fused"), few);
    }

    private static String plan(int hkv, int group) {
        int hq = hkv * group;
        return cl.supports(SdpaBackwardParams.builder(zeros(1, hq, 16, 32), zeros(1, hkv, 16, 32),
                zeros(1, hkv, 16, 32), zeros(1, hq, 16, 32), zeros(1, hq, 16, 32), zeros(1, hq, 16),
                zeros(1, hq, 16, 32), zeros(1, hkv, 16, 32), zeros(1, hkv, 16, 32)).build()).variant();
    }

    private static void checkCpuForm(Backend cl, String expectedVariant) {
        SplittableRandom r = new SplittableRandom(11);
        Tensor mask = boolMask(r);
        Masks m = Masks.builder().window(40, 1).boolMask(mask).kvLengths(SK, 77).build();
        Tensor q = rand(r, B, HQ, SQ, D), k = rand(r, B, HKV, SK, D), v = rand(r, B, HKV, SK, D);
        Tensor dO = rand(r, B, HQ, SQ, D), lse = zeros(B, HQ, SQ);
        java.util.function.BiFunction<Tensor[], Tensor, Tensor> fwd = (in, l) -> {
            Tensor o = zeros(B, HQ, SQ, D);
            SdpaParams.Builder f = SdpaParams.builder(in[0], in[1], in[2], o).masks(m);
            if (l != null) {
                f.lse(l);
            }
            cl.sdpa(f.build());
            return o;
        };
        Tensor o = fwd.apply(new Tensor[] {q, k, v}, lse);
        float[][] first = null;
        Tensor[] grads = null;
        for (int run = 0; run < 3; run++) {
            Tensor dq = zeros(q.shape()), dk = zeros(k.shape()), dv = zeros(v.shape());
            SdpaBackwardParams bp = SdpaBackwardParams.builder(q, k, v, o, dO, lse, dq, dk, dv).masks(m).build();
            if (run == 0 && "CPU".equals(cl.device().details().get("type"))) {
                String variant = cl.supports(bp).variant();
                assertTrue(variant.startsWith(expectedVariant), "a CPU device plans " + expectedVariant + ", got "
                        + variant);
            }
            cl.sdpaBackward(bp);
            float[][] now = {dq.toFloatArray(), dk.toFloatArray(), dv.toFloatArray()};
            if (first == null) {
                first = now;
                grads = new Tensor[] {dq, dk, dv};
            } else {
                for (int x = 0; x < 3; x++) {
                    assertArrayEquals(bits(first[x]), bits(now[x]), "output " + x + " differs between runs");
                }
            }
        }
        Tensor[] ins = {q, k, v};
        float h = 1e-2f;
        for (int part = 0; part < 3; part++) {
            Tensor u = rand(r, ins[part].shape());
            Tensor[] p = ins.clone(), mn = ins.clone();
            p[part] = axpy(ins[part], h, u);
            mn[part] = axpy(ins[part], -h, u);
            double l = (dot(dO, fwd.apply(p, null)) - dot(dO, fwd.apply(mn, null))) / (2 * h);
            double g = dot(grads[part], u);
            double sc = 0;
            float[] gg = grads[part].toFloatArray(), uu = u.toFloatArray();
            for (int i = 0; i < gg.length; i++) {
                sc += Math.abs((double) gg[i] * uu[i]);
            }
            assertTrue(Math.abs(l - g) <= 1e-3 * sc, "part " + part + ": finite difference " + l + " vs " + g);
        }
    }

    static int[] bits(float[] f) {
        int[] b = new int[f.length];
        for (int i = 0; i < f.length; i++) {
            b[i] = Float.floatToRawIntBits(f[i]);
        }
        return b;
    }
}
