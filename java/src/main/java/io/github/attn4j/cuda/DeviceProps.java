package io.github.attn4j.cuda;

/**
 * The device facts that plans depend on: compute capability, multiprocessors, shared memory per
 * block (default and opt-in), memory. Plain data, so that plans are testable without a GPU.
 */
public record DeviceProps(String name, int ccMajor, int ccMinor, int multiprocessors, int smemPerBlock, int smemPerBlockOptin,
        long totalMemory) {
    /** An sm_90 device like an H100, for tests. */
    static DeviceProps h100() {
        return new DeviceProps("NVIDIA H100 80GB HBM3", 9, 0, 132, 48 * 1024, 227 * 1024, 80L << 30);
    }

    /** An sm_75 device (T4), the smallest the fatbin targets, for tests. */
    static DeviceProps t4() {
        return new DeviceProps("Tesla T4", 7, 5, 40, 48 * 1024, 64 * 1024, 16L << 30);
    }

    public String cc() {
        return ccMajor + "." + ccMinor;
    }
}
