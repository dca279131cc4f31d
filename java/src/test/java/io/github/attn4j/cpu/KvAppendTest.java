package io.github.attn4j.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.HostMemory;
import io.github.attn4j.KvAppendParams;
import io.github.attn4j.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** KV append on the reference: the slots written by hand, everything else untouched, and the validation messages. */
class KvAppendTest {
    private static final Backend CPU = new CpuBackend();

    @AfterAll
    static void close() {
        CPU.close();
    }

    static Tensor table(int rows, int cols, int... v) {
        return Tensor.of(HostMemory.of(v), DType.I32, new int[] {rows, cols}, new long[] {cols, 1}, 0);
    }

    static Tensor filled(float v, int... shape) {
        float[] a = new float[Math.toIntExact(Tensor.numel(shape))];
        java.util.Arrays.fill(a, v);
        return Tensor.of(a, shape);
    }

    @Test
    void writesThroughTheBlockTable() {
        // pageSize 2, 4 pages, Hkv = 1, D = Dv = 1. Sequence 0: pages [3, 1], start 1, rows 10, 11, 12 ->
        // positions 1, 2, 3 -> (page 3, slot 1), (page 1, slot 0), (page 1, slot 1).
        // Sequence 1: pages [0, garbage 99], start 0, one row of its 3 (ragged): 20 -> (page 0, slot 0).
        Tensor kNew = Tensor.of(new float[] {10, 11, 12, 20, 21, 22}, 2, 1, 3, 1);
        Tensor vNew = Tensor.of(new float[] {-10, -11, -12, -20, -21, -22}, 2, 1, 3, 1);
        Tensor kc = filled(7, 4, 2, 1, 1), vc = filled(7, 4, 2, 1, 1);
        CPU.kvAppend(KvAppendParams.builder(kNew, vNew, kc, vc, table(2, 2, 3, 1, 0, 99), 1, 0).appendLengths(3, 1)
                .build());
        float[] want = {20, 7, 11, 12, 7, 7, 7, 10};
        for (int i = 0; i < 8; i++) {
            assertEquals(want[i], kc.get(i / 2, i % 2, 0, 0), "k slot " + i);
            assertEquals(want[i] == 7 ? 7 : -want[i], vc.get(i / 2, i % 2, 0, 0), "v slot " + i);
        }
    }

    @Test
    void validation() {
        Tensor kNew = filled(1, 2, 1, 3, 4), vNew = filled(1, 2, 1, 3, 4);
        Tensor kc = filled(0, 4, 2, 1, 4), vc = filled(0, 4, 2, 1, 4);
        Tensor bt = table(2, 2, 0, 1, 2, 3);
        assertMessage("vCache.shape[1] (pageSize): expected 2, got 3", () -> KvAppendParams.builder(kNew, vNew, kc,
                filled(0, 4, 3, 1, 4), bt, 0, 0).build());
        assertMessage("vCache.shape[0] (numPages): expected 4, got 5", () -> KvAppendParams.builder(kNew, vNew, kc,
                filled(0, 5, 2, 1, 4), bt, 0, 0).build());
        assertMessage("startPositions[1] + 3 rows: expected <= the block table's capacity maxPagesPerSeq * pageSize"
                + " = 2 * 2 = 4, got 5", () -> KvAppendParams.builder(kNew, vNew, kc, vc, bt, 0, 2).build());
        assertMessage("blockTable[1, 0]: expected a page in [0, 4), got 4", () -> KvAppendParams.builder(kNew, vNew, kc,
                vc, table(2, 2, 0, 1, 4, 3), 0, 0).build());
        assertMessage("blockTable[0, 1]: expected a page in [0, 4), got -1", () -> KvAppendParams.builder(kNew, vNew,
                kc, vc, table(2, 2, 0, -1, 2, 3), 1, 0).build());
        assertMessage("startPositions: expected 2 values", () -> KvAppendParams.builder(kNew, vNew, kc, vc, bt, 0)
                .build());
        assertMessage("startPositions[0]: expected >= 0, got -1", () -> KvAppendParams.builder(kNew, vNew, kc, vc, bt,
                -1, 0).build());
        assertMessage("appendLengths[1]: expected in [0, 3], got 4", () -> KvAppendParams.builder(kNew, vNew, kc, vc,
                bt, 0, 0).appendLengths(1, 4).build());
        assertMessage("blockTable.dtype: expected I32, got F32", () -> KvAppendParams.builder(kNew, vNew, kc, vc,
                filled(0, 2, 2), 0, 0).build());
        assertMessage("kCache.shape[3] (D): expected 4, got 5", () -> KvAppendParams.builder(kNew, vNew,
                filled(0, 4, 2, 1, 5), vc, bt, 0, 0).build());
        assertMessage("kCache: expected memory disjoint from kNew", () -> KvAppendParams.builder(kc.view(0,
                new int[] {2, 1, 3, 4}, Tensor.contiguousStrides(2, 1, 3, 4)), vNew, kc, vc, bt, 0, 0).build());
        // entries the append does not reach may hold anything: seq 0 uses page slot 0 only, seq 1 nothing
        KvAppendParams ok = KvAppendParams.builder(kNew, vNew, kc, vc, table(2, 2, 1, -5, 12345, 3), 0, 0)
                .appendLengths(2, 0).build();
        assertEquals(2, ok.appendLength(0));
    }

    private static void assertMessage(String prefix, Runnable r) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
    }
}
