package io.github.attn4j.bench;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The standard shape sets of {@code attn4j bench}, and the parser of explicit shapes.
 *
 * <ul>
 *   <li>{@code flash}: the FlashAttention README set: hidden size 2048, head dim 64 and 128
 *       (H = 2048/D), S = 512 … 16k, batch = 16k/S, causal and not.</li>
 *   <li>{@code decode}: one query token against a long KV cache: B = 1, Hq = 32, Hkv = 8 (GQA as in
 *       Llama 3 8B), D = 128, Sq = 1, Sk = 1k … 64k.</li>
 *   <li>{@code softmax}: rows 128 … 32k wide, R·N = 2²⁴ elements per call.</li>
 *   <li>{@code additive}: Bahdanau attention, B = 32, H = 1, Sq = Sk = 512, A = 256, Dv = 256, and
 *       larger (S = 1k, 2k; A = 512, 1024).</li>
 *   <li>{@code standard}: all four.</li>
 *   <li>{@code small}: a scaled-down version of each (the {@code --quick} tour, and a set the float64
 *       CPU reference can finish).</li>
 * </ul>
 *
 * <p>An explicit shape is {@code op:key=value:...[:causal]}, for example
 * {@code sdpa:b=2:h=16:s=1024:d=64:causal}, {@code sdpa:b=1:h=32:hkv=8:sq=1:sk=8192:d=128},
 * {@code softmax:r=4096:n=2048}, {@code additive:b=32:s=512:a=256:dv=256}. Keys: b, h, hkv, s (both
 * sq and sk), sq, sk, d, dv, a, r, n.
 */
public final class ShapeSets {
    private ShapeSets() {}

    public static final List<String> SET_NAMES = List.of("flash", "decode", "serve", "softmax", "softmax-bwd", "additive", "flash-bwd", "additive-bwd",
            "standard", "small", "gemm");

    public static List<Shape> flash() {
        List<Shape> l = new ArrayList<>();
        for (int d : new int[] {64, 128}) {
            for (boolean causal : new boolean[] {false, true}) {
                for (int s = 512; s <= 16384; s *= 2) {
                    int h = 2048 / d;
                    l.add(Shape.sdpa("flash", 16384 / s, h, h, s, s, d, causal));
                }
            }
        }
        return l;
    }

    public static List<Shape> decode() {
        List<Shape> l = new ArrayList<>();
        for (int sk = 1024; sk <= 65536; sk *= 2) {
            l.add(Shape.sdpa("decode", 1, 32, 8, 1, sk, 128, false));
        }
        return l;
    }

    /** K/V bytes of the largest serve shape (f32): larger points are left out of the set. */
    static final long SERVE_MAX_KV_BYTES = 4L << 30;

    /**
     * Serving decode: B in {1, 8, 32} (per-sequence lengths from Sk down to Sk/2 when B > 1),
     * Hq/Hkv in {32/8, 32/32, 64/8}, Sk 1k-64k, D = 128, dense and paged (pages of 16 and 256);
     * points whose f32 K/V exceed 4 GiB are left out.
     */
    public static List<Shape> serve() {
        List<Shape> l = new ArrayList<>();
        for (int b : new int[] {1, 8, 32}) {
            for (int[] h : new int[][] {{32, 8}, {32, 32}, {64, 8}}) {
                for (int sk = 1024; sk <= 65536; sk *= 4) {
                    for (int page : new int[] {0, 16, 256}) {
                        Shape s = new Shape("sdpa", "serve", b, h[0], h[1], 1, sk, 128, 128, 0, false, page, b > 1);
                        if ((double) h[1] * s.totalKeys() * 256 * 4 <= SERVE_MAX_KV_BYTES) {
                            l.add(s);
                        }
                    }
                }
            }
        }
        return l;
    }

    public static List<Shape> softmax() {
        List<Shape> l = new ArrayList<>();
        for (int n = 128; n <= 32768; n *= 2) {
            l.add(Shape.softmax("softmax", (1 << 24) / n, n));
        }
        return l;
    }

    /** The softmax backward rows: the widths of {@link #softmax()}, R·N = 2²⁴. */
    public static List<Shape> softmaxBackward() {
        List<Shape> l = new ArrayList<>();
        for (int n = 128; n <= 32768; n *= 2) {
            l.add(Shape.softmaxBackward("softmax-bwd", (1 << 24) / n, n));
        }
        return l;
    }

