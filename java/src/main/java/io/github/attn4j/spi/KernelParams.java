package io.github.attn4j.spi;

import io.github.attn4j.AdditiveBackwardParams;
import io.github.attn4j.GemmParams;
import io.github.attn4j.RopeParams;
import io.github.attn4j.AdditiveParams;
import io.github.attn4j.KvAppendParams;
import io.github.attn4j.Masks;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.MergeParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxBackwardParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;

/**
 * Packs the op records into the structs of {@code kernels/attn_params.h}, byte for byte. This class
 * owns the field order; {@code KernelParamsTest} checks it against the header. Both device
 * backends pass the result as the first kernel argument.
 */
public final class KernelParams {
    private KernelParams() {}

    /** The {@code ATTN_F_*} bits of the {@code flags} field of every params struct (one per optional part). */
    public static final int F_BOOL_MASK = 0x01, F_BIAS = 0x02, F_ALIBI = 0x04, F_KV_LENGTHS = 0x08,
            F_Q_LENGTHS = 0x10, F_WINDOW = 0x20, F_LSE = 0x100, F_SOFTCAP = 0x200, F_WEIGHTS = 0x400,
            F_ADD_BIAS = 0x800, F_DB = 0x1000, F_DBIAS = 0x2000;

    /** {@code ATTN_F_SINKS}, {@code ATTN_F_PAGED}, {@code ATTN_F_ALIGN_KV} of {@code attn_sdpa_params.flags}. */
    public static final int F_SINKS = 0x10000, F_PAGED = 0x20000, F_ALIGN_KV = 0x40000;

    private static final double LOG2E = 1.4426950408889634;

    /** The ATTN_F_* mask bits of a mask set. */
    public static int maskFlags(Masks m) {
        int f = 0;
        if (m.boolMask() != null) {
            f |= F_BOOL_MASK;
        }
        if (m.bias() != null) {
            f |= F_BIAS;
        }
        if (m.alibiSlopes() != null) {
            f |= F_ALIBI;
        }
        if (m.kvLengths() != null) {
            f |= F_KV_LENGTHS;
        }
        if (m.qLengths() != null) {
            f |= F_Q_LENGTHS;
        }
        if (m.hasWindow()) {
            f |= F_WINDOW;
        }
        return f;
    }

    /** Writes {@code <name>_off} and the strides of a 4-D tensor (zeros for an absent one). */
    static void t4(StructWriter w, String name, Tensor t, String... strideNames) {
        w.i64(name + "_off", t == null ? 0 : t.offset());
        for (int i = 0; i < strideNames.length; i++) {
            w.i64(name + "_" + strideNames[i], t == null ? 0 : t.stride(i));
        }
    }

    static void mask(StructWriter w, Masks m, int sq, int sk) {
        w.begin("m");
        t4(w, "mask", m.boolMask(), "sb", "sh", "sq", "sk");
        t4(w, "bias", m.bias(), "sb", "sh", "sq", "sk");
        t4(w, "alibi", m.alibiSlopes(), "sb", "sh");
        w.i32("win_left", m.hasWindow() ? m.windowLeft() : -1);
        w.i32("win_right", m.hasWindow() ? m.windowRight() : -1);
        w.i32("align_off", m.alignment().offset(sq, sk));
        w.i32("flags", maskFlags(m));
        w.end();
    }

