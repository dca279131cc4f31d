package io.github.attn4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The forward + backward pairing and the like-with-like ratios of a backward point against an autograd peer. */
class ReportTest {
    @TempDir
    Path dir;

    private static Result row(String impl, Shape s, double ms, String note) {
        return Result.measured(impl, impl, "d", s, "f32", new double[] {ms}, 1, Double.NaN, 1, "w", note);
    }

    private static final Shape FWD = Shape.sdpa("flash-bwd", 1, 8, 8, 512, 512, 64, false);
    private static final Shape BWD = FWD.withOp("sdpa_bwd", "flash-bwd");

    @Test
    void fwdBwdAddsTheForwardOfTheSameImplDimsAndDtype() {
        Shape other = Shape.sdpa("flash-bwd", 1, 8, 8, 1024, 1024, 64, false);
        List<Result> rows = List.of(row("attn4j-opencl", FWD, 10, ""), row("attn4j-opencl", BWD, 30, ""),
                row("attn4j-opencl", other.withOp("sdpa_bwd", "x"), 99, ""), // no forward of its dims: no step
                row("attn4j-cpu", BWD, 5, ""), // no forward of its impl: no step
                row("djl-pytorch", FWD, 20, ""), row("djl-pytorch", BWD, 70, Result.FWD_BWD + ": autograd"));
        List<Report.FwdBwd> steps = Report.fwdBwd(rows);
        assertEquals(1, steps.size(), steps.toString());
        Report.FwdBwd f = steps.get(0);
        assertEquals("attn4j-opencl", f.impl());
        assertEquals(BWD.key(), f.shape());
        assertEquals(10, f.fwdMs());
        assertEquals(30, f.bwdMs());
        assertEquals(40, f.totalMs());
        assertTrue(Report.fwdBwdTable(steps).contains("40.000"));
    }

    @Test
    void anAutogradPeerIsComparedWithAttn4jForwardPlusBackwardNeverWithTheBackwardAlone() {
        List<Result> rows = List.of(row("attn4j-opencl", FWD, 10, ""), row("attn4j-opencl", BWD, 30, ""),
                row("djl-pytorch", FWD, 20, ""), row("djl-pytorch", BWD, 60, Result.FWD_BWD + ": autograd"),
                row("other", BWD, 45, "backward only"));
        List<Report.Ratio> r = Report.ratios(rows);
        Map<String, Report.Ratio> byKey = new java.util.HashMap<>();
        for (Report.Ratio x : r) {
            byKey.put(x.shape() + "|" + x.peer(), x);
        }
        assertEquals(3, r.size(), r.toString());
        assertEquals(2.0, byKey.get(FWD.key() + "|djl-pytorch").speedup(), 1e-12);
        Report.Ratio step = byKey.get(BWD.key() + " fwd+bwd|djl-pytorch");
        assertEquals(40, step.attn4jMs());
        assertEquals(1.5, step.speedup(), 1e-12);
        assertFalse(byKey.containsKey(BWD.key() + "|djl-pytorch"), "bwd-only attn4j against a fwd+bwd peer");
        assertEquals(1.5, byKey.get(BWD.key() + "|other").speedup(), 1e-12); // a backward-only peer: plain ratio
    }

    @Test
    void withoutAttn4jForwardAnAutogradPeerGetsNoRatio() {
        Shape sb = Shape.softmaxBackward("softmax-bwd", 64, 1024);
        List<Result> rows = List.of(row("attn4j-opencl", sb, 1, ""), row("djl-pytorch", sb, 3, Result.FWD_BWD));
        assertTrue(Report.ratios(rows).isEmpty());
        List<Result> withFwd = new java.util.ArrayList<>(rows);
        withFwd.add(row("attn4j-opencl", Shape.softmax("softmax", 64, 1024), 2, ""));
        List<Report.Ratio> r = Report.ratios(withFwd);
        assertEquals(1, r.size());
        assertEquals(sb.key() + " fwd+bwd", r.get(0).shape());
        assertEquals(1.0, r.get(0).speedup(), 1e-12);
    }

    @Test
    void theMarkerSurvivesTheCsvAndTheMarkdownHasTheStepTable() {
        List<Result> rows = List.of(row("attn4j-opencl", FWD, 10, ""), row("attn4j-opencl", BWD, 30, ""),
                row("djl-pytorch", BWD, 80, Result.FWD_BWD + ": autograd"));
        Csv.write(dir.resolve("r.csv"), rows);
        List<Result> back = Csv.read(dir.resolve("r.csv"));
        assertTrue(back.get(2).forwardIncluded());
        assertFalse(back.get(1).forwardIncluded());
        String md = Report.markdown(back, new java.util.LinkedHashMap<>(), List.of());
        assertTrue(md.contains("## Forward + backward"), md);
        assertTrue(md.contains("| " + BWD.key() + " fwd+bwd | f32 | attn4j-opencl | djl-pytorch | 40.000 | 80.000 | 2.00 |"),
                md);
    }
}
