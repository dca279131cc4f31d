package io.github.attn4j.cpu;

import io.github.attn4j.AdditiveBackwardParams;
import io.github.attn4j.GemmParams;
import io.github.attn4j.RopeParams;
import io.github.attn4j.AdditiveParams;
import io.github.attn4j.KvAppendParams;
import io.github.attn4j.Masks;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.MergeParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxBackwardParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import java.util.stream.IntStream;

/**
 * The float64 reference: plain loops, double accumulation, written to be obviously right. It is
 * the oracle every backend is compared with. All tensors must be host tensors. Results are
 * returned as row-major double arrays in the logical shapes of the outputs.
 *
 * <p>Masked keys are skipped entirely (their K and V are never read); a NaN in anything a row
 * reads makes that row NaN.
 */
public final class Reference {
    private Reference() {}

    /** SDPA outputs: {@code o} is {@code [B, Hq, Sq, Dv]}, {@code lse} is {@code [B, Hq, Sq]}. */
    public record SdpaResult(double[] o, double[] lse) {}

    /** Additive outputs: {@code out} is {@code [B, H, Sq, Dv]}, {@code weights} {@code [B, H, Sq, Sk]}. */
    public record AdditiveResult(double[] out, double[] weights) {}

    /** True when key j of row i passes every mask of batch b, head h ({@code m} as validated by the op record). */
    public static boolean allowed(Masks m, int b, int h, int i, int j, int sq, int sk) {
        if (!m.allowsBounds(b, i, j, sq, sk)) {
            return false;
        }
        return m.boolMask() == null || m.boolMask().get(b, h, i, j) != 0f;
    }

    /** The additive score terms of a validated mask set: bias plus ALiBi. */
    public static double scoreBias(Masks m, int b, int h, int i, int j, int sq, int sk) {
        double s = 0;
        if (m.bias() != null) {
            s += m.bias().get(b, h, i, j);
        }
        if (m.alibiSlopes() != null) {
            double slope = m.alibiSlopes().get(b, h);
            s -= slope * Math.abs((long) i + m.alignment().offset(sq, sk) - j);
        }
        return s;
    }

    /**
     * One SDPA row: writes {@code Dv} values into {@code out} from {@code outPos} and returns the LSE.
     * A dead or fully masked row gives zeros and {@code -inf} (with a sink: a fully masked live row's LSE is the sink).
     */
    public static double sdpaRow(SdpaParams p, int b, int h, int i, double[] out, int outPos) {
        int sk = p.seqK(), sq = p.seqQ(), d = p.headDim(), dv = p.headDimV();
        int hk = h / p.group();
        int ak = p.alignSeqK(b); // the key count of the alignment offset: Sk, or the sequence's length when paged
        Masks m = p.masks();
        double[] s = new double[sk];
        boolean[] live = new boolean[sk];
        for (int j = 0; j < sk; j++) {
            if (!allowed(m, b, h, i, j, sq, ak)) {
                continue;
            }
            double dot = 0;
            for (int x = 0; x < d; x++) {
                dot += (double) p.q().get(b, h, i, x) * p.key(b, hk, j, x);
            }
            double v = p.scale() * dot;
            if (p.hasSoftcap()) {
                v = p.softcap() * Math.tanh(v / p.softcap());
            }
            s[j] = v + scoreBias(m, b, h, i, j, sq, ak);
            live[j] = true;
        }
        boolean dead = m.qLengths() != null && i >= m.qLengths()[b];
        double sink = p.sinks() == null || dead ? Double.NEGATIVE_INFINITY : p.sinks().get(h);
        double lse = softmaxInPlace(s, live, sink);
        java.util.Arrays.fill(out, outPos, outPos + dv, 0.0);
        for (int j = 0; j < sk; j++) {
            if (live[j] && lse != Double.NEGATIVE_INFINITY) {
                for (int x = 0; x < dv; x++) {
                    out[outPos + x] += s[j] * p.value(b, hk, j, x);
                }
            }
        }
        return lse;
    }

    static double softmaxInPlace(double[] z, boolean[] live) {
        return softmaxInPlace(z, live, Double.NEGATIVE_INFINITY);
    }

