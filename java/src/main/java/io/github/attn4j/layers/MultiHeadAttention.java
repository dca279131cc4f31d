package io.github.attn4j.layers;

import io.github.attn4j.Check;
import io.github.attn4j.DType;
import io.github.attn4j.GemmParams;
import io.github.attn4j.HostMemory;
import io.github.attn4j.KvAppendParams;
import io.github.attn4j.Masks;
import io.github.attn4j.PagedKv;
import io.github.attn4j.RopeParams;
import io.github.attn4j.Scope;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.weights.AttentionWeights;
import java.util.Arrays;

/**
 * Multi-head attention with its projections, on one {@link Scope}'s device: every step is an
 * attn4j op (the batched GEMM for the four projections and their biases, RoPE, SDPA, and the masked
 * softmax for the optional attention weights), so nothing leaves the device between steps.
 *
 * <pre>
 *   Q = X Wq^T + bq        [B, S, Hq·D]    viewed as [B, Hq, S, D]
 *   K = M Wk^T + bk        [B, Sk, Hkv·D]  (M = X for self-attention, the memory for cross-attention)
 *   V = M Wv^T + bv        [B, Sk, Hkv·D]
 *   Q, K = RoPE(Q, K)      at positions cache length + 0..S-1 (self-attention, when rope(theta) is set)
 *   O = SDPA(Q, K, V)      scale 1/sqrt(D), GQA, the call's masks (causal, key padding by lengths, ...)
 *   Y = O Wo^T + bo        [B, S, E]
 * </pre>
 * Inputs are batch first, {@code X [B, S, E]}, memory {@code [B, Sk, Ek]}; E need not equal Hq·D.
 * With a {@link KvCache} the new K and V are appended to the cache (on the device) and the queries
 * attend to everything cached: prefill with S tokens, then decode one token at a time; causal
 * masking is bottom-right aligned, so the last query sees the last key. The cache is dense
 * ({@link #newCache}) or paged ({@link #newPagedCache}: K and V rows in pages
 * {@code [numPages, pageSize, Hkv, D]} found through a block table, written by the KV-append op and
 * read by the paged SDPA); both give the same results.
 *
 * <p><b>Training.</b> A forward call made with {@link Call.Builder#train(boolean) train(true)} keeps
 * what the backward needs (the projections, SDPA's output and its log-sum-exp); then
 * {@link #backward(Tensor)} takes {@code dY [B, S, E]} and returns the {@link Gradients} of the
 * input, the memory and every weight and bias. The backward runs on the device, composed of the
 * same ops: GEMMs with transposes (and {@code beta = 1} to sum the three paths into dX), the SDPA
 * backward from the forward's LSE, and RoPE's inverse rotation.
 *
 * <p>Results live in the layer's reusable device buffers: valid until the next call on this layer
 * (copy them out, or pass {@link Call.Builder#out(Tensor)}). One layer per scope; the scope owns
 * all memory, and closing it frees the layer too.
 */
public final class MultiHeadAttention {
    private final Scope scope;
    private final DType dtype;
    private final int embed, heads, kvHeads, headDim, keyDim, valueDim;
    private final boolean causal;
    private final float ropeTheta;
    private final Tensor wq, wk, wv, wo, bq, bk, bv, bo, one;
    private final Buffers buf;
    private Saved saved;

