package io.github.attn4j.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code attn4j bench} through the command line's entry point ({@link io.github.attn4j.cli.Main}). */
class BenchCommandTest {
    @TempDir
    Path dir;

    record Run(int code, String out, String err) {}

    static Run main(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int code = io.github.attn4j.cli.Main.run(args, new PrintStream(o, true, StandardCharsets.UTF_8),
                new PrintStream(e, true, StandardCharsets.UTF_8));
        return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    /** One line on stderr, starting with "error: ", no stack frames, and a non-zero exit. */
    static void assertOneLineError(Run r, String expected) {
        assertTrue(r.code() != 0, "exit code");
        assertEquals("error: " + expected + System.lineSeparator(), r.err());
        assertEquals(1, r.err().lines().count());
        assertFalse(r.err().contains("\tat "));
    }

    @Test
    void badFlagsGiveOneLineAndANonZeroExit() {
        assertOneLineError(main("bench", "--iters", "3"), "bench: --iters: expected >= 10, got 3");
        assertOneLineError(main("bench", "--nope"), "bench: unknown option '--nope' (see attn4j bench --help)");
        assertOneLineError(main("bench", "--backend", "tpu", "--no-progress"), "bench: backend: expected one of "
                + io.github.attn4j.Attn4j.providers().stream().map(p -> p.name()).toList() + ", got 'tpu'");
        assertOneLineError(main("bench", "--peers", "nd4j", "--no-progress", "--backend", "cpu"),
                "bench: --peers: expected one of [] (none on the class path: build and run with -Ppeers, see README), got 'nd4j'");
        Path missing = dir.resolve("missing.csv");
        Run r = main("bench", "--plot-only", missing.toString());
        assertTrue(r.code() != 0);
        assertTrue(r.err().startsWith("error: bench: " + missing + ": cannot read"), r.err());
        assertEquals(1, r.err().lines().count());
    }

    @Test
    void benchHelp() {
        Run bh = main("bench", "--help");
        assertEquals(0, bh.code());
        assertTrue(bh.out().contains("--plot-only CSV"));
    }

    @Test
    void benchOnTheCpuWritesCsvMarkdownAndCharts() throws Exception {
        Path out = dir.resolve("run");
        Run r = main("bench", "--backend", "cpu", "--no-progress", "--warmup", "1", "--shapes",
                "sdpa:b=1:h=2:s=16:d=8,sdpa:b=1:h=2:s=32:d=8,softmax:r=4:n=64,additive:b=1:s=8:a=4:dv=4,"
                        + "sdpa:b=64:h=64:s=16k:d=128", "--out", out.toString());
        assertEquals(0, r.code(), r.err() + r.out());
        List<Result> rows = Csv.read(out.resolve("results.csv"));
        assertEquals(5, rows.size());
        for (Result x : rows.stream().filter(x -> x.shape().seqQ() != 16384).toList()) {
            assertTrue(x.ok(), x.toString());
            assertEquals("attn4j-cpu", x.impl());
            assertEquals(10, x.runs());
            assertTrue(x.msMedian() > 0 && x.msMin() <= x.msMedian() && x.msMedian() <= x.msMax());
            assertTrue(x.copyGbps() > 0);
            assertTrue(x.peakBytes() > 0);
        }
        // The 16k point is skipped with its reason, not run.
        Result big = rows.stream().filter(x -> x.shape().seqQ() == 16384).findFirst().orElseThrow();
        assertEquals(Result.SKIPPED, big.status());
        assertTrue(big.reason().contains("cpu reference"), big.reason());
        assertTrue(Files.readString(out.resolve("results.md")).contains("| attn4j-cpu |"));
        assertPng(out.resolve("sdpa_custom_f32_d8.png"));
        assertTrue(r.out().contains("wrote "));
    }

    @Test
    void peerCsvIsMergedAndRatiosPrinted() throws Exception {
        Shape sh = ShapeSets.parse("softmax:r=16:n=128");
        Path peer = dir.resolve("torch.csv");
        Csv.write(peer, List.of(Result.measured("torch-softmax", "torch", "H100", sh, "f32", new double[] {1000.0},
                3000, 700, 1, "cuda-events", "")));
        Path out = dir.resolve("merged");
        Run r = main("bench", "--backend", "cpu", "--no-progress", "--shapes", "softmax:r=16:n=128", "--peer-csv",
                peer.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err() + r.out());
        assertTrue(r.out().contains("peer time / attn4j time"), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("softmax:r=16:n=128") && l.contains("torch-softmax")),
                r.out());
        List<Result> rows = Csv.read(out.resolve("results.csv"));
        assertEquals(List.of("attn4j-cpu", "torch-softmax"), rows.stream().map(Result::impl).toList());
        assertTrue(Files.readString(out.resolve("results.md")).contains("| softmax:r=16:n=128 | f32 | attn4j-cpu | "
                + "torch-softmax |"));
    }