    /** {@code attn_sdpa_params}. */
    public static StructWriter sdpa(SdpaParams p) {
        StructWriter w = new StructWriter();
        t4(w, "q", p.q(), "sb", "sh", "ss", "sd");
        t4(w, "k", p.k(), "sb", "sh", "ss", "sd");
        t4(w, "v", p.v(), "sb", "sh", "ss", "sd");
        t4(w, "o", p.o(), "sb", "sh", "ss", "sd");
        t4(w, "lse", p.lse(), "sb", "sh", "ss");
        w.i32("batch", p.batch()).i32("heads_q", p.headsQ()).i32("heads_kv", p.headsKv()).i32("group", p.group());
        w.i32("seq_q", p.seqQ()).i32("seq_k", p.seqK()).i32("head_dim", p.headDim()).i32("head_dim_v", p.headDimV());
        w.f32("scale", p.scale()).f32("scale_log2", (float) (p.scale() * LOG2E)).f32("softcap", p.softcap());
        // Paged BOTTOM_RIGHT: each sequence is aligned to its own length, align_off + kv_len[b].
        boolean alignKv = p.isPaged() && p.masks().alignment() == io.github.attn4j.Alignment.BOTTOM_RIGHT;
        int flags = maskFlags(p.masks()) | (p.lse() != null ? F_LSE : 0) | (p.hasSoftcap() ? F_SOFTCAP : 0)
                | (p.sinks() != null ? F_SINKS : 0) | (p.isPaged() ? F_PAGED : 0) | (alignKv ? F_ALIGN_KV : 0);
        w.i32("flags", flags);
        mask(w, p.masks(), p.seqQ(), alignKv ? 0 : p.seqK());
        w.i64("sinks_off", p.sinks() == null ? 0 : p.sinks().offset());
        Tensor bt = p.blockTable();
        w.i64("bt_off", bt == null ? 0 : bt.offset()).i64("bt_sb", bt == null ? 0 : bt.stride(0))
                .i64("bt_sp", bt == null ? 0 : bt.stride(1));
        w.i32("page_size", p.isPaged() ? p.paged().pageSize() : 0)
                .i32("num_pages", p.isPaged() ? p.paged().numPages() : 0);
        return w;
    }

    /** {@code attn_sdpa_bwd_params}. */
    public static StructWriter sdpaBackward(SdpaBackwardParams p) {
        StructWriter w = new StructWriter();
        t4(w, "q", p.q(), "sb", "sh", "ss", "sd");
        t4(w, "k", p.k(), "sb", "sh", "ss", "sd");
        t4(w, "v", p.v(), "sb", "sh", "ss", "sd");
        t4(w, "o", p.o(), "sb", "sh", "ss", "sd");
        t4(w, "do", p.dout(), "sb", "sh", "ss", "sd");
        t4(w, "lse", p.lse(), "sb", "sh", "ss");
        t4(w, "dq", p.dq(), "sb", "sh", "ss", "sd");
        t4(w, "dk", p.dk(), "sb", "sh", "ss", "sd");
        t4(w, "dv", p.dv(), "sb", "sh", "ss", "sd");
        t4(w, "db", p.dbias(), "sb", "sh", "sq", "sk");
        w.i32("batch", p.batch()).i32("heads_q", p.headsQ()).i32("heads_kv", p.headsKv()).i32("group", p.group());
        w.i32("seq_q", p.seqQ()).i32("seq_k", p.seqK()).i32("head_dim", p.headDim()).i32("head_dim_v", p.headDimV());
        w.i32("db_batch", p.dbias() == null ? 1 : p.dbias().dim(0));
        w.i32("db_heads", p.dbias() == null ? 1 : p.dbias().dim(1));
        w.f32("scale", p.scale()).f32("scale_log2", (float) (p.scale() * LOG2E)).f32("softcap", p.softcap());
        int flags = maskFlags(p.masks()) | (p.hasSoftcap() ? F_SOFTCAP : 0) | (p.dbias() != null ? F_DBIAS : 0);
        w.i32("flags", flags);
        mask(w, p.masks(), p.seqQ(), p.seqK());
        return w;
    }

    /** {@code attn_softmax_params}. */
    public static StructWriter softmax(SoftmaxParams p) {
        StructWriter w = new StructWriter();
        t4(w, "x", p.x(), "sb", "sh", "sq", "sk");
        t4(w, "y", p.y(), "sb", "sh", "sq", "sk");
        w.i32("batch", p.batch()).i32("heads", p.heads()).i32("seq_q", p.seqQ()).i32("seq_k", p.seqK());
        w.f32("scale", p.scale()).i32("flags", maskFlags(p.masks()));
        mask(w, p.masks(), p.seqQ(), p.seqK());
        return w;
    }

    /** {@code attn_softmax_bwd_params}. */
    public static StructWriter softmaxBackward(SoftmaxBackwardParams p) {
        StructWriter w = new StructWriter();
        t4(w, "y", p.y(), "sb", "sh", "sq", "sk");
        t4(w, "dy", p.dy(), "sb", "sh", "sq", "sk");
        t4(w, "dx", p.dx(), "sb", "sh", "sq", "sk");
        w.i32("batch", p.batch()).i32("heads", p.heads()).i32("seq_q", p.seqQ()).i32("seq_k", p.seqK());
        w.f32("scale", p.scale()).i32("flags", 0);
        return w;
    }

