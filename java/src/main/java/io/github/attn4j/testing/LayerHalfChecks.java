package io.github.attn4j.testing;

import io.github.attn4j.AdditiveParams;
import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.GemmParams;
import io.github.attn4j.Masks;
import io.github.attn4j.RopeParams;
import io.github.attn4j.Scope;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.Reference;
import io.github.attn4j.layers.AdditiveAttention;
import io.github.attn4j.layers.MultiHeadAttention;
import io.github.attn4j.npy.Npy;
import io.github.attn4j.weights.AttentionWeights;
import io.github.attn4j.weights.WeightSource;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * The layers in F16 or BF16 storage under the FlashAttention rule ({@link Tolerances},
 * {@link Comparator}): the layer's error against the float64 truth (or PyTorch's golden output)
 * may be at most twice the error of a naive layer in the same storage dtype. The naive layer runs
 * the layer's own op sequence on the host, each op by {@link LowPrecisionNaive} (every stored
 * tensor rounded to the dtype, the scores and probabilities too): the projections and bias
 * updates, RoPE, SDPA, the output projection; for Bahdanau attention the two projections and the
 * additive op. The truth is computed from the same rounded inputs and weights. A failed check
 * throws {@link AssertionError}.
 */
public final class LayerHalfChecks {
    private LayerHalfChecks() {}

    /** Every tensor of {@code w} rounded to {@code dt} (host tensors of that dtype). */
    public static AttentionWeights rounded(AttentionWeights w, DType dt) {
        return new AttentionWeights(w.heads(), w.kvHeads(), w.headDim(), LayerChecks.convert(w.wq(), dt),
                LayerChecks.convert(w.wk(), dt), LayerChecks.convert(w.wv(), dt), LayerChecks.convert(w.wo(), dt),
                w.hasBias() ? LayerChecks.convert(w.bq(), dt) : null, w.hasBias() ? LayerChecks.convert(w.bk(), dt) : null,
                w.hasBias() ? LayerChecks.convert(w.bv(), dt) : null, w.hasBias() ? LayerChecks.convert(w.bo(), dt) : null);
    }

    private static Tensor zeros(DType dt, int... shape) {
        return LayerChecks.convert(Tensor.of(new float[(int) Tensor.numel(shape)], shape), dt);
    }

    private static Tensor rows(Tensor t) {
        return t.view(t.offset(), new int[] {t.dim(0) * t.dim(1), t.dim(2)}, new long[] {t.stride(1), t.stride(2)});
    }

    private static Tensor bshd(Tensor rows2, int b, int h, int s, int d) {
        long rs = rows2.stride(0);
        return rows2.view(rows2.offset(), new int[] {b, h, s, d}, new long[] {s * rs, d, rs, 1});
    }

    private static void gemm(GemmParams p) {
        Reference.store(LowPrecisionNaive.gemm(p), p.c());
    }

    /** The naive {@code out = in . w^T (+ bias)}: a half GEMM, then the bias as a rank-1 update with beta = 1. */
    private static void linear(Tensor in, Tensor w, Tensor bias, Tensor out, DType dt) {
        gemm(GemmParams.builder(in, w, out).transB(true).build());
        if (bias != null) {
            int m = out.dim(0), n = out.dim(1);
            Tensor one = LayerChecks.convert(Tensor.of(new float[] {1f}, 1), dt);
            gemm(GemmParams.builder(one.view(0, new int[] {m, 1}, new long[] {0, 0}),
                    bias.view(0, new int[] {1, n}, new long[] {n, 1}), out).beta(1f).build());
        }
    }

    /**
     * The naive multi-head attention block in {@code dt} (weights and inputs already in {@code dt}):
     * self-attention when {@code mem} is null, causal (bottom-right), key padding, RoPE when
     * {@code theta > 0}. Returns Y {@code [B, S, E]} row-major.
     */
    public static double[] naiveMha(AttentionWeights w, Tensor x, Tensor mem, boolean causal, int[] kvLen, float theta,
            DType dt) {
        Tensor m = mem == null ? x : mem;
        int bn = x.dim(0), s = x.dim(1), sk = m.dim(1), hq = w.heads(), hkv = w.kvHeads(), d = w.headDim();
        Tensor q = zeros(dt, bn * s, hq * d), k = zeros(dt, bn * sk, hkv * d), v = zeros(dt, bn * sk, hkv * d);
        linear(rows(x), w.wq(), w.bq(), q, dt);
        linear(rows(m), w.wk(), w.bk(), k, dt);
        linear(rows(m), w.wv(), w.bv(), v, dt);
        Tensor q4 = bshd(q, bn, hq, s, d), k4 = bshd(k, bn, hkv, sk, d), v4 = bshd(v, bn, hkv, sk, d);
        if (theta > 0 && mem == null) {
            Reference.store(LowPrecisionNaive.rope(RopeParams.builder(q4, q4).theta(theta).build()), q4);
            Reference.store(LowPrecisionNaive.rope(RopeParams.builder(k4, k4).theta(theta).build()), k4);
        }
        Masks.Builder mb = Masks.builder();
        if (causal) {
            mb.causal();
        }
        if (kvLen != null) {
            mb.kvLengths(kvLen);
        }
        Tensor o = zeros(dt, bn * s, hq * d);
        Tensor o4 = bshd(o, bn, hq, s, d);
        Reference.store(LowPrecisionNaive.sdpa(SdpaParams.builder(q4, k4, v4, o4).masks(mb.build())
                .scale((float) (1.0 / Math.sqrt(d))).build()), o4);
        Tensor y = zeros(dt, bn * s, w.embed());
        linear(o, w.wo(), w.bo(), y, dt);
        return doubles(y);
    }

