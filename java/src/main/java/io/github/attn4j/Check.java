package io.github.attn4j;

import java.util.Arrays;

/** Argument checks that produce the library's error messages: the argument, expected, actual. */
public final class Check {
    private Check() {}

    /** Throws {@code IllegalArgumentException("name: expected ..., got ...")} unless {@code ok}. */
    public static void arg(boolean ok, String name, Object expected, Object actual) {
        if (!ok) {
            throw new IllegalArgumentException(name + ": expected " + str(expected) + ", got " + str(actual));
        }
    }

    /** Checks that {@code value} equals {@code expected}. */
    public static void eq(String name, long expected, long value) {
        arg(expected == value, name, expected, value);
    }

    /** Checks {@code value >= min}. */
    public static void atLeast(String name, long min, long value) {
        arg(value >= min, name, ">= " + min, value);
    }

    /** Checks that a tensor argument is present. */
    public static <T> T notNull(String name, T value) {
        if (value == null) {
            throw new IllegalArgumentException(name + ": expected a tensor, got null");
        }
        return value;
    }

    static String str(Object o) {
        if (o instanceof int[] a) {
            return Arrays.toString(a);
        }
        if (o instanceof long[] a) {
            return Arrays.toString(a);
        }
        return String.valueOf(o);
    }
}
