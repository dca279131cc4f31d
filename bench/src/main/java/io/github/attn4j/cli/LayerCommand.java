package io.github.attn4j.cli;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Scope;
import io.github.attn4j.Tensor;
import io.github.attn4j.layers.AdditiveAttention;
import io.github.attn4j.layers.MultiHeadAttention;
import io.github.attn4j.npy.Npy;
import io.github.attn4j.weights.AttentionWeights;
import io.github.attn4j.weights.WeightSource;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;

/**
 * {@code attn4j run mha ...} and {@code attn4j run bahdanau ...}: the attention layers on .npy inputs
 * with weights from a .safetensors file (or a directory of .npy files), everything on the device.
 */
final class LayerCommand {
    private LayerCommand() {}

    static final String USAGE = """
            usage: attn4j run mha --backend NAME --x X.npy [--memory M.npy] --weights W.safetensors [--prefix P]
                     --heads H [--kv-heads HKV] [--causal] [--rope THETA] [--kv-lengths n,..] --out Y.npy
                     [--attn-weights A.npy]
              X [B, S, E] batch first (<f4), Y [B, S, E]; --memory [B, Sk, Ek] for cross-attention. Weights in
              nn.MultiheadAttention naming (in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias) or
              Llama/HF naming (q_proj.weight, k_proj.weight, v_proj.weight, o_proj.weight, optional .bias),
              each name under the prefix P verbatim. --attn-weights writes [B, H, S, Sk] for `attn4j plot`.
                   attn4j run bahdanau --backend NAME --enc H.npy --dec S.npy --weights W.safetensors [--prefix P]
                     [--lengths n,..] --out C.npy [--alignment A.npy]
              H [B, Sk, Dk] encoder states (also the values), S [B, Sq, Dq] decoder states (or [B, Dq], one
              step); C [B, Sq, Dk] contexts; A [B, 1, Sq, Sk] alignment weights (for `attn4j plot`). Weights in
              the PyTorch seq2seq tutorial's naming: Wa.weight [A, Dq], Ua.weight [A, Dk], Va.weight [1, A],
              optional Wa.bias, Ua.bias [A] (their sum is b; Va.bias shifts every score alike and is unused).
              --lengths masks the padding keys j >= n of each batch.""";

    static final Set<String> MHA = Set.of("backend", "x", "memory", "weights", "prefix", "heads", "kv-heads", "rope",
            "kv-lengths", "out", "attn-weights");
    static final Set<String> BAHDANAU = Set.of("backend", "enc", "dec", "weights", "prefix", "lengths", "out", "alignment");

    private static Tensor f32(Cli.Args a, String flag, int rank, String dims) {
        Tensor t = Cli.npy(a, flag);
        if (t.dtype() != DType.F32) {
            throw new Cli.UsageException("--" + flag + " " + a.get(flag) + ": expected <f4 data, got " + t.dtype());
        }
        if (t.rank() != rank) {
            throw new Cli.UsageException("--" + flag + " " + a.get(flag) + ": expected a " + rank + "-D array " + dims
                    + ", got shape " + Arrays.toString(t.shape()));
        }
        return t;
    }

    private static int positive(Cli.Args a, String flag) {
        long v = a.longValue(flag);
        if (v < 1 || v > Integer.MAX_VALUE) {
            throw new Cli.UsageException("--" + flag + ": expected a positive integer, got " + v);
        }
        return (int) v;
    }

    /** {@code run mha}. */
    static String mha(Cli.Args a, PrintStream out) {
        Tensor x = f32(a, "x", 3, "[B, S, E]");
        Tensor mem = a.has("memory") ? f32(a, "memory", 3, "[B, Sk, Ek]") : null;
        a.required("out");
        int heads = positive(a, "heads");
        int kvHeads = a.has("kv-heads") ? positive(a, "kv-heads") : 0;
        WeightSource src = WeightSource.open(Path.of(a.required("weights")));
        AttentionWeights w = AttentionWeights.load(src, a.has("prefix") ? a.get("prefix") : "", heads, kvHeads);
        float theta = a.has("rope") ? a.floatValue("rope") : 0f;
        try (Backend b = Cli.backend(a); Scope scope = b.newScope()) {
            MultiHeadAttention.Builder lb = MultiHeadAttention.builder(w).causal(a.has("causal"));
            if (theta != 0f) {
                lb.rope(theta);
            }
            MultiHeadAttention mha = lb.build(scope);
            MultiHeadAttention.Call.Builder c = MultiHeadAttention.Call.builder(x).memory(mem)
                    .weights(a.has("attn-weights"));
            if (a.has("causal")) {
                c.causal(true);
            }
            if (a.has("kv-lengths")) {
                c.kvLengths(a.ints("kv-lengths"));
            }
            MultiHeadAttention.Result r = mha.forward(c.build());
            Tensor y = Tensor.of(new float[(int) r.y().numel()], r.y().shape());
            scope.copy(r.y(), y);
            Npy.write(Path.of(a.get("out")), y);
            String wrote = a.get("out") + " " + Arrays.toString(y.shape());
            if (r.weights() != null) {
                Tensor wt = Tensor.of(new float[(int) r.weights().numel()], r.weights().shape());
                scope.copy(r.weights(), wt);
                Npy.write(Path.of(a.get("attn-weights")), wt);
                wrote += " and " + a.get("attn-weights") + " " + Arrays.toString(wt.shape());
            }
            out.printf(Locale.ROOT, "mha (%s naming, E=%d, Hq=%d, Hkv=%d, D=%d) on %s: wrote %s%n",
                    AttentionWeights.isPyTorchMha(src, a.get("prefix")) ? "nn.MultiheadAttention" : "Llama/HF", w.embed(),
                    w.heads(), w.kvHeads(), w.headDim(), b.device().id(), wrote);
            return b.device().id();
        }
    }

