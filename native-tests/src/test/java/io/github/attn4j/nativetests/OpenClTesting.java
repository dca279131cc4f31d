package io.github.attn4j.nativetests;

import io.github.attn4j.Backend;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;

/**
 * Opening the OpenCL device in the OpenCL-specific tests (through {@link Requirement}). Without a device every test is reported skipped with the
 * reason, unless {@code -Dattn4j.require=opencl} (CI), which turns that into a failure.
 */
final class OpenClTesting {
    private OpenClTesting() {}

    private static String reason = "";

    /** The backend on OpenCL device 0, or null (then {@link #assumeDevice} skips); fails when required. */
    static Backend openOrNull() {
        String why = Requirement.unavailableReason("opencl:0");
        if (why != null && !Requirement.isRequired("opencl")) {
            reason = "opencl is unavailable: " + why;
            return null;
        }
        return Requirement.open("opencl:0");
    }

    /** Skips the calling test, with the reason, when there is no device. */
    static void assumeDevice(Backend b) {
        Assumptions.assumeTrue(b != null, () -> reason);
    }

    /** A test factory's stream, or one skipped test carrying the reason when there is no device. */
    static Stream<DynamicTest> orSkip(Backend b, java.util.function.Supplier<Stream<DynamicTest>> tests) {
        if (b == null) {
            return Stream.of(DynamicTest.dynamicTest("OpenCL unavailable", () -> Assumptions.abort(reason)));
        }
        return tests.get();
    }
}
