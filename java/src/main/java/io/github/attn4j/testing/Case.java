package io.github.attn4j.testing;

import io.github.attn4j.Alignment;
import io.github.attn4j.DType;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * One test case: an op, its dims, storage, options, special data and a seed. A case is a value
 * (ggml {@code test-backend-ops} style): it holds no tensors; {@link CaseRunner} draws the inputs
 * from {@link #seed()} and runs it. {@link #name()} names every option that differs from the
 * default, so a failing case can be rebuilt from its name alone.
 *
 * <p>Dims by op:
 * <ul>
 *   <li>SDPA: Q {@code [batch, heads, seqQ, dim]}, K {@code [batch, headsKv, seqK, dim]},
 *       V {@code [batch, headsKv, seqK, dimV]}.
 *   <li>SOFTMAX, SOFTMAX_BACKWARD: X {@code [batch, heads, seqQ, seqK]} ({@code dim}, {@code dimV}
 *       unused); with {@link Flag#TWO_D} a 2-D {@code [batch*heads*seqQ, seqK]} tensor.
 *   <li>ADDITIVE: Qp {@code [batch, heads, seqQ, dim]}, Kp {@code [batch, heads, seqK, dim]}
 *       ({@code dim} is A), V {@code [batch, heads, seqK, dimV]}; with {@link Flag#RAW} Q is
 *       {@code [.., rawDimQ]} and K {@code [.., rawDimK]} with weights {@code [A, rawDim*]}.
 *   <li>MERGE: {@code dim} partial outputs O_i {@code [batch, heads, seqQ, dimV]} with their LSEs
 *       {@code [batch, heads, seqQ]} ({@code seqK} unused); {@link Flag#LSE} also writes the merged LSE.
 *   <li>KV_APPEND: new rows K {@code [batch, heads, seqQ, dim]}, V {@code [batch, heads, seqQ, dimV]}
 *       into paged caches of page size {@code seqK}; {@code kvLengths} makes the batch ragged
 *       (per-sequence append lengths).
 * </ul>
 */
public record Case(Op op, DType dtype, int batch, int heads, int headsKv, int seqQ, int seqK, int dim, int dimV,
        int rawDimQ, int rawDimK, Storage storage, Alignment alignment, int windowLeft, int windowRight,
        boolean kvLengths, boolean qLengths, MaskShape boolMask, MaskShape bias, AlibiShape alibi, float softcap,
        float scale, Special special, Set<Flag> flags, int sampledRows, long seed) {

    /** The ops. */
    public enum Op {
        /** Scaled dot-product attention. */
        SDPA("sdpa"),
        /** Masked softmax. */
        SOFTMAX("softmax"),
        /** Masked softmax backward. */
        SOFTMAX_BACKWARD("softmax_backward"),
        /** Additive attention. */
        ADDITIVE("additive"),
        /** The SDPA backward (same dims and options as SDPA; dBias whenever a bias is present). */
        SDPA_BACKWARD("sdpa_backward"),
        /** Merge of attention states. */
        MERGE("merge"),
        /** KV append into paged caches. */
        KV_APPEND("kv_append"),
        /** The batched GEMM: {@code batch} products of {@code [seqQ, dim] . [dim, seqK]} (M, K, N). */
        GEMM("gemm"),
        /** Rotary position embedding: x {@code [batch, heads, seqQ, dim]}, position offset {@code seqK}, theta {@code scale}. */
        ROPE("rope");

        private final String id;

        Op(String id) {
            this.id = id;
        }

        /** The op name used by {@code OpParams.op()} and the CLI ({@code sdpa}, {@code softmax}, ...). */
        public String id() {
            return id;
        }

        /** Parses an op id, also {@code softmax-backward} / {@code softmax_bwd}. */
        public static Op parse(String s) {
            String n = s.trim().toLowerCase(Locale.ROOT).replace('-', '_');
            if (n.equals("softmax_bwd")) {
                return SOFTMAX_BACKWARD;
            }
            if (n.equals("sdpa_bwd")) {
                return SDPA_BACKWARD;
            }
            for (Op o : values()) {
                if (o.id.equals(n)) {
                    return o;
                }
            }
            throw new IllegalArgumentException("op: expected sdpa, softmax, softmax_backward, additive, sdpa_backward, merge, kv_append, gemm or rope, got '" + s + "'");
        }
    }

    /** How the 4-D data tensors are laid out in memory. */
    public enum Storage {
        /** {@code [B, H, S, D]} contiguous. */
        BHSD,
        /** {@code [B, S, H, D]} contiguous. */
        BSHD,
        /** BHSD with padding after every row, head and batch: explicit non-contiguous strides. */
        PADDED
    }

    /** Which broadcast shape a boolean mask or bias has (NONE = absent). */
    public enum MaskShape {
        /** Absent. */
        NONE(""),
        /** {@code [B, H, Sq, Sk]}. */
        FULL("bhqk"),
        /** {@code [B, 1, Sq, Sk]}. */
        BATCH("b1qk"),
        /** {@code [1, H, Sq, Sk]}. */
        HEADS("1hqk"),
        /** {@code [1, 1, Sq, Sk]}. */
        SHARED("11qk"),
        /** {@code [Sq, Sk]}. */
        TWO_D("qk");

        final String tag;

        MaskShape(String tag) {
            this.tag = tag;
        }
    }

    /** ALiBi slopes: absent, {@code [H]} or {@code [B, H]}. */
    public enum AlibiShape {
        /** Absent. */
        NONE,
        /** {@code [H]}. */
        H,
        /** {@code [B, H]}. */
        BH
    }

    /** Special input data. */
    public enum Special {
        /** Uniform values in [-1, 1], no zeros. */
        NONE,
        /** Logits of about +-1e4 after scaling (SDPA: scale raised; softmax: X; additive: w raised). */
        LARGE,
        /** A NaN in an input at a position that unmasked pairs read: it must reach the output. */
        NAN_READ,
        /** NaN in K and V rows that are masked (beyond kvLengths): it must not reach the output. */
        NAN_MASKED,
        /** Some rows fully masked: a batch with kvLength 0 and bool-mask rows that are all false. */
        FULLY_MASKED
    }

    /** Op-specific switches. */
    public enum Flag {
        /** SDPA: also write the LSE. */
        LSE,
        /** Softmax: Y is X; backward: dX is dY. */
        IN_PLACE,
        /** Softmax, backward: a 2-D {@code [R, N]} input. */
        TWO_D,
        /** Additive: raw inputs with projection weights. */
        RAW,
        /** Additive: the bias vector b[A]. */
        ADD_BIAS,
        /** Additive: also write the attention weights. */
        WEIGHTS,
        /** Additive: the backward ({@code AdditiveBackwardParams}) from a drawn dOut instead of the forward. */
        BACKWARD,
        /** SDPA: per-head sink logits (one head's sink dominates its rows). */
        SINKS,
        /**
         * SDPA: K and V in a paged cache of {@link #pageSize()} rows per page, shuffled pages, NaN in
         * every unused slot and garbage in every unused table entry (kv lengths always present).
         */
        PAGED,
        /** GEMM: A stored transposed, {@code [batch, K, M]}. */
        TRANS_A,
        /** GEMM: B stored transposed, {@code [batch, N, K]}. */
        TRANS_B,
        /** GEMM: beta = 0.5 (C is read; alpha is the case's scale, or 1). */
        BETA,
        /** GEMM: one B {@code [K, N]} (rank 2) shared by every product. */
        SHARED_B,
        /** RoPE: the inverse rotation (the backward). */
        INVERSE
    }

    /** The page size of a {@link Flag#PAGED} case: {@code clamp(Sk / 3, 1, 16)}. */
    public int pageSize() {
        return Math.max(1, Math.min(16, seqK / 3));
    }

    /** Requires an op and a dtype and copies the flags. */
    public Case {
        Objects.requireNonNull(op, "op");
        Objects.requireNonNull(dtype, "dtype");
        flags = flags.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(flags));
    }

    /** The default seed of every case. */
    public static final long DEFAULT_SEED = 20240607L;

    /** A builder with every option at its default. */
    public static Builder builder(Op op) {
        return new Builder(op);
    }

    /** A builder seeded with this case. */
    public Builder toBuilder() {
        Builder b = new Builder(op);
        b.dtype = dtype;
        b.batch = batch;
        b.heads = heads;
        b.headsKv = headsKv;
        b.seqQ = seqQ;
        b.seqK = seqK;
        b.dim = dim;
        b.dimV = dimV;
        b.rawDimQ = rawDimQ;
        b.rawDimK = rawDimK;
        b.storage = storage;
        b.alignment = alignment;
        b.windowLeft = windowLeft;
        b.windowRight = windowRight;
        b.kvLengths = kvLengths;
        b.qLengths = qLengths;
        b.boolMask = boolMask;
        b.bias = bias;
        b.alibi = alibi;
        b.softcap = softcap;
        b.scale = scale;
        b.special = special;
        b.flags = flags.isEmpty() ? EnumSet.noneOf(Flag.class) : EnumSet.copyOf(flags);
        b.sampledRows = sampledRows;
        b.seed = seed;
        return b;
    }

    /** The same case with another seed. */
    public Case withSeed(long s) {
        return toBuilder().seed(s).build();
    }

    /** True when flag {@code f} is set. */
    public boolean has(Flag f) {
        return flags.contains(f);
    }

    /** True when any mask option is present. */
    public boolean masked() {
        return windowLeft >= 0 || windowRight >= 0 || kvLengths || qLengths || boolMask != MaskShape.NONE
                || bias != MaskShape.NONE || alibi != AlibiShape.NONE || special == Special.FULLY_MASKED;
    }

    /** Number of multiply-adds of the reference, a rough cost for ordering and pruning. */
    public long cost() {
        long rows = (long) batch * heads * seqQ;
        return switch (op) {
            case SDPA -> rows * seqK * (dim + dimV);
            case SDPA_BACKWARD -> 3 * rows * seqK * (dim + dimV);
            case SOFTMAX, SOFTMAX_BACKWARD -> rows * seqK;
            case MERGE -> rows * dimV * dim;
            case KV_APPEND -> rows * (dim + dimV);
            case ADDITIVE -> (has(Flag.BACKWARD) ? 3 : 1) * rows * seqK * (dim + dimV) + (has(Flag.RAW) ? (long) batch * heads * (seqQ * rawDimQ
                    + seqK * rawDimK) * dim : 0);
            case GEMM -> (long) batch * seqQ * seqK * dim;
            case ROPE -> (long) batch * heads * seqQ * dim;
        };
    }

    /**
     * The case's name, vars-style: {@code sdpa(type=f32,B=2,Hq=4,Hkv=2,Sq=7,Sk=17,D=64,Dv=64,causal,seed=7)}.
     * Options at their defaults are left out.
     */
    public String name() {
        StringBuilder s = new StringBuilder(op.id).append("(type=").append(dtype.name().toLowerCase(Locale.ROOT));
        if (op == Op.ROPE) {
            s.append(",B=").append(batch).append(",H=").append(heads).append(",S=").append(seqQ).append(",D=").append(dim)
                    .append(",off=").append(seqK);
        } else if (op == Op.GEMM) {
            s.append(",B=").append(batch).append(",M=").append(seqQ).append(",N=").append(seqK).append(",K=").append(dim);
        } else if (op == Op.MERGE) {
            s.append(",B=").append(batch).append(",H=").append(heads).append(",S=").append(seqQ).append(",Dv=")
                    .append(dimV).append(",parts=").append(dim);
        } else if (op == Op.KV_APPEND) {
            s.append(",B=").append(batch).append(",Hkv=").append(heads).append(",Snew=").append(seqQ).append(",page=")
                    .append(seqK).append(",D=").append(dim).append(",Dv=").append(dimV);
        } else if (has(Flag.TWO_D)) {
            s.append(",R=").append((long) batch * heads * seqQ).append(",N=").append(seqK);
        } else {
            s.append(",B=").append(batch);
            if (op == Op.SDPA || op == Op.SDPA_BACKWARD) {
                s.append(",Hq=").append(heads).append(",Hkv=").append(headsKv);
            } else {
                s.append(",H=").append(heads);
            }
            s.append(",Sq=").append(seqQ).append(",Sk=").append(seqK);
        }
        if (op == Op.SDPA || op == Op.SDPA_BACKWARD) {
            s.append(",D=").append(dim).append(",Dv=").append(dimV);
        } else if (op == Op.ADDITIVE) {
            s.append(",A=").append(dim).append(",Dv=").append(dimV);
            if (has(Flag.RAW)) {
                s.append(",raw=").append(rawDimQ).append('x').append(rawDimK);
            }
        }
        if (storage != Storage.BHSD) {
            s.append(",layout=").append(storage.name().toLowerCase(Locale.ROOT));
        }
        if (alignment != Alignment.BOTTOM_RIGHT) {
            s.append(",align=tl");
        }
        if (windowLeft == -1 && windowRight == 0) {
            s.append(",causal");
        } else if (windowLeft >= 0 || windowRight >= 0) {
            s.append(",win=").append(windowLeft).append(':').append(windowRight);
        }
        if (kvLengths && op == Op.KV_APPEND) {
            s.append(",ragged");
        } else if (kvLengths) {
            s.append(",kvlen");
        }
        if (qLengths) {
            s.append(",qlen");
        }
        if (boolMask != MaskShape.NONE) {
            s.append(",mask=").append(boolMask.tag);
        }
        if (bias != MaskShape.NONE) {
            s.append(",bias=").append(bias.tag);
        }
        if (alibi != AlibiShape.NONE) {
            s.append(",alibi=").append(alibi.name().toLowerCase(Locale.ROOT));
        }
        if (softcap > 0) {
            s.append(",softcap=").append(fmt(softcap));
        }
        if (!Float.isNaN(scale)) {
            s.append(op == Op.ROPE ? ",theta=" : ",scale=").append(fmt(scale));
        }
        if (special != Special.NONE) {
            s.append(",").append(special.name().toLowerCase(Locale.ROOT).replace('_', '-'));
        }
        for (Flag f : EnumSet.copyOf(flags.isEmpty() ? EnumSet.noneOf(Flag.class) : flags)) {
            if (f != Flag.RAW && f != Flag.TWO_D) {
                s.append(',').append(f.name().toLowerCase(Locale.ROOT).replace('_', '-'));
            }
        }
        if (has(Flag.TWO_D)) {
            s.append(",2d");
        }
        if (sampledRows > 0) {
            s.append(",rows=").append(sampledRows);
        }
        return s.append(",seed=").append(seed).append(')').toString();
    }

    private static String fmt(float f) {
        return f == Math.rint(f) && Math.abs(f) < 1e6 ? Integer.toString((int) f) : Float.toString(f);
    }

    @Override
    public String toString() {
        return name();
    }

    /** Builder with defaults: F32, B=1, H=Hkv=1, S=1, D=Dv=16, BHSD, bottom-right, no masks, default scale. */
    public static final class Builder {
        private final Op op;
        private DType dtype = DType.F32;
        private int batch = 1, heads = 1, headsKv = 1, seqQ = 1, seqK = 1, dim = 16, dimV = 16, rawDimQ, rawDimK;
        private Storage storage = Storage.BHSD;
        private Alignment alignment = Alignment.BOTTOM_RIGHT;
        private int windowLeft = -1, windowRight = -1;
        private boolean kvLengths, qLengths;
        private MaskShape boolMask = MaskShape.NONE, bias = MaskShape.NONE;
        private AlibiShape alibi = AlibiShape.NONE;
        private float softcap;
        private float scale = Float.NaN;
        private Special special = Special.NONE;
        private EnumSet<Flag> flags = EnumSet.noneOf(Flag.class);
        private int sampledRows;
        private long seed = DEFAULT_SEED;

        Builder(Op op) {
            this.op = op;
        }

        /** The storage dtype of the data tensors. */
        public Builder dtype(DType t) {
            dtype = t;
            return this;
        }

        /** Batch and heads (SDPA: Hq = Hkv = h). */
        public Builder bh(int b, int h) {
            batch = b;
            heads = h;
            headsKv = h;
            return this;
        }

        /** SDPA heads: {@code hq} query heads, {@code hkv} kv heads. */
        public Builder heads(int hq, int hkv) {
            heads = hq;
            headsKv = hkv;
            return this;
        }

        /** Query length {@code sq} and key length {@code sk}. */
        public Builder seq(int sq, int sk) {
            seqQ = sq;
            seqK = sk;
            return this;
        }

        /** Head dims (additive: A and Dv). */
        public Builder dims(int d, int dv) {
            dim = d;
            dimV = dv;
            return this;
        }

        /** Additive raw inputs of widths {@code dq}, {@code dk}. */
        public Builder raw(int dq, int dk) {
            rawDimQ = dq;
            rawDimK = dk;
            flags.add(Flag.RAW);
            return this;
        }

        /** How the data tensors are laid out in memory. */
        public Builder storage(Storage s) {
            storage = s;
            return this;
        }

        /** The causal/window alignment. */
        public Builder alignment(Alignment a) {
            alignment = a;
            return this;
        }

        /** A window of {@code l} keys left and {@code r} right of the diagonal; -1 = unbounded. */
        public Builder window(int l, int r) {
            windowLeft = l;
            windowRight = r;
            return this;
        }

        /** The window {@code (-1, 0)}. */
        public Builder causal() {
            return window(-1, 0);
        }

        /** Seeded per-batch key lengths. */
        public Builder kvLengths(boolean on) {
            kvLengths = on;
            return this;
        }

        /** Seeded per-batch query lengths. */
        public Builder qLengths(boolean on) {
            qLengths = on;
            return this;
        }

        /** A seeded boolean mask of broadcast shape {@code s}. */
        public Builder boolMask(MaskShape s) {
            boolMask = s;
            return this;
        }

        /** A seeded additive score bias of broadcast shape {@code s}. */
        public Builder bias(MaskShape s) {
            bias = s;
            return this;
        }

        /** Seeded ALiBi slopes of shape {@code s}. */
        public Builder alibi(AlibiShape s) {
            alibi = s;
            return this;
        }

        /** The SDPA softcap ({@code 0} = none). */
        public Builder softcap(float c) {
            softcap = c;
            return this;
        }

        /** An explicit scale; NaN means the op's default. */
        public Builder scale(float s) {
            scale = s;
            return this;
        }

        /** Special input data (large logits, NaNs, fully masked rows). */
        public Builder special(Special s) {
            special = s;
            return this;
        }

        /** Sets flag {@code f}. */
        public Builder flag(Flag f) {
            flags.add(f);
            return this;
        }

        /** Sets or clears flag {@code f}. */
        public Builder flag(Flag f, boolean on) {
            if (on) {
                flags.add(f);
            } else {
                flags.remove(f);
            }
            return this;
        }

        /** SDPA only: compare this many sampled rows instead of every row (for very long sequences). */
        public Builder sampledRows(int n) {
            sampledRows = n;
            return this;
        }

        /** The seed of the case's data. */
        public Builder seed(long s) {
            seed = s;
            return this;
        }

        /** The case (for ops other than SDPA, Hkv is H). */
        public Case build() {
            if (op != Op.SDPA && op != Op.SDPA_BACKWARD) {
                headsKv = heads;
            }
            return new Case(op, dtype, batch, heads, headsKv, seqQ, seqK, dim, dimV, rawDimQ, rawDimK, storage,
                    alignment, windowLeft, windowRight, kvLengths, qLengths, boolMask, bias, alibi, softcap, scale,
                    special, flags, sampledRows, seed);
        }
    }
}
