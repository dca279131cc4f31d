package io.github.attn4j.bench;

/**
 * One row of the results: one implementation on one shape and dtype. Rows that did not run carry
 * {@code status} "skipped" or "failed" and the {@code reason}; their numbers are NaN (empty in CSV).
 *
 * @param impl        "attn4j-opencl", "attn4j-cpu", "torch-flash", "nd4j", ...
 * @param backend     backend or framework ("opencl", "cuda", "torch", ...)
 * @param device      the device's name
 * @param timing      how the time was taken ("wall+sync", "cuda-events", "opencl-events")
 * @param copyGbps    the device-to-device copy ceiling measured in the same run (GB/s, read+write)
 * @param gemmTflops  the GEMM ceiling measured in the same run, NaN when not measurable
 * @param peakBytes   device memory of the op's tensors plus the backend's workspace (-1 unknown)
 */
public record Result(String impl, String backend, String device, Shape shape, String dtype, String status,
        double msMedian, double msMin, double msMax, int runs, double tflops, double gbps, double copyGbps,
        double gemmTflops, long peakBytes, String timing, String reason) {

    public static final String OK = "ok";
    public static final String SKIPPED = "skipped";
    public static final String FAILED = "failed";

    /**
     * The marker in the {@code reason} column of a backward point ({@code sdpa_bwd}, {@code softmax_bwd},
     * {@code additive_bwd}) whose timed call runs the forward too (a peer's autograd step: forward,
     * then backward from a given upstream gradient). {@link Report#ratios} compares such a point with
     * attn4j's forward plus backward time, never with attn4j's backward alone.
     */
    public static final String FWD_BWD = "timed fwd+bwd";

    public boolean ok() {
        return OK.equals(status);
    }

    /** True when this backward point's time includes its forward ({@link #FWD_BWD} in the reason). */
    public boolean forwardIncluded() {
        return reason != null && reason.contains(FWD_BWD);
    }

    /** Achieved bandwidth over the measured copy ceiling. */
    public double fracCopy() {
        return gbps / copyGbps;
    }

    /** Achieved TFLOP/s over the measured GEMM ceiling. */
    public double fracGemm() {
        return tflops / gemmTflops;
    }

    /** A row for a point that ran: derives TFLOP/s and GB/s from the shape's formulas. */
    public static Result measured(String impl, String backend, String device, Shape shape, String dtype, double[] ms,
            double copyGbps, double gemmTflops, long peakBytes, String timing, String note) {
        Stats st = Stats.of(ms);
        double sec = st.median() / 1e3;
        double tf = shape.flops() > 0 ? shape.flops() / sec / 1e12 : Double.NaN;
        double gb = shape.bytes(Workload.elementBytes(dtype)) / sec / 1e9;
        return new Result(impl, backend, device, shape, dtype, OK, st.median(), st.min(), st.max(), ms.length, tf, gb,
                copyGbps, gemmTflops, peakBytes, timing, note == null ? "" : note);
    }

    public static Result notRun(String impl, String backend, String device, Shape shape, String dtype, String status,
            String reason) {
        return new Result(impl, backend, device, shape, dtype, status, Double.NaN, Double.NaN, Double.NaN, 0, Double.NaN,
                Double.NaN, Double.NaN, Double.NaN, -1, "", reason);
    }

    /** Median, min and max of timings. */
    public record Stats(double median, double min, double max) {
        public static Stats of(double[] v) {
            if (v.length == 0) {
                throw new IllegalArgumentException("timings: expected at least one, got 0");
            }
            double[] s = v.clone();
            java.util.Arrays.sort(s);
            int n = s.length;
            double med = n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
            return new Stats(med, s[0], s[n - 1]);
        }
    }
}