    /**
     * The softmax over the live entries of a row, in place: live entries become probabilities,
     * dead ones 0. Returns the log-sum-exp of the live entries: -inf when none is live or all are
     * -inf (the row is then all 0), NaN when any live entry is NaN (the live entries are then NaN).
     * A finite {@code sink} joins the denominator (and the LSE) without an entry of its own; -inf = none.
     */
    static double softmaxInPlace(double[] z, boolean[] live, double sink) {
        double max = sink;
        boolean nan = false;
        for (int j = 0; j < z.length; j++) {
            if (live[j]) {
                nan |= Double.isNaN(z[j]);
                max = Math.max(max, z[j]);
            }
        }
        if (max == Double.NEGATIVE_INFINITY && !nan) {
            java.util.Arrays.fill(z, 0.0);
            return Double.NEGATIVE_INFINITY;
        }
        if (nan) {
            max = Double.NaN;
        }
        double sum = sink == Double.NEGATIVE_INFINITY ? 0 : Math.exp(sink - max);
        for (int j = 0; j < z.length; j++) {
            z[j] = live[j] ? Math.exp(z[j] - max) : 0.0;
            sum += z[j];
        }
        for (int j = 0; j < z.length; j++) {
            if (live[j]) {
                z[j] /= sum;
            }
        }
        return max + Math.log(sum);
    }

    /** The whole SDPA, rows in parallel. */
    public static SdpaResult sdpa(SdpaParams p) {
        int bh = p.batch() * p.headsQ(), sq = p.seqQ(), dv = p.headDimV();
        double[] o = new double[Math.toIntExact((long) bh * sq * dv)];
        double[] lse = new double[bh * sq];
        IntStream.range(0, bh * sq).parallel().forEach(r -> {
            int i = r % sq, h = (r / sq) % p.headsQ(), b = r / sq / p.headsQ();
            lse[r] = sdpaRow(p, b, h, i, o, r * dv);
        });
        return new SdpaResult(o, lse);
    }

    /**
     * SDPA gradients, row-major in the logical shapes: {@code dq} {@code [B, Hq, Sq, D]}, {@code dk}
     * {@code [B, Hkv, Sk, D]}, {@code dv} {@code [B, Hkv, Sk, Dv]}, {@code dbias} the dBias tensor's
     * shape (null without one).
     */
    public record SdpaGrads(double[] dq, double[] dk, double[] dv, double[] dbias) {}

