package io.github.attn4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

class BenchOptionsTest {
    @Test
    void defaults() {
        BenchOptions o = BenchOptions.parse(new String[0]);
        assertEquals("standard", o.shapes());
        assertEquals(3, o.warmup());
        assertEquals(BenchOptions.DEFAULT_WARMUP_MS, o.warmupMs());
        assertEquals(BenchOptions.DEFAULT_WARMUP_MAX_MS, o.warmupMaxMs());
        assertEquals(10, o.iters());
        assertTrue(o.backends().isEmpty());
        assertTrue(o.dtypes().isEmpty());
        assertFalse(o.quick());
        assertEquals(120, o.maxSeconds());
        assertEquals(Double.POSITIVE_INFINITY, o.totalSeconds());
        assertEquals(24 + 7 + 9 + 5, o.shapeList().size());
    }

    @Test
    void quickDefaultsToTheSmallSetAndA30SecondBudget() {
        BenchOptions o = BenchOptions.parse(new String[] {"--quick"});
        assertTrue(o.quick());
        assertEquals("small", o.shapes());
        assertEquals(30, o.totalSeconds());
        assertEquals(100, o.warmupMs());
        assertEquals(2000, o.warmupMaxMs());
        assertEquals(10, o.iters());
    }

    @Test
    void flagsWithSpaceOrEquals() {
        BenchOptions o = BenchOptions.parse(new String[] {"--backend", "cpu,opencl:1", "--op=sdpa", "--dtype", "F16,bf16",
                "--shapes", "flash,decode", "--warmup=0", "--warmup-ms", "0", "--iters", "25", "--out", "x/y", "--peer-csv", "a.csv",
                "--peer-csv=b.csv", "--max-seconds", "7.5", "--seed", "-3", "--no-progress", "--interleave"});
        assertEquals(List.of("cpu", "opencl:1"), o.backends());
        assertEquals(Set.of("sdpa"), o.ops());
        assertEquals(List.of("f16", "bf16"), o.dtypes());
        assertEquals(0, o.warmup());
        assertEquals(0, o.warmupMs());
        assertEquals(0, o.warmupMaxMs(), "no JIT wait where --warmup-ms 0 asks for no timed warm-up");
        assertEquals(25, o.iters());
        assertEquals(Path.of("x/y"), o.out());
        assertEquals(List.of(Path.of("a.csv"), Path.of("b.csv")), o.peerCsvs());
        assertEquals(7.5, o.maxSeconds());
        assertEquals(-3, o.seed());
        assertFalse(o.progress());
        assertTrue(o.interleave());
        assertFalse(BenchOptions.parse(new String[0]).interleave());
        assertEquals(24 + 7, o.shapeList().size());
    }

    @Test
    void opFiltersTheSets() {
        BenchOptions o = BenchOptions.parse(new String[] {"--op", "softmax"});
        assertEquals(9, o.shapeList().size());
        assertTrue(o.shapeList().stream().allMatch(s -> s.op().equals("softmax")));
        BenchOptions none = BenchOptions.parse(new String[] {"--op", "additive", "--shapes", "softmax"});
        assertEquals("--op: expected an op present in --shapes softmax, got [additive]",
                assertThrows(IllegalArgumentException.class, none::shapeList).getMessage());
    }

    @Test
    void explicitShapes() {
        BenchOptions o = BenchOptions.parse(new String[] {"--shapes=sdpa:b=2:h=4:s=1k:d=32:causal,softmax:r=8:n=64"});
        List<Shape> l = o.shapeList();
        assertEquals(Shape.sdpa("custom", 2, 4, 4, 1024, 1024, 32, true), l.get(0));
        assertEquals(Shape.softmax("custom", 8, 64).key(), l.get(1).key());
    }