    private static double[] doubles(Tensor t) {
        float[] f = t.toFloatArray();
        double[] r = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            r[i] = f[i];
        }
        return r;
    }

    private static void rule(String what, int[] shape, double[] expected, float[] got, double[] naive, DType dt) {
        Comparator.Result r = Comparator.compare(what, shape, expected, got, naive, dt, 0, null);
        if (!r.pass()) {
            throw new AssertionError(r.message());
        }
    }

    /**
     * Multi-head attention in {@code dt} on {@code backend}: self-attention (GQA, biases, causal,
     * RoPE, key padding, E != Hq·D) and cross-attention against the float64 truth, and PyTorch's
     * golden outputs in {@code goldenDir} (nn.MultiheadAttention plain, causal, key padding; the
     * Llama block), each under the 2x-naive rule. Returns the number of comparisons.
     */
    public static int mha(Backend backend, DType dt, Path goldenDir) {
        int n = 0;
        SplittableRandom r = new SplittableRandom(11);
        try (Scope scope = backend.newScope()) {
            AttentionWeights w = rounded(LayerChecks.weights(5, 24, 4, 2, 8, 24, true), dt);
            Tensor x = LayerChecks.convert(LayerChecks.random(r, 1f, 2, 7, 24), dt);
            int[] lens = {5, 7};
            MultiHeadAttention mha = MultiHeadAttention.builder(w).dtype(dt).causal(true).rope(10000f).build(scope);
            float[] got = LayerChecks.readBack(scope, mha.forward(MultiHeadAttention.Call.builder(x).kvLengths(lens).build())
                    .y());
            rule("self-attention " + dt + " on " + backend.name(), x.shape(), LayerChecks.forward(w, x, null, true, lens,
                    10000, null), got, naiveMha(w, x, null, true, lens, 10000f, dt), dt);
            n++;

            AttentionWeights wc = rounded(LayerChecks.weights(6, 16, 2, 2, 8, 12, false), dt);
            Tensor q = LayerChecks.convert(LayerChecks.random(r, 1f, 2, 3, 16), dt);
            Tensor mem = LayerChecks.convert(LayerChecks.random(r, 1f, 2, 9, 12), dt);
            int[] cl = {9, 4};
            MultiHeadAttention cross = MultiHeadAttention.builder(wc).dtype(dt).build(scope);
            got = LayerChecks.readBack(scope, cross.forward(MultiHeadAttention.Call.builder(q).memory(mem).kvLengths(cl)
                    .build()).y());
            rule("cross-attention " + dt + " on " + backend.name(), q.shape(), LayerChecks.forward(wc, q, mem, false, cl, 0,
                    null), got, naiveMha(wc, q, mem, false, cl, 0f, dt), dt);
            n++;

            AttentionWeights gw = rounded(AttentionWeights.load(WeightSource.open(goldenDir.resolve("mha.safetensors")),
                    "enc.self_attn.", 4, 0), dt);
            Tensor gx = LayerChecks.convert(Npy.read(goldenDir.resolve("mha_x.npy")), dt);
            MultiHeadAttention gm = MultiHeadAttention.builder(gw).dtype(dt).build(scope);
            for (String name : new String[] {"mha_y_plain", "mha_y_causal", "mha_y_padding"}) {
                boolean causal = name.endsWith("causal");
                int[] pl = name.endsWith("padding") ? new int[] {5, 3} : null;
                MultiHeadAttention.Call.Builder c = MultiHeadAttention.Call.builder(gx).causal(causal);
                if (pl != null) {
                    c.kvLengths(pl);
                }
                got = LayerChecks.readBack(scope, gm.forward(c.build()).y());
                rule(name + " " + dt + " on " + backend.name() + " (PyTorch golden)", gx.shape(),
                        doubles(Npy.read(goldenDir.resolve(name + ".npy"))), got, naiveMha(gw, gx, null, causal, pl, 0f, dt), dt);
                n++;
            }
            AttentionWeights lw = rounded(AttentionWeights.load(WeightSource.open(goldenDir.resolve("llama.safetensors")),
                    "model.layers.0.self_attn.", 4, 2), dt);
            Tensor lx = LayerChecks.convert(Npy.read(goldenDir.resolve("llama_x.npy")), dt);
            MultiHeadAttention block = MultiHeadAttention.builder(lw).dtype(dt).causal(true).rope(10000f).build(scope);
            got = LayerChecks.readBack(scope, block.forward(lx).y());
            rule("llama_y " + dt + " on " + backend.name() + " (PyTorch golden)", lx.shape(),
                    doubles(Npy.read(goldenDir.resolve("llama_y.npy"))), got, naiveMha(lw, lx, null, true, null, 10000f, dt), dt);
            n++;
        }
        return n;
    }

    /**
     * Bahdanau attention in {@code dt} on {@code backend}: the context and the alignment weights of a
     * whole decoder sequence (tanh bias, key padding) against the float64 truth under the 2x-naive
     * rule. Returns the number of comparisons.
     */
    public static int additive(Backend backend, DType dt) {
        SplittableRandom r = new SplittableRandom(41);
        int bn = 2, sk = 9, sq = 5, dk = 12, dq = 10, a = 16;
        int[] lens = {9, 6};
        Tensor wq = LayerChecks.convert(LayerChecks.random(r, (float) (1.5 / Math.sqrt(dq)), a, dq), dt);
        Tensor wk = LayerChecks.convert(LayerChecks.random(r, (float) (1.5 / Math.sqrt(dk)), a, dk), dt);
        Tensor w = LayerChecks.convert(LayerChecks.random(r, 1f, a), dt), b = LayerChecks.convert(LayerChecks.random(r, 0.3f, a),
                dt);
        Tensor h = LayerChecks.convert(LayerChecks.random(r, 1f, bn, sk, dk), dt);
        Tensor s = LayerChecks.convert(LayerChecks.random(r, 1f, bn, sq, dq), dt);
        Masks masks = Masks.builder().kvLengths(lens).build();
        // the truth: the reference additive op on the raw (rounded) inputs, in float64 throughout
        Tensor hf = f32(h);
        AdditiveParams exact = AdditiveParams.builder(four(f32(s)), four(hf), four(hf), f32(w), zeros(DType.F32, bn, 1, sq, dk))
                .projections(f32(wq), f32(wk)).tanhBias(f32(b)).masks(masks).weights(zeros(DType.F32, bn, 1, sq, sk)).build();
        Reference.AdditiveResult want = Reference.additive(exact);
        // the naive layer: half projections, then the naive additive op
        Tensor kp = zeros(dt, bn, sk, a), qp = zeros(dt, bn, sq, a);
        gemm(GemmParams.builder(h, wk, kp).transB(true).build());
        gemm(GemmParams.builder(s, wq, qp).transB(true).build());
        Reference.AdditiveResult naive = LowPrecisionNaive.additive(AdditiveParams.builder(four(qp), four(kp), four(h), w,
                zeros(dt, bn, 1, sq, dk)).tanhBias(b).masks(masks).weights(zeros(dt, bn, 1, sq, sk)).build());
        try (Scope scope = backend.newScope()) {
            AdditiveAttention att = AdditiveAttention.create(scope, dt, wq, wk, w, b);
            AdditiveAttention.Result res = att.forward(att.encode(h, lens), s);
            rule("bahdanau context " + dt + " on " + backend.name(), new int[] {bn, sq, dk}, want.out(),
                    LayerChecks.readBack(scope, res.context()), naive.out(), dt);
            rule("bahdanau alignment " + dt + " on " + backend.name(), new int[] {bn, sq, sk}, want.weights(),
                    LayerChecks.readBack(scope, res.weights()), naive.weights(), dt);
        }
        return 2;
    }

    /** The (rounded) values of a host tensor in F32, exactly. */
    private static Tensor f32(Tensor t) {
        return LayerChecks.convert(t, DType.F32);
    }

    private static Tensor four(Tensor t) {
        return t.view(t.offset(), new int[] {t.dim(0), 1, t.dim(1), t.dim(2)}, new long[] {t.stride(0), 0, t.stride(1),
            t.stride(2)});
    }
}