    /**
     * The SDPA backward from its definition ({@link SdpaBackwardParams}): P is recomputed in float64
     * from Q and K (the given O and LSE are not read), then
     * {@code dS = P (dO.V - rowsum(P dO.V))}, the softcap's {@code 1 - tanh^2}, and the three
     * products. Parallel over (b, kv head); each kv head sums its query heads in order.
     */
    public static SdpaGrads sdpaBackward(SdpaBackwardParams p) {
        int bn = p.batch(), hq = p.headsQ(), hkv = p.headsKv(), g = p.group(), sq = p.seqQ(), sk = p.seqK();
        int d = p.headDim(), dvn = p.headDimV();
        double[] dq = new double[Math.toIntExact((long) bn * hq * sq * d)];
        double[] dk = new double[Math.toIntExact((long) bn * hkv * sk * d)];
        double[] dv = new double[Math.toIntExact((long) bn * hkv * sk * dvn)];
        double[] ds = p.dbias() == null ? null : new double[Math.toIntExact((long) bn * hq * sq * sk)];
        Masks m = p.masks();
        IntStream.range(0, bn * hkv).parallel().forEach(bk -> {
            int b = bk / hkv, hk = bk % hkv;
            double[] s = new double[sk];
            double[] dpRow = new double[sk];
            double[] raw = new double[sk];
            boolean[] live = new boolean[sk];
            for (int h = hk * g; h < (hk + 1) * g; h++) {
                for (int i = 0; i < sq; i++) {
                    for (int j = 0; j < sk; j++) {
                        live[j] = allowed(m, b, h, i, j, sq, sk);
                        if (!live[j]) {
                            continue;
                        }
                        double dot = 0;
                        for (int x = 0; x < d; x++) {
                            dot += (double) p.q().get(b, h, i, x) * p.k().get(b, hk, j, x);
                        }
                        raw[j] = p.scale() * dot;
                        double v = p.hasSoftcap() ? p.softcap() * Math.tanh(raw[j] / p.softcap()) : raw[j];
                        s[j] = v + scoreBias(m, b, h, i, j, sq, sk);
                    }
                    if (softmaxInPlace(s, live) == Double.NEGATIVE_INFINITY) {
                        continue; // no live key: nothing flows through this row
                    }
                    double delta = 0;
                    for (int j = 0; j < sk; j++) {
                        if (!live[j]) {
                            continue;
                        }
                        double dp = 0;
                        for (int x = 0; x < dvn; x++) {
                            dp += (double) p.dout().get(b, h, i, x) * p.v().get(b, hk, j, x);
                        }
                        dpRow[j] = dp;
                        delta += s[j] * dp;
                    }
                    int qRow = ((b * hq + h) * sq + i);
                    for (int j = 0; j < sk; j++) {
                        if (!live[j]) {
                            continue;
                        }
                        double dsij = s[j] * (dpRow[j] - delta);
                        if (ds != null) {
                            ds[qRow * sk + j] = dsij;
                        }
                        double dr = dsij;
                        if (p.hasSoftcap()) {
                            double t = Math.tanh(raw[j] / p.softcap());
                            dr *= 1 - t * t;
                        }
                        int kRow = (b * hkv + hk) * sk + j;
                        for (int x = 0; x < d; x++) {
                            dq[qRow * d + x] += p.scale() * dr * p.k().get(b, hk, j, x);
                            dk[kRow * d + x] += p.scale() * dr * p.q().get(b, h, i, x);
                        }
                        for (int x = 0; x < dvn; x++) {
                            dv[kRow * dvn + x] += s[j] * p.dout().get(b, h, i, x);
                        }
                    }
                }
            }
        });
        double[] dbias = null;
        if (ds != null) {
            int nb = p.dbias().dim(0), nh = p.dbias().dim(1);
            dbias = new double[Math.toIntExact((long) nb * nh * sq * sk)];
            for (int b = 0; b < bn; b++) {
                for (int h = 0; h < hq; h++) {
                    int to = ((nb == 1 ? 0 : b) * nh + (nh == 1 ? 0 : h)) * sq * sk;
                    int from = (b * hq + h) * sq * sk;
                    for (int e = 0; e < sq * sk; e++) {
                        dbias[to + e] += ds[from + e];
                    }
                }
            }
        }
        return new SdpaGrads(dq, dk, dv, dbias);
    }

    /** Masked softmax forward, {@code [B, H, Sq, Sk]} row-major. */
    public static double[] softmax(SoftmaxParams p) {
        int sq = p.seqQ(), sk = p.seqK(), heads = p.heads();
        Masks m = p.masks();
        double[] y = new double[Math.toIntExact(p.rows() * sk)];
        IntStream.range(0, Math.toIntExact(p.rows())).parallel().forEach(r -> {
            int i = r % sq, h = (r / sq) % heads, b = r / sq / heads;
            double[] z = new double[sk];
            boolean[] live = new boolean[sk];
            for (int j = 0; j < sk; j++) {
                if (allowed(m, b, h, i, j, sq, sk)) {
                    z[j] = p.scale() * (double) p.x().get(b, h, i, j) + scoreBias(m, b, h, i, j, sq, sk);
                    live[j] = true;
                }
            }
            softmaxInPlace(z, live);
            System.arraycopy(z, 0, y, r * sk, sk);
        });
        return y;
    }

    /** Masked softmax backward, {@code [B, H, Sq, Sk]} row-major. */
    public static double[] softmaxBackward(SoftmaxBackwardParams p) {
        int sq = p.seqQ(), sk = p.seqK(), heads = p.heads();
        double[] dx = new double[Math.toIntExact(p.rows() * sk)];
        IntStream.range(0, Math.toIntExact(p.rows())).parallel().forEach(r -> {
            int i = r % sq, h = (r / sq) % heads, b = r / sq / heads;
            double dot = 0;
            for (int j = 0; j < sk; j++) {
                dot += (double) p.dy().get(b, h, i, j) * p.y().get(b, h, i, j);
            }
            for (int j = 0; j < sk; j++) {
                dx[r * sk + j] = p.scale() * p.y().get(b, h, i, j) * (p.dy().get(b, h, i, j) - dot);
            }
        });
        return dx;
    }