    /**
     * Training points: SDPA forward and backward side by side on {@code [1, 8, S, 64]}, S = 1k to 16k
     * (the backward's FLOPs are 2.5x the forward's; S = 16k shows O(S) memory: an S x S float buffer
     * per head would need 8 GiB).
     */
    public static List<Shape> flashBackward() {
        List<Shape> l = new ArrayList<>();
        for (int s = 1024; s <= 16384; s *= 2) {
            Shape f = Shape.sdpa("flash-bwd", 1, 8, 8, s, s, 64, false);
            l.add(f);
            l.add(f.withOp("sdpa_bwd", "flash-bwd"));
        }
        return l;
    }

    /** Additive forward and backward side by side on the additive set's shapes. */
    public static List<Shape> additiveBackward() {
        List<Shape> l = new ArrayList<>();
        for (Shape f : additive()) {
            Shape g = f.withOp("additive", "additive-bwd");
            l.add(g);
            l.add(g.withOp("additive_bwd", "additive-bwd"));
        }
        return l;
    }

    public static List<Shape> additive() {
        List<Shape> l = new ArrayList<>();
        for (int s : new int[] {512, 1024, 2048}) {
            l.add(Shape.additive("additive", 32, 1, s, s, 256, 256, false));
        }
        for (int a : new int[] {512, 1024}) {
            l.add(Shape.additive("additive-a", 32, 1, 512, 512, a, 256, false));
        }
        return l;
    }

    /** The GEMM set: square 256..2048 (1024³ is the figure), a batched and a projection-like shape. */
    public static List<Shape> gemm() {
        List<Shape> l = new ArrayList<>();
        for (int s = 256; s <= 2048; s *= 2) {
            l.add(Shape.gemm("gemm", 1, s, s, s));
        }
        l.add(Shape.gemm("gemm-batched", 16, 256, 256, 256));
        l.add(Shape.gemm("gemm-projection", 1, 4096, 1024, 1024));
        return l;
    }

    public static List<Shape> small() {
        List<Shape> l = new ArrayList<>();
        for (boolean causal : new boolean[] {false, true}) {
            for (int s = 128; s <= 1024; s *= 2) {
                l.add(Shape.sdpa("small", 1, 8, 8, s, s, 64, causal));
            }
        }
        for (int sk = 1024; sk <= 8192; sk *= 2) {
            l.add(Shape.sdpa("small-decode", 1, 8, 2, 1, sk, 64, false));
        }
        for (int n = 128; n <= 4096; n *= 2) {
            l.add(Shape.softmax("small-softmax", (1 << 18) / n, n));
        }
        for (int s = 64; s <= 256; s *= 2) {
            l.add(Shape.additive("small-additive", 4, 1, s, s, 64, 64, false));
        }
        return l;
    }

