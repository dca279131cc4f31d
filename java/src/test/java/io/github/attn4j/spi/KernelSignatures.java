package io.github.attn4j.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The entry points of the kernel sources with their parameter names, for checking that every plan
 * binds exactly what the kernel declares ({@link KernelArgs} is the one definition on the Java
 * side). CUDA files are run through the C preprocessor so that macro-generated entries appear as
 * written; OpenCL entries are {@code ENTRY(stem)(...)}, suffixed by the storage dtype.
 */
public final class KernelSignatures {
    private KernelSignatures() {}

    /** The repository's {@code kernels/} folder: the nearest one above the module being tested (java/, java/cuda/). */
    public static final Path KERNELS = kernelsDir();

    private static Path kernelsDir() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("kernels").resolve("attn_params.h"))) {
                return d.resolve("kernels");
            }
        }
        throw new IllegalStateException("no kernels/attn_params.h above " + Path.of("").toAbsolutePath());
    }

    /** The parameter names of a C parameter list. */
    static List<String> names(String params) {
        List<String> out = new ArrayList<>();
        int depth = 0;
        StringBuilder cur = new StringBuilder();
        for (char c : (params + ",").toCharArray()) {
            if (c == '(' || c == '<') {
                depth++;
            } else if (c == ')' || c == '>') {
                depth--;
            }
            if (c == ',' && depth == 0) {
                Matcher m = Pattern.compile("(\\w+)\\s*$").matcher(cur.toString().trim());
                assertTrue(m.find(), "parameter in " + params);
                out.add(m.group(1));
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        return out;
    }

    /** The text between the '(' at {@code open} and its matching ')'. */
    static String parenthesized(String text, int open) {
        int depth = 0;
        for (int i = open; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '(') {
                depth++;
            } else if (c == ')' && --depth == 0) {
                return text.substring(open + 1, i);
            }
        }
        throw new AssertionError("unbalanced parentheses after " + text.substring(open, Math.min(text.length(), open + 80)));
    }

    /** Every {@code extern "C" __global__} entry of {@code kernels/cuda/<module>.cu}, preprocessed, with its parameter names. */
    public static Map<String, List<String>> cuda(String module) {
        String text = preprocess(KERNELS.resolve("cuda").resolve(module + ".cu"));
        Map<String, List<String>> out = new LinkedHashMap<>();
        Matcher m = Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void\\s+(?:__launch_bounds__\\s*\\([^;{]*?\\)\\s+)?(\\w+)\\s*\\(")
                .matcher(text);
        while (m.find()) {
            out.put(m.group(1), names(parenthesized(text, m.end() - 1)));
        }
        assertTrue(!out.isEmpty(), "no entries found in " + module + ".cu");
        return out;
    }

    /** Every {@code ENTRY(stem)} of {@code kernels/opencl/<file>.cl}, by stem, with its parameter names. */
    public static Map<String, List<String>> opencl(String file) {
        String text = read(KERNELS.resolve("opencl").resolve(file + ".cl")).replaceAll("/\\*.*?\\*/", " ");
        Map<String, List<String>> out = new LinkedHashMap<>();
        Matcher m = Pattern.compile("__kernel[^;{]*?void\\s+ENTRY\\((\\w+)\\)\\s*\\(", Pattern.DOTALL).matcher(text);
        while (m.find()) {
            out.put(m.group(1), names(parenthesized(text, m.end() - 1)));
        }
        assertTrue(!out.isEmpty(), "no entries found in " + file + ".cl");
        return out;
    }

    /** Checks that a step's argument names are the named kernel's parameters, in order. */
    public static void assertBinds(Map<String, List<String>> entries, Plan.Step step, String entry) {
        List<String> params = entries.get(entry);
        assertNotNull(params, step.module() + ": no entry " + entry + " (have " + entries.keySet() + ")");
        assertEquals(params, step.argNames(), "arguments of " + entry);
    }

    static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError("cannot read " + p, e);
        }
    }

    /** {@code cpp -P} of a CUDA file with the CUDA keywords left as words. */
    static String preprocess(Path file) {
        try {
            Path out = Files.createTempFile("attn4j-cpp", ".i");
            try {
                Process p = new ProcessBuilder("cpp", "-P", "-x", "c++", "-I", file.getParent().toString(),
                        "-D__CUDACC__", file.toString(), "-o", out.toString()).redirectErrorStream(true).start();
                String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(p.waitFor(60, TimeUnit.SECONDS), "cpp timed out");
                assertEquals(0, p.exitValue(), "cpp " + file + ": " + log);
                return Files.readString(out);
            } finally {
                Files.deleteIfExists(out);
            }
        } catch (IOException e) {
            throw new AssertionError("cpp is needed to read the CUDA entry points: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