    /** {@code attn_additive_params}; {@code p} must be on projected inputs ({@code !p.raw()}). */
    public static StructWriter additive(AdditiveParams p) {
        if (p.raw()) {
            throw new IllegalArgumentException("additive: project raw inputs before packing the fused kernel's params");
        }
        StructWriter w = new StructWriter();
        t4(w, "qp", p.q(), "sb", "sh", "ss", "sa");
        t4(w, "kp", p.k(), "sb", "sh", "ss", "sa");
        t4(w, "v", p.v(), "sb", "sh", "ss", "sd");
        t4(w, "o", p.out(), "sb", "sh", "ss", "sd");
        t4(w, "wts", p.weights(), "sb", "sh", "sq", "sk");
        w.i64("w_off", p.w().offset()).i64("b_off", p.b() == null ? 0 : p.b().offset());
        w.i32("batch", p.batch()).i32("heads", p.heads()).i32("seq_q", p.seqQ()).i32("seq_k", p.seqK());
        w.i32("dim_a", p.dimA()).i32("head_dim_v", p.headDimV());
        int flags = maskFlags(p.masks()) | (p.weights() != null ? F_WEIGHTS : 0) | (p.b() != null ? F_ADD_BIAS : 0);
        w.i32("flags", flags).i32("pad0", 0);
        mask(w, p.masks(), p.seqQ(), p.seqK());
        return w;
    }

    /**
     * {@code attn_additive_bwd_params}; {@code p} must be on projected inputs ({@code !p.raw()}), with
     * the fp32 workspace views {@code st [B, H, Sq, 2]}, {@code dwp [B, H, kBlocks, A]} and
     * {@code dbp [B, H, qBlocks, A]} (contiguous).
     */
    public static StructWriter additiveBackward(AdditiveBackwardParams p, int qBlocks, int kBlocks, Tensor st,
            Tensor dwp, Tensor dbp) {
        if (p.raw()) {
            throw new IllegalArgumentException("additive backward: project raw inputs before packing the fused kernels' params");
        }
        StructWriter w = new StructWriter();
        t4(w, "qp", p.q(), "sb", "sh", "ss", "sa");
        t4(w, "kp", p.k(), "sb", "sh", "ss", "sa");
        t4(w, "v", p.v(), "sb", "sh", "ss", "sd");
        t4(w, "dc", p.dOut(), "sb", "sh", "ss", "sd");
        t4(w, "dqp", p.dq(), "sb", "sh", "ss", "sa");
        t4(w, "dkp", p.dk(), "sb", "sh", "ss", "sa");
        t4(w, "dv", p.dv(), "sb", "sh", "ss", "sd");
        w.i64("w_off", p.w().offset()).i64("b_off", p.b() == null ? 0 : p.b().offset());
        w.i64("dw_off", p.dw().offset()).i64("db_off", p.db() == null ? 0 : p.db().offset());
        w.i64("st_off", st.offset()).i64("dwp_off", dwp.offset()).i64("dbp_off", dbp.offset());
        w.i32("batch", p.batch()).i32("heads", p.heads()).i32("seq_q", p.seqQ()).i32("seq_k", p.seqK());
        w.i32("dim_a", p.dimA()).i32("head_dim_v", p.headDimV());
        w.i32("q_blocks", qBlocks).i32("k_blocks", kBlocks);
        w.i32("flags", maskFlags(p.masks()) | (p.b() != null ? F_ADD_BIAS : 0) | (p.db() != null ? F_DB : 0))
                .i32("pad0", 0);
        mask(w, p.masks(), p.seqQ(), p.seqK());
        return w;
    }

    /**
     * {@code attn_additive_proj_params}: raw input {@code x [B, H, S, D]}, its gradient {@code dx}
     * (may be null), weights {@code wt [A, D]}, their gradient {@code dwt} (may be null), and the fp32
     * workspace view {@code dxp [B, H, S, A]} (contiguous).
     */
    public static StructWriter additiveProj(Tensor x, Tensor dx, Tensor wt, Tensor dwt, Tensor dxp) {
        StructWriter w = new StructWriter();
        t4(w, "x", x, "sb", "sh", "ss", "sd");
        t4(w, "dx", dx, "sb", "sh", "ss", "sd");
        w.i64("w_off", wt.offset()).i64("w_sa", wt.stride(0)).i64("w_sd", wt.stride(1));
        w.i64("dw_off", dwt == null ? 0 : dwt.offset()).i64("dw_sa", dwt == null ? 0 : dwt.stride(0))
                .i64("dw_sd", dwt == null ? 0 : dwt.stride(1));
        w.i64("dxp_off", dxp.offset());
        w.i32("batch", x.dim(0)).i32("heads", x.dim(1)).i32("seq", x.dim(2)).i32("dim", x.dim(3))
                .i32("dim_a", wt.dim(0)).i32("pad0", 0);
        return w;
    }

