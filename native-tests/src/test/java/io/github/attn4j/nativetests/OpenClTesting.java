package io.github.attn4j.nativetests;

import static org.junit.jupiter.api.Assertions.fail;

import io.github.attn4j.Attn4j;
import io.github.attn4j.Backend;
import io.github.attn4j.DeviceInfo;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;

/**
 * Opening the OpenCL device in tests. Without a device every test is reported skipped with the
 * reason, unless {@code -Dattn4j.require=opencl} (CI), which turns that into a failure.
 */
final class OpenClTesting {
    private OpenClTesting() {}

    private static String reason = "";

    static boolean required() {
        String r = System.getProperty("attn4j.require", "");
        return List.of(r.split(",")).contains("opencl");
    }

    /** The backend on the first OpenCL device, or null (then {@link #assumeDevice} skips). */
    static Backend openOrNull() {
        List<DeviceInfo> ds = Attn4j.provider("opencl").devices();
        DeviceInfo d = ds.get(0);
        if (!d.available()) {
            if (required()) {
                fail("-Dattn4j.require=opencl, but OpenCL is unavailable: " + d.reason());
            }
            reason = "no OpenCL device: " + d.reason();
            return null;
        }
        return Attn4j.open("opencl:" + d.index());
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
