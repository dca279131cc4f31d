package io.github.attn4j.nativetests;

import io.github.attn4j.Backend;
import io.github.attn4j.testing.Case;
import io.github.attn4j.testing.CaseMatrix;
import io.github.attn4j.testing.CaseResult;
import io.github.attn4j.testing.CaseRunner;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

/**
 * The case matrix ({@link CaseMatrix}) on one backend, one dynamic test per case named after the
 * case. A subclass names the backend; it may narrow the cases ({@link #cases()},
 * {@link #include(Case)}). The backend is opened once (skipped with the reason when unavailable,
 * failed when {@code -Dattn4j.require} names it, see {@link Requirement}) and closed by the last
 * dynamic test, which fails if any scope leaked (surefire runs with {@code -Dattn4j.leaks=fail}).
 * A case the backend does not support is reported as skipped with the backend's reason, never as
 * passed. {@code -Dattn4j.seed=N} changes the seed of every case.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class BackendMatrix {
    private Backend backend;

    /** The backend to test: "cpu", "opencl", "cuda", or with a device index ("opencl:1"). */
    protected abstract String backendName();

    /** The seed of every case: {@code -Dattn4j.seed}, else {@link Case#DEFAULT_SEED}. */
    protected long seed() {
        return Long.getLong("attn4j.seed", Case.DEFAULT_SEED);
    }

    /**
     * The cases to run before {@link #include(Case)}: by default the whole matrix plus the
     * long-sequence cases ({@link CaseMatrix#longSequence(long)}, Sq = Sk = 32768 on sampled rows).
     */
    protected List<Case> cases() {
        List<Case> l = new java.util.ArrayList<>(CaseMatrix.all(seed()));
        l.addAll(CaseMatrix.longSequence(seed()));
        return l;
    }

    /** A filter hook over {@link #cases()}; everything by default. */
    protected boolean include(Case c) {
        return true;
    }

    /** The backend, opened on first use (the calling test is skipped or failed when it cannot be). */
    protected final Backend backend() {
        if (backend == null) {
            backend = Requirement.open(backendName());
        }
        return backend;
    }

    /** Checks one result: FAIL fails, UNSUPPORTED skips with the reason, PASS passes. */
    protected void check(CaseResult r) {
        switch (r.status()) {
            case PASS -> { }
            case UNSUPPORTED -> Assumptions.abort("unsupported on " + r.backend() + ": " + r.message());
            case FAIL -> Assertions.fail(r.toString());
        }
    }

    @TestFactory
    Stream<DynamicTest> matrix() {
        // An absent backend shows as one skipped test that carries the reason (a factory that
        // aborts before returning would be reported as "Tests run: 0", hiding why).
        String why = Requirement.unavailableReason(backendName());
        if (why != null && !Requirement.isRequired(backendName())) {
            return Stream.of(DynamicTest.dynamicTest(backendName() + " is unavailable",
                    () -> Assumptions.abort(backendName() + " is unavailable: " + why)));
        }
        backend();
        Stream<DynamicTest> cases = cases().stream().filter(this::include)
                .map(c -> DynamicTest.dynamicTest(c.name(), () -> check(CaseRunner.run(backend(), c))));
        Stream<DynamicTest> close = Stream.of(DynamicTest.dynamicTest("close " + backendName() + " without leaks",
                this::closeBackend));
        return Stream.concat(cases, close);
    }

    private void closeBackend() {
        Backend b = backend;
        backend = null;
        if (b != null) {
            b.close(); // throws IllegalStateException on leaked scopes under -Dattn4j.leaks=fail
        }
    }

    @AfterAll
    void closeIfStillOpen() {
        closeBackend();
    }
}
