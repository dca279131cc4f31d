/*
 * attn_params.h: the parameter structs shared by the CUDA and the OpenCL kernels.
 *
 * One struct per op. Java packs them (io.github.attn4j.spi.KernelParams) field by field in
 * exactly this order with C alignment rules, and KernelParamsTest parses this file to check that
 * the two agree. Add a field here and there together, never in one place only.
 *
 * Conventions
 *   - every stride and offset is in elements of the tensor's own dtype;
 *   - 4-D tensors are addressed as [b, h, s, d] with the strides  <t>_sb, <t>_sh, <t>_ss, <t>_sd;
 *   - a broadcast dimension has stride 0;
 *   - buffers are separate kernel arguments (OpenCL cannot put cl_mem in a struct), in the order
 *     that the kernel signature gives; <t>_off is the element offset of element 0 in its buffer.
 */
#ifndef ATTN_PARAMS_H
#define ATTN_PARAMS_H

#ifdef __OPENCL_VERSION__
typedef long  a_i64;
typedef int   a_i32;
typedef float a_f32;
#else
typedef long long a_i64;
typedef int       a_i32;
typedef float     a_f32;
#endif

/* attn_mask_params.flags */
#define ATTN_F_BOOL_MASK  0x01  /* a boolean mask (1 byte per element, nonzero = attend)          */
#define ATTN_F_BIAS       0x02  /* an additive float bias                                           */
#define ATTN_F_ALIBI      0x04  /* ALiBi slopes                                                     */
#define ATTN_F_KV_LENGTHS 0x08  /* per-batch key lengths (int buffer [B])                           */
#define ATTN_F_Q_LENGTHS  0x10  /* per-batch query lengths (int buffer [B])                         */
#define ATTN_F_WINDOW     0x20  /* win_left / win_right bound the keys (-1 on a side = unbounded)   */

/* attn_sdpa_params.flags and attn_additive_params.flags */
#define ATTN_F_LSE        0x100 /* write the log-sum-exp output                                     */
#define ATTN_F_SOFTCAP    0x200 /* s = softcap * tanh(s / softcap)                                  */
#define ATTN_F_WEIGHTS    0x400 /* additive: also write the attention weights [B, H, Sq, Sk]        */
#define ATTN_F_ADD_BIAS   0x800 /* additive: the bias vector b[A] is present                        */
#define ATTN_F_DB         0x1000 /* additive backward: write db (the tanh bias's gradient)          */
#define ATTN_F_SINKS      0x10000 /* sdpa: per-head sink logits sinks[Hq] join every row's denominator */
#define ATTN_F_PAGED      0x20000 /* sdpa: K/V in pages [numPages, pageSize, Hkv, D] via a block table  */
#define ATTN_F_ALIGN_KV   0x40000 /* sdpa: m.align_off + kv_len[b] is the offset (paged BOTTOM_RIGHT)  */

#define ATTN_WINDOW_UNBOUNDED (-1)

/* The mask, shared by all three ops. Key j of query row i (in batch b, head h) is attended iff
 *   (!WINDOW  || ((win_left  < 0 || j >= i + align_off - win_left) &&
 *                 (win_right < 0 || j <= i + align_off + win_right)))
 *   && (!KV_LENGTHS || j < kv_len[b])  && (!BOOL_MASK || mask[b, h, i, j] != 0)
 * and query row i is live iff (!Q_LENGTHS || i < q_len[b]). Bias and ALiBi are added to the score:
 *   s += bias[b, h, i, j] - slope[b, h] * |i + align_off - j|                                  */
typedef struct attn_mask_params {
    a_i64 mask_off, mask_sb, mask_sh, mask_sq, mask_sk;
    a_i64 bias_off, bias_sb, bias_sh, bias_sq, bias_sk;
    a_i64 alibi_off, alibi_sb, alibi_sh;
    a_i32 win_left, win_right;
    a_i32 align_off;          /* 0 for TOP_LEFT, Sk - Sq for BOTTOM_RIGHT */
    a_i32 flags;              /* ATTN_F_* mask bits */
} attn_mask_params;

