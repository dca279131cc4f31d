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
import java.util.ArrayList;
import java.util.List;

/**
 * The argument list of every kernel, in signature order, for CUDA and OpenCL alike: the params
 * struct first (by value), then the buffers, the per-batch length arrays and the scalars, each
 * named as in the {@code .cu} and {@code .cl} signatures. This class is the one definition;
 * {@code KernelArgsTest} parses every entry point of both kernel languages and compares, so the
 * OpenCL suite that runs on PoCL also proves the binding that CUDA uses.
 */
public final class KernelArgs {
    private KernelArgs() {}

    private static final class Builder {
        final List<Arg> args = new ArrayList<>();

        Builder struct(StructWriter w) {
            args.add(new Arg.Struct("p", w.bytes()));
            return this;
        }

        Builder buf(String name, Tensor t) {
            args.add(new Arg.Buffer(name, t));
            return this;
        }

        Builder ints(String name, int[] v) {
            args.add(new Arg.Ints(name, v));
            return this;
        }

        Builder i32(String name, int v) {
            args.add(new Arg.I32(name, v));
            return this;
        }

        /** The mask tail every masked kernel ends with. */
        Builder masks(Masks m) {
            return buf("mask", m.boolMask()).buf("bias", m.bias()).buf("alibi", m.alibiSlopes())
                    .ints("kv_len", m.kvLengths()).ints("q_len", m.qLengths());
        }

        List<Arg> build() {
            return List.copyOf(args);
        }
    }

    private static Builder sdpaHead(SdpaParams p) {
        return new Builder().struct(KernelParams.sdpa(p)).buf("q", p.q()).buf("k", p.k()).buf("v", p.v())
                .buf("o", p.o()).buf("lse", p.lse()).masks(p.masks());
    }

    /**
     * {@code attn_sdpa_fwd_<dt>[_d<DMAX>]} (CUDA SIMT and OpenCL): the SDPA arguments, then the
     * sink logits and the block table (absent when unused).
     */
    public static List<Arg> sdpaFwd(SdpaParams p) {
        return sdpaHead(p).buf("sinks", p.sinks()).buf("block_table", p.blockTable()).build();
    }

    /**
     * {@code attn_sdpa_fwd_tc_<dt>_d<D>} (CUDA tensor cores): the SDPA arguments, then the split-KV
     * partials (workspace views; absent without a split) and the split count.
     */
    public static List<Arg> sdpaFwdSplit(SdpaParams p, Tensor oPart, Tensor lsePart, int splits) {
        return sdpaHead(p).buf("o_part", oPart).buf("lse_part", lsePart).i32("num_splits", splits).build();
    }

    /**
     * {@code attn_sdpa_decode_<dt>[_d<DMAX>]} (OpenCL on CPU devices, CUDA SIMT): the SDPA arguments with
     * sinks and block table, then the split-KV partials (workspace views: one buffer, the LSE partials
     * after the O partials) and the split count.
     */
    public static List<Arg> sdpaDecode(SdpaParams p, Tensor oPart, Tensor lsePart, int splits) {
        return sdpaHead(p).buf("sinks", p.sinks()).buf("block_table", p.blockTable()).buf("o_part", oPart)
                .buf("lse_part", lsePart).i32("num_splits", splits).build();
    }

    /** {@code attn_sdpa_combine_<dt>}: merges the split-KV partials into O and LSE. */
    public static List<Arg> sdpaCombine(SdpaParams p, Tensor oPart, Tensor lsePart, int splits) {
        return new Builder().struct(KernelParams.sdpa(p)).buf("o_part", oPart).buf("lse_part", lsePart)
                .buf("o", p.o()).buf("lse", p.lse()).i32("num_splits", splits).build();
    }

