package io.github.attn4j.testing;

import io.github.attn4j.AdditiveBackwardParams;
import io.github.attn4j.AdditiveParams;
import io.github.attn4j.DType;
import io.github.attn4j.GemmParams;
import io.github.attn4j.RopeParams;
import io.github.attn4j.Layout;
import io.github.attn4j.KvAppendParams;
import io.github.attn4j.Masks;
import io.github.attn4j.MergeParams;
import io.github.attn4j.OpParams;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.PagedKv;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxBackwardParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.Reference;
import io.github.attn4j.testing.Case.AlibiShape;
import io.github.attn4j.testing.Case.Flag;
import io.github.attn4j.testing.Case.MaskShape;
import io.github.attn4j.testing.Case.Op;
import io.github.attn4j.testing.Case.Special;
import io.github.attn4j.testing.Case.Storage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * The tensors of one case, drawn from its seed: inputs filled with nonzero values, outputs
 * poisoned, all in {@link GuardedBuffer}s. {@link #params(Function)} builds the op record over
 * any view of those buffers (host views for the reference, scope views for the backend).
 */
public final class CaseData {
    private final Case c;
    private final Map<String, GuardedBuffer> inputs = new LinkedHashMap<>();
    private final Map<String, GuardedBuffer> outputs = new LinkedHashMap<>();
    private final SplittableRandom rnd;
    private int[] kvLens;
    private int[] qLens;
    private float scale = Float.NaN;

    private CaseData(Case c) {
        this.c = c;
        this.rnd = new SplittableRandom(c.seed());
    }

    /** Draws the tensors of a case. */
    public static CaseData generate(Case c) {
        CaseData d = new CaseData(c);
        switch (c.op()) {
            case SDPA -> d.sdpa();
            case SOFTMAX -> d.softmax();
            case GEMM -> d.gemm();
            case ROPE -> d.rope();
            case SOFTMAX_BACKWARD -> d.softmaxBackward();
            case ADDITIVE -> d.additive();
            case SDPA_BACKWARD -> d.sdpaBackward();
            case MERGE -> d.merge();
            case KV_APPEND -> d.kvAppend();
        }
        d.inputs.values().forEach(GuardedBuffer::seal);
        d.outputs.values().forEach(GuardedBuffer::seal);
        return d;
    }

    /** The case this data was generated for. */
    public Case testCase() {
        return c;
    }

    /** Inputs by name (in-place outputs appear here and in {@link #outputs()}). */
    public Map<String, GuardedBuffer> inputs() {
        return inputs;
    }

    /** Outputs by name, in the op's output order. */
    public Map<String, GuardedBuffer> outputs() {
        return outputs;
    }

    /** Every distinct buffer, inputs first. */
    public List<GuardedBuffer> buffers() {
        List<GuardedBuffer> l = new ArrayList<>(inputs.values());
        for (GuardedBuffer b : outputs.values()) {
            if (!l.contains(b)) {
                l.add(b);
            }
        }
        return l;
    }

    // ---- generation ------------------------------------------------------------------------

    /** A nonzero value in [-1, -0.001] or [0.001, 1]. */
    private float value() {
        double u = 0.001 + 0.999 * rnd.nextDouble();
        return (float) (rnd.nextBoolean() ? u : -u);
    }

    /** Strides of a 4-D tensor of logical shape [b, h, s, d] in the case's storage. */
    private long[] strides4(int b, int h, int s, int d) {
        return switch (c.storage()) {
            case BHSD -> Layout.BHSD.strides(b, h, s, d);
            case BSHD -> Layout.BSHD.strides(b, h, s, d);
            case PADDED -> {
                long sd = 1, ss = d + 3L, sh = (s + 1L) * ss, sb = h * sh + 5;
                yield new long[] {sb, sh, ss, sd};
            }
        };
    }

    private GuardedBuffer data4(String name, int b, int h, int s, int d) {
        return GuardedBuffer.of(name, c.dtype(), new int[] {b, h, s, d}, strides4(b, h, s, d));
    }

    private GuardedBuffer fill(GuardedBuffer g, float mul) {
        Tensor t = g.hostView();
        forEach(t.shape(), idx -> t.set(value() * mul, idx));
        return g;
    }

    private GuardedBuffer input(GuardedBuffer g) {
        inputs.put(g.name(), g);
        return g;
    }

    private GuardedBuffer output(GuardedBuffer g) {
        outputs.put(g.name(), g.poison());
        return g;
    }

    /** Calls {@code f} with every multi-index of {@code shape}, row-major. */
    static void forEach(int[] shape, java.util.function.Consumer<int[]> f) {
        for (int s : shape) {
            if (s == 0) {
                return;
            }
        }
        int[] idx = new int[shape.length];
        while (true) {
            f.accept(idx);
            int d = shape.length - 1;
            while (d >= 0 && ++idx[d] == shape[d]) {
                idx[d] = 0;
                d--;
            }
            if (d < 0) {
                return;
            }
        }
    }

    private void masks(int b, int h, int sq, int sk) {
        boolean full = c.special() == Special.FULLY_MASKED;
        if (c.kvLengths() || full || c.special() == Special.NAN_MASKED) {
            kvLens = new int[b];
            for (int i = 0; i < b; i++) {
                kvLens[i] = i % 2 == 0 ? Math.max(1, sk - sk / 3 - 1) : sk;
            }
            if (full) {
                kvLens[0] = 0;
            }
        }
        if (c.qLengths()) {
            qLens = new int[b];
            for (int i = 0; i < b; i++) {
                qLens[i] = i % 2 == 0 ? Math.max(1, sq - sq / 3 - 1) : sq;
            }
        }
        if (c.boolMask() != MaskShape.NONE) {
            GuardedBuffer m = input(maskBuffer("mask", DType.BOOL, c.boolMask(), b, h, sq, sk));
            Tensor t = m.hostView();
            forEach(t.shape(), idx -> t.set(rnd.nextDouble() < 0.75 ? 1f : 0f, idx));
            if (full) { // the last row of every mask slice attends nothing
                forEach(t.shape(), idx -> {
                    if (idx[idx.length - 2] == t.dim(t.rank() - 2) - 1) {
                        t.set(0f, idx);
                    }
                });
            }
        }
        if (c.bias() != MaskShape.NONE) {
            GuardedBuffer g = input(maskBuffer("bias", DType.F32, c.bias(), b, h, sq, sk));
            Tensor t = g.hostView();
            forEach(t.shape(), idx -> t.set(rnd.nextDouble() < 0.1 ? Float.NEGATIVE_INFINITY : value(), idx));
            if (full) { // row 0 of every bias slice is all -inf
                forEach(t.shape(), idx -> {
                    if (idx[idx.length - 2] == 0) {
                        t.set(Float.NEGATIVE_INFINITY, idx);
                    }
                });
            }
        }
        if (c.alibi() != AlibiShape.NONE) {
            GuardedBuffer g = input(c.alibi() == AlibiShape.H ? GuardedBuffer.contiguous("alibi", DType.F32, h)
                    : GuardedBuffer.contiguous("alibi", DType.F32, b, h));
            Tensor t = g.hostView();
            forEach(t.shape(), idx -> {
                int head = idx[idx.length - 1];
                double slope = Math.pow(2, -8.0 * (head + 1) / h);
                if (idx.length == 2) {
                    slope *= 1 + 0.5 * idx[0];
                }
                t.set((float) slope, idx);
            });
        }
    }

    private GuardedBuffer maskBuffer(String name, DType dt, MaskShape s, int b, int h, int sq, int sk) {
        if (s == MaskShape.TWO_D) {
            long[] st = c.storage() == Storage.PADDED ? new long[] {sk + 2L, 1} : Tensor.contiguousStrides(sq, sk);
            return GuardedBuffer.of(name, dt, new int[] {sq, sk}, st);
        }
        int mb = s == MaskShape.FULL || s == MaskShape.BATCH ? b : 1;
        int mh = s == MaskShape.FULL || s == MaskShape.HEADS ? h : 1;
        int[] shape = {mb, mh, sq, sk};
        long[] st = c.storage() == Storage.PADDED ? new long[] {mh * sq * (sk + 2L) + 3, sq * (sk + 2L), sk + 2L, 1}
                : Tensor.contiguousStrides(shape);
        return GuardedBuffer.of(name, dt, shape, st);
    }

    private Masks buildMasks(Function<GuardedBuffer, Tensor> view) {
        Masks.Builder m = Masks.builder().alignment(c.alignment()).window(c.windowLeft(), c.windowRight());
        if (kvLens != null) {
            m.kvLengths(kvLens);
        }
        if (qLens != null) {
            m.qLengths(qLens);
        }
        if (inputs.containsKey("mask")) {
            m.boolMask(view.apply(inputs.get("mask")));
        }
        if (inputs.containsKey("bias")) {
            m.bias(view.apply(inputs.get("bias")));
        }
        if (inputs.containsKey("alibi")) {
            m.alibi(view.apply(inputs.get("alibi")));
        }
        return m.build();
    }

    /** The kv length of batch b (the full Sk without kvLengths). */
    private int kvLen(int b, int sk) {
        return kvLens == null ? sk : kvLens[b];
    }

    private void sdpa() {
        int b = c.batch(), hq = c.heads(), hkv = c.headsKv(), sq = c.seqQ(), sk = c.seqK();
        GuardedBuffer q = input(fill(data4("q", b, hq, sq, c.dim()), 1f));
        GuardedBuffer k = input(fill(data4("k", b, hkv, sk, c.dim()), 1f));
        GuardedBuffer v = input(fill(data4("v", b, hkv, sk, c.dimV()), 1f));
        output(data4("o", b, hq, sq, c.dimV()));
        if (c.has(Flag.LSE) || c.op() == Op.SDPA_BACKWARD) {
            long[] st = c.storage() == Storage.PADDED ? new long[] {hq * (sq + 2L) + 1, sq + 2L, 1}
                    : Tensor.contiguousStrides(b, hq, sq);
            output(GuardedBuffer.of("lse", DType.F32, new int[] {b, hq, sq}, st));
        }
        masks(b, hq, sq, sk);
        if (c.has(Flag.PAGED)) { // paged calls always have lengths, and their logical Sk is max(kvLengths)
            if (kvLens == null) {
                kvLens = new int[b];
                java.util.Arrays.fill(kvLens, sk);
            }
            if (java.util.Arrays.stream(kvLens).max().getAsInt() < sk) {
                kvLens[b - 1] = sk;
            }
        }
        scale = c.scale();
        if (c.special() == Special.LARGE) {
            // Raise the scale so that the largest |scale * q.k| is 1e4.
            Tensor tq = q.hostView(), tk = k.hostView();
            double max = 0;
            int g = hq / hkv;
            for (int bi = 0; bi < b; bi++) {
                for (int h = 0; h < hq; h++) {
                    for (int i = 0; i < sq; i++) {
                        for (int j = 0; j < sk; j++) {
                            double dot = 0;
                            for (int x = 0; x < c.dim(); x++) {
                                dot += (double) tq.get(bi, h, i, x) * tk.get(bi, h / g, j, x);
                            }
                            max = Math.max(max, Math.abs(dot));
                        }
                    }
                }
            }
            scale = (float) (1e4 / max);
        }
        if (c.special() == Special.NAN_READ) {
            // A NaN in a query row, in a key that the last rows read, and in a value column.
            q.hostView().set(Float.NaN, 0, 0, sq / 2, 0);
            int bl = b - 1;
            k.hostView().set(Float.NaN, bl, hkv - 1, Math.max(0, kvLen(bl, sk) - 1), c.dim() - 1);
            v.hostView().set(Float.NaN, 0, 0, 0, c.dimV() / 2);
        }
        if (c.special() == Special.NAN_MASKED) {
            poisonMaskedKeys(k.hostView(), v.hostView(), b, hkv, sk);
        }
        if (c.has(Flag.SINKS)) {
            Tensor t = input(GuardedBuffer.contiguous("sinks", DType.F32, hq)).hostView();
            for (int h = 0; h < hq; h++) {
                t.set(h == 0 ? 6f : 3f * value(), h); // head 0: a sink that outweighs most rows
            }
        }
        if (c.has(Flag.PAGED)) {
            page(k, v, b, hkv, sk);
        }
    }

    /**
     * Moves K and V into a paged cache: the pages of the sequences in shuffled order, every slot
     * past a sequence's length NaN, spare pages NaN, table entries past the length garbage.
     */
    private void page(GuardedBuffer k, GuardedBuffer v, int b, int hkv, int sk) {
        int ps = c.pageSize(), per = (sk + ps - 1) / ps, maxPages = per + 1, np = b * per + 3;
        int[] perm = new int[np];
        for (int x = 0; x < np; x++) {
            perm[x] = x;
        }
        for (int x = np - 1; x > 0; x--) {
            int y = rnd.nextInt(x + 1), t = perm[x];
            perm[x] = perm[y];
            perm[y] = t;
        }
        Tensor tk = k.hostView(), tv = v.hostView();
        Tensor kc = input(GuardedBuffer.contiguous("kcache", c.dtype(), np, ps, hkv, c.dim())).hostView();
        Tensor vc = input(GuardedBuffer.contiguous("vcache", c.dtype(), np, ps, hkv, c.dimV())).hostView();
        Tensor bt = input(GuardedBuffer.contiguous("table", DType.I32, b, maxPages)).hostView();
        forEach(kc.shape(), idx -> kc.set(Float.NaN, idx));
        forEach(vc.shape(), idx -> vc.set(Float.NaN, idx));
        int next = 0;
        for (int bi = 0; bi < b; bi++) {
            int used = (kvLens[bi] + ps - 1) / ps;
            for (int e = 0; e < maxPages; e++) {
                bt.set(e < used ? perm[next++] : (e % 2 == 0 ? -7f : (float) (1 << 30)), bi, e);
            }
            for (int j = 0; j < kvLens[bi]; j++) {
                int pg = (int) bt.get(bi, j / ps);
                for (int h = 0; h < hkv; h++) {
                    for (int x = 0; x < c.dim(); x++) {
                        kc.set(tk.get(bi, h, j, x), pg, j % ps, h, x);
                    }
                    for (int x = 0; x < c.dimV(); x++) {
                        vc.set(tv.get(bi, h, j, x), pg, j % ps, h, x);
                    }
                }
            }
        }
        inputs.remove("k");
        inputs.remove("v");
    }

    /**
     * The SDPA backward's data: the forward's inputs as for SDPA, O and LSE computed by the float64
     * reference (O rounded to the storage dtype, as a forward would store it) and passed as inputs,
     * a random dO, and the outputs dQ, dK, dV and, with a bias, dBias (F32, the bias's shape).
     */
    private void sdpaBackward() {
        sdpa();
        GuardedBuffer o = outputs.remove("o");
        GuardedBuffer lse = outputs.remove("lse");
        SdpaParams.Builder fb = SdpaParams.builder(inputs.get("q").hostView(), inputs.get("k").hostView(),
                inputs.get("v").hostView(), o.hostView()).lse(lse.hostView()).masks(buildMasks(GuardedBuffer::hostView));
        if (!Float.isNaN(scale)) {
            fb.scale(scale);
        }
        if (c.softcap() > 0) {
            fb.softcap(c.softcap());
        }
        Reference.SdpaResult fwd = Reference.sdpa(fb.build());
        Reference.store(fwd.o(), o.hostView());
        Reference.store(fwd.lse(), lse.hostView());
        input(o);
        input(lse);
        int b = c.batch(), hq = c.heads(), hkv = c.headsKv(), sq = c.seqQ(), sk = c.seqK();
        input(fill(data4("dout", b, hq, sq, c.dimV()), 1f));
        output(data4("dq", b, hq, sq, c.dim()));
        output(data4("dk", b, hkv, sk, c.dim()));
        output(data4("dv", b, hkv, sk, c.dimV()));
        if (c.bias() != MaskShape.NONE) {
            output(maskBuffer("dbias", DType.F32, c.bias(), b, hq, sq, sk));
        }
    }

    /** NaN in every K and V element of keys beyond the batch's kv length. */
    private void poisonMaskedKeys(Tensor k, Tensor v, int b, int h, int sk) {
        for (int bi = 0; bi < b; bi++) {
            for (int h0 = 0; h0 < h; h0++) {
                for (int j = kvLen(bi, sk); j < sk; j++) {
                    for (int x = 0; x < k.dim(3); x++) {
                        k.set(Float.NaN, bi, h0, j, x);
                    }
                    for (int x = 0; x < v.dim(3); x++) {
                        v.set(Float.NaN, bi, h0, j, x);
                    }
                }
            }
        }
    }

    private GuardedBuffer rows(String name) {
        int b = c.batch(), h = c.heads(), sq = c.seqQ(), sk = c.seqK();
        if (c.has(Flag.TWO_D)) {
            int r = b * h * sq;
            long[] st = c.storage() == Storage.PADDED ? new long[] {sk + 3L, 1} : Tensor.contiguousStrides(r, sk);
            return GuardedBuffer.of(name, c.dtype(), new int[] {r, sk}, st);
        }
        return data4(name, b, h, sq, sk);
    }

    private void softmax() {
        int b = c.batch(), h = c.heads(), sq = c.seqQ(), sk = c.seqK();
        GuardedBuffer x = input(fill(rows("x"), c.special() == Special.LARGE ? 1e4f : 4f));
        if (c.has(Flag.IN_PLACE)) {
            outputs.put("y", x);
        } else {
            output(rows("y"));
        }
        masks(b, h, sq, sk);
        scale = c.scale();
        Tensor t = x.hostView();
        if (c.special() == Special.NAN_READ) {
            setRow(t, 0, sk - 1, Float.NaN);
            setRow(t, b * h * sq - 1, 0, Float.NaN);
        }
        if (c.special() == Special.NAN_MASKED) {
            for (int bi = 0; bi < b; bi++) {
                for (int r = 0; r < h * sq; r++) {
                    for (int j = kvLen(bi, sk); j < sk; j++) {
                        setRow(t, bi * h * sq + r, j, Float.NaN);
                    }
                }
            }
        }
    }

    /** Sets element (row, j) of a [B, H, Sq, Sk] or [R, N] tensor, rows counted over B*H*Sq. */
    private void setRow(Tensor t, int row, int j, float v) {
        if (t.rank() == 2) {
            t.set(v, row, j);
        } else {
            int sq = t.dim(2), h = t.dim(1);
            t.set(v, row / sq / h, (row / sq) % h, row % sq, j);
        }
    }

    private void softmaxBackward() {
        int b = c.batch(), h = c.heads(), sq = c.seqQ(), sk = c.seqK();
        GuardedBuffer y = input(rows("y"));
        Tensor ty = y.hostView();
        long rows = (long) b * h * sq;
        for (int r = 0; r < rows; r++) { // a softmax output: positive, sums to 1, a few exact zeros
            double[] e = new double[sk];
            double sum = 0;
            for (int j = 0; j < sk; j++) {
                e[j] = (sk > 1 && rnd.nextDouble() < 0.1) ? 0 : Math.exp(2 * value());
                sum += e[j];
            }
            for (int j = 0; j < sk; j++) {
                setRow(ty, r, j, (float) (sum == 0 ? 0 : e[j] / sum));
            }
        }
        GuardedBuffer dy = input(fill(rows("dy"), 1f));
        if (c.has(Flag.IN_PLACE)) {
            outputs.put("dx", dy);
        } else {
            output(rows("dx"));
        }
        scale = c.scale();
        if (c.special() == Special.NAN_READ) {
            setRow(dy.hostView(), (int) (rows - 1), sk / 2, Float.NaN);
        }
    }

    private void additive() {
        int b = c.batch(), h = c.heads(), sq = c.seqQ(), sk = c.seqK(), a = c.dim();
        GuardedBuffer q, k;
        if (c.has(Flag.RAW)) {
            q = input(fill(data4("q", b, h, sq, c.rawDimQ()), 1f));
            k = input(fill(data4("k", b, h, sk, c.rawDimK()), 1f));
            // Weights scaled by 1/sqrt(width) keep the projections O(1), where tanh is not saturated.
            input(fill(weights("wq", a, c.rawDimQ()), (float) (1.5 / Math.sqrt(c.rawDimQ()))));
            input(fill(weights("wk", a, c.rawDimK()), (float) (1.5 / Math.sqrt(c.rawDimK()))));
        } else {
            q = input(fill(data4("q", b, h, sq, a), 1f));
            k = input(fill(data4("k", b, h, sk, a), 1f));
        }
        GuardedBuffer v = input(fill(data4("v", b, h, sk, c.dimV()), 1f));
        // |e| <= sum |w|: raise w so that the logits reach about 1e4 in LARGE cases.
        input(fill(GuardedBuffer.contiguous("w", c.dtype(), a), c.special() == Special.LARGE ? 2e4f / a : 2f));
        if (c.has(Flag.ADD_BIAS)) {
            input(fill(GuardedBuffer.contiguous("b", c.dtype(), a), 0.5f));
        }
        if (c.has(Flag.BACKWARD)) {
            input(fill(data4("dout", b, h, sq, c.dimV()), 1f));
            output(data4("dq", b, h, sq, c.has(Flag.RAW) ? c.rawDimQ() : a));
            output(data4("dk", b, h, sk, c.has(Flag.RAW) ? c.rawDimK() : a));
            output(data4("dv", b, h, sk, c.dimV()));
            output(GuardedBuffer.contiguous("dw", c.dtype(), a));
            if (c.has(Flag.ADD_BIAS)) {
                output(GuardedBuffer.contiguous("db", c.dtype(), a));
            }
            if (c.has(Flag.RAW)) {
                output(weights("dwq", a, c.rawDimQ()));
                output(weights("dwk", a, c.rawDimK()));
            }
        } else {
            output(data4("out", b, h, sq, c.dimV()));
        }
        if (c.has(Flag.WEIGHTS) && !c.has(Flag.BACKWARD)) {
            output(data4("weights", b, h, sq, sk));
        }
        masks(b, h, sq, sk);
        if (c.special() == Special.NAN_READ) {
            q.hostView().set(Float.NaN, 0, 0, sq / 2, 0);
            v.hostView().set(Float.NaN, b - 1, h - 1, Math.max(0, kvLen(b - 1, sk) - 1), 0);
        }
        if (c.special() == Special.NAN_MASKED) {
            poisonMaskedKeys(k.hostView(), v.hostView(), b, h, sk);
        }
    }

    /** The LSE-shaped [b, h, s] F32 buffer in the case's storage. */
    private GuardedBuffer rows3(String name, int b, int h, int s) {
        long[] st = c.storage() == Storage.PADDED ? new long[] {h * (s + 2L) + 1, s + 2L, 1}
                : Tensor.contiguousStrides(b, h, s);
        return GuardedBuffer.of(name, DType.F32, new int[] {b, h, s}, st);
    }

    /**
     * Merge: {@code dim} parts. LSE_i in [-4, 4] (LARGE: +-1e4, so all but the largest weight
     * underflow), about one part-row in six empty (-inf) with NaN in its O_i row, which must never be
     * read; FULLY_MASKED: row 0 of every (b, h) empty in every part; NAN_READ: a NaN LSE in one row
     * and a NaN in a read O_i element of another.
     */
    private void merge() {
        int b = c.batch(), h = c.heads(), s = c.seqQ(), dv = c.dimV(), n = c.dim();
        for (int i = 0; i < n; i++) {
            input(fill(data4("part" + i, b, h, s, dv), 1f));
        }
        for (int i = 0; i < n; i++) {
            GuardedBuffer g = input(rows3("lse" + i, b, h, s));
            Tensor t = g.hostView();
            float mul = c.special() == Special.LARGE ? 1e4f : 4f;
            forEach(t.shape(), idx -> t.set(rnd.nextDouble() < 1.0 / 6 || (c.special() == Special.FULLY_MASKED
                    && idx[2] == 0) ? Float.NEGATIVE_INFINITY : value() * mul, idx));
        }
        output(data4("o", b, h, s, dv));
        if (c.has(Flag.LSE)) {
            output(rows3("lse", b, h, s));
        }
        for (int i = 0; i < n; i++) { // empty parts: garbage that must not be read
            Tensor l = inputs.get("lse" + i).hostView(), o = inputs.get("part" + i).hostView();
            forEach(l.shape(), idx -> {
                if (l.get(idx) == Float.NEGATIVE_INFINITY) {
                    for (int x = 0; x < dv; x++) {
                        o.set(Float.NaN, idx[0], idx[1], idx[2], x);
                    }
                }
            });
        }
        if (c.special() == Special.NAN_READ) {
            inputs.get("lse0").hostView().set(Float.NaN, 0, 0, s / 2);
            inputs.get("lse" + (n - 1)).hostView().set(0.5f, b - 1, h - 1, s - 1);
            Tensor o = inputs.get("part" + (n - 1)).hostView();
            for (int x = 0; x < dv; x++) {
                o.set(value(), b - 1, h - 1, s - 1, x);
            }
            o.set(Float.NaN, b - 1, h - 1, s - 1, dv / 2);
        }
    }

    private int[] startPositions;
    private int[] appendLengths;

    /**
     * KV append: caches full of garbage (random values, NaN in every tenth element), some pages
     * never used, the block table a shuffled assignment of pages with garbage (-7, numPages + 5)
     * in the entries the append does not reach; start positions at, before and across page ends.
     * The caches are inputs and outputs (written in place): everything the append does not write
     * must come back unchanged.
     */
    private void kvAppend() {
        int b = c.batch(), h = c.heads(), sn = c.seqQ(), ps = c.seqK();
        input(fill(data4("k_new", b, h, sn, c.dim()), 1f));
        input(fill(data4("v_new", b, h, sn, c.dimV()), 1f));
        startPositions = new int[b];
        appendLengths = c.kvLengths() ? new int[b] : null;
        int maxPages = 1;
        for (int i = 0; i < b; i++) {
            startPositions[i] = i == 0 ? 0 : rnd.nextInt(3 * ps + 1);
            if (appendLengths != null) {
                appendLengths[i] = i % 3 == 1 ? 0 : i % 3 == 2 ? Math.max(1, sn / 2) : sn;
            }
            maxPages = Math.max(maxPages, (startPositions[i] + sn + ps - 1) / ps + 1);
        }
        int pages = b * maxPages + 3;
        List<Integer> perm = new ArrayList<>();
        for (int i = 0; i < pages; i++) {
            perm.add(i);
        }
        java.util.Collections.shuffle(perm, new java.util.Random(rnd.nextLong()));
        GuardedBuffer bt = input(GuardedBuffer.contiguous("block_table", DType.I32, b, maxPages));
        Tensor t = bt.hostView();
        for (int i = 0; i < b; i++) {
            int n = appendLengths == null ? sn : appendLengths[i];
            int first = startPositions[i] / ps, last = n == 0 ? first - 1 : (startPositions[i] + n - 1) / ps;
            for (int j = 0; j < maxPages; j++) {
                boolean used = j >= first && j <= last;
                t.set(used ? perm.get(i * maxPages + j) : (j % 2 == 0 ? -7 : pages + 5), i, j);
            }
        }
        for (String n : new String[] {"k_cache", "v_cache"}) {
            GuardedBuffer g = input(data4(n, pages, ps, h, n.equals("k_cache") ? c.dim() : c.dimV()));
            Tensor ct = g.hostView();
            int[] k = {0};
            forEach(ct.shape(), idx -> ct.set(k[0]++ % 10 == 3 ? Float.NaN : value() * 3, idx));
            outputs.put(n, g);
        }
    }

    /**
     * A matrix operand {@code [z, r, c]} in the case's storage: contiguous, or with padding after
     * every row and every matrix (PADDED); a rank-2 {@code [r, c]} when {@code z} is 0.
     */
    private GuardedBuffer matrix(String name, int z, int r, int cols) {
        boolean pad = c.storage() == Storage.PADDED;
        long rs = pad ? cols + 3L : cols, zs = pad ? r * rs + 5 : (long) r * cols;
        return z == 0 ? GuardedBuffer.of(name, c.dtype(), new int[] {r, cols}, new long[] {rs, 1})
                : GuardedBuffer.of(name, c.dtype(), new int[] {z, r, cols}, new long[] {zs, rs, 1});
    }

    private void gemm() {
        int z = c.batch(), m = c.seqQ(), n = c.seqK(), k = c.dim();
        boolean ta = c.has(Flag.TRANS_A), tb = c.has(Flag.TRANS_B);
        GuardedBuffer a = input(fill(ta ? matrix("a", z, k, m) : matrix("a", z, m, k), 1f));
        int zb = c.has(Flag.SHARED_B) ? 0 : z;
        GuardedBuffer b = input(fill(tb ? matrix("b", zb, n, k) : matrix("b", zb, k, n),
                c.special() == Special.LARGE ? 1e4f : 1f));
        if (c.has(Flag.BETA)) {
            outputs.put("c", input(fill(matrix("c", z, m, n), 1f)));
        } else {
            output(matrix("c", z, m, n));
        }
        scale = c.scale();
        if (c.special() == Special.NAN_READ) {
            Tensor t = a.hostView();
            t.set(Float.NaN, 0, ta ? k / 2 : m / 2, ta ? m / 2 : k / 2);
        }
    }

    private void rope() {
        GuardedBuffer x = input(fill(data4("x", c.batch(), c.heads(), c.seqQ(), c.dim()), 1f));
        if (c.has(Flag.IN_PLACE)) {
            outputs.put("out", x);
        } else {
            output(data4("out", c.batch(), c.heads(), c.seqQ(), c.dim()));
        }
        scale = c.scale();
        if (c.special() == Special.NAN_READ) {
            x.hostView().set(Float.NaN, c.batch() - 1, 0, c.seqQ() / 2, c.dim() / 2);
        }
    }

    private GuardedBuffer weights(String name, int a, int d) {
        long[] st = c.storage() == Storage.PADDED ? new long[] {d + 1L, 1} : Tensor.contiguousStrides(a, d);
        return GuardedBuffer.of(name, c.dtype(), new int[] {a, d}, st);
    }

    // ---- params ----------------------------------------------------------------------------

    /**
     * The op record over views of the buffers: {@code view} maps each buffer to the tensor the op
     * sees ({@link GuardedBuffer#hostView()} for the reference, a scope view for the backend).
     */
    public OpParams params(Function<GuardedBuffer, Tensor> view) {
        Masks m = buildMasks(view);
        return switch (c.op()) {
            case SDPA -> {
                SdpaParams.Builder p = c.has(Flag.PAGED)
                        ? SdpaParams.builder(view.apply(inputs.get("q")), new PagedKv(view.apply(inputs.get("kcache")),
                                view.apply(inputs.get("vcache")), view.apply(inputs.get("table")), kvLens),
                                view.apply(outputs.get("o")))
                        : SdpaParams.builder(view.apply(inputs.get("q")), view.apply(inputs.get("k")),
                                view.apply(inputs.get("v")), view.apply(outputs.get("o")));
                p.masks(m);
                if (inputs.containsKey("sinks")) {
                    p.sinks(view.apply(inputs.get("sinks")));
                }
                if (outputs.containsKey("lse")) {
                    p.lse(view.apply(outputs.get("lse")));
                }
                if (!Float.isNaN(scale)) {
                    p.scale(scale);
                }
                if (c.softcap() > 0) {
                    p.softcap(c.softcap());
                }
                yield p.build();
            }
            case SOFTMAX -> {
                Tensor x = view.apply(inputs.get("x"));
                Tensor y = c.has(Flag.IN_PLACE) ? x : view.apply(outputs.get("y"));
                SoftmaxParams.Builder p = SoftmaxParams.builder(x, y).masks(m);
                if (!Float.isNaN(scale)) {
                    p.scale(scale);
                }
                yield p.build();
            }
            case SOFTMAX_BACKWARD -> {
                Tensor dy = view.apply(inputs.get("dy"));
                Tensor dx = c.has(Flag.IN_PLACE) ? dy : view.apply(outputs.get("dx"));
                SoftmaxBackwardParams.Builder p = SoftmaxBackwardParams.builder(view.apply(inputs.get("y")), dy, dx);
                if (!Float.isNaN(scale)) {
                    p.scale(scale);
                }
                yield p.build();
            }
            case SDPA_BACKWARD -> {
                SdpaBackwardParams.Builder p = SdpaBackwardParams.builder(view.apply(inputs.get("q")),
                        view.apply(inputs.get("k")), view.apply(inputs.get("v")), view.apply(inputs.get("o")),
                        view.apply(inputs.get("dout")), view.apply(inputs.get("lse")), view.apply(outputs.get("dq")),
                        view.apply(outputs.get("dk")), view.apply(outputs.get("dv"))).masks(m);
                if (outputs.containsKey("dbias")) {
                    p.dbias(view.apply(outputs.get("dbias")));
                }
                if (!Float.isNaN(scale)) {
                    p.scale(scale);
                }
                if (c.softcap() > 0) {
                    p.softcap(c.softcap());
                }
                yield p.build();
            }
            case ADDITIVE -> {
                if (c.has(Flag.BACKWARD)) {
                    yield additiveBackward(view, m);
                }
                AdditiveParams.Builder p = AdditiveParams.builder(view.apply(inputs.get("q")),
                        view.apply(inputs.get("k")), view.apply(inputs.get("v")), view.apply(inputs.get("w")),
                        view.apply(outputs.get("out"))).masks(m);
                if (inputs.containsKey("b")) {
                    p.tanhBias(view.apply(inputs.get("b")));
                }
                if (inputs.containsKey("wq")) {
                    p.projections(view.apply(inputs.get("wq")), view.apply(inputs.get("wk")));
                }
                if (outputs.containsKey("weights")) {
                    p.weights(view.apply(outputs.get("weights")));
                }
                yield p.build();
            }
            case KV_APPEND -> KvAppendParams.builder(view.apply(inputs.get("k_new")), view.apply(inputs.get("v_new")),
                    view.apply(inputs.get("k_cache")), view.apply(inputs.get("v_cache")),
                    view.apply(inputs.get("block_table")), startPositions).appendLengths(appendLengths).build();
            case MERGE -> {
                List<Tensor> o = new ArrayList<>(), l = new ArrayList<>();
                for (int i = 0; i < c.dim(); i++) {
                    o.add(view.apply(inputs.get("part" + i)));
                    l.add(view.apply(inputs.get("lse" + i)));
                }
                MergeParams.Builder p = MergeParams.builder(o, l, view.apply(outputs.get("o")));
                if (outputs.containsKey("lse")) {
                    p.lse(view.apply(outputs.get("lse")));
                }
                yield p.build();
            }
            case GEMM -> {
                GemmParams.Builder p = GemmParams.builder(view.apply(inputs.get("a")), view.apply(inputs.get("b")),
                        view.apply(outputs.get("c"))).transA(c.has(Flag.TRANS_A)).transB(c.has(Flag.TRANS_B));
                if (!Float.isNaN(scale)) {
                    p.alpha(scale);
                }
                if (c.has(Flag.BETA)) {
                    p.beta(0.5f);
                }
                yield p.build();
            }
            case ROPE -> {
                Tensor x = view.apply(inputs.get("x"));
                RopeParams.Builder p = RopeParams.builder(x, c.has(Flag.IN_PLACE) ? x : view.apply(outputs.get("out")))
                        .offset(c.seqK());
                if (!Float.isNaN(scale)) {
                    p.theta(scale);
                }
                if (c.has(Flag.INVERSE)) {
                    p.inverse();
                }
                yield p.build();
            }
        };
    }

    private AdditiveBackwardParams additiveBackward(Function<GuardedBuffer, Tensor> view, Masks m) {
        AdditiveBackwardParams.Builder p = AdditiveBackwardParams.builder(view.apply(inputs.get("q")),
                view.apply(inputs.get("k")), view.apply(inputs.get("v")), view.apply(inputs.get("w")),
                view.apply(inputs.get("dout")), view.apply(outputs.get("dq")), view.apply(outputs.get("dk")),
                view.apply(outputs.get("dv")), view.apply(outputs.get("dw"))).masks(m);
        if (inputs.containsKey("b")) {
            p.tanhBias(view.apply(inputs.get("b"))).tanhBiasGrad(view.apply(outputs.get("db")));
        }
        if (inputs.containsKey("wq")) {
            p.projections(view.apply(inputs.get("wq")), view.apply(inputs.get("wk")))
                    .projectionGrads(view.apply(outputs.get("dwq")), view.apply(outputs.get("dwk")));
        }
        return p.build();
    }

    /** The op of this data, for callers that switch on it. */
    Op op() {
        return c.op();
    }
}