/* SDPA forward: O[b,h,i,:] = softmax_j(score(i,j)) . V[b,h/group,j,:], LSE[b,h,i]. */
typedef struct attn_sdpa_params {
    a_i64 q_off, q_sb, q_sh, q_ss, q_sd;
    a_i64 k_off, k_sb, k_sh, k_ss, k_sd;
    a_i64 v_off, v_sb, v_sh, v_ss, v_sd;
    a_i64 o_off, o_sb, o_sh, o_ss, o_sd;
    a_i64 lse_off, lse_sb, lse_sh, lse_ss;
    a_i32 batch, heads_q, heads_kv, group;   /* group = heads_q / heads_kv */
    a_i32 seq_q, seq_k, head_dim, head_dim_v;
    a_f32 scale;              /* applied to q.k */
    a_f32 scale_log2;         /* scale * log2(e), for exp2-based kernels */
    a_f32 softcap;            /* > 0 when ATTN_F_SOFTCAP */
    a_i32 flags;              /* ATTN_F_* bits, mask bits included */
    attn_mask_params m;
    /* Sinks (ATTN_F_SINKS): sinks[sinks_off + h], F32, natural-log units.
     * Paged K/V (ATTN_F_PAGED): key j of batch b is row (j % page_size) of page
     * p = clamp(block_table[bt_off + b * bt_sb + (j / page_size) * bt_sp], 0, num_pages - 1), at
     * k_off + p * k_sb + hk * k_sh + (j % page_size) * k_ss (k_sb is then the page stride; V alike). */
    a_i64 sinks_off;
    a_i64 bt_off, bt_sb, bt_sp;
    a_i32 page_size, num_pages;
} attn_sdpa_params;

/* Masked softmax forward: Y = softmax_lastdim(scale * X + bias + alibi), masked -> 0.
 * X and Y may be the same buffer (in place). */
typedef struct attn_softmax_params {
    a_i64 x_off, x_sb, x_sh, x_sq, x_sk;
    a_i64 y_off, y_sb, y_sh, y_sq, y_sk;
    a_i32 batch, heads, seq_q, seq_k;
    a_f32 scale;
    a_i32 flags;
    attn_mask_params m;
} attn_softmax_params;

/* Masked softmax backward: dX = scale * Y (.) (dY - rowsum(dY (.) Y)). dX may alias dY. */
typedef struct attn_softmax_bwd_params {
    a_i64 y_off, y_sb, y_sh, y_sq, y_sk;
    a_i64 dy_off, dy_sb, dy_sh, dy_sq, dy_sk;
    a_i64 dx_off, dx_sb, dx_sh, dx_sq, dx_sk;
    a_i32 batch, heads, seq_q, seq_k;
    a_f32 scale;
    a_i32 flags;
} attn_softmax_bwd_params;

/* Fused additive attention on projected inputs:
 *   e[i,j] = sum_a w[a] * tanh(qp[i,a] + kp[j,a] + b[a]) + bias + alibi, masked -> -inf,
 *   C[i,:] = sum_j softmax_j(e)[i,j] * V[j,:];  weights[i,j] = softmax_j(e)[i,j] when asked. */
typedef struct attn_additive_params {
    a_i64 qp_off, qp_sb, qp_sh, qp_ss, qp_sa;
    a_i64 kp_off, kp_sb, kp_sh, kp_ss, kp_sa;
    a_i64 v_off, v_sb, v_sh, v_ss, v_sd;
    a_i64 o_off, o_sb, o_sh, o_ss, o_sd;
    a_i64 wts_off, wts_sb, wts_sh, wts_sq, wts_sk;
    a_i64 w_off, b_off;
    a_i32 batch, heads, seq_q, seq_k;
    a_i32 dim_a, head_dim_v;
    a_i32 flags;
    a_i32 pad0;
    attn_mask_params m;
} attn_additive_params;

