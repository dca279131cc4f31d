package io.github.attn4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.attn4j.Attn4j;
import io.github.attn4j.DeviceInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code verify} in a child JVM, where the environment can hide drivers: with the OpenCL ICDs hidden
 * ({@code OCL_ICD_VENDORS} = an empty folder) and no CUDA driver it must say that nothing was verified
 * and exit {@link Cli#NO_DEVICE}; on PoCL the kernel builds must leave stderr clean, and DEBUG logging
 * must show the build log.
 */
class VerifyChildJvmTest {
    /** The child's entry point: {@code verify ARGS}, the exit code as the process's. */
    public static final class Child {
        public static void main(String[] args) {
            int code = VerifyCommand.run(args, System.out, System.err);
            System.out.flush();
            System.exit(code);
        }
    }

    /** One small SDPA case whose OpenCL build has compiler warnings on PoCL. */
    static final String[] ONE_CASE = {"--quick", "--op", "sdpa", "--filter", "Sq=7,Sk=17,D=16,Dv=16,seed"};

    @TempDir
    Path dir;

    record Result(int code, String out, String err) {}

    Result child(Map<String, String> env, List<String> jvmArgs, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.addAll(jvmArgs);
        cmd.add(Child.class.getName());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("ATTN4J_BACKEND");
        pb.environment().putAll(env);
        Path out = dir.resolve("out.txt"), err = dir.resolve("err.txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("the child JVM ran over 5 minutes: " + cmd);
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    static boolean available(String backend) {
        return Attn4j.provider(backend).devices().stream().anyMatch(DeviceInfo::available);
    }

    @Test
    void noDeviceSaysNothingWasVerifiedAndExits3() throws Exception {
        assumeTrue(!available("cuda"), "a CUDA device is present: the no-device case cannot be made here");
        Path empty = Files.createDirectories(dir.resolve("no-icds"));
        Result r = child(Map.of("OCL_ICD_VENDORS", empty.toString()), List.of(), ONE_CASE);
        assertTrue(r.code() != Cli.OK || !r.out().contains("verify: OK"), "a device was found: " + r.out());
        assertEquals(Cli.NO_DEVICE, r.code(), r.out() + r.err());
        String o = r.out();
        assertTrue(o.startsWith("verify: no device backend is available here; only the float64 reference (cpu) is present."), o);
        assertTrue(o.contains("  cuda     unavailable: "), o);
        assertTrue(o.contains("  opencl   unavailable: "), o);
        assertTrue(o.contains("Nothing was verified"), o);
        assertTrue(o.contains("apt-get install pocl-opencl-icd ocl-icd-libopencl1"), o);
        assertTrue(o.strip().endsWith("verify: NO DEVICE, nothing verified (exit 3)"), o);
        assertFalse(o.contains("PASS"), o);
        assertEquals("", r.err().strip());

        // Named, the hidden backend is no device either.
        Result named = child(Map.of("OCL_ICD_VENDORS", empty.toString()), List.of(), "--backend", "opencl", "--quick");
        assertEquals(Cli.NO_DEVICE, named.code(), named.out() + named.err());
        assertTrue(named.out().startsWith("verify: backend opencl has no available device."), named.out());
    }

    @Test
    void openClBuildsKeepStderrClean() throws Exception {
        assumeTrue(available("opencl"), "no OpenCL device");
        // PoCL's kernel cache would skip the compiler, and with it the warnings.
        // Started as the attn4j command line starts itself: with signal chaining (libjsig), so that the
        // one warning about PoCL's signal handlers (a JVM without it) is not what this test sees.
        java.nio.file.Path jsig = java.nio.file.Path.of(System.getProperty("java.home"), "lib", "libjsig.so");
        assumeTrue(Files.exists(jsig), "no libjsig.so in this JDK");
        Result r = child(Map.of("POCL_KERNEL_CACHE", "0", "LD_PRELOAD", jsig.toString()), List.of(),
                concat("--backend", "opencl", ONE_CASE));
        assertEquals(Cli.OK, r.code(), r.out() + r.err());
        assertEquals("", r.err().strip(), "stderr of a passing run");
    }

    @Test
    void debugLoggingShowsTheBuildLog() throws Exception {
        assumeTrue(available("opencl"), "no OpenCL device");
        Path config = dir.resolve("logging.properties");
        Files.writeString(config, """
                handlers = java.util.logging.ConsoleHandler
                java.util.logging.ConsoleHandler.level = ALL
                io.github.attn4j.opencl.level = FINE
                """);
        Result r = child(Map.of("POCL_KERNEL_CACHE", "0"), List.of("-Djava.util.logging.config.file=" + config),
                concat("--backend", "opencl", ONE_CASE));
        assertEquals(Cli.OK, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("OpenCL: built sdpa.cl for "), r.err());
        assertTrue(r.err().contains("with [-cl-std=CL1.2 -D"), "no -w when builds are logged: " + r.err());
    }

    private static String[] concat(String a, String b, String[] rest) {
        List<String> l = new ArrayList<>(List.of(a, b));
        l.addAll(List.of(rest));
        return l.toArray(String[]::new);
    }
}