    /** The shapes named by a {@code --shapes} value: a comma-separated list of set names and explicit shapes. */
    public static List<Shape> resolve(String spec) {
        Set<Shape> out = new LinkedHashSet<>();
        for (String item : spec.split(",")) {
            String it = item.trim();
            if (it.isEmpty()) {
                continue;
            }
            switch (it.toLowerCase(Locale.ROOT)) {
                case "flash" -> out.addAll(flash());
                case "decode" -> out.addAll(decode());
                case "serve" -> out.addAll(serve());
                case "softmax" -> out.addAll(softmax());
                case "softmax-bwd" -> out.addAll(softmaxBackward());
                case "additive" -> out.addAll(additive());
                case "flash-bwd" -> out.addAll(flashBackward());
                case "additive-bwd" -> out.addAll(additiveBackward());
                case "standard" -> {
                    out.addAll(flash());
                    out.addAll(decode());
                    out.addAll(softmax());
                    out.addAll(additive());
                }
                case "small" -> out.addAll(small());
                case "gemm" -> out.addAll(gemm());
                default -> {
                    if (!it.contains(":")) {
                        throw new IllegalArgumentException("--shapes: expected a set name " + SET_NAMES
                                + " or an explicit shape such as sdpa:b=1:h=8:s=1024:d=64, got '" + it + "'");
                    }
                    out.add(parse(it));
                }
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("--shapes: expected at least one set or shape, got '" + spec + "'");
        }
        return new ArrayList<>(out);
    }

    /** Parses one explicit shape ({@link Shape#key()} is one form of it). */
    public static Shape parse(String text) {
        try {
            return parseUnchecked(text);
        } catch (IllegalArgumentException e) {
            if (e.getMessage().startsWith("shape '")) {
                throw e;
            }
            throw new IllegalArgumentException("shape '" + text + "': " + e.getMessage());
        }
    }

    private static Shape parseUnchecked(String text) {
        String[] parts = text.trim().split(":");
        String op = parts[0].toLowerCase(Locale.ROOT);
        Map<String, Integer> kv = new HashMap<>();
        boolean causal = false, varlen = false;
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i].trim().toLowerCase(Locale.ROOT);
            if (p.equals("causal")) {
                causal = true;
                continue;
            }
            if (p.equals("varlen")) {
                varlen = true;
                continue;
            }
            int eq = p.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("shape '" + text + "': expected key=value or 'causal', got '" + p + "'");
            }
            String k = p.substring(0, eq);
            if (!Set.of("b", "h", "hkv", "s", "sq", "sk", "d", "dv", "a", "r", "n", "page", "m", "k").contains(k)) {
                throw new IllegalArgumentException("shape '" + text + "': expected a key among b, h, hkv, s, sq, sk, d, "
                        + "dv, a, r, n, page, m, k, got '" + k + "'");
            }
            kv.put(k, parseSize(text, k, p.substring(eq + 1)));
        }
        Integer s = kv.get("s");
        int sq = kv.getOrDefault("sq", s == null ? -1 : s);
        int sk = kv.getOrDefault("sk", s == null ? -1 : s);
        if (op.equals("sdpa_bwd") || op.equals("additive_bwd")) {
            return parseUnchecked(Shape.base(op) + text.trim().substring(op.length())).withOp(op, "custom");
        }
        switch (op) {
            case "sdpa" -> {
                need(text, kv, "b", "h", "d");
                int h = kv.get("h");
                int d = kv.get("d");
                needSeq(text, sq, sk);
                return new Shape("sdpa", "custom", kv.get("b"), h, kv.getOrDefault("hkv", h), sq, sk, d,
                        kv.getOrDefault("dv", d), 0, causal, kv.getOrDefault("page", 0), varlen);
            }
            case "softmax", "softmax_bwd" -> {
                need(text, kv, "r", "n");
                return new Shape(op, "custom", 1, 1, 1, kv.get("r"), kv.get("n"), 0, 0, 0, causal);
            }
            case "additive" -> {
                need(text, kv, "b", "a", "dv");
                needSeq(text, sq, sk);
                int h = kv.getOrDefault("h", 1);
                return new Shape("additive", "custom", kv.get("b"), h, h, sq, sk, 0, kv.get("dv"), kv.get("a"), causal);
            }
            case "gemm" -> {
                need(text, kv, "m", "n", "k");
                return Shape.gemm("custom", kv.getOrDefault("b", 1), kv.get("m"), kv.get("n"), kv.get("k"));
            }
            default -> throw new IllegalArgumentException("shape '" + text + "': expected op sdpa, sdpa_bwd, softmax, softmax_bwd, additive,"
                    + " additive_bwd or gemm, got '" + parts[0] + "'");
        }
    }

    private static int parseSize(String text, String key, String v) {
        try {
            int mul = 1;
            String t = v;
            if (t.endsWith("k")) {
                mul = 1024;
                t = t.substring(0, t.length() - 1);
            }
            return Math.multiplyExact(Integer.parseInt(t), mul);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("shape '" + text + "': " + key + ": expected an integer (16k allowed), got '"
                    + v + "'");
        }
    }

    private static void need(String text, Map<String, Integer> kv, String... keys) {
        for (String k : keys) {
            if (!kv.containsKey(k)) {
                throw new IllegalArgumentException("shape '" + text + "': expected key " + k + ", got none");
            }
        }
    }

    private static void needSeq(String text, int sq, int sk) {
        if (sq < 0 || sk < 0) {
            throw new IllegalArgumentException("shape '" + text + "': expected s=N or both sq=N and sk=N, got "
                    + (sq < 0 ? "no sq" : "no sk"));
        }
    }
}
