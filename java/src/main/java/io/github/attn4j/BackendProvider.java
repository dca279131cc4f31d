package io.github.attn4j;

import java.util.List;

/**
 * The {@link java.util.ServiceLoader} entry point of a backend. {@link #devices()} is the
 * availability check: it must never throw and never crash the JVM, so implementations catch
 * {@link LinkageError} (a missing native library) and driver errors and report them as
 * unavailable devices with a reason.
 */
public interface BackendProvider {
    /** "cuda", "opencl" or "cpu". */
    String name();

    /** Higher ranks are preferred when no backend is named: cuda 300 > opencl 200 > cpu 100. */
    int rank();

    /** The devices this backend sees, or one unavailable entry with the reason. Never throws. */
    List<DeviceInfo> devices();

    /** Opens a device. Throws {@link BackendException} when it cannot. */
    Backend open(int deviceIndex);
}
