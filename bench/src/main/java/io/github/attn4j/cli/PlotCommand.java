package io.github.attn4j.cli;

import io.github.attn4j.Tensor;
import io.github.attn4j.npy.Npy;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import javax.imageio.ImageIO;

/**
 * {@code attn4j plot --weights A.npy --out A.png [--src-tokens ".." --tgt-tokens ".."] [--batch N]}:
 * attention or alignment weights as heatmaps, one panel per head (the soft-alignment picture of the
 * Bahdanau paper): target positions down, source positions across, darker = more weight, with the
 * tokens as labels when given. Pure AWT, headless.
 */
final class PlotCommand {
    private PlotCommand() {}

    static final String USAGE = """
            usage: attn4j plot --weights A.npy --out A.png [--src-tokens "w1 w2 .."] [--tgt-tokens "w1 w2 .."]
                               [--batch N] [--cell PIXELS]
              A is [B, H, Sq, Sk] (as written by run mha --attn-weights or run bahdanau --alignment) or [Sq, Sk];
              one panel per head of batch N (default 0). Tokens are space-separated: Sk source tokens label the
              columns, Sq target tokens the rows. --cell is the size of one weight in pixels (default: fit).""";

    private static final Set<String> FLAGS = Set.of("weights", "out", "src-tokens", "tgt-tokens", "batch", "cell");

    static int run(String[] args, PrintStream out, PrintStream err) {
        return Cli.guard("plot", err, () -> {
            if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
                (args.length == 0 ? err : out).println(USAGE);
                return args.length == 0 ? Cli.USAGE : Cli.OK;
            }
            Cli.Args a = Cli.parse(args, FLAGS, Set.of("help"));
            if (!a.positional().isEmpty()) {
                throw new Cli.UsageException("unexpected argument '" + a.positional().get(0) + "'");
            }
            Tensor t = Cli.npy(a, "weights");
            if (t.rank() == 2) {
                t = t.view(t.offset(), new int[] {1, 1, t.dim(0), t.dim(1)}, new long[] {0, 0, t.stride(0), t.stride(1)});
            }
            if (t.rank() != 4) {
                throw new Cli.UsageException("--weights " + a.get("weights") + ": expected [B, H, Sq, Sk] or [Sq, Sk], got shape "
                        + Arrays.toString(t.shape()));
            }
            int batch = a.has("batch") ? (int) a.longValue("batch") : 0;
            if (batch < 0 || batch >= t.dim(0)) {
                throw new Cli.UsageException("--batch: expected 0.." + (t.dim(0) - 1) + ", got " + batch);
            }
            int sq = t.dim(2), sk = t.dim(3);
            String[] src = tokens(a, "src-tokens", sk, "Sk");
            String[] tgt = tokens(a, "tgt-tokens", sq, "Sq");
            int cell = a.has("cell") ? (int) a.longValue("cell") : Math.max(6, Math.min(48, 640 / Math.max(sq, sk)));
            if (cell < 1 || cell > 200) {
                throw new Cli.UsageException("--cell: expected 1..200 pixels, got " + cell);
            }
            BufferedImage img = draw(t, batch, src, tgt, cell);
            Path p = Path.of(a.required("out"));
            try {
                ImageIO.write(img, "png", p.toFile());
            } catch (IOException e) {
                throw new UncheckedIOException(p + ": cannot write (" + e + ")", e);
            }
            out.printf(Locale.ROOT, "plot: wrote %s (%d x %d, %d panel%s)%n", p, img.getWidth(), img.getHeight(), t.dim(1),
                    t.dim(1) == 1 ? "" : "s");
            return Cli.OK;
        });
    }

    private static String[] tokens(Cli.Args a, String flag, int n, String dim) {
        if (!a.has(flag)) {
            return null;
        }
        String[] s = a.get(flag).trim().split("\\s+");
        if (s.length != n) {
            throw new Cli.UsageException("--" + flag + ": expected " + n + " tokens (" + dim + " of the weights), got "
                    + s.length);
        }
        return s;
    }

    static BufferedImage draw(Tensor t, int batch, String[] src, String[] tgt, int cell) {
        int heads = t.dim(1), sq = t.dim(2), sk = t.dim(3);
        Font font = new Font(Font.SANS_SERIF, Font.PLAIN, Math.max(10, Math.min(14, cell - 2)));
        BufferedImage probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        FontMetrics fm = probe.createGraphics().getFontMetrics(font);
        int left = 8 + maxWidth(fm, tgt), top = 8 + maxWidth(fm, src) + fm.getHeight();
        int cols = (int) Math.ceil(Math.sqrt(heads)), rows = (heads + cols - 1) / cols;
        int pw = left + sk * cell + 16, ph = top + sq * cell + 16;
        BufferedImage img = new BufferedImage(cols * pw, rows * ph, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        g.setFont(font);
        for (int h = 0; h < heads; h++) {
            int x0 = (h % cols) * pw + left, y0 = (h / cols) * ph + top;
            g.setColor(Color.BLACK);
            if (heads > 1) {
                g.drawString("head " + h, x0, y0 - 4 - maxWidth(fm, src));
            }
            for (int i = 0; i < sq; i++) {
                for (int j = 0; j < sk; j++) {
                    float v = t.get(batch, h, i, j);
                    float c = Float.isFinite(v) ? Math.max(0f, Math.min(1f, v)) : 0f;
                    int gray = Math.round(255 * (1 - c)); // white = 0, black = 1
                    g.setColor(Float.isNaN(v) ? Color.RED : new Color(gray, gray, gray));
                    g.fillRect(x0 + j * cell, y0 + i * cell, cell, cell);
                }
            }
            g.setColor(Color.GRAY);
            g.setStroke(new BasicStroke(1f));
            g.drawRect(x0, y0, sk * cell, sq * cell);
            g.setColor(Color.BLACK);
            if (tgt != null) {
                for (int i = 0; i < sq; i++) {
                    g.drawString(tgt[i], x0 - 4 - fm.stringWidth(tgt[i]), y0 + i * cell + (cell + fm.getAscent()) / 2 - 2);
                }
            }
            if (src != null) {
                AffineTransform keep = g.getTransform();
                for (int j = 0; j < sk; j++) {
                    g.setTransform(keep);
                    g.translate(x0 + j * cell + (cell + fm.getAscent()) / 2 - 2, y0 - 4);
                    g.rotate(-Math.PI / 2);
                    g.drawString(src[j], 0, 0);
                }
                g.setTransform(keep);
            }
        }
        g.dispose();
        return img;
    }

    private static int maxWidth(FontMetrics fm, String[] s) {
        int w = 0;
        if (s != null) {
            for (String x : s) {
                w = Math.max(w, fm.stringWidth(x));
            }
        }
        return w;
    }
}
