package io.github.attn4j.testing;

import java.util.Locale;

/**
 * The outcome of one case on one backend. {@code nmse} and {@code maxAbs} are those of the output
 * closest to (or furthest over) its threshold; NaN when nothing was compared.
 */
public record CaseResult(Case testCase, String backend, Status status, double nmse, double maxAbs, String message,
        double seconds) {

    /** PASS, FAIL, or UNSUPPORTED (only when {@code backend.supports(params)} said no). */
    public enum Status {
        /** Every output within tolerance, guards intact. */
        PASS,
        /** A wrong output, a touched guard, or an exception. */
        FAIL,
        /** The backend said it cannot run the case. */
        UNSUPPORTED
    }

    /** True when the status is PASS. */
    public boolean passed() {
        return status == Status.PASS;
    }

    /** True when the status is FAIL. */
    public boolean failed() {
        return status == Status.FAIL;
    }

    /** One line: status, case, backend, NMSE, max abs, message. */
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%-11s %s on %s: nmse %.3e, max abs %.3e%s", status, testCase.name(), backend,
                nmse, maxAbs, message.isEmpty() ? "" : " (" + message + ")");
    }
}
