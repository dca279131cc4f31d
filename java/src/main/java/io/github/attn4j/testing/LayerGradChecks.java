package io.github.attn4j.testing;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Scope;
import io.github.attn4j.Tensor;
import io.github.attn4j.layers.MultiHeadAttention;
import io.github.attn4j.weights.AttentionWeights;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The layers' backward checked against central finite differences of an independent float64
 * forward (no attn4j op inside), and backends against each other. The loss is
 * {@code L = sum(dY * Y)} for a fixed random dY (dContext for Bahdanau attention), so dL/dY = dY
 * is what the layer's backward takes.
 * A failed check throws {@link AssertionError}.
 */
public final class LayerGradChecks {
    private LayerGradChecks() {}

    /** The multi-head attention gradient cases: {@link #mhaCase} takes an index below this. */
    public static final int MHA_CASES = 3;

    /**
     * One multi-head attention case: the weights, the inputs, the options and dY.
     *
     * @param name    what the case covers
     * @param w       the weights
     * @param x       {@code [B, S, E]}
     * @param memory  {@code [B, Sk, Ek]} for cross-attention, else null
     * @param causal  causal masking
     * @param kvLen   key padding lengths, or null
     * @param theta   RoPE base, 0 for none
     * @param dy      {@code [B, S, E]}
     */
    public record MhaCase(String name, AttentionWeights w, Tensor x, Tensor memory, boolean causal, int[] kvLen, float theta,
            Tensor dy) {}

    /**
     * Case {@code i}: 0 self-attention with GQA (Hq 4, Hkv 2), biases, causal, RoPE, key padding and
     * E != Hq·D; 1 cross-attention (MQA, a memory of another width and length, key padding, no
     * biases); 2 plain multi-head self-attention with biases (Hq = Hkv, no mask, no RoPE).
     */
    public static MhaCase mhaCase(int i) {
        SplittableRandom r = new SplittableRandom(300 + i);
        return switch (i) {
            case 0 -> new MhaCase("self, GQA 4/2, biases, causal, RoPE, key padding", LayerChecks.weights(71, 8, 4, 2, 4, 8, true),
                    LayerChecks.random(r, 1f, 2, 6, 8), null, true, new int[] {4, 6}, 100f, LayerChecks.random(r, 1f, 2, 6, 8));
            case 1 -> new MhaCase("cross, MQA 2/1, key padding", LayerChecks.weights(72, 8, 2, 1, 4, 6, false),
                    LayerChecks.random(r, 1f, 2, 3, 8), LayerChecks.random(r, 1f, 2, 7, 6), false, new int[] {7, 4}, 0f,
                    LayerChecks.random(r, 1f, 2, 3, 8));
            case 2 -> new MhaCase("self, 2 heads, biases, no mask", LayerChecks.weights(73, 6, 2, 2, 4, 6, true),
                    LayerChecks.random(r, 1f, 1, 5, 6), null, false, null, 0f, LayerChecks.random(r, 1f, 1, 5, 6));
            default -> throw new IllegalArgumentException("case: expected 0.." + (MHA_CASES - 1) + ", got " + i);
        };
    }

    /** The case's named parameters as double arrays (x, memory, the weights and biases present). */
    private static Map<String, double[]> params(MhaCase c) {
        Map<String, double[]> p = new LinkedHashMap<>();
        AttentionWeights w = c.w;
        p.put("x", d(c.x));
        if (c.memory != null) {
            p.put("memory", d(c.memory));
        }
        p.put("wq", d(w.wq()));
        p.put("wk", d(w.wk()));
        p.put("wv", d(w.wv()));
        p.put("wo", d(w.wo()));
        if (w.hasBias()) {
            p.put("bq", d(w.bq()));
            p.put("bk", d(w.bk()));
            p.put("bv", d(w.bv()));
            p.put("bo", d(w.bo()));
        }
        return p;
    }

