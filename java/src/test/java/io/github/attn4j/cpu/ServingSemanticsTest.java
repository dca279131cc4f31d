package io.github.attn4j.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Alignment;
import io.github.attn4j.DType;
import io.github.attn4j.HostMemory;
import io.github.attn4j.Masks;
import io.github.attn4j.PagedKv;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Sinks and the paged KV cache: hand-computed values, paged = dense, and the validation messages. */
class ServingSemanticsTest {
    private static final float LN3 = (float) Math.log(3);

    private static Tensor t(float[] data, int... shape) {
        return Tensor.of(data, shape);
    }

    private static Tensor ints(int[] data, int... shape) {
        return Tensor.of(HostMemory.of(data), DType.I32, shape, Tensor.contiguousStrides(shape), 0);
    }

    @Test
    void sinkJoinsTheDenominator() {
        // q = [1], k = [0, ln 3], scale 1: exp(s) = [1, 3]; sink ln 4 adds 4: weights [1, 3] / 8.
        // v = [4, 8]: O = (4 + 24) / 8 = 3.5. LSE = ln 8.
        Tensor o = t(new float[1], 1, 1, 1, 1);
        Tensor lse = t(new float[1], 1, 1, 1);
        SdpaParams p = SdpaParams.builder(t(new float[] {1}, 1, 1, 1, 1), t(new float[] {0, LN3}, 1, 1, 2, 1),
                t(new float[] {4, 8}, 1, 1, 2, 1), o).lse(lse).scale(1f)
                .sinks(t(new float[] {(float) Math.log(4)}, 1)).build();
        Reference.SdpaResult r = Reference.sdpa(p);
        assertEquals(3.5, r.o()[0], 1e-6);
        assertEquals(Math.log(8), r.lse()[0], 1e-6);
    }

    @Test
    void fullyMaskedRowWithSinkGivesZerosAndTheSink() {
        // kvLengths 0: no key; O = 0, LSE = sink. A dead row (qLengths) keeps LSE = -inf.
        Tensor o = t(new float[2], 1, 1, 2, 1);
        SdpaParams p = SdpaParams.builder(t(new float[] {1, 1}, 1, 1, 2, 1), t(new float[] {0, 1}, 1, 1, 2, 1),
                t(new float[] {4, 8}, 1, 1, 2, 1), o).lse(t(new float[2], 1, 1, 2))
                .masks(Masks.builder().kvLengths(0).qLengths(1).build()).sinks(t(new float[] {2.5f}, 1)).build();
        Reference.SdpaResult r = Reference.sdpa(p);
        assertArrayEquals(new double[] {0, 0}, r.o());
        assertEquals(2.5, r.lse()[0]);
        assertEquals(Double.NEGATIVE_INFINITY, r.lse()[1]);
    }

    /** Dense K/V [B, Hkv, Sk, D] copied into shuffled pages; unused slots NaN, unused entries garbage. */
    private record Paged(PagedKv kv, Tensor k, Tensor v) {}

    private static Paged page(Tensor k, Tensor v, int[] lens, int ps, long seed) {
        int b = k.dim(0), hkv = k.dim(1), sk = k.dim(2), d = k.dim(3), dv = v.dim(3);
        int per = (sk + ps - 1) / ps, np = b * per + 2, maxPages = per + 1;
        float[] kc = new float[np * ps * hkv * d], vc = new float[np * ps * hkv * dv];
        java.util.Arrays.fill(kc, Float.NaN);
        java.util.Arrays.fill(vc, Float.NaN);
        int[] table = new int[b * maxPages];
        java.util.Arrays.fill(table, -99);
        int[] perm = new SplittableRandom(seed).ints(0, 1 << 30).limit(np).toArray();
        Integer[] order = new Integer[np];
        for (int i = 0; i < np; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (x, y) -> Integer.compare(perm[x], perm[y]));
        int next = 0;
        for (int bi = 0; bi < b; bi++) {
            for (int e = 0; e * ps < lens[bi]; e++) {
                table[bi * maxPages + e] = order[next++];
            }
            for (int j = 0; j < lens[bi]; j++) {
                int pg = table[bi * maxPages + j / ps];
                for (int h = 0; h < hkv; h++) {
                    for (int x = 0; x < d; x++) {
                        kc[((pg * ps + j % ps) * hkv + h) * d + x] = k.get(bi, h, j, x);
                    }
                    for (int x = 0; x < dv; x++) {
                        vc[((pg * ps + j % ps) * hkv + h) * dv + x] = v.get(bi, h, j, x);
                    }
                }
            }
        }
        return new Paged(new PagedKv(t(kc, np, ps, hkv, d), t(vc, np, ps, hkv, dv), ints(table, b, maxPages), lens),
                k, v);
    }

    private static Tensor random(SplittableRandom r, int... shape) {
        float[] a = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return t(a, shape);
    }

