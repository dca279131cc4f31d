package io.github.attn4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.attn4j.spi.KernelSignatures;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Runs the CUDA kernel sources themselves on the CPU: kernels/cuda/test/kernels_test.cpp compiles
 * sdpa.cu, sdpa_decode.cu (split-KV decode and combine), softmax.cu, additive.cu, gemm.cu and the
 * others against a host emulation of the CUDA built-ins
 * (emu.h: a std::thread per CUDA thread, barriers, warp shuffles) and checks ~180 random cases over
 * every option against a float64 reference. Not a substitute for a GPU run (no real memory model,
 * no timing), but it executes the kernels' indexing, masking, tiling and online-softmax logic.
 *
 * <p>The tensor-core kernel sdpa_tc.cu has its own emulation (kernels/cuda/emu: tc_emu.h runs
 * each CTA's threads as fibers and emulates ldmatrix, mma.sync and cp.async) and its own driver,
 * sdpa_tc_emu_test.cpp (61 cases against a float64 reference); the second test runs it.
 *
 * <p>Skipped when g++ is not on the PATH; {@code -Dattn4j.kernelEmulation=false} skips both.
 */
class CudaKernelEmulationTest {
    static boolean onPath(String exe) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, exe))) {
                return true;
            }
        }
        return false;
    }

    @Test
    void kernelSourcesPassTheReferenceOnTheHostEmulation() throws Exception {
        assumeTrue(!"false".equals(System.getProperty("attn4j.kernelEmulation")), "disabled by -Dattn4j.kernelEmulation=false");
        assumeTrue(onPath("g++"), "g++ is not on the PATH");
        Path src = KernelSignatures.KERNELS.resolve(Path.of("cuda", "test", "kernels_test.cpp"));
        assumeTrue(Files.exists(src), "no " + src);
        Path exe = Path.of("target", "kernels_test").toAbsolutePath();
        Files.createDirectories(exe.getParent());
        run(List.of("g++", "-std=c++20", "-O2", "-pthread", src.toString(), "-o", exe.toString()), 300);
        String out = run(List.of(exe.toString(), Long.toString(Long.getLong("attn4j.seed", 20261121L))), 600);
        assertTrue(out.contains(" 0 failures"), out);
    }

    @Test
    void tensorCoreKernelSourcePassesTheReferenceOnTheHostEmulation() throws Exception {
        assumeTrue(!"false".equals(System.getProperty("attn4j.kernelEmulation")), "disabled by -Dattn4j.kernelEmulation=false");
        assumeTrue(onPath("g++"), "g++ is not on the PATH");
        Path dir = KernelSignatures.KERNELS.resolve("cuda");
        Path src = dir.resolve(Path.of("emu", "sdpa_tc_emu_test.cpp"));
        assumeTrue(Files.exists(src), "no " + src);
        Path exe = Path.of("target", "sdpa_tc_emu_test").toAbsolutePath();
        Files.createDirectories(exe.getParent());
        // the flags of kernels/cuda/emu/run_emu_test.sh
        run(List.of("g++", "-std=c++17", "-O2", "-Wall", "-Wno-unused-function", "-Wno-unknown-pragmas",
                "-Wno-deprecated-declarations", "-I" + dir, src.toString(), "-o", exe.toString()), 300);
        String out = run(List.of(exe.toString()), 600);
        Matcher m = Pattern.compile("(\\d+) of (\\d+) cases passed").matcher(out);
        assertTrue(m.find(), out);
        assertEquals(m.group(2), m.group(1), out);
        assertTrue(Integer.parseInt(m.group(2)) >= 60, "cases run: " + m.group(2));
    }

    private static String run(List<String> cmd, int seconds) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(seconds, TimeUnit.SECONDS), "timed out: " + cmd);
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + " failed:\n" + text);
        return text;
    }
}
