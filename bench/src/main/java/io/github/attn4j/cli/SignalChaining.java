package io.github.attn4j.cli;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Starts the command line with JVM signal chaining. PoCL's compiler (LLVM) installs its own
 * SIGSEGV/SIGBUS/SIGILL/SIGFPE handlers over the JVM's; the library puts the JVM's back after each
 * OpenCL initialisation and kernel build, but while a kernel compiles only signal chaining
 * ({@code libjsig.so} preloaded) keeps the JVM safe. So on Linux, when {@code libjsig.so} is not
 * loaded, {@link #relaunchIfNeeded} runs the same command again in a child JVM (same java, same
 * JVM options, same class path or {@code -jar}, same arguments) with
 * {@code LD_PRELOAD=$JAVA_HOME/lib/libjsig.so}, inheriting stdin, stdout and stderr, and exits with
 * the child's exit code. {@code -Dattn4j.jsig=false} turns this off; the child carries
 * {@code ATTN4J_JSIG=1} so that it never relaunches again.
 */
public final class SignalChaining {
    private SignalChaining() {}

    /** Set in the child's environment. */
    static final String MARKER = "ATTN4J_JSIG";

    /**
     * Relaunches with signal chaining when needed, then exits with the child's code; returns (and
     * the caller goes on in this JVM) when it is not needed, disabled, or the child cannot start.
     * Call it first in {@code main}.
     */
    public static void relaunchIfNeeded(String[] args) {
        Class<?> main = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE).getCallerClass();
        Optional<List<String>> cmd = command(main.getName(), args);
        if (cmd.isEmpty()) {
            return;
        }
        ProcessBuilder pb = new ProcessBuilder(cmd.get()).inheritIO();
        Map<String, String> env = pb.environment();
        // The child gets these options through its command line (input arguments) already.
        env.remove("JDK_JAVA_OPTIONS");
        env.remove("JAVA_TOOL_OPTIONS");
        String jsig = jsigPath().toString();
        String preload = env.get("LD_PRELOAD");
        env.put("LD_PRELOAD", preload == null || preload.isBlank() ? jsig : jsig + ":" + preload);
        env.put(MARKER, "1");
        int code;
        try {
            Process p = pb.start();
            code = p.waitFor();
        } catch (IOException e) {
            return; // run here, unchained, rather than not at all
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            code = 130;
        }
        System.exit(code);
    }

    /** {@code $JAVA_HOME/lib/libjsig.so} of this JVM. */
    static Path jsigPath() {
        return Path.of(System.getProperty("java.home"), "lib", "libjsig.so");
    }

    /** Whether {@code libjsig.so} is mapped into this process. */
    public static boolean jsigLoaded() {
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.anyMatch(l -> l.endsWith("/libjsig.so"));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * The child's command line, or empty when no relaunch is needed or possible: not Linux,
     * {@code -Dattn4j.jsig=false}, {@code ATTN4J_JSIG} set, libjsig already loaded, or no
     * {@code libjsig.so} in this JVM.
     */
    static Optional<List<String>> command(String mainClass, String[] args) {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")
                || "false".equals(System.getProperty("attn4j.jsig")) || System.getenv(MARKER) != null
                || jsigLoaded() || !Files.isRegularFile(jsigPath())) {
            return Optional.empty();
        }
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        return Optional.of(command(java, ManagementFactory.getRuntimeMXBean().getInputArguments(),
                System.getProperty("java.class.path", ""), System.getProperty("sun.java.command", ""), mainClass,
                args));
    }

    /**
     * The command line for {@code java}: the JVM options, then {@code -jar JAR} when this JVM was
     * started with {@code -jar} (the class path is that one jar and the command starts with it),
     * else {@code -cp CLASSPATH MAIN}; then the arguments.
     */
    static List<String> command(String java, List<String> jvmOptions, String classPath, String javaCommand,
            String mainClass, String[] args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(jvmOptions);
        boolean jar = !classPath.isEmpty() && !classPath.contains(File.pathSeparator) && classPath.endsWith(".jar")
                && (javaCommand.equals(classPath) || javaCommand.startsWith(classPath + " "));
        if (jar) {
            cmd.add("-jar");
            cmd.add(classPath);
        } else {
            cmd.add("-cp");
            cmd.add(classPath);
            cmd.add(mainClass);
        }
        cmd.addAll(Arrays.asList(args));
        return cmd;
    }
}
