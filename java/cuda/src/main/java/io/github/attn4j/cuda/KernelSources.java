package io.github.attn4j.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The kernel files in the jar: {@code /kernels/cuda/<module>.fatbin} (built by
 * kernels/cuda/build.sh when nvcc was present) and {@code /kernels/cuda/<module>.cu} with its
 * headers. Plain resource reads, no CUDA.
 */
final class KernelSources {
    private KernelSources() {}

    static final String ROOT = "/kernels/cuda/";
    private static final Pattern INCLUDE = Pattern.compile("^\\s*#\\s*include\\s+\"([^\"]+)\"", Pattern.MULTILINE);

    /** The embedded fatbin of a module, or null when the build had no nvcc. */
    static byte[] fatbin(String module) {
        return read(ROOT + module + ".fatbin");
    }

    /** Whether the jar carries a fatbin for the module (without reading it). */
    static boolean hasFatbin(String module) {
        return KernelSources.class.getClassLoader().getResource(ROOT.substring(1) + module + ".fatbin") != null;
    }

    /** Any file of the CUDA kernel folder ({@code "tc_traits.cuh"}, {@code "sdpa.cu"}) as text, or null. */
    static String text(String file) {
        byte[] b = read(ROOT + file);
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    /**
     * What the module's embedded fatbin targets, e.g. {@code "sm_90 + compute_90 PTX"}, from the
     * {@code fatbin-targets.txt} that kernels/cuda/build.sh writes beside the fatbins; null if unknown.
     */
    static String fatbinTargets(String module) {
        byte[] b = read(ROOT + "fatbin-targets.txt");
        if (b == null) {
            return null;
        }
        String prefix = module + ": ";
        return new String(b, StandardCharsets.UTF_8).lines().filter(l -> l.startsWith(prefix))
                .map(l -> l.substring(prefix.length()).trim()).findFirst().orElse(null);
    }

    /** The CUDA source of a module, or null. */
    static String source(String module) {
        byte[] b = read(ROOT + module + ".cu");
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    /**
     * Every header the source includes with quotes, transitively, keyed by the exact include name
     * that NVRTC will look up ({@code "common.cuh"}, {@code "../attn_params.h"}).
     */
    static Map<String, String> headers(String source) {
        Map<String, String> out = new LinkedHashMap<>();
        collect(source, ROOT, out);
        return out;
    }

    private static void collect(String text, String dir, Map<String, String> out) {
        Matcher m = INCLUDE.matcher(text);
        while (m.find()) {
            String name = m.group(1);
            if (out.containsKey(name)) {
                continue;
            }
            String path = normalize(dir + name);
            byte[] b = read(path);
            if (b == null) {
                continue; // let NVRTC report the missing header
            }
            String h = new String(b, StandardCharsets.UTF_8);
            out.put(name, h);
            collect(h, path.substring(0, path.lastIndexOf('/') + 1), out);
        }
    }

    /** Resolves "." and ".." in a resource path. */
    static String normalize(String path) {
        String[] parts = path.split("/");
        java.util.ArrayDeque<String> st = new java.util.ArrayDeque<>();
        for (String p : parts) {
            if (p.isEmpty() || p.equals(".")) {
                continue;
            }
            if (p.equals("..")) {
                if (!st.isEmpty()) {
                    st.removeLast();
                }
            } else {
                st.addLast(p);
            }
        }
        return "/" + String.join("/", st);
    }

    /** From the class loader, which sees this jar (/kernels/cuda/) and attn4j's (/kernels/attn_params.h). */
    private static byte[] read(String path) {
        try (InputStream in = KernelSources.class.getClassLoader().getResourceAsStream(path.substring(1))) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + path, e);
        }
    }
}
