package io.github.attn4j.testing;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Half;
import io.github.attn4j.HostMemory;
import io.github.attn4j.Scope;
import io.github.attn4j.Tensor;
import io.github.attn4j.layers.AdditiveAttention;
import io.github.attn4j.layers.MultiHeadAttention;
import io.github.attn4j.npy.Npy;
import io.github.attn4j.weights.AttentionWeights;
import io.github.attn4j.weights.WeightSource;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * The layer checks, runnable on any backend (the reference in the java module's tests, the device
 * backends in native-tests): seeded weights and inputs, an independent float64 multi-head
 * attention, and the scenarios. A failed check throws {@link AssertionError}.
 */
public final class LayerChecks {
    private LayerChecks() {}

    /** Uniform nonzero values in [-amp, amp]. */
    public static Tensor random(SplittableRandom r, float amp, int... shape) {
        float[] a = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < a.length; i++) {
            double u = 0.01 + 0.99 * r.nextDouble();
            a[i] = (float) ((r.nextBoolean() ? u : -u) * amp);
        }
        return Tensor.of(a, shape);
    }

    /** Random weights of a block: E, Hq, Hkv, D, key/value input width Ek, with or without biases. */
    public static AttentionWeights weights(long seed, int e, int hq, int hkv, int d, int ek, boolean bias) {
        SplittableRandom r = new SplittableRandom(seed);
        float a = (float) (1.5 / Math.sqrt(e)), ak = (float) (1.5 / Math.sqrt(ek)), ao = (float) (1 / Math.sqrt(hq * d));
        return new AttentionWeights(hq, hkv, d, random(r, a, hq * d, e), random(r, ak, hkv * d, ek), random(r, ak, hkv * d, ek),
                random(r, ao, e, hq * d), bias ? random(r, 0.2f, hq * d) : null, bias ? random(r, 0.2f, hkv * d) : null,
                bias ? random(r, 0.2f, hkv * d) : null, bias ? random(r, 0.2f, e) : null);
    }

    /** {@code x [B, S, F] . w^T + b} in double: {@code [B, S, N]}. */
    private static double[][][] linear(Tensor x, Tensor w, Tensor b) {
        int bn = x.dim(0), s = x.dim(1), f = x.dim(2), n = w.dim(0);
        double[][][] y = new double[bn][s][n];
        for (int i = 0; i < bn; i++) {
            for (int t = 0; t < s; t++) {
                for (int o = 0; o < n; o++) {
                    double acc = b == null ? 0 : b.get(o);
                    for (int k = 0; k < f; k++) {
                        acc += (double) x.get(i, t, k) * w.get(o, k);
                    }
                    y[i][t][o] = acc;
                }
            }
        }
        return y;
    }

    private static void rope(double[][][] y, int heads, int d, int offset, double theta) {
        for (double[][] rows : y) {
            for (int t = 0; t < rows.length; t++) {
                for (int h = 0; h < heads; h++) {
                    for (int i = 0; i < d / 2; i++) {
                        double a = (offset + t) * Math.pow(theta, -2.0 * i / d);
                        double x0 = rows[t][h * d + i], x1 = rows[t][h * d + i + d / 2];
                        rows[t][h * d + i] = x0 * Math.cos(a) - x1 * Math.sin(a);
                        rows[t][h * d + i + d / 2] = x1 * Math.cos(a) + x0 * Math.sin(a);
                    }
                }
            }
        }
    }

    /**
     * The whole block in double: self-attention when {@code mem} is null, causal (bottom-right),
     * keys {@code j >= kvLen[b]} masked, RoPE when {@code theta > 0}. Returns {@code [B, S, E]} flat,
     * and fills {@code weightsOut [B, Hq, S, Sk]} flat when it is not null.
     */
    public static double[] forward(AttentionWeights w, Tensor x, Tensor mem, boolean causal, int[] kvLen, double theta,
            double[] weightsOut) {
        Tensor m = mem == null ? x : mem;
        int hq = w.heads(), hkv = w.kvHeads(), d = w.headDim(), e = w.embed(), g = hq / hkv;
        double[][][] q = linear(x, w.wq(), w.bq());
        double[][][] k = linear(m, w.wk(), w.bk());
        double[][][] v = linear(m, w.wv(), w.bv());
        if (theta > 0 && mem == null) {
            rope(q, hq, d, 0, theta);
            rope(k, hkv, d, 0, theta);
        }
        int bn = x.dim(0), s = x.dim(1), sk = m.dim(1);
        double[][][] o = new double[bn][s][hq * d];
        double scale = 1 / Math.sqrt(d);
        for (int b = 0; b < bn; b++) {
            for (int h = 0; h < hq; h++) {
                int hk = h / g;
                for (int i = 0; i < s; i++) {
                    double[] sc = new double[sk];
                    double mx = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < sk; j++) {
                        boolean ok = (!causal || j <= i + (sk - s)) && (kvLen == null || j < kvLen[b]);
                        if (!ok) {
                            sc[j] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        double dot = 0;
                        for (int x2 = 0; x2 < d; x2++) {
                            dot += q[b][i][h * d + x2] * k[b][j][hk * d + x2];
                        }
                        sc[j] = dot * scale;
                        mx = Math.max(mx, sc[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < sk; j++) {
                        sc[j] = sc[j] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(sc[j] - mx);
                        sum += sc[j];
                    }
                    for (int j = 0; j < sk; j++) {
                        double p = sum == 0 ? 0 : sc[j] / sum;
                        if (weightsOut != null) {
                            weightsOut[((b * hq + h) * s + i) * sk + j] = p;
                        }
                        for (int x2 = 0; x2 < d; x2++) {
                            o[b][i][h * d + x2] += p * v[b][j][hk * d + x2];
                        }
                    }
                }
            }
        }
        double[] y = new double[bn * s * e];
        for (int b = 0; b < bn; b++) {
            for (int i = 0; i < s; i++) {
                for (int c = 0; c < e; c++) {
                    double acc = w.bo() == null ? 0 : w.bo().get(c);
                    for (int x2 = 0; x2 < hq * d; x2++) {
                        acc += o[b][i][x2] * w.wo().get(c, x2);
                    }
                    y[(b * s + i) * e + c] = acc;
                }
            }
        }
        return y;
    }

    /** The largest absolute difference, relative to the largest magnitude of {@code want}. */
    public static double relErr(double[] want, float[] got) {
        double err = 0, mag = 1e-30;
        for (int i = 0; i < want.length; i++) {
            err = Math.max(err, Math.abs(want[i] - got[i]));
            mag = Math.max(mag, Math.abs(want[i]));
            if (Double.isNaN(got[i])) {
                return Double.NaN;
            }
        }
        return err / mag;
    }

    /** A contiguous host copy of a host tensor in {@code dt}. */
    public static Tensor convert(Tensor host, DType dt) {
        int n = Math.toIntExact(host.numel());
        float[] f = host.toFloatArray();
        if (dt == DType.F32) {
            return Tensor.of(f, host.shape());
        }
        short[] s = new short[n];
        for (int i = 0; i < n; i++) {
            s[i] = dt == DType.F16 ? Half.floatToF16(f[i]) : Half.floatToBf16(f[i]);
        }
        return Tensor.of(HostMemory.of(s), dt, host.shape(), Tensor.contiguousStrides(host.shape()), 0);
    }

    /** A tensor (host or device) read back as floats. */
    public static float[] readBack(Scope scope, Tensor t) {
        Tensor h = convert(Tensor.of(new float[(int) t.numel()], t.shape()), t.dtype());
        scope.copy(t, h);
        return h.toFloatArray();
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    /**
     * Self-attention with biases, GQA (Hq = 4, Hkv = 2), E = 24 != Hq·D = 32, RoPE, causal and key
     * padding, with the attention weights; then cross-attention with a memory of another width.
     * Errors are relative to the largest output; {@code tol} is the bound.
     */
    public static void againstDouble(Backend backend, DType dt, double tol) {
        SplittableRandom r = new SplittableRandom(11);
        try (Scope scope = backend.newScope()) {
            AttentionWeights w = weights(5, 24, 4, 2, 8, 24, true);
            MultiHeadAttention mha = MultiHeadAttention.builder(w).dtype(dt).causal(true).rope(10000f).build(scope);
            Tensor x = convert(random(r, 1f, 2, 7, 24), dt);
            int[] lens = {5, 7};
            double[] wantW = new double[2 * 4 * 7 * 7];
            double[] want = forward(w, x, null, true, lens, 10000, wantW);
            MultiHeadAttention.Result res = mha.forward(MultiHeadAttention.Call.builder(x).kvLengths(lens).weights(true)
                    .build());
            double e = relErr(want, readBack(scope, res.y()));
            check(e < tol, "self-attention on " + backend.name() + " " + dt + ": error " + e + " (bound " + tol + ")");
            double ew = relErr(wantW, readBack(scope, res.weights()));
            check(ew < tol, "attention weights on " + backend.name() + " " + dt + ": error " + ew + " (bound " + tol + ")");

            AttentionWeights wc = weights(6, 16, 2, 2, 8, 12, false);
            MultiHeadAttention cross = MultiHeadAttention.builder(wc).dtype(dt).build(scope);
            Tensor q = convert(random(r, 1f, 2, 3, 16), dt);
            Tensor mem = convert(random(r, 1f, 2, 9, 12), dt);
            double[] wantC = forward(wc, q, mem, false, new int[] {9, 4}, 0, null);
            MultiHeadAttention.Result rc = cross.forward(MultiHeadAttention.Call.builder(q).memory(mem).kvLengths(9, 4).build());
            double ec = relErr(wantC, readBack(scope, rc.y()));
            check(ec < tol, "cross-attention on " + backend.name() + " " + dt + ": error " + ec + " (bound " + tol + ")");
        }
    }

    /**
     * Prefill 4 tokens into a KV cache, then decode 7 more one at a time (RoPE, MQA, biases); each
     * step's rows must equal the full causal forward's rows for those tokens within {@code tol}
     * (relative to 1 + |value|).
     */
    public static void incrementalEqualsFull(Backend backend, DType dt, double tol) {
        try (Scope scope = backend.newScope()) {
            incremental(scope, backend.name(), dt, tol, 29, 4, 0, null);
        }
    }

    /**
     * The paged KV cache, as a property over seeded cases: for each page size (any {@code >= 1}), a
     * random prefill length and then one token at a time, the paged decode equals the full causal
     * forward (within {@code tol}, relative to 1 + |value|) and the dense-cache decode (within
     * {@code tol} too; the two SDPA paths may sum in another order). Returns the number of
     * decoded runs compared.
     */
    public static int pagedEqualsFullAndDense(Backend backend, DType dt, double tol, int... pageSizes) {
        int n = 0;
        try (Scope scope = backend.newScope()) {
            for (int ps : pageSizes) {
                SplittableRandom r = new SplittableRandom(1000 + ps);
                int prefill = 1 + r.nextInt(6);
                long seed = r.nextLong();
                float[] dense = incremental(scope, backend.name(), dt, tol, seed, prefill, 0, null);
                incremental(scope, backend.name(), dt, tol, seed, prefill, ps, dense);
                n++;
            }
        }
        return n;
    }

    /**
     * Prefill {@code prefill} tokens into a KV cache (dense when {@code pageSize} is 0, else paged),
     * then decode the rest of the 11 tokens one at a time (RoPE, MQA, biases); each step's rows
     * must equal the full causal forward's rows (and {@code other}'s, when given) within
     * {@code tol}. Returns the decoded rows {@code [B, S, E]}.
     */
    private static float[] incremental(Scope scope, String name, DType dt, double tol, long seed, int prefill, int pageSize,
            float[] other) {
        SplittableRandom r = new SplittableRandom(seed);
        int bn = 2, s = 11, e = 32;
        AttentionWeights w = weights(9, e, 4, 1, 8, e, true);
        MultiHeadAttention mha = MultiHeadAttention.builder(w).dtype(dt).causal(true).rope(10000f).build(scope);
        Tensor x = convert(random(r, 1f, bn, s, e), dt);
        float[] full = readBack(scope, mha.forward(x).y());
        MultiHeadAttention.KvCache cache = pageSize == 0 ? mha.newCache(bn, 16) : mha.newPagedCache(bn, 13, pageSize);
        check(cache.isPaged() == (pageSize > 0) && cache.pageSize() == pageSize, "cache kind: paged " + cache.isPaged()
                + ", page size " + cache.pageSize());
        String what = name + " " + dt + (pageSize == 0 ? " dense" : " paged (page size " + pageSize + ")") + " cache";
        Tensor xd = scope.upload(x);
        float[] dec = new float[bn * s * e];
        for (int t0 = 0; t0 < s; ) {
            int n = t0 == 0 ? prefill : 1;
            Tensor step = xd.view(xd.offset() + (long) t0 * e, new int[] {bn, n, e}, xd.strides());
            float[] got = readBack(scope, mha.forward(step, cache).y());
            for (int b = 0; b < bn; b++) {
                for (int t = 0; t < n; t++) {
                    for (int c = 0; c < e; c++) {
                        int at = (b * s + t0 + t) * e + c;
                        double want = full[at];
                        double g = got[(b * n + t) * e + c];
                        dec[at] = (float) g;
                        check(Math.abs(want - g) <= tol * (1 + Math.abs(want)), what + ": token " + (t0 + t) + " batch " + b
                                + " feature " + c + ": incremental " + g + ", full " + want);
                        check(other == null || Math.abs(other[at] - g) <= tol * (1 + Math.abs(want)), what + ": token "
                                + (t0 + t) + " batch " + b + " feature " + c + ": paged " + g + ", dense cache "
                                + (other == null ? 0 : other[at]));
                    }
                }
            }
            t0 += n;
            check(cache.length() == t0, "cache length " + cache.length() + ", expected " + t0);
        }
        return dec;
    }

    /**
     * Bahdanau attention: the whole decoder sequence against float64 (context and alignment,
     * padding keys masked by lengths), and step by step equal to the whole sequence.
     */
    public static void additiveChecks(Backend backend, DType dt, double tol) {
        SplittableRandom r = new SplittableRandom(41);
        int bn = 2, sk = 9, sq = 5, dk = 12, dq = 10, a = 16;
        int[] lens = {9, 6};
        Tensor wq = random(r, (float) (1.5 / Math.sqrt(dq)), a, dq), wk = random(r, (float) (1.5 / Math.sqrt(dk)), a, dk);
        Tensor w = random(r, 1f, a), b = random(r, 0.3f, a);
        Tensor h = convert(random(r, 1f, bn, sk, dk), dt), s = convert(random(r, 1f, bn, sq, dq), dt);
        double[] wantC = new double[bn * sq * dk], wantA = new double[bn * sq * sk];
        for (int x = 0; x < bn; x++) {
            for (int i = 0; i < sq; i++) {
                double[] e = new double[sk];
                double mx = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < lens[x]; j++) {
                    double acc = 0;
                    for (int c = 0; c < a; c++) {
                        double qp = 0, kp = 0;
                        for (int y = 0; y < dq; y++) {
                            qp += (double) wq.get(c, y) * s.get(x, i, y);
                        }
                        for (int y = 0; y < dk; y++) {
                            kp += (double) wk.get(c, y) * h.get(x, j, y);
                        }
                        acc += w.get(c) * Math.tanh(qp + kp + b.get(c));
                    }
                    e[j] = acc;
                    mx = Math.max(mx, acc);
                }
                double sum = 0;
                for (int j = 0; j < lens[x]; j++) {
                    e[j] = Math.exp(e[j] - mx);
                    sum += e[j];
                }
                for (int j = 0; j < lens[x]; j++) {
                    wantA[(x * sq + i) * sk + j] = e[j] / sum;
                    for (int y = 0; y < dk; y++) {
                        wantC[(x * sq + i) * dk + y] += e[j] / sum * h.get(x, j, y);
                    }
                }
            }
        }
        try (Scope scope = backend.newScope()) {
            AdditiveAttention att = AdditiveAttention.create(scope, dt, wq, wk, w, b);
            AdditiveAttention.Encoded enc = att.encode(h, lens);
            AdditiveAttention.Result all = att.forward(enc, s);
            float[] c = readBack(scope, all.context()), al = readBack(scope, all.weights());
            double ec = relErr(wantC, c), ea = relErr(wantA, al);
            check(ec < tol && ea < tol, "additive on " + backend.name() + " " + dt + ": context error " + ec + ", alignment error "
                    + ea + " (bound " + tol + ")");
            Tensor sd = scope.upload(s);
            for (int i = 0; i < sq; i++) {
                Tensor si = sd.view(sd.offset() + (long) i * dq, new int[] {bn, dq}, new long[] {sd.stride(0), 1});
                AdditiveAttention.Result st = att.step(enc, si);
                float[] cs = readBack(scope, st.context()), as = readBack(scope, st.weights());
                for (int x = 0; x < bn; x++) {
                    for (int y = 0; y < dk; y++) {
                        double want = c[(x * sq + i) * dk + y], got = cs[x * dk + y];
                        check(Math.abs(want - got) <= 1e-6 + tol * Math.abs(want), "additive step " + i + " batch " + x
                                + ": context " + got + ", whole sequence " + want);
                    }
                    for (int j = 0; j < sk; j++) {
                        double want = al[(x * sq + i) * sk + j], got = as[x * sk + j];
                        check(Math.abs(want - got) <= 1e-6 + tol * Math.abs(want), "additive step " + i + " batch " + x
                                + ": weight " + got + ", whole sequence " + want);
                    }
                }
            }
        }
    }

    private static double[] doubles(Tensor t) {
        float[] f = t.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /**
     * The golden files of {@code bench/golden/make_golden.py} (PyTorch outputs) in {@code dir}:
     * {@code nn.MultiheadAttention} without a mask, causal (with its weights) and with key padding;
     * the Llama-style block (GQA, RoPE, E != Hq·D) in one call, and again as prefill + decode steps.
     * Errors are relative to the largest output; {@code tol} is the bound. Returns the number of
     * comparisons made.
     */
    public static int golden(Backend backend, DType dt, Path dir, double tol) {
        int n = 0;
        try (Scope scope = backend.newScope()) {
            AttentionWeights mw = AttentionWeights.load(WeightSource.open(dir.resolve("mha.safetensors")), "enc.self_attn.", 4, 0);
            Tensor x = convert(Npy.read(dir.resolve("mha_x.npy")), dt);
            MultiHeadAttention mha = MultiHeadAttention.builder(mw).dtype(dt).build(scope);
            String[] names = {"mha_y_plain", "mha_y_causal", "mha_y_padding"};
            for (String name : names) {
                MultiHeadAttention.Call.Builder c = MultiHeadAttention.Call.builder(x);
                if (name.endsWith("causal")) {
                    c.causal(true).weights(true);
                }
                if (name.endsWith("padding")) {
                    c.kvLengths(5, 3);
                }
                MultiHeadAttention.Result r = mha.forward(c.build());
                double e = relErr(doubles(Npy.read(dir.resolve(name + ".npy"))), readBack(scope, r.y()));
                check(e < tol, name + " on " + backend.name() + " " + dt + ": error " + e + " against PyTorch (bound " + tol + ")");
                n++;
                if (r.weights() != null) {
                    double ew = relErr(doubles(Npy.read(dir.resolve("mha_w_causal.npy"))), readBack(scope, r.weights()));
                    check(ew < tol, "mha_w_causal on " + backend.name() + " " + dt + ": error " + ew + " (bound " + tol + ")");
                    n++;
                }
            }
            AttentionWeights lw = AttentionWeights.load(WeightSource.open(dir.resolve("llama.safetensors")),
                    "model.layers.0.self_attn.", 4, 2);
            Tensor lx = convert(Npy.read(dir.resolve("llama_x.npy")), dt);
            double[] want = doubles(Npy.read(dir.resolve("llama_y.npy")));
            MultiHeadAttention block = MultiHeadAttention.builder(lw).dtype(dt).causal(true).rope(10000f).build(scope);
            double e = relErr(want, readBack(scope, block.forward(lx).y()));
            check(e < tol, "llama_y on " + backend.name() + " " + dt + ": error " + e + " against PyTorch (bound " + tol + ")");
            n++;
            int bn = lx.dim(0), s = lx.dim(1), emb = lx.dim(2);
            MultiHeadAttention.KvCache cache = block.newCache(bn, s);
            Tensor xd = scope.upload(lx);
            float[] inc = new float[bn * s * emb];
            for (int t0 = 0; t0 < s; ) {
                int k = t0 == 0 ? 2 : 1;
                float[] got = readBack(scope, block.forward(xd.view(xd.offset() + (long) t0 * emb, new int[] {bn, k, emb},
                        xd.strides()), cache).y());
                for (int b = 0; b < bn; b++) {
                    System.arraycopy(got, b * k * emb, inc, (b * s + t0) * emb, k * emb);
                }
                t0 += k;
            }
            double ei = relErr(want, inc);
            check(ei < tol, "llama_y decoded token by token on " + backend.name() + " " + dt + ": error " + ei + " (bound "
                    + tol + ")");
            n++;
        }
        return n;
    }
}
