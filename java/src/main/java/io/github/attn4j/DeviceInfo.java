package io.github.attn4j;

import java.util.Map;

/**
 * One line of the {@code devices} report: a backend's device, or the reason a backend has none.
 * {@code details} holds facts such as memory size, compute capability or the GEMM provider.
 */
public record DeviceInfo(String backend, int index, String name, boolean available, String reason,
        Map<String, String> details) {
    /** Copies {@code details} (null = none) and turns a null reason into "". */
    public DeviceInfo {
        details = Map.copyOf(details == null ? Map.of() : details);
        reason = reason == null ? "" : reason;
    }

    /** An available device: its backend, index on that backend, name and details. */
    public static DeviceInfo available(String backend, int index, String name, Map<String, String> details) {
        return new DeviceInfo(backend, index, name, true, "", details);
    }

    /** A backend with no usable device, and why (driver missing, no device, ...). */
    public static DeviceInfo unavailable(String backend, String reason) {
        return new DeviceInfo(backend, -1, "-", false, reason, Map.of());
    }

    /** {@code backend:index}, the name {@link Attn4j#open(String)} takes. */
    public String id() {
        return index < 0 ? backend : backend + ":" + index;
    }
}
