package io.github.attn4j.nativetests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs a {@code main} of the test class path in a fresh JVM, for tests that need an environment
 * the surefire JVM does not have (a cold PoCL kernel cache through {@code POCL_CACHE_DIR}, which
 * PoCL reads once when it starts) and that must see a crash as an exit code instead of dying.
 * The child never gets {@code LD_PRELOAD}: it runs without JVM signal chaining.
 */
final class ChildJvm {
    private ChildJvm() {}

    /** A finished child: exit code (137 = killed at the timeout), output, seconds. */
    record Result(int exitCode, String output, double seconds) {
        String tail(int lines) {
            String[] l = output.split("\n");
            return String.join("\n", java.util.Arrays.copyOfRange(l, Math.max(0, l.length - lines), l.length));
        }
    }

    /** The test class path of this JVM (surefire's, not its booter jar). */
    static String classPath() {
        String cp = System.getProperty("surefire.test.class.path");
        return cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path");
    }

    /**
     * Runs {@code mainClass} with {@code args} and {@code jvmArgs}, in a new empty PoCL cache folder
     * (deleted afterwards), at most {@code timeoutSeconds}.
     */
    static Result run(Class<?> mainClass, List<String> jvmArgs, List<String> args, long timeoutSeconds)
            throws IOException, InterruptedException {
        return run(mainClass, jvmArgs, args, timeoutSeconds, Map.of());
    }

    /** As {@link #run(Class, List, List, long)}, with {@code env} added to the child's environment. */
    static Result run(Class<?> mainClass, List<String> jvmArgs, List<String> args, long timeoutSeconds,
            Map<String, String> extraEnv) throws IOException, InterruptedException {
        Path cache = Files.createTempDirectory("attn4j-pocl-cache-");
        Path out = Files.createTempFile("attn4j-child-", ".log");
        try {
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(jvmArgs);
            for (String p : new String[] {"attn4j.require", "attn4j.leaks", "attn4j.seed"}) {
                if (System.getProperty(p) != null) {
                    cmd.add("-D" + p + "=" + System.getProperty(p));
                }
            }
            cmd.add("-cp");
            cmd.add(classPath());
            cmd.add(mainClass.getName());
            cmd.addAll(args);
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile());
            Map<String, String> env = pb.environment();
            env.remove("LD_PRELOAD");
            env.put("POCL_CACHE_DIR", cache.toString());
            env.putAll(extraEnv);
            long t0 = System.nanoTime();
            Process p = pb.start();
            int rc;
            if (p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                rc = p.exitValue();
            } else {
                p.destroyForcibly().waitFor();
                rc = 137;
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            return new Result(rc, Files.readString(out, StandardCharsets.UTF_8), secs);
        } finally {
            Files.deleteIfExists(out);
            try (Stream<Path> s = Files.walk(cache)) {
                s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }
}
