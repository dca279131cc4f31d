package io.github.attn4j.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.attn4j.AdditiveParams;
import io.github.attn4j.Alignment;
import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Half;
import io.github.attn4j.HostMemory;
import io.github.attn4j.Layout;
import io.github.attn4j.Masks;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxBackwardParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.Reference;
import io.github.attn4j.testing.LayerChecks;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Direct checks of the OpenCL kernels against the float64 reference, independent of the shared
 * case matrix: a focused set of SDPA, softmax and additive calls that hit every kernel path
 * (full and partial tiles, short and long softmax rows, raw and projected additive inputs).
 * Outputs are poisoned with NaN before each run so that an unwritten element fails.
 */
class OpenClKernelTest {
    static Backend cl;
    /** The same device with every softmax output written by non-temporal stores (smNtKiB=0; by default only
     * outputs past 8 MiB on CPU devices, which these cases are not). */
    static Backend clNt;

    @BeforeAll
    static void open() {
        cl = OpenClTesting.openOrNull();
        if (cl != null) {
            clNt = new io.github.attn4j.opencl.OpenClProvider().open(cl.device().index(),
                    new io.github.attn4j.opencl.OpenClOptions("smNtKiB=0", ""));
        }
    }

    @AfterAll
    static void close() {
        for (Backend b : new Backend[] {cl, clNt}) {
            if (b != null) {
                b.close();
            }
        }
    }

    /** The softmax backends: the default planner's and the one with non-temporal stores everywhere. */
    static Map<String, Backend> softmaxBackends() {
        Map<String, Backend> m = new LinkedHashMap<>();
        m.put("", cl);
        m.put(" nt", clNt);
        return m;
    }

