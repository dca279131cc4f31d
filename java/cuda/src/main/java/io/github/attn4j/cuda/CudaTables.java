package io.github.attn4j.cuda;

import io.github.attn4j.BackendException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The tile tables and launch constants of the CUDA kernels, read from the kernel sources packaged
 * in the jar ({@code /kernels/cuda/*.cu, *.cuh}): the {@code X(...)} rows of the
 * {@code ATTN_*_TILES} macros and the {@code #define}s the launch shapes depend on. The kernels are
 * the single source; Java keeps no copy to drift.
 */
final class CudaTables {
    private CudaTables() {}

    /** SDPA tile of sdpa.cu's {@code ATTN_SDPA_TILES}: DMAX, BM, BN, THREADS. */
    record SdpaTile(int dmax, int bm, int bn, int threads) {
        int smemBytes() {
            int floats = bm * (dmax + 1) + bn * (dmax + 1) + bn * dmax + bm * (bn + 1);
            return floats * 4;
        }
    }

    /** Additive tile of additive.cu's {@code ATTN_ADDITIVE_TILES}: DMAX (Dv bound), BM, BN, AC, THREADS. */
    record AdditiveTile(int dmax, int bm, int bn, int ac, int threads) {
        int smemBytes() {
            int floats = bm * (ac + 1) + bn * (ac + 1) + ac + bn * dmax + bm * (bn + 1);
            return floats * 4;
        }
    }

    /**
     * Split-KV decode tile of sdpa_decode.cu's {@code ATTN_DECODE_TILES}: DMAX, RB (packed query rows
     * per CTA), BN (keys per tile), THREADS.
     */
    record DecodeTile(int dmax, int rb, int bn, int threads) {
        /** Dynamic shared memory: Q and K rows of DMAX + 4 floats, P, the row factors, the V row offsets. */
        int smemBytes() {
            int a0 = rb * (dmax + 4) + bn * (dmax + 4) + rb * bn;
            int vr0 = (a0 + rb + 1) / 2 * 2;
            return (vr0 + 2 * bn) * 4;
        }
    }

    static final List<SdpaTile> SDPA_TILES;
    /** sdpa_decode.cu. */
    static final List<DecodeTile> DECODE_TILES;
    /** sdpa_decode.cu: threads per CTA of the combine (a warp per row). */
    static final int DECODE_COMBINE_THREADS;
    static final List<AdditiveTile> ADDITIVE_TILES;
    /** Tensor-core table of tc_traits.cuh's {@code ATTN_TC_TRAITS_TABLE}. */
    static final List<TcTraits> TC_TRAITS;
    /** softmax.cu. */
    static final int SOFTMAX_WARP_ROWS, SOFTMAX_WARP_MAX_SK, SOFTMAX_BLOCK_THREADS;
    /** gemm.cu. */
    static final int GEMM_TM, GEMM_TN, GEMM_THREADS;
    /** copy.cu. */
    static final int COPY_THREADS;
    /** rope.cu. */
    static final int ROPE_THREADS;
    /** merge.cu. */
    static final int MERGE_THREADS;
    /** kv_append.cu. */
    static final int KV_APPEND_THREADS;
    /** additive_bwd.cu: threads (rows or keys) per block, keys (rows) per tile. */
    static final int ADDBWD_THREADS, ADDBWD_BN;
    /** sdpa_bwd.cu: threads (owned keys or rows) per block, streamed rows (keys) per tile. */
    static final int SDPABWD_THREADS, SDPABWD_BN;
    /** tc_traits.cuh: the shared-memory bound every tensor-core row stays within. */
    static final int TC_SMEM_LIMIT;

    static {
        String sdpa = text("sdpa.cu"), additive = text("additive.cu"), softmax = text("softmax.cu");
        String gemm = text("gemm.cu"), tc = text("tc_traits.cuh");
        SDPA_TILES = table(sdpa, "ATTN_SDPA_TILES").stream().map(r -> new SdpaTile(r[0], r[1], r[2], r[3])).toList();
        String decode = text("sdpa_decode.cu");
        DECODE_TILES = table(decode, "ATTN_DECODE_TILES").stream().map(r -> new DecodeTile(r[0], r[1], r[2], r[3]))
                .toList();
        DECODE_COMBINE_THREADS = define(decode, "ATTN_DECODE_COMBINE_THREADS");
        ADDITIVE_TILES = table(additive, "ATTN_ADDITIVE_TILES").stream()
                .map(r -> new AdditiveTile(r[0], r[1], r[2], r[3], r[4])).toList();
        TC_TRAITS = table(tc, "ATTN_TC_TRAITS_TABLE").stream()
                .map(r -> new TcTraits(r[0], r[1], r[2], r[3], r[4], r[5] != 0, r[6] != 0)).toList();
        SOFTMAX_WARP_ROWS = define(softmax, "SOFTMAX_WARP_ROWS_PER_BLOCK");
        SOFTMAX_WARP_MAX_SK = define(softmax, "SOFTMAX_WARP_MAX_SK");
        ROPE_THREADS = define(text("rope.cu"), "ROPE_THREADS");
        SOFTMAX_BLOCK_THREADS = define(softmax, "SOFTMAX_BLOCK_THREADS");
        GEMM_TM = define(gemm, "GEMM_TM");
        GEMM_TN = define(gemm, "GEMM_TN");
        GEMM_THREADS = define(gemm, "GEMM_THREADS");
        TC_SMEM_LIMIT = define(tc, "ATTN_TC_SMEM_LIMIT");
        COPY_THREADS = define(text("copy.cu"), "ATTN_COPY_THREADS");
        MERGE_THREADS = define(text("merge.cu"), "ATTN_MERGE_THREADS");
        KV_APPEND_THREADS = define(text("kv_append.cu"), "ATTN_KV_APPEND_THREADS");
        String addBwd = text("additive_bwd.cu");
        ADDBWD_THREADS = define(addBwd, "ATTN_ADDBWD_THREADS");
        ADDBWD_BN = define(addBwd, "ATTN_ADDBWD_BN");
        String sdpaBwd = text("sdpa_bwd.cu");
        SDPABWD_THREADS = define(sdpaBwd, "ATTN_SDPABWD_THREADS");
        SDPABWD_BN = define(sdpaBwd, "ATTN_SDPABWD_BN");
    }

    private static String text(String file) {
        String s = KernelSources.text(file);
        if (s == null) {
            throw new BackendException("cuda: " + KernelSources.ROOT + file + " is missing from the class path");
        }
        return s;
    }

    /** The integer rows of a {@code #define NAME(X) X(..) X(..)} table macro, in order. */
    static List<int[]> table(String text, String macro) {
        Matcher m = Pattern.compile("#define " + macro + "\\(X\\)((?:[^\\n]*\\\\\\n)+[^\\n]*)").matcher(text);
        if (!m.find()) {
            throw new BackendException("cuda: no table " + macro + " in the kernel sources");
        }
        List<int[]> rows = new ArrayList<>();
        Matcher x = Pattern.compile("X\\(([0-9,\\s]+)\\)").matcher(m.group(1));
        while (x.find()) {
            String[] parts = x.group(1).split(",");
            int[] r = new int[parts.length];
            for (int i = 0; i < parts.length; i++) {
                r[i] = Integer.parseInt(parts[i].trim());
            }
            rows.add(r);
        }
        return List.copyOf(rows);
    }

    /** The integer value of {@code #define NAME value}. */
    static int define(String text, String name) {
        Matcher m = Pattern.compile("#define " + name + "\\s+(\\d+)").matcher(text);
        if (!m.find()) {
            throw new BackendException("cuda: no #define " + name + " in the kernel sources");
        }
        return Integer.parseInt(m.group(1));
    }
}