    /**
     * {@code attn_gemm_params} for the projection {@code C[b,h] = X[b,h] . W^T}: X {@code [B, H, S, Din]},
     * W {@code [A, Din]}, C {@code [B, H, S, A]}.
     */
    public static StructWriter gemmProjection(Tensor x, Tensor wt, Tensor c) {
        StructWriter w = new StructWriter();
        w.i64("a_off", x.offset()).i64("a_sb", x.stride(0)).i64("a_sh", x.stride(1)).i64("a_sm", x.stride(2))
                .i64("a_sk", x.stride(3));
        w.i64("b_off", wt.offset()).i64("b_sn", wt.stride(0)).i64("b_sk", wt.stride(1));
        w.i64("c_off", c.offset()).i64("c_sb", c.stride(0)).i64("c_sh", c.stride(1)).i64("c_sm", c.stride(2))
                .i64("c_sn", c.stride(3));
        w.i32("m", x.dim(2)).i32("n", wt.dim(0)).i32("k", x.dim(3));
        w.i32("batch", x.dim(0)).i32("heads", x.dim(1)).i32("pad0", 0);
        return w;
    }

    /**
     * {@code attn_copy_params}: a strided copy of a tensor of rank at most 4 (leading dims padded
     * with 1, stride 0), {@code src} and {@code dst} of one shape and element size.
     */
    public static StructWriter copy(Tensor src, Tensor dst) {
        int pad = 4 - src.rank();
        if (pad < 0) {
            throw new IllegalArgumentException("copy: expected a tensor of rank <= 4, got rank " + src.rank());
        }
        StructWriter w = new StructWriter();
        for (Tensor t : new Tensor[] {src, dst}) {
            String n = t == src ? "src" : "dst";
            w.i64(n + "_off", t.offset());
            for (int i = 0; i < 4; i++) {
                w.i64(n + "_s" + i, i < pad ? 0 : t.stride(i - pad));
            }
        }
        for (int i = 0; i < 4; i++) {
            w.i32("d" + i, i < pad ? 1 : src.dim(i - pad));
        }
        return w;
    }

    /** {@code ATTN_BGEMM_*} flags of {@code attn_bgemm_params}: the contraction (K) or the columns (N) stop at kv_len[b]. */
    public static final int BGEMM_K_KVLEN = 0x1, BGEMM_N_KVLEN = 0x2;

    /** One operand of the batched GEMM: element offset, [b, h] strides, then the two matrix strides. */
    public record Operand(long off, long sb, long sh, long s0, long s1) {
        /** The operand view of a 4-D tensor, matrix dims {@code (r, c)} = axes (2, 3), or (3, 2) when transposed. */
        public static Operand of(Tensor t, boolean transposed) {
            return new Operand(t.offset(), t.stride(0), t.stride(1), t.stride(transposed ? 3 : 2),
                    t.stride(transposed ? 2 : 3));
        }
    }

    /**
     * {@code attn_bgemm_params}: a batched GEMM {@code C = alpha * A . B} over z = (b, h), B's head
     * {@code h / group}, used by the unfused SDPA on CUDA.
     */
    public record Bgemm(Operand a, Operand b, Operand c, int m, int n, int k, int batch, int heads, int group,
            float alpha, int flags) {
        /** The struct's bytes and field names. */
        public StructWriter pack() {
            StructWriter w = new StructWriter();
            w.i64("a_off", a.off()).i64("a_sb", a.sb()).i64("a_sh", a.sh()).i64("a_sm", a.s0()).i64("a_sk", a.s1());
            w.i64("b_off", b.off()).i64("b_sb", b.sb()).i64("b_sh", b.sh()).i64("b_sk", b.s0()).i64("b_sn", b.s1());
            w.i64("c_off", c.off()).i64("c_sb", c.sb()).i64("c_sh", c.sh()).i64("c_sm", c.s0()).i64("c_sn", c.s1());
            w.i32("m", m).i32("n", n).i32("k", k);
            w.i32("batch", batch).i32("heads", heads).i32("group", group);
            w.f32("alpha", alpha).i32("flags", flags);
            return w;
        }
    }

