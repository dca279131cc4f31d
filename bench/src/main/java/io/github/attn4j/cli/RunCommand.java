package io.github.attn4j.cli;

import io.github.attn4j.AdditiveBackwardParams;
import io.github.attn4j.AdditiveParams;
import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.HostMemory;
import io.github.attn4j.KvAppendParams;
import io.github.attn4j.Layout;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.MergeParams;
import io.github.attn4j.PagedKv;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.npy.Npy;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code attn4j run sdpa|softmax|additive|additive-backward|sdpa-backward|merge|kv-append ...}: runs one op on .npy inputs and writes .npy outputs.
 * Data files are {@code <f4} or {@code <f2}; masks {@code |b1}; bias and ALiBi slopes {@code <f4}.
 */
public final class RunCommand {
    private RunCommand() {}

    public static final String USAGE = """
            usage: attn4j run sdpa --backend NAME --q Q.npy --k K.npy --v V.npy --out O.npy
                     [--lse LSE.npy] [--layout bhsd|bshd] [--scale X] [--softcap C] [--sinks S.npy] [MASK FLAGS]
                   attn4j run sdpa ... --k-cache KC.npy --v-cache VC.npy --block-table BT.npy --kv-lengths n,n,..
                     (paged KV instead of --k/--v: KC [pages, pageSize, Hkv, D], VC [pages, pageSize, Hkv, Dv],
                     BT <i4 [B, maxPages]; Sk = max(kv-lengths))
                   attn4j run softmax --backend NAME --x X.npy --out Y.npy [--scale X] [MASK FLAGS]
                   attn4j run additive --backend NAME --q Q.npy --k K.npy --v V.npy --w W.npy --out C.npy
                     [--b B.npy] [--wq WQ.npy --wk WK.npy] [--weights A.npy] [MASK FLAGS]
                   attn4j run merge --backend NAME --o O1.npy,O2.npy[,..] --lse L1.npy,L2.npy[,..] --out O.npy
                     [--lse-out L.npy]
                   attn4j run kv-append --backend NAME --k-cache KC.npy --v-cache VC.npy --block-table BT.npy
                     --k K.npy --v V.npy --start-positions n,n,.. [--append-lengths n,n,..]
                     --k-out KC2.npy --v-out VC2.npy
                   attn4j run additive-backward --backend NAME --q Q.npy --k K.npy --v V.npy --w W.npy [--b B.npy]
                     [--wq WQ.npy --wk WK.npy] --dout DC.npy --dq DQ.npy --dk DK.npy --dv DV.npy --dw DW.npy
                     [--db DB.npy] [--dwq DWQ.npy --dwk DWK.npy] [--out C.npy] [MASK FLAGS]
                   attn4j run sdpa-backward --backend NAME --q Q.npy --k K.npy --v V.npy --dout DO.npy
                     --dq DQ.npy --dk DK.npy --dv DV.npy [--dbias DB.npy] [--out O.npy] [--lse LSE.npy]
                     [--layout bhsd|bshd] [--scale X] [--softcap C] [MASK FLAGS]
            MASK FLAGS: [--align top-left|bottom-right] [--causal] [--window L,R] [--kv-lengths n,n,..]
                        [--q-lengths n,n,..] [--mask M.npy] [--bias BIAS.npy] [--alibi SLOPES.npy]
            With --wq/--wk, --q/--k are the raw inputs (Qp = Q Wq^T, Kp = K Wk^T); for additive-backward
            --dq/--dk are then the gradients of those raw inputs. The backward needs no forward output;
            with --out it runs the forward first and writes C too. sdpa-backward runs the forward itself
            (for O and LSE, written with --out/--lse), then the backward; --dbias (F32, the bias's shape,
            summed over its broadcast dims) needs --bias.
            Without --backend the best available backend runs (cuda > opencl > cpu).
            The attention layers (projections, RoPE, cache; weights from .safetensors):
            """ + LayerCommand.USAGE;

