package io.github.attn4j.spi;

/**
 * Leak policy, from {@code -Dattn4j.leaks}: {@code fail} (tests) throws on a leak, {@code warn}
 * (default) logs it. Under {@code fail}, scopes also record where they were opened.
 */
public final class Leaks {
    private Leaks() {}

    private static final System.Logger LOG = System.getLogger("io.github.attn4j");

    /** True when scopes should record their creation stack for the report. */
    public static boolean tracking() {
        return "fail".equals(System.getProperty("attn4j.leaks"));
    }

    /** Reports a leak: throws {@link IllegalStateException} under {@code fail}, logs otherwise. */
    public static void report(String message) {
        if (tracking()) {
            throw new IllegalStateException(message);
        }
        LOG.log(System.Logger.Level.WARNING, message);
    }
}