    /** Writes one {@code attn_merge_part}: an O view and an LSE view (zeros for absent ones). */
    private static void mergePart(StructWriter w, String name, Tensor o, Tensor lse) {
        w.begin(name);
        t4(w, "o", o, "sb", "sh", "ss", "sd");
        t4(w, "lse", lse, "sb", "sh", "ss");
        w.end();
    }

    /** {@code attn_merge_params}: parts past {@code p.parts()} are zeros (never read). */
    public static StructWriter merge(MergeParams p) {
        if (p.parts() > MergeParams.MAX_DEVICE_PARTS) {
            throw new IllegalArgumentException("merge: expected at most " + MergeParams.MAX_DEVICE_PARTS
                    + " parts per kernel launch, got " + p.parts());
        }
        StructWriter w = new StructWriter();
        for (int i = 0; i < MergeParams.MAX_DEVICE_PARTS; i++) {
            boolean live = i < p.parts();
            mergePart(w, "p" + i, live ? p.o().get(i) : null, live ? p.lse().get(i) : null);
        }
        mergePart(w, "out", p.out(), p.outLse());
        w.i32("batch", p.batch()).i32("heads", p.heads()).i32("seq", p.seq()).i32("head_dim_v", p.headDimV());
        w.i32("n_parts", p.parts()).i32("flags", p.outLse() != null ? F_LSE : 0);
        return w;
    }

    /** {@code attn_kv_append_params}. */
    public static StructWriter kvAppend(KvAppendParams p) {
        StructWriter w = new StructWriter();
        t4(w, "kn", p.kNew(), "sb", "sh", "ss", "sd");
        t4(w, "vn", p.vNew(), "sb", "sh", "ss", "sd");
        t4(w, "kc", p.kCache(), "sp", "ss", "sh", "sd");
        t4(w, "vc", p.vCache(), "sp", "ss", "sh", "sd");
        w.i64("bt_off", p.blockTable().offset()).i64("bt_sb", p.blockTable().stride(0))
                .i64("bt_sp", p.blockTable().stride(1));
        w.i32("batch", p.batch()).i32("heads_kv", p.headsKv()).i32("seq_new", p.seqNew()).i32("head_dim", p.headDim())
                .i32("head_dim_v", p.headDimV());
        w.i32("num_pages", p.numPages()).i32("page_size", p.pageSize()).i32("max_pages", p.maxPagesPerSeq());
        return w;
    }

    /** {@code attn_gemm_op_params} of the public batched GEMM: the op(A), op(B) and C strides. */
    public static StructWriter gemm(GemmParams g) {
        StructWriter w = new StructWriter();
        long[] as = g.aStrides(), bs = g.bStrides(), cs = g.cStrides();
        w.i64("a_off", g.a().offset()).i64("a_sz", as[0]).i64("a_sm", as[1]).i64("a_sk", as[2]);
        w.i64("b_off", g.b().offset()).i64("b_sz", bs[0]).i64("b_sk", bs[1]).i64("b_sn", bs[2]);
        w.i64("c_off", g.c().offset()).i64("c_sz", cs[0]).i64("c_sm", cs[1]).i64("c_sn", cs[2]);
        w.i32("m", g.m()).i32("n", g.n()).i32("k", g.k()).i32("batch", g.batch());
        w.f32("alpha", g.alpha()).f32("beta", g.beta());
        return w;
    }

    /** {@code attn_rope_params}. */
    public static StructWriter rope(RopeParams p) {
        StructWriter w = new StructWriter();
        t4(w, "x", p.x(), "sb", "sh", "ss", "sd");
        t4(w, "o", p.out(), "sb", "sh", "ss", "sd");
        w.i32("batch", p.batch()).i32("heads", p.heads()).i32("seq", p.seq()).i32("head_dim", p.headDim());
        w.i32("offset", p.offset()).f32("theta", p.theta()).i32("inverse", p.inverse() ? 1 : 0);
        return w;
    }
}
