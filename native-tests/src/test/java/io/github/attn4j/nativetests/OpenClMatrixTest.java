package io.github.attn4j.nativetests;

import static org.junit.jupiter.api.Assertions.fail;

import io.github.attn4j.Backend;
import io.github.attn4j.testing.Case;
import io.github.attn4j.testing.CaseMatrix;
import io.github.attn4j.testing.CaseResult;
import io.github.attn4j.testing.CaseRunner;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

/**
 * The whole case matrix ({@link CaseMatrix#all()}) on OpenCL device 0, one dynamic test per case,
 * named after the case, plus the long-sequence SDPA cases (Sq = Sk = 32768, sampled rows).
 * Without an OpenCL device the tests skip with the reason, unless {@code -Dattn4j.require=opencl}
 * (CI) makes that a failure. A case that the backend reports unsupported is skipped with the
 * backend's reason; everything else must pass.
 */
class OpenClMatrixTest {
    static Backend backend;

    @BeforeAll
    static void open() {
        backend = OpenClTesting.openOrSkip();
    }

    @AfterAll
    static void close() {
        if (backend != null) {
            backend.close();
        }
    }

    private static Stream<DynamicTest> tests(List<Case> cases) {
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            CaseResult r = CaseRunner.run(backend, c);
            if (r.status() == CaseResult.Status.UNSUPPORTED) {
                Assumptions.abort("unsupported on " + r.backend() + ": " + r.message());
            }
            if (r.failed()) {
                fail(r.toString());
            }
        }));
    }

    @TestFactory
    Stream<DynamicTest> matrix() {
        return tests(CaseMatrix.all());
    }

    /** SDPA B=1, H=1, Sq=Sk=32768, D=32, plain and causal: no S^2 buffer exists anywhere. */
    @TestFactory
    @Tag("long")
    Stream<DynamicTest> longSequence() {
        return tests(CaseMatrix.longSequence(Case.DEFAULT_SEED));
    }
}
