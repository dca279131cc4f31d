package io.github.attn4j.testing;

import io.github.attn4j.Alignment;
import io.github.attn4j.DType;
import io.github.attn4j.testing.Case.AlibiShape;
import io.github.attn4j.testing.Case.Builder;
import io.github.attn4j.testing.Case.Flag;
import io.github.attn4j.testing.Case.MaskShape;
import io.github.attn4j.testing.Case.Op;
import io.github.attn4j.testing.Case.Special;
import io.github.attn4j.testing.Case.Storage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The case matrix, built with nested loops and pruned (ggml {@code test-backend-ops} style).
 *
 * <p>Each op gets the same sections: shapes (sizes 1, 7, 17, 113, 129, 1000 and, for SDPA, every
 * head dim in {16, 32, 40, 64, 72, 96, 128, 256} and Dv != D, GQA ratios 1, 2, 4, 8); every mask
 * kind alone, with both alignments for the kinds where alignment matters (window, causal, ALiBi)
 * and Sq != Sk both ways; masks combined; fully masked rows; special data (+-1e4 logits, NaN
 * that must propagate, NaN behind a mask that must not); storage (BHSD, BSHD, padded strides);
 * then F16 and BF16 over a pruned copy of the same sections. Large sizes come only with small B, H
 * and D, so that the whole matrix runs on a 2-core CPU OpenCL device in a few minutes.
 */
public final class CaseMatrix {
    private CaseMatrix() {}

    /** The sizes every op is run at. */
    public static final int[] SIZES = {1, 7, 17, 113, 129, 1000};
    /** SDPA head dims. */
    public static final int[] HEAD_DIMS = {16, 32, 40, 64, 72, 96, 128, 256};
    /** (Sq, Sk) pairs with Sq != Sk both ways, for the mask sections. */
    private static final int[][] MASK_SIZES = {{7, 17}, {17, 7}, {113, 129}, {129, 113}};
    private static final DType[] HALF = {DType.F16, DType.BF16};

    /** Every case, with the default seed. */
    public static List<Case> all() {
        return all(Case.DEFAULT_SEED);
    }

    /** Every case, each drawing its inputs from {@code seed}. */
    public static List<Case> all(long seed) {
        Map<String, Case> m = new LinkedHashMap<>();
        Consumer<Builder> add = b -> {
            Case c = b.seed(seed).build();
            m.putIfAbsent(c.name(), c);
        };
        sdpa(add);
        softmax(add);
        softmaxBackward(add);
        additive(add);
        gemm(add);
        rope(add);
        sdpaBackward(add);
        merge(add);
        kvAppend(add);
        additiveBackward(add);
        sdpaServing(add);
        return List.copyOf(m.values());
    }

    /**
     * A small subset for quick checks: every case of {@link #all(long)} with Sq, Sk &le; 17 and
     * D, Dv &le; 64 (so every mask kind, special, storage and dtype, at small sizes).
     */
    public static List<Case> quick(long seed) {
        List<Case> l = new ArrayList<>();
        for (Case c : all(seed)) {
            if (c.seqQ() <= 17 && c.seqK() <= 17 && c.dim() <= 64 && c.dimV() <= 64 && c.rawDimQ() <= 64) {
                l.add(c);
            }
        }
        return l;
    }

    /** The small cases of the matrix with the default seed ({@link #quick(long)}). */
    public static List<Case> quick() {
        return quick(Case.DEFAULT_SEED);
    }

    /**
     * The long-sequence SDPA cases of issue 3 (B = H = 1, Sq = Sk = 32768, D = 32), plain and causal,
     * checked on 64 sampled rows with {@code Reference.sdpaRow}. Not in {@link #all()}: they take
     * minutes on a CPU OpenCL device.
     */
    public static List<Case> longSequence(long seed) {
        List<Case> l = new ArrayList<>();
        for (boolean causal : new boolean[] {false, true}) {
            Builder b = sdpa().seq(32768, 32768).dims(32, 32).flag(Flag.LSE).sampledRows(64).seed(seed);
            if (causal) {
                b.causal();
            }
            l.add(b.build());
        }
        return l;
    }

    /** The cases of one op ({@code null} = all) whose name matches {@code regex} ({@code null} = all; find()). */
    public static List<Case> filter(List<Case> cases, Op op, String regex) {
        Pattern p = regex == null ? null : Pattern.compile(regex);
        List<Case> l = new ArrayList<>();
        for (Case c : cases) {
            if ((op == null || c.op() == op) && (p == null || p.matcher(c.name()).find())) {
                l.add(c);
            }
        }
        return l;
    }

    // ---- SDPA serving: sinks and paged KV ---------------------------------------------------

    /**
     * Sinks (a runtime flag: these reuse the plain kernel variants) and paged K/V (page sizes 1, 5
     * and 16; decode, chunked prefill with either alignment, every mask kind, NaN in unused slots).
     */
    private static void sdpaServing(Consumer<Builder> add) {
        add.accept(sdpa().bh(2, 2).seq(7, 17).dims(32, 32).flag(Flag.LSE).flag(Flag.SINKS));
        add.accept(sdpa().bh(2, 4).heads(4, 2).seq(17, 7).dims(32, 32).causal().flag(Flag.LSE).flag(Flag.SINKS));
        add.accept(sdpa().bh(2, 2).seq(17, 17).dims(32, 32).special(Special.FULLY_MASKED).flag(Flag.LSE)
                .flag(Flag.SINKS));
        add.accept(sdpa().bh(2, 2).seq(7, 17).dims(32, 32).causal().kvLengths(true).qLengths(true).flag(Flag.LSE)
                .flag(Flag.SINKS));
        add.accept(sdpa().bh(2, 2).seq(7, 17).dims(32, 32).special(Special.NAN_READ).flag(Flag.LSE).flag(Flag.SINKS));
        add.accept(sdpa().bh(1, 2).seq(7, 17).dims(64, 64).special(Special.LARGE).flag(Flag.LSE).flag(Flag.SINKS));
        for (DType t : HALF) {
            add.accept(sdpa().dtype(t).bh(2, 2).seq(7, 17).dims(32, 32).flag(Flag.LSE).flag(Flag.SINKS));
            add.accept(sdpa().dtype(t).bh(2, 8).heads(8, 2).seq(1, 113).dims(64, 64).causal().kvLengths(true)
                    .flag(Flag.LSE).flag(Flag.PAGED));
        }
        // Paged: decode (Sq = 1, GQA, page 16), small pages, chunked prefill, every mask kind.
        add.accept(sdpa().bh(2, 8).heads(8, 2).seq(1, 113).dims(64, 64).causal().kvLengths(true).flag(Flag.LSE)
                .flag(Flag.PAGED));
        add.accept(sdpa().bh(3, 4).heads(4, 1).seq(1, 17).dims(32, 32).flag(Flag.LSE).flag(Flag.PAGED));
        add.accept(sdpa().bh(2, 2).seq(1, 3).dims(32, 32).kvLengths(true).flag(Flag.LSE).flag(Flag.PAGED));
        // decode groups above the 4-head register block of the CPU decode kernel (6: a partial block; 8), two kv
        // heads per work-item in the paged layout, a window, sinks, dense BSHD (kv heads interleaved row by row)
        add.accept(sdpa().bh(2, 12).heads(12, 2).seq(1, 300).dims(32, 32).window(200, 0).kvLengths(true)
                .flag(Flag.LSE).flag(Flag.PAGED).flag(Flag.SINKS));
        add.accept(sdpa().bh(1, 16).heads(16, 2).seq(1, 300).dims(64, 64).storage(Storage.BSHD).flag(Flag.LSE));
        for (Alignment a : Alignment.values()) {
            add.accept(sdpa().bh(2, 2).seq(7, 17).dims(32, 32).alignment(a).causal().kvLengths(true).flag(Flag.LSE)
                    .flag(Flag.PAGED));
            add.accept(sdpa().bh(2, 4).heads(4, 2).seq(7, 17).dims(32, 32).alignment(a).window(3, 2).alibi(AlibiShape.H)
                    .kvLengths(true).flag(Flag.LSE).flag(Flag.PAGED));
        }
        add.accept(sdpa().bh(2, 4).heads(4, 2).seq(7, 17).dims(32, 32).boolMask(MaskShape.FULL).bias(MaskShape.BATCH)
                .softcap(5f).qLengths(true).flag(Flag.LSE).flag(Flag.PAGED));
        add.accept(sdpa().bh(2, 2).seq(7, 17).dims(32, 32).kvLengths(true).special(Special.NAN_MASKED).flag(Flag.LSE)
                .flag(Flag.PAGED).flag(Flag.SINKS));
        add.accept(sdpa().bh(2, 2).seq(7, 17).dims(32, 32).special(Special.FULLY_MASKED).flag(Flag.LSE)
                .flag(Flag.PAGED).flag(Flag.SINKS));
        add.accept(sdpa().bh(2, 2).seq(7, 17).dims(40, 24).storage(Storage.BSHD).causal().flag(Flag.LSE)
                .flag(Flag.PAGED));
    }

