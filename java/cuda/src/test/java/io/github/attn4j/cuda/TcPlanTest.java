package io.github.attn4j.cuda;

import static io.github.attn4j.cuda.TcTestTensors.dev;
import static io.github.attn4j.cuda.TcTestTensors.sdpa;
import static io.github.attn4j.cuda.TcTestTensors.strided;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.DType;
import io.github.attn4j.Masks;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TcPlanTest {
    static final DeviceProps H100 = DeviceProps.h100();

    @ParameterizedTest(name = "D={0} {1}")
    @CsvSource({"64, F16, 128, 64, 256, 65536", "96, BF16, 128, 64, 256, 79872", "128, F16, 128, 64, 256, 98304",
            "256, BF16, 64, 32, 128, 98304"})
    void traitsPerHeadDim(int d, DType dt, int bm, int bn, int threads, int smem) {
        TcPlan p = TcPlan.choose(sdpa(dt, 2, 16, 16, 1000, 1000, d), H100);
        assertTrue(p.applies(), p.reason());
        assertEquals("", p.reason());
        assertEquals(d, p.traits().headDim());
        assertEquals(bm, p.traits().blockM());
        assertEquals(bn, p.traits().blockN());
        assertEquals(threads, p.blockX());
        assertEquals(smem, p.sharedBytes());
        String dts = dt == DType.F16 ? "f16" : "bf16";
        assertEquals("attn_sdpa_fwd_tc_" + dts + "_d" + d, p.entry());
        assertEquals("attn_sdpa_combine_" + dts, p.combineEntry());
        assertArrayEquals(new int[] {(1000 + bm - 1) / bm, 32, 1}, p.grid());
        assertEquals("tc-mma-" + dts + "-d" + d, p.variant());
        assertEquals(0, p.workspaceBytes(sdpa(dt, 2, 16, 16, 1000, 1000, d)));
    }

    private static void assertFallback(SdpaParams sp, DeviceProps dev, String reasonPart) {
        TcPlan p = TcPlan.choose(sp, dev);
        assertFalse(p.applies(), "expected a fallback");
        assertTrue(p.reason().contains(reasonPart), "reason '" + p.reason() + "' should mention '" + reasonPart + "'");
        assertThrows(IllegalStateException.class, p::entry);
        assertThrows(IllegalStateException.class, p::variant);
        assertEquals(0, p.workspaceBytes(sp));
    }

    @Test
    void fallsBackForF32() {
        assertFallback(sdpa(DType.F32, 1, 4, 4, 128, 128, 128), H100, "dtype F32");
    }

    @Test
    void fallsBackBelowSm80() {
        assertFallback(sdpa(DType.F16, 1, 4, 4, 128, 128, 128), DeviceProps.t4(), "7.5 < 8.0");
    }

    @Test
    void fallsBackForHeadDimsOutsideTable() {
        for (int d : new int[] {16, 32, 80, 160, 192}) {
            assertFallback(sdpa(DType.BF16, 1, 4, 4, 128, 128, d), H100, "head dim " + d + " not in");
        }
    }

    @Test
    void fallsBackWhenDvDiffers() {
        assertFallback(sdpa(DType.F16, 1, 4, 4, 128, 128, 64, 128, Masks.NONE), H100, "D = 64, Dv = 128");
    }

    @Test
    void fallsBackOnNonUnitLastStride() {
        int b = 1, h = 2, s = 64, d = 64;
        // Q viewed "transposed": [B, H, S, D] with the S axis contiguous.
        Tensor q = strided(DType.F16, 0, new int[] {b, h, s, d}, new long[] {(long) h * s * d, (long) s * d, 1, s});
        SdpaParams sp = SdpaParams.builder(q, dev(DType.F16, b, h, s, d), dev(DType.F16, b, h, s, d),
                dev(DType.F16, b, h, s, d)).build();
        assertFallback(sp, H100, "q last-dim stride 64 != 1");
    }

    @Test
    void fallsBackOnMisalignedOffsetsAndStrides() {
        int b = 1, h = 2, s = 64, d = 64;
        long[] st = Tensor.contiguousStrides(b, h, s, d);
        Tensor kOff = strided(DType.F16, 4, new int[] {b, h, s, d}, st);
        assertFallback(SdpaParams.builder(dev(DType.F16, b, h, s, d), kOff, dev(DType.F16, b, h, s, d),
                dev(DType.F16, b, h, s, d)).build(), H100, "k offset 4 is not a multiple of 8");
        Tensor vPad = strided(DType.F16, 0, new int[] {b, h, s, d}, new long[] {(long) h * s * 68, s * 68L, 68, 1});
        assertFallback(SdpaParams.builder(dev(DType.F16, b, h, s, d), dev(DType.F16, b, h, s, d), vPad,
                dev(DType.F16, b, h, s, d)).build(), H100, "v stride[2] = 68 is not a multiple of 8");
        Tensor oOdd = strided(DType.F16, 1, new int[] {b, h, s, d}, st);
        assertFallback(SdpaParams.builder(dev(DType.F16, b, h, s, d), dev(DType.F16, b, h, s, d),
                dev(DType.F16, b, h, s, d), oOdd).build(), H100, "o offset 1 is not a multiple of 2");
        // A padded row stride that stays a multiple of 8 elements (BSHD-like) is fine.
        Tensor qPad = strided(DType.F16, 8, new int[] {b, h, s, d}, new long[] {(long) h * s * 72, 72, h * 72L, 1});
        assertTrue(TcPlan.choose(SdpaParams.builder(qPad, dev(DType.F16, b, h, s, d), dev(DType.F16, b, h, s, d),
                dev(DType.F16, b, h, s, d)).build(), H100).applies());
    }

    @Test
    void fallsBackWhenSharedMemoryOrThreadsExceedDevice() {
        DeviceProps small = new DeviceProps("test", 8, 6, 46, 49152, 49152, 102400, 1024, 1536, 65536, 1L << 34);
        assertFallback(sdpa(DType.F16, 1, 4, 4, 128, 128, 128), small, "98304 bytes of shared memory");
        // D = 64 needs 65536 bytes: also too much for 48 KiB.
        assertFallback(sdpa(DType.F16, 1, 4, 4, 128, 128, 64), small, "65536 bytes");
        DeviceProps fewThreads = new DeviceProps("test", 8, 6, 46, 49152, 101376, 102400, 128, 1536, 65536, 1L << 34);
        assertFallback(sdpa(DType.F16, 1, 4, 4, 128, 128, 128), fewThreads, "256 threads per block");
        assertTrue(TcPlan.choose(sdpa(DType.F16, 1, 4, 4, 128, 128, 128), DeviceProps.rtx4090()).applies(),
                "every row fits the 99 KiB of sm_89");
    }

    @Test
    void fallsBackWhenGridYOverflows() {
        assertFallback(sdpa(DType.F16, 1025, 64, 64, 1, 64, 64), H100, "grid y limit 65535");
        assertTrue(TcPlan.choose(sdpa(DType.F16, 1023, 64, 64, 1, 64, 64), H100).applies());
    }

    @Test
    void ctasPerSmCountsSharedThreadsAndRegisters() {
        TcTraits d128 = TcTraits.forHeadDim(128).orElseThrow();
        TcTraits d256 = TcTraits.forHeadDim(256).orElseThrow();
        TcTraits d64 = TcTraits.forHeadDim(64).orElseThrow();
        assertEquals(1, TcPlan.ctasPerSm(H100, d128, 255), "256 threads x 256 registers fill the register file");
        assertEquals(2, TcPlan.ctasPerSm(H100, d128, 128), "then shared memory: 2 x (96 + 1) KiB <= 228 KiB");
        assertEquals(2, TcPlan.ctasPerSm(H100, d256, 255), "128 threads x 256 registers: two CTAs");
        assertEquals(3, TcPlan.ctasPerSm(H100, d64, 80), "65 KiB each: three in 228 KiB");
        assertEquals(1, TcPlan.ctasPerSm(DeviceProps.a100(), d128, 128), "164 KiB holds one 97 KiB CTA");
        assertEquals(1, TcPlan.ctasPerSm(DeviceProps.rtx4090(), d256, 64));
    }

    /** Decode: Sq = 1, GQA Hq/Hkv = 4, D = 128 on H100 (132 SMs, 1 CTA/SM at 255 registers). */
    @ParameterizedTest(name = "B={0} Hq={1} Sk={2} -> {3} splits")
    @CsvSource({
        // 32 CTAs: floor(132 / 32) = 4 splits keep one wave (128 CTAs)
        "1, 32, 1024, 4", // 16 tiles: 16 / 4 = 4 as well
        "1, 32, 2048, 4",
        "1, 32, 4096, 4",
        "1, 32, 65536, 4",
        // 8 CTAs: floor(132 / 8) = 16
        "1, 8, 1024, 4", // 16 tiles allow only 4 splits of 4 tiles
        "1, 8, 8192, 16",
        "1, 8, 65536, 16",
        // 1 CTA: 132, capped at 64
        "1, 1, 65536, 64",
        "1, 1, 4096, 16", // 64 tiles / 4
        "1, 1, 2000, 8", // 32 tiles / 4
        // already enough CTAs: 4 * 32 = 128 >= 0.8 * 132
        "4, 32, 65536, 1",
        // short key ranges never split
        "1, 8, 256, 1",
        "1, 8, 448, 1"})
    void decodeSplits(int b, int hq, int sk, int expected) {
        SdpaParams sp = sdpa(DType.BF16, b, hq, Math.max(1, hq / 4), 1, sk, 128);
        TcPlan p = TcPlan.choose(sp, H100);
        assertTrue(p.applies(), p.reason());
        int tiles = (sk + 63) / 64;
        if (expected > 1) {
            // the documented rebalance: z -> ceil(tiles / ceil(tiles / z)) never leaves a split empty
            int per = (tiles + p.splits() - 1) / p.splits();
            assertTrue((p.splits() - 1) * per < tiles, "no empty split");
            assertTrue(p.splits() * per >= tiles);
            assertTrue(per >= TcPlan.MIN_TILES_PER_SPLIT, "each split streams >= 4 tiles");
        }
        assertEquals(expected, p.splits(), "splits for B=" + b + " Hq=" + hq + " Sk=" + sk);
        assertEquals(p.splits(), p.grid()[2]);
        assertEquals(p.splits() > 1 ? "tc-mma-bf16-d128-splitkv" + p.splits() : "tc-mma-bf16-d128", p.variant());
    }

    @Test
    void splitHeuristicArithmetic() {
        assertEquals(1, TcPlan.splits(106, 132, 1000), ">= 80% of the slots");
        assertEquals(1, TcPlan.splits(105, 132, 1000), "floor(132/105) = 1: a second split would need two waves");
        assertEquals(2, TcPlan.splits(66, 132, 1000), "floor(132/66) = 2");
        assertEquals(2, TcPlan.splits(50, 132, 1000), "floor(132/50) = 2 (100 CTAs), not 3 (150 > 132)");
        assertEquals(1, TcPlan.splits(1, 132, 7), "7 tiles < 2 * 4");
        assertEquals(2, TcPlan.splits(1, 132, 8), "8 tiles: two splits of 4");
        assertEquals(64, TcPlan.splits(1, 1000, 100000), "bounded by MAX_SPLITS");
        assertEquals(7, TcPlan.splits(1, 10, 35), "min(10, 35/4) = 8, per = ceil(35/8) = 5, ceil(35/5) = 7 splits");
        for (int ctas = 1; ctas < 200; ctas++) {
            for (int tiles : new int[] {1, 8, 9, 100, 1024, 4096}) {
                int z = TcPlan.splits(ctas, 132, tiles);
                assertTrue(z >= 1 && z <= TcPlan.MAX_SPLITS);
                assertTrue(z == 1 || (long) ctas * z <= 132, "one wave: ctas=" + ctas + " z=" + z);
                int per = (tiles + z - 1) / z;
                assertTrue(z == 1 || per >= TcPlan.MIN_TILES_PER_SPLIT, "ctas=" + ctas + " tiles=" + tiles);
                assertTrue((z - 1) * per < tiles || z == 1, "no empty split");
            }
        }
    }

    @Test
    void largeShapesDoNotSplit() {
        // FlashAttention benchmark shapes: hidden 2048, batch * S = 16k.
        for (int d : new int[] {64, 128}) {
            int h = 2048 / d;
            for (int s : new int[] {1024, 2048, 4096, 8192, 16384}) {
                int b = 16384 / s;
                TcPlan p = TcPlan.choose(sdpa(DType.F16, b, h, h, s, s, d), H100);
                assertTrue(p.applies());
                assertEquals(1, p.splits(), "B=" + b + " H=" + h + " S=" + s + " D=" + d);
                assertEquals((s + p.traits().blockM() - 1) / p.traits().blockM(), p.gridX());
                assertEquals(b * h, p.gridY());
            }
        }
    }

    @Test
    void kvLengthsBoundTheKeyTiles() {
        Masks m = Masks.builder().kvLengths(300, 200).build();
        SdpaParams sp = sdpa(DType.F16, 2, 4, 4, 1, 65536, 128, 128, m);
        assertEquals(5, TcPlan.keyTiles(sp, TcTraits.forHeadDim(128).orElseThrow()));
        assertEquals(1, TcPlan.choose(sp, H100).splits(), "300 keys: 5 tiles, too short to split");
        Masks m2 = Masks.builder().kvLengths(65536, 100).build();
        SdpaParams sp2 = sdpa(DType.F16, 2, 4, 4, 1, 65536, 128, 128, m2);
        assertEquals(16, TcPlan.choose(sp2, H100).splits(), "8 CTAs, 1024 tiles: floor(132/8) = 16");
    }

    @Test
    void registerCountChangesSlots() {
        SdpaParams sp = sdpa(DType.F16, 1, 32, 8, 1, 65536, 128);
        assertEquals(4, TcPlan.choose(sp, H100).splits(), "1 CTA/SM: floor(132/32)");
        TcPlan p = TcPlan.choose(sp, H100, 128);
        assertEquals(2, p.ctasPerSm());
        assertEquals(8, p.splits(), "2 CTAs/SM: floor(264/32) = 8");
    }

    @Test
    void workspaceSizes() {
        // B=1, Hq=3, Sq=1, D=96, Sk=64k: 3 CTAs, floor(132/3) = 44, tiles 1024, per 24 -> 43 splits.
        SdpaParams sp = sdpa(DType.F16, 1, 3, 1, 1, 65536, 96);
        TcPlan p = TcPlan.choose(sp, H100);
        assertEquals(43, p.splits());
        long oBytes = 43L * 3 * 1 * 96 * 4;
        assertEquals(49536, oBytes);
        assertEquals(oBytes, p.partialOBytes(sp));
        assertEquals(49664, p.partialLseOffset(sp), "rounded up to 256");
        assertEquals(43L * 3 * 4, p.partialLseBytes(sp));
        assertEquals(49664 + 516, p.workspaceBytes(sp));
        assertEquals(49664, TcPlan.partialLseOffset(sp, 43), "static form used by launch code");
        assertEquals(0, TcPlan.partialOBytes(sp, 1));
        assertEquals(1, p.combineGridX(sp), "3 rows, 4 per CTA");

        SdpaParams big = sdpa(DType.BF16, 2, 8, 2, 5, 32768, 64);
        TcPlan q = TcPlan.choose(big, H100);
        assertTrue(q.splits() > 1);
        long rows = 2L * 8 * 5;
        assertEquals(q.splits() * rows * 64 * 4, q.partialOBytes(big));
        assertEquals(q.splits() * rows * 4, q.partialLseBytes(big));
        assertEquals(TcPlan.alignUp(q.partialOBytes(big), 256) + q.partialLseBytes(big), q.workspaceBytes(big));
        assertEquals(20, q.combineGridX(big));
    }

    @Test
    void devicePropertiesValidated() {
        assertThrows(IllegalArgumentException.class, () -> new DeviceProps("test", 9, 0, 0, 49152, 1, 1, 1, 1, 1, 1L << 34));
        assertEquals(90, H100.sm());
        assertEquals(89, DeviceProps.rtx4090().sm());
    }
}
