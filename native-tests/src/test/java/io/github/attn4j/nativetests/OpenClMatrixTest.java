package io.github.attn4j.nativetests;

/**
 * The whole case matrix on OpenCL device 0 (PoCL in CI), plus the long-sequence SDPA cases
 * (B = H = 1, Sq = Sk = 32768, D = 32, plain and causal, checked on sampled rows). Skipped with the
 * reason when there is no OpenCL device; failed instead with {@code -Dattn4j.require=opencl}.
 */
class OpenClMatrixTest extends BackendMatrix {
    @Override
    protected String backendName() {
        return "opencl";
    }
}
