package io.github.attn4j.bench;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Scope;
import io.github.attn4j.Tensor;

/**
 * The device ceilings measured in the same run as the ops, so that every figure can be given as a
 * fraction of what this device does right now.
 *
 * <ul>
 *   <li>Copy: a device-to-device {@link Scope#copy} between two large device tensors, timed like
 *       the ops (median of {@code iters} runs, at most {@link #MAX_COPY_RUNS}, after warm-up). GB/s counts
 *       the read and the write.</li>
 *   <li>GEMM: on CUDA, a cuBLAS GEMM in the run's dtype ({@link CublasGemmCeiling}); on the CPU, the
 *       f32 GEMM of a BLAS-backed CPU peer (ND4J) when {@code --peers} runs one. attn4j's own GEMM
 *       ({@code GemmParams}) is one of the timed ops, not a ceiling; elsewhere this is "n/a" with the
 *       reason, not a guess.</li>
 * </ul>
 *
 * @param copyGbps   NaN when the copy could not be measured
 * @param gemmTflops NaN when no GEMM could be measured
 */
public record Ceilings(double copyGbps, long copyBytes, String copyNote, double gemmTflops, String gemmNote) {

    /** The host-memory copy ceiling, for CPU peers: {@link System#arraycopy} of 64 MiB, median of {@code iters}. */
    public static double hostCopyGbps(int warmup, int iters, Timer timer) {
        int n = (64 << 20) / 4;
        float[] a = new float[n];
        float[] b = new float[n];
        java.util.Arrays.fill(a, 1f);
        double[] ms = timer.time(() -> { }, () -> System.arraycopy(a, 0, b, 0, n), warmup, iters);
        return 2.0 * 4 * n / (Result.Stats.of(ms).median() / 1e3) / 1e9;
    }

    /** The same ceilings with a GEMM figure measured elsewhere on the same device (a CPU BLAS). */
    public Ceilings withGemm(double tflops, String note) {
        return Double.isNaN(tflops) ? this : new Ceilings(copyGbps, copyBytes, copyNote, tflops, note);
    }

    /** The most timed copies of the ceiling: a 256 MiB copy takes about 20 ms on a CPU device, and
     *  {@code --iters 3000} (for a precise small op) would otherwise spend a minute copying. */
    static final int MAX_COPY_RUNS = 50;

    /** Timed copies for {@code --iters iters}: as many, at most {@link #MAX_COPY_RUNS}. */
    static int copyRuns(int iters) {
        return Math.min(iters, MAX_COPY_RUNS);
    }

    /** Copy size: 256 MiB per buffer on devices; 64 MiB on the cpu reference (host memory). */
    static long copyBytesFor(Backend b) {
        return b.name().equals("cpu") ? 64L << 20 : 256L << 20;
    }

    /** The copy ceiling, timed as the points are ({@link Timing#time}: the same warm-up, JIT wait included). */
    public static Ceilings measure(Backend backend, int warmup, int warmupMs, int warmupMaxMs, int iters) {
        long bytes = copyBytesFor(backend);
        double copy = Double.NaN;
        String note;
        try (Scope s = backend.newScope()) {
            int n = (int) (bytes / 4);
            Tensor a = s.allocate(DType.F32, n);
            Tensor b = s.allocate(DType.F32, n);
            // The source is written first: on a CPU device (PoCL) an untouched allocation reads as the
            // kernel's shared zero page, which stays in cache, and the "copy" would time the writes only
            // (measured on the 2-vCPU host: 50 GB/s with an unwritten source, about half that written).
            float[] fill = new float[n];
            java.util.Arrays.fill(fill, 1.5f);
            s.copy(Tensor.of(fill, n), a);
            s.synchronize();
            fill = null;
            // The warm-up copies also take the first-touch page faults of the destination.
            int runs = copyRuns(iters);
            Timing.Runs r = Timing.time(s, () -> s.copy(a, b), warmup, warmupMs, warmupMaxMs, runs);
            copy = 2.0 * bytes / (Result.Stats.of(r.ms()).median() / 1e3) / 1e9;
            note = String.format(java.util.Locale.ROOT, "device-to-device copy of %d MiB, %s, median of %d",
                    bytes >> 20, r.method(), runs);
        } catch (RuntimeException | OutOfMemoryError e) {
            note = "copy not measured: " + e;
        }
        return new Ceilings(copy, bytes, note, Double.NaN, backend.name().equals("cuda")
                ? "n/a: the cuBLAS GEMM could not be timed" : "n/a: no GEMM ceiling on " + backend.name()
                + " (attn4j's own GEMM is timed as an op, --shapes gemm; CPU peers under -Ppeers supply a CPU BLAS GEMM)");
    }
}