    private MultiHeadAttention(Builder b, Scope scope) {
        AttentionWeights w = b.weights;
        this.scope = scope;
        this.dtype = b.dtype;
        this.embed = w.embed();
        this.heads = w.heads();
        this.kvHeads = w.kvHeads();
        this.headDim = w.headDim();
        this.keyDim = w.keyDim();
        this.valueDim = w.valueDim();
        this.causal = b.causal;
        this.ropeTheta = b.ropeTheta;
        this.wq = Buffers.upload(scope, w.wq(), dtype);
        this.wk = Buffers.upload(scope, w.wk(), dtype);
        this.wv = Buffers.upload(scope, w.wv(), dtype);
        this.wo = Buffers.upload(scope, w.wo(), dtype);
        this.bq = w.hasBias() ? Buffers.upload(scope, w.bq(), dtype) : null;
        this.bk = w.hasBias() ? Buffers.upload(scope, w.bk(), dtype) : null;
        this.bv = w.hasBias() ? Buffers.upload(scope, w.bv(), dtype) : null;
        this.bo = w.hasBias() ? Buffers.upload(scope, w.bo(), dtype) : null;
        this.one = Buffers.upload(scope, Tensor.of(new float[] {1f}, 1), dtype);
        this.buf = new Buffers(scope);
    }

    /** A builder over loaded weights ({@link AttentionWeights#load}). */
    public static Builder builder(AttentionWeights weights) {
        return new Builder(weights);
    }

    /** E. */
    public int embed() {
        return embed;
    }

    /** Hq. */
    public int heads() {
        return heads;
    }

    /** Hkv. */
    public int kvHeads() {
        return kvHeads;
    }

    /** D. */
    public int headDim() {
        return headDim;
    }

    /** The storage dtype of the weights, activations and outputs. */
    public DType dtype() {
        return dtype;
    }

    /** The scale of the scores, {@code 1/sqrt(D)}. */
    public float scale() {
        return (float) (1.0 / Math.sqrt(headDim));
    }

    /** Self-attention over {@code x [B, S, E]} with the layer's defaults. */
    public Result forward(Tensor x) {
        return forward(Call.builder(x).build());
    }

    /** Self-attention of new tokens {@code x [B, S, E]} appended to {@code cache} (prefill or decode). */
    public Result forward(Tensor x, KvCache cache) {
        return forward(Call.builder(x).cache(cache).build());
    }

    /** A new empty dense KV cache on this layer's device: K and V {@code [batch, Hkv, maxLen, D]}. */
    public KvCache newCache(int batch, int maxLen) {
        Check.arg(batch >= 1, "batch", ">= 1", batch);
        Check.arg(maxLen >= 1, "maxLen", ">= 1", maxLen);
        return new KvCache(this, scope.allocate(dtype, batch, kvHeads, maxLen, headDim),
                scope.allocate(dtype, batch, kvHeads, maxLen, headDim));
    }

