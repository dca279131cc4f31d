package io.github.attn4j.npy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.attn4j.DType;
import io.github.attn4j.HostMemory;
import io.github.attn4j.Tensor;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzzes the .npy reader (issue 9): thousands of seeded random truncations, bit flips, byte
 * splices and header edits (shapes huge, negative, overflowing a long or claiming 2^40 elements;
 * garbage descr; version bytes; header lengths past the end; fortran_order True; broken dict
 * syntax) of valid files of every dtype and both format versions. Each input must either parse
 * into a consistent tensor or throw {@link IllegalArgumentException} whose message starts with the
 * file's name; any other exception, an {@link OutOfMemoryError} or a hang fails the test and
 * prints the seed, the case number and the mutation. Every file reader added later gets a
 * {@link Reader} line in {@link #readers()} and so the same treatment.
 *
 * <p>{@code -Dattn4j.fuzz.seed=N} and {@code -Dattn4j.fuzz.cases=N} change the seed and the count.
 */
class NpyFuzzTest {
    private static final long SEED = Long.getLong("attn4j.fuzz.seed", 20261122L);
    private static final int CASES = Integer.getInteger("attn4j.fuzz.cases", 6000);

    @TempDir
    Path dir;

    /** A file reader under test: its name and how it parses bytes given a file name. */
    record Reader(String name, List<byte[]> validFiles, ParseFn parse) {}

    @FunctionalInterface
    interface ParseFn {
        Object parse(String name, byte[] bytes);
    }

    static List<Reader> readers() {
        return List.of(new Reader("npy", validNpyFiles(), Npy::parse));
    }

    /** Valid files of every dtype, several shapes (scalar, empty, 1-D to 4-D), versions 1.0 and 2.0. */
    static List<byte[]> validNpyFiles() {
        List<byte[]> l = new ArrayList<>();
        int[][] shapes = {{}, {0}, {3}, {2, 3}, {1, 2, 3, 4}, {5, 0, 2}};
        SplittableRandom r = new SplittableRandom(7);
        for (DType t : new DType[] {DType.F32, DType.F16, DType.BOOL, DType.I32}) {
            for (int[] s : shapes) {
                int n = Math.toIntExact(Tensor.numel(s));
                HostMemory m = switch (t) {
                    case F32 -> HostMemory.of(floats(r, n));
                    case F16 -> HostMemory.of(shorts(r, n));
                    case BOOL -> HostMemory.of(bools(r, n));
                    default -> HostMemory.of(r.ints(n).toArray());
                };
                byte[] v1 = Npy.bytes("x", Tensor.of(m, t, s, Tensor.contiguousStrides(s), 0));
                l.add(v1);
                l.add(toVersion2(v1));
            }
        }
        return l;
    }

    private static float[] floats(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    private static short[] shorts(SplittableRandom r, int n) {
        short[] a = new short[n];
        for (int i = 0; i < n; i++) {
            a[i] = (short) r.nextInt(1 << 16);
        }
        return a;
    }

    private static byte[] bools(SplittableRandom r, int n) {
        byte[] a = new byte[n];
        for (int i = 0; i < n; i++) {
            a[i] = (byte) r.nextInt(2);
        }
        return a;
    }

    /** The same file with a version 2.0 preamble (4-byte header length). */
    static byte[] toVersion2(byte[] v1) {
        int hl = ByteBuffer.wrap(v1, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffff;
        ByteBuffer b = ByteBuffer.allocate(v1.length + 2).order(ByteOrder.LITTLE_ENDIAN);
        b.put(v1, 0, 6).put((byte) 2).put((byte) 0).putInt(hl).put(v1, 10, v1.length - 10);
        return b.array();
    }

    /** The header text of a file (version 1.0 or 2.0), the data after it. */
    static String header(byte[] f) {
        int start = f[6] == 1 ? 10 : 12;
        int hl = f[6] == 1 ? ByteBuffer.wrap(f, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffff
                : ByteBuffer.wrap(f, 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        return new String(f, start, hl, StandardCharsets.ISO_8859_1);
    }

    static byte[] data(byte[] f) {
        int start = f[6] == 1 ? 10 : 12;
        int end = start + header(f).length();
        return java.util.Arrays.copyOfRange(f, end, f.length);
    }

    /** A file from parts: version, header text (its length written as is), data. */
    static byte[] assemble(int major, int minor, String header, long headerLenField, byte[] data) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, (byte) minor});
        ByteBuffer len = ByteBuffer.allocate(major == 1 ? 2 : 4).order(ByteOrder.LITTLE_ENDIAN);
        if (major == 1) {
            len.putShort((short) headerLenField);
        } else {
            len.putInt((int) headerLenField);
        }
        o.writeBytes(len.array());
        o.writeBytes(header.getBytes(StandardCharsets.ISO_8859_1));
        o.writeBytes(data);
        return o.toByteArray();
    }

    // ---- header edits ----------------------------------------------------------------------------

    private static final String[] SHAPES = {"()", "(0,)", "(-1,)", "(2, -3)", "(2147483647, 2147483647, 2147483647)",
            "(1048576, 1048576)", "(2147483648,)", "(99999999999999999999,)", "(3", "3,)", "(3,,)", "(,)", "(a, b)",
            "(1.5,)", "((2, 3),)", "(2147483647, 2147483647, 2147483647, 2147483647, 2)", "(1L, 2L)", "(+3,)",
            "(0, 2147483647, 2147483647)", "(4294967296,)", "[2, 3]", "None", "(3,)" + "(".repeat(50), "( 2 , 3 )"};
    private static final String[] DESCRS = {"<f4", "<f2", "|b1", "<i4", ">f4", ">i4", "<f8", "|u1", "", "<", "f4",
            "<f4\u00ff", "'", "<c16", "O", "|V3", "<U8", ">b1", "<f4<f4"};
    private static final String[] FORTRAN = {"False", "True", "false", "0", "", "Fals", "Truee"};

    /** A random header dict, usually almost valid, sometimes broken in its syntax. */
    static String randomHeader(SplittableRandom r, String validDescr, String validShape) {
        String descr = r.nextInt(3) == 0 ? pick(r, DESCRS) : validDescr;
        String shape = r.nextInt(3) == 0 ? pick(r, SHAPES) : validShape;
        String fortran = r.nextInt(6) == 0 ? pick(r, FORTRAN) : "False";
        List<String> items = new ArrayList<>(List.of("'descr': '" + descr + "'", "'fortran_order': " + fortran,
                "'shape': " + shape));
        switch (r.nextInt(12)) {
            case 0 -> items.remove(r.nextInt(items.size()));                 // a missing key
            case 1 -> items.add(items.get(r.nextInt(items.size())));         // a duplicated key
            case 2 -> items.add("'extra': 1");                               // an unknown key
            case 3 -> java.util.Collections.shuffle(items, new java.util.Random(r.nextLong()));
            case 4 -> items.set(0, "descr: '" + descr + "'");               // an unquoted key
            case 5 -> items.set(0, "'descr': \"" + descr);                   // an unterminated string
            default -> { }
        }
        String body = String.join(r.nextInt(8) == 0 ? " " : ", ", items);
        String dict = switch (r.nextInt(14)) {
            case 0 -> body;                         // no braces
            case 1 -> "{" + body;                   // no closing brace
            case 2 -> "{" + body + ", }}";          // two closing braces
            case 3 -> "";                           // empty
            case 4 -> "{}";
            case 5 -> "{" + body + ",";             // trailing comma, no brace
            case 6 -> "{" + body + ": }";
            default -> "{" + body + ", }";
        };
        return dict + " ".repeat(r.nextInt(4)) + (r.nextInt(10) == 0 ? "" : "\n");
    }

    private static String pick(SplittableRandom r, String[] a) {
        return a[r.nextInt(a.length)];
    }

    /** The descr of a header this test wrote ('<f4' when an earlier mutation removed it). */
    private static String descrOf(String header) {
        int i = header.indexOf("'descr': '");
        int j = i < 0 ? -1 : header.indexOf('\'', i + 10);
        return j < 0 ? "<f4" : header.substring(i + 10, j);
    }

    /** The shape tuple of a header this test wrote ('(2, 3)' when an earlier mutation removed it). */
    private static String shapeOf(String header) {
        int i = header.indexOf("'shape': ");
        int j = i < 0 ? -1 : header.indexOf(')', i);
        return j < 0 ? "(2, 3)" : header.substring(i + 9, j + 1);
    }

    // ---- mutations -----------------------------------------------------------------------------

    /** One mutation of a valid file; {@code what[0]} receives a description. */
    static byte[] mutate(SplittableRandom r, byte[] f, String[] what) {
        byte[] g = f.clone();
        switch (r.nextInt(8)) {
            case 0 -> {
                int len = r.nextInt(f.length);
                what[0] = "truncated to " + len + " of " + f.length + " bytes";
                return java.util.Arrays.copyOf(f, len);
            }
            case 1 -> {
                int flips = 1 + r.nextInt(8);
                boolean head = r.nextBoolean(); // half of the flips land in the preamble and header
                StringBuilder s = new StringBuilder("bit flips at");
                int headerEnd = (f[6] == 1 ? 10 : 12) + header(f).length();
                for (int k = 0; k < flips; k++) {
                    int pos = head ? r.nextInt(Math.min(headerEnd, f.length)) : r.nextInt(f.length);
                    int bit = r.nextInt(8);
                    g[pos] ^= (byte) (1 << bit);
                    s.append(' ').append(pos).append('.').append(bit);
                }
                what[0] = s.toString();
                return g;
            }
            case 2 -> {
                int pos = r.nextInt(f.length);
                int n = 1 + r.nextInt(Math.min(16, f.length - pos));
                for (int k = 0; k < n; k++) {
                    g[pos + k] = (byte) r.nextInt(256);
                }
                what[0] = n + " random bytes at " + pos;
                return g;
            }
            case 3 -> {
                int major = r.nextInt(4) == 0 ? r.nextInt(256) : f[6];
                int minor = r.nextInt(3) == 0 ? r.nextInt(256) : 0;
                g[6] = (byte) major;
                g[7] = (byte) minor;
                what[0] = "version bytes " + major + "." + minor;
                return g;
            }
            case 4 -> {
                // The header length field: past the end, 0, huge, off by a few.
                String h = header(f);
                long[] lens = {0, 1, h.length() - 1, h.length() + 1, f.length, f.length + 1000L, 0xffffL, 0xffffffffL,
                        0x7fffffffL, 0x80000000L, h.length() + r.nextInt(64) - 32};
                long len = lens[r.nextInt(lens.length)];
                int major = f[6] == 1 ? 1 : 2;
                what[0] = "header length field " + len + " (real " + h.length() + ", version " + major + ")";
                return assemble(major, 0, h, len, data(f));
            }
            case 5 -> {
                // A new header (often invalid), data kept, length field true or false.
                String old = header(f);
                String h = randomHeader(r, descrOf(old), shapeOf(old));
                int major = r.nextBoolean() ? 1 : 2;
                long len = r.nextInt(5) == 0 ? r.nextInt(300) : h.length();
                what[0] = "header " + h.strip() + " (length field " + len + ", version " + major + ")";
                return assemble(major, 0, h, len, data(f));
            }
            case 6 -> {
                byte[] extra = new byte[1 + r.nextInt(64)];
                r.nextBytes(extra);
                boolean cut = r.nextBoolean() && data(f).length > 0;
                byte[] d = cut ? java.util.Arrays.copyOf(data(f), data(f).length - 1 - r.nextInt(data(f).length))
                        : concat(data(f), extra);
                what[0] = cut ? "data cut to " + d.length + " bytes" : extra.length + " bytes appended";
                String h = header(f);
                return assemble(f[6] == 1 ? 1 : 2, 0, h, h.length(), d);
            }
            default -> {
                // Non-ASCII or control characters inside the header.
                String h = header(f).isEmpty() ? " " : header(f);
                int pos = r.nextInt(h.length());
                char c = (char) (r.nextBoolean() ? r.nextInt(32) : 128 + r.nextInt(128));
                String e = h.substring(0, pos) + c + h.substring(pos + 1);
                what[0] = "header char " + pos + " = " + (int) c;
                return assemble(f[6] == 1 ? 1 : 2, 0, e, e.length(), data(f));
            }
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    // ---- checks ----------------------------------------------------------------------------------

    /** Parses one input; fails unless it gives a consistent tensor or a clean, named error. */
    static void check(Reader rd, String name, byte[] input, Function<Object, String> consistent, String describe) {
        try {
            Object result = rd.parse().parse(name, input);
            String problem = consistent.apply(result);
            if (problem != null) {
                fail(describe + ": parsed, but " + problem);
            }
        } catch (IllegalArgumentException e) {
            String m = String.valueOf(e.getMessage());
            if (!m.startsWith(name + ": ")) {
                fail(describe + ": the message does not start with the file name '" + name + "': " + m, e);
            }
        } catch (OutOfMemoryError | RuntimeException e) {
            fail(describe + ": " + e, e);
        }
    }

    /** A parsed .npy tensor is consistent when its data bytes are exactly what the file holds. */
    static String npyConsistent(byte[] input, Object result) {
        Tensor t = (Tensor) result;
        long dataBytes = t.numel() * t.dtype().bytes();
        if (!t.isContiguous() || t.memory().byteSize() != Math.max(dataBytes, 0)) {
            return "tensor " + t + " is not a contiguous view of exactly its data";
        }
        if (dataBytes > input.length) {
            return "tensor of " + dataBytes + " B from a " + input.length + " B file";
        }
        return null;
    }

    @Test
    void randomMutationsGiveCleanErrorsNamingTheFile() {
        for (Reader rd : readers()) {
            SplittableRandom r = new SplittableRandom(SEED);
            String[] current = {""};
            assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
                String[] what = new String[1];
                for (int c = 0; c < CASES; c++) {
                    byte[] base = rd.validFiles().get(r.nextInt(rd.validFiles().size()));
                    byte[] input = mutate(r, base, what);
                    if (r.nextInt(4) == 0) {
                        input = mutate(r, input.length >= 12 && looksLikeNpy(input) ? input : base, what);
                    }
                    String name = "fuzz-" + c + ".npy";
                    current[0] = rd.name() + " seed " + SEED + " case " + c + " (" + what[0] + ")";
                    long t0 = System.nanoTime();
                    byte[] in = input;
                    check(rd, name, in, res -> npyConsistent(in, res), current[0]);
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    assertTrue(ms < 2000, current[0] + " took " + ms + " ms");
                }
            }, () -> "hang in " + current[0]);
        }
    }

    private static boolean looksLikeNpy(byte[] f) {
        if ((f[6] != 1 && f[6] != 2) || f[7] != 0 || f[0] != (byte) 0x93) {
            return false;
        }
        try {
            int start = f[6] == 1 ? 10 : 12;
            return start + header(f).length() <= f.length;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** Every header edit of the issue, one by one, on every dtype: each a clean, named error. */
    @Test
    void targetedHeaderEdits() {
        String[] bad = {
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, 1048576), }",          // 2^40 elements
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2147483647, 2147483647, 2147483647), }", // > a long
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2147483647, 2147483647, 2147483647, 2147483647, 2), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824, 1073741824, 4), }",  // bytes > a long
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2147483648,), }",
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
            "{'descr': 'garbage', 'fortran_order': False, 'shape': (2, 3), }",
            "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)",
            "{'descr': '<f4', 'fortran_order': False, }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3),",
            "{'descr: '<f4', 'fortran_order': False, 'shape': (2, 3), }",
            "{",
            "}",
            "",
            "\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2) }",                         // 6 elements, 24 B: fine
        };
        byte[] data24 = new byte[24];
        for (int major : new int[] {1, 2}) {
            for (int i = 0; i < bad.length; i++) {
                String h = bad[i] + "\n";
                byte[] f = assemble(major, 0, h, h.length(), data24);
                String name = "edit-" + major + "-" + i + ".npy";
                int idx = i;
                assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
                    if (idx == bad.length - 1) {
                        assertEquals(6, Npy.parse(name, f).numel());
                    } else {
                        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Npy.parse(name, f),
                                bad[idx]);
                        assertTrue(e.getMessage().startsWith(name + ": "), e.getMessage());
                    }
                });
            }
            // The header length field past the end of the file, and far past it.
            for (long len : new long[] {100, 0xffffL, 0xffffffffL}) {
                String h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
                byte[] f = assemble(major, 0, h, major == 1 ? Math.min(len, 0xffff) : len, data24);
                String name = "len-" + major + "-" + len + ".npy";
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Npy.parse(name, f));
                assertTrue(e.getMessage().startsWith(name + ": "), e.getMessage());
            }
        }
    }

    /** Through the file system: messages name the path; a directory or a missing file is an I/O error naming it. */
    @Test
    void filesOnDiskAreNamed() throws Exception {
        SplittableRandom r = new SplittableRandom(SEED + 1);
        List<byte[]> valid = validNpyFiles();
        String[] what = new String[1];
        for (int c = 0; c < 200; c++) {
            Path p = dir.resolve("m" + c + ".npy");
            Files.write(p, mutate(r, valid.get(r.nextInt(valid.size())), what));
            try {
                Npy.read(p);
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage().startsWith(p + ": "), what[0] + ": " + e.getMessage());
            } catch (RuntimeException e) {
                fail(what[0] + ": " + e, e);
            }
        }
        Path missing = dir.resolve("missing.npy");
        java.io.UncheckedIOException e = assertThrows(java.io.UncheckedIOException.class, () -> Npy.read(missing));
        assertTrue(e.getMessage().startsWith(missing.toString()), e.getMessage());
        e = assertThrows(java.io.UncheckedIOException.class, () -> Npy.read(dir));
        assertTrue(e.getMessage().startsWith(dir.toString()), e.getMessage());
    }
}