    /**
     * {@code --interleave}: each shape on every implementation (here: every backend and dtype) before the next
     * shape, where the default runs each implementation's shapes in a row; the same points either way.
     */
    @Test
    void interleaveTimesEachShapeEverywhereBeforeTheNext() throws Exception {
        String backends = "cpu";
        try (io.github.attn4j.Backend cl = io.github.attn4j.Attn4j.open("opencl")) {
            backends = "cpu,opencl";
        } catch (RuntimeException | LinkageError e) {
            // the cpu backend's two dtypes alone
        }
        String shapes = "softmax:r=4:n=64,sdpa:b=1:h=2:s=16:d=8,sdpa:b=1:h=2:s=24:d=8";
        List<String> order = List.of();
        for (boolean interleave : new boolean[] {false, true}) {
            Path out = dir.resolve("order-" + interleave);
            List<String> args = new java.util.ArrayList<>(List.of("bench", "--backend", backends, "--dtype", "f32,f16",
                    "--no-progress", "--warmup", "1", "--warmup-ms", "0", "--shapes", shapes, "--out", out.toString()));
            if (interleave) {
                args.add("--interleave");
            }
            Run r = main(args.toArray(String[]::new));
            assertEquals(0, r.code(), r.err() + r.out());
            List<Result> rows = Csv.read(out.resolve("results.csv"));
            List<String> keys = rows.stream().map(x -> x.shape().key() + " " + x.impl() + " " + x.dtype()).toList();
            assertEquals(backends.contains("opencl") ? 12 : 6, keys.size(), keys.toString());
            for (Result x : rows) {
                assertTrue(x.ok(), x.toString());
            }
            if (!interleave) {
                order = keys;
                // one implementation's points in a row: the first three rows share impl and dtype
                assertEquals(1, rows.subList(0, 3).stream().map(x -> x.impl() + x.dtype()).distinct().count(), keys.toString());
            } else {
                assertEquals(new java.util.HashSet<>(order), new java.util.HashSet<>(keys));
                int per = keys.size() / 3;
                for (int i = 0; i < keys.size(); i++) {
                    // shape-major: rows [per * n, per * (n + 1)) are all the n-th shape
                    assertEquals(rows.get(i / per * per).shape().key(), rows.get(i).shape().key(), keys.toString());
                }
                assertTrue(Files.readString(out.resolve("results.md")).contains("interleaved"));
            }
        }
    }

    @Test
    void pointsTooSlowForTheLimitAreSkippedWithTheEstimateNotRun() throws Exception {
        Path out = dir.resolve("slow");
        long t0 = System.nanoTime();
        Run r = main("bench", "--backend", "cpu", "--no-progress", "--max-seconds", "2", "--shapes",
                "sdpa:b=1:h=1:s=16:d=8,sdpa:b=1:h=64:s=4096:d=128", "--out", out.toString());
        assertEquals(0, r.code(), r.err() + r.out());
        assertTrue((System.nanoTime() - t0) / 1e9 < 60, "the big point must not run");
        List<Result> rows = Csv.read(out.resolve("results.csv"));
        Result big = rows.stream().filter(x -> x.shape().heads() == 64).findFirst().orElseThrow();
        assertEquals(Result.SKIPPED, big.status());
        assertTrue(big.reason().startsWith("estimated ") && big.reason().endsWith("over --max-seconds 2"), big.reason());
        assertTrue(rows.stream().filter(x -> x.shape().heads() == 1).findFirst().orElseThrow().ok());
    }

    @Test
    void quickPrintsASmallTableAndWritesNothingWithoutOut() throws Exception {
        Path cwd = Path.of("").toAbsolutePath();
        long before;
        try (var f = Files.list(cwd)) {
            before = f.count();
        }
        Run r = main("bench", "--quick", "--backend", "cpu", "--no-progress", "--shapes",
                "softmax:r=8:n=64,sdpa:b=1:h=1:s=16:d=8");
        assertEquals(0, r.code(), r.err() + r.out());
        assertTrue(r.out().startsWith("IMPL "), r.out());
        assertTrue(r.out().contains("attn4j-cpu       f32   softmax R=8 N=64"), r.out());
        assertTrue(r.out().contains("2 of 2 points ran in"), r.out());
        assertFalse(r.out().contains("wrote "), r.out());
        try (var f = Files.list(cwd)) {
            assertEquals(before, f.count(), "--quick without --out must not create files");
        }
    }

    @Test
    void plotOnlyDrawsPngChartsFromACsv() throws Exception {
        Path csv = dir.resolve("gpu.csv");
        List<Result> rows = new java.util.ArrayList<>();
        for (int s = 512; s <= 4096; s *= 2) {
            Shape sh = Shape.sdpa("flash", 16384 / s, 16, 16, s, s, 128, false);
            rows.add(Result.measured("attn4j-cuda", "cuda:0", "H100", sh, "f16", new double[] {s / 100.0}, 3000,
                    Double.NaN, 1L << 30, "cuda-events", ""));
            rows.add(Result.measured("torch-flash", "torch", "H100", sh, "f16", new double[] {s / 120.0}, 3000, 700,
                    1L << 30, "cuda-events", ""));
        }
        rows.add(Result.notRun("attn4j-cuda", "cuda:0", "H100", Shape.softmax("softmax", 8, 8), "f16",
                Result.SKIPPED, "x"));
        Csv.write(csv, rows);
        Path out = dir.resolve("plots");
        Run r = main("bench", "--plot-only", csv.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err() + r.out());
        assertPng(out.resolve("sdpa_flash_f16_d128.png"));
        try (var files = Files.list(out)) {
            assertEquals(List.of("results.md", "sdpa_flash_f16_d128.png"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("## Ratios"), md);
        assertTrue(r.out().contains("0.83"), r.out()); // torch takes s/120 ms, attn4j s/100: 100/120
    }

    static void assertPng(Path p) throws Exception {
        assertTrue(Files.exists(p), p + " missing");
        byte[] head = Arrays.copyOf(Files.readAllBytes(p), 8);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, head);
        assertTrue(Files.size(p) > 5000, "a real chart, not an empty image");
    }
}
