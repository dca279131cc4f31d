package io.github.attn4j.testing;

import io.github.attn4j.AdditiveBackwardParams;
import io.github.attn4j.AdditiveParams;
import io.github.attn4j.GemmParams;
import io.github.attn4j.RopeParams;
import io.github.attn4j.DType;
import io.github.attn4j.MergeParams;
import io.github.attn4j.Half;
import io.github.attn4j.Masks;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxBackwardParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.cpu.Reference;
import java.util.stream.IntStream;

/**
 * A naive implementation in a reduced storage precision, the yardstick of the FlashAttention rule
 * ({@link Tolerances}): the unfused steps a framework would run, each step's result rounded to the
 * storage dtype where the framework would store a tensor, with fp32-or-better arithmetic inside a
 * step (as PyTorch's half matmul and softmax accumulate in fp32).
 *
 * <ul>
 *   <li>SDPA: {@code S = r(r(Q K^T) * scale)}; softcap {@code S = r(c * r(tanh(r(S / c))))};
 *       {@code S = r(S + bias + alibi)}; {@code P = r(softmax(S))}; {@code O = r(P V)}.
 *   <li>Softmax: {@code Y = r(softmax(r(r(scale X) + bias + alibi)))}.
 *   <li>Softmax backward: {@code T = r(dY Y)}, {@code s = r(rowsum T)}, {@code dX = r(scale r(Y r(dY - s)))}.
 *   <li>GEMM: {@code C = r(r(alpha r(A B)) + r(beta C))} (a half matmul, then a scaled add).
 *   <li>RoPE: {@code out = r(r(x cos) + r(rot(x) sin))} with cos and sin rounded to the dtype (HF's
 *       cached half cos/sin tables).
 *   <li>Additive: {@code Qp = r(Q Wq^T)} (raw inputs), {@code t = r(tanh(r(r(Qp + Kp) + b)))},
 *       {@code e = r(r(t w) + bias + alibi)}, {@code P = r(softmax(e))}, {@code C = r(P V)}.
 *   <li>Additive backward: P and t as in the forward, {@code dP = r(dC V^T)}, {@code Delta = r(rowsum r(P dP))},
 *       {@code dE = r(P r(dP - Delta))}, {@code G = r(dE w r(1 - t^2))}, {@code dQp = r(sum_j G)},
 *       {@code dKp = r(sum_i G)}, {@code dV = r(P^T dC)}, {@code dw = r(sum r(dE t))}, {@code db = r(sum dQp)};
 *       raw inputs: {@code dq = r(dQp Wq)}, {@code dWq = r(dQp^T q)}.
 *   <li>SDPA backward: P as in the forward, {@code dP = r(dO V^T)}, {@code Delta = r(rowsum r(dP P))},
 *       {@code dS = r(P r(dP - Delta))}, softcap {@code dS = r(dS r(1 - t^2))},
 *       {@code dQ = r(scale r(dS K))}, {@code dK = r(scale r(dS^T Q))}, {@code dV = r(P^T dO)} (query
 *       heads of a kv head summed in fp32), dBias = dS summed in fp32.
 * </ul>
 * {@code r} rounds to the storage dtype. Masks are applied exactly as in the reference.
 */
public final class LowPrecisionNaive {
    private LowPrecisionNaive() {}

    private static double r(double v, DType t) {
        return Half.round((float) v, t);
    }