    // ---- SDPA --------------------------------------------------------------------------------

    private static Builder sdpa() {
        return Case.builder(Op.SDPA);
    }

    /** Mask kinds whose meaning depends on the alignment. */
    private static List<Consumer<Builder>> alignedKinds() {
        return List.of(Builder::causal, b -> b.window(3, 2), b -> b.window(-1, 5), b -> b.window(8, -1),
                b -> b.window(0, 0), b -> b.alibi(AlibiShape.H), b -> b.alibi(AlibiShape.BH));
    }

    /**
     * Extreme window bounds for sizes (Sq, Sk) (issue 9, point 2): {@code Integer.MAX_VALUE}, which
     * overflows {@code i + off + right} in 32-bit arithmetic, {@code Sk + Sq} (the largest bound
     * that still changes nothing) and 0, on each side and against an unbounded (-1) or 0 other side.
     * Every pair is run with both alignments and Sq != Sk both ways.
     */
    static List<int[]> extremeWindows(int sq, int sk) {
        int max = Integer.MAX_VALUE, all = sk + sq;
        return List.of(new int[] {max, max}, new int[] {-1, max}, new int[] {max, -1}, new int[] {max, 0},
                new int[] {0, max}, new int[] {all, all}, new int[] {all, 0}, new int[] {0, all},
                new int[] {-1, all}, new int[] {all, -1});
    }

    /** Sizes for {@link #extremeWindows(int, int)}: Sq < Sk, Sq > Sk (BOTTOM_RIGHT offset negative). */
    private static final int[][] EXTREME_SIZES = {{7, 17}, {17, 7}};

    /** Adds {@code base} with every extreme window, both alignments, both {@link #EXTREME_SIZES}. */
    private static void extremeWindows(Consumer<Builder> add, Supplier<Builder> base) {
        for (int[] s : EXTREME_SIZES) {
            for (Alignment a : Alignment.values()) {
                for (int[] w : extremeWindows(s[0], s[1])) {
                    add.accept(base.get().seq(s[0], s[1]).alignment(a).window(w[0], w[1]));
                }
            }
        }
    }

    /** Mask kinds that ignore the alignment (softcap: SDPA only). */
    private static List<Consumer<Builder>> unalignedKinds(boolean softcap) {
        List<Consumer<Builder>> l = new ArrayList<>();
        l.add(b -> b.kvLengths(true));
        l.add(b -> b.qLengths(true));
        for (MaskShape s : MaskShape.values()) {
            if (s != MaskShape.NONE) {
                l.add(b -> b.boolMask(s));
                l.add(b -> b.bias(s));
            }
        }
        if (softcap) {
            l.add(b -> b.softcap(2.5f));
        }
        return l;
    }