/* GEMM used for the additive projections: C[z,m,n] = sum_k A[z,m,k] * B[n,k]  (B transposed and
 * shared), batched over z = b * heads + h with the [b, h] strides of A and C. */
typedef struct attn_gemm_params {
    a_i64 a_off, a_sb, a_sh, a_sm, a_sk;
    a_i64 b_off, b_sn, b_sk;
    a_i64 c_off, c_sb, c_sh, c_sm, c_sn;
    a_i32 m, n, k;
    a_i32 batch, heads;       /* batch * heads GEMMs */
    a_i32 pad0;
} attn_gemm_params;

/* Strided copy, bit for bit: dst[i0,i1,i2,i3] = src[i0,i1,i2,i3] over [d0, d1, d2, d3] (a tensor of
 * fewer dims has leading dims of 1). Entries by element width: attn_copy_u8, _u16, _u32. */
typedef struct attn_copy_params {
    a_i64 src_off, src_s0, src_s1, src_s2, src_s3;
    a_i64 dst_off, dst_s0, dst_s1, dst_s2, dst_s3;
    a_i32 d0, d1, d2, d3;
} attn_copy_params;

/* Batched GEMM of the unfused SDPA path (CUDA): C[z] = alpha * A[z] . B[z / group-adjusted head], z = (b, h),
 * with the contraction (K) or the columns (N) cut at kv_len[b] by the ATTN_BGEMM_* flags. */
#define ATTN_BGEMM_K_KVLEN 0x1
#define ATTN_BGEMM_N_KVLEN 0x2
typedef struct attn_bgemm_params {
    a_i64 a_off, a_sb, a_sh, a_sm, a_sk;
    a_i64 b_off, b_sb, b_sh, b_sk, b_sn;
    a_i64 c_off, c_sb, c_sh, c_sm, c_sn;
    a_i32 m, n, k;
    a_i32 batch, heads, group;
    a_f32 alpha;
    a_i32 flags;
} attn_bgemm_params;

/* SDPA backward (attn_sdpa_bwd_pre, _dkdv, _dq, _dbias: one argument list). The forward's O and LSE
 * are inputs; dQ, dK, dV (and dBias with ATTN_F_DBIAS) are overwritten. dBias is F32 [db_batch,
 * db_heads, Sq, Sk] where db_batch is B or 1 and db_heads Hq or 1: a dim of 1 sums the gradient over
 * that dim. The workspace ws holds 2 * B * Hq * Sq floats: Delta = rowsum(dO * O) at [(b*Hq + h)*Sq + i],
 * then LSE * log2(e) (+inf for a dead or fully masked row) at B*Hq*Sq + the same index. */
#define ATTN_F_DBIAS      0x2000
typedef struct attn_sdpa_bwd_params {
    a_i64 q_off, q_sb, q_sh, q_ss, q_sd;
    a_i64 k_off, k_sb, k_sh, k_ss, k_sd;
    a_i64 v_off, v_sb, v_sh, v_ss, v_sd;
    a_i64 o_off, o_sb, o_sh, o_ss, o_sd;
    a_i64 do_off, do_sb, do_sh, do_ss, do_sd;
    a_i64 lse_off, lse_sb, lse_sh, lse_ss;
    a_i64 dq_off, dq_sb, dq_sh, dq_ss, dq_sd;
    a_i64 dk_off, dk_sb, dk_sh, dk_ss, dk_sd;
    a_i64 dv_off, dv_sb, dv_sh, dv_ss, dv_sd;
    a_i64 db_off, db_sb, db_sh, db_sq, db_sk;
    a_i32 batch, heads_q, heads_kv, group;   /* group = heads_q / heads_kv */
    a_i32 seq_q, seq_k, head_dim, head_dim_v;
    a_i32 db_batch, db_heads;                /* dBias dims 0 and 1 (B or 1, Hq or 1) */
    a_f32 scale;
    a_f32 scale_log2;
    a_f32 softcap;
    a_i32 flags;                             /* ATTN_F_* bits: mask bits, SOFTCAP, DBIAS */
    attn_mask_params m;
} attn_sdpa_bwd_params;