    /** The naive O, {@code [B, Hq, Sq, Dv]} row-major. */
    public static double[] sdpa(SdpaParams p) {
        DType t = p.dtype();
        int hq = p.headsQ(), sq = p.seqQ(), sk = p.seqK(), d = p.headDim(), dv = p.headDimV();
        double[] o = new double[Math.toIntExact((long) p.batch() * hq * sq * dv)];
        IntStream.range(0, p.batch() * hq * sq).parallel().forEach(row -> {
            int i = row % sq, h = (row / sq) % hq, b = row / sq / hq, hk = h / p.group();
            int ak = p.alignSeqK(b);
            double[] s = new double[sk];
            boolean[] live = new boolean[sk];
            for (int j = 0; j < sk; j++) {
                if (!Reference.allowed(p.masks(), b, h, i, j, sq, ak)) {
                    continue;
                }
                double dot = 0;
                for (int x = 0; x < d; x++) {
                    dot += (double) p.q().get(b, h, i, x) * p.key(b, hk, j, x);
                }
                double v = r(r(dot, t) * p.scale(), t);
                if (p.hasSoftcap()) {
                    v = r(p.softcap() * r(Math.tanh(r(v / p.softcap(), t)), t), t);
                }
                s[j] = r(v + Reference.scoreBias(p.masks(), b, h, i, j, sq, ak), t);
                live[j] = true;
            }
            boolean dead = p.masks().qLengths() != null && i >= p.masks().qLengths()[b];
            double sink = p.sinks() == null || dead ? Double.NEGATIVE_INFINITY : p.sinks().get(h);
            double[] pr = softmaxRow(s, live, t, sink);
            if (pr == null) {
                return;
            }
            for (int x = 0; x < dv; x++) {
                double acc = 0;
                for (int j = 0; j < sk; j++) {
                    if (live[j]) {
                        acc += pr[j] * p.value(b, hk, j, x);
                    }
                }
                o[row * dv + x] = r(acc, t);
            }
        });
        return o;
    }

    /** Rounded softmax over the live entries; null for a fully masked row (zeros). */
    private static double[] softmaxRow(double[] s, boolean[] live, DType t) {
        return softmaxRow(s, live, t, Double.NEGATIVE_INFINITY);
    }

    /** The same with a sink logit in the denominator (-inf = none). */
    private static double[] softmaxRow(double[] s, boolean[] live, DType t, double sink) {
        double max = Double.NEGATIVE_INFINITY;
        boolean nan = false;
        for (int j = 0; j < s.length; j++) {
            if (live[j]) {
                nan |= Double.isNaN(s[j]);
                max = Math.max(max, s[j]);
            }
        }
        if (!nan && max == Double.NEGATIVE_INFINITY) {
            return null;
        }
        max = Math.max(max, sink);
        double sum = sink == Double.NEGATIVE_INFINITY || nan ? 0 : Math.exp(sink - max);
        double[] e = new double[s.length];
        for (int j = 0; j < s.length; j++) {
            if (live[j]) {
                e[j] = nan ? Double.NaN : Math.exp(s[j] - max);
                sum += e[j];
            }
        }
        for (int j = 0; j < s.length; j++) {
            e[j] = live[j] ? r(e[j] / sum, t) : 0;
        }
        return e;
    }

    /** The naive Y, {@code [B, H, Sq, Sk]} row-major. */
    public static double[] softmax(SoftmaxParams p) {
        DType t = p.dtype();
        int h = p.heads(), sq = p.seqQ(), sk = p.seqK();
        Masks m = p.masks();
        double[] y = new double[Math.toIntExact(p.rows() * sk)];
        IntStream.range(0, Math.toIntExact(p.rows())).parallel().forEach(row -> {
            int i = row % sq, hh = (row / sq) % h, b = row / sq / h;
            double[] s = new double[sk];
            boolean[] live = new boolean[sk];
            for (int j = 0; j < sk; j++) {
                if (Reference.allowed(m, b, hh, i, j, sq, sk)) {
                    s[j] = r(r(p.scale() * (double) p.x().get(b, hh, i, j), t)
                            + Reference.scoreBias(m, b, hh, i, j, sq, sk), t);
                    live[j] = true;
                }
            }
            double[] pr = softmaxRow(s, live, t);
            if (pr != null) {
                System.arraycopy(pr, 0, y, row * sk, sk);
            }
        });
        return y;
    }

