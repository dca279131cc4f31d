package io.github.attn4j.nativetests;

import io.github.attn4j.testing.Case;
import io.github.attn4j.testing.CaseMatrix;
import java.util.List;

/**
 * The matrix on the cpu backend. The cpu backend is the float64 reference itself, so this checks
 * the harness end to end (guards, poison, host staging, comparison) rather than numerics; it runs
 * the quick subset plus the matrix's cases of moderate cost, to keep the build fast (the full
 * matrix on cpu takes minutes: {@code attn4j verify --backend cpu} runs it).
 */
class CpuMatrixTest extends BackendMatrix {
    @Override
    protected String backendName() {
        return "cpu";
    }

    @Override
    protected List<Case> cases() {
        List<Case> quick = CaseMatrix.quick(seed());
        return CaseMatrix.all(seed()).stream().filter(c -> quick.contains(c) || c.cost() <= 200_000).toList();
    }
}
