package io.github.attn4j.cuda;

import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.spi.StructWriter;
import java.util.List;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

/**
 * Kernel argument lists. The struct always comes first, by value; then the buffers in the order of
 * the kernel signature, named here so that a test can compare them with the {@code .cu} files.
 */
final class CudaArgs {
    private CudaArgs() {}

    static final List<String> SDPA = List.of("p", "q", "k", "v", "o", "lse", "mask", "bias", "alibi", "kv_len", "q_len");
    static final List<String> SOFTMAX = List.of("p", "x", "y", "mask", "bias", "alibi", "kv_len", "q_len");
    static final List<String> SOFTMAX_BWD = List.of("p", "y", "dy", "dx");
    static final List<String> ADDITIVE = List.of("p", "qp", "kp", "v", "w", "b", "o", "wts", "mask", "bias", "alibi",
            "kv_len", "q_len");
    static final List<String> GEMM_NT = List.of("p", "a", "b", "c");
    static final List<String> BGEMM = List.of("p", "a", "b", "c", "kv_len");

    /** cuLaunchKernel's kernelParams: a pointer to the struct bytes, then one pointer per buffer. */
    static Pointer kernelParams(byte[] struct, CUdeviceptr... buffers) {
        return kernelParams(struct, buffers, new int[0]);
    }

    /** The same, followed by {@code int} arguments (the tensor-core SDPA's {@code num_splits}). */
    static Pointer kernelParams(byte[] struct, CUdeviceptr[] buffers, int... ints) {
        Pointer[] ps = new Pointer[buffers.length + ints.length + 1];
        ps[0] = Pointer.to(struct);
        for (int i = 0; i < buffers.length; i++) {
            ps[i + 1] = Pointer.to(buffers[i]);
        }
        for (int i = 0; i < ints.length; i++) {
            ps[buffers.length + 1 + i] = Pointer.to(new int[] {ints[i]});
        }
        return Pointer.to(ps);
    }

    /** kernels/cuda/sdpa_tc.cu: attn_sdpa_fwd_tc_* and attn_sdpa_combine_* (owned by cuda.tc.TcPlan). */
    static final List<String> SDPA_TC = concat("p", io.github.attn4j.cuda.tc.TcPlan.FORWARD_ARGS);
    static final List<String> SDPA_TC_COMBINE = concat("p", io.github.attn4j.cuda.tc.TcPlan.COMBINE_ARGS);

    private static List<String> concat(String first, List<String> rest) {
        java.util.ArrayList<String> l = new java.util.ArrayList<>(rest.size() + 1);
        l.add(first);
        l.addAll(rest);
        return List.copyOf(l);
    }

    /** kernels/cuda/gemm.cu: ATTN_BGEMM_* flags. */
    static final int BGEMM_K_KVLEN = 0x1, BGEMM_N_KVLEN = 0x2;

    /** One operand of the batched GEMM: element offset, [b, h] strides, then the two matrix strides. */
    record Operand(long off, long sb, long sh, long s0, long s1) {}

    /** A batched GEMM C = alpha * A . B over z = (b, h), B's head h / group (gemm.cu, attn_bgemm_params). */
    record Bgemm(Operand a, Operand b, Operand c, int m, int n, int k, int batch, int heads, int group, float alpha,
            int flags) {
        StructWriter pack() {
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

    /** The fp32 score workspace [B, Hq, Sq, Sk], contiguous. */
    static Operand scores(SdpaParams p) {
        long sk = p.seqK(), sq = p.seqQ();
        return new Operand(0, p.headsQ() * sq * sk, sq * sk, sk, 1);
    }

    /** S = Q . K^T into the workspace (scale is applied by the softmax that follows). */
    static Bgemm qk(SdpaParams p) {
        Tensor q = p.q(), k = p.k();
        Operand a = new Operand(q.offset(), q.stride(0), q.stride(1), q.stride(2), q.stride(3));
        Operand b = new Operand(k.offset(), k.stride(0), k.stride(1), k.stride(3), k.stride(2)); // B[d][j] = K[j][d]
        int flags = p.masks().kvLengths() != null ? BGEMM_N_KVLEN : 0;
        return new Bgemm(a, b, scores(p), p.seqQ(), p.seqK(), p.headDim(), p.batch(), p.headsQ(), p.group(), 1f, flags);
    }

    /** O = P . V from the workspace; the contraction stops at kv_len[b] when kv lengths are given. */
    static Bgemm pv(SdpaParams p) {
        Tensor v = p.v(), o = p.o();
        Operand b = new Operand(v.offset(), v.stride(0), v.stride(1), v.stride(2), v.stride(3));
        Operand c = new Operand(o.offset(), o.stride(0), o.stride(1), o.stride(2), o.stride(3));
        int flags = p.masks().kvLengths() != null ? BGEMM_K_KVLEN : 0;
        return new Bgemm(scores(p), b, c, p.seqQ(), p.headDimV(), p.seqK(), p.batch(), p.headsQ(), p.group(), 1f, flags);
    }
}