    /** The naive dX, {@code [B, H, Sq, Sk]} row-major. */
    public static double[] softmaxBackward(SoftmaxBackwardParams p) {
        DType t = p.dtype();
        int h = p.heads(), sq = p.seqQ(), sk = p.seqK();
        double[] dx = new double[Math.toIntExact(p.rows() * sk)];
        IntStream.range(0, Math.toIntExact(p.rows())).parallel().forEach(row -> {
            int i = row % sq, hh = (row / sq) % h, b = row / sq / h;
            double s = 0;
            for (int j = 0; j < sk; j++) {
                s += r((double) p.dy().get(b, hh, i, j) * p.y().get(b, hh, i, j), t);
            }
            s = r(s, t);
            for (int j = 0; j < sk; j++) {
                double u = r(p.dy().get(b, hh, i, j) - s, t);
                dx[row * sk + j] = r(p.scale() * r(p.y().get(b, hh, i, j) * u, t), t);
            }
        });
        return dx;
    }

    /** The naive additive outputs: {@code out [B, H, Sq, Dv]} and {@code weights [B, H, Sq, Sk]}. */
    public static Reference.AdditiveResult additive(AdditiveParams p) {
        DType t = p.dtype();
        int bn = p.batch(), hn = p.heads(), sq = p.seqQ(), sk = p.seqK(), an = p.dimA(), dv = p.headDimV();
        double[] qp = p.raw() ? round(Reference.project(p.q(), p.wq()), t) : Reference.copy4(p.q());
        double[] kp = p.raw() ? round(Reference.project(p.k(), p.wk()), t) : Reference.copy4(p.k());
        Masks m = p.masks();
        double[] out = new double[Math.toIntExact((long) bn * hn * sq * dv)];
        double[] wts = new double[Math.toIntExact((long) bn * hn * sq * sk)];
        IntStream.range(0, bn * hn * sq).parallel().forEach(row -> {
            int i = row % sq, h = (row / sq) % hn, b = row / sq / hn;
            double[] e = new double[sk];
            boolean[] live = new boolean[sk];
            for (int j = 0; j < sk; j++) {
                if (!Reference.allowed(m, b, h, i, j, sq, sk)) {
                    continue;
                }
                int kBase = ((b * hn + h) * sk + j) * an;
                double acc = 0;
                for (int a = 0; a < an; a++) {
                    double x = r(qp[row * an + a] + kp[kBase + a], t);
                    if (p.b() != null) {
                        x = r(x + p.b().get(a), t);
                    }
                    acc += r(Math.tanh(x), t) * p.w().get(a);
                }
                e[j] = r(r(acc, t) + Reference.scoreBias(m, b, h, i, j, sq, sk), t);
                live[j] = true;
            }
            double[] pr = softmaxRow(e, live, t);
            if (pr == null) {
                return;
            }
            System.arraycopy(pr, 0, wts, row * sk, sk);
            for (int x = 0; x < dv; x++) {
                double acc = 0;
                for (int j = 0; j < sk; j++) {
                    if (live[j]) {
                        acc += pr[j] * p.v().get(b, h, j, x);
                    }
                }
                out[row * dv + x] = r(acc, t);
            }
        });
        return new Reference.AdditiveResult(out, wts);
    }

    /**
     * The naive merge, as a framework would write it on the stored tensors: the fp32 weights
     * {@code exp(LSE_i - LSE)}, each product {@code r(w_i O_i)} rounded and the sum rounded after
     * every addition. Empty parts (-inf) are skipped, as in the reference.
     */
    public static double[] merge(MergeParams p) {
        DType t = p.dtype();
        Reference.MergeResult ref = Reference.merge(p);
        int sn = p.seq(), hn = p.heads(), dv = p.headDimV();
        double[] o = new double[ref.o().length];
        IntStream.range(0, Math.toIntExact(p.rows())).parallel().forEach(r -> {
            int s = r % sn, h = (r / sn) % hn, b = r / sn / hn;
            double lse = (float) ref.lse()[r];
            if (Double.isNaN(lse) || lse == Double.NEGATIVE_INFINITY) {
                System.arraycopy(ref.o(), r * dv, o, r * dv, dv);
                return;
            }
            for (int x = 0; x < dv; x++) {
                double acc = 0;
                for (int i = 0; i < p.parts(); i++) {
                    double l = p.lse().get(i).get(b, h, s);
                    if (l != Double.NEGATIVE_INFINITY) {
                        double w = (float) Math.exp((float) (l - lse));
                        acc = r(acc + r(w * p.o().get(i).get(b, h, s, x), t), t);
                    }
                }
                o[r * dv + x] = acc;
            }
        });
        return o;
    }

