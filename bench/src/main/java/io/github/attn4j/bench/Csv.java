package io.github.attn4j.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The results CSV. The column names are the contract with {@code bench/peers/torch_sdpa.py}, which
 * writes the same header; reading goes by column name, so extra columns are ignored. Numbers that do
 * not exist (a skipped row, a ceiling that could not be measured) are empty cells.
 */
public final class Csv {
    private Csv() {}

    public static final List<String> COLUMNS = List.of("impl", "backend", "device", "op", "set", "dtype", "batch",
            "heads", "heads_kv", "seq_q", "seq_k", "head_dim", "head_dim_v", "dim_a", "causal", "shape", "status",
            "ms_median", "ms_min", "ms_max", "runs", "tflops", "gbps", "copy_gbps", "gemm_tflops", "frac_copy",
            "frac_gemm", "peak_bytes", "timing", "reason");

    public static String header() {
        return String.join(",", COLUMNS);
    }

    public static String row(Result r) {
        Shape s = r.shape();
        List<String> c = new ArrayList<>(COLUMNS.size());
        c.add(r.impl());
        c.add(r.backend());
        c.add(r.device());
        c.add(s.op());
        c.add(s.set());
        c.add(r.dtype());
        c.add(Integer.toString(s.batch()));
        c.add(Integer.toString(s.heads()));
        c.add(Integer.toString(s.headsKv()));
        c.add(Integer.toString(s.seqQ()));
        c.add(Integer.toString(s.seqK()));
        c.add(Integer.toString(s.headDim()));
        c.add(Integer.toString(s.headDimV()));
        c.add(Integer.toString(s.dimA()));
        c.add(Boolean.toString(s.causal()));
        c.add(s.key());
        c.add(r.status());
        c.add(num(r.msMedian()));
        c.add(num(r.msMin()));
        c.add(num(r.msMax()));
        c.add(Integer.toString(r.runs()));
        c.add(num(r.tflops()));
        c.add(num(r.gbps()));
        c.add(num(r.copyGbps()));
        c.add(num(r.gemmTflops()));
        c.add(num(r.fracCopy()));
        c.add(num(r.fracGemm()));
        c.add(r.peakBytes() < 0 ? "" : Long.toString(r.peakBytes()));
        c.add(r.timing());
        c.add(r.reason());
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < c.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(quote(c.get(i)));
        }
        return sb.toString();
    }

    static String num(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "";
        }
        return String.format(Locale.ROOT, "%.6g", v);
    }

    static String quote(String s) {
        if (s == null) {
            return "";
        }
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) {
            return s;
        }
        return '"' + s.replace("\"", "\"\"") + '"';
    }

    public static void write(Path file, List<Result> rows) {
        StringBuilder sb = new StringBuilder(header()).append('\n');
        for (Result r : rows) {
            sb.append(row(r)).append('\n');
        }
        try {
            if (file.getParent() != null) {
                Files.createDirectories(file.getParent());
            }
            Files.writeString(file, sb.toString(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write (" + e.getMessage() + ")", e);
        }
    }

    /** Reads a results CSV (ours or a peer's). Errors name the file and the line. */
    public static List<Result> read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read (" + e.getClass().getSimpleName() + ": "
                    + e.getMessage() + ")");
        }
        List<List<String>> records = split(file, text);
        if (records.isEmpty()) {
            throw new IllegalArgumentException(file + ": expected a header line, got an empty file");
        }
        List<String> head = records.get(0);
        Map<String, Integer> col = new HashMap<>();
        for (int i = 0; i < head.size(); i++) {
            col.put(head.get(i).trim(), i);
        }
        for (String need : List.of("impl", "op", "dtype", "batch", "heads", "seq_q", "seq_k", "status", "ms_median")) {
            if (!col.containsKey(need)) {
                throw new IllegalArgumentException(file + ": expected a column '" + need + "', got header " + head);
            }
        }
        List<Result> out = new ArrayList<>();
        for (int n = 1; n < records.size(); n++) {
            List<String> r = records.get(n);
            if (r.size() == 1 && r.get(0).isBlank()) {
                continue;
            }
            try {
                out.add(parseRow(col, r));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(file + ": record " + (n + 1) + ": " + e.getMessage());
            }
        }
        return out;
    }

    private static Result parseRow(Map<String, Integer> col, List<String> r) {
        java.util.function.Function<String, String> get = name -> {
            Integer i = col.get(name);
            return i == null || i >= r.size() ? "" : r.get(i);
        };
        String op = get.apply("op");
        int batch = integer(get, "batch", 1);
        int heads = integer(get, "heads", 1);
        int hkv = integer(get, "heads_kv", heads);
        Shape s = new Shape(op, orDefault(get.apply("set"), "custom"), batch, heads, hkv, integer(get, "seq_q", 1),
                integer(get, "seq_k", 1), integer(get, "head_dim", 0), integer(get, "head_dim_v", 0),
                integer(get, "dim_a", 0), Boolean.parseBoolean(get.apply("causal")));
        String peak = get.apply("peak_bytes");
        return new Result(get.apply("impl"), get.apply("backend"), get.apply("device"), s, get.apply("dtype"),
                get.apply("status"), dbl(get.apply("ms_median")), dbl(get.apply("ms_min")), dbl(get.apply("ms_max")),
                integer(get, "runs", 0), dbl(get.apply("tflops")), dbl(get.apply("gbps")), dbl(get.apply("copy_gbps")),
                dbl(get.apply("gemm_tflops")), peak.isBlank() ? -1 : (long) Double.parseDouble(peak),
                get.apply("timing"), get.apply("reason"));
    }

    private static String orDefault(String v, String d) {
        return v == null || v.isBlank() ? d : v;
    }

    private static int integer(java.util.function.Function<String, String> get, String name, int dflt) {
        String v = get.apply(name).trim();
        if (v.isEmpty()) {
            return dflt;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + ": expected an integer, got '" + v + "'");
        }
    }

    private static double dbl(String v) {
        String t = v == null ? "" : v.trim();
        if (t.isEmpty() || t.equalsIgnoreCase("nan")) {
            return Double.NaN;
        }
        try {
            return Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected a number, got '" + v + "'");
        }
    }

    /** RFC 4180 splitting: quoted fields may hold commas, doubled quotes and newlines. */
    static List<List<String>> split(Path file, String text) {
        List<List<String>> rows = new ArrayList<>();
        List<String> row = new ArrayList<>();
        StringBuilder f = new StringBuilder();
        boolean quoted = false;
        boolean any = false;
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            any = true;
            if (quoted) {
                if (ch == '"') {
                    if (i + 1 < text.length() && text.charAt(i + 1) == '"') {
                        f.append('"');
                        i++;
                    } else {
                        quoted = false;
                    }
                } else {
                    f.append(ch);
                }
            } else if (ch == '"') {
                quoted = true;
            } else if (ch == ',') {
                row.add(f.toString());
                f.setLength(0);
            } else if (ch == '\n' || ch == '\r') {
                if (ch == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') {
                    i++;
                }
                row.add(f.toString());
                f.setLength(0);
                rows.add(row);
                row = new ArrayList<>();
                any = false;
            } else {
                f.append(ch);
            }
        }
        if (quoted) {
            throw new IllegalArgumentException(file + ": expected a closing quote, got the end of the file");
        }
        if (any) {
            row.add(f.toString());
            rows.add(row);
        }
        return rows;
    }
}