    /** The projection {@code x . w^T} of a raw input: {@code [B, H, S, A]} row-major, in double. */
    public static double[] project(Tensor x, Tensor w) {
        int bn = x.dim(0), hn = x.dim(1), sn = x.dim(2), dn = x.dim(3), an = w.dim(0);
        double[] out = new double[Math.toIntExact((long) bn * hn * sn * an)];
        IntStream.range(0, bn * hn * sn).parallel().forEach(r -> {
            int s = r % sn, h = (r / sn) % hn, b = r / sn / hn;
            for (int a = 0; a < an; a++) {
                double acc = 0;
                for (int d = 0; d < dn; d++) {
                    acc += (double) x.get(b, h, s, d) * w.get(a, d);
                }
                out[r * an + a] = acc;
            }
        });
        return out;
    }

    /** Fused additive attention in double. */
    public static AdditiveResult additive(AdditiveParams p) {
        int bn = p.batch(), hn = p.heads(), sq = p.seqQ(), sk = p.seqK(), an = p.dimA(), dv = p.headDimV();
        double[] qp = p.raw() ? project(p.q(), p.wq()) : copy4(p.q());
        double[] kp = p.raw() ? project(p.k(), p.wk()) : copy4(p.k());
        double[] w = new double[an];
        double[] bias = new double[an];
        for (int a = 0; a < an; a++) {
            w[a] = p.w().get(a);
            bias[a] = p.b() == null ? 0 : p.b().get(a);
        }
        Masks m = p.masks();
        double[] out = new double[Math.toIntExact((long) bn * hn * sq * dv)];
        double[] weights = new double[Math.toIntExact((long) bn * hn * sq * sk)];
        IntStream.range(0, bn * hn * sq).parallel().forEach(r -> {
            int i = r % sq, h = (r / sq) % hn, b = r / sq / hn;
            int qBase = r * an;
            double[] e = new double[sk];
            boolean[] live = new boolean[sk];
            for (int j = 0; j < sk; j++) {
                if (!allowed(m, b, h, i, j, sq, sk)) {
                    continue;
                }
                int kBase = ((b * hn + h) * sk + j) * an;
                double acc = 0;
                for (int a = 0; a < an; a++) {
                    acc += w[a] * Math.tanh(qp[qBase + a] + kp[kBase + a] + bias[a]);
                }
                e[j] = acc + scoreBias(m, b, h, i, j, sq, sk);
                live[j] = true;
            }
            if (softmaxInPlace(e, live) == Double.NEGATIVE_INFINITY) {
                return;
            }
            for (int j = 0; j < sk; j++) {
                if (!live[j]) {
                    continue;
                }
                weights[r * sk + j] = e[j];
                for (int x = 0; x < dv; x++) {
                    out[r * dv + x] += e[j] * p.v().get(b, h, j, x);
                }
            }
        });
        return new AdditiveResult(out, weights);
    }

    /** Merge outputs: {@code o} is {@code [B, H, S, Dv]}, {@code lse} is {@code [B, H, S]}, row-major. */
    public record MergeResult(double[] o, double[] lse) {}