    private static void sdpa(Consumer<Builder> add) {
        int[][] shapeSizes = {{1, 1}, {1, 17}, {7, 17}, {17, 7}, {113, 129}, {129, 113}};
        // Head dims x sizes, no mask, no LSE; then causal with LSE at one size.
        for (int d : HEAD_DIMS) {
            for (int[] s : shapeSizes) {
                add.accept(sdpa().bh(2, 2).seq(s[0], s[1]).dims(d, d));
            }
            add.accept(sdpa().bh(1, 2).seq(113, 129).dims(d, d).causal().flag(Flag.LSE));
        }
        // Dv != D.
        int[][] dv = {{16, 64}, {64, 16}, {40, 72}, {128, 96}, {256, 32}, {32, 256}};
        for (int[] x : dv) {
            for (int[] s : new int[][] {{7, 17}, {129, 113}}) {
                add.accept(sdpa().bh(2, 2).seq(s[0], s[1]).dims(x[0], x[1]).flag(Flag.LSE));
            }
        }
        // GQA ratios 1, 2, 4, 8.
        for (int hkv : new int[] {8, 4, 2, 1}) {
            for (int[] s : new int[][] {{7, 17}, {113, 129}}) {
                add.accept(sdpa().bh(2, 8).heads(8, hkv).seq(s[0], s[1]).dims(64, 64).flag(Flag.LSE));
            }
            add.accept(sdpa().bh(2, 8).heads(8, hkv).seq(17, 129).dims(32, 32).causal().kvLengths(true)
                    .flag(Flag.LSE));
        }
        // Large sizes, small B, H, D.
        add.accept(sdpa().seq(1000, 1000).dims(16, 16).flag(Flag.LSE));
        add.accept(sdpa().seq(1000, 1000).dims(32, 32).causal().flag(Flag.LSE));
        add.accept(sdpa().bh(1, 2).heads(2, 1).seq(1, 1000).dims(64, 64).flag(Flag.LSE));
        add.accept(sdpa().seq(1000, 17).dims(32, 32).flag(Flag.LSE));
        add.accept(sdpa().bh(2, 1).seq(7, 1000).dims(128, 128).causal().kvLengths(true).flag(Flag.LSE));
        add.accept(sdpa().seq(1000, 1000).dims(16, 16).window(64, 0).alibi(AlibiShape.H).flag(Flag.LSE));
        // Long rows on sampled rows.
        add.accept(sdpa().seq(4096, 4096).dims(32, 32).flag(Flag.LSE).sampledRows(16));
        add.accept(sdpa().seq(4096, 4096).dims(32, 32).causal().flag(Flag.LSE).sampledRows(16));
        // Every mask kind alone: both alignments where it matters, Sq != Sk both ways.
        for (int[] s : MASK_SIZES) {
            for (Alignment a : Alignment.values()) {
                for (Consumer<Builder> kind : alignedKinds()) {
                    Builder b = sdpa().bh(2, 4).heads(4, 2).seq(s[0], s[1]).dims(32, 32).alignment(a).flag(Flag.LSE);
                    kind.accept(b);
                    add.accept(b);
                }
            }
            for (Consumer<Builder> kind : unalignedKinds(true)) {
                Builder b = sdpa().bh(2, 4).heads(4, 2).seq(s[0], s[1]).dims(32, 32).flag(Flag.LSE);
                kind.accept(b);
                add.accept(b);
            }
        }
        // Extreme window bounds (Integer.MAX_VALUE, Sk + Sq, 0), with ALiBi so that |i + off - j| is read.
        extremeWindows(add, () -> sdpa().bh(2, 2).dims(32, 32).alibi(AlibiShape.H).flag(Flag.LSE));
        // Masks combined.
        for (int[] s : new int[][] {{7, 17}, {17, 7}, {129, 113}}) {
            for (Alignment a : Alignment.values()) {
                add.accept(sdpa().bh(2, 4).heads(4, 2).seq(s[0], s[1]).dims(64, 64).alignment(a).causal()
                        .kvLengths(true).qLengths(true).flag(Flag.LSE));
                add.accept(sdpa().bh(2, 4).heads(4, 1).seq(s[0], s[1]).dims(40, 40).alignment(a).window(4, 1)
                        .boolMask(MaskShape.BATCH).bias(MaskShape.HEADS).alibi(AlibiShape.BH).softcap(5f)
                        .flag(Flag.LSE));
                add.accept(sdpa().bh(2, 2).seq(s[0], s[1]).dims(32, 16).alignment(a).causal().kvLengths(true)
                        .qLengths(true).boolMask(MaskShape.FULL).bias(MaskShape.SHARED).alibi(AlibiShape.H)
                        .softcap(2.5f).scale(0.3f).flag(Flag.LSE));
            }
        }
        // Fully masked rows.
        for (int[] s : new int[][] {{7, 17}, {17, 7}}) {
            add.accept(sdpa().bh(2, 2).seq(s[0], s[1]).dims(32, 32).special(Special.FULLY_MASKED).flag(Flag.LSE));
            add.accept(sdpa().bh(2, 2).seq(s[0], s[1]).dims(32, 32).boolMask(MaskShape.FULL).bias(MaskShape.FULL)
                    .special(Special.FULLY_MASKED).flag(Flag.LSE));
        }
        add.accept(sdpa().bh(2, 2).seq(17, 7).dims(32, 32).causal().flag(Flag.LSE));           // rows i < 10 empty
        add.accept(sdpa().bh(2, 2).seq(17, 7).dims(32, 32).alignment(Alignment.TOP_LEFT).window(0, 0)
                .flag(Flag.LSE));                                                                  // rows i >= 7 empty
        // Special data.
        for (int[] s : new int[][] {{7, 17}, {129, 113}, {1, 1000}}) {
            add.accept(sdpa().bh(1, 2).seq(s[0], s[1]).dims(64, 64).special(Special.LARGE).flag(Flag.LSE));
            add.accept(sdpa().bh(1, 2).seq(s[0], s[1]).dims(64, 64).causal().special(Special.LARGE).flag(Flag.LSE));
        }
        for (int[] s : new int[][] {{7, 17}, {113, 129}}) {
            add.accept(sdpa().bh(2, 2).seq(s[0], s[1]).dims(32, 32).special(Special.NAN_READ).flag(Flag.LSE));
            add.accept(sdpa().bh(2, 2).seq(s[0], s[1]).dims(32, 32).causal().special(Special.NAN_READ).flag(Flag.LSE));
            add.accept(sdpa().bh(2, 2).seq(s[0], s[1]).dims(32, 32).kvLengths(true).special(Special.NAN_MASKED)
                    .flag(Flag.LSE));
            add.accept(sdpa().bh(2, 2).seq(s[0], s[1]).dims(32, 32).causal().kvLengths(true)
                    .special(Special.NAN_MASKED).flag(Flag.LSE));
        }
        // Storage.
        for (Storage st : new Storage[] {Storage.BSHD, Storage.PADDED}) {
            for (int[] s : new int[][] {{7, 17}, {129, 113}}) {
                add.accept(sdpa().bh(2, 4).heads(4, 2).seq(s[0], s[1]).dims(64, 32).storage(st).flag(Flag.LSE));
                add.accept(sdpa().bh(2, 4).heads(4, 2).seq(s[0], s[1]).dims(64, 32).storage(st).causal()
                        .boolMask(MaskShape.FULL).bias(MaskShape.BATCH).alibi(AlibiShape.BH).flag(Flag.LSE));
            }
        }
        // F16 and BF16: head dims, Dv != D, GQA, masks, specials, storage, large.
        for (DType t : HALF) {
            for (int d : new int[] {16, 40, 64, 72, 128, 256}) {
                add.accept(sdpa().dtype(t).bh(2, 2).seq(17, 129).dims(d, d).flag(Flag.LSE));
                add.accept(sdpa().dtype(t).bh(1, 2).seq(129, 17).dims(d, d).causal());
            }
            add.accept(sdpa().dtype(t).bh(2, 2).seq(7, 17).dims(40, 72).flag(Flag.LSE));
            add.accept(sdpa().dtype(t).bh(2, 2).seq(1, 1).dims(16, 16).flag(Flag.LSE));
            add.accept(sdpa().dtype(t).bh(2, 8).heads(8, 2).seq(17, 129).dims(64, 64).flag(Flag.LSE));
            add.accept(sdpa().dtype(t).bh(2, 8).heads(8, 1).seq(7, 17).dims(64, 64).causal().flag(Flag.LSE));
            for (Alignment a : Alignment.values()) {
                for (int[] s : new int[][] {{7, 17}, {17, 7}}) {
                    add.accept(sdpa().dtype(t).bh(2, 2).seq(s[0], s[1]).dims(32, 32).alignment(a).window(3, 2)
                            .flag(Flag.LSE));
                    add.accept(sdpa().dtype(t).bh(2, 2).seq(s[0], s[1]).dims(32, 32).alignment(a).causal()
                            .kvLengths(true).qLengths(true).flag(Flag.LSE));
                    add.accept(sdpa().dtype(t).bh(2, 4).heads(4, 2).seq(s[0], s[1]).dims(32, 32).alignment(a)
                            .boolMask(MaskShape.HEADS).bias(MaskShape.FULL).alibi(AlibiShape.BH).softcap(5f)
                            .flag(Flag.LSE));
                }
            }
            for (Special sp : new Special[] {Special.LARGE, Special.NAN_READ, Special.NAN_MASKED,
                    Special.FULLY_MASKED}) {
                add.accept(sdpa().dtype(t).bh(2, 2).seq(17, 129).dims(64, 64).special(sp).flag(Flag.LSE));
            }
            for (Storage st : new Storage[] {Storage.BSHD, Storage.PADDED}) {
                add.accept(sdpa().dtype(t).bh(2, 4).heads(4, 2).seq(17, 113).dims(64, 32).storage(st).causal()
                        .boolMask(MaskShape.TWO_D).flag(Flag.LSE));
            }
            add.accept(sdpa().dtype(t).bh(1, 2).heads(2, 1).seq(1, 1000).dims(64, 64).flag(Flag.LSE));
            add.accept(sdpa().dtype(t).seq(1000, 1000).dims(16, 16).causal().flag(Flag.LSE));
            for (Alignment a : Alignment.values()) {
                add.accept(sdpa().dtype(t).bh(2, 2).seq(17, 7).dims(64, 64).alignment(a)
                        .window(Integer.MAX_VALUE, Integer.MAX_VALUE).flag(Flag.LSE));
            }
        }
    }

