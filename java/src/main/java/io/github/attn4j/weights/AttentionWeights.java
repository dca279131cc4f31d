package io.github.attn4j.weights;

import io.github.attn4j.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * The weights of one attention block as host tensors in PyTorch {@code Linear} layout
 * ({@code [out_features, in_features]}): {@code wq [Hq·D, E]}, {@code wk [Hkv·D, Ek]},
 * {@code wv [Hkv·D, Ev]}, {@code wo [E, Hq·D]} and the optional biases {@code bq [Hq·D]},
 * {@code bk [Hkv·D]}, {@code bv [Hkv·D]}, {@code bo [E]}. Ek and Ev are the widths of the key and
 * value inputs (E for self-attention).
 *
 * <p>Two naming schemes are read ({@link #load}), each under an optional prefix prepended verbatim
 * to every name:
 * <ul>
 *   <li>PyTorch {@code nn.MultiheadAttention}: {@code in_proj_weight [3E, E]} (rows q, k, v),
 *       {@code in_proj_bias [3E]}, {@code out_proj.weight [E, E]}, {@code out_proj.bias [E]}; D = E / H.</li>
 *   <li>Llama / Hugging Face: {@code q_proj.weight [Hq·D, E]}, {@code k_proj.weight},
 *       {@code v_proj.weight [Hkv·D, E]}, {@code o_proj.weight [E, Hq·D]}, each with an optional
 *       {@code .bias}; D = rows of q_proj / Hq.</li>
 * </ul>
 * A missing or mis-shaped tensor is an {@link IllegalArgumentException} naming the tensor, the
 * file, and the expected and actual shapes.
 *
 * @param heads   Hq
 * @param kvHeads Hkv (a divisor of Hq)
 * @param headDim D
 */
public record AttentionWeights(int heads, int kvHeads, int headDim, Tensor wq, Tensor wk, Tensor wv, Tensor wo, Tensor bq,
        Tensor bk, Tensor bv, Tensor bo) {

    /** The embed size E (rows of wo). */
    public int embed() {
        return wo.dim(0);
    }

    /** The width of the key input, Ek. */
    public int keyDim() {
        return wk.dim(1);
    }

    /** The width of the value input, Ev. */
    public int valueDim() {
        return wv.dim(1);
    }

    /** True when the block has projection biases (all four or none). */
    public boolean hasBias() {
        return bq != null;
    }

    /** The naming scheme of a file under a prefix: {@code in_proj_weight} present means PyTorch MHA. */
    public static boolean isPyTorchMha(WeightSource src, String prefix) {
        return src.has(p(prefix) + "in_proj_weight");
    }

    /**
     * Loads a block in either naming scheme (detected by {@link #isPyTorchMha}); {@code kvHeads} may be
     * 0 for "same as heads" (PyTorch MHA has no GQA: any other value must equal {@code heads}).
     */
    public static AttentionWeights load(WeightSource src, String prefix, int heads, int kvHeads) {
        if (heads < 1) {
            throw new IllegalArgumentException("heads: expected >= 1, got " + heads);
        }
        int hkv = kvHeads == 0 ? heads : kvHeads;
        if (hkv < 1 || heads % hkv != 0) {
            throw new IllegalArgumentException("kv heads: expected a divisor of heads = " + heads + ", got " + kvHeads);
        }
        if (isPyTorchMha(src, prefix)) {
            if (hkv != heads) {
                throw new IllegalArgumentException("kv heads: nn.MultiheadAttention weights (" + p(prefix)
                        + "in_proj_weight in " + src.file() + ") have as many kv heads as heads = " + heads + ", got " + hkv);
            }
            return pytorchMha(src, prefix, heads);
        }
        return llama(src, prefix, heads, hkv);
    }

    private static String p(String prefix) {
        return prefix == null ? "" : prefix;
    }

    /** Reads {@code nn.MultiheadAttention} weights (the state_dict names). */
    public static AttentionWeights pytorchMha(WeightSource src, String prefix, int heads) {
        String pre = p(prefix);
        String scheme = "nn.MultiheadAttention";
        Tensor wo = need(src, pre + "out_proj.weight", scheme, 2, null);
        int e = wo.dim(0);
        check(src, pre + "out_proj.weight", wo, new int[] {e, e}, "[E, E]");
        if (e % heads != 0) {
            throw new IllegalArgumentException("heads: expected a divisor of E = " + e + " (from " + pre
                    + "out_proj.weight in " + src.file() + "), got " + heads);
        }
        Tensor in = need(src, pre + "in_proj_weight", scheme, 2, new int[] {3 * e, e});
        Tensor inB = optional(src, pre + "in_proj_bias", new int[] {3 * e});
        Tensor bo = optional(src, pre + "out_proj.bias", new int[] {e});
        if ((inB == null) != (bo == null)) {
            throw new IllegalArgumentException(src.file() + ": " + (inB == null ? pre + "out_proj.bias" : pre + "in_proj_bias")
                    + " without " + (inB == null ? pre + "in_proj_bias" : pre + "out_proj.bias")
                    + " (expected both biases or neither)");
        }
        return new AttentionWeights(heads, heads, e / heads, rows(in, 0, e), rows(in, e, e), rows(in, 2 * e, e), wo,
                inB == null ? null : part(inB, 0, e), inB == null ? null : part(inB, e, e),
                inB == null ? null : part(inB, 2 * e, e), bo);
    }

    /** Reads Llama / Hugging Face style weights ({@code q_proj.weight}, ...). */
    public static AttentionWeights llama(WeightSource src, String prefix, int heads, int kvHeads) {
        String pre = p(prefix);
        String scheme = "Llama/HF";
        Tensor wq = need(src, pre + "q_proj.weight", scheme, 2, null);
        if (wq.dim(0) % heads != 0) {
            throw new IllegalArgumentException(src.file() + ": tensor '" + pre + "q_proj.weight': expected [Hq·D, E] with Hq = "
                    + heads + " dividing the rows, got " + Arrays.toString(wq.shape()));
        }
        int d = wq.dim(0) / heads, e = wq.dim(1);
        Tensor wk = need(src, pre + "k_proj.weight", scheme, 2, null);
        check(src, pre + "k_proj.weight", wk, new int[] {kvHeads * d, wk.dim(1)}, "[Hkv·D, Ek] = [" + kvHeads + "·" + d
                + ", Ek]");
        Tensor wv = need(src, pre + "v_proj.weight", scheme, 2, null);
        check(src, pre + "v_proj.weight", wv, new int[] {kvHeads * d, wv.dim(1)}, "[Hkv·D, Ev] = [" + kvHeads + "·" + d
                + ", Ev]");
        Tensor wo = need(src, pre + "o_proj.weight", scheme, 2, new int[] {e, heads * d});
        Tensor bq = optional(src, pre + "q_proj.bias", new int[] {heads * d});
        Tensor bk = optional(src, pre + "k_proj.bias", new int[] {kvHeads * d});
        Tensor bv = optional(src, pre + "v_proj.bias", new int[] {kvHeads * d});
        Tensor bo = optional(src, pre + "o_proj.bias", new int[] {e});
        if (bq == null && bk == null && bv == null && bo == null) {
            return new AttentionWeights(heads, kvHeads, d, wq, wk, wv, wo, null, null, null, null);
        }
        // Llama's q/k/v biases (Qwen) come without an o_proj bias: a missing one is zeros.
        return new AttentionWeights(heads, kvHeads, d, wq, wk, wv, wo, orZeros(bq, heads * d), orZeros(bk, kvHeads * d),
                orZeros(bv, kvHeads * d), orZeros(bo, e));
    }

    private static Tensor orZeros(Tensor t, int n) {
        return t != null ? t : Tensor.of(new float[n], n);
    }

    private static Tensor need(WeightSource src, String name, String scheme, int rank, int[] want) {
        if (!src.has(name)) {
            List<String> all = src.names();
            String have = all.size() <= 12 ? String.join(", ", all) : String.join(", ", all.subList(0, 12)) + ", ...";
            throw new IllegalArgumentException(src.file() + ": tensor '" + name + "' not found (" + scheme
                    + " naming); the file has " + all.size() + " tensors: " + have);
        }
        Tensor t = src.get(name);
        if (t.rank() != rank) {
            throw new IllegalArgumentException(src.file() + ": tensor '" + name + "': expected rank " + rank
                    + (want == null ? "" : " shape " + Arrays.toString(want)) + ", got shape " + Arrays.toString(t.shape()));
        }
        if (want != null) {
            check(src, name, t, want, null);
        }
        return t;
    }

    private static Tensor optional(WeightSource src, String name, int[] want) {
        if (!src.has(name)) {
            return null;
        }
        Tensor t = src.get(name);
        check(src, name, t, want, null);
        return t;
    }

    private static void check(WeightSource src, String name, Tensor t, int[] want, String what) {
        if (!Arrays.equals(t.shape(), want)) {
            throw new IllegalArgumentException(src.file() + ": tensor '" + name + "': expected shape " + Arrays.toString(want)
                    + (what == null ? "" : " " + what) + ", got " + Arrays.toString(t.shape()));
        }
    }

    /** Rows {@code [r0, r0 + n)} of a contiguous 2-D tensor, as a view. */
    private static Tensor rows(Tensor t, int r0, int n) {
        return t.view(t.offset() + (long) r0 * t.stride(0), new int[] {n, t.dim(1)}, t.strides());
    }

    /** Elements {@code [i0, i0 + n)} of a 1-D tensor, as a view. */
    private static Tensor part(Tensor t, int i0, int n) {
        return t.view(t.offset() + (long) i0 * t.stride(0), new int[] {n}, t.strides());
    }
}
