package io.github.attn4j.bench;

import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.style.Styler;

/**
 * PNG charts of the results, drawn with XChart in headless mode: one chart per op, shape set, dtype,
 * head dim and causal flag, the problem size on the x axis (evenly spaced powers of two), TFLOP/s
 * (or GB/s for memory-bound points: softmax and decode) on the y axis, one line per implementation,
 * as in the FlashAttention README.
 */
public final class Charts {
    private Charts() {}

    /** Writes the charts for the rows that ran; returns the files written. */
    public static List<Path> write(List<Result> rows, Path dir) {
        System.setProperty("java.awt.headless", "true");
        Map<String, List<Result>> groups = new LinkedHashMap<>();
        for (Result r : rows) {
            if (r.ok()) {
                groups.computeIfAbsent(groupKey(r), k -> new ArrayList<>()).add(r);
            }
        }
        List<Path> files = new ArrayList<>();
        try {
            Files.createDirectories(dir);
            for (Map.Entry<String, List<Result>> g : groups.entrySet()) {
                Path f = dir.resolve(g.getKey() + ".png");
                BitmapEncoder.saveBitmap(chart(g.getValue()), f.toString(), BitmapEncoder.BitmapFormat.PNG);
                files.add(f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot write charts (" + e.getMessage() + ")", e);
        }
        return files;
    }

    /** The file stem of a row's chart, e.g. "sdpa_flash_f16_d64_causal". */
    static String groupKey(Result r) {
        Shape s = r.shape();
        StringBuilder k = new StringBuilder(s.op()).append('_').append(s.set()).append('_').append(r.dtype());
        if (Shape.base(s.op()).equals("sdpa")) {
            k.append("_d").append(s.headDim());
        }
        if (s.causal()) {
            k.append("_causal");
        }
        return k.toString().replaceAll("[^A-Za-z0-9_.-]", "-");
    }

    /** Whether the rows of this set vary A (additive attention dim) rather than the sequence length. */
    private static boolean byDimA(Shape s) {
        return s.set().endsWith("additive-a");
    }

    private static int x(Shape s) {
        return byDimA(s) ? s.dimA() : s.xValue();
    }

    static CategoryChart chart(List<Result> rows) {
        Shape first = rows.get(0).shape();
        boolean bw = first.memoryBound();
        TreeSet<Integer> xs = new TreeSet<>();
        Map<String, TreeMap<Integer, Double>> series = new LinkedHashMap<>();
        for (Result r : rows) {
            double y = bw ? r.gbps() : r.tflops();
            if (Double.isNaN(y)) {
                continue;
            }
            xs.add(x(r.shape()));
            series.computeIfAbsent(r.impl(), k -> new TreeMap<>()).put(x(r.shape()), y);
        }
        String xTitle = byDimA(first) ? "attention dim A" : first.op().startsWith("softmax") ? "row width N"
                : first.seqQ() == 1 ? "KV length Sk (Sq = 1)" : "sequence length S";
        CategoryChart c = new CategoryChartBuilder().width(900).height(540).title(title(rows))
                .xAxisTitle(xTitle).yAxisTitle(bw ? "GB/s" : "TFLOP/s").build();
        c.getStyler().setDefaultSeriesRenderStyle(org.knowm.xchart.CategorySeries.CategorySeriesRenderStyle.Line);
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setPlotBackgroundColor(Color.WHITE);
        c.getStyler().setMarkerSize(8);
        c.getStyler().setYAxisMin(0.0);
        c.getStyler().setYAxisDecimalPattern(bw ? "#,##0.#" : "0.###");
        c.getStyler().setOverlapped(true);
        List<String> cats = new ArrayList<>();
        for (int x : xs) {
            cats.add(sizeLabel(x));
        }
        for (Map.Entry<String, TreeMap<Integer, Double>> e : series.entrySet()) {
            List<Double> ys = new ArrayList<>();
            for (int x : xs) {
                ys.add(e.getValue().get(x));
            }
            CategorySeries s = c.addSeries(e.getKey(), cats, ys);
            s.setChartCategorySeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
        }
        return c;
    }

    static String title(List<Result> rows) {
        Result r = rows.get(0);
        Shape s = r.shape();
        java.util.Set<Long> tokens = new java.util.TreeSet<>();
        java.util.Set<Integer> batches = new java.util.TreeSet<>();
        for (Result x : rows) {
            tokens.add((long) x.shape().batch() * x.shape().seqQ());
            batches.add(x.shape().batch());
        }
        String size = tokens.size() == 1 && batches.size() > 1 ? "batch·S = " + tokens.iterator().next()
                : batches.size() == 1 ? "B = " + batches.iterator().next() : "";
        String what = switch (s.op()) {
            case "sdpa" -> s.seqQ() == 1 ? String.format(Locale.ROOT, "SDPA decode, B=%d Hq=%d Hkv=%d D=%d",
                    s.batch(), s.heads(), s.headsKv(), s.headDim())
                    : String.format(Locale.ROOT, "SDPA forward, H=%d, head dim %d, %s, %s", s.heads(), s.headDim(),
                            s.causal() ? "causal" : "non-causal", size);
            case "softmax" -> String.format(Locale.ROOT, "masked softmax, R·N = %d", (long) s.seqQ() * s.seqK());
            case "softmax_bwd" -> String.format(Locale.ROOT, "softmax backward, R·N = %d", (long) s.seqQ() * s.seqK());
            case "sdpa_bwd" -> String.format(Locale.ROOT, "SDPA backward, H=%d, head dim %d, %s, %s", s.heads(),
                    s.headDim(), s.causal() ? "causal" : "non-causal", size);
            case "additive_bwd" -> String.format(Locale.ROOT, "additive attention backward, B=%d A=%d Dv=%d%s", s.batch(),
                    s.dimA(), s.headDimV(), s.causal() ? " causal" : "");
            default -> byDimA(s) ? String.format(Locale.ROOT, "additive attention, B=%d S=%d Dv=%d", s.batch(),
                    s.seqK(), s.headDimV()) : String.format(Locale.ROOT, "additive attention, B=%d A=%d Dv=%d%s",
                            s.batch(), s.dimA(), s.headDimV(), s.causal() ? " causal" : "");
        };
        return what + " (" + r.dtype() + ")";
    }

    /** 512, 1k, 16k, 64k ... */
    static String sizeLabel(int x) {
        return x >= 1024 && x % 1024 == 0 ? (x / 1024) + "k" : Integer.toString(x);
    }
}
