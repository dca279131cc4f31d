package io.github.attn4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The tensor-core tile table read from tc_traits.cuh keeps the invariants the kernel relies on. */
class TcTraitsTableTest {

    @Test
    void tableCoversIssueHeadDimsAndRespectsLimits() {
        assertEquals(List.of(64, 96, 128, 256), TcTraits.headDims());
        for (TcTraits t : TcTraits.table()) {
            String row = t.toString();
            assertEquals(16 * t.warps(), t.blockM(), row + ": 16 rows per warp");
            assertEquals(0, t.blockN() % 16, row);
            assertTrue(t.blockN() <= 64, row + ": mask bits fit 32 bits");
            assertTrue(t.stages() >= 2, row);
            assertTrue(t.sharedBytes() <= CudaTables.TC_SMEM_LIMIT, row + " shared " + t.sharedBytes());
            assertEquals(0, (t.blockM() * t.headDim() / 8) % t.threads(), row + ": Q chunks per thread");
            assertEquals(0, (t.blockN() * t.headDim() / 8) % t.threads(), row + ": K/V chunks per thread");
            if (t.swizzle()) {
                assertEquals(0, (t.headDim() / 8) % 8, row + ": swizzle needs D/8 % 8 == 0");
            } else {
                assertEquals(1, t.pitchChunks() % 2, row + ": padded pitch odd");
            }
        }
    }

    @Test
    void sharedBytesPerRow() {
        // Q tile + stages * (K + V), rows of D*2 bytes (D = 96 padded by 16 bytes).
        assertEquals(128 * 128 + 3 * 2 * 64 * 128, TcTraits.forHeadDim(64).orElseThrow().sharedBytes());
        assertEquals(128 * 208 + 2 * 2 * 64 * 208, TcTraits.forHeadDim(96).orElseThrow().sharedBytes());
        assertEquals(128 * 256 + 2 * 2 * 64 * 256, TcTraits.forHeadDim(128).orElseThrow().sharedBytes());
        assertEquals(64 * 512 + 2 * 2 * 32 * 512, TcTraits.forHeadDim(256).orElseThrow().sharedBytes());
        assertTrue(TcTraits.forHeadDim(80).isEmpty());
    }

    /** Parameter names of a C parameter list, "const T_* q" -> "q". */
}
