package io.github.attn4j.cuda;

import java.util.Locale;

/**
 * Options of a CUDA backend, read once when it opens ({@link #fromSystemProperties()}) or given
 * explicitly to {@link CudaProvider#open(int, CudaOptions)}. Nothing on a hot path reads a system
 * property.
 *
 * @param unfusedSdpa run SDPA as batched GEMM + masked softmax + GEMM (the reference GPU path and
 *     benchmark baseline) instead of the fused kernel ({@code attn4j.cuda.sdpa=unfused})
 * @param gemm "auto" (cuBLAS when libcublas.so.12 loads, else the kernel), "cublas" or "kernel"
 *     ({@code attn4j.cuda.gemm})
 * @param tensorCores route eligible F16/BF16 SDPA calls to the tensor-core kernel
 *     ({@code attn4j.cuda.tc=true}; off by default until it has passed the matrix on a GPU)
 * @param loader where kernel modules come from: "auto" (fatbin, else NVRTC), "fatbin" or "nvrtc"
 *     ({@code attn4j.cuda.loader})
 */
public record CudaOptions(boolean unfusedSdpa, String gemm, boolean tensorCores, String loader) {
    /**
     * Checks {@code gemm} and {@code loader} (null = "auto").
     *
     * @throws IllegalArgumentException when either is not one of its allowed values
     */
    public CudaOptions {
        gemm = oneOf("gemm", gemm, "auto", "cublas", "kernel");
        loader = oneOf("loader", loader, "auto", "fatbin", "nvrtc");
    }

    private static String oneOf(String name, String v, String... allowed) {
        String x = v == null ? allowed[0] : v.trim().toLowerCase(Locale.ROOT);
        for (String a : allowed) {
            if (a.equals(x)) {
                return x;
            }
        }
        throw new IllegalArgumentException(name + ": expected " + String.join(", ", allowed) + ", got '" + v + "'");
    }

    /** From the {@code attn4j.cuda.*} system properties (see the components). */
    public static CudaOptions fromSystemProperties() {
        String sdpa = oneOf("attn4j.cuda.sdpa", System.getProperty("attn4j.cuda.sdpa", "fused"), "fused", "unfused");
        String tc = oneOf("attn4j.cuda.tc", System.getProperty("attn4j.cuda.tc", "false"), "false", "true");
        return new CudaOptions(sdpa.equals("unfused"), System.getProperty("attn4j.cuda.gemm", "auto"),
                tc.equals("true"), System.getProperty("attn4j.cuda.loader", "auto"));
    }

    /** The fused SDPA, GEMM and loader "auto", no tensor cores. */
    public static CudaOptions defaults() {
        return new CudaOptions(false, "auto", false, "auto");
    }

    /** These options with {@code unfusedSdpa} set to {@code on}. */
    public CudaOptions withUnfusedSdpa(boolean on) {
        return new CudaOptions(on, gemm, tensorCores, loader);
    }

    /** These options with the GEMM provider {@code g} ("auto", "cublas" or "kernel"). */
    public CudaOptions withGemm(String g) {
        return new CudaOptions(unfusedSdpa, g, tensorCores, loader);
    }

    /** These options with {@code tensorCores} set to {@code on}. */
    public CudaOptions withTensorCores(boolean on) {
        return new CudaOptions(unfusedSdpa, gemm, on, loader);
    }

    /** These options with the module loader {@code l} ("auto", "fatbin" or "nvrtc"). */
    public CudaOptions withLoader(String l) {
        return new CudaOptions(unfusedSdpa, gemm, tensorCores, l);
    }
}