    /** The naive additive backward, in the record order of {@link Reference.AdditiveBackwardResult}. */
    public static Reference.AdditiveBackwardResult additiveBackward(AdditiveBackwardParams p) {
        DType t = p.dtype();
        int bn = p.batch(), hn = p.heads(), sq = p.seqQ(), sk = p.seqK(), an = p.dimA(), dvn = p.headDimV();
        double[] qp = p.raw() ? round(Reference.project(p.q(), p.wq()), t) : Reference.copy4(p.q());
        double[] kp = p.raw() ? round(Reference.project(p.k(), p.wk()), t) : Reference.copy4(p.k());
        Masks m = p.masks();
        double[] dqp = new double[qp.length];
        double[] dkp = new double[kp.length];
        double[] dv = new double[Math.toIntExact((long) bn * hn * sk * dvn)];
        double[][] dwPart = new double[bn * hn][an];
        IntStream.range(0, bn * hn).parallel().forEach(z -> {
            int b = z / hn, h = z % hn;
            for (int i = 0; i < sq; i++) {
                int qBase = (z * sq + i) * an;
                double[] e = new double[sk];
                boolean[] live = new boolean[sk];
                double[][] th = new double[sk][];
                for (int j = 0; j < sk; j++) {
                    if (!Reference.allowed(m, b, h, i, j, sq, sk)) {
                        continue;
                    }
                    int kBase = (z * sk + j) * an;
                    th[j] = new double[an];
                    double acc = 0;
                    for (int a = 0; a < an; a++) {
                        double x = r(qp[qBase + a] + kp[kBase + a], t);
                        if (p.b() != null) {
                            x = r(x + p.b().get(a), t);
                        }
                        th[j][a] = r(Math.tanh(x), t);
                        acc += th[j][a] * p.w().get(a);
                    }
                    e[j] = r(r(acc, t) + Reference.scoreBias(m, b, h, i, j, sq, sk), t);
                    live[j] = true;
                }
                double[] pr = softmaxRow(e, live, t);
                if (pr == null) {
                    continue;
                }
                double[] dp = new double[sk];
                double delta = 0;
                for (int j = 0; j < sk; j++) {
                    if (live[j]) {
                        double s = 0;
                        for (int x = 0; x < dvn; x++) {
                            s += (double) p.dOut().get(b, h, i, x) * p.v().get(b, h, j, x);
                        }
                        dp[j] = r(s, t);
                        delta += r(pr[j] * dp[j], t);
                    }
                }
                delta = r(delta, t);
                for (int j = 0; j < sk; j++) {
                    if (!live[j]) {
                        continue;
                    }
                    for (int x = 0; x < dvn; x++) {
                        dv[(z * sk + j) * dvn + x] += pr[j] * p.dOut().get(b, h, i, x);
                    }
                    double de = r(pr[j] * r(dp[j] - delta, t), t);
                    int kBase = (z * sk + j) * an;
                    for (int a = 0; a < an; a++) {
                        double tt = th[j][a];
                        dwPart[z][a] += r(de * tt, t);
                        double g = r(de * p.w().get(a) * r(1 - tt * tt, t), t);
                        dqp[qBase + a] += g;
                        dkp[kBase + a] += g;
                    }
                }
            }
        });
        double[] dw = new double[an];
        double[] db = new double[an];
        double[] rq = round(dqp, t);
        double[] rk = round(dkp, t);
        for (int z = 0; z < bn * hn; z++) {
            for (int a = 0; a < an; a++) {
                dw[a] += dwPart[z][a];
            }
        }
        for (int r = 0; r < bn * hn * sq; r++) {
            for (int a = 0; a < an; a++) {
                db[a] += rq[r * an + a];
            }
        }
        if (!p.raw()) {
            return new Reference.AdditiveBackwardResult(rq, rk, round(dv, t), round(dw, t), round(db, t), new double[0],
                    new double[0]);
        }
        return new Reference.AdditiveBackwardResult(
                round(Reference.projectBack(rq, p.wq(), bn * hn * sq), t),
                round(Reference.projectBack(rk, p.wk(), bn * hn * sk), t), round(dv, t), round(dw, t), round(db, t),
                round(Reference.weightGrad(rq, p.q()), t), round(Reference.weightGrad(rk, p.k()), t));
    }

