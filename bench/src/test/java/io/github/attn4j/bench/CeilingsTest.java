package io.github.attn4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class CeilingsTest {
    @Test
    void copyRunsFollowItersUpToTheCap() {
        assertEquals(10, Ceilings.copyRuns(10));
        assertEquals(Ceilings.MAX_COPY_RUNS, Ceilings.copyRuns(Ceilings.MAX_COPY_RUNS));
        assertEquals(Ceilings.MAX_COPY_RUNS, Ceilings.copyRuns(3000));
    }

    @Test
    void copyCeilingOnTheCpuReferenceTimesAtMostTheCap() {
        try (CpuBackend cpu = new CpuBackend()) {
            Ceilings c = Ceilings.measure(cpu, 1, 0, 0, 200);
            assertTrue(c.copyGbps() > 0 && Double.isFinite(c.copyGbps()), "copy GB/s " + c.copyGbps());
            assertEquals(64L << 20, c.copyBytes());
            assertTrue(c.copyNote().endsWith("median of " + Ceilings.MAX_COPY_RUNS), c.copyNote());
        }
    }
}
