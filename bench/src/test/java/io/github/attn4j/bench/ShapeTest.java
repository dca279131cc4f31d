package io.github.attn4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ShapeTest {
    @Test
    void sdpaFlopsAre4BHSqSkDAndHalfForCausal() {
        Shape s = Shape.sdpa("t", 2, 3, 3, 5, 7, 11, false);
        assertEquals(4.0 * 2 * 3 * 5 * 7 * 11, s.flops());
        assertEquals(2.0 * 2 * 3 * 5 * 7 * 11, Shape.sdpa("t", 2, 3, 3, 5, 7, 11, true).flops());
        // FlashAttention README point: batch 8, 16 heads, S = 2048, D = 128 -> 4·8·16·2048²·128 = 274.9 GFLOP.
        assertEquals(274877906944.0, Shape.sdpa("t", 8, 16, 16, 2048, 2048, 128, false).flops());
        // Dv != D: 2·B·H·Sq·Sk·(D + Dv).
        Shape dv = new Shape("sdpa", "t", 1, 2, 1, 3, 4, 8, 16, 0, false);
        assertEquals(2.0 * 2 * 3 * 4 * (8 + 16), dv.flops());
    }

    @Test
    void backwardPointsCount2Point5xTheForwardAndRoundTrip() {
        Shape f = Shape.sdpa("t", 1, 8, 2, 100, 300, 64, true);
        Shape g = f.withOp("sdpa_bwd", "t");
        assertEquals(2.5 * f.flops(), g.flops());
        assertTrue(g.backward() && !f.backward() && !g.memoryBound());
        // Q, O, dO, dQ (D, Dv, Dv, D) per query row; K, V, dK, dV per key row; the F32 LSE per row.
        assertEquals(4.0 * (2 * 8 * 100 * (64 + 128) + 2 * 2 * 300 * 128) + 4.0 * 8 * 100, g.bytes(4));
        assertEquals(g.withOp("sdpa_bwd", "custom"), ShapeSets.parse(g.key()));
        assertEquals("sdpa_bwd:b=1:h=8:hkv=2:sq=100:sk=300:d=64:causal", g.key());
        Shape a = Shape.additive("t", 2, 1, 7, 9, 16, 8, false).withOp("additive_bwd", "t");
        assertEquals(2.5 * Shape.additive("t", 2, 1, 7, 9, 16, 8, false).flops(), a.flops());
        assertEquals(a.withOp("additive_bwd", "custom"), ShapeSets.parse(a.key()));
        // The training sets pair each forward point with its backward.
        List<Shape> fb = ShapeSets.resolve("flash-bwd");
        assertEquals(10, fb.size());
        for (int i = 0; i < fb.size(); i += 2) {
            assertEquals(fb.get(i).withOp("sdpa_bwd", "flash-bwd"), fb.get(i + 1));
        }
        assertEquals(2 * ShapeSets.additive().size(), ShapeSets.resolve("additive-bwd").size());
    }

    @Test
    void sdpaBytesReadQKVOnceAndWriteOOnce() {
        // GQA: K and V have Hkv heads. Q = 1·8·1·64, K = V = 1·2·1000·64, O = 1·8·1·64 elements of 2 bytes.
        Shape s = Shape.sdpa("t", 1, 8, 2, 1, 1000, 64, false);
        assertEquals(2.0 * (512 + 2 * 128000 + 512), s.bytes(2));
        assertTrue(s.memoryBound());
    }

    @Test
    void softmaxBytesAreReadPlusWrite() {
        Shape s = Shape.softmax("t", 100, 300);
        assertEquals(2.0 * 4 * 100 * 300, s.bytes(4));
        assertEquals(0, s.flops());
        assertTrue(s.memoryBound());
    }

    @Test
    void additiveFlopsAndBytes() {
        Shape s = Shape.additive("t", 2, 1, 3, 4, 5, 6, false);
        assertEquals(2.0 * 3 * 4 * (5 * 5 + 2 * 6), s.flops());
        assertEquals(s.flops() / 2, Shape.additive("t", 2, 1, 3, 4, 5, 6, true).flops());
        // Qp 2·3·5 + Kp 2·4·5 + V 2·4·6 + w 5 + b 5 + C 2·3·6, 4 bytes each.
        assertEquals(4.0 * (30 + 40 + 48 + 10 + 36), s.bytes(4));
    }

    @Test
    void flashSetIsTheFlashAttentionReadmeSet() {
        List<Shape> l = ShapeSets.flash();
        assertEquals(24, l.size());
        for (Shape s : l) {
            assertEquals(16384, s.batch() * s.seqQ());
            assertEquals(2048, s.heads() * s.headDim());
            assertEquals(s.seqQ(), s.seqK());
            assertTrue(s.seqQ() >= 512 && s.seqQ() <= 16384);
        }
        assertEquals(12, l.stream().filter(Shape::causal).count());
        assertEquals(12, l.stream().filter(s -> s.headDim() == 64).count());
    }

    @Test
    void decodeSoftmaxAndAdditiveSets() {
        List<Shape> d = ShapeSets.decode();
        assertEquals(List.of(1024, 2048, 4096, 8192, 16384, 32768, 65536), d.stream().map(Shape::seqK).toList());
        assertTrue(d.stream().allMatch(s -> s.seqQ() == 1));
        List<Shape> sm = ShapeSets.softmax();
        assertEquals(128, sm.get(0).seqK());
        assertEquals(32768, sm.get(sm.size() - 1).seqK());
        assertTrue(sm.stream().allMatch(s -> (long) s.seqQ() * s.seqK() == 1 << 24));
        Shape a = ShapeSets.additive().get(0);
        assertEquals(List.of(32, 512, 512, 256), List.of(a.batch(), a.seqQ(), a.seqK(), a.dimA()));
    }

    @Test
    void everyStandardShapeRoundTripsThroughItsKey() {
        for (Shape s : ShapeSets.resolve("standard,small,serve")) {
            Shape back = ShapeSets.parse(s.key());
            assertEquals(s.key(), back.key());
            assertEquals(new Shape(s.op(), "custom", s.batch(), s.heads(), s.headsKv(), s.seqQ(), s.seqK(),
                    s.headDim(), s.headDimV(), s.dimA(), s.causal(), s.page(), s.varlen()), back);
        }
    }

    @Test
    void runOrderIsSmallestFirstWithinEachOp() {
        List<Shape> l = BenchCommand.order(ShapeSets.resolve("additive,decode,flash"));
        assertEquals("additive", l.get(0).op());
        assertEquals(5 + 24 + 7, l.size());
        assertTrue(l.get(l.size() - 1).memoryBound(), "decode points after the compute-bound ones");
        for (int i = 1; i < l.size(); i++) {
            if (BenchCommand.rateKey("x", l.get(i), "f32").equals(BenchCommand.rateKey("x", l.get(i - 1), "f32"))) {
                assertTrue(BenchCommand.work(l.get(i)) >= BenchCommand.work(l.get(i - 1)));
            }
        }
    }
}
