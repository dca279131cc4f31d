package io.github.attn4j.nativetests;

import static org.junit.jupiter.api.Assertions.fail;

import io.github.attn4j.Attn4j;
import io.github.attn4j.Backend;
import io.github.attn4j.DeviceInfo;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/** Opening the OpenCL device in tests: skip with the reason, or fail under -Dattn4j.require=opencl. */
final class OpenClTesting {
    private OpenClTesting() {}

    static boolean required() {
        String r = System.getProperty("attn4j.require", "");
        return List.of(r.split(",")).contains("opencl");
    }

    static Backend openOrSkip() {
        List<DeviceInfo> ds = Attn4j.provider("opencl").devices();
        DeviceInfo d = ds.get(0);
        if (!d.available()) {
            if (required()) {
                fail("-Dattn4j.require=opencl, but OpenCL is unavailable: " + d.reason());
            }
            Assumptions.abort("no OpenCL device: " + d.reason());
        }
        return Attn4j.open("opencl:" + d.index());
    }
}
