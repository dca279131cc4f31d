package io.github.attn4j.cuda;

import java.util.Locale;

/**
 * Options of a CUDA backend.
 *
 * @param unfusedSdpa run SDPA as batched GEMM + masked softmax + GEMM (the reference GPU path and
 *     benchmark baseline) instead of the fused kernel
 * @param gemm "auto" (cuBLAS when libcublas.so.12 loads, else the kernel), "cublas" or "kernel"
 */
public record CudaOptions(boolean unfusedSdpa, String gemm) {
    public CudaOptions {
        gemm = gemm == null ? "auto" : gemm.toLowerCase(Locale.ROOT);
        if (!gemm.equals("auto") && !gemm.equals("cublas") && !gemm.equals("kernel")) {
            throw new IllegalArgumentException("gemm: expected auto, cublas or kernel, got '" + gemm + "'");
        }
    }

    /** From {@code -Dattn4j.cuda.sdpa=fused|unfused} and {@code -Dattn4j.cuda.gemm=auto|cublas|kernel}. */
    public static CudaOptions fromSystemProperties() {
        String sdpa = System.getProperty("attn4j.cuda.sdpa", "fused").toLowerCase(Locale.ROOT);
        if (!sdpa.equals("fused") && !sdpa.equals("unfused")) {
            throw new IllegalArgumentException("attn4j.cuda.sdpa: expected fused or unfused, got '" + sdpa + "'");
        }
        return new CudaOptions(sdpa.equals("unfused"), System.getProperty("attn4j.cuda.gemm", "auto"));
    }

    public static CudaOptions defaults() {
        return new CudaOptions(false, "auto");
    }

    public CudaOptions withUnfusedSdpa(boolean on) {
        return new CudaOptions(on, gemm);
    }

    public CudaOptions withGemm(String g) {
        return new CudaOptions(unfusedSdpa, g);
    }
}
