package io.github.attn4j.nativetests;

/**
 * The whole case matrix on CUDA device 0 with the fused kernels (the default path). Skipped with
 * the reason when there is no CUDA device; failed instead with {@code -Dattn4j.require=cuda}.
 * {@code -Dattn4j.cuda.gemm=kernel|cublas} picks the GEMM provider of the additive projections.
 */
class CudaMatrixTest extends BackendMatrix {
    @Override
    protected String backendName() {
        return "cuda";
    }
}