    /**
     * Merge of attention states in double ({@link MergeParams} gives the semantics): parts with
     * LSE = -inf are skipped (never read), all parts -inf give zeros and -inf, a NaN (or +inf) LSE
     * gives a NaN row.
     */
    public static MergeResult merge(MergeParams p) {
        int bn = p.batch(), hn = p.heads(), sn = p.seq(), dv = p.headDimV(), n = p.parts();
        double[] o = new double[Math.toIntExact(p.rows() * dv)];
        double[] lse = new double[Math.toIntExact(p.rows())];
        IntStream.range(0, Math.toIntExact(p.rows())).parallel().forEach(r -> {
            int s = r % sn, h = (r / sn) % hn, b = r / sn / hn;
            double[] l = new double[n];
            double m = Double.NEGATIVE_INFINITY;
            boolean nan = false;
            for (int i = 0; i < n; i++) {
                l[i] = p.lse().get(i).get(b, h, s);
                nan |= Double.isNaN(l[i]);
                m = Math.max(m, l[i]);
            }
            if (nan || m == Double.POSITIVE_INFINITY) {
                java.util.Arrays.fill(o, r * dv, (r + 1) * dv, Double.NaN);
                lse[r] = Double.NaN;
                return;
            }
            if (m == Double.NEGATIVE_INFINITY) {
                lse[r] = Double.NEGATIVE_INFINITY;
                return;
            }
            double sum = 0;
            double[] w = new double[n];
            for (int i = 0; i < n; i++) {
                w[i] = l[i] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(l[i] - m);
                sum += w[i];
            }
            for (int i = 0; i < n; i++) {
                if (l[i] == Double.NEGATIVE_INFINITY) {
                    continue;
                }
                for (int x = 0; x < dv; x++) {
                    o[r * dv + x] += w[i] / sum * p.o().get(i).get(b, h, s, x);
                }
            }
            lse[r] = m + Math.log(sum);
        });
        return new MergeResult(o, lse);
    }

    /** KV append outputs: the whole caches after the append, row-major {@code [numPages, pageSize, Hkv, D|Dv]}. */
    public record KvAppendResult(double[] kCache, double[] vCache) {}

    /** KV append: the caches as they are, with the new rows written through the block table. */
    public static KvAppendResult kvAppend(KvAppendParams p) {
        double[] kc = copy4(p.kCache()), vc = copy4(p.vCache());
        int ps = p.pageSize(), h = p.headsKv(), d = p.headDim(), dv = p.headDimV();
        for (int b = 0; b < p.batch(); b++) {
            for (int t = 0; t < p.appendLength(b); t++) {
                long pos = (long) p.startPositions()[b] + t;
                int page = (int) p.blockTable().get(b, (int) (pos / ps)), slot = (int) (pos % ps);
                if (page < 0 || page >= p.numPages()) {
                    continue; // a device-resident table is not checked on the host: the row is skipped
                }
                for (int hh = 0; hh < h; hh++) {
                    long row = ((long) page * ps + slot) * h + hh;
                    for (int x = 0; x < d; x++) {
                        kc[Math.toIntExact(row * d + x)] = p.kNew().get(b, hh, t, x);
                    }
                    for (int x = 0; x < dv; x++) {
                        vc[Math.toIntExact(row * dv + x)] = p.vNew().get(b, hh, t, x);
                    }
                }
            }
        }
        return new KvAppendResult(kc, vc);
    }

    /**
     * Additive backward outputs, row-major in the logical shapes of {@link AdditiveBackwardParams}:
     * {@code dq}, {@code dk} (of the raw inputs when projected, else dQp, dKp), {@code dv}, {@code dw},
     * {@code db}, {@code dwq}, {@code dwk} (the last three always computed; zero-length when absent).
     */
    public record AdditiveBackwardResult(double[] dq, double[] dk, double[] dv, double[] dw, double[] db,
            double[] dwq, double[] dwk) {}