    /** {@code run bahdanau}. */
    static String bahdanau(Cli.Args a, PrintStream out) {
        Tensor enc = f32(a, "enc", 3, "[B, Sk, Dk]");
        Tensor dec = Cli.npy(a, "dec");
        if (dec.rank() == 2) {
            dec = dec.view(dec.offset(), new int[] {dec.dim(0), 1, dec.dim(1)}, new long[] {dec.stride(0), dec.dim(1),
                dec.stride(1)});
        }
        if (dec.rank() != 3 || dec.dtype() != DType.F32) {
            throw new Cli.UsageException("--dec " + a.get("dec") + ": expected <f4 [B, Sq, Dq] or [B, Dq], got "
                    + dec.dtype() + " " + Arrays.toString(dec.shape()));
        }
        a.required("out");
        WeightSource src = WeightSource.open(Path.of(a.required("weights")));
        String p = a.has("prefix") ? a.get("prefix") : "";
        Tensor wa = need(src, p + "Wa.weight", 2), ua = need(src, p + "Ua.weight", 2), va = need(src, p + "Va.weight", 2);
        int dimA = wa.dim(0);
        check(src, p + "Ua.weight", ua, new int[] {dimA, enc.dim(2)});
        check(src, p + "Va.weight", va, new int[] {1, dimA});
        check(src, p + "Wa.weight", wa, new int[] {dimA, dec.dim(2)});
        Tensor bias = null;
        for (String n : new String[] {"Wa.bias", "Ua.bias"}) {
            if (src.has(p + n)) {
                Tensor t = src.get(p + n);
                check(src, p + n, t, new int[] {dimA});
                float[] sum = bias == null ? new float[dimA] : bias.toFloatArray();
                float[] add = t.toFloatArray();
                for (int i = 0; i < dimA; i++) {
                    sum[i] += add[i];
                }
                bias = Tensor.of(sum, dimA);
            }
        }
        Tensor w = Tensor.of(va.toFloatArray(), dimA);
        try (Backend b = Cli.backend(a); Scope scope = b.newScope()) {
            AdditiveAttention att = AdditiveAttention.create(scope, DType.F32, wa, ua, w, bias);
            AdditiveAttention.Encoded e = a.has("lengths") ? att.encode(enc, a.ints("lengths")) : att.encode(enc);
            AdditiveAttention.Result r = att.forward(e, dec);
            Tensor c = Tensor.of(new float[(int) r.context().numel()], r.context().shape());
            scope.copy(r.context(), c);
            Npy.write(Path.of(a.get("out")), c);
            String wrote = a.get("out") + " " + Arrays.toString(c.shape());
            if (a.has("alignment")) {
                int bn = r.weights().dim(0), sq = r.weights().dim(1), sk = r.weights().dim(2);
                Tensor al = Tensor.of(new float[bn * sq * sk], bn, 1, sq, sk);
                scope.copy(r.weights(), al.view(0, new int[] {bn, sq, sk}, new long[] {(long) sq * sk, sk, 1}));
                Npy.write(Path.of(a.get("alignment")), al);
                wrote += " and " + a.get("alignment") + " " + Arrays.toString(al.shape());
            }
            out.printf(Locale.ROOT, "bahdanau (A=%d) on %s: wrote %s%n", dimA, b.device().id(), wrote);
            return b.device().id();
        }
    }

    private static Tensor need(WeightSource src, String name, int rank) {
        if (!src.has(name)) {
            throw new IllegalArgumentException(src.file() + ": tensor '" + name + "' not found (Bahdanau naming: Wa.weight,"
                    + " Ua.weight, Va.weight, optional Wa.bias, Ua.bias); the file has " + src.names());
        }
        Tensor t = src.get(name);
        if (t.rank() != rank) {
            throw new IllegalArgumentException(src.file() + ": tensor '" + name + "': expected rank " + rank + ", got shape "
                    + Arrays.toString(t.shape()));
        }
        return t.dtype() == DType.F32 ? t : Tensor.of(t.toFloatArray(), t.shape());
    }

    private static void check(WeightSource src, String name, Tensor t, int[] want) {
        if (!Arrays.equals(t.shape(), want)) {
            throw new IllegalArgumentException(src.file() + ": tensor '" + name + "': expected shape " + Arrays.toString(want)
                    + ", got " + Arrays.toString(t.shape()));
        }
    }
}
