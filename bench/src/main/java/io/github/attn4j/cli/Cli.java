package io.github.attn4j.cli;

import io.github.attn4j.Alignment;
import io.github.attn4j.Attn4j;
import io.github.attn4j.Backend;
import io.github.attn4j.Masks;
import io.github.attn4j.npy.Npy;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The flag parsing shared by the commands: {@code --name value}, {@code --name=value} and boolean
 * {@code --name}; the mask flags that sdpa, softmax and additive share; and the error policy:
 * a {@link UsageException} or any other failure becomes one line on stderr and an exit code,
 * never a stack trace.
 */
public final class Cli {
    private Cli() {}

    /**
     * Exit codes: {@code OK}; {@code FAILED}, a failing case or an error; {@code USAGE}, a bad command
     * line; {@code NO_DEVICE}, {@code verify} found no device backend to check, so nothing was verified.
     */
    public static final int OK = 0, FAILED = 1, USAGE = 2, NO_DEVICE = 3;

    /** The mask flags shared by the three ops (value flags, then the boolean --causal). */
    public static final List<String> MASK_FLAGS = List.of("align", "window", "kv-lengths", "q-lengths", "mask",
            "bias", "alibi");

    /** A bad command line: one line, exit code {@link #USAGE}. */
    public static final class UsageException extends RuntimeException {
        public UsageException(String message) {
            super(message);
        }
    }

    /** Parsed arguments: positionals in order, flags by name (without the dashes). */
    public static final class Args {
        private final List<String> positional = new ArrayList<>();
        private final Map<String, String> flags = new LinkedHashMap<>();

        public List<String> positional() {
            return positional;
        }

        public boolean has(String name) {
            return flags.containsKey(name);
        }

        /** The value of a flag, or null. */
        public String get(String name) {
            return flags.get(name);
        }

        /** The value of a required flag. */
        public String required(String name) {
            String v = flags.get(name);
            if (v == null) {
                throw new UsageException("missing --" + name);
            }
            return v;
        }

        public float floatValue(String name) {
            String v = flags.get(name);
            try {
                return Float.parseFloat(v);
            } catch (NumberFormatException e) {
                throw new UsageException("--" + name + ": expected a number, got '" + v + "'");
            }
        }

        public long longValue(String name) {
            String v = flags.get(name);
            try {
                return Long.parseLong(v);
            } catch (NumberFormatException e) {
                throw new UsageException("--" + name + ": expected an integer, got '" + v + "'");
            }
        }

        /** A comma-separated list of ints. */
        public int[] ints(String name) {
            String v = flags.get(name);
            String[] parts = v.split(",", -1);
            int[] out = new int[parts.length];
            for (int i = 0; i < parts.length; i++) {
                try {
                    out[i] = Integer.parseInt(parts[i].trim());
                } catch (NumberFormatException e) {
                    throw new UsageException("--" + name + ": expected comma-separated integers, got '" + v + "'");
                }
            }
            return out;
        }
    }

    /**
     * Parses {@code args}. {@code valueFlags} take a value, {@code boolFlags} do not; anything else
     * starting with {@code --} is an error naming the accepted flags.
     */
    public static Args parse(String[] args, Set<String> valueFlags, Set<String> boolFlags) {
        Args a = new Args();
        for (int i = 0; i < args.length; i++) {
            String s = args[i];
            if (!s.startsWith("--") || s.equals("--")) {
                a.positional.add(s);
                continue;
            }
            String name = s.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (boolFlags.contains(name)) {
                if (value != null) {
                    throw new UsageException("--" + name + " takes no value, got '" + value + "'");
                }
                value = "true";
            } else if (valueFlags.contains(name)) {
                if (value == null) {
                    if (i + 1 >= args.length || (args[i + 1].startsWith("--") && args[i + 1].length() > 2)) {
                        throw new UsageException("--" + name + " needs a value");
                    }
                    value = args[++i];
                }
            } else {
                Set<String> known = new TreeSet<>(valueFlags);
                known.addAll(boolFlags);
                throw new UsageException("unknown flag --" + name + " (expected one of " + dashed(known) + ")");
            }
            if (a.flags.put(name, value) != null) {
                throw new UsageException("--" + name + " given twice");
            }
        }
        return a;
    }

    private static String dashed(Set<String> names) {
        List<String> l = new ArrayList<>();
        for (String n : names) {
            l.add("--" + n);
        }
        return String.join(", ", l);
    }

    /** The set of names, for {@link #parse}. */
    public static Set<String> names(List<String> base, String... more) {
        Set<String> s = new TreeSet<>(base);
        s.addAll(List.of(more));
        return s;
    }

    /**
     * The mask options from the shared flags: {@code --align top-left|bottom-right}, {@code --causal},
     * {@code --window L,R}, {@code --kv-lengths n,..}, {@code --q-lengths n,..}, {@code --mask M.npy}
     * (bool), {@code --bias B.npy} (f4), {@code --alibi S.npy} (f4).
     */
    public static Masks masks(Args a) {
        Masks.Builder m = Masks.builder();
        if (a.has("align")) {
            try {
                m.alignment(Alignment.parse(a.get("align")));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--" + e.getMessage());
            }
        }
        if (a.has("causal") && a.has("window")) {
            throw new UsageException("--causal and --window: give one (--causal is --window -1,0)");
        }
        if (a.has("causal")) {
            m.causal();
        }
        if (a.has("window")) {
            int[] w = a.ints("window");
            if (w.length != 2) {
                throw new UsageException("--window: expected L,R (-1 = unbounded), got '" + a.get("window") + "'");
            }
            m.window(w[0], w[1]);
        }
        if (a.has("kv-lengths")) {
            m.kvLengths(a.ints("kv-lengths"));
        }
        if (a.has("q-lengths")) {
            m.qLengths(a.ints("q-lengths"));
        }
        if (a.has("mask")) {
            m.boolMask(npy(a, "mask"));
        }
        if (a.has("bias")) {
            m.bias(npy(a, "bias"));
        }
        if (a.has("alibi")) {
            m.alibi(npy(a, "alibi"));
        }
        return m.build();
    }

    /** Reads the .npy file a flag names. */
    public static io.github.attn4j.Tensor npy(Args a, String flag) {
        return Npy.read(Path.of(a.required(flag)));
    }

    /** Opens {@code --backend NAME} or, without it, the best available backend. */
    public static Backend backend(Args a) {
        return a.has("backend") ? Attn4j.open(a.get("backend")) : Attn4j.open();
    }

    /** A message on one line. */
    public static String oneLine(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            m = e.getClass().getSimpleName();
        } else if (!(e instanceof UsageException) && !(e instanceof IllegalArgumentException)
                && !(e instanceof java.io.UncheckedIOException) && !(e instanceof io.github.attn4j.BackendException)) {
            m = e.getClass().getSimpleName() + ": " + m;
        }
        return m.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim();
    }

    /** The body of a command. */
    @FunctionalInterface
    public interface Body {
        int run();
    }

    /**
     * Runs a command body with the error policy: usage errors and bad arguments exit {@link #USAGE},
     * anything else {@link #FAILED}, each as one line "error: ..." on {@code err}.
     */
    public static int guard(String command, PrintStream err, Body body) {
        try {
            return body.run();
        } catch (UsageException | IllegalArgumentException e) {
            err.println("error: " + command + ": " + oneLine(e));
            return USAGE;
        } catch (RuntimeException | LinkageError e) {
            err.println("error: " + command + ": " + oneLine(e));
            return FAILED;
        }
    }
}
