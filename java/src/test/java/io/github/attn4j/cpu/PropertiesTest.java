package io.github.attn4j.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.AdditiveParams;
import io.github.attn4j.Alignment;
import io.github.attn4j.Backend;
import io.github.attn4j.Masks;
import io.github.attn4j.RopeParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Properties of the ops, checked on the cpu backend with random inputs. */
class PropertiesTest {
    private static final Backend CPU = new CpuBackend();
    private static final SplittableRandom RND = new SplittableRandom(42);

    @AfterAll
    static void close() {
        CPU.close();
    }

    private static Tensor rand(int... shape) {
        float[] a = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (RND.nextDouble() * 2 - 1);
        }
        return Tensor.of(a, shape);
    }

    private static Tensor zeros(int... shape) {
        return Tensor.of(new float[Math.toIntExact(Tensor.numel(shape))], shape);
    }

    private static float[] sdpa(Tensor q, Tensor k, Tensor v, Masks m) {
        Tensor o = zeros(q.dim(0), q.dim(1), q.dim(2), v.dim(3));
        CPU.sdpa(SdpaParams.builder(q, k, v, o).masks(m).build());
        return o.toFloatArray();
    }

    /** Copies of the key axis (dim 2) of a [B, H, S, D] tensor in the order {@code perm}. */
    private static Tensor keys(Tensor t, int[] perm) {
        int b = t.dim(0), h = t.dim(1), d = t.dim(3);
        Tensor out = zeros(b, h, perm.length, d);
        for (int bi = 0; bi < b; bi++) {
            for (int hi = 0; hi < h; hi++) {
                for (int j = 0; j < perm.length; j++) {
                    for (int x = 0; x < d; x++) {
                        out.set(t.get(bi, hi, perm[j], x), bi, hi, j, x);
                    }
                }
            }
        }
        return out;
    }

    @Test
    void inverseRopeUndoesRopeAndIsItsTranspose() {
        Tensor x = rand(2, 3, 7, 16), y = rand(2, 3, 7, 16), rx = zeros(2, 3, 7, 16), back = zeros(2, 3, 7, 16);
        Tensor iy = zeros(2, 3, 7, 16);
        CPU.rope(RopeParams.builder(x, rx).offset(5).theta(500f).build());
        CPU.rope(RopeParams.builder(rx, back).offset(5).theta(500f).inverse().build());
        CPU.rope(RopeParams.builder(y, iy).offset(5).theta(500f).inverse().build());
        float[] a = x.toFloatArray(), b = back.toFloatArray();
        for (int i = 0; i < a.length; i++) {
            assertEquals(a[i], b[i], 1e-6, "element " + i);
        }
        // <y, R x> = <R^-1 y, x>: the inverse rotation is the transpose (the backward of RoPE)
        double lhs = 0, rhs = 0;
        float[] yf = y.toFloatArray(), rxf = rx.toFloatArray(), iyf = iy.toFloatArray();
        for (int i = 0; i < a.length; i++) {
            lhs += (double) yf[i] * rxf[i];
            rhs += (double) iyf[i] * a[i];
        }
        assertEquals(lhs, rhs, 1e-5);
    }

    @Test
    void softmaxRowsSumToOne() {
        int b = 2, h = 3, sq = 5, sk = 17;
        Tensor x = rand(b, h, sq, sk);
        boolean[] mb = new boolean[b * h * sq * sk];
        for (int i = 0; i < mb.length; i++) {
            mb[i] = RND.nextDouble() < 0.7;
        }
        Tensor y = zeros(b, h, sq, sk);
        CPU.softmax(SoftmaxParams.builder(x, y).scale(3f).masks(Masks.builder().causal()
                .boolMask(Tensor.ofBool(mb, b, h, sq, sk)).build()).build());
        float[] yv = y.toFloatArray();
        int full = 0;
        for (int r = 0; r < b * h * sq; r++) {
            double sum = 0;
            boolean any = false;
            for (int j = 0; j < sk; j++) {
                sum += yv[r * sk + j];
                any |= mb[r * sk + j] && j <= (r % sq) + (sk - sq);
                assertTrue(yv[r * sk + j] >= 0);
            }
            assertEquals(any ? 1.0 : 0.0, sum, 1e-6, "row " + r);
            full += any ? 1 : 0;
        }
        assertTrue(full > b * h * sq / 2);
    }

    @Test
    void permutingKeysWithValuesLeavesSdpaUnchanged() {
        Tensor q = rand(2, 2, 7, 16), k = rand(2, 2, 13, 16), v = rand(2, 2, 13, 8);
        int[] perm = {5, 12, 0, 3, 9, 1, 11, 2, 8, 4, 10, 7, 6};
        assertArrayEquals(sdpa(q, k, v, Masks.NONE), sdpa(q, keys(k, perm), keys(v, perm), Masks.NONE), 1e-6f);
    }

    @Test
    void maskingAKeyEqualsDeletingIt() {
        int sq = 6, sk = 11, gone = 4;
        Tensor q = rand(1, 2, sq, 8), k = rand(1, 2, sk, 8), v = rand(1, 2, sk, 8);
        boolean[] m = new boolean[sq * sk];
        for (int i = 0; i < m.length; i++) {
            m[i] = i % sk != gone;
        }
        int[] kept = new int[sk - 1];
        for (int j = 0, n = 0; j < sk; j++) {
            if (j != gone) {
                kept[n++] = j;
            }
        }
        Masks masked = Masks.builder().boolMask(Tensor.ofBool(m, sq, sk)).build();
        assertArrayEquals(sdpa(q, keys(k, kept), keys(v, kept), Masks.NONE), sdpa(q, k, v, masked), 1e-6f);
        // kvLengths: the last two keys masked equals the first sk - 2 keys.
        int[] prefix = java.util.stream.IntStream.range(0, sk - 2).toArray();
        assertArrayEquals(sdpa(q, keys(k, prefix), keys(v, prefix), Masks.NONE),
                sdpa(q, k, v, Masks.builder().kvLengths(sk - 2).build()), 1e-6f);
        // The same for additive attention.
        Tensor w = rand(8);
        Tensor c1 = zeros(1, 2, sq, 8), c2 = zeros(1, 2, sq, 8);
        Tensor kk = rand(1, 2, sk, 8);
        CPU.additive(AdditiveParams.builder(q, kk, v, w, c1).masks(masked).build());
        CPU.additive(AdditiveParams.builder(q, keys(kk, kept), keys(v, kept), w, c2).build());
        assertArrayEquals(c2.toFloatArray(), c1.toFloatArray(), 1e-6f);
    }

    @Test
    void alignmentsAgreeWhenSqEqualsSk() {
        Tensor q = rand(2, 2, 9, 8), k = rand(2, 2, 9, 8), v = rand(2, 2, 9, 8);
        for (Masks.Builder m : new Masks.Builder[] {Masks.builder().causal(), Masks.builder().window(2, 1),
                Masks.builder().alibi(Tensor.of(new float[] {0.5f, 0.25f}, 2))}) {
            float[] tl = sdpa(q, k, v, m.alignment(Alignment.TOP_LEFT).build());
            float[] br = sdpa(q, k, v, m.alignment(Alignment.BOTTOM_RIGHT).build());
            assertArrayEquals(tl, br);
        }
        // ...and differ when Sq != Sk (the test can fail).
        Tensor q2 = rand(2, 2, 4, 8);
        float[] tl = sdpa(q2, k, v, Masks.builder().alignment(Alignment.TOP_LEFT).causal().build());
        float[] br = sdpa(q2, k, v, Masks.builder().alignment(Alignment.BOTTOM_RIGHT).causal().build());
        assertTrue(Math.abs(tl[0] - br[0]) > 1e-4);
    }

    @Test
    void gqaEqualsRepeatingKvHeads() {
        int hq = 4, hkv = 2;
        Tensor q = rand(2, hq, 5, 8), k = rand(2, hkv, 7, 8), v = rand(2, hkv, 7, 6);
        Tensor kr = zeros(2, hq, 7, 8), vr = zeros(2, hq, 7, 6);
        for (int b = 0; b < 2; b++) {
            for (int h = 0; h < hq; h++) {
                for (int j = 0; j < 7; j++) {
                    for (int x = 0; x < 8; x++) {
                        kr.set(k.get(b, h / (hq / hkv), j, x), b, h, j, x);
                    }
                    for (int x = 0; x < 6; x++) {
                        vr.set(v.get(b, h / (hq / hkv), j, x), b, h, j, x);
                    }
                }
            }
        }
        Masks m = Masks.builder().causal().kvLengths(7, 4).build();
        assertArrayEquals(sdpa(q, kr, vr, m), sdpa(q, k, v, m));
    }
}
