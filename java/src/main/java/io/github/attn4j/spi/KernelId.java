package io.github.attn4j.spi;

import io.github.attn4j.DType;
import java.util.Locale;

/**
 * The kernel entry points. CUDA and OpenCL use the same names: {@code attn_<op>_<dtype>}, for
 * example {@code attn_sdpa_fwd_f32} or {@code attn_masked_softmax_f16}. The dtype suffix is the
 * storage type of the data tensors; arithmetic is always fp32.
 */
public enum KernelId {
    /** Fused SDPA forward. */
    SDPA_FWD("attn_sdpa_fwd"),
    /** Masked softmax forward. */
    MASKED_SOFTMAX("attn_masked_softmax"),
    /** The public batched GEMM ({@code GemmParams}). */
    GEMM("attn_gemm"),
    /** Rotary position embedding ({@code RopeParams}). */
    ROPE("attn_rope"),
    /** Masked softmax backward. */
    MASKED_SOFTMAX_BWD("attn_masked_softmax_bwd"),
    /** Fused additive attention forward. */
    ADDITIVE_FWD("attn_additive_fwd"),
    /** Batched {@code A . B^T} (the additive projections; CUDA's unfused SDPA without cuBLAS). */
    GEMM_NT("attn_gemm_nt"),
    /** SDPA backward, preprocessing: Delta = rowsum(dO * O) and LSE in log2 units into the workspace. */
    SDPA_BWD_PRE("attn_sdpa_bwd_pre"),
    /** SDPA backward: dK and dV per K/V tile (GQA heads summed inside). */
    SDPA_BWD_DKDV("attn_sdpa_bwd_dkdv"),
    /** SDPA backward: dQ per Q tile. */
    SDPA_BWD_DQ("attn_sdpa_bwd_dq"),
    /** SDPA backward: dBias per slice of the bias's own shape. */
    SDPA_BWD_DBIAS("attn_sdpa_bwd_dbias"),
    /** Additive backward: per row (lse, delta). */
    ADDITIVE_BWD_PRE("attn_additive_bwd_pre"),
    /** Additive backward: dQp per query block (and its db partial). */
    ADDITIVE_BWD_DQ("attn_additive_bwd_dq"),
    /** Additive backward: dKp and dV per key block (and its dw partial). */
    ADDITIVE_BWD_DKV("attn_additive_bwd_dkv"),
    /** Additive backward: dw and db from the partials, in a fixed order. */
    ADDITIVE_BWD_REDUCE("attn_additive_bwd_reduce"),
    /** Additive backward, raw inputs: dx = dxp . W. */
    ADDITIVE_BWD_PROJ("attn_additive_bwd_proj"),
    /** Additive backward, raw inputs: dW = sum dxp^T . x. */
    ADDITIVE_BWD_WGRAD("attn_additive_bwd_wgrad"),
    /** Strided copy; named by element width ({@link #copyEntry}), not by dtype. */
    COPY("attn_copy"),
    /** Merge of attention states ({@code kernels/<lang>/merge.*}). */
    MERGE_STATES("attn_merge_states"),
    /** KV append into paged caches ({@code kernels/<lang>/kv_append.*}). */
    KV_APPEND("attn_kv_append"),
    /** Split-KV decode: partial (O, LSE) per split over GQA-packed rows ({@code kernels/<lang>/sdpa_decode.*}). */
    SDPA_DECODE("attn_sdpa_decode"),
    /** Merges the split-KV partials of {@link #SDPA_DECODE} (or of CUDA's tensor-core split) into O and LSE. */
    SDPA_COMBINE("attn_sdpa_combine");

    private final String stem;

    KernelId(String stem) {
        this.stem = stem;
    }

    /** The stem without the dtype suffix. */
    public String stem() {
        return stem;
    }

    /** The copy entry for an element width: {@code attn_copy_u8}, {@code _u16} or {@code _u32}. */
    public static String copyEntry(DType dtype) {
        return COPY.stem + "_u" + 8 * dtype.bytes();
    }

    /** The entry name for a storage dtype, e.g. {@code attn_sdpa_fwd_bf16}. */
    public String entry(DType dtype) {
        return stem + "_" + dtype.name().toLowerCase(Locale.ROOT);
    }
}
