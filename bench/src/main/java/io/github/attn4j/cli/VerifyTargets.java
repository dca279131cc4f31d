package io.github.attn4j.cli;

import io.github.attn4j.DeviceInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What {@code verify} runs, decided from the devices report alone (a pure function, no native call):
 * the backend specs to run, the devices that are unavailable and why, and which of three outcomes
 * this is.
 *
 * <ul>
 *   <li>{@link Kind#DEVICES}: at least one device backend runs; the reference {@code cpu} is skipped
 *       when there is one, because it is what every backend is compared with.
 *   <li>{@link Kind#SELF_CHECK}: {@code --backend cpu}, asked for: the reference against itself. It
 *       tests the harness only and says so; it exits 0 when every case passes.
 *   <li>{@link Kind#NO_DEVICE}: no device backend is available (or the one named has none). Nothing is
 *       run and {@code verify} exits {@link Cli#NO_DEVICE} with the reasons and {@link #INSTALL_HINTS}.
 * </ul>
 */
record VerifyTargets(Kind kind, List<String> specs, List<DeviceInfo> unavailable) {
    enum Kind { DEVICES, SELF_CHECK, NO_DEVICE }

    /** How to get a device backend, one line each. */
    static final List<String> INSTALL_HINTS = List.of(
            "CPU, Debian/Ubuntu: sudo apt-get install pocl-opencl-icd ocl-icd-libopencl1  (OpenCL on the CPU through PoCL)",
            "NVIDIA GPU:         the NVIDIA driver (libcuda.so.1) for --backend cuda; it brings an OpenCL driver too",
            "AMD or Intel GPU:   the vendor's OpenCL driver (an ICD under /etc/OpenCL/vendors)");

    VerifyTargets {
        specs = List.copyOf(specs);
        unavailable = List.copyOf(unavailable);
    }

    /**
     * The targets for {@code --backend backend} (null: every available device backend) given the
     * devices report {@code devices}.
     */
    static VerifyTargets choose(String backend, List<DeviceInfo> devices) {
        if (backend != null) {
            String name = backend.contains(":") ? backend.substring(0, backend.indexOf(':')) : backend;
            name = name.trim().toLowerCase(Locale.ROOT);
            if (name.equals("cpu")) {
                return new VerifyTargets(Kind.SELF_CHECK, List.of(backend), List.of());
            }
            List<DeviceInfo> own = new ArrayList<>();
            for (DeviceInfo d : devices) {
                if (d.backend().equalsIgnoreCase(name)) {
                    own.add(d);
                }
            }
            if (!own.isEmpty() && own.stream().noneMatch(DeviceInfo::available)) {
                return new VerifyTargets(Kind.NO_DEVICE, List.of(), own);
            }
            // Available, or a name no provider has: opening it gives the precise error.
            return new VerifyTargets(Kind.DEVICES, List.of(backend), List.of());
        }
        List<String> run = new ArrayList<>();
        List<DeviceInfo> missing = new ArrayList<>();
        for (DeviceInfo d : devices) {
            if (d.backend().equals("cpu")) {
                continue;
            }
            if (d.available()) {
                run.add(d.id());
            } else {
                missing.add(d);
            }
        }
        return new VerifyTargets(run.isEmpty() ? Kind.NO_DEVICE : Kind.DEVICES, run, missing);
    }

    /** The report printed for {@link Kind#NO_DEVICE}, ending with the status line; lines end in '\n'. */
    String noDeviceReport(String backend) {
        StringBuilder s = new StringBuilder();
        s.append(backend == null
                ? "verify: no device backend is available here; only the float64 reference (cpu) is present.\n"
                : "verify: backend " + backend + " has no available device.\n");
        for (DeviceInfo d : unavailable) {
            s.append(String.format(Locale.ROOT, "  %-8s unavailable: %s\n", d.id(), d.reason()));
        }
        s.append("Nothing was verified: every backend is checked against the float64 reference, and there is no\n"
                + "device backend here to check. ('verify --backend cpu' checks the reference against itself, which tests\n"
                + "the harness only.)\n");
        s.append("To get a device backend:\n");
        INSTALL_HINTS.forEach(h -> s.append("  ").append(h).append('\n'));
        s.append("then 'attn4j devices' lists what it finds.\n");
        s.append("verify: NO DEVICE, nothing verified (exit ").append(Cli.NO_DEVICE).append(")\n");
        return s.toString();
    }
}