    private static final Set<String> SDPA = Cli.names(Cli.MASK_FLAGS, "backend", "q", "k", "v", "out", "lse",
            "layout", "scale", "softcap", "sinks", "k-cache", "v-cache", "block-table");
    private static final Set<String> SOFTMAX = Cli.names(Cli.MASK_FLAGS, "backend", "x", "out", "scale");
    private static final Set<String> ADDITIVE = Cli.names(Cli.MASK_FLAGS, "backend", "q", "k", "v", "w", "out", "b",
            "wq", "wk", "weights");
    private static final Set<String> MERGE = Set.of("backend", "o", "lse", "out", "lse-out");
    private static final Set<String> KV_APPEND = Set.of("backend", "k-cache", "v-cache", "block-table", "k", "v",
            "start-positions", "append-lengths", "k-out", "v-out");
    private static final Set<String> ADDITIVE_BACKWARD = Cli.names(Cli.MASK_FLAGS, "backend", "q", "k", "v", "w", "b",
            "wq", "wk", "dout", "dq", "dk", "dv", "dw", "db", "dwq", "dwk", "out");
    private static final Set<String> SDPA_BACKWARD = Cli.names(Cli.MASK_FLAGS, "backend", "q", "k", "v", "out", "lse",
            "layout", "scale", "softcap", "dout", "dq", "dk", "dv", "dbias");
    private static final Set<String> BOOL = Set.of("causal", "help");

    /** Runs the command on the arguments after {@code run}; returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return Cli.guard("run", err, () -> {
            if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
                (args.length == 0 ? err : out).println(USAGE);
                return args.length == 0 ? Cli.USAGE : Cli.OK;
            }
            String op = args[0];
            String[] rest = Arrays.copyOfRange(args, 1, args.length);
            if (op.equals("mha") || op.equals("bahdanau")) {
                Cli.Args la = Cli.parse(rest, op.equals("mha") ? LayerCommand.MHA : LayerCommand.BAHDANAU, BOOL);
                if (la.has("help")) {
                    out.println(USAGE);
                    return Cli.OK;
                }
                if (!la.positional().isEmpty()) {
                    throw new Cli.UsageException("unexpected argument '" + la.positional().get(0) + "'");
                }
                if (op.equals("mha")) {
                    LayerCommand.mha(la, out);
                } else {
                    LayerCommand.bahdanau(la, out);
                }
                return Cli.OK;
            }
            Set<String> flags = switch (op) {
                case "sdpa" -> SDPA;
                case "softmax" -> SOFTMAX;
                case "additive" -> ADDITIVE;
                case "merge" -> MERGE;
                case "kv-append" -> KV_APPEND;
                case "additive-backward" -> ADDITIVE_BACKWARD;
                case "sdpa-backward" -> SDPA_BACKWARD;
                default -> throw new Cli.UsageException("unknown op '" + op
                        + "': expected sdpa, softmax, additive, additive-backward, sdpa-backward, merge, kv-append, mha or bahdanau");
            };
            Cli.Args a = Cli.parse(rest, flags, BOOL);
            if (a.has("help")) {
                out.println(USAGE);
                return Cli.OK;
            }
            if (!a.positional().isEmpty()) {
                throw new Cli.UsageException("unexpected argument '" + a.positional().get(0) + "'");
            }
            long t0 = System.nanoTime();
            Prepared p = switch (op) {
                case "sdpa" -> sdpa(a);
                case "softmax" -> softmax(a);
                case "merge" -> merge(a);
                case "kv-append" -> kvAppend(a);
                case "additive-backward" -> additiveBackward(a);
                case "sdpa-backward" -> sdpaBackward(a);
                default -> additive(a);
            };
            String where = execute(a, p);
            out.printf(Locale.ROOT, "%s on %s: wrote %s (%.1f ms)%n", op, where, p.written, (System.nanoTime() - t0) / 1e6);
            return Cli.OK;
        });
    }

    /** An op ready to run, and what to write afterwards. */
    private static final class Prepared {
        io.github.attn4j.OpParams params;
        /** An op run first (the forward of a backward), or null. */
        io.github.attn4j.OpParams first;
        Runnable write;
        String written;

