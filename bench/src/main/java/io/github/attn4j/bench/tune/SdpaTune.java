package io.github.attn4j.bench.tune;

import io.github.attn4j.Attn4j;
import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Scope;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * SDPA throughput sweep for tuning a backend's kernels: [B, H, S, D] with S from the arguments,
 * causal and not, device buffers allocated and filled once, each timing = one op + synchronize.
 * Prints, per shape, the best and the median of {@code reps} timings as GFLOP/s with
 * FLOPs = 4 B H S^2 D (half for causal), and FLOPs per second of process CPU time ("GF/cpu-s": the
 * per-core rate, which stays meaningful when other processes share the cores; a device that
 * spin-waits makes it pessimistic).
 *
 * <pre>
 * java -cp ... io.github.attn4j.bench.tune.SdpaTune [backend=opencl] [b=1] [h=8] [d=64] [reps=5]
 *      [dtype=F32] [s=512,1024,2048,4096]
 * </pre>
 * Kernel tile overrides for OpenCL go through {@code -Dattn4j.opencl.tune=...}.
 */
public final class SdpaTune {
    private SdpaTune() {}

    public static void main(String[] args) {
        String backendName = "opencl";
        int b = 1, h = 8, d = 64, reps = 5;
        DType dt = DType.F32;
        int[] seqs = {512, 1024, 2048, 4096};
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "backend" -> backendName = kv[1];
                case "b" -> b = Integer.parseInt(kv[1]);
                case "h" -> h = Integer.parseInt(kv[1]);
                case "d" -> d = Integer.parseInt(kv[1]);
                case "reps" -> reps = Integer.parseInt(kv[1]);
                case "dtype" -> dt = DType.valueOf(kv[1].toUpperCase(Locale.ROOT));
                case "s" -> seqs = Arrays.stream(kv[1].split(",")).mapToInt(Integer::parseInt).toArray();
                default -> throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        try (Backend be = Attn4j.open(backendName); Scope scope = be.newScope()) {
            System.out.printf(Locale.ROOT, "# %s, [%d, %d, S, %d] %s, %d reps, tune=%s%n", be.device().name(), b, h, d, dt,
                    reps, System.getProperty("attn4j.opencl.tune", "default"));
            System.out.printf(Locale.ROOT, "%6s %7s %12s %12s %12s %12s  %s%n", "S", "causal", "best ms", "best GF/s",
                    "median GF/s", "GF/cpu-s", "variant");
            com.sun.management.OperatingSystemMXBean os =
                    (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            SplittableRandom rnd = new SplittableRandom(1);
            for (int s : seqs) {
                Tensor q = fill(scope, dt, rnd, b, h, s, d);
                Tensor k = fill(scope, dt, rnd, b, h, s, d);
                Tensor v = fill(scope, dt, rnd, b, h, s, d);
                Tensor o = scope.allocate(dt, b, h, s, d);
                for (boolean causal : new boolean[] {false, true}) {
                    SdpaParams.Builder pb = SdpaParams.builder(q, k, v, o);
                    if (causal) {
                        pb.causal();
                    }
                    SdpaParams p = pb.build();
                    scope.run(p); // build + warm up
                    scope.synchronize();
                    double[] ms = new double[reps];
                    double bestCpu = Double.MAX_VALUE;
                    for (int r = 0; r < reps; r++) {
                        long c0 = os.getProcessCpuTime();
                        long t0 = System.nanoTime();
                        scope.run(p);
                        scope.synchronize();
                        ms[r] = (System.nanoTime() - t0) / 1e6;
                        bestCpu = Math.min(bestCpu, (os.getProcessCpuTime() - c0) / 1e9);
                    }
                    Arrays.sort(ms);
                    double flops = 4.0 * b * h * (double) s * s * d * (causal ? 0.5 : 1.0);
                    System.out.printf(Locale.ROOT, "%6d %7s %12.2f %12.1f %12.1f %12.1f  %s%n", s, causal, ms[0],
                            flops / ms[0] / 1e6, flops / ms[reps / 2] / 1e6, flops / bestCpu / 1e9,
                            be.supports(p).variant());
                }
            }
        }
    }

    private static Tensor fill(Scope scope, DType dt, SplittableRandom r, int... shape) {
        int n = Math.toIntExact(Tensor.numel(shape));
        Tensor host;
        if (dt == DType.F32) {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) {
                a[i] = (float) (r.nextDouble() * 2 - 1);
            }
            host = Tensor.of(a, shape);
        } else {
            short[] a = new short[n];
            for (int i = 0; i < n; i++) {
                float f = (float) (r.nextDouble() * 2 - 1);
                a[i] = dt == DType.F16 ? io.github.attn4j.Half.floatToF16(f) : io.github.attn4j.Half.floatToBf16(f);
            }
            host = Tensor.ofHalf(dt, a, shape);
        }
        return scope.upload(host);
    }
}
