package io.github.attn4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CsvTest {
    @TempDir
    Path dir;

    static Result sample() {
        Shape s = Shape.sdpa("flash", 4, 16, 16, 4096, 4096, 128, true);
        return Result.measured("attn4j-opencl", "opencl:0", "pthread-cpu, \"PoCL\"", s, "f32",
                new double[] {12.5, 10.0, 11.0, 30.0}, 21.5, Double.NaN, 123456789L, "wall+sync", "fused, tiled");
    }

    @Test
    void roundTripKeepsEveryField() throws Exception {
        Shape sk = Shape.softmax("softmax", 512, 32768);
        List<Result> rows = List.of(sample(),
                Result.notRun("attn4j-cpu", "cpu", "float64 reference", sk, "f32", Result.SKIPPED,
                        "estimated 400 s, over --max-seconds 120\nsecond line"));
        Path f = dir.resolve("sub/results.csv");
        Csv.write(f, rows);
        List<Result> back = Csv.read(f);
        assertEquals(2, back.size());
        Result a = rows.get(0), b = back.get(0);
        assertEquals(a.shape().key(), b.shape().key());
        assertEquals(a.shape(), b.shape());
        assertEquals(a.impl(), b.impl());
        assertEquals(a.device(), b.device());
        assertEquals(a.reason(), b.reason());
        assertEquals(11.75, b.msMedian(), 1e-9);
        assertEquals(10.0, b.msMin(), 1e-9);
        assertEquals(30.0, b.msMax(), 1e-9);
        assertEquals(4, b.runs());
        assertEquals(a.tflops(), b.tflops(), 1e-5 * a.tflops());
        assertEquals(a.gbps(), b.gbps(), 1e-5 * a.gbps());
        assertEquals(21.5, b.copyGbps(), 1e-9);
        assertTrue(Double.isNaN(b.gemmTflops()));
        assertEquals(123456789L, b.peakBytes());
        assertEquals("wall+sync", b.timing());
        Result s = back.get(1);
        assertEquals(Result.SKIPPED, s.status());
        assertEquals(rows.get(1).reason(), s.reason());
        assertTrue(Double.isNaN(s.msMedian()));
        assertEquals(-1, s.peakBytes());
        // Writing what was read gives the same bytes.
        Path g = dir.resolve("again.csv");
        Csv.write(g, back);
        assertEquals(Files.readString(f), Files.readString(g));
    }

    @Test
    void measuredDerivesRatesFromTheMedian() {
        Result r = sample();
        Shape s = r.shape();
        assertEquals(11.75, r.msMedian(), 0);
        assertEquals(s.flops() / 11.75e-3 / 1e12, r.tflops(), 1e-12);
        assertEquals(s.bytes(4) / 11.75e-3 / 1e9, r.gbps(), 1e-9);
        assertEquals(r.gbps() / 21.5, r.fracCopy(), 1e-12);
    }

    @Test
    void readsByColumnNameAndIgnoresExtraColumns() throws Exception {
        Path f = dir.resolve("peer.csv");
        Files.writeString(f, "extra,impl,op,dtype,batch,heads,seq_q,seq_k,head_dim,head_dim_v,status,ms_median\n"
                + "x,torch-flash,sdpa,f16,2,4,128,128,64,64,ok,0.5\r\n");
        Result r = Csv.read(f).get(0);
        assertEquals("torch-flash", r.impl());
        assertEquals("sdpa:b=2:h=4:sq=128:sk=128:d=64", r.shape().key());
        assertEquals(0.5, r.msMedian());
    }

    @Test
    void badFilesNameTheFileAndTheProblem() throws Exception {
        Path f = dir.resolve("bad.csv");
        Files.writeString(f, "impl,op\nx,sdpa\n");
        assertEquals(f + ": expected a column 'dtype', got header [impl, op]",
                assertThrows(IllegalArgumentException.class, () -> Csv.read(f)).getMessage());
        Path g = dir.resolve("bad2.csv");
        Files.writeString(g, Csv.header() + "\n" + Csv.row(sample()).replace(",4096,", ",lots,") + "\n");
        assertEquals(g + ": record 2: seq_q: expected an integer, got 'lots'",
                assertThrows(IllegalArgumentException.class, () -> Csv.read(g)).getMessage());
        Path missing = dir.resolve("none.csv");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Csv.read(missing)).getMessage()
                .startsWith(missing + ": cannot read"));
    }

    @Test
    void ratiosPairEachAttn4jRowWithEachPeerOnTheSamePoint() {
        Shape s = Shape.sdpa("flash", 1, 2, 2, 64, 64, 32, false);
        List<Result> rows = List.of(
                Result.measured("attn4j-cpu", "cpu", "d", s, "f32", new double[] {4}, 1, Double.NaN, 1, "w", ""),
                Result.measured("nd4j", "nd4j", "d", s, "f32", new double[] {8}, 1, Double.NaN, 1, "w", ""),
                Result.measured("nd4j", "nd4j", "d", s, "f16", new double[] {1}, 1, Double.NaN, 1, "w", ""));
        List<Report.Ratio> r = Report.ratios(rows);
        assertEquals(1, r.size());
        assertEquals(2.0, r.get(0).speedup());
        assertTrue(Report.ratioTable(r).contains("2.00"));
    }
}