        /** Writes outs[i] (when not null) to the file of flag names[i], and says so. */
        void outputs(Cli.Args a, String[] names, Tensor[] outs) {
            write = () -> {
                for (int i = 0; i < names.length; i++) {
                    if (outs[i] != null) {
                        Npy.write(Path.of(a.get(names[i])), outs[i]);
                    }
                }
            };
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < names.length; i++) {
                if (outs[i] != null) {
                    sb.append(sb.length() == 0 ? "" : ", ").append(a.get(names[i])).append(' ')
                            .append(Arrays.toString(outs[i].shape()));
                }
            }
            written = sb.toString();
        }
    }

    private static String execute(Cli.Args a, Prepared p) {
        try (Backend b = Cli.backend(a)) {
            if (p.first != null) {
                b.run(p.first);
            }
            b.run(p.params);
            p.write.run();
            return b.device().id();
        }
    }

    /** Reads a data tensor: F32 or F16. */
    private static Tensor data(Cli.Args a, String flag) {
        Tensor t = Cli.npy(a, flag);
        if (t.dtype() != DType.F32 && t.dtype() != DType.F16) {
            throw new Cli.UsageException("--" + flag + " " + a.get(flag) + ": expected <f4 or <f2 data, got "
                    + t.dtype());
        }
        return t;
    }

    private static Tensor rank(Cli.Args a, String flag, Tensor t, int rank, String dims) {
        if (t.rank() != rank) {
            throw new Cli.UsageException("--" + flag + " " + a.get(flag) + ": expected a " + rank + "-D array "
                    + dims + ", got shape " + Arrays.toString(t.shape()));
        }
        return t;
    }

    /** A new contiguous host tensor. */
    private static Tensor alloc(DType t, int... shape) {
        int n = Math.toIntExact(Tensor.numel(shape));
        HostMemory m = switch (t) {
            case F32 -> HostMemory.of(new float[n]);
            case F16, BF16 -> HostMemory.of(new short[n]);
            default -> throw new IllegalArgumentException("dtype: expected F32 or F16, got " + t);
        };
        return Tensor.of(m, t, shape, Tensor.contiguousStrides(shape), 0);
    }

    /** The logical [B, H, S, D] view of a stored array in a layout (BSHD files are [B, S, H, D]). */
    private static Tensor logical(Tensor stored, Layout layout) {
        if (layout == Layout.BHSD) {
            return stored;
        }
        int b = stored.dim(0), s = stored.dim(1), h = stored.dim(2), d = stored.dim(3);
        return stored.view(stored.offset(), new int[] {b, h, s, d}, layout.strides(b, h, s, d));
    }

    /**
     * {@code run sdpa-backward}: the forward (O, LSE) first, then the gradients, with the same
     * flags as {@code run sdpa}; dQ, dK, dV are written in the inputs' layout.
     */
    private static Prepared sdpaBackward(Cli.Args a) {
        Layout layout = layout(a);
        String dims = layout == Layout.BHSD ? "[B, H, S, D]" : "[B, S, H, D]";
        Tensor q = logical(rank(a, "q", data(a, "q"), 4, dims), layout);
        Tensor k = logical(rank(a, "k", data(a, "k"), 4, dims), layout);
        Tensor v = logical(rank(a, "v", data(a, "v"), 4, dims), layout);
        Tensor dout = logical(rank(a, "dout", data(a, "dout"), 4, dims), layout);
        for (String f : new String[] {"dq", "dk", "dv"}) {
            a.required(f);
        }
        io.github.attn4j.Masks m = Cli.masks(a);
        if (a.has("dbias") && m.bias() == null) {
            throw new Cli.UsageException("--dbias: only with a bias (--bias)");
        }
        int b = q.dim(0), hq = q.dim(1), sq = q.dim(2), dv = v.dim(3);
        DType t = q.dtype();
        Tensor[] stored = new Tensor[4];
        Tensor[] logical = new Tensor[4];
        Tensor[] like = {q, k, v, dout};
        for (int i = 0; i < 4; i++) {
            int[] s = i == 3 ? new int[] {b, hq, sq, dv} : like[i].shape();
            stored[i] = layout == Layout.BHSD ? alloc(t, s) : alloc(t, s[0], s[2], s[1], s[3]);
            logical[i] = logical(stored[i], layout);
        }
        Tensor dq = logical[0], dk = logical[1], dvt = logical[2], o = logical[3];
        Tensor lse = alloc(DType.F32, b, hq, sq);
        Tensor dbias = a.has("dbias") ? alloc(DType.F32, m.bias().shape()) : null;
        SdpaBackwardParams.Builder p = SdpaBackwardParams.builder(q, k, v, o, dout, lse, dq, dk, dvt).masks(m)
                .dbias(dbias);
        if (a.has("scale")) {
            p.scale(a.floatValue("scale"));
        }
        if (a.has("softcap")) {
            p.softcap(a.floatValue("softcap"));
        }
        SdpaBackwardParams bp = p.build();
        Prepared r = new Prepared();
        r.first = bp.forward();
        r.params = bp;
        String[] names = {"dq", "dk", "dv", "out", "lse", "dbias"};
        Tensor[] outs = {stored[0], stored[1], stored[2], a.has("out") ? stored[3] : null, a.has("lse") ? lse : null,
            dbias};
        r.outputs(a, names, outs);
        return r;
    }

    private static Layout layout(Cli.Args a) {
        try {
            return a.has("layout") ? Layout.parse(a.get("layout")) : Layout.BHSD;
        } catch (IllegalArgumentException e) {
            throw new Cli.UsageException("--" + e.getMessage());
        }
    }

    private static Prepared sdpa(Cli.Args a) {
        Layout layout = Layout.BHSD;
        if (a.has("layout")) {
            try {
                layout = Layout.parse(a.get("layout"));
            } catch (IllegalArgumentException e) {
                throw new Cli.UsageException("--" + e.getMessage());
            }
        }
        String dims = layout == Layout.BHSD ? "[B, H, S, D]" : "[B, S, H, D]";
        Tensor q = logical(rank(a, "q", data(a, "q"), 4, dims), layout);
        boolean paged = a.has("k-cache") || a.has("v-cache") || a.has("block-table");
        PagedKv cache = null;
        Tensor k = null, v = null;
        if (paged) {
            if (a.has("k") || a.has("v")) {
                throw new Cli.UsageException("--k/--v and --k-cache/--v-cache/--block-table: give one or the other");
            }
            if (!a.has("kv-lengths")) {
                throw new Cli.UsageException("--kv-lengths: required with a paged cache (the keys of each sequence)");
            }
            Tensor kc = rank(a, "k-cache", data(a, "k-cache"), 4, "[pages, pageSize, Hkv, D]");
            Tensor vc = rank(a, "v-cache", data(a, "v-cache"), 4, "[pages, pageSize, Hkv, Dv]");
            Tensor bt = rank(a, "block-table", Cli.npy(a, "block-table"), 2, "[B, maxPages]");
            if (bt.dtype() != DType.I32) {
                throw new Cli.UsageException("--block-table " + a.get("block-table") + ": expected <i4, got " + bt.dtype());
            }
            cache = new PagedKv(kc, vc, bt, Cli.masks(a).kvLengths());
        } else {
            k = logical(rank(a, "k", data(a, "k"), 4, dims), layout);
            v = logical(rank(a, "v", data(a, "v"), 4, dims), layout);
        }
        a.required("out");
        int b = q.dim(0), hq = q.dim(1), sq = q.dim(2), dv = paged ? cache.vCache().dim(3) : v.dim(3);
        Tensor oStored = layout == Layout.BHSD ? alloc(q.dtype(), b, hq, sq, dv) : alloc(q.dtype(), b, sq, hq, dv);
        Tensor o = logical(oStored, layout);
        Tensor lse = a.has("lse") ? alloc(DType.F32, b, hq, sq) : null;
        SdpaParams.Builder p = (paged ? SdpaParams.builder(q, cache, o) : SdpaParams.builder(q, k, v, o))
                .masks(Cli.masks(a)).lse(lse);
        if (a.has("sinks")) {
            Tensor s = Cli.npy(a, "sinks");
            if (s.dtype() != DType.F32) {
                throw new Cli.UsageException("--sinks " + a.get("sinks") + ": expected <f4 [Hq], got " + s.dtype());
            }
            p.sinks(rank(a, "sinks", s, 1, "[Hq]"));
        }
        if (a.has("scale")) {
            p.scale(a.floatValue("scale"));
        }
        if (a.has("softcap")) {
            p.softcap(a.floatValue("softcap"));
        }
        Prepared r = new Prepared();
        r.params = p.build();
        r.write = () -> {
            Npy.write(Path.of(a.get("out")), oStored);
            if (lse != null) {
                Npy.write(Path.of(a.get("lse")), lse);
            }
        };
        r.written = a.get("out") + " " + Arrays.toString(oStored.shape()) + (lse != null ? " and " + a.get("lse") : "");
        return r;
    }

    /** The comma-separated .npy files of a list flag, read in order. */
    private static List<Tensor> npyList(Cli.Args a, String flag) {
        List<Tensor> l = new ArrayList<>();
        for (String f : a.required(flag).split(",")) {
            if (f.isBlank()) {
                throw new Cli.UsageException("--" + flag + " " + a.get(flag) + ": expected FILE.npy[,FILE.npy..], got an empty name");
            }
            l.add(Npy.read(Path.of(f.trim())));
        }
        return l;
    }

    private static Prepared merge(Cli.Args a) {
        List<Tensor> os = npyList(a, "o"), ls = npyList(a, "lse");
        for (int i = 0; i < os.size(); i++) {
            Tensor o = os.get(i);
            if (o.dtype() != DType.F32 && o.dtype() != DType.F16) {
                throw new Cli.UsageException("--o " + a.get("o").split(",")[i] + ": expected <f4 or <f2 data, got " + o.dtype());
            }
            if (o.rank() != 4) {
                throw new Cli.UsageException("--o " + a.get("o").split(",")[i] + ": expected a 4-D array [B, H, S, Dv], got shape "
                        + Arrays.toString(o.shape()));
            }
        }
        a.required("out");
        Tensor first = os.get(0);
        Tensor out = alloc(first.dtype(), first.shape());
        Tensor lse = a.has("lse-out") ? alloc(DType.F32, first.dim(0), first.dim(1), first.dim(2)) : null;
        Prepared r = new Prepared();
        r.params = MergeParams.builder(os, ls, out).lse(lse).build();
        r.write = () -> {
            Npy.write(Path.of(a.get("out")), out);
            if (lse != null) {
                Npy.write(Path.of(a.get("lse-out")), lse);
            }
        };
        r.written = a.get("out") + " " + Arrays.toString(out.shape()) + (lse != null ? " and " + a.get("lse-out") : "");
        return r;
    }

    /**
     * KV append: the caches are read, the new rows written into them through the block table (int32
     * {@code <i4}), and the updated caches written to {@code --k-out} and {@code --v-out}.
     */
    private static Prepared kvAppend(Cli.Args a) {
        Tensor kc = rank(a, "k-cache", data(a, "k-cache"), 4, "[numPages, pageSize, Hkv, D]");
        Tensor vc = rank(a, "v-cache", data(a, "v-cache"), 4, "[numPages, pageSize, Hkv, Dv]");
        Tensor bt = rank(a, "block-table", Cli.npy(a, "block-table"), 2, "[B, maxPagesPerSeq]");
        Tensor k = rank(a, "k", data(a, "k"), 4, "[B, Hkv, Snew, D]");
        Tensor v = rank(a, "v", data(a, "v"), 4, "[B, Hkv, Snew, Dv]");
        a.required("start-positions");
        a.required("k-out");
        a.required("v-out");
        KvAppendParams.Builder p = KvAppendParams.builder(k, v, kc, vc, bt, a.ints("start-positions"));
        if (a.has("append-lengths")) {
            p.appendLengths(a.ints("append-lengths"));
        }
        Prepared r = new Prepared();
        r.params = p.build();
        r.write = () -> {
            Npy.write(Path.of(a.get("k-out")), kc);
            Npy.write(Path.of(a.get("v-out")), vc);
        };
        r.written = a.get("k-out") + " and " + a.get("v-out") + " " + Arrays.toString(kc.shape());
        return r;
    }

    private static Prepared softmax(Cli.Args a) {
        Tensor x = data(a, "x");
        if (x.rank() != 2 && x.rank() != 4) {
            throw new Cli.UsageException("--x " + a.get("x") + ": expected a 2-D [R, N] or 4-D [B, H, Sq, Sk] array, got shape "
                    + Arrays.toString(x.shape()));
        }
        a.required("out");
        Tensor y = alloc(x.dtype(), x.shape());
        SoftmaxParams.Builder p = SoftmaxParams.builder(x, y).masks(Cli.masks(a));
        if (a.has("scale")) {
            p.scale(a.floatValue("scale"));
        }
        Prepared r = new Prepared();
        r.params = p.build();
        r.write = () -> Npy.write(Path.of(a.get("out")), y);
        r.written = a.get("out") + " " + Arrays.toString(y.shape());
        return r;
    }

    private static Prepared additive(Cli.Args a) {
        if (a.has("wq") != a.has("wk")) {
            throw new Cli.UsageException("--wq and --wk: give both or neither");
        }
        Tensor q = rank(a, "q", data(a, "q"), 4, "[B, H, Sq, " + (a.has("wq") ? "Dq]" : "A]"));
        Tensor k = rank(a, "k", data(a, "k"), 4, "[B, H, Sk, " + (a.has("wk") ? "Dk]" : "A]"));
        Tensor v = rank(a, "v", data(a, "v"), 4, "[B, H, Sk, Dv]");
        Tensor w = rank(a, "w", data(a, "w"), 1, "[A]");
        a.required("out");
        Tensor c = alloc(v.dtype(), q.dim(0), q.dim(1), q.dim(2), v.dim(3));
        Tensor weights = a.has("weights") ? alloc(v.dtype(), q.dim(0), q.dim(1), q.dim(2), k.dim(2)) : null;
        AdditiveParams.Builder p = AdditiveParams.builder(q, k, v, w, c).masks(Cli.masks(a)).weights(weights);
        if (a.has("b")) {
            p.tanhBias(rank(a, "b", data(a, "b"), 1, "[A]"));
        }
        if (a.has("wq")) {
            p.projections(rank(a, "wq", data(a, "wq"), 2, "[A, Dq]"), rank(a, "wk", data(a, "wk"), 2, "[A, Dk]"));
        }
        Prepared r = new Prepared();
        r.params = p.build();
        r.write = () -> {
            Npy.write(Path.of(a.get("out")), c);
            if (weights != null) {
                Npy.write(Path.of(a.get("weights")), weights);
            }
        };
        r.written = a.get("out") + " " + Arrays.toString(c.shape()) + (weights != null ? " and " + a.get("weights") : "");
        return r;
    }

    private static Prepared additiveBackward(Cli.Args a) {
        if (a.has("wq") != a.has("wk")) {
            throw new Cli.UsageException("--wq and --wk: give both or neither");
        }
        if (a.has("dwq") != a.has("dwk")) {
            throw new Cli.UsageException("--dwq and --dwk: give both or neither");
        }
        if (a.has("dwq") && !a.has("wq")) {
            throw new Cli.UsageException("--dwq/--dwk: only with raw inputs (--wq/--wk)");
        }
        if (a.has("db") && !a.has("b")) {
            throw new Cli.UsageException("--db: only with a tanh bias (--b)");
        }
        Tensor q = rank(a, "q", data(a, "q"), 4, "[B, H, Sq, " + (a.has("wq") ? "Dq]" : "A]"));
        Tensor k = rank(a, "k", data(a, "k"), 4, "[B, H, Sk, " + (a.has("wk") ? "Dk]" : "A]"));
        Tensor v = rank(a, "v", data(a, "v"), 4, "[B, H, Sk, Dv]");
        Tensor w = rank(a, "w", data(a, "w"), 1, "[A]");
        Tensor dc = rank(a, "dout", data(a, "dout"), 4, "[B, H, Sq, Dv]");
        for (String f : new String[] {"dq", "dk", "dv", "dw"}) {
            a.required(f);
        }
        DType t = v.dtype();
        Tensor dq = alloc(t, q.shape()), dk = alloc(t, k.shape()), dv = alloc(t, v.shape()), dw = alloc(t, w.shape());
        Tensor db = a.has("db") ? alloc(t, w.shape()) : null;
        Tensor wq = a.has("wq") ? rank(a, "wq", data(a, "wq"), 2, "[A, Dq]") : null;
        Tensor wk = a.has("wk") ? rank(a, "wk", data(a, "wk"), 2, "[A, Dk]") : null;
        Tensor dwq = a.has("dwq") ? alloc(t, wq.shape()) : null;
        Tensor dwk = a.has("dwk") ? alloc(t, wk.shape()) : null;
        AdditiveBackwardParams.Builder p = AdditiveBackwardParams.builder(q, k, v, w, dc, dq, dk, dv, dw)
                .masks(Cli.masks(a)).tanhBiasGrad(db);
        if (a.has("b")) {
            p.tanhBias(rank(a, "b", data(a, "b"), 1, "[A]"));
        }
        if (wq != null) {
            p.projections(wq, wk).projectionGrads(dwq, dwk);
        }
        Prepared r = new Prepared();
        AdditiveBackwardParams bp = p.build();
        r.params = bp;
        Tensor c = a.has("out") ? alloc(t, q.dim(0), q.dim(1), q.dim(2), v.dim(3)) : null;
        r.first = c == null ? null : bp.forward(c);
        String[] names = {"out", "dq", "dk", "dv", "dw", "db", "dwq", "dwk"};
        Tensor[] outs = {c, dq, dk, dv, dw, db, dwq, dwk};
        r.outputs(a, names, outs);
        return r;
    }
}