    // ---- SDPA backward ------------------------------------------------------------------------

    private static Builder bwd() {
        return Case.builder(Op.SDPA_BACKWARD);
    }

    /**
     * SDPA backward cases over the forward's axes. The OpenCL program is specialised by the mask
     * parts present, so the cases share a few option sets (none; causal/window with both lengths;
     * everything: window, bool mask, bias with dBias, ALiBi, softcap) at D = 32, plus head dims and
     * Dv != D unmasked, and the same in F16 and BF16: few kernel variants, many geometries.
     */
    private static void sdpaBackward(Consumer<Builder> add) {
        // No mask: sizes, GQA/MQA, layouts, special data.
        for (int[] s : new int[][] {{1, 1}, {7, 17}, {17, 7}, {113, 129}, {129, 113}, {1, 1000}, {1000, 17}}) {
            add.accept(bwd().bh(2, 2).seq(s[0], s[1]).dims(32, 32));
        }
        for (int hkv : new int[] {2, 1}) {
            add.accept(bwd().bh(2, 8).heads(8, hkv).seq(17, 129).dims(32, 32));
        }
        for (Storage st : new Storage[] {Storage.BSHD, Storage.PADDED}) {
            add.accept(bwd().bh(2, 4).heads(4, 2).seq(129, 113).dims(32, 32).storage(st));
        }
        add.accept(bwd().bh(1, 2).seq(129, 113).dims(32, 32).special(Special.LARGE));
        add.accept(bwd().bh(2, 2).seq(113, 129).dims(32, 32).special(Special.NAN_READ));
        // Head dims and Dv != D.
        add.accept(bwd().bh(2, 2).seq(113, 129).dims(64, 64));
        add.accept(bwd().bh(2, 2).seq(129, 113).dims(40, 72));
        add.accept(bwd().bh(2, 2).seq(129, 113).dims(64, 16));
        // Bounds: causal or a window with kv and q lengths, both alignments, Sq != Sk both ways.
        for (int[] s : new int[][] {{7, 17}, {17, 7}, {129, 113}}) {
            for (Alignment a : Alignment.values()) {
                add.accept(bwd().bh(2, 4).heads(4, 2).seq(s[0], s[1]).dims(32, 32).alignment(a).causal()
                        .kvLengths(true).qLengths(true));
                add.accept(bwd().bh(2, 4).heads(4, 2).seq(s[0], s[1]).dims(32, 32).alignment(a).window(3, 2)
                        .kvLengths(true).qLengths(true));
            }
        }
        add.accept(bwd().bh(2, 8).heads(8, 1).seq(113, 129).dims(32, 32).causal().kvLengths(true).qLengths(true));
        add.accept(bwd().bh(2, 2).seq(1000, 1000).dims(32, 32).causal().kvLengths(true).qLengths(true));
        add.accept(bwd().bh(2, 2).seq(17, 129).dims(32, 32).causal().kvLengths(true).qLengths(true)
                .special(Special.FULLY_MASKED));
        add.accept(bwd().bh(2, 2).seq(113, 129).dims(32, 32).causal().kvLengths(true).qLengths(true)
                .special(Special.NAN_MASKED));
        add.accept(bwd().bh(2, 2).seq(17, 7).dims(32, 32).alignment(Alignment.BOTTOM_RIGHT).causal()
                .kvLengths(true).qLengths(true));                                     // rows i < 10 empty
        // Everything at once: every bias shape (dBias summed over its broadcast dims), bool masks.
        MaskShape[][] shapes = {{MaskShape.FULL, MaskShape.FULL}, {MaskShape.TWO_D, MaskShape.HEADS},
            {MaskShape.BATCH, MaskShape.SHARED}, {MaskShape.HEADS, MaskShape.BATCH}, {MaskShape.SHARED, MaskShape.TWO_D}};
        for (int n = 0; n < shapes.length; n++) {
            int[] s = n % 2 == 0 ? new int[] {7, 17} : new int[] {129, 113};
            add.accept(bwd().bh(2, 4).heads(4, 2).seq(s[0], s[1]).dims(32, 32)
                    .alignment(n % 2 == 0 ? Alignment.TOP_LEFT : Alignment.BOTTOM_RIGHT).window(40, 1)
                    .boolMask(shapes[n][0]).bias(shapes[n][1]).alibi(AlibiShape.BH).softcap(2.5f));
        }
        add.accept(bwd().bh(2, 4).heads(4, 1).seq(17, 7).dims(32, 32).window(40, 1).boolMask(MaskShape.FULL)
                .bias(MaskShape.FULL).alibi(AlibiShape.BH).softcap(2.5f).special(Special.FULLY_MASKED));
        // F16 and BF16 (the 2x naive-error rule): unmasked, GQA, bounds, everything.
        for (DType t : HALF) {
            add.accept(bwd().dtype(t).bh(2, 2).seq(17, 129).dims(32, 32));
            add.accept(bwd().dtype(t).bh(2, 8).heads(8, 2).seq(129, 113).dims(32, 32));
            add.accept(bwd().dtype(t).bh(2, 4).heads(4, 2).seq(129, 113).dims(32, 32).causal().kvLengths(true)
                    .qLengths(true));
            add.accept(bwd().dtype(t).bh(2, 4).heads(4, 2).seq(113, 129).dims(32, 32).window(40, 1)
                    .boolMask(MaskShape.HEADS).bias(MaskShape.FULL).alibi(AlibiShape.BH).softcap(2.5f));
        }
    }

    // ---- masked softmax ------------------------------------------------------------------------

    private static Builder sm() {
        return Case.builder(Op.SOFTMAX);
    }