    static Tensor rand(SplittableRandom r, DType dt, double amp, int... shape) {
        int n = Math.toIntExact(Tensor.numel(shape));
        if (dt == DType.F32) {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) {
                a[i] = (float) ((r.nextDouble() * 2 - 1) * amp);
            }
            return Tensor.of(a, shape);
        }
        short[] a = new short[n];
        for (int i = 0; i < n; i++) {
            float f = (float) ((r.nextDouble() * 2 - 1) * amp);
            a[i] = dt == DType.F16 ? Half.floatToF16(f) : Half.floatToBf16(f);
        }
        return Tensor.ofHalf(dt, a, shape);
    }

    static Tensor poisoned(DType dt, int... shape) {
        int n = Math.toIntExact(Tensor.numel(shape));
        Tensor t = dt == DType.F32 ? Tensor.of(new float[n], shape) : Tensor.ofHalf(dt, new short[n], shape);
        for (int i = 0; i < n; i++) {
            ((HostMemory) t.memory()).setFloat(i, dt, Float.NaN);
        }
        return t;
    }

    /** NaN where the reference has NaN, infinities equal, then NMSE below tol. */
    static void compare(String what, double[] ref, Tensor got, double tol) {
        float[] g = got.toFloatArray();
        assertEquals(ref.length, g.length, what + ": length");
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            if (Double.isNaN(ref[i]) || Float.isNaN(g[i])) {
                if (!(Double.isNaN(ref[i]) && Float.isNaN(g[i]))) {
                    fail(what + ": element " + i + " expected " + ref[i] + ", got " + g[i]);
                }
                continue;
            }
            if (Double.isInfinite(ref[i]) || Float.isInfinite(g[i])) {
                if (ref[i] != g[i]) {
                    fail(what + ": element " + i + " expected " + ref[i] + ", got " + g[i]);
                }
                continue;
            }
            num += (g[i] - ref[i]) * (g[i] - ref[i]);
            den += ref[i] * ref[i];
        }
        double nmse = den == 0 ? num : num / den;
        assertTrue(nmse <= tol, what + ": NMSE " + nmse + " > " + tol);
    }

    static double tol(DType dt) {
        return dt == DType.F32 ? 1e-9 : dt == DType.F16 ? 1e-5 : 1e-3;
    }

    record SdpaCase(String name, int b, int hq, int hkv, int sq, int sk, int d, int dv, DType dt, Masks masks,
            float softcap, boolean lse, double amp, float lastV) {}

    /** No value written into V's last key row (lastV of {@link SdpaCase}). */
    static final float KEEP = 0f;

    static List<SdpaCase> sdpaCases() {
        List<SdpaCase> l = new ArrayList<>();
        for (DType dt : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            l.add(new SdpaCase("plain", 2, 4, 2, 129, 113, 64, 64, dt, Masks.NONE, 0, true, 1, KEEP));
            l.add(new SdpaCase("causal", 1, 2, 1, 300, 300, 64, 64, dt, Masks.causal(), 0, true, 1, KEEP));
        }
        l.add(new SdpaCase("d40", 1, 2, 2, 17, 33, 40, 40, DType.F32, Masks.NONE, 0, true, 1, KEEP));
        l.add(new SdpaCase("single", 1, 1, 1, 1, 1, 16, 16, DType.F32, Masks.NONE, 0, true, 1, KEEP));
        l.add(new SdpaCase("dv", 1, 8, 1, 77, 130, 72, 40, DType.F32, Masks.NONE, 0, true, 1, KEEP));
        l.add(new SdpaCase("d256", 1, 2, 2, 65, 70, 256, 96, DType.F32, Masks.causal(), 0, true, 1, KEEP));
        l.add(new SdpaCase("window", 2, 2, 1, 200, 180, 32, 32, DType.F32,
                Masks.builder().window(20, 5).alignment(Alignment.TOP_LEFT).build(), 0, true, 1, KEEP));
        l.add(new SdpaCase("lengths", 2, 2, 2, 90, 100, 32, 32, DType.F32,
                Masks.builder().kvLengths(0, 37).qLengths(50, 90).build(), 0, true, 1, KEEP));
        l.add(new SdpaCase("softcap", 1, 2, 2, 50, 60, 32, 32, DType.F32, Masks.causal(), 5f, true, 3, KEEP));
        l.add(new SdpaCase("huge", 1, 2, 2, 50, 70, 32, 32, DType.F32, Masks.NONE, 0, true, 100, KEEP));
        l.add(new SdpaCase("nan-v-causal", 1, 1, 1, 64, 64, 32, 32, DType.F32, Masks.causal(), 0, true, 1, Float.NaN));
        // Sk = 50: the CPU form's key blocks of 48 end in a 2-key block whose pairs are all live, taken as a full
        // block that stops at its valid keys; the rows past them repeat the last key's, +inf here, and must not
        // be read (0 * inf would turn the +inf every row's O has in each column into NaN)
        for (DType dt : new DType[] {DType.F32, DType.F16}) {
            l.add(new SdpaCase("inf-v-tail", 1, 1, 1, 32, 50, 32, 32, dt, Masks.NONE, 0, true, 1,
                    Float.POSITIVE_INFINITY));
        }
        return l;
    }

    @TestFactory
    Stream<DynamicTest> sdpa() {
        return OpenClTesting.orSkip(cl, () -> sdpaCases().stream().map(c -> DynamicTest.dynamicTest(String.format(Locale.ROOT,
                "sdpa %s %s B%d Hq%d Hkv%d Sq%d Sk%d D%d Dv%d", c.name, c.dt, c.b, c.hq, c.hkv, c.sq, c.sk, c.d, c.dv),
                () -> runSdpa(c, null, null))));
    }

    static void runSdpa(SdpaCase c, Tensor bias, Tensor mask) {
        SplittableRandom r = new SplittableRandom(42);
        Tensor q = rand(r, c.dt, c.amp, c.b, c.hq, c.sq, c.d);
        Tensor k = rand(r, c.dt, c.amp, c.b, c.hkv, c.sk, c.d);
        Tensor v = rand(r, c.dt, 1, c.b, c.hkv, c.sk, c.dv);
        if (c.lastV != KEEP) {
            // the last key row (NaN: masked for every row but the last under causal)
            for (int x = 0; x < c.dv; x++) {
                v.set(c.lastV, 0, 0, c.sk - 1, x);
            }
        }
        Tensor o = poisoned(c.dt, c.b, c.hq, c.sq, c.dv);
        Tensor lse = c.lse ? poisoned(DType.F32, c.b, c.hq, c.sq) : null;
        SdpaParams.Builder pb = SdpaParams.builder(q, k, v, o).masks(c.masks).softcap(c.softcap);
        if (lse != null) {
            pb.lse(lse);
        }
        SdpaParams p = pb.build();
        assertTrue(cl.supports(p).supported(), cl.supports(p).reason());
        cl.sdpa(p);
        Reference.SdpaResult ref = Reference.sdpa(p);
        compare("O", ref.o(), o, tol(c.dt));
        if (lse != null) {
            compare("LSE", ref.lse(), lse, tol(c.dt));
        }
    }

    @Test
    void sdpaEveryMaskTogether() {
        OpenClTesting.assumeDevice(cl);
        SplittableRandom r = new SplittableRandom(7);
        int b = 2, h = 4, sq = 70, sk = 90;
        boolean[] mb = new boolean[b * h * sq * sk];
        for (int i = 0; i < mb.length; i++) {
            mb[i] = r.nextDouble() < 0.8;
        }
        Tensor mask = Tensor.ofBool(mb, b, h, sq, sk);
        Tensor bias = rand(r, DType.F32, 2, 1, h, sq, sk);
        Tensor alibi = rand(r, DType.F32, 0.1, h);
        Masks m = Masks.builder().window(30, 10).kvLengths(80, 60).qLengths(70, 40).boolMask(mask).bias(bias)
                .alibi(alibi).build();
        runSdpa(new SdpaCase("all", b, h, 2, sq, sk, 40, 24, DType.F32, m, 4f, true, 1, KEEP), null, null);
    }

    @Test
    void sdpaStridedBshd() {
        OpenClTesting.assumeDevice(cl);
        SplittableRandom r = new SplittableRandom(3);
        int b = 2, h = 3, s = 45, d = 32;
        float[] qa = new float[b * h * s * d], ka = new float[b * h * s * d], va = new float[b * h * s * d];
        for (float[] a : new float[][] {qa, ka, va}) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) (r.nextDouble() * 2 - 1);
            }
        }
        Tensor q = Tensor.of(qa, Layout.BSHD, b, h, s, d);
        Tensor k = Tensor.of(ka, Layout.BSHD, b, h, s, d);
        Tensor v = Tensor.of(va, Layout.BSHD, b, h, s, d);
        Tensor o = Tensor.of(new float[b * h * s * d], Layout.BSHD, b, h, s, d);
        SdpaParams p = SdpaParams.builder(q, k, v, o).causal().build();
        cl.sdpa(p);
        compare("O", Reference.sdpa(p).o(), o, 1e-9);
    }

    @TestFactory
    Stream<DynamicTest> softmax() {
        List<DynamicTest> l = new ArrayList<>();
        // 40000: past SM_EBUF (32768), so f16/bf16 recompute e in the last pass instead of keeping it
        // (f32 with non-temporal stores keeps e in the private row up to SM_EBUF too, and scales Y in place past it)
        for (Map.Entry<String, Backend> e : softmaxBackends().entrySet()) {
            String tag = e.getKey();
            Backend be = e.getValue();
            for (DType dt : new DType[] {DType.F32, DType.F16, DType.BF16}) {
                for (int n : new int[] {7, 129, 5000, 40000}) {
                    for (int mk = 0; mk < 3; mk++) {
                        int mode = mk;
                        l.add(DynamicTest.dynamicTest("softmax " + dt + " n" + n + " masks" + mode + tag, () -> {
                            SplittableRandom r = new SplittableRandom(n);
                            int b = 2, h = 2, sq = 9;
                            Tensor x = rand(r, dt, 5, b, h, sq, n);
                            Tensor y = poisoned(dt, b, h, sq, n);
                            Masks m = Masks.NONE;
                            if (mode == 1) {
                                m = Masks.builder().causal().kvLengths(n, Math.max(0, n / 2)).qLengths(9, 5).build();
                            } else if (mode == 2) {
                                boolean[] mb = new boolean[sq * n];
                                for (int i = 0; i < mb.length; i++) {
                                    mb[i] = r.nextDouble() < 0.5;
                                }
                                m = Masks.builder().boolMask(Tensor.ofBool(mb, sq, n)).bias(rand(r, DType.F32, 1, sq, n))
                                        .alibi(rand(r, DType.F32, 0.2, h)).window(3, -1).build();
                            }
                            SoftmaxParams p = SoftmaxParams.builder(x, y).masks(m).scale(0.7f).build();
                            be.softmax(p);
                            compare("Y", Reference.softmax(p), y, tol(dt));
                            Tensor dy = rand(r, dt, 1, b, h, sq, n);
                            Tensor dx = poisoned(dt, b, h, sq, n);
                            SoftmaxBackwardParams bp = SoftmaxBackwardParams.builder(y, dy, dx).scale(0.7f).build();
                            be.softmaxBackward(bp);
                            compare("dX", Reference.softmaxBackward(bp), dx, tol(dt) * 10);
                        }));
                    }
                }
            }
        }
        return OpenClTesting.orSkip(cl, l::stream);
    }

    /**
     * Rows whose scores reach the ends of exp's range, element by element against the float64
     * reference, in both last-pass forms (the f16/bf16 kept row and the recompute past SM_EBUF): weights
     * that underflow (2^-126 and below may be 0: exp2_ftz flushes them), masked -inf scores (exactly 0),
     * a NaN or a +inf score (the row is NaN as in the reference), an all -inf row (zeros), logits of 3e10
     * (whose max term the exp2 argument's fma once put at 2^2048: NaN rows), at scales 1 and 3e6, and at -0.5
     * (the largest score is the smallest x: the max pass's other branch) and 0 (uniform rows; NaN where an x is
     * infinite, as 0 * inf in the reference).
     */
    @TestFactory
    Stream<DynamicTest> softmaxExtremeScores() {
        List<DynamicTest> l = new ArrayList<>();
        for (Map.Entry<String, Backend> e : softmaxBackends().entrySet()) {
            String tag = e.getKey();
            Backend be = e.getValue();
            for (DType dt : new DType[] {DType.F32, DType.F16, DType.BF16}) {
                for (int n : new int[] {70, 33000}) {
                    for (float scale : new float[] {1f, 3e6f, -0.5f, 0f}) {
                        l.add(DynamicTest.dynamicTest("softmax extremes " + dt + " n" + n + " scale " + scale + tag, () -> {
                            int rows = 8;
                            float[] xs = new float[rows * n];
                            for (int j = 0; j < n; j++) {
                                int jj = j % 70;
                                xs[j] = -3f * jj;                                  // underflows past j = 29
                                xs[n + j] = jj == 5 ? Float.NaN : 0.25f * jj;
                                xs[2 * n + j] = jj == 9 ? Float.POSITIVE_INFINITY : -0.5f * jj;
                                xs[3 * n + j] = Float.NEGATIVE_INFINITY;
                                xs[4 * n + j] = -87f - 0.02f * jj;                  // around 2^-126 after the max
                                // huge logits: 3e10 (f32) or 1e4 (f16, bf16; 3e10 with the scale 3e6)
                                xs[5 * n + j] = dt == DType.F32 ? 3e10f - 4096f * jj : 1e4f - 64f * jj;
                                xs[6 * n + j] = jj % 3 == 0 ? Float.NEGATIVE_INFINITY : 0.1f * jj;
                                // large logits one ulp apart: their differences are exact, scores rounded in log2
                                // units (x * (sc log2 e)) were off by 3% here
                                xs[7 * n + j] = dt == DType.F32 ? 1e6f - 0.0625f * (jj % 5) : 1e3f - 0.5f * (jj % 5);
                            }
                            xs[4 * n] = 0f;
                            Tensor x = LayerChecks.convert(Tensor.of(xs, 1, 1, rows, n), dt);
                            Tensor y = poisoned(dt, 1, 1, rows, n);
                            SoftmaxParams p = SoftmaxParams.builder(x, y).scale(scale).build();
                            be.softmax(p);
                            double[] ref = Reference.softmax(p);
                            float[] g = y.toFloatArray();
                            double rel = dt == DType.F32 ? 1e-5 : dt == DType.F16 ? 2e-3 : 1.6e-2;
                            double abs = dt == DType.F32 ? 1e-30 : dt == DType.F16 ? 1e-7 : 1e-30;
                            for (int i = 0; i < ref.length; i++) {
                                String at = dt + " row " + i / n + " col " + i % n + ": expected " + ref[i] + ", got " + g[i];
                                if (Double.isNaN(ref[i])) {
                                    assertTrue(Float.isNaN(g[i]), at);
                                } else {
                                    assertTrue(Math.abs(g[i] - ref[i]) <= rel * Math.abs(ref[i]) + abs, at);
                                    if (ref[i] == 0) {
                                        assertEquals(0f, g[i], at);
                                    }
                                }
                            }
                        }));
                    }
                }
            }
        }
        return OpenClTesting.orSkip(cl, l::stream);
    }

    @TestFactory
    Stream<DynamicTest> additive() {
        List<DynamicTest> l = new ArrayList<>();
        for (DType dt : new DType[] {DType.F32, DType.BF16}) {
            for (boolean raw : new boolean[] {false, true}) {
                for (int[] s : new int[][] {{1, 1}, {113, 70}}) {
                    l.add(DynamicTest.dynamicTest("additive " + dt + (raw ? " raw" : " projected") + " Sq" + s[0] + " Sk"
                            + s[1], () -> {
                        SplittableRandom r = new SplittableRandom(11);
                        int b = 2, h = 2, a = 24, dv = 20, din = 12;
                        Tensor q = rand(r, dt, 1, b, h, s[0], raw ? din : a);
                        Tensor k = rand(r, dt, 1, b, h, s[1], raw ? din : a);
                        Tensor v = rand(r, dt, 1, b, h, s[1], dv);
                        Tensor w = rand(r, dt, 1, a);
                        Tensor bb = rand(r, dt, 0.5, a);
                        Tensor out = poisoned(dt, b, h, s[0], dv);
                        Tensor wts = poisoned(dt, b, h, s[0], s[1]);
                        AdditiveParams.Builder pb = AdditiveParams.builder(q, k, v, w, out).tanhBias(bb).weights(wts)
                                .masks(Masks.builder().causal().kvLengths(s[1], s[1] / 2).build());
                        if (raw) {
                            pb.projections(rand(r, dt, 0.5, a, din), rand(r, dt, 0.5, a, din));
                        }
                        AdditiveParams p = pb.build();
                        cl.additive(p);
                        Reference.AdditiveResult ref = Reference.additive(p);
                        compare("C", ref.out(), out, tol(dt) * 10);
                        compare("weights", ref.weights(), wts, tol(dt) * 10);
                    }));
                }
            }
        }
        return OpenClTesting.orSkip(cl, l::stream);
    }
}
