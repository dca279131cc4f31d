package io.github.attn4j.cuda;

import io.github.attn4j.Attn4j;
import io.github.attn4j.DType;
import io.github.attn4j.Scope;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;

/**
 * The README's CUDA example (the caller's memory and stream), compiled; native-tests'
 * CudaInteropTest runs that path on a GPU. The other README examples are in attn4j's
 * ReadmeExamplesTest.
 */
class CudaReadmeExamplesTest {
    /** Compiled, not run: the caller's CUDA memory and stream. */
    static void cudaCallerMemory(CUdeviceptr qPtr, CUdeviceptr kPtr, CUdeviceptr vPtr, CUdeviceptr oPtr,
            CUstream stream, int B, int H, int S, int D) {
        try (CudaBackend cuda = (CudaBackend) Attn4j.open("cuda:0"); Scope scope = cuda.newScope(stream)) {
            Tensor q = cuda.wrap(qPtr, DType.F16, B, H, S, D);   // not owned: never freed by attn4j
            Tensor k = cuda.wrap(kPtr, DType.F16, B, H, S, D);
            Tensor v = cuda.wrap(vPtr, DType.F16, B, H, S, D);
            Tensor o = cuda.wrap(oPtr, DType.F16, B, H, S, D);
            scope.sdpa(SdpaParams.builder(q, k, v, o).causal().build());   // queued on the caller's stream
        }   // closing the scope waits for its work; the stream and the memory stay the caller's
    }
}