    private static void softmax(Consumer<Builder> add) {
        // Short rows at every size, with the default scale and another one.
        for (int sk : SIZES) {
            add.accept(sm().bh(2, 3).seq(5, sk));
            add.accept(sm().bh(1, 2).seq(3, sk).scale(0.125f));
        }
        // Long rows (>= 4096), odd lengths included.
        for (int sk : new int[] {4096, 5003, 16384}) {
            add.accept(sm().bh(1, 2).seq(2, sk));
        }
        add.accept(sm().bh(1, 1).seq(4, 4099).causal().kvLengths(true));
        // In place and 2-D.
        for (int sk : new int[] {17, 129, 4096}) {
            add.accept(sm().bh(2, 2).seq(3, sk).flag(Flag.IN_PLACE));
            add.accept(sm().seq(37, sk).flag(Flag.TWO_D));
            add.accept(sm().seq(11, sk).flag(Flag.TWO_D).flag(Flag.IN_PLACE).scale(2f));
        }
        add.accept(sm().seq(37, 129).flag(Flag.TWO_D).causal().boolMask(MaskShape.TWO_D).bias(MaskShape.SHARED));
        // Every mask kind alone.
        for (int[] s : MASK_SIZES) {
            for (Alignment a : Alignment.values()) {
                for (Consumer<Builder> kind : alignedKinds()) {
                    Builder b = sm().bh(2, 2).seq(s[0], s[1]).alignment(a);
                    kind.accept(b);
                    add.accept(b);
                }
            }
            for (Consumer<Builder> kind : unalignedKinds(false)) {
                Builder b = sm().bh(2, 2).seq(s[0], s[1]);
                kind.accept(b);
                add.accept(b);
            }
        }
        // Extreme window bounds.
        extremeWindows(add, () -> sm().bh(2, 2).alibi(AlibiShape.H));
        // Combined.
        for (int[] s : new int[][] {{7, 17}, {17, 7}, {129, 113}}) {
            for (Alignment a : Alignment.values()) {
                add.accept(sm().bh(2, 3).seq(s[0], s[1]).alignment(a).causal().kvLengths(true).qLengths(true)
                        .boolMask(MaskShape.BATCH).bias(MaskShape.FULL).alibi(AlibiShape.BH).scale(0.5f));
                add.accept(sm().bh(2, 3).seq(s[0], s[1]).alignment(a).window(2, 3).boolMask(MaskShape.SHARED)
                        .alibi(AlibiShape.H));
            }
        }
        // Fully masked rows and special data.
        for (int[] s : new int[][] {{7, 17}, {17, 7}}) {
            add.accept(sm().bh(2, 2).seq(s[0], s[1]).special(Special.FULLY_MASKED));
            add.accept(sm().bh(2, 2).seq(s[0], s[1]).boolMask(MaskShape.FULL).bias(MaskShape.FULL)
                    .special(Special.FULLY_MASKED));
            add.accept(sm().bh(2, 2).seq(s[0], s[1]).special(Special.LARGE));
            add.accept(sm().bh(2, 2).seq(s[0], s[1]).causal().special(Special.LARGE));
            add.accept(sm().bh(2, 2).seq(s[0], s[1]).special(Special.NAN_READ));
            add.accept(sm().bh(2, 2).seq(s[0], s[1]).kvLengths(true).special(Special.NAN_MASKED));
        }
        add.accept(sm().bh(1, 1).seq(2, 4096).special(Special.LARGE));
        // Logits of about 3e10: exp's argument must be formed from the max pass's own rounded scores
        // (an fma of the scaled score against the scaled max once made these rows NaN on OpenCL CPUs).
        add.accept(sm().bh(2, 2).seq(7, 129).special(Special.LARGE).scale(3e6f));
        add.accept(sm().bh(1, 1).seq(2, 4096).special(Special.LARGE).scale(3e6f));
        add.accept(sm().bh(1, 1).seq(2, 4096).special(Special.NAN_READ));
        // A negative scale: the largest score is the smallest x (the CPU row kernels' max pass looks for x).
        add.accept(sm().bh(2, 2).seq(7, 129).scale(-0.75f));
        add.accept(sm().bh(1, 1).seq(2, 4096).special(Special.LARGE).scale(-3e6f));
        add.accept(sm().bh(1, 1).seq(17, 1000).causal().alignment(Alignment.BOTTOM_RIGHT));
        // Storage.
        for (Storage st : new Storage[] {Storage.BSHD, Storage.PADDED}) {
            add.accept(sm().bh(2, 3).seq(7, 129).storage(st));
            add.accept(sm().bh(2, 3).seq(7, 129).storage(st).flag(Flag.IN_PLACE).causal().bias(MaskShape.HEADS));
            add.accept(sm().seq(9, 33).storage(st).flag(Flag.TWO_D).boolMask(MaskShape.TWO_D));
        }
        // F16 and BF16.
        for (DType t : HALF) {
            for (int sk : SIZES) {
                add.accept(sm().dtype(t).bh(2, 2).seq(3, sk));
            }
            add.accept(sm().dtype(t).bh(1, 2).seq(2, 4096));
            add.accept(sm().dtype(t).bh(1, 1).seq(2, 5003).flag(Flag.IN_PLACE));
            add.accept(sm().dtype(t).seq(37, 129).flag(Flag.TWO_D));
            add.accept(sm().dtype(t).seq(11, 17).flag(Flag.TWO_D).flag(Flag.IN_PLACE).scale(0.25f));
            add.accept(sm().dtype(t).bh(1, 2).seq(3, 1000).scale(-0.5f));
            for (Alignment a : Alignment.values()) {
                add.accept(sm().dtype(t).bh(2, 3).seq(7, 17).alignment(a).causal().kvLengths(true).qLengths(true)
                        .boolMask(MaskShape.BATCH).bias(MaskShape.FULL).alibi(AlibiShape.BH).scale(0.5f));
            }
            for (Special sp : Special.values()) {
                if (sp != Special.NONE) {
                    add.accept(sm().dtype(t).bh(2, 2).seq(17, 129).kvLengths(sp == Special.NAN_MASKED).special(sp));
                }
            }
            add.accept(sm().dtype(t).bh(2, 3).seq(7, 129).storage(Storage.PADDED).causal());
            add.accept(sm().dtype(t).bh(2, 3).seq(7, 129).storage(Storage.BSHD).window(2, 2));
        }
    }

    // ---- masked softmax backward ---------------------------------------------------------------

    private static Builder smb() {
        return Case.builder(Op.SOFTMAX_BACKWARD);
    }

    private static void softmaxBackward(Consumer<Builder> add) {
        for (int sk : SIZES) {
            add.accept(smb().bh(2, 3).seq(5, sk));
            add.accept(smb().bh(1, 2).seq(3, sk).scale(0.125f));
        }
        for (int sk : new int[] {4096, 5003}) {
            add.accept(smb().bh(1, 2).seq(2, sk));
        }
        for (int sk : new int[] {17, 129, 4096}) {
            add.accept(smb().bh(2, 2).seq(3, sk).flag(Flag.IN_PLACE));
            add.accept(smb().seq(37, sk).flag(Flag.TWO_D));
            add.accept(smb().seq(11, sk).flag(Flag.TWO_D).flag(Flag.IN_PLACE).scale(2f));
        }
        add.accept(smb().bh(2, 2).seq(7, 17).special(Special.NAN_READ));
        add.accept(smb().bh(1, 1).seq(2, 4096).special(Special.NAN_READ));
        for (Storage st : new Storage[] {Storage.BSHD, Storage.PADDED}) {
            add.accept(smb().bh(2, 3).seq(7, 129).storage(st));
            add.accept(smb().bh(2, 3).seq(7, 129).storage(st).flag(Flag.IN_PLACE));
            add.accept(smb().seq(9, 33).storage(st).flag(Flag.TWO_D));
        }
        for (DType t : HALF) {
            for (int sk : SIZES) {
                add.accept(smb().dtype(t).bh(2, 2).seq(3, sk));
            }
            add.accept(smb().dtype(t).bh(1, 2).seq(2, 4096));
            add.accept(smb().dtype(t).bh(2, 2).seq(3, 129).flag(Flag.IN_PLACE).scale(0.5f));
            add.accept(smb().dtype(t).seq(37, 129).flag(Flag.TWO_D));
            add.accept(smb().dtype(t).bh(2, 2).seq(7, 17).special(Special.NAN_READ));
            add.accept(smb().dtype(t).bh(2, 3).seq(7, 129).storage(Storage.PADDED));
        }
    }