    private static double[] round(double[] a, DType t) {
        double[] o = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            o[i] = r(a[i], t);
        }
        return o;
    }

    /** The naive SDPA gradients (layouts as {@link Reference#sdpaBackward}). */
    public static Reference.SdpaGrads sdpaBackward(SdpaBackwardParams p) {
        DType t = p.dtype();
        int bn = p.batch(), hq = p.headsQ(), hkv = p.headsKv(), g = p.group(), sq = p.seqQ(), sk = p.seqK();
        int d = p.headDim(), dvn = p.headDimV();
        double[] dq = new double[Math.toIntExact((long) bn * hq * sq * d)];
        double[] dk = new double[Math.toIntExact((long) bn * hkv * sk * d)];
        double[] dv = new double[Math.toIntExact((long) bn * hkv * sk * dvn)];
        double[] dbias = p.dbias() == null ? null : new double[Math.toIntExact(p.dbias().numel())];
        int nb = p.dbias() == null ? 1 : p.dbias().dim(0), nh = p.dbias() == null ? 1 : p.dbias().dim(1);
        Masks m = p.masks();
        IntStream.range(0, bn * hkv).parallel().forEach(bk -> {
            int b = bk / hkv, hk = bk % hkv;
            double[] dkAcc = new double[sk * d];
            double[] dvAcc = new double[sk * dvn];
            for (int h = hk * g; h < (hk + 1) * g; h++) {
                double[][] ds = new double[sq][];
                double[][] pr = new double[sq][];
                double[][] tanhs = new double[sq][sk];
                boolean[][] lives = new boolean[sq][sk];
                for (int i = 0; i < sq; i++) {
                    double[] s = new double[sk];
                    boolean[] live = lives[i];
                    for (int j = 0; j < sk; j++) {
                        if (!Reference.allowed(m, b, h, i, j, sq, sk)) {
                            continue;
                        }
                        double dot = 0;
                        for (int x = 0; x < d; x++) {
                            dot += (double) p.q().get(b, h, i, x) * p.k().get(b, hk, j, x);
                        }
                        double v = r(r(dot, t) * p.scale(), t);
                        if (p.hasSoftcap()) {
                            tanhs[i][j] = r(Math.tanh(r(v / p.softcap(), t)), t);
                            v = r(p.softcap() * tanhs[i][j], t);
                        }
                        s[j] = r(v + Reference.scoreBias(m, b, h, i, j, sq, sk), t);
                        live[j] = true;
                    }
                    pr[i] = softmaxRow(s, live, t);
                    if (pr[i] == null) {
                        continue;
                    }
                    double[] dp = new double[sk];
                    double delta = 0;
                    for (int j = 0; j < sk; j++) {
                        if (live[j]) {
                            double acc = 0;
                            for (int x = 0; x < dvn; x++) {
                                acc += (double) p.dout().get(b, h, i, x) * p.v().get(b, hk, j, x);
                            }
                            dp[j] = r(acc, t);
                            delta += r(dp[j] * pr[i][j], t);
                        }
                    }
                    delta = r(delta, t);
                    ds[i] = new double[sk];
                    for (int j = 0; j < sk; j++) {
                        if (live[j]) {
                            double x = r(pr[i][j] * r(dp[j] - delta, t), t);
                            if (dbias != null) {
                                int to = ((nb == 1 ? 0 : b) * nh + (nh == 1 ? 0 : h)) * sq * sk + i * sk + j;
                                synchronized (dbias) {
                                    dbias[to] += x;
                                }
                            }
                            if (p.hasSoftcap()) {
                                x = r(x * r(1 - r(tanhs[i][j] * tanhs[i][j], t), t), t);
                            }
                            ds[i][j] = x;
                        }
                    }
                    int qRow = (b * hq + h) * sq + i;
                    for (int x = 0; x < d; x++) {
                        double acc = 0;
                        for (int j = 0; j < sk; j++) {
                            if (live[j]) {
                                acc += ds[i][j] * p.k().get(b, hk, j, x);
                            }
                        }
                        dq[qRow * d + x] = r(p.scale() * r(acc, t), t);
                    }
                }
                for (int j = 0; j < sk; j++) {
                    for (int x = 0; x < d; x++) {
                        double acc = 0;
                        for (int i = 0; i < sq; i++) {
                            if (ds[i] != null && lives[i][j]) {
                                acc += ds[i][j] * p.q().get(b, h, i, x);
                            }
                        }
                        dkAcc[j * d + x] += r(p.scale() * r(acc, t), t);
                    }
                    for (int x = 0; x < dvn; x++) {
                        double acc = 0;
                        for (int i = 0; i < sq; i++) {
                            if (pr[i] != null && lives[i][j]) {
                                acc += pr[i][j] * p.dout().get(b, h, i, x);
                            }
                        }
                        dvAcc[j * dvn + x] += r(acc, t);
                    }
                }
            }
            int base = (b * hkv + hk) * sk;
            for (int e = 0; e < sk * d; e++) {
                dk[base * d + e] = r(dkAcc[e], t);
            }
            for (int e = 0; e < sk * dvn; e++) {
                dv[base * dvn + e] = r(dvAcc[e], t);
            }
        });
        return new Reference.SdpaGrads(dq, dk, dv, dbias);
    }

    /** The naive GEMM output {@code [batch, M, N]} row-major. */
    public static double[] gemm(GemmParams p) {
        DType t = p.dtype();
        GemmParams plain = new GemmParams(p.a(), p.b(), p.c(), p.transA(), p.transB(), 1f, 0f);
        double[] ab = Reference.gemm(plain);
        double[] old = p.beta() != 0f ? Reference.gemm(new GemmParams(p.a(), p.b(), p.c(), p.transA(), p.transB(), 0f,
                p.beta())) : null;
        for (int i = 0; i < ab.length; i++) {
            double v = r(p.alpha() * r(ab[i], t), t);
            ab[i] = old == null ? v : r(v + r(old[i], t), t);
        }
        return ab;
    }

    /** The naive RoPE output {@code [B, H, S, D]} row-major (HF: half cos/sin tables, two half products). */
    public static double[] rope(RopeParams p) {
        DType t = p.dtype();
        int bn = p.batch(), hn = p.heads(), sn = p.seq(), d = p.headDim(), half = d / 2;
        double[] out = new double[Math.toIntExact((long) bn * hn * sn * d)];
        for (int b = 0; b < bn; b++) {
            for (int h = 0; h < hn; h++) {
                for (int s = 0; s < sn; s++) {
                    int base = ((b * hn + h) * sn + s) * d;
                    for (int i = 0; i < half; i++) {
                        float f = (float) (1.0 / Math.pow(p.theta(), 2.0 * i / d));
                        float a = (float) (p.offset() + s) * f;
                        double c = r(Math.cos(a), t), sn2 = r(p.inverse() ? -Math.sin(a) : Math.sin(a), t);
                        double x0 = p.x().get(b, h, s, i), x1 = p.x().get(b, h, s, i + half);
                        out[base + i] = r(r(x0 * c, t) - r(x1 * sn2, t), t);
                        out[base + i + half] = r(r(x1 * c, t) + r(x0 * sn2, t), t);
                    }
                }
            }
        }
        return out;
    }
}
