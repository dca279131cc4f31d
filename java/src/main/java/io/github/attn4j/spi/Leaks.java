package io.github.attn4j.spi;

/**
 * Leak policy, from {@code -Dattn4j.leaks} (read once, when this class loads): {@code fail}
 * (tests) throws on a leak, {@code warn} (default) logs it. Under {@code fail}, scopes also record
 * where they were opened.
 */
public final class Leaks {
    private Leaks() {}

    private static final System.Logger LOG = System.getLogger("io.github.attn4j");
    private static final boolean FAIL = "fail".equals(System.getProperty("attn4j.leaks"));

    /** True when scopes should record their creation stack for the report. */
    public static boolean tracking() {
        return FAIL;
    }

    /** Reports a leak: throws {@link IllegalStateException} under {@code fail}, logs otherwise. */
    public static void report(String message) {
        if (tracking()) {
            throw new IllegalStateException(message);
        }
        LOG.log(System.Logger.Level.WARNING, message);
    }
}