    // ---- additive --------------------------------------------------------------------------------

    private static Builder add() {
        return Case.builder(Op.ADDITIVE);
    }

    private static void additive(Consumer<Builder> add) {
        int[][] sizes = {{1, 1}, {7, 17}, {17, 7}, {113, 129}};
        // A x Dv x sizes, plain; the b / weights combinations at one size per A.
        for (int a : new int[] {16, 32, 64, 128}) {
            for (int dv : new int[] {16, 64}) {
                for (int[] s : sizes) {
                    add.accept(add().bh(2, 2).seq(s[0], s[1]).dims(a, dv));
                }
            }
            add.accept(add().bh(2, 2).seq(7, 17).dims(a, 32).flag(Flag.ADD_BIAS));
            add.accept(add().bh(2, 2).seq(7, 17).dims(a, 32).flag(Flag.WEIGHTS));
            add.accept(add().bh(2, 2).seq(17, 129).dims(a, 32).flag(Flag.ADD_BIAS).flag(Flag.WEIGHTS));
        }
        // Raw inputs with projection weights.
        for (int[] raw : new int[][] {{24, 40}, {64, 64}, {128, 96}}) {
            add.accept(add().bh(2, 2).seq(7, 17).dims(32, 16).raw(raw[0], raw[1]));
            add.accept(add().bh(2, 2).seq(17, 129).dims(64, 32).raw(raw[0], raw[1]).flag(Flag.ADD_BIAS)
                    .flag(Flag.WEIGHTS));
        }
        // Large sizes.
        add.accept(add().seq(1000, 1000).dims(16, 16).flag(Flag.WEIGHTS));
        add.accept(add().seq(1, 1000).dims(64, 64).flag(Flag.ADD_BIAS));
        add.accept(add().seq(1000, 7).dims(32, 16).causal().alignment(Alignment.TOP_LEFT));
        add.accept(add().seq(129, 1000).dims(16, 16).raw(32, 32).kvLengths(true));
        // Every mask kind alone.
        for (int[] s : MASK_SIZES) {
            for (Alignment al : Alignment.values()) {
                for (Consumer<Builder> kind : alignedKinds()) {
                    Builder b = add().bh(2, 2).seq(s[0], s[1]).dims(32, 16).alignment(al).flag(Flag.WEIGHTS);
                    kind.accept(b);
                    add.accept(b);
                }
            }
            for (Consumer<Builder> kind : unalignedKinds(false)) {
                Builder b = add().bh(2, 2).seq(s[0], s[1]).dims(32, 16).flag(Flag.WEIGHTS);
                kind.accept(b);
                add.accept(b);
            }
        }
        // Extreme window bounds.
        extremeWindows(add, () -> add().bh(2, 2).dims(32, 16).alibi(AlibiShape.H).flag(Flag.WEIGHTS));
        // Combined.
        for (int[] s : new int[][] {{7, 17}, {17, 7}}) {
            for (Alignment al : Alignment.values()) {
                add.accept(add().bh(2, 2).seq(s[0], s[1]).dims(32, 32).alignment(al).causal().kvLengths(true)
                        .qLengths(true).boolMask(MaskShape.HEADS).bias(MaskShape.BATCH).alibi(AlibiShape.H)
                        .flag(Flag.ADD_BIAS).flag(Flag.WEIGHTS));
                add.accept(add().bh(2, 2).seq(s[0], s[1]).dims(32, 32).raw(24, 40).alignment(al).window(2, 2)
                        .boolMask(MaskShape.FULL).alibi(AlibiShape.BH).flag(Flag.WEIGHTS));
            }
        }
        // Fully masked rows and special data.
        for (int[] s : new int[][] {{7, 17}, {17, 7}}) {
            add.accept(add().bh(2, 2).seq(s[0], s[1]).dims(32, 16).special(Special.FULLY_MASKED).flag(Flag.WEIGHTS));
            add.accept(add().bh(2, 2).seq(s[0], s[1]).dims(32, 16).boolMask(MaskShape.FULL).bias(MaskShape.FULL)
                    .special(Special.FULLY_MASKED).flag(Flag.WEIGHTS));
            add.accept(add().bh(2, 2).seq(s[0], s[1]).dims(32, 16).special(Special.LARGE).flag(Flag.WEIGHTS));
            add.accept(add().bh(2, 2).seq(s[0], s[1]).dims(32, 16).special(Special.NAN_READ).flag(Flag.WEIGHTS));
            add.accept(add().bh(2, 2).seq(s[0], s[1]).dims(32, 16).kvLengths(true).special(Special.NAN_MASKED)
                    .flag(Flag.WEIGHTS));
        }
        add.accept(add().bh(2, 2).seq(7, 17).dims(32, 16).raw(24, 40).special(Special.NAN_READ));
        // Storage.
        for (Storage st : new Storage[] {Storage.BSHD, Storage.PADDED}) {
            add.accept(add().bh(2, 3).seq(7, 129).dims(32, 16).storage(st).flag(Flag.WEIGHTS));
            add.accept(add().bh(2, 3).seq(17, 7).dims(32, 16).storage(st).raw(24, 40).causal().flag(Flag.ADD_BIAS));
        }
        // F16 and BF16.
        for (DType t : HALF) {
            for (int a : new int[] {16, 64, 128}) {
                add.accept(add().dtype(t).bh(2, 2).seq(17, 129).dims(a, 32).flag(Flag.WEIGHTS));
            }
            add.accept(add().dtype(t).bh(2, 2).seq(1, 1).dims(16, 16));
            add.accept(add().dtype(t).bh(2, 2).seq(7, 17).dims(32, 16).raw(24, 40).flag(Flag.ADD_BIAS));
            for (Alignment al : Alignment.values()) {
                add.accept(add().dtype(t).bh(2, 2).seq(7, 17).dims(32, 32).alignment(al).causal().kvLengths(true)
                        .qLengths(true).boolMask(MaskShape.HEADS).bias(MaskShape.BATCH).alibi(AlibiShape.H)
                        .flag(Flag.WEIGHTS));
            }
            for (Special sp : new Special[] {Special.LARGE, Special.NAN_READ, Special.NAN_MASKED,
                    Special.FULLY_MASKED}) {
                add.accept(add().dtype(t).bh(2, 2).seq(17, 129).dims(32, 16).special(sp).flag(Flag.WEIGHTS));
            }
            add.accept(add().dtype(t).bh(2, 3).seq(7, 129).dims(32, 16).storage(Storage.PADDED).raw(24, 40));
            add.accept(add().dtype(t).seq(1, 1000).dims(64, 64).flag(Flag.WEIGHTS));
        }
    }

    // ---- merge of attention states ------------------------------------------------------------

    private static Builder mg(int parts) {
        return Case.builder(Op.MERGE).dims(parts, 16);
    }