/* Merge of attention states (attn_merge_states_<dt>): parts i < n_parts of O_i [B, H, S, Dv] (data
 * dtype) and LSE_i [B, H, S] (F32), each over a disjoint key set, give with m = max_i LSE_i
 *   LSE = m + log sum_i exp(LSE_i - m),   O = sum_i exp(LSE_i - LSE) * O_i,
 * a part with LSE_i = -inf is skipped (its O_i never read); all parts -inf give O = 0, LSE = -inf;
 * a NaN (or +inf) LSE_i gives a NaN row. ATTN_F_LSE in flags: also write LSE. Buffers o0..o7,
 * lse0..lse7 (absent parts: placeholders never read), then o, lse. */
#define ATTN_MERGE_MAX_PARTS 8
typedef struct attn_merge_part {
    a_i64 o_off, o_sb, o_sh, o_ss, o_sd;
    a_i64 lse_off, lse_sb, lse_sh, lse_ss;
} attn_merge_part;

typedef struct attn_merge_params {
    attn_merge_part p0, p1, p2, p3, p4, p5, p6, p7;
    attn_merge_part out;      /* O and LSE of the result */
    a_i32 batch, heads, seq, head_dim_v;
    a_i32 n_parts;            /* 1 .. ATTN_MERGE_MAX_PARTS */
    a_i32 flags;              /* ATTN_F_LSE */
} attn_merge_params;

/* KV append into paged caches (attn_kv_append_<dt>): for every sequence b, kv head h and new row
 * t < append_len[b], with pos = start_pos[b] + t, page = block_table[b, pos / page_size]:
 *   k_cache[page, pos % page_size, h, :] = k_new[b, h, t, :]   (and v_cache from v_new),
 * bit for bit. A page outside [0, num_pages) skips the row (nothing written). The caches are
 * [num_pages, page_size, heads_kv, D|Dv] ("NHD" pages) with strides <c>_sp, _ss, _sh, _sd. Buffers:
 * k_new, v_new, k_cache, v_cache, block_table (int32), then start_pos and append_len (int32 [B]). */
typedef struct attn_kv_append_params {
    a_i64 kn_off, kn_sb, kn_sh, kn_ss, kn_sd;
    a_i64 vn_off, vn_sb, vn_sh, vn_ss, vn_sd;
    a_i64 kc_off, kc_sp, kc_ss, kc_sh, kc_sd;
    a_i64 vc_off, vc_sp, vc_ss, vc_sh, vc_sd;
    a_i64 bt_off, bt_sb, bt_sp;
    a_i32 batch, heads_kv, seq_new, head_dim, head_dim_v;
    a_i32 num_pages, page_size, max_pages;
} attn_kv_append_params;

/* Additive attention backward (kernels/<lang>/additive_bwd.*), on projected inputs qp, kp (the
 * storage dtype, or fp32 with QK_F32, then dqp and dkp are fp32 too): from dc = dL/dC the gradients
 * dqp, dkp, dv, dw and db (formulas in AdditiveBackwardParams.java). The fp32 workspace views:
 *   st   [B, H, Sq, 2]          per row (lse, delta), written by the preprocess kernel
 *   dwp  [B, H, k_blocks, A]    dw summed over the keys of one dkv work-group
 *   dbp  [B, H, q_blocks, A]    db summed over the rows of one dq work-group
 * summed in a fixed order by attn_additive_bwd_reduce (deterministic, no atomics). */