    /**
     * {@code attn_sdpa_bwd_pre_<dt>}, {@code _dkdv_}, {@code _dq_}, {@code _dbias_} (one list for all
     * four): the backward's tensors, the workspace {@code ws} (F32, 2 * B * Hq * Sq: Delta then
     * LSE in log2 units) and the mask tail.
     */
    public static List<Arg> sdpaBackward(SdpaBackwardParams p, Tensor ws) {
        return new Builder().struct(KernelParams.sdpaBackward(p)).buf("q", p.q()).buf("k", p.k()).buf("v", p.v())
                .buf("o", p.o()).buf("dout", p.dout()).buf("lse", p.lse()).buf("dq", p.dq()).buf("dk", p.dk())
                .buf("dv", p.dv()).buf("dbias", p.dbias()).buf("ws", ws).masks(p.masks()).build();
    }

    /** {@code attn_masked_softmax_<dt>[_warp]}. */
    public static List<Arg> softmax(SoftmaxParams p) {
        return new Builder().struct(KernelParams.softmax(p)).buf("x", p.x()).buf("y", p.y()).masks(p.masks()).build();
    }

    /** {@code attn_masked_softmax_bwd_<dt>[_warp]}. */
    public static List<Arg> softmaxBackward(SoftmaxBackwardParams p) {
        return new Builder().struct(KernelParams.softmaxBackward(p)).buf("y", p.y()).buf("dy", p.dy())
                .buf("dx", p.dx()).build();
    }

    /** {@code attn_additive_fwd_<dt>[_qkf32][_d<DMAX>]}, on projected inputs (raw ones are projected first). */
    public static List<Arg> additiveFwd(AdditiveParams f) {
        return new Builder().struct(KernelParams.additive(f)).buf("qp", f.q()).buf("kp", f.k()).buf("v", f.v())
                .buf("w", f.w()).buf("bv", f.b()).buf("o", f.out()).buf("wts", f.weights()).masks(f.masks()).build();
    }

    /**
     * The additive backward kernels on projected inputs, by {@code id}: {@code _pre}, {@code _dq},
     * {@code _dkv} and {@code _reduce} (each binds what it reads and writes; st, dwp, dbp are the fp32
     * workspace views of {@link KernelParams#additiveBackward}).
     */
    public static List<Arg> additiveBwd(KernelId id, AdditiveBackwardParams p, int qBlocks, int kBlocks, Tensor st,
            Tensor dwp, Tensor dbp) {
        Builder b = new Builder().struct(KernelParams.additiveBackward(p, qBlocks, kBlocks, st, dwp, dbp));
        switch (id) {
            case ADDITIVE_BWD_PRE -> b.buf("qp", p.q()).buf("kp", p.k()).buf("v", p.v()).buf("w", p.w()).buf("bv", p.b())
                    .buf("dc", p.dOut()).buf("st", st).masks(p.masks());
            case ADDITIVE_BWD_DQ -> b.buf("qp", p.q()).buf("kp", p.k()).buf("v", p.v()).buf("w", p.w()).buf("bv", p.b())
                    .buf("dc", p.dOut()).buf("st", st).buf("dqp", p.dq()).buf("dbp", dbp).masks(p.masks());
            case ADDITIVE_BWD_DKV -> b.buf("qp", p.q()).buf("kp", p.k()).buf("v", p.v()).buf("w", p.w()).buf("bv", p.b())
                    .buf("dc", p.dOut()).buf("st", st).buf("dkp", p.dk()).buf("dv", p.dv()).buf("dwp", dwp)
                    .masks(p.masks());
            case ADDITIVE_BWD_REDUCE -> b.buf("dwp", dwp).buf("dbp", dbp).buf("dw", p.dw()).buf("db", p.db());
            default -> throw new IllegalArgumentException("not an additive backward kernel on projected inputs: " + id);
        }
        return b.build();
    }

