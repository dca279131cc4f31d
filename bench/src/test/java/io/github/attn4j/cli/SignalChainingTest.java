package io.github.attn4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The command line's relaunch with signal chaining: how the child's command is built, and, on
 * Linux with a {@code libjsig.so}, that a child JVM started without it ends up running with it
 * (exit code passed through), and that {@code -Dattn4j.jsig=false} keeps it off.
 */
class SignalChainingTest {
    @Test
    void jarCommandKeepsJvmOptionsAndArguments() {
        List<String> cmd = SignalChaining.command("/jdk/bin/java", List.of("-Xmx2g", "-Dx=y"), "bench/target/attn4j.jar",
                "bench/target/attn4j.jar devices --x", "io.github.attn4j.bench.Main", new String[] {"devices", "--x"});
        assertEquals(List.of("/jdk/bin/java", "-Xmx2g", "-Dx=y", "-jar", "bench/target/attn4j.jar", "devices", "--x"), cmd);
    }

    @Test
    void classPathCommandNamesTheMainClass() {
        List<String> cmd = SignalChaining.command("java", List.of(), "a.jar:b/classes", "io.github.attn4j.bench.Main verify",
                "io.github.attn4j.bench.Main", new String[] {"verify"});
        assertEquals(List.of("java", "-cp", "a.jar:b/classes", "io.github.attn4j.bench.Main", "verify"), cmd);
        // one jar on the class path, but started as -cp JAR MAIN: still -cp
        cmd = SignalChaining.command("java", List.of(), "a.jar", "io.github.attn4j.bench.Main", "io.github.attn4j.bench.Main",
                new String[0]);
        assertEquals(List.of("java", "-cp", "a.jar", "io.github.attn4j.bench.Main"), cmd);
    }

    /** The child's main: relaunch if needed, then report whether libjsig is loaded, exit 7. */
    public static void main(String[] args) {
        SignalChaining.relaunchIfNeeded(args);
        System.out.println("jsig=" + SignalChaining.jsigLoaded() + " args=" + String.join(",", args));
        System.exit(7);
    }

    private static String runChild(String... jvmArgs) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(jvmArgs));
        cmd.add("-cp");
        String cp = System.getProperty("surefire.test.class.path");
        cmd.add(cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path"));
        cmd.add(SignalChainingTest.class.getName());
        cmd.add("a b");
        cmd.add("c");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("LD_PRELOAD");
        pb.environment().remove(SignalChaining.MARKER);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(7, p.exitValue(), out);
        return out;
    }

    @Test
    void childRunsWithLibjsig() throws Exception {
        Assumptions.assumeTrue(Files.exists(Path.of("/proc/self/maps")) && Files.isRegularFile(SignalChaining.jsigPath()),
                "Linux with $JAVA_HOME/lib/libjsig.so only");
        String out = runChild("-Dsome.option=1");
        assertTrue(out.contains("jsig=true args=a b,c"), out);
        String off = runChild("-Dattn4j.jsig=false");
        assertTrue(off.contains("jsig=false args=a b,c"), off);
    }
}
