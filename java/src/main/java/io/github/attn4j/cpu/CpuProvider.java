package io.github.attn4j.cpu;

import io.github.attn4j.Backend;
import io.github.attn4j.BackendProvider;
import io.github.attn4j.DeviceInfo;
import java.util.List;

/** ServiceLoader provider of the float64 reference backend; always available, lowest rank. */
public final class CpuProvider implements BackendProvider {
    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int rank() {
        return 100;
    }

    @Override
    public List<DeviceInfo> devices() {
        return List.of(CpuBackend.DEVICE);
    }

    @Override
    public Backend open(int deviceIndex) {
        io.github.attn4j.Check.eq("deviceIndex", 0, deviceIndex);
        return new CpuBackend();
    }
}