    /**
     * {@code attn_additive_bwd_proj_<dt>} ({@code dx = dxp . W}) or {@code attn_additive_bwd_wgrad_<dt>}
     * ({@code dW = sum dxp^T . x}): one struct, the buffers each reads and writes.
     */
    public static List<Arg> additiveProj(KernelId id, Tensor x, Tensor dx, Tensor wt, Tensor dwt, Tensor dxp) {
        Builder b = new Builder().struct(KernelParams.additiveProj(x, dx, wt, dwt, dxp));
        return switch (id) {
            case ADDITIVE_BWD_PROJ -> b.buf("dxp", dxp).buf("wt", wt).buf("dx", dx).build();
            case ADDITIVE_BWD_WGRAD -> b.buf("dxp", dxp).buf("x", x).buf("dwt", dwt).build();
            default -> throw new IllegalArgumentException("not a projection-gradient kernel: " + id);
        };
    }

    /** {@code attn_gemm_nt_<dt>}: the projection {@code C = X . W^T}, batched over [b, h]. */
    public static List<Arg> gemmNt(Tensor x, Tensor w, Tensor c) {
        return new Builder().struct(KernelParams.gemmProjection(x, w, c)).buf("a", x).buf("bm", w).buf("c", c).build();
    }

    /** {@code attn_bgemm_<ta>_<tb>_<tc>} (CUDA, the unfused SDPA): {@code C = alpha A . B}, K or N cut at kv_len. */
    public static List<Arg> bgemm(KernelParams.Bgemm g, Tensor a, Tensor b, Tensor c, int[] kvLen) {
        return new Builder().struct(g.pack()).buf("a", a).buf("bm", b).buf("c", c).ints("kv_len", kvLen).build();
    }

    /** {@code attn_copy_u<8|16|32>}: {@code dst = src} element by element, any strides. */
    public static List<Arg> copy(Tensor src, Tensor dst) {
        return new Builder().struct(KernelParams.copy(src, dst)).buf("src", src).buf("dst", dst).build();
    }

    /**
     * {@code attn_merge_states_<dt>}: the struct, {@code o0..o7}, {@code lse0..lse7} (parts past
     * {@code p.parts()} absent), then {@code o} and {@code lse}.
     */
    public static List<Arg> merge(MergeParams p) {
        Builder b = new Builder().struct(KernelParams.merge(p));
        for (int i = 0; i < MergeParams.MAX_DEVICE_PARTS; i++) {
            b.buf("o" + i, i < p.parts() ? p.o().get(i) : null);
        }
        for (int i = 0; i < MergeParams.MAX_DEVICE_PARTS; i++) {
            b.buf("lse" + i, i < p.parts() ? p.lse().get(i) : null);
        }
        return b.buf("o", p.out()).buf("lse", p.outLse()).build();
    }

    /**
     * {@code attn_kv_append_<dt>}: the struct, the new rows, the caches, the block table, then the
     * start positions and the row counts (Snew for each sequence when the call gives none).
     */
    public static List<Arg> kvAppend(KvAppendParams p) {
        int[] len = new int[p.batch()];
        for (int b = 0; b < len.length; b++) {
            len[b] = p.appendLength(b);
        }
        return new Builder().struct(KernelParams.kvAppend(p)).buf("k_new", p.kNew()).buf("v_new", p.vNew())
                .buf("k_cache", p.kCache()).buf("v_cache", p.vCache()).buf("block_table", p.blockTable())
                .ints("start_pos", p.startPositions()).ints("append_len", len).build();
    }

    /** {@code attn_gemm_<dt>}: the public batched GEMM, {@code C = alpha op(A) op(B) + beta C}. */
    public static List<Arg> gemm(GemmParams g) {
        return new Builder().struct(KernelParams.gemm(g)).buf("a", g.a()).buf("bm", g.b()).buf("c", g.c()).build();
    }

    /** {@code attn_rope_<dt>}: rotary position embedding, {@code o} may be {@code x}. */
    public static List<Arg> rope(RopeParams p) {
        return new Builder().struct(KernelParams.rope(p)).buf("x", p.x()).buf("o", p.out()).build();
    }
}
