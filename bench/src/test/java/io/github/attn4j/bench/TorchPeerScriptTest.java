package io.github.attn4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The PyTorch peer cannot time anything without a GPU, but its contract with {@code bench} can be
 * checked here: the same shape keys, the same CSV header, the same FLOP and byte formulas. These
 * parts of the script run without PyTorch. Skipped only where there is no python3 at all.
 */
class TorchPeerScriptTest {
    static final Path SCRIPT = Path.of("peers", "torch_sdpa.py");

    record Out(int code, String stdout, String stderr) {}

    @BeforeAll
    static void needPython() {
        assertTrue(Files.exists(SCRIPT), SCRIPT.toAbsolutePath() + " missing");
        boolean ok;
        try {
            ok = new ProcessBuilder("python3", "--version").start().waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            ok = false;
        }
        assumeTrue(ok, "python3 is not installed");
    }

    static Out py(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("python3", "-B", SCRIPT.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Out(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    @Test
    void compiles() throws Exception {
        Process p = new ProcessBuilder("python3", "-c", "import ast,sys; ast.parse(open(sys.argv[1]).read())",
                SCRIPT.toString()).start();
        assertEquals(0, p.waitFor());
    }

    @Test
    void sameHeaderAsTheJavaCsv() throws Exception {
        Out o = py("--print-header");
        assertEquals(0, o.code(), o.stderr());
        assertEquals(Csv.header(), o.stdout().strip());
    }

    @Test
    void sameShapesAsTheJavaSets() throws Exception {
        assertSameShapes("standard,small,sdpa:b=3:h=6:hkv=2:sq=5:sk=7:d=16:dv=8:causal,additive:b=2:h=2:s=9:a=3:dv=5");
    }

    @Test
    void sameBackwardShapesAsTheJavaSets() throws Exception {
        assertSameShapes("flash-bwd,additive-bwd,softmax-bwd,sdpa_bwd:b=2:h=6:hkv=2:sq=5:sk=7:d=16:dv=8:causal,"
                + "softmax_bwd:r=3:n=9,additive_bwd:b=2:h=2:s=9:a=3:dv=5");
    }

    static void assertSameShapes(String spec) throws Exception {
        Out o = py("--list-shapes", "--shapes", spec);
        assertEquals(0, o.code(), o.stderr());
        List<String> java = ShapeSets.resolve(spec).stream().map(Shape::key).toList();
        assertEquals(java, o.stdout().lines().toList());
    }

    @Test
    void sameFlopAndByteFormulas() throws Exception {
        List<Shape> s = assertSameFormulas("f16", 2, "standard");
        // flash and decode points have 3 SDPA backends each, softmax and additive one implementation.
        assertEquals(3 * (24 + 7) + 9 + 5, s.size());
    }

    @Test
    void sameBackwardFlopAndByteFormulas() throws Exception {
        List<Shape> s = assertSameFormulas("f32", 4, "flash-bwd,additive-bwd,softmax-bwd");
        // flash-bwd: 5 forward and 5 backward points, 3 SDPA backends each; additive-bwd 5 + 5; softmax-bwd 9
        assertEquals(3 * 10 + 10 + 9, s.size());
        assertEquals(3 * 5 + 5 + 9, s.stream().filter(x -> x.op().endsWith("_bwd")).count());
    }

    /** The script's FLOPs and bytes of every planned point equal the Java ones; returns the points. */
    static List<Shape> assertSameFormulas(String dtype, int bytes, String spec) throws Exception {
        Out o = py("--dry-run", "--dtype", dtype, "--shapes", spec);
        assertEquals(0, o.code(), o.stderr());
        List<Shape> out = new ArrayList<>();
        for (String line : o.stdout().lines().toList()) {
            String[] f = line.split(" ");
            Shape s = ShapeSets.parse(f[2]);
            assertEquals(Double.parseDouble(f[3].substring(6)), s.flops(), 1e-5 * Math.max(1, s.flops()), line);
            assertEquals(Double.parseDouble(f[4].substring(6)), s.bytes(bytes), 1e-5 * s.bytes(bytes), line);
            out.add(s);
        }
        return out;
    }

    /**
     * Where a python3 with PyTorch is installed (Debian's python3-torch here; CI installs none and skips this),
     * the peer's timing code runs on the CPU: forward and backward points of every op, every row "ok", the
     * backward rows timed alone, and the CSV read back by {@link Csv#read}. On torch before 2.0, which has no
     * scaled_dot_product_attention, {@code torch_sdpa_cpu_check.py} puts a math stand-in in its place.
     */
    @Test
    void timesForwardAndBackwardOnTheCpuWhereTorchIsInstalled() throws Exception {
        String python = null;
        for (String c : List.of("python3", "/usr/bin/python3")) {
            try {
                if (new ProcessBuilder(c, "-c", "import torch").start().waitFor() == 0) {
                    python = c;
                    break;
                }
            } catch (IOException e) {
                // not this one
            }
        }
        assumeTrue(python != null, "no python3 with torch");
        Path csv = Files.createTempFile("torch-peer", ".csv");
        String shapes = "sdpa:b=1:h=4:hkv=2:s=64:d=16,sdpa_bwd:b=1:h=4:hkv=2:s=64:d=16,sdpa_bwd:b=1:h=2:s=40:d=16:causal,"
                + "softmax:r=64:n=128,softmax_bwd:r=64:n=128,additive:b=2:s=16:a=8:dv=8,additive_bwd:b=2:s=16:a=8:dv=8";
        Process p = new ProcessBuilder(python, "-B", Path.of("peers", "torch_sdpa_cpu_check.py").toString(),
                "--stand-in", "--device", "cpu", "--dtype", "f32", "--impls", "math,softmax,additive-broadcast",
                "--warmup", "1", "--iters", "10", "--shapes", shapes, "--out", csv.toString()).redirectErrorStream(true)
                .start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), log);
        List<Result> rows = Csv.read(csv);
        Files.delete(csv);
        assertEquals(7, rows.size(), rows.toString());
        for (Result r : rows) {
            assertTrue(r.ok(), r.impl() + " " + r.shape().key() + ": " + r.status() + " " + r.reason());
            assertTrue(r.msMedian() > 0, r.shape().key());
            assertEquals(r.shape().op().endsWith("_bwd"), r.reason().contains("backward alone"), r.reason());
        }
        assertEquals(ShapeSets.resolve(shapes).stream().map(Shape::key).toList(),
                rows.stream().map(r -> r.shape().key()).toList());
    }

    @Test
    void badArgumentsFailWithoutTorch() throws Exception {
        Out o = py("--iters", "3");
        assertEquals(2, o.code());
        assertTrue(o.stderr().contains("--iters: expected >= 10, got 3"), o.stderr());
        Out s = py("--list-shapes", "--shapes", "sdpa:b=1");
        assertEquals(2, s.code());
        assertTrue(s.stderr().toLowerCase(Locale.ROOT).contains("expected key h"), s.stderr());
    }
}