    /**
     * The additive backward in double, straight from the formulas of {@link AdditiveBackwardParams}:
     * per (b, h), each row's softmax is recomputed, then dE, and the tanh terms are recomputed per
     * (i, j, a). The (b, h) slices run in parallel; dw and db are summed over them in order.
     */
    public static AdditiveBackwardResult additiveBackward(AdditiveBackwardParams p) {
        int bn = p.batch(), hn = p.heads(), sq = p.seqQ(), sk = p.seqK(), an = p.dimA(), dvn = p.headDimV();
        double[] qp = p.raw() ? project(p.q(), p.wq()) : copy4(p.q());
        double[] kp = p.raw() ? project(p.k(), p.wk()) : copy4(p.k());
        double[] w = new double[an];
        double[] bias = new double[an];
        for (int a = 0; a < an; a++) {
            w[a] = p.w().get(a);
            bias[a] = p.b() == null ? 0 : p.b().get(a);
        }
        Masks m = p.masks();
        double[] dqp = new double[qp.length];
        double[] dkp = new double[kp.length];
        double[] dv = new double[Math.toIntExact((long) bn * hn * sk * dvn)];
        double[][] dwPart = new double[bn * hn][an];
        IntStream.range(0, bn * hn).parallel().forEach(z -> {
            int b = z / hn, h = z % hn;
            double[] e = new double[sk];
            boolean[] live = new boolean[sk];
            double[] dp = new double[sk];
            for (int i = 0; i < sq; i++) {
                int qBase = (z * sq + i) * an;
                java.util.Arrays.fill(live, false);
                for (int j = 0; j < sk; j++) {
                    e[j] = 0;
                    if (!allowed(m, b, h, i, j, sq, sk)) {
                        continue;
                    }
                    int kBase = (z * sk + j) * an;
                    double acc = 0;
                    for (int a = 0; a < an; a++) {
                        acc += w[a] * Math.tanh(qp[qBase + a] + kp[kBase + a] + bias[a]);
                    }
                    e[j] = acc + scoreBias(m, b, h, i, j, sq, sk);
                    live[j] = true;
                }
                if (softmaxInPlace(e, live) == Double.NEGATIVE_INFINITY) {
                    continue; // a dead or fully masked row contributes nothing
                }
                double delta = 0;
                for (int j = 0; j < sk; j++) {
                    if (live[j]) {
                        double s = 0;
                        for (int x = 0; x < dvn; x++) {
                            s += (double) p.dOut().get(b, h, i, x) * p.v().get(b, h, j, x);
                        }
                        dp[j] = s;
                        delta += e[j] * s;
                    }
                }
                for (int j = 0; j < sk; j++) {
                    if (!live[j]) {
                        continue;
                    }
                    double pij = e[j];
                    for (int x = 0; x < dvn; x++) {
                        dv[(z * sk + j) * dvn + x] += pij * p.dOut().get(b, h, i, x);
                    }
                    double de = pij * (dp[j] - delta);
                    int kBase = (z * sk + j) * an;
                    for (int a = 0; a < an; a++) {
                        double t = Math.tanh(qp[qBase + a] + kp[kBase + a] + bias[a]);
                        dwPart[z][a] += de * t;
                        double g = de * w[a] * (1 - t * t);
                        dqp[qBase + a] += g;
                        dkp[kBase + a] += g;
                    }
                }
            }
        });
        double[] dw = new double[an];
        double[] db = new double[an];
        for (int z = 0; z < bn * hn; z++) {
            for (int a = 0; a < an; a++) {
                dw[a] += dwPart[z][a];
            }
        }
        for (int r = 0; r < bn * hn * sq; r++) {
            for (int a = 0; a < an; a++) {
                db[a] += dqp[r * an + a];
            }
        }
        if (!p.raw()) {
            return new AdditiveBackwardResult(dqp, dkp, dv, dw, db, new double[0], new double[0]);
        }
        return new AdditiveBackwardResult(projectBack(dqp, p.wq(), bn * hn * sq), projectBack(dkp, p.wk(), bn * hn * sk),
                dv, dw, db, weightGrad(dqp, p.q()), weightGrad(dkp, p.k()));
    }

    /** {@code dx = dxp . W}: {@code dxp [rows, A]} row-major, {@code W [A, D]}; {@code [rows, D]} row-major. */
    public static double[] projectBack(double[] dxp, Tensor wt, int rows) {
        int an = wt.dim(0), dn = wt.dim(1);
        double[] out = new double[Math.toIntExact((long) rows * dn)];
        IntStream.range(0, rows).parallel().forEach(r -> {
            for (int d = 0; d < dn; d++) {
                double acc = 0;
                for (int a = 0; a < an; a++) {
                    acc += dxp[r * an + a] * wt.get(a, d);
                }
                out[r * dn + d] = acc;
            }
        });
        return out;
    }

