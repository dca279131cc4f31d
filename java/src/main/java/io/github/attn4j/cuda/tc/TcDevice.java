package io.github.attn4j.cuda.tc;

/**
 * The device properties the tensor-core launch plan depends on (read from
 * {@code cuDeviceGetAttribute} by the backend; tests use fixed values).
 *
 * @param smCount multiprocessors ({@code CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT})
 * @param ccMajor compute capability major
 * @param ccMinor compute capability minor
 * @param sharedPerBlockOptin max dynamic shared memory per block after opt-in
 *     ({@code MAX_SHARED_MEMORY_PER_BLOCK_OPTIN})
 * @param sharedPerSm shared memory per multiprocessor ({@code MAX_SHARED_MEMORY_PER_MULTIPROCESSOR})
 * @param maxThreadsPerBlock {@code MAX_THREADS_PER_BLOCK}
 * @param maxThreadsPerSm {@code MAX_THREADS_PER_MULTIPROCESSOR}
 * @param registersPerSm {@code MAX_REGISTERS_PER_MULTIPROCESSOR} (65536 on sm_80 to sm_90)
 */
public record TcDevice(int smCount, int ccMajor, int ccMinor, int sharedPerBlockOptin, int sharedPerSm,
        int maxThreadsPerBlock, int maxThreadsPerSm, int registersPerSm) {

    /** H100 SXM5 (132 SMs, sm_90, 227 KiB per block, 228 KiB per SM). */
    public static final TcDevice H100_SXM = new TcDevice(132, 9, 0, 232448, 233472, 1024, 2048, 65536);
    /** H200 (same SM configuration as H100 SXM). */
    public static final TcDevice H200 = new TcDevice(132, 9, 0, 232448, 233472, 1024, 2048, 65536);
    /** A100 SXM4 (108 SMs, sm_80, 163 KiB per block, 164 KiB per SM). */
    public static final TcDevice A100 = new TcDevice(108, 8, 0, 166912, 167936, 1024, 2048, 65536);
    /** RTX 4090 (128 SMs, sm_89, 99 KiB per block, 100 KiB per SM). */
    public static final TcDevice RTX_4090 = new TcDevice(128, 8, 9, 101376, 102400, 1024, 1536, 65536);
    /** T4 (40 SMs, sm_75): below the tensor-core path's sm_80 floor. */
    public static final TcDevice T4 = new TcDevice(40, 7, 5, 65536, 65536, 1024, 1024, 65536);

    public TcDevice {
        if (smCount < 1 || sharedPerBlockOptin < 1 || sharedPerSm < 1 || maxThreadsPerBlock < 1 || maxThreadsPerSm < 1
                || registersPerSm < 1) {
            throw new IllegalArgumentException("device properties: expected positive counts, got " + this0(smCount,
                    sharedPerBlockOptin, sharedPerSm, maxThreadsPerBlock, maxThreadsPerSm, registersPerSm));
        }
    }

    private static String this0(int... v) {
        return "[smCount, sharedPerBlockOptin, sharedPerSm, maxThreadsPerBlock, maxThreadsPerSm, registersPerSm] = "
                + java.util.Arrays.toString(v);
    }

    /** {@code major * 10 + minor}, e.g. 90. */
    public int sm() {
        return ccMajor * 10 + ccMinor;
    }

    /**
     * How many CTAs of {@code t} one SM holds, limited by shared memory (plus the 1 KiB the driver
     * reserves per CTA), threads and registers ({@code regsPerThread} rounded up to the allocation
     * unit of 8; the kernel's {@code __launch_bounds__(threads, 1)} allows up to 255). At least 1.
     */
    public int ctasPerSm(TcTraits t, int regsPerThread) {
        int bySmem = sharedPerSm / (t.sharedBytes() + 1024);
        int byThreads = maxThreadsPerSm / t.threads();
        int regs = (Math.max(1, regsPerThread) + 7) / 8 * 8;
        int byRegs = registersPerSm / (regs * t.threads());
        return Math.max(1, Math.min(bySmem, Math.min(byThreads, byRegs)));
    }
}
