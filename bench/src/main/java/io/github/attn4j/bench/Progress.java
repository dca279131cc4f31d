package io.github.attn4j.bench;

import java.io.PrintStream;
import java.util.Locale;

/** A one-line progress bar on stderr, redrawn with '\r'. */
final class Progress {
    private static final int WIDTH = 28;
    private final PrintStream err;
    private final int total;
    private final boolean enabled;
    private final long start = System.nanoTime();
    private int done;
    private int lastLength;

    Progress(PrintStream err, int total, boolean enabled) {
        this.err = err;
        this.total = Math.max(1, total);
        this.enabled = enabled;
    }

    /** Shows that {@code what} is running now. */
    void start(String what) {
        draw(what);
    }

    /** Marks one point finished. */
    void step() {
        done++;
        draw("");
    }

    void finish() {
        if (enabled) {
            draw("done");
            err.println();
            err.flush();
        }
    }

    private void draw(String what) {
        if (!enabled) {
            return;
        }
        int filled = (int) ((long) WIDTH * done / total);
        String bar = "#".repeat(filled) + ".".repeat(WIDTH - filled);
        double sec = (System.nanoTime() - start) / 1e9;
        String line = String.format(Locale.ROOT, "\r[%s] %d/%d %5.0fs %s", bar, done, total, sec, what);
        if (line.length() > 120) {
            line = line.substring(0, 120);
        }
        int pad = Math.max(0, lastLength - line.length());
        err.print(line + " ".repeat(pad));
        err.flush();
        lastLength = line.length();
    }
}