    /** {@code dW[a, d] = sum over (b, h, s) of dxp[b,h,s,a] x[b,h,s,d]}: {@code [A, D]} row-major. */
    public static double[] weightGrad(double[] dxp, Tensor x) {
        int bn = x.dim(0), hn = x.dim(1), sn = x.dim(2), dn = x.dim(3);
        int an = dxp.length / (bn * hn * sn);
        double[] out = new double[an * dn];
        IntStream.range(0, an).parallel().forEach(a -> {
            for (int d = 0; d < dn; d++) {
                double acc = 0;
                int r = 0;
                for (int b = 0; b < bn; b++) {
                    for (int h = 0; h < hn; h++) {
                        for (int s = 0; s < sn; s++, r++) {
                            acc += dxp[r * an + a] * x.get(b, h, s, d);
                        }
                    }
                }
                out[a * dn + d] = acc;
            }
        });
        return out;
    }

    /**
     * The batched GEMM in double: {@code C[z] = alpha * op(A[z]) . op(B[z]) + beta * C[z]}, as a
     * row-major {@code [batch, M, N]} array. With {@code beta == 0} C is not read.
     */
    public static double[] gemm(GemmParams p) {
        int bt = p.batch(), m = p.m(), n = p.n(), k = p.k();
        long[] as = p.aStrides(), bs = p.bStrides(), cs = p.cStrides();
        double[] out = new double[Math.toIntExact((long) bt * m * n)];
        IntStream.range(0, bt * m).parallel().forEach(r -> {
            int z = r / m, i = r % m;
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int x = 0; x < k; x++) {
                    acc += (double) at(p.a(), z * as[0] + i * as[1] + x * as[2])
                            * at(p.b(), z * bs[0] + x * bs[1] + j * bs[2]);
                }
                double v = p.alpha() * acc;
                if (p.beta() != 0f) {
                    v += p.beta() * (double) at(p.c(), z * cs[0] + i * cs[1] + j * cs[2]);
                }
                out[r * n + j] = v;
            }
        });
        return out;
    }

    /** The element at {@code offset + rel} of a host tensor, as a float. */
    private static float at(io.github.attn4j.Tensor t, long rel) {
        return t.host().getFloat(t.offset() + rel, t.dtype());
    }

    /**
     * Rotary position embedding in double (the angle {@code (offset + s) * theta^(-2i/D)} too; its
     * negative when inverse), as a row-major {@code [B, H, S, D]} array.
     */
    public static double[] rope(RopeParams p) {
        int bn = p.batch(), hn = p.heads(), sn = p.seq(), d = p.headDim(), half = d / 2;
        double[] out = new double[Math.toIntExact((long) bn * hn * sn * d)];
        for (int b = 0; b < bn; b++) {
            for (int h = 0; h < hn; h++) {
                for (int s = 0; s < sn; s++) {
                    int base = ((b * hn + h) * sn + s) * d;
                    double pos = (double) p.offset() + s;
                    for (int i = 0; i < half; i++) {
                        double a = pos * Math.pow(p.theta(), -2.0 * i / d);
                        double sa = p.inverse() ? -Math.sin(a) : Math.sin(a);
                        double x0 = p.x().get(b, h, s, i), x1 = p.x().get(b, h, s, i + half);
                        out[base + i] = x0 * Math.cos(a) - x1 * sa;
                        out[base + i + half] = x1 * Math.cos(a) + x0 * sa;
                    }
                }
            }
        }
        return out;
    }

    /** A 4-D host tensor as a row-major double array. */
    public static double[] copy4(Tensor t) {
        int n0 = t.dim(0), n1 = t.dim(1), n2 = t.dim(2), n3 = t.dim(3);
        double[] out = new double[Math.toIntExact(t.numel())];
        int k = 0;
        for (int a = 0; a < n0; a++) {
            for (int b = 0; b < n1; b++) {
                for (int c = 0; c < n2; c++) {
                    for (int d = 0; d < n3; d++) {
                        out[k++] = t.get(a, b, c, d);
                    }
                }
            }
        }
        return out;
    }

    /** Writes a row-major double array into a host tensor of any layout and float dtype. */
    public static void store(double[] src, Tensor dst) {
        int[] shape = dst.shape();
        int[] idx = new int[shape.length];
        for (double v : src) {
            dst.set((float) v, idx);
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
    }
}