    @Test
    void pagedMatchesDensePerSequenceWithItsOwnAlignment() {
        // Each sequence of a paged call is aligned to its own length (BOTTOM_RIGHT): it equals a
        // dense B = 1 call over that sequence's keys. Window + ALiBi exercise the offset.
        SplittableRandom r = new SplittableRandom(7);
        int b = 3, hq = 4, hkv = 2, sq = 3, d = 8;
        int[] lens = {11, 5, 16};
        int sk = 16;
        Tensor q = random(r, b, hq, sq, d), k = random(r, b, hkv, sk, d), v = random(r, b, hkv, sk, d);
        Tensor slopes = t(new float[] {0.5f, 0.25f, 0.125f, 0.0625f}, hq);
        for (Alignment a : Alignment.values()) {
            for (int ps : new int[] {1, 3, 16}) {
                Paged pk = page(k, v, lens, ps, ps);
                Masks m = Masks.builder().alignment(a).window(4, 0).alibi(slopes).build();
                SdpaParams paged = SdpaParams.builder(q, pk.kv(), t(new float[b * hq * sq * d], b, hq, sq, d)).masks(m)
                        .sinks(t(new float[] {0.5f, -1f, 2f, 0f}, hq)).build();
                assertEquals(16, paged.seqK());
                Reference.SdpaResult got = Reference.sdpa(paged);
                for (int bi = 0; bi < b; bi++) {
                    int n = lens[bi];
                    Tensor qb = q.view(q.index(bi, 0, 0, 0), new int[] {1, hq, sq, d}, q.strides());
                    Tensor kb = k.view(k.index(bi, 0, 0, 0), new int[] {1, hkv, n, d}, k.strides());
                    Tensor vb = v.view(v.index(bi, 0, 0, 0), new int[] {1, hkv, n, d}, v.strides());
                    SdpaParams dense = SdpaParams.builder(qb, kb, vb, t(new float[hq * sq * d], 1, hq, sq, d)).masks(m)
                            .sinks(t(new float[] {0.5f, -1f, 2f, 0f}, hq)).build();
                    Reference.SdpaResult want = Reference.sdpa(dense);
                    for (int i = 0; i < hq * sq * d; i++) {
                        assertEquals(want.o()[i], got.o()[bi * hq * sq * d + i], 1e-12, a + " page " + ps + " b " + bi);
                    }
                    for (int i = 0; i < hq * sq; i++) {
                        assertEquals(want.lse()[i], got.lse()[bi * hq * sq + i], 1e-12);
                    }
                }
            }
        }
    }

    @Test
    void pagedValidationNamesTheArgument() {
        SplittableRandom r = new SplittableRandom(3);
        Tensor q = random(r, 2, 2, 1, 4), k = random(r, 2, 1, 6, 4), v = random(r, 2, 1, 6, 4);
        Paged ok = page(k, v, new int[] {6, 4}, 3, 1);
        Tensor o = t(new float[16], 2, 2, 1, 4);
        SdpaParams.builder(q, ok.kv(), o).build(); // garbage past the lengths is fine
        PagedKv kv = ok.kv();
        int[] table = (int[]) ((HostMemory) kv.blockTable().memory()).array();

        int saved = table[1];
        table[1] = kv.numPages(); // an entry that sequence 0 reads
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SdpaParams.builder(q, kv, o).build());
        assertTrue(e.getMessage().startsWith("blockTable[0, 1]"), e.getMessage());
        table[1] = saved;

        e = assertThrows(IllegalArgumentException.class, () -> SdpaParams.builder(q,
                new PagedKv(kv.kCache(), kv.vCache(), kv.blockTable(), new int[] {6, 10}), o).build());
        assertTrue(e.getMessage().startsWith("kvLengths[1]"), e.getMessage()); // capacity 3 pages * 3 = 9

        Tensor vc2 = t(new float[kv.numPages() * 2 * 4], kv.numPages(), 2, 1, 4);
        e = assertThrows(IllegalArgumentException.class, () -> SdpaParams.builder(q,
                new PagedKv(kv.kCache(), vc2, kv.blockTable(), new int[] {6, 4}), o).build());
        assertTrue(e.getMessage().startsWith("vCache.shape[1]"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> SdpaParams.builder(q,
                new PagedKv(kv.kCache(), kv.vCache(), t(new float[6], 2, 3), new int[] {6, 4}), o).build());
        assertTrue(e.getMessage().startsWith("blockTable.dtype"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> SdpaParams.builder(q, kv, o)
                .masks(Masks.builder().kvLengths(5, 4).build()).build());
        assertTrue(e.getMessage().startsWith("masks.kvLengths"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> SdpaParams.builder(q, kv, o)
                .sinks(t(new float[3], 3)).build());
        assertTrue(e.getMessage().startsWith("sinks.shape"), e.getMessage());
    }
}