    @Test
    void errorsNameTheFlagAndTheValue() {
        assertEquals("--iters: expected >= 10, got 9", err("--iters", "9"));
        assertEquals("--iters: expected an integer, got 'ten'", err("--iters", "ten"));
        assertEquals("--warmup: expected >= 0, got -1", err("--warmup=-1"));
        assertEquals("--warmup-ms: expected >= 0, got -5", err("--warmup-ms", "-5"));
        assertEquals("--warmup-max-ms: expected >= 0, got -1", err("--warmup-max-ms", "-1"));
        assertEquals("--iters: expected a value, got the end of the arguments", err("--iters"));
        assertEquals("--out: expected a value, got '--quick'", err("--out", "--quick"));
        assertEquals("--dtype: expected f32, f16 or bf16, got 'f64'", err("--dtype", "f64"));
        assertEquals("--op: expected one of [sdpa, sdpa_bwd, softmax, softmax_bwd, additive, additive_bwd, gemm], got 'frob'",
                err("--op", "frob"));
        assertEquals("unknown option '--frob' (see attn4j bench --help)", err("--frob"));
        assertEquals("--max-seconds: expected a finite number > 0, got '0'", err("--max-seconds", "0"));
        assertTrue(err("--shapes", "huge").startsWith("--shapes: expected a set name"));
        assertEquals("shape 'sdpa:b=1:h=2:d=8': expected s=N or both sq=N and sk=N, got no sq",
                err("--shapes", "sdpa:b=1:h=2:d=8"));
        assertEquals("shape 'sdpa:b=1:h=3:hkv=2:s=8:d=8': heads_kv: expected a divisor of heads = 3, got 2",
                err("--shapes", "sdpa:b=1:h=3:hkv=2:s=8:d=8"));
        assertEquals("shape 'sdpa:b=x': b: expected an integer (16k allowed), got 'x'", err("--shapes", "sdpa:b=x"));
        assertEquals("--plot-only: expected no --quick/--peers with it (it runs nothing), got --quick",
                err("--plot-only", "r.csv", "--quick"));
    }

    private static String err(String... args) {
        return assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse(args)).getMessage();
    }

    @Test
    void warmUpRunsTheCountThenUntilTheTimeHasPassed() {
        int[] runs = {0};
        int[] syncs = {0};
        Timer.warmUp(() -> syncs[0]++, () -> runs[0]++, 3, 0);
        assertEquals(3, runs[0]);
        assertEquals(1, syncs[0]);
        runs[0] = 0;
        syncs[0] = 0;
        long t0 = System.nanoTime();
        Timer.warmUp(() -> syncs[0]++, () -> {
            runs[0]++;
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, 1, 40);
        double ms = (System.nanoTime() - t0) / 1e6;
        assertTrue(ms >= 40, "warm-up lasted " + ms + " ms, expected >= 40");
        assertTrue(runs[0] > 1 && runs[0] <= 25, "runs " + runs[0]);
        assertEquals(runs[0], syncs[0], "each extra run is waited for (plus one after the counted runs)");
    }

    @Test
    void warmUpWaitsUntilTheJitHasBeenIdle() {
        // A fake clock (1 ms per reading) and JIT counter: the compiler finishes work until the 30th run.
        long[] now = {0};
        int[] runs = {0};
        LongSupplier clock = () -> now[0] += 1_000_000L;
        LongSupplier jit = () -> runs[0] < 30 ? runs[0] : 30;
        boolean quiet = Timer.warmUp(() -> { }, () -> runs[0]++, 2, 5, 10_000, jit, clock);
        assertTrue(quiet);
        assertTrue(runs[0] >= 30, "ran on while the JIT was busy: " + runs[0]);
        // the quiet window is JIT_QUIET_MS of readings (one per run) after the last change
        assertTrue(runs[0] <= 30 + Timer.JIT_QUIET_MS + 2, "stopped once the JIT was idle: " + runs[0]);
    }

    @Test
    void warmUpStopsAtItsLimitWhileTheJitIsBusy() {
        long[] now = {0};
        int[] runs = {0};
        LongSupplier clock = () -> now[0] += 1_000_000L;
        LongSupplier busy = () -> runs[0]; // a compilation finishes after every run
        assertFalse(Timer.warmUp(() -> { }, () -> runs[0]++, 0, 5, 100, busy, clock));
        assertTrue(runs[0] > 50 && runs[0] <= 100, "runs " + runs[0]);
        // no JIT wait where the limit is not above the minimum, or where the JVM reports no compilation time
        runs[0] = 0;
        assertTrue(Timer.warmUp(() -> { }, () -> runs[0]++, 0, 5, 5, busy, clock));
        assertTrue(runs[0] <= 5, "runs " + runs[0]);
        runs[0] = 0;
        assertTrue(Timer.warmUp(() -> { }, () -> runs[0]++, 0, 5, 100, () -> -1, clock));
        assertTrue(runs[0] <= 5, "runs " + runs[0]);
    }
}