    /**
     * Merge: 1, 2, 3 and 8 parts (the device limit) at awkward sizes, with and without the LSE
     * output; every special (empty parts and rows, +-1e4 LSEs, NaN); BSHD and padded storage; F16
     * and BF16. One kernel variant per dtype.
     */
    private static void merge(Consumer<Builder> add) {
        int[][] sizes = {{2, 3, 7, 16}, {1, 2, 17, 72}, {2, 1, 1, 128}};
        for (int parts : new int[] {1, 2, 3, 8}) {
            for (int[] z : sizes) {
                add.accept(mg(parts).bh(z[0], z[1]).seq(z[2], 1).dims(parts, z[3]).flag(Flag.LSE, parts != 2));
            }
        }
        for (Special sp : new Special[] {Special.FULLY_MASKED, Special.LARGE, Special.NAN_READ}) {
            add.accept(mg(3).bh(2, 2).seq(7, 1).flag(Flag.LSE).special(sp));
        }
        for (Storage st : new Storage[] {Storage.BSHD, Storage.PADDED}) {
            add.accept(mg(3).bh(2, 3).seq(7, 1).dims(3, 40).storage(st).flag(Flag.LSE));
        }
        for (DType t : HALF) {
            add.accept(mg(3).dtype(t).bh(2, 3).seq(7, 1).dims(3, 64).flag(Flag.LSE));
            add.accept(mg(2).dtype(t).bh(2, 2).seq(7, 1).special(Special.NAN_READ).flag(Flag.LSE));
            add.accept(mg(8).dtype(t).bh(1, 2).seq(17, 1).dims(8, 72).storage(Storage.PADDED));
        }
    }

    // ---- KV append -------------------------------------------------------------------------------

    private static Builder kv() {
        return Case.builder(Op.KV_APPEND);
    }

    /**
     * KV append: page sizes 1, 5 and 16 (rows across page ends), decode (Snew = 1) and chunks of 7
     * and 33 rows, D = Dv and D != Dv, a ragged batch (one sequence appends nothing), BSHD and
     * padded storage, F16 and BF16. One kernel variant per dtype.
     */
    private static void kvAppend(Consumer<Builder> add) {
        for (int ps : new int[] {1, 5, 16}) {
            for (int sn : new int[] {1, 7, 33}) {
                add.accept(kv().bh(3, 2).seq(sn, ps).dims(16, 16));
            }
        }
        add.accept(kv().bh(2, 3).seq(7, 5).dims(64, 40));
        add.accept(kv().bh(3, 2).seq(7, 5).kvLengths(true));
        add.accept(kv().bh(4, 1).seq(33, 16).dims(32, 24).kvLengths(true));
        for (Storage st : new Storage[] {Storage.BSHD, Storage.PADDED}) {
            add.accept(kv().bh(3, 2).seq(7, 5).storage(st));
        }
        for (DType t : HALF) {
            add.accept(kv().dtype(t).bh(3, 2).seq(7, 5).dims(64, 40));
            add.accept(kv().dtype(t).bh(3, 2).seq(1, 16).kvLengths(true).storage(Storage.PADDED));
        }
    }

    // ---- additive backward ---------------------------------------------------------------------

    private static Builder addBwd() {
        return Case.builder(Op.ADDITIVE).flag(Flag.BACKWARD);
    }

    /**
     * The additive backward: 35 cases over 12 kernel variants (PoCL compiles each variant once, about
     * 10-25 s; the mask kinds are grouped so that every kind runs without a variant per kind): sizes
     * 1..129 both ways, A and Dv, the tanh bias with db, raw inputs with dq/dk/dWq/dWk, every mask
     * kind (window/causal both alignments with ALiBi and kv lengths; q lengths with the bool mask
     * and the score bias; all of them together, pre-projected and raw), fully masked rows, NaN read
     * and NaN behind a mask, storage layouts, F16/BF16. Not here: LARGE logits (about 1e4): the
     * softmax is one-hot and dE = P (dP - delta) cancels to ~1e-6 of |dP|, below fp32 resolution
     * of delta, so dq's NMSE is ~1e-2 while its absolute error is ~4e-5 (an fp32 limit of every
     * delta-based backward, FlashAttention's included, not a kernel defect).
     */
    private static void additiveBackward(Consumer<Builder> add) {
        add.accept(addBwd().bh(2, 2).seq(1, 1).dims(32, 16));
        for (int[] s : new int[][] {{7, 17}, {17, 7}, {113, 129}, {129, 113}}) {
            add.accept(addBwd().bh(2, 2).seq(s[0], s[1]).dims(32, 16));
        }
        add.accept(addBwd().bh(2, 2).seq(7, 17).dims(32, 16).special(Special.NAN_READ));
        add.accept(addBwd().bh(2, 3).seq(7, 129).dims(32, 16).storage(Storage.BSHD));
        add.accept(addBwd().bh(1, 2).seq(129, 17).dims(64, 64).flag(Flag.ADD_BIAS));
        add.accept(addBwd().bh(2, 1).seq(17, 129).dims(64, 64).flag(Flag.ADD_BIAS));
        add.accept(addBwd().bh(2, 2).seq(7, 17).dims(32, 16).raw(24, 40));
        add.accept(addBwd().bh(2, 2).seq(17, 113).dims(32, 16).raw(40, 24));
        add.accept(addBwd().bh(2, 3).seq(17, 7).dims(32, 16).storage(Storage.PADDED).raw(24, 40));
        // window / causal, ALiBi and kv lengths: one variant
        for (int[] s : new int[][] {{7, 17}, {17, 7}}) {
            for (Alignment al : Alignment.values()) {
                add.accept(addBwd().bh(2, 2).seq(s[0], s[1]).dims(32, 16).alignment(al).causal()
                        .alibi(al == Alignment.TOP_LEFT ? AlibiShape.BH : AlibiShape.H).kvLengths(true));
            }
        }
        for (Alignment al : Alignment.values()) {
            add.accept(addBwd().bh(2, 2).seq(113, 129).dims(32, 16).alignment(al).window(3, 2).alibi(AlibiShape.H)
                    .kvLengths(true));
        }
        add.accept(addBwd().bh(2, 2).seq(129, 113).dims(32, 16).alignment(Alignment.TOP_LEFT).window(8, -1)
                .alibi(AlibiShape.H).kvLengths(true));
        add.accept(addBwd().bh(2, 2).seq(17, 7).dims(32, 16).window(-1, 5).alibi(AlibiShape.H).kvLengths(true)
                .special(Special.NAN_MASKED));
        // q lengths, bool mask and score bias: one variant
        add.accept(addBwd().bh(2, 2).seq(7, 17).dims(32, 16).qLengths(true).boolMask(MaskShape.FULL)
                .bias(MaskShape.FULL));
        add.accept(addBwd().bh(2, 2).seq(17, 7).dims(32, 16).qLengths(true).boolMask(MaskShape.TWO_D)
                .bias(MaskShape.SHARED));
        add.accept(addBwd().bh(2, 2).seq(113, 129).dims(32, 16).qLengths(true).boolMask(MaskShape.HEADS)
                .bias(MaskShape.BATCH));
        // everything together (fully masked rows: a batch with kv length 0 and all-false mask rows)
        for (int[] s : new int[][] {{7, 17}, {17, 7}}) {
            for (Alignment al : Alignment.values()) {
                add.accept(addBwd().bh(2, 2).seq(s[0], s[1]).dims(32, 32).alignment(al).causal().kvLengths(true)
                        .qLengths(true).boolMask(MaskShape.HEADS).bias(MaskShape.BATCH).alibi(AlibiShape.H)
                        .flag(Flag.ADD_BIAS));
            }
        }
        add.accept(addBwd().bh(2, 2).seq(17, 7).dims(32, 32).causal().qLengths(true).boolMask(MaskShape.FULL)
                .bias(MaskShape.FULL).alibi(AlibiShape.H).flag(Flag.ADD_BIAS).special(Special.FULLY_MASKED));
        add.accept(addBwd().bh(2, 2).seq(7, 17).dims(32, 32).raw(24, 40).alignment(Alignment.TOP_LEFT).window(2, 2)
                .kvLengths(true).qLengths(true).boolMask(MaskShape.FULL).bias(MaskShape.HEADS).alibi(AlibiShape.BH)
                .flag(Flag.ADD_BIAS));
        add.accept(addBwd().bh(2, 2).seq(17, 7).dims(32, 32).raw(24, 40).window(2, 2).kvLengths(true)
                .qLengths(true).boolMask(MaskShape.FULL).bias(MaskShape.HEADS).alibi(AlibiShape.BH)
                .flag(Flag.ADD_BIAS).special(Special.FULLY_MASKED));
        for (DType t : HALF) {
            add.accept(addBwd().dtype(t).bh(2, 2).seq(17, 129).dims(32, 16));
            add.accept(addBwd().dtype(t).bh(2, 2).seq(7, 17).dims(32, 32).raw(24, 40).causal().kvLengths(true)
                    .qLengths(true).boolMask(MaskShape.HEADS).bias(MaskShape.BATCH).alibi(AlibiShape.H)
                    .flag(Flag.ADD_BIAS));
        }
    }