typedef struct attn_additive_bwd_params {
    a_i64 qp_off, qp_sb, qp_sh, qp_ss, qp_sa;
    a_i64 kp_off, kp_sb, kp_sh, kp_ss, kp_sa;
    a_i64 v_off, v_sb, v_sh, v_ss, v_sd;
    a_i64 dc_off, dc_sb, dc_sh, dc_ss, dc_sd;
    a_i64 dqp_off, dqp_sb, dqp_sh, dqp_ss, dqp_sa;
    a_i64 dkp_off, dkp_sb, dkp_sh, dkp_ss, dkp_sa;
    a_i64 dv_off, dv_sb, dv_sh, dv_ss, dv_sd;
    a_i64 w_off, b_off, dw_off, db_off;
    a_i64 st_off, dwp_off, dbp_off;
    a_i32 batch, heads, seq_q, seq_k;
    a_i32 dim_a, head_dim_v;
    a_i32 q_blocks, k_blocks; /* work-groups per (b, h) of the dq and the dkv kernel */
    a_i32 flags;              /* mask bits | ATTN_F_ADD_BIAS | ATTN_F_DB */
    a_i32 pad0;
    attn_mask_params m;
} attn_additive_bwd_params;

/* The projection gradients of raw additive inputs, x [B, H, S, D] projected by w [A, D]:
 *   attn_additive_bwd_proj:  dx[b,h,s,d] = sum_a dxp[b,h,s,a] w[a,d]
 *   attn_additive_bwd_wgrad: dw[a,d]     = sum_{b,h,s} dxp[b,h,s,a] x[b,h,s,d]   (fixed order)
 * dxp is the fp32 workspace view [B, H, S, A], contiguous from dxp_off. */
typedef struct attn_additive_proj_params {
    a_i64 x_off, x_sb, x_sh, x_ss, x_sd;
    a_i64 dx_off, dx_sb, dx_sh, dx_ss, dx_sd;
    a_i64 w_off, w_sa, w_sd;
    a_i64 dw_off, dw_sa, dw_sd;
    a_i64 dxp_off;
    a_i32 batch, heads, seq, dim, dim_a;
    a_i32 pad0;
} attn_additive_proj_params;

/* The public batched GEMM (io.github.attn4j.GemmParams):
 *   C[z, m, n] = alpha * sum_k opA[z, m, k] * opB[z, k, n] + beta * C[z, m, n],   z in [0, batch),
 * each operand addressed through element strides of op(A) (z, m, k), op(B) (z, k, n) and C (z, m, n),
 * so a transpose is a swap of two strides and a shared operand has a_sz or b_sz = 0. fp32 accumulation;
 * with beta == 0 C is not read. Entries attn_gemm_<dt> (A, B and C in one storage dtype). */
typedef struct attn_gemm_op_params {
    a_i64 a_off, a_sz, a_sm, a_sk;
    a_i64 b_off, b_sz, b_sk, b_sn;
    a_i64 c_off, c_sz, c_sm, c_sn;
    a_i32 m, n, k, batch;
    a_f32 alpha, beta;
} attn_gemm_op_params;

/* Rotary position embedding, rotate-half (io.github.attn4j.RopeParams): for x[b, h, s, :] at position
 * offset + s and i < D/2, f_i = 1 / theta^(2i/D) and a = (float)(offset + s) * f_i, both in fp32;
 *   o[i] = x[i] cos a - x[i + D/2] sin a,   o[i + D/2] = x[i + D/2] cos a + x[i] sin a.
 * inverse != 0 rotates by -a (sin negated): the backward, applied to the output's gradient.
 * o may be x (each work-item reads and writes one (i, i + D/2) pair). Entries attn_rope_<dt>. */
typedef struct attn_rope_params {
    a_i64 x_off, x_sb, x_sh, x_ss, x_sd;
    a_i64 o_off, o_sb, o_sh, o_ss, o_sd;
    a_i32 batch, heads, seq, head_dim;
    a_i32 offset;
    a_f32 theta;
    a_i32 inverse;
} attn_rope_params;

#endif /* ATTN_PARAMS_H */
