package io.github.attn4j.weights;

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
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code .safetensors} format, read directly: an 8-byte little-endian header length {@code N},
 * {@code N} bytes of JSON ({@code {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
 * "__metadata__": {..}}}), then the raw little-endian data, offsets relative to its start.
 *
 * <p>Tensors of dtype F32, F16 and BF16 are read into contiguous host tensors backed by Java
 * arrays; a tensor of another dtype (F64, I64, ...) is listed in {@link #names()} and refused by
 * {@link #get(String)} with a message that names it. Every header field is checked before anything
 * is allocated (a header longer than the file, offsets outside the data, a byte count that does not
 * match the shape, a negative dim); errors are {@link IllegalArgumentException}s that name the file
 * and the problem.
 */
public final class SafeTensors implements WeightSource {
    /** The longest header accepted (the format's own limit is 100 MB). */
    public static final long MAX_HEADER = 100L << 20;
    /** The largest file read: one Java array. */
    private static final long MAX_FILE = Integer.MAX_VALUE - 8;

    /** One header entry: dtype name, shape, byte range in the data section. */
    private record Entry(String dtype, int[] shape, long begin, long end) {}

    private final String file;
    private final byte[] all;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafeTensors(String file, byte[] all, long dataStart, Map<String, Entry> entries, Map<String, String> metadata) {
        this.file = file;
        this.all = all;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Reads and checks a file. */
    public static SafeTensors read(Path path) {
        byte[] bytes;
        try {
            long size = Files.size(path);
            if (size > MAX_FILE) {
                throw new IllegalArgumentException(path + ": the file has " + size + " bytes, more than the " + MAX_FILE
                        + " that one Java array holds");
            }
            bytes = Files.readAllBytes(path);
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": cannot read (" + e + ")", e);
        }
        return parse(path.toString(), bytes);
    }

    /** Parses the bytes of a .safetensors file; {@code name} is used in error messages. */
    public static SafeTensors parse(String name, byte[] all) {
        if (all.length < 8) {
            throw bad(name, "not a .safetensors file: " + all.length + " bytes, shorter than the 8-byte header length");
        }
        long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (n < 2 || n > MAX_HEADER || n > all.length - 8L) {
            throw bad(name, "bad header length " + Long.toUnsignedString(n) + " (expected 2.." + Math.min(MAX_HEADER,
                    all.length - 8L) + " for a file of " + all.length + " bytes)");
        }
        String text = new String(all, 8, (int) n, StandardCharsets.UTF_8);
        Object root;
        try {
            root = Json.parse(text);
        } catch (IllegalArgumentException e) {
            throw bad(name, "bad header: " + e.getMessage());
        }
        if (!(root instanceof Map<?, ?> top)) {
            throw bad(name, "bad header: expected a JSON object, got " + kind(root));
        }
        long dataStart = 8 + n;
        long dataLen = all.length - dataStart;
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : top.entrySet()) {
            String key = (String) e.getKey();
            if (key.equals("__metadata__")) {
                if (!(e.getValue() instanceof Map<?, ?> m)) {
                    throw bad(name, "bad header: __metadata__ must be an object of strings, got " + kind(e.getValue()));
                }
                for (Map.Entry<?, ?> x : m.entrySet()) {
                    if (!(x.getValue() instanceof String v)) {
                        throw bad(name, "bad header: __metadata__." + x.getKey() + " must be a string, got " + kind(x.getValue()));
                    }
                    meta.put((String) x.getKey(), v);
                }
                continue;
            }
            entries.put(key, entry(name, key, e.getValue(), dataLen));
        }
        return new SafeTensors(name, all, dataStart, Collections.unmodifiableMap(entries), Collections.unmodifiableMap(meta));
    }

    private static Entry entry(String file, String key, Object v, long dataLen) {
        String where = "tensor '" + key + "'";
        if (!(v instanceof Map<?, ?> m)) {
            throw bad(file, where + ": expected an object with dtype, shape, data_offsets, got " + kind(v));
        }
        if (!(m.get("dtype") instanceof String dtype)) {
            throw bad(file, where + ": dtype must be a string, got " + kind(m.get("dtype")));
        }
        if (!(m.get("shape") instanceof List<?> shapeList)) {
            throw bad(file, where + ": shape must be an array, got " + kind(m.get("shape")));
        }
        if (!(m.get("data_offsets") instanceof List<?> off) || off.size() != 2 || !(off.get(0) instanceof Long b)
                || !(off.get(1) instanceof Long e)) {
            throw bad(file, where + ": data_offsets must be [begin, end] integers, got " + m.get("data_offsets"));
        }
        int[] shape = new int[shapeList.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            if (!(shapeList.get(i) instanceof Long d) || d < 0 || d > Integer.MAX_VALUE) {
                throw bad(file, where + ": shape[" + i + "] must be an integer in 0.." + Integer.MAX_VALUE + ", got "
                        + shapeList.get(i));
            }
            shape[i] = (int) (long) d;
            count = d == 0 || count == 0 ? 0 : (count > Long.MAX_VALUE / 8 / d ? -1 : count * d);
            if (count < 0) {
                throw bad(file, where + ": shape " + Arrays.toString(shape) + " has too many elements");
            }
        }
        if (b < 0 || e < b || e > dataLen) {
            throw bad(file, where + ": data_offsets [" + b + ", " + e + "] outside the " + dataLen + "-byte data section");
        }
        int es = bytesOf(dtype);
        if (es > 0 && e - b != count * es) {
            throw bad(file, where + ": " + (e - b) + " bytes for shape " + Arrays.toString(shape) + " of " + dtype
                    + " (expected " + count * es + ")");
        }
        return new Entry(dtype, shape, b, e);
    }

    private static int bytesOf(String dtype) {
        return switch (dtype) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
            default -> 0;
        };
    }

    private static String kind(Object o) {
        return o == null ? "null" : o instanceof Map ? "an object" : o instanceof List ? "an array"
                : o instanceof String s ? "the string \"" + s + "\"" : String.valueOf(o);
    }

    private static IllegalArgumentException bad(String file, String problem) {
        return new IllegalArgumentException(file + ": " + problem);
    }

    /** The file name given to {@link #read} or {@link #parse}. */
    @Override
    public String file() {
        return file;
    }

    /** Every tensor name, in header order. */
    @Override
    public List<String> names() {
        return List.copyOf(entries.keySet());
    }

    /** True when the file has a tensor of this name. */
    @Override
    public boolean has(String name) {
        return entries.containsKey(name);
    }

    /** The shape of a tensor (without reading it). */
    @Override
    public int[] shape(String name) {
        return entry(name).shape().clone();
    }

    /** The safetensors dtype name of a tensor ("F32", "BF16", ...). */
    public String dtypeName(String name) {
        return entry(name).dtype();
    }

    /** The {@code __metadata__} strings. */
    public Map<String, String> metadata() {
        return metadata;
    }

    private Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw bad(file, "no tensor '" + name + "' (the file has " + entries.size() + ": " + preview() + ")");
        }
        return e;
    }

    private String preview() {
        List<String> l = names();
        return l.size() <= 12 ? String.join(", ", l) : String.join(", ", l.subList(0, 12)) + ", ...";
    }

    /** A tensor as a new contiguous host tensor (F32, F16 or BF16). */
    @Override
    public Tensor get(String name) {
        Entry e = entry(name);
        DType t = switch (e.dtype()) {
            case "F32" -> DType.F32;
            case "F16" -> DType.F16;
            case "BF16" -> DType.BF16;
            default -> throw bad(file, "tensor '" + name + "' has dtype " + e.dtype() + " (expected F32, F16 or BF16)");
        };
        int n = Math.toIntExact((e.end() - e.begin()) / t.bytes());
        ByteBuffer data = ByteBuffer.wrap(all, (int) (dataStart + e.begin()), (int) (e.end() - e.begin())).slice()
                .order(ByteOrder.LITTLE_ENDIAN);
        HostMemory mem;
        if (t == DType.F32) {
            float[] a = new float[n];
            data.asFloatBuffer().get(a);
            mem = HostMemory.of(a);
        } else {
            short[] a = new short[n];
            data.asShortBuffer().get(a);
            mem = HostMemory.of(a);
        }
        return Tensor.of(mem, t, e.shape(), Tensor.contiguousStrides(e.shape()), 0);
    }

    /**
     * Writes host tensors (F32, F16 or BF16, any strides) as a .safetensors file, in the map's
     * order, with the header padded by spaces to a multiple of 8 bytes.
     */
    public static void write(Path path, Map<String, Tensor> tensors) {
        try {
            Files.write(path, bytes(tensors));
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": cannot write (" + e + ")", e);
        }
    }

    /** The bytes of a .safetensors file holding {@code tensors} (see {@link #write}). */
    public static byte[] bytes(Map<String, Tensor> tensors) {
        StringBuilder h = new StringBuilder("{");
        long off = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            String dt = switch (t.dtype()) {
                case F32 -> "F32";
                case F16 -> "F16";
                case BF16 -> "BF16";
                default -> throw new IllegalArgumentException(e.getKey() + ".dtype: expected F32, F16 or BF16, got "
                        + t.dtype());
            };
            long len = t.numel() * t.dtype().bytes();
            if (h.length() > 1) {
                h.append(',');
            }
            h.append('"').append(escape(e.getKey())).append("\":{\"dtype\":\"").append(dt).append("\",\"shape\":")
                    .append(Arrays.toString(t.shape()).replace(" ", "")).append(",\"data_offsets\":[").append(off)
                    .append(',').append(off + len).append("]}");
            off += len;
        }
        h.append('}');
        while ((h.length() + 8) % 8 != 0) {
            h.append(' ');
        }
        byte[] head = h.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(8 + head.length + off)).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(head.length).put(head);
        for (Tensor t : tensors.values()) {
            int[] idx = new int[t.rank()];
            for (long i = 0; i < t.numel(); i++) {
                float v = t.get(idx);
                switch (t.dtype()) {
                    case F32 -> out.putFloat(v);
                    case F16 -> out.putShort(io.github.attn4j.Half.floatToF16(v));
                    default -> out.putShort(io.github.attn4j.Half.floatToBf16(v));
                }
                for (int d = idx.length - 1; d >= 0; d--) {
                    if (++idx[d] < t.dim(d)) {
                        break;
                    }
                    idx[d] = 0;
                }
            }
        }
        return out.array();
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