    private static double[] d(Tensor t) {
        float[] f = t.toFloatArray();
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = f[i];
        }
        return out;
    }

    /** {@code in [N, F] . w^T (+ b)}: {@code [N, O]} with O = w.length / F. */
    private static double[] linear(double[] in, int n, int f, double[] w, double[] b) {
        int o = w.length / f;
        double[] y = new double[n * o];
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < o; c++) {
                double acc = b == null ? 0 : b[c];
                for (int k = 0; k < f; k++) {
                    acc += in[r * f + k] * w[c * f + k];
                }
                y[r * o + c] = acc;
            }
        }
        return y;
    }

    /** Rotate-half RoPE in place on rows {@code [B*S, H*D]} at positions 0..S-1. */
    private static void rope(double[] y, int bn, int s, int h, int d, double theta) {
        for (int r = 0; r < bn * s; r++) {
            int pos = r % s;
            for (int hh = 0; hh < h; hh++) {
                int base = r * h * d + hh * d;
                for (int i = 0; i < d / 2; i++) {
                    double a = pos * Math.pow(theta, -2.0 * i / d);
                    double x0 = y[base + i], x1 = y[base + i + d / 2];
                    y[base + i] = x0 * Math.cos(a) - x1 * Math.sin(a);
                    y[base + i + d / 2] = x1 * Math.cos(a) + x0 * Math.sin(a);
                }
            }
        }
    }

    /** {@code L = sum(dY * Y)} of the block in float64 over the parameters {@code p}. */
    private static double loss(MhaCase c, Map<String, double[]> p) {
        AttentionWeights w = c.w;
        int bn = c.x.dim(0), s = c.x.dim(1), e = c.x.dim(2), hq = w.heads(), hkv = w.kvHeads(), d = w.headDim();
        int g = hq / hkv, qd = hq * d, kd = hkv * d;
        double[] m = c.memory == null ? p.get("x") : p.get("memory");
        int sk = c.memory == null ? s : c.memory.dim(1), ek = c.memory == null ? e : c.memory.dim(2);
        double[] q = linear(p.get("x"), bn * s, e, p.get("wq"), p.get("bq"));
        double[] k = linear(m, bn * sk, ek, p.get("wk"), p.get("bk"));
        double[] v = linear(m, bn * sk, ek, p.get("wv"), p.get("bv"));
        if (c.theta > 0 && c.memory == null) {
            rope(q, bn, s, hq, d, c.theta);
            rope(k, bn, sk, hkv, d, c.theta);
        }
        double[] o = new double[bn * s * qd];
        double scale = 1 / Math.sqrt(d);
        for (int b = 0; b < bn; b++) {
            for (int h = 0; h < hq; h++) {
                int hk = h / g;
                for (int i = 0; i < s; i++) {
                    double[] sc = new double[sk];
                    double mx = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < sk; j++) {
                        boolean ok = (!c.causal || j <= i + (sk - s)) && (c.kvLen == null || j < c.kvLen[b]);
                        sc[j] = Double.NEGATIVE_INFINITY;
                        if (ok) {
                            double dot = 0;
                            for (int x = 0; x < d; x++) {
                                dot += q[(b * s + i) * qd + h * d + x] * k[(b * sk + j) * kd + hk * d + x];
                            }
                            sc[j] = dot * scale;
                            mx = Math.max(mx, sc[j]);
                        }
                    }
                    double sum = 0;
                    for (int j = 0; j < sk; j++) {
                        sc[j] = sc[j] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(sc[j] - mx);
                        sum += sc[j];
                    }
                    for (int j = 0; j < sk; j++) {
                        for (int x = 0; x < d; x++) {
                            o[(b * s + i) * qd + h * d + x] += sc[j] / sum * v[(b * sk + j) * kd + hk * d + x];
                        }
                    }
                }
            }
        }
        double[] y = linear(o, bn * s, qd, p.get("wo"), p.get("bo"));
        double[] dy = d(c.dy);
        double l = 0;
        for (int i = 0; i < y.length; i++) {
            l += dy[i] * y[i];
        }
        return l;
    }

    /** Central finite differences of {@link #loss} in float64 (step 1e-5) for every parameter. */
    public static Map<String, double[]> finiteDifferences(MhaCase c) {
        Map<String, double[]> p = params(c);
        Map<String, double[]> grads = new LinkedHashMap<>();
        double h = 1e-5;
        for (Map.Entry<String, double[]> en : p.entrySet()) {
            double[] a = en.getValue();
            double[] gr = new double[a.length];
            for (int i = 0; i < a.length; i++) {
                double v = a[i];
                a[i] = v + h;
                double lp = loss(c, p);
                a[i] = v - h;
                double lm = loss(c, p);
                a[i] = v;
                gr[i] = (lp - lm) / (2 * h);
            }
            grads.put(en.getKey(), gr);
        }
        return grads;
    }

    /** The layer's backward on {@code backend} in {@code dt}: the gradients by name, read back as floats. */
    public static Map<String, float[]> layerGradients(Backend backend, DType dt, MhaCase c) {
        try (Scope scope = backend.newScope()) {
            MultiHeadAttention mha = MultiHeadAttention.builder(c.w).dtype(dt).causal(c.causal).rope(c.theta).build(scope);
            MultiHeadAttention.Call.Builder call = MultiHeadAttention.Call.builder(LayerChecks.convert(c.x, dt)).train(true);
            if (c.memory != null) {
                call.memory(LayerChecks.convert(c.memory, dt));
            }
            if (c.kvLen != null) {
                call.kvLengths(c.kvLen);
            }
            mha.forward(call.build());
            MultiHeadAttention.Gradients g = mha.backward(LayerChecks.convert(c.dy, dt));
            Map<String, float[]> out = new LinkedHashMap<>();
            out.put("x", LayerChecks.readBack(scope, g.dx()));
            if (g.memory() != null) {
                out.put("memory", LayerChecks.readBack(scope, g.memory()));
            }
            out.put("wq", LayerChecks.readBack(scope, g.wq()));
            out.put("wk", LayerChecks.readBack(scope, g.wk()));
            out.put("wv", LayerChecks.readBack(scope, g.wv()));
            out.put("wo", LayerChecks.readBack(scope, g.wo()));
            if (g.bq() != null) {
                out.put("bq", LayerChecks.readBack(scope, g.bq()));
                out.put("bk", LayerChecks.readBack(scope, g.bk()));
                out.put("bv", LayerChecks.readBack(scope, g.bv()));
                out.put("bo", LayerChecks.readBack(scope, g.bo()));
            }
            return out;
        }
    }

    /**
     * Every gradient of {@code got} against {@code want} (the same names, no more, no fewer): the
     * largest absolute error relative to the largest magnitude of each gradient must be below
     * {@code tol}. A gradient that is zero in exact arithmetic (the key bias's: softmax ignores a
     * score shift shared by a row) is compared relative to the largest magnitude of all gradients
     * instead. Returns the number of gradients compared.
     */
    public static int compare(String what, Map<String, double[]> want, Map<String, float[]> got, double tol) {
        check(want.keySet().equals(got.keySet()), what + ": gradients " + got.keySet() + ", expected " + want.keySet());
        double all = 0;
        for (double[] w : want.values()) {
            all = Math.max(all, maxAbs(w));
        }
        check(all > 1e-3, what + ": gradients that are (nearly) zero test nothing (max " + all + ")");
        for (String name : want.keySet()) {
            double[] w = want.get(name);
            float[] g = got.get(name);
            check(w.length == g.length, what + " d" + name + ": " + g.length + " values, expected " + w.length);
            double mag = maxAbs(w), ref = mag < 1e-6 * all ? all : mag, err = 0;
            for (int i = 0; i < w.length; i++) {
                check(!Float.isNaN(g[i]), what + " d" + name + "[" + i + "] is NaN");
                err = Math.max(err, Math.abs(w[i] - g[i]));
            }
            check(err / ref < tol, what + " d" + name + ": error " + err / ref + " relative to " + ref + " (bound " + tol
                    + ")");
        }
        return want.size();
    }

    private static double maxAbs(double[] a) {
        double m = 0;
        for (double v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /**
     * One Bahdanau attention case: encoder states {@code h [B, Sk, Dk]}, decoder states
     * {@code s [B, Sq, Dq]}, weights {@code wq [A, Dq]}, {@code wk [A, Dk]}, {@code w [A]}, optional
     * {@code b [A]}, key padding lengths (or null) and the gradient of the context {@code dc [B, Sq, Dk]}.
     *
     * @param name    what the case covers
     * @param h       encoder states
     * @param s       decoder states
     * @param wq      query projection
     * @param wk      key projection
     * @param w       score vector
     * @param b       tanh bias, or null
     * @param lengths key padding lengths, or null
     * @param dc      dL/dContext
     */
    public record AdditiveCase(String name, Tensor h, Tensor s, Tensor wq, Tensor wk, Tensor w, Tensor b, int[] lengths,
            Tensor dc) {}

    /** The Bahdanau gradient cases: {@link #additiveCase} takes an index below this. */
    public static final int ADDITIVE_CASES = 2;

    /** Case {@code i}: 0 with a tanh bias and key padding; 1 without either (Sq = 1, a step). */
    public static AdditiveCase additiveCase(int i) {
        SplittableRandom r = new SplittableRandom(400 + i);
        int bn = 2, sk = i == 0 ? 6 : 5, sq = i == 0 ? 3 : 1, dk = 5, dq = 4, a = 6;
        Tensor wq = LayerChecks.random(r, 0.8f, a, dq), wk = LayerChecks.random(r, 0.8f, a, dk);
        Tensor w = LayerChecks.random(r, 1f, a), b = i == 0 ? LayerChecks.random(r, 0.3f, a) : null;
        return new AdditiveCase(i == 0 ? "tanh bias, key padding" : "no bias, no padding, one step",
                LayerChecks.random(r, 1f, bn, sk, dk), LayerChecks.random(r, 1f, bn, sq, dq), wq, wk, w, b,
                i == 0 ? new int[] {6, 4} : null, LayerChecks.random(r, 1f, bn, sq, dk));
    }

    private static Map<String, double[]> params(AdditiveCase c) {
        Map<String, double[]> p = new LinkedHashMap<>();
        p.put("encoder", d(c.h));
        p.put("decoder", d(c.s));
        p.put("wq", d(c.wq));
        p.put("wk", d(c.wk));
        p.put("w", d(c.w));
        if (c.b != null) {
            p.put("b", d(c.b));
        }
        return p;
    }

    /** {@code L = sum(dC * C)} of Bahdanau attention in float64. */
    private static double loss(AdditiveCase c, Map<String, double[]> p) {
        int bn = c.h.dim(0), sk = c.h.dim(1), dk = c.h.dim(2), sq = c.s.dim(1), dq = c.s.dim(2), a = c.w.dim(0);
        double[] h = p.get("encoder"), s = p.get("decoder"), w = p.get("w"), bias = p.get("b");
        double[] qp = linear(s, bn * sq, dq, p.get("wq"), null), kp = linear(h, bn * sk, dk, p.get("wk"), null);
        double[] dc = d(c.dc);
        double l = 0;
        for (int b = 0; b < bn; b++) {
            int len = c.lengths == null ? sk : c.lengths[b];
            for (int i = 0; i < sq; i++) {
                double[] e = new double[len];
                double mx = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < len; j++) {
                    double acc = 0;
                    for (int x = 0; x < a; x++) {
                        acc += w[x] * Math.tanh(qp[(b * sq + i) * a + x] + kp[(b * sk + j) * a + x] + (bias == null ? 0 : bias[x]));
                    }
                    e[j] = acc;
                    mx = Math.max(mx, acc);
                }
                double sum = 0;
                for (int j = 0; j < len; j++) {
                    e[j] = Math.exp(e[j] - mx);
                    sum += e[j];
                }
                for (int j = 0; j < len; j++) {
                    for (int y = 0; y < dk; y++) {
                        l += dc[(b * sq + i) * dk + y] * e[j] / sum * h[(b * sk + j) * dk + y];
                    }
                }
            }
        }
        return l;
    }

    /** Central finite differences of the Bahdanau loss in float64 (step 1e-5) for every parameter. */
    public static Map<String, double[]> finiteDifferences(AdditiveCase c) {
        Map<String, double[]> p = params(c);
        Map<String, double[]> grads = new LinkedHashMap<>();
        double h = 1e-5;
        for (Map.Entry<String, double[]> en : p.entrySet()) {
            double[] a = en.getValue();
            double[] gr = new double[a.length];
            for (int i = 0; i < a.length; i++) {
                double v = a[i];
                a[i] = v + h;
                double lp = loss(c, p);
                a[i] = v - h;
                double lm = loss(c, p);
                a[i] = v;
                gr[i] = (lp - lm) / (2 * h);
            }
            grads.put(en.getKey(), gr);
        }
        return grads;
    }

    /**
     * {@link io.github.attn4j.layers.AdditiveAttention#backward} on {@code backend} in {@code dt} (a
     * step's {@code [B, Dq]} form when Sq = 1): the gradients by name, read back as floats.
     */
    public static Map<String, float[]> layerGradients(Backend backend, DType dt, AdditiveCase c) {
        try (Scope scope = backend.newScope()) {
            io.github.attn4j.layers.AdditiveAttention att = io.github.attn4j.layers.AdditiveAttention.create(scope, dt, c.wq, c.wk,
                    c.w, c.b);
            io.github.attn4j.layers.AdditiveAttention.Encoded enc = att.encode(LayerChecks.convert(c.h, dt),
                    c.lengths == null ? new int[0] : c.lengths);
            Tensor s = LayerChecks.convert(c.s, dt), dc = LayerChecks.convert(c.dc, dt);
            if (c.s.dim(1) == 1) {
                s = s.view(0, new int[] {s.dim(0), s.dim(2)}, new long[] {s.dim(2), 1});
                dc = dc.view(0, new int[] {dc.dim(0), dc.dim(2)}, new long[] {dc.dim(2), 1});
            }
            io.github.attn4j.layers.AdditiveAttention.Gradients g = att.backward(enc, s, dc);
            Map<String, float[]> out = new LinkedHashMap<>();
            out.put("encoder", LayerChecks.readBack(scope, g.encoder()));
            out.put("decoder", LayerChecks.readBack(scope, g.decoder()));
            out.put("wq", LayerChecks.readBack(scope, g.wq()));
            out.put("wk", LayerChecks.readBack(scope, g.wk()));
            out.put("w", LayerChecks.readBack(scope, g.w()));
            if (g.b() != null) {
                out.put("b", LayerChecks.readBack(scope, g.b()));
            }
            return out;
        }
    }

    /** Floats as doubles, by name (to compare one backend with another). */
    public static Map<String, double[]> asDouble(Map<String, float[]> m) {
        Map<String, double[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, float[]> e : m.entrySet()) {
            double[] d = new double[e.getValue().length];
            for (int i = 0; i < d.length; i++) {
                d[i] = e.getValue()[i];
            }
            out.put(e.getKey(), d);
        }
        return out;
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }
}
