package io.github.attn4j.nativetests;

import io.github.attn4j.Attn4j;
import io.github.attn4j.Backend;
import io.github.attn4j.BackendProvider;
import io.github.attn4j.DeviceInfo;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Whether a backend's suite must run. An unavailable backend skips its tests with the reason
 * (JUnit assumptions), unless the system property {@code attn4j.require} (a comma-separated list
 * of backend names, e.g. {@code opencl,cuda}) names it: then its absence is a failure. CI on a GPU
 * machine sets it so that a broken driver cannot pass as "skipped".
 */
public final class Requirement {
    private Requirement() {}

    /** The names listed in {@code -Dattn4j.require}, lower case. */
    public static List<String> required() {
        String p = System.getProperty("attn4j.require", "");
        return Arrays.stream(p.split(",")).map(s -> s.trim().toLowerCase(Locale.ROOT)).filter(s -> !s.isEmpty()).toList();
    }

    /** True when {@code -Dattn4j.require} names this backend. */
    public static boolean isRequired(String backend) {
        String name = backend.contains(":") ? backend.substring(0, backend.indexOf(':')) : backend;
        return required().contains(name.toLowerCase(Locale.ROOT));
    }

    /**
     * Why {@code spec} ("opencl", "cuda:1") cannot be opened, or null when it can. Never throws.
     */
    public static String unavailableReason(String spec) {
        String name = spec.contains(":") ? spec.substring(0, spec.indexOf(':')) : spec;
        int index = spec.contains(":") ? Integer.parseInt(spec.substring(spec.indexOf(':') + 1)) : -1;
        BackendProvider p;
        try {
            p = Attn4j.provider(name);
        } catch (IllegalArgumentException e) {
            return "no provider named '" + name + "' on the class path (" + e.getMessage() + ")";
        }
        List<DeviceInfo> devs;
        try {
            devs = p.devices();
        } catch (RuntimeException | LinkageError e) {
            return name + ".devices() threw " + e;
        }
        StringBuilder why = new StringBuilder();
        for (DeviceInfo d : devs) {
            if (d.available() && (index < 0 || d.index() == index)) {
                return null;
            }
            if (!d.available()) {
                why.append(why.length() == 0 ? "" : "; ").append(d.id()).append(": ").append(d.reason());
            }
        }
        return why.length() == 0 ? spec + ": no such device" : why.toString();
    }

    /**
     * Opens the backend, or skips the calling test with the reason (fails it when required).
     */
    public static Backend open(String spec) {
        String why = unavailableReason(spec);
        if (why != null) {
            if (isRequired(spec)) {
                Assertions.fail(spec + " is required (-Dattn4j.require=" + System.getProperty("attn4j.require")
                        + ") but unavailable: " + why);
            }
            Assumptions.abort(spec + " is unavailable: " + why);
        }
        try {
            return Attn4j.open(spec);
        } catch (RuntimeException | LinkageError e) {
            if (isRequired(spec)) {
                throw new AssertionError(spec + " is required but failed to open: " + e, e);
            }
            Assumptions.abort(spec + " failed to open: " + e);
            throw new AssertionError("unreachable");
        }
    }
}
