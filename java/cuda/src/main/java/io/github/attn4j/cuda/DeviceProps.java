package io.github.attn4j.cuda;

/**
 * The device facts that plans depend on, read once from {@code cuDeviceGetAttribute} when the
 * backend opens. Plain data, so that plans are testable without a GPU.
 *
 * @param smemPerBlock      default dynamic shared memory limit per block
 * @param smemPerBlockOptin opt-in shared memory limit per block
 * @param smemPerSm         shared memory per multiprocessor
 * @param maxThreadsPerBlock threads per block
 * @param maxThreadsPerSm   resident threads per multiprocessor
 * @param registersPerSm    32-bit registers per multiprocessor
 */
public record DeviceProps(String name, int ccMajor, int ccMinor, int multiprocessors, int smemPerBlock,
        int smemPerBlockOptin, int smemPerSm, int maxThreadsPerBlock, int maxThreadsPerSm, int registersPerSm,
        long totalMemory) {
    /**
     * Checks that every count and limit is positive.
     *
     * @throws IllegalArgumentException naming the values otherwise
     */
    public DeviceProps {
        if (multiprocessors < 1 || smemPerBlockOptin < 1 || smemPerSm < 1 || maxThreadsPerBlock < 1
                || maxThreadsPerSm < 1 || registersPerSm < 1) {
            throw new IllegalArgumentException("device properties: expected positive counts, got multiprocessors="
                    + multiprocessors + ", smemPerBlockOptin=" + smemPerBlockOptin + ", smemPerSm=" + smemPerSm
                    + ", maxThreadsPerBlock=" + maxThreadsPerBlock + ", maxThreadsPerSm=" + maxThreadsPerSm
                    + ", registersPerSm=" + registersPerSm);
        }
    }

    /** An sm_90 device like an H100 SXM (132 SMs, 227 KiB per block, 228 KiB per SM), for tests. */
    static DeviceProps h100() {
        return new DeviceProps("NVIDIA H100 80GB HBM3", 9, 0, 132, 48 * 1024, 232448, 233472, 1024, 2048, 65536, 80L << 30);
    }

    /** An A100 SXM4 (108 SMs, sm_80, 163 KiB per block, 164 KiB per SM), for tests. */
    static DeviceProps a100() {
        return new DeviceProps("NVIDIA A100-SXM4-80GB", 8, 0, 108, 48 * 1024, 166912, 167936, 1024, 2048, 65536, 80L << 30);
    }

    /** An RTX 4090 (128 SMs, sm_89, 99 KiB per block, 100 KiB per SM, 1536 threads per SM), for tests. */
    static DeviceProps rtx4090() {
        return new DeviceProps("NVIDIA GeForce RTX 4090", 8, 9, 128, 48 * 1024, 101376, 102400, 1024, 1536, 65536, 24L << 30);
    }

    /** An sm_75 device (T4), the smallest the fatbin targets, for tests. */
    static DeviceProps t4() {
        return new DeviceProps("Tesla T4", 7, 5, 40, 48 * 1024, 64 * 1024, 65536, 1024, 1024, 65536, 16L << 30);
    }

    /** The compute capability, {@code "major.minor"}. */
    public String cc() {
        return ccMajor + "." + ccMinor;
    }

    /** {@code major * 10 + minor}, e.g. 90. */
    public int sm() {
        return ccMajor * 10 + ccMinor;
    }
}
