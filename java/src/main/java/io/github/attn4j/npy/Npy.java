package io.github.attn4j.npy;

import io.github.attn4j.DType;
import io.github.attn4j.HostMemory;
import io.github.attn4j.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * NumPy {@code .npy} files (format versions 1.0 and 2.0), C order, little-endian:
 * {@code <f4} (F32), {@code <f2} (F16), {@code |b1} (BOOL), {@code <i4} (I32).
 *
 * <p>Anything else (Fortran order, other dtypes, big-endian data, a bad magic string or header,
 * truncated or overlong data) is rejected with an {@link IllegalArgumentException} whose message
 * names the file and the problem. I/O failures are {@link UncheckedIOException}s naming the file.
 * BF16 has no NumPy dtype and cannot be written.
 */
public final class Npy {
    private Npy() {}

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** The largest file read: one Java array. */
    private static final long MAX_FILE = Integer.MAX_VALUE - 8;

    /** Reads a file into a contiguous host tensor backed by a Java array. */
    public static Tensor read(Path file) {
        byte[] all;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE) {
                throw bad(file.toString(), "the file has " + size + " bytes, more than the " + MAX_FILE
                        + " that one Java array holds");
            }
            all = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read (" + e + ")", e);
        }
        return parse(file.toString(), all);
    }

    /** Parses the bytes of a .npy file; {@code name} is used in error messages. */
    public static Tensor parse(String name, byte[] all) {
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        if (all.length < 10) {
            throw bad(name, "not a .npy file: " + all.length + " bytes, shorter than the 10-byte preamble");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (all[i] != MAGIC[i]) {
                throw bad(name, "not a .npy file: bad magic string (expected \\x93NUMPY)");
            }
        }
        int major = all[6] & 0xff, minor = all[7] & 0xff;
        long headerLen;
        int start;
        if (major == 1 && minor == 0) {
            headerLen = b.getShort(8) & 0xffff;
            start = 10;
        } else if (major == 2 && minor == 0) {
            if (all.length < 12) {
                throw bad(name, "truncated: the version 2.0 preamble needs 12 bytes, the file has " + all.length);
            }
            headerLen = b.getInt(8) & 0xffffffffL;
            start = 12;
        } else {
            throw bad(name, "unsupported format version " + major + "." + minor + " (expected 1.0 or 2.0)");
        }
        if (start + headerLen > all.length) {
            throw bad(name, "truncated: the header needs " + headerLen + " bytes, the file has " + (all.length - start)
                    + " after the preamble");
        }
        String header = new String(all, start, (int) headerLen, StandardCharsets.ISO_8859_1);
        Header h = Header.parse(name, header);
        long dataStart = start + headerLen;
        long have = all.length - dataStart;
        // The element count is checked against the bytes the file has before anything is allocated
        // (and without overflow: a header may claim 2^40 elements, or dims whose product passes a long).
        long count = 1;
        for (int d : h.shape) {
            if (d != 0 && count > have / h.dtype.bytes() / d) {
                throw bad(name, "truncated data: shape " + shapeStr(h.shape) + " of " + h.descr + " needs more than the "
                        + have + " bytes the file has after the header");
            }
            count *= d;
        }
        long need = count * h.dtype.bytes();
        if (have < need) {
            throw bad(name, "truncated data: shape " + shapeStr(h.shape) + " of " + h.descr + " needs " + need
                    + " bytes, the file has " + have);
        }
        if (have > need) {
            throw bad(name, "unexpected " + (have - need) + " bytes after the data of shape " + shapeStr(h.shape));
        }
        int n = Math.toIntExact(count);
        ByteBuffer data = ByteBuffer.wrap(all, (int) dataStart, (int) need).slice().order(ByteOrder.LITTLE_ENDIAN);
        HostMemory mem = switch (h.dtype) {
            case F32 -> {
                float[] a = new float[n];
                data.asFloatBuffer().get(a);
                yield HostMemory.of(a);
            }
            case F16 -> {
                short[] a = new short[n];
                data.asShortBuffer().get(a);
                yield HostMemory.of(a);
            }
            case BOOL -> {
                byte[] a = new byte[n];
                data.get(a);
                for (int i = 0; i < n; i++) {
                    if (a[i] != 0 && a[i] != 1) {
                        throw bad(name, "bool element " + i + " is " + (a[i] & 0xff) + " (expected 0 or 1)");
                    }
                }
                yield HostMemory.of(a);
            }
            case I32 -> {
                int[] a = new int[n];
                data.asIntBuffer().get(a);
                yield HostMemory.of(a);
            }
            default -> throw new AssertionError(h.dtype);
        };
        return Tensor.of(mem, h.dtype, h.shape, Tensor.contiguousStrides(h.shape), 0);
    }

    /** Writes a host tensor (any strides) as a C-order .npy file, version 1.0 (2.0 if the header needs it). */
    public static void write(Path file, Tensor t) {
        try {
            Files.write(file, bytes(file.toString(), t));
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write (" + e + ")", e);
        }
    }

    /** The bytes of the .npy file for a host tensor. */
    public static byte[] bytes(String name, Tensor t) {
        String descr = switch (t.dtype()) {
            case F32 -> "<f4";
            case F16 -> "<f2";
            case BOOL -> "|b1";
            case I32 -> "<i4";
            case BF16 -> throw bad(name, "BF16 has no NumPy dtype; convert the tensor to F32 first");
        };
        if (!t.memory().isHost()) {
            throw bad(name, "the tensor is on " + t.memory().describe() + "; copy it to host memory first");
        }
        StringBuilder dict = new StringBuilder("{'descr': '").append(descr).append("', 'fortran_order': False, 'shape': (");
        int[] shape = t.shape();
        for (int i = 0; i < shape.length; i++) {
            dict.append(shape[i]).append(shape.length == 1 ? "," : i + 1 < shape.length ? ", " : "");
        }
        dict.append("), }");
        int major = 1;
        int pre = 10;
        int len = pad(pre, dict.length() + 1);
        if (len > 0xffff) {
            major = 2;
            pre = 12;
            len = pad(pre, dict.length() + 1);
        }
        while (dict.length() + 1 < len) {
            dict.append(' ');
        }
        dict.append('\n');
        int es = t.dtype().bytes();
        long dataBytes = t.numel() * es;
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(pre + len + dataBytes)).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) major).put((byte) 0);
        if (major == 1) {
            out.putShort((short) len);
        } else {
            out.putInt(len);
        }
        out.put(dict.toString().getBytes(StandardCharsets.ISO_8859_1));
        HostMemory h = t.host();
        if (t.isContiguous()) {
            h.read(t.offset() * es, out.slice().limit(Math.toIntExact(dataBytes)));
        } else {
            ByteBuffer one = ByteBuffer.allocate(es);
            int[] idx = new int[shape.length];
            for (long k = 0; k < t.numel(); k++) {
                one.clear();
                h.read(t.index(idx) * es, one);
                out.put(Math.toIntExact(pre + len + k * es), one.array());
                for (int d = shape.length - 1; d >= 0; d--) {
                    if (++idx[d] < shape[d]) {
                        break;
                    }
                    idx[d] = 0;
                }
            }
        }
        return out.array();
    }

    /** Header length (newline included) padded so that preamble + header is a multiple of 64. */
    private static int pad(int pre, int raw) {
        int total = pre + raw;
        return raw + (64 - total % 64) % 64;
    }

    private static IllegalArgumentException bad(String name, String problem) {
        return new IllegalArgumentException(name + ": " + problem);
    }

    private static String shapeStr(int[] s) {
        return java.util.Arrays.toString(s);
    }

    /** The parsed header dict. */
    private record Header(String descr, DType dtype, int[] shape) {
        static Header parse(String name, String text) {
            String s = text.strip();
            if (!s.startsWith("{") || !s.endsWith("}")) {
                throw bad(name, "bad header: expected a Python dict literal, got '" + text.strip() + "'");
            }
            String descr = null;
            Boolean fortran = null;
            int[] shape = null;
            int i = 1;
            while (true) {
                i = skip(s, i);
                if (s.charAt(i) == '}') {
                    break;
                }
                int[] end = new int[1];
                String key = quoted(name, s, i, end);
                i = skip(s, end[0]);
                if (s.charAt(i) != ':') {
                    throw bad(name, "bad header: expected ':' after '" + key + "'");
                }
                i = skip(s, i + 1);
                switch (key) {
                    case "descr" -> {
                        descr = quoted(name, s, i, end);
                        i = end[0];
                    }
                    case "fortran_order" -> {
                        if (s.startsWith("True", i)) {
                            fortran = true;
                            i += 4;
                        } else if (s.startsWith("False", i)) {
                            fortran = false;
                            i += 5;
                        } else {
                            throw bad(name, "bad header: fortran_order is neither True nor False");
                        }
                    }
                    case "shape" -> {
                        int close = s.indexOf(')', i);
                        if (s.charAt(i) != '(' || close < 0) {
                            throw bad(name, "bad header: shape is not a tuple");
                        }
                        List<Integer> dims = new ArrayList<>();
                        for (String part : s.substring(i + 1, close).split(",")) {
                            String p = part.strip();
                            if (p.endsWith("L")) {
                                p = p.substring(0, p.length() - 1);
                            }
                            if (!p.isEmpty()) {
                                try {
                                    int d = Integer.parseInt(p);
                                    if (d < 0) {
                                        throw new NumberFormatException();
                                    }
                                    dims.add(d);
                                } catch (NumberFormatException e) {
                                    throw bad(name, "bad header: shape entry '" + p + "' is not a non-negative int");
                                }
                            }
                        }
                        shape = dims.stream().mapToInt(Integer::intValue).toArray();
                        i = close + 1;
                    }
                    default -> throw bad(name, "bad header: unknown key '" + key + "'");
                }
                i = skip(s, i);
                if (s.charAt(i) == ',') {
                    i++;
                } else if (s.charAt(i) != '}') {
                    throw bad(name, "bad header: expected ',' or '}' after '" + key + "'");
                }
            }
            if (descr == null || fortran == null || shape == null) {
                throw bad(name, "bad header: needs descr, fortran_order and shape, got '" + s + "'");
            }
            if (fortran) {
                throw bad(name, "fortran_order True is not supported (expected C order; np.ascontiguousarray fixes it)");
            }
            DType dt = switch (descr) {
                case "<f4" -> DType.F32;
                case "<f2" -> DType.F16;
                case "|b1" -> DType.BOOL;
                case "<i4" -> DType.I32;
                default -> {
                    if (descr.startsWith(">") && descr.length() > 1 && !descr.equals(">b1")) {
                        throw bad(name, "big-endian dtype '" + descr + "' is not supported (expected little-endian)");
                    }
                    throw bad(name, "dtype '" + descr + "' is not supported (expected <f4, <f2, |b1 or <i4)");
                }
            };
            return new Header(descr, dt, shape);
        }

        private static int skip(String s, int i) {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            return Math.min(i, s.length() - 1);
        }

        private static String quoted(String name, String s, int i, int[] end) {
            char q = s.charAt(i);
            if (q != '\'' && q != '"') {
                throw bad(name, "bad header: expected a quoted string at offset " + i);
            }
            int close = s.indexOf(q, i + 1);
            if (close < 0) {
                throw bad(name, "bad header: unterminated string at offset " + i);
            }
            end[0] = close + 1;
            return s.substring(i + 1, close);
        }
    }
}