    /**
     * A new empty paged KV cache on this layer's device: K and V pages
     * {@code [batch * ceil(maxLen / pageSize), pageSize, Hkv, D]} and a device block table I32
     * {@code [batch, ceil(maxLen / pageSize)]}; the pages of the sequences are interleaved (sequence
     * b's page i is page {@code i * batch + b}), as a server's pool hands them out. New rows are
     * written by {@link Scope#kvAppend} and attended by the paged SDPA, all on the device.
     *
     * @param batch    B
     * @param maxLen   the most tokens per sequence
     * @param pageSize rows per page, any value {@code >= 1}
     * @throws IllegalArgumentException for a batch, length or page size below 1
     */
    public KvCache newPagedCache(int batch, int maxLen, int pageSize) {
        Check.arg(batch >= 1, "batch", ">= 1", batch);
        Check.arg(maxLen >= 1, "maxLen", ">= 1", maxLen);
        Check.arg(pageSize >= 1, "pageSize", ">= 1", pageSize);
        int perSeq = (maxLen + pageSize - 1) / pageSize;
        long pages = (long) perSeq * batch;
        Check.arg(pages * pageSize * kvHeads * headDim <= Integer.MAX_VALUE, "batch * maxLen * Hkv * D (rounded up to pages)",
                "<= " + Integer.MAX_VALUE, pages * pageSize * kvHeads * headDim);
        int[] table = new int[batch * perSeq];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < perSeq; i++) {
                table[b * perSeq + i] = i * batch + b;
            }
        }
        Tensor t = scope.upload(Tensor.of(HostMemory.of(table), DType.I32, new int[] {batch, perSeq},
                new long[] {perSeq, 1}, 0));
        return new KvCache(this, scope.allocate(dtype, (int) pages, pageSize, kvHeads, headDim),
                scope.allocate(dtype, (int) pages, pageSize, kvHeads, headDim), t, batch, maxLen);
    }

    /** One call: the output {@code y [B, S, E]} and, when asked for, the weights {@code [B, Hq, S, Sk]}. */
    public record Result(Tensor y, Tensor weights) {}

    /** Runs one call (see {@link Call}). */
    public Result forward(Call c) {
        saved = null;
        Tensor x = c.x;
        Check.arg(x.rank() == 3, "x.rank", "3 ([B, S, E], batch first)", x.rank() + " (shape " + Arrays.toString(x.shape())
                + ")");
        int bn = x.dim(0), s = x.dim(1);
        Check.arg(x.dim(2) == embed, "x.shape[2] (E)", embed, x.dim(2));
        Check.arg(x.dtype() == dtype, "x.dtype", dtype, x.dtype());
        Tensor mem = c.memory;
        if (mem != null) {
            Check.arg(mem.rank() == 3 && mem.dim(0) == bn, "memory.shape", "[" + bn + ", Sk, " + keyDim + "]",
                    Arrays.toString(mem.shape()));
            Check.arg(keyDim == valueDim && mem.dim(2) == keyDim, "memory.shape[2] (Ek)", keyDim, mem.dim(2));
            Check.arg(mem.dtype() == dtype, "memory.dtype", dtype, mem.dtype());
            Check.arg(c.cache == null, "cache", "no cache with a memory input (cross-attention keys are the memory)",
                    "a cache");
        } else {
            Check.arg(keyDim == embed && valueDim == embed, "memory", "a memory input [B, Sk, " + keyDim
                    + "] (the key/value projections take " + keyDim + "/" + valueDim + " features, x has " + embed + ")",
                    "none");
        }
        KvCache cache = c.cache;
        int past = 0;
        if (cache != null) {
            Check.arg(cache.layer == this, "cache", "a cache made by this layer's newCache", "another layer's cache");
            Check.arg(cache.batch() == bn, "cache batch", bn, cache.batch());
            past = cache.length();
            Check.arg(past + s <= cache.capacity(), "cache length + S", "<= capacity " + cache.capacity(), past + s);
            Check.arg(!cache.isPaged() || c.kvLengths == null, "kvLengths", "none with a paged cache (its lengths are the"
                    + " cached token counts)", Arrays.toString(c.kvLengths));
            Check.arg(!c.train, "train", "no KV cache (the backward is of a whole sequence)", "a cache");
            Check.arg(!cache.isPaged() || !c.weights, "weights", "not with a paged cache (the keys are not one dense"
                    + " tensor; use a dense cache to plot)", "weights requested");
        }
        Tensor xd = buf.device("x", x);
        Tensor memd = mem == null ? xd : buf.device("memory", mem);
        int sk = memd.dim(1);
        int qd = heads * headDim, kd = kvHeads * headDim;
        // Projections, batch-first rows: [B*S, Hq*D] is [B, S, Hq, D], the BSHD layout of Q.
        Tensor q = buf.get("q", dtype, bn * s, qd);
        Tensor k = buf.get("k", dtype, bn * sk, kd);
        Tensor v = buf.get("v", dtype, bn * sk, kd);
        linear(rows(xd), wq, bq, q);
        linear(rows(memd), wk, bk, k);
        linear(rows(memd), wv, bv, v);
        Tensor q4 = bshd(q, bn, heads, s);
        Tensor k4 = bshd(k, bn, kvHeads, sk);
        Tensor v4 = bshd(v, bn, kvHeads, sk);
        if (ropeTheta > 0 && mem == null) {
            scope.rope(RopeParams.builder(q4, q4).offset(past).theta(ropeTheta).build());
            scope.rope(RopeParams.builder(k4, k4).offset(past).theta(ropeTheta).build());
        }
        PagedKv paged = null;
        if (cache != null && cache.isPaged()) {
            int[] start = new int[bn];
            Arrays.fill(start, past);
            scope.kvAppend(KvAppendParams.builder(k4, v4, cache.k, cache.v, cache.table, start).build());
            cache.length = past + s;
            int[] lens = new int[bn];
            Arrays.fill(lens, past + s);
            paged = new PagedKv(cache.k, cache.v, cache.table, lens);
            sk = past + s;
        } else if (cache != null) {
            scope.copy(k4, cache.slice(cache.k, past, s));
            scope.copy(v4, cache.slice(cache.v, past, s));
            cache.length = past + s;
            k4 = cache.slice(cache.k, 0, past + s);
            v4 = cache.slice(cache.v, 0, past + s);
            sk = past + s;
        }
        Masks.Builder mb = c.masks.toBuilder();
        if (c.causal != null ? c.causal : (causal && mem == null)) {
            mb.causal();
        }
        if (c.kvLengths != null) {
            mb.kvLengths(c.kvLengths);
        }
        Masks masks = mb.build();
        Tensor o = buf.get("o", dtype, bn * s, qd);
        Tensor o4 = bshd(o, bn, heads, s);
        Tensor lse = c.train ? buf.get("lse", DType.F32, bn, heads, s) : null;
        scope.sdpa((paged != null ? SdpaParams.builder(q4, paged, o4) : SdpaParams.builder(q4, k4, v4, o4)).masks(masks)
                .scale(scale()).lse(lse).build());
        Tensor y = c.out != null ? c.out : buf.get("y", dtype, bn, s, embed);
        Check.arg(Arrays.equals(y.shape(), new int[] {bn, s, embed}), "out.shape", Arrays.toString(new int[] {bn, s, embed}),
                Arrays.toString(y.shape()));
        Tensor y2 = y.view(y.offset(), new int[] {bn * s, embed}, new long[] {y.stride(1), y.stride(2)});
        Check.arg(bn == 1 || y.stride(0) == (long) s * y.stride(1), "out.strides", "rows of [B*S, E] (batch and sequence"
                + " dims contiguous)", Arrays.toString(y.strides()));
        linear(o, wo, bo, y2);
        Tensor weights = null;
        if (c.weights) {
            weights = c.weightsOut != null ? c.weightsOut : buf.get("weights", dtype, bn, heads, s, sk);
            Check.arg(Arrays.equals(weights.shape(), new int[] {bn, heads, s, sk}), "weights.shape",
                    Arrays.toString(new int[] {bn, heads, s, sk}), Arrays.toString(weights.shape()));
            int g = heads / kvHeads;
            for (int h = 0; h < heads; h++) {
                Tensor qa = q4.view(q4.offset() + (long) h * q4.stride(1), new int[] {bn, s, headDim},
                        new long[] {q4.stride(0), q4.stride(2), q4.stride(3)});
                Tensor kb = k4.view(k4.offset() + (long) (h / g) * k4.stride(1), new int[] {bn, sk, headDim},
                        new long[] {k4.stride(0), k4.stride(2), k4.stride(3)});
                Tensor sc = weights.view(weights.offset() + (long) h * weights.stride(1), new int[] {bn, s, sk},
                        new long[] {weights.stride(0), weights.stride(2), weights.stride(3)});
                scope.gemm(GemmParams.builder(qa, kb, sc).transB(true).build());
            }
            scope.softmax(SoftmaxParams.builder(weights, weights).masks(masks).scale(scale()).build());
        }
        if (c.train) {
            saved = new Saved(xd, mem == null ? null : memd, q4, k4, v4, o, lse, masks, bn, s, sk, mem == null && ropeTheta > 0);
        }
        return new Result(y, weights);
    }

    /** What a training forward keeps for {@link #backward}: inputs, projections, O and LSE, masks. */
    private record Saved(Tensor x, Tensor memory, Tensor q4, Tensor k4, Tensor v4, Tensor o, Tensor lse, Masks masks,
            int batch, int seq, int seqK, boolean rope) {}

    /**
     * The gradients of one {@link #backward} (device tensors in the layer's dtype, in the layer's
     * buffers: valid until the next backward on this layer). Weight gradients have the weights'
     * shapes ({@code dWq [Hq·D, E]}, {@code dWk}, {@code dWv [Hkv·D, Ek]}, {@code dWo [E, Hq·D]}); the
     * bias gradients are null for a layer without biases.
     *
     * @param dx     the gradient of the input x {@code [B, S, E]} (all three projections' share for
     *               self-attention, the query projection's for cross-attention)
     * @param memory the gradient of the memory {@code [B, Sk, Ek]} (cross-attention), else null
     * @param wq     dL/dWq
     * @param wk     dL/dWk
     * @param wv     dL/dWv
     * @param wo     dL/dWo
     * @param bq     dL/dbq {@code [Hq·D]}, or null
     * @param bk     dL/dbk {@code [Hkv·D]}, or null
     * @param bv     dL/dbv {@code [Hkv·D]}, or null
     * @param bo     dL/dbo {@code [E]}, or null
     */
    public record Gradients(Tensor dx, Tensor memory, Tensor wq, Tensor wk, Tensor wv, Tensor wo, Tensor bq, Tensor bk,
            Tensor bv, Tensor bo) {}

    /**
     * The backward of the last forward call, which must have been made with
     * {@link Call.Builder#train(boolean) train(true)} (any later forward call forgets it): given
     * {@code dy [B, S, E]} (host or device, the layer's dtype), the gradients of x, the memory and
     * every weight and bias, for the same masks (causal, key padding, ...), RoPE and GQA. On the
     * device:
     * <pre>
     *   dO  = dY Wo          dWo = dY^T O        dbo = sum over rows of dY
     *   dQ, dK, dV = SDPA backward(Q, K, V, O, dO, LSE)   (GQA heads summed into dK, dV)
     *   dQ, dK = RoPE^-1(dQ), RoPE^-1(dK)                 (when the forward rotated them)
     *   dX  = dQ Wq (+ dK Wk + dV Wv for self-attention)  dMemory = dK Wk + dV Wv (cross-attention)
     *   dWq = dQ^T X   dWk = dK^T M   dWv = dV^T M        db* = sum over rows of d*
     * </pre>
     * An input that is a device tensor must be unchanged since the forward (it is read again).
     *
     * @param dy the gradient of the output
     * @return the gradients (valid until the next backward on this layer)
     * @throws IllegalStateException    when the last forward was not a training call
     * @throws IllegalArgumentException for a dy of the wrong shape or dtype
     */
    public Gradients backward(Tensor dy) {
        Saved st = saved;
        if (st == null) {
            throw new IllegalStateException("backward needs the last forward call made with train(true) on this layer");
        }
        Check.notNull("dy", dy);
        int bn = st.batch, s = st.seq, sk = st.seqK, qd = heads * headDim, kd = kvHeads * headDim;
        Check.arg(Arrays.equals(dy.shape(), new int[] {bn, s, embed}), "dy.shape", Arrays.toString(new int[] {bn, s, embed}),
                Arrays.toString(dy.shape()));
        Check.arg(dy.dtype() == dtype, "dy.dtype", dtype, dy.dtype());
        Tensor dy2 = rows(buf.device("dy", dy));
        Tensor mem = st.memory != null ? st.memory : st.x;
        Tensor x2 = rows(st.x), m2 = rows(mem);
        // output projection
        Tensor dO = buf.get("dO", dtype, bn * s, qd);
        scope.gemm(GemmParams.builder(dy2, wo, dO).build());
        Tensor dWo = buf.get("dWo", dtype, embed, qd);
        scope.gemm(GemmParams.builder(dy2, st.o, dWo).transA(true).build());
        Tensor dbo = bo == null ? null : biasGrad(dy2, "dbo");
        // attention
        Tensor dQ = buf.get("dQ", dtype, bn * s, qd);
        Tensor dK = buf.get("dK", dtype, bn * sk, kd);
        Tensor dV = buf.get("dV", dtype, bn * sk, kd);
        Tensor dQ4 = bshd(dQ, bn, heads, s), dK4 = bshd(dK, bn, kvHeads, sk);
        scope.sdpaBackward(SdpaBackwardParams.builder(st.q4, st.k4, st.v4, bshd(st.o, bn, heads, s), bshd(dO, bn, heads, s),
                st.lse, dQ4, dK4, bshd(dV, bn, kvHeads, sk)).masks(st.masks).scale(scale()).build());
        if (st.rope) {
            scope.rope(RopeParams.builder(dQ4, dQ4).theta(ropeTheta).inverse().build());
            scope.rope(RopeParams.builder(dK4, dK4).theta(ropeTheta).inverse().build());
        }
        // input projections
        Tensor dx = buf.get("dx", dtype, bn, s, embed);
        Tensor dx2 = rows(dx);
        scope.gemm(GemmParams.builder(dQ, wq, dx2).build());
        Tensor dmem = null, dm2 = dx2;
        float beta = 1f;
        if (st.memory != null) {
            dmem = buf.get("dmemory", dtype, bn, sk, keyDim);
            dm2 = rows(dmem);
            beta = 0f;
        }
        scope.gemm(GemmParams.builder(dK, wk, dm2).beta(beta).build());
        scope.gemm(GemmParams.builder(dV, wv, dm2).beta(1f).build());
        Tensor dWq = buf.get("dWq", dtype, qd, embed);
        Tensor dWk = buf.get("dWk", dtype, kd, keyDim);
        Tensor dWv = buf.get("dWv", dtype, kd, valueDim);
        scope.gemm(GemmParams.builder(dQ, x2, dWq).transA(true).build());
        scope.gemm(GemmParams.builder(dK, m2, dWk).transA(true).build());
        scope.gemm(GemmParams.builder(dV, m2, dWv).transA(true).build());
        boolean b = bq != null;
        return new Gradients(dx, dmem, dWq, dWk, dWv, dWo, b ? biasGrad(dQ, "dbq") : null, b ? biasGrad(dK, "dbk") : null,
                b ? biasGrad(dV, "dbv") : null, dbo);
    }

    /** The column sums of {@code g [N, F]}: a GEMM of a row of ones and g, {@code [F]}. */
    private Tensor biasGrad(Tensor g, String name) {
        int n = g.dim(0), f = g.dim(1);
        Tensor out = buf.get(name, dtype, f);
        Tensor ones = one.view(one.offset(), new int[] {1, n}, new long[] {0, 0});
        scope.gemm(GemmParams.builder(ones, g, out.view(out.offset(), new int[] {1, f}, new long[] {f, 1})).build());
        return out;
    }

    /** {@code t [B, S, F]} as rows {@code [B*S, F]} (contiguous over B and S). */
    private static Tensor rows(Tensor t) {
        Check.arg(t.dim(0) == 1 || t.stride(0) == (long) t.dim(1) * t.stride(1), "input.strides",
                "batch and sequence dims contiguous", Arrays.toString(t.strides()));
        return t.view(t.offset(), new int[] {t.dim(0) * t.dim(1), t.dim(2)}, new long[] {t.stride(1), t.stride(2)});
    }

    /** Rows {@code [B*S, H*D]} as the BSHD view {@code [B, H, S, D]}. */
    private Tensor bshd(Tensor rows2, int b, int h, int s) {
        long rs = rows2.stride(0);
        return rows2.view(rows2.offset(), new int[] {b, h, s, headDim}, new long[] {s * rs, headDim, rs, 1});
    }

    /** {@code out = in . w^T (+ bias)}: one GEMM, and for the bias a rank-1 update by a column of ones. */
    private void linear(Tensor in, Tensor w, Tensor bias, Tensor out) {
        scope.gemm(GemmParams.builder(in, w, out).transB(true).build());
        if (bias != null) {
            int m = out.dim(0), n = out.dim(1);
            Tensor ones = one.view(one.offset(), new int[] {m, 1}, new long[] {0, 0});
            Tensor b = bias.view(bias.offset(), new int[] {1, n}, new long[] {n, 1});
            scope.gemm(GemmParams.builder(ones, b, out).beta(1f).build());
        }
    }

    /**
     * A KV cache on the layer's device and the filled length: dense, K and V
     * {@code [B, Hkv, capacity, D]} ({@link #newCache}), or paged, K and V pages
     * {@code [numPages, pageSize, Hkv, D]} with a block table ({@link #newPagedCache}).
     */
    public static final class KvCache {
        private final MultiHeadAttention layer;
        private final Tensor k, v, table;
        private final int batch, capacity;
        private int length;

        KvCache(MultiHeadAttention layer, Tensor k, Tensor v) {
            this(layer, k, v, null, k.dim(0), k.dim(2));
        }

        KvCache(MultiHeadAttention layer, Tensor k, Tensor v, Tensor table, int batch, int capacity) {
            this.layer = layer;
            this.k = k;
            this.v = v;
            this.table = table;
            this.batch = batch;
            this.capacity = capacity;
        }

        /** True for a paged cache. */
        public boolean isPaged() {
            return table != null;
        }

        /** Rows per page of a paged cache; 0 for a dense cache. */
        public int pageSize() {
            return table == null ? 0 : k.dim(1);
        }

        /**
         * The paged cache's K, V, block table and current lengths (for the paged ops), or null for a
         * dense cache.
         */
        public PagedKv paged() {
            if (table == null) {
                return null;
            }
            int[] lens = new int[batch];
            Arrays.fill(lens, length);
            return new PagedKv(k, v, table, lens);
        }

        /** Tokens cached so far (the position of the next token). */
        public int length() {
            return length;
        }

        /** The most tokens the cache holds. */
        public int capacity() {
            return capacity;
        }

        /** B. */
        public int batch() {
            return batch;
        }

        /** Forgets every cached token (the memory is kept). */
        public void reset() {
            length = 0;
        }

        /**
         * The cached keys {@code [B, Hkv, length, D]} (a view of a dense device cache).
         *
         * @throws IllegalStateException for a paged cache (see {@link #paged()})
         */
        public Tensor keys() {
            dense();
            return slice(k, 0, length);
        }

        /**
         * The cached values {@code [B, Hkv, length, D]} (a view of a dense device cache).
         *
         * @throws IllegalStateException for a paged cache (see {@link #paged()})
         */
        public Tensor values() {
            dense();
            return slice(v, 0, length);
        }

        private void dense() {
            if (table != null) {
                throw new IllegalStateException("a paged cache has no dense key/value view; use paged()");
            }
        }

        Tensor slice(Tensor t, int from, int n) {
            return t.view(t.offset() + (long) from * t.stride(2), new int[] {t.dim(0), t.dim(1), n, t.dim(3)}, t.strides());
        }
    }

    /** The arguments of one {@link #forward(Call)}. */
    public static final class Call {
        private final Tensor x, memory, out, weightsOut;
        private final KvCache cache;
        private final Masks masks;
        private final int[] kvLengths;
        private final Boolean causal;
        private final boolean weights, train;

        private Call(Builder b) {
            this.x = b.x;
            this.memory = b.memory;
            this.out = b.out;
            this.weightsOut = b.weightsOut;
            this.cache = b.cache;
            this.masks = b.masks;
            this.kvLengths = b.kvLengths;
            this.causal = b.causal;
            this.weights = b.weights || b.weightsOut != null;
            this.train = b.train;
        }

        /** A call on {@code x [B, S, E]} (host or device). */
        public static Builder builder(Tensor x) {
            return new Builder(x);
        }

        /** Builder of a call. */
        public static final class Builder {
            private final Tensor x;
            private Tensor memory, out, weightsOut;
            private KvCache cache;
            private Masks masks = Masks.NONE;
            private int[] kvLengths;
            private Boolean causal;
            private boolean weights, train;

            Builder(Tensor x) {
                this.x = Check.notNull("x", x);
            }

            /** Cross-attention: keys and values from {@code memory [B, Sk, Ek]}. */
            public Builder memory(Tensor memory) {
                this.memory = memory;
                return this;
            }

            /** Append to (and attend over) a KV cache. */
            public Builder cache(KvCache cache) {
                this.cache = cache;
                return this;
            }

            /** Any SDPA masks (bool mask, bias, ALiBi, windows, q lengths ...) over {@code [B, Hq, S, Sk]}. */
            public Builder masks(Masks masks) {
                this.masks = masks == null ? Masks.NONE : masks;
                return this;
            }

            /** Key padding: keys {@code j >= lengths[b]} are masked. */
            public Builder kvLengths(int... lengths) {
                this.kvLengths = lengths == null ? null : lengths.clone();
                return this;
            }

            /** Causal masking for this call (default: the layer's setting, for self-attention). */
            public Builder causal(boolean causal) {
                this.causal = causal;
                return this;
            }

            /** Also compute the attention weights {@code [B, Hq, S, Sk]} (for plotting). */
            public Builder weights(boolean weights) {
                this.weights = weights;
                return this;
            }

            /** Write the attention weights here ({@code [B, Hq, S, Sk]}, the layer's dtype). */
            public Builder weightsOut(Tensor weights) {
                this.weightsOut = weights;
                return this;
            }

            /**
             * Keep what {@link MultiHeadAttention#backward} needs (a training call; not with a KV
             * cache). The forward also writes SDPA's log-sum-exp; the layer remembers this call until
             * its next forward.
             */
            public Builder train(boolean train) {
                this.train = train;
                return this;
            }

            /** Write Y here ({@code [B, S, E]}, the layer's dtype) instead of the layer's buffer. */
            public Builder out(Tensor out) {
                this.out = out;
                return this;
            }

            /** The call. */
            public Call build() {
                return new Call(this);
            }
        }
    }

    /** Builder of a layer. */
    public static final class Builder {
        private final AttentionWeights weights;
        private DType dtype = DType.F32;
        private boolean causal;
        private float ropeTheta;

        Builder(AttentionWeights weights) {
            this.weights = Check.notNull("weights", weights);
        }

        /** Storage dtype of weights and activations (F32 default; F16, BF16). */
        public Builder dtype(DType dtype) {
            Check.arg(dtype != null && dtype.isFloat(), "dtype", "F32, F16 or BF16", dtype);
            this.dtype = dtype;
            return this;
        }

        /** Causal self-attention by default (the masked decoder attention). */
        public Builder causal(boolean causal) {
            this.causal = causal;
            return this;
        }

        /** Rotary position embedding of Q and K with base {@code theta} (self-attention); 0 = none. */
        public Builder rope(float theta) {
            Check.arg(theta == 0f || (Float.isFinite(theta) && theta > 1f), "rope theta", "0 (none) or a finite number > 1",
                    theta);
            Check.arg(theta == 0f || weights.headDim() % 2 == 0, "rope", "an even head dim", weights.headDim());
            this.ropeTheta = theta;
            return this;
        }

        /** Uploads the weights to {@code scope}'s device and returns the layer. */
        public MultiHeadAttention build(Scope scope) {
            return new MultiHeadAttention(this, Check.notNull("scope", scope));
        }
    }
}
