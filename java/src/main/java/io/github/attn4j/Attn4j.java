package io.github.attn4j;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The entry point: finds backends, reports devices, opens one.
 *
 * <pre>{@code
 * try (Backend gpu = Attn4j.open()) {              // best available: cuda > opencl > cpu
 *     SdpaParams p = SdpaParams.builder(q, k, v, o).causal().build();
 *     gpu.sdpa(p);
 * }
 * }</pre>
 *
 * <p>{@code -Dattn4j.backend=NAME} or the environment variable {@code ATTN4J_BACKEND} (a name such as
 * {@code opencl} or {@code cuda:1}) overrides the choice of {@link #open()}.
 */
public final class Attn4j {
    private Attn4j() {}

    /** The logger of the {@code io.github.attn4j} package. */
    static final System.Logger LOG = System.getLogger("io.github.attn4j");

    /** Set once the fallback to the reference has been logged: one warning per process. */
    private static final AtomicBoolean REFERENCE_WARNED = new AtomicBoolean();

    /** Every backend provider on the class path, best rank first. */
    public static List<BackendProvider> providers() {
        List<BackendProvider> l = new ArrayList<>();
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class, Attn4j.class.getClassLoader())) {
            l.add(p);
        }
        l.sort(Comparator.comparingInt(BackendProvider::rank).reversed());
        return l;
    }

    /** The provider of that name, or an {@link IllegalArgumentException} listing the known ones. */
    public static BackendProvider provider(String name) {
        List<String> names = new ArrayList<>();
        for (BackendProvider p : providers()) {
            if (p.name().equalsIgnoreCase(name)) {
                return p;
            }
            names.add(p.name());
        }
        throw new IllegalArgumentException("backend: expected one of " + names + ", got '" + name + "'");
    }

    /** Every device of every backend, with reasons for the unavailable ones. Never throws. */
    public static List<DeviceInfo> devices() {
        List<DeviceInfo> l = new ArrayList<>();
        for (BackendProvider p : providers()) {
            try {
                l.addAll(p.devices());
            } catch (RuntimeException | LinkageError e) {
                l.add(DeviceInfo.unavailable(p.name(), e.toString()));
            }
        }
        return l;
    }

    /** The devices report as text, one line per device. */
    public static String devicesReport() {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "%-10s %-5s %-40s %s%n", "BACKEND", "INDEX", "DEVICE", "STATUS"));
        for (DeviceInfo d : devices()) {
            s.append(String.format(Locale.ROOT, "%-10s %-5s %-40s %s%n", d.backend(), d.index() < 0 ? "-" : d.index(),
                    d.name(), d.available() ? "available" : "unavailable: " + d.reason()));
            d.details().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                    .forEach(e -> s.append(String.format(Locale.ROOT, "%-10s %-5s   %s = %s%n", "", "", e.getKey(), e.getValue())));
        }
        return s.toString();
    }

    /** The backend chosen by property/env, else the first available device of the best backend. */
    public static Backend open() {
        String forced = System.getProperty("attn4j.backend");
        if (forced == null || forced.isBlank()) {
            forced = System.getenv("ATTN4J_BACKEND");
        }
        if (forced != null && !forced.isBlank()) {
            return open(forced.trim());
        }
        List<String> why = new ArrayList<>();
        for (BackendProvider p : providers()) {
            for (DeviceInfo d : safeDevices(p)) {
                if (d.available()) {
                    Backend b = p.open(d.index());
                    if (b.name().equals("cpu")) {
                        warnReferenceFallback(LOG, REFERENCE_WARNED, why);
                    }
                    return b;
                }
                why.add(p.name() + ": " + d.reason());
            }
        }
        throw new BackendException("no backend is available: " + String.join("; ", why));
    }

    /**
     * Logs, once per {@code once} flag, the WARNING that {@link #open()} fell back to the float64
     * reference: a correctness oracle, not a compute backend. {@code why} holds the reasons the device
     * backends are unavailable. Returns whether it logged.
     */
    static boolean warnReferenceFallback(System.Logger log, AtomicBoolean once, List<String> why) {
        if (!once.compareAndSet(false, true)) {
            return false;
        }
        log.log(System.Logger.Level.WARNING, referenceFallbackMessage(why));
        return true;
    }

    static String referenceFallbackMessage(List<String> why) {
        return "attn4j: no device backend is available"
                + (why.isEmpty() ? "" : " (" + String.join("; ", why) + ")")
                + "; using the float64 reference 'cpu', a correctness oracle about 1000x slower than a device"
                + " backend. For OpenCL on the CPU: apt-get install pocl-opencl-icd ocl-icd-libopencl1"
                + " (Debian/Ubuntu); for CUDA: the NVIDIA driver. -Dattn4j.backend=cpu chooses it without this warning.";
    }

    /** Opens {@code name} or {@code name:index} ("cpu", "opencl", "cuda:1"). */
    public static Backend open(String spec) {
        String name = spec;
        int index = 0;
        int colon = spec.indexOf(':');
        if (colon >= 0) {
            name = spec.substring(0, colon);
            try {
                index = Integer.parseInt(spec.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("backend: expected NAME or NAME:INDEX, got '" + spec + "'");
            }
        }
        BackendProvider p = provider(name);
        for (DeviceInfo d : safeDevices(p)) {
            if (d.index() == index) {
                if (!d.available()) {
                    throw new BackendException(d.id() + " is unavailable: " + d.reason());
                }
                return p.open(index);
            }
            if (!d.available() && d.index() < 0) {
                throw new BackendException(p.name() + " is unavailable: " + d.reason());
            }
        }
        throw new IllegalArgumentException("backend: " + p.name() + " has no device " + index);
    }

    private static List<DeviceInfo> safeDevices(BackendProvider p) {
        try {
            return p.devices();
        } catch (RuntimeException | LinkageError e) {
            return List.of(DeviceInfo.unavailable(p.name(), e.toString()));
        }
    }
}