    // ---- gemm ------------------------------------------------------------------------------------

    private static Builder gemmCase(int batch, int m, int n, int k) {
        return Case.builder(Op.GEMM).bh(batch, 1).seq(m, n).dims(k, k);
    }

    /**
     * The batched GEMM: awkward sizes (1, 7, 17, 113, 129, 1000: partial tiles on every side), each
     * transpose, alpha and beta, a shared B, padded strides, a NaN that must propagate; F16 and BF16
     * over a few of them. One kernel variant per dtype, so these add three OpenCL builds in all.
     */
    private static void gemm(Consumer<Builder> add) {
        for (int[] s : new int[][] {{1, 1, 1}, {7, 17, 5}, {17, 7, 113}, {113, 129, 33}, {64, 64, 64}, {129, 1000, 17},
            {1000, 7, 129}}) {
            add.accept(gemmCase(2, s[0], s[1], s[2]));
        }
        for (Flag[] f : new Flag[][] {{Flag.TRANS_A}, {Flag.TRANS_B}, {Flag.TRANS_A, Flag.TRANS_B}}) {
            Builder b = gemmCase(3, 17, 113, 40);
            for (Flag x : f) {
                b.flag(x);
            }
            add.accept(b);
        }
        add.accept(gemmCase(2, 113, 17, 7).scale(0.75f).flag(Flag.BETA));
        add.accept(gemmCase(2, 7, 129, 17).scale(-1.5f).flag(Flag.BETA).flag(Flag.TRANS_B));
        add.accept(gemmCase(4, 33, 100, 24).flag(Flag.SHARED_B).flag(Flag.TRANS_B));
        add.accept(gemmCase(2, 17, 113, 40).storage(Storage.PADDED).flag(Flag.TRANS_A).flag(Flag.BETA));
        add.accept(gemmCase(2, 129, 17, 64).storage(Storage.PADDED).flag(Flag.SHARED_B));
        add.accept(gemmCase(2, 17, 33, 40).special(Special.NAN_READ));
        add.accept(gemmCase(1, 40, 24, 1000).special(Special.LARGE));
        // several row blocks and K slabs of the CPU form (96 rows, 256-deep slabs) in one product
        add.accept(gemmCase(2, 200, 50, 600).scale(0.5f).flag(Flag.BETA));
        add.accept(gemmCase(1, 130, 37, 300).flag(Flag.TRANS_A).flag(Flag.TRANS_B));
        for (DType t : HALF) {
            add.accept(gemmCase(2, 113, 129, 33).dtype(t));
            add.accept(gemmCase(3, 17, 113, 40).dtype(t).flag(Flag.TRANS_A).flag(Flag.TRANS_B).flag(Flag.BETA));
            add.accept(gemmCase(2, 7, 100, 24).dtype(t).storage(Storage.PADDED).flag(Flag.SHARED_B).flag(Flag.TRANS_B));
            add.accept(gemmCase(2, 17, 33, 40).dtype(t).special(Special.NAN_READ));
            add.accept(gemmCase(1, 130, 37, 300).dtype(t).flag(Flag.BETA));
        }
    }

    /**
     * RoPE: odd and even head counts, D from 2 to 256, position offsets (0, a decode position, a
     * long one), in place and out of place, BSHD and padded storage, another theta, a NaN; F16 and
     * BF16; the inverse rotation (the backward, a runtime flag). One kernel variant per dtype.
     */
    private static void rope(Consumer<Builder> add) {
        for (int[] s : new int[][] {{1, 1, 1, 2, 0}, {2, 3, 7, 64, 0}, {1, 4, 17, 128, 5}, {2, 2, 1, 96, 1000},
            {1, 2, 113, 256, 0}, {3, 1, 9, 16, 31}, {1, 1, 129, 32, 0}, {1, 1, 1000, 16, 3}}) {
            add.accept(Case.builder(Op.ROPE).bh(s[0], s[1]).seq(s[2], s[4]).dims(s[3], s[3]));
        }
        add.accept(Case.builder(Op.ROPE).bh(2, 3).seq(7, 3).dims(64, 64).flag(Flag.IN_PLACE));
        add.accept(Case.builder(Op.ROPE).bh(2, 3).seq(17, 0).dims(64, 64).storage(Storage.BSHD).flag(Flag.IN_PLACE));
        add.accept(Case.builder(Op.ROPE).bh(2, 3).seq(7, 9).dims(40, 40).storage(Storage.PADDED));
        add.accept(Case.builder(Op.ROPE).bh(1, 2).seq(17, 100).dims(64, 64).scale(500000f));
        add.accept(Case.builder(Op.ROPE).bh(2, 2).seq(7, 0).dims(32, 32).special(Special.NAN_READ));
        add.accept(Case.builder(Op.ROPE).bh(2, 3).seq(9, 5).dims(64, 64).flag(Flag.INVERSE));
        add.accept(Case.builder(Op.ROPE).bh(1, 2).seq(17, 100).dims(32, 32).storage(Storage.BSHD).flag(Flag.IN_PLACE)
                .flag(Flag.INVERSE));
        for (DType t : HALF) {
            add.accept(Case.builder(Op.ROPE).dtype(t).bh(2, 2).seq(7, 3).dims(64, 64).flag(Flag.INVERSE));
            add.accept(Case.builder(Op.ROPE).dtype(t).bh(2, 3).seq(17, 4).dims(64, 64));
            add.accept(Case.builder(Op.ROPE).dtype(t).bh(2, 2).seq(7, 0).dims(128, 128).storage(Storage.BSHD)
                    .flag(Flag.IN_PLACE));
        }
    }
}
