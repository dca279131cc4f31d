package io.github.attn4j.testing;

import io.github.attn4j.DType;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.IntPredicate;

/**
 * Compares one output of a backend with the float64 reference (STYLE.md, "Tests as data"):
 * <ol>
 *   <li>a NaN where the reference has none fails, and so does a number where the reference has NaN;
 *   <li>an infinity must match the reference's in sign (and a finite reference needs a finite value);
 *   <li>over the remaining elements NMSE = {@code sum (a-b)^2 / sum b^2} is checked against
 *       {@link Tolerances} (F32), or the FlashAttention rule against a naive implementation in the
 *       same precision (F16, BF16). The max abs error is reported as well.
 * </ol>
 */
public final class Comparator {
    private Comparator() {}

    /** The outcome for one output. {@code limit} is the NMSE bound used. */
    public record Result(String output, boolean pass, double nmse, double maxAbs, double limit, String message) {
        /** nmse / limit: which output is worst. */
        public double ratio() {
            return limit > 0 ? nmse / limit : (nmse == 0 ? 0 : Double.POSITIVE_INFINITY);
        }
    }

    /**
     * Compares {@code actual} (row-major in the output's logical {@code shape}) with {@code expected}.
     *
     * @param naive     for F16/BF16 storage: the naive low-precision result, else null (F32 threshold)
     * @param storage   the output's storage dtype
     * @param nmseF32   the F32 threshold ({@link Tolerances#nmseF32})
     * @param poisoned  which elements still hold the poison pattern (for the message), may be null
     */
    public static Result compare(String output, int[] shape, double[] expected, float[] actual, double[] naive,
            DType storage, double nmseF32, IntPredicate poisoned) {
        if (expected.length != actual.length) {
            throw new IllegalArgumentException("actual.length: expected " + expected.length + ", got " + actual.length);
        }
        double num = 0, den = 0, maxAbs = 0, maxRef = 0;
        double nNum = 0, nMax = 0;
        int bad = 0;
        String first = null;
        for (int k = 0; k < expected.length; k++) {
            double e = expected[k];
            double a = actual[k];
            String why = null;
            if (Double.isNaN(e) != Double.isNaN(a)) {
                why = Double.isNaN(e) ? "expected NaN (a NaN input reaches it), got " + a
                        : "NaN where the reference is " + e + (poisoned != null && poisoned.test(k)
                                ? " (still the poison pattern: never written)" : "");
            } else if (!Double.isNaN(e) && (Double.isInfinite(e) || Double.isInfinite(a)) && e != a) {
                why = "expected " + e + ", got " + a;
            }
            if (why != null) {
                if (bad++ == 0) {
                    first = output + position(shape, k) + ": " + why;
                }
                continue;
            }
            if (Double.isNaN(e) || Double.isInfinite(e)) {
                continue;
            }
            double d = a - e;
            num += d * d;
            den += e * e;
            maxAbs = Math.max(maxAbs, Math.abs(d));
            maxRef = Math.max(maxRef, Math.abs(e));
            if (naive != null && Double.isFinite(naive[k])) {
                double dn = naive[k] - e;
                nNum += dn * dn;
                nMax = Math.max(nMax, Math.abs(dn));
            }
        }
        double nmse = nmse(num, den);
        if (bad > 0) {
            return new Result(output, false, nmse, maxAbs, 0, first + (bad > 1 ? " (and " + (bad - 1) + " more)" : ""));
        }
        if (naive == null || storage == DType.F32) {
            boolean ok = nmse <= nmseF32;
            return new Result(output, ok, nmse, maxAbs, nmseF32, ok ? "" : String.format(Locale.ROOT,
                    "%s: NMSE %.3e above the threshold %.1e (max abs err %.3e)", output, nmse, nmseF32, maxAbs));
        }
        double u = Tolerances.unitRoundoff(storage);
        double f = Tolerances.HALF_ERROR_FACTOR;
        double nmseLimit = f * f * nmse(nNum, den) + u * u;
        double absLimit = f * nMax + u * maxRef;
        boolean ok = nmse <= nmseLimit && maxAbs <= absLimit;
        return new Result(output, ok, nmse, maxAbs, nmseLimit, ok ? "" : String.format(Locale.ROOT,
                "%s: error above 2x the naive %s implementation's: NMSE %.3e (limit %.3e), max abs %.3e (limit %.3e)",
                output, storage.name().toLowerCase(Locale.ROOT), nmse, nmseLimit, maxAbs, absLimit));
    }

    private static double nmse(double num, double den) {
        if (den == 0) {
            return num == 0 ? 0 : Double.POSITIVE_INFINITY;
        }
        return num / den;
    }

    /** {@code [i, j, ...]} of a row-major flat index. */
    static String position(int[] shape, long flat) {
        int[] idx = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = (int) (flat % shape[d]);
            flat /= shape[d];
        }
        return Arrays.toString(idx);
    }
}
