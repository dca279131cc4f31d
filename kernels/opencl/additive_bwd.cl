/*
 * additive_bwd.cl: the backward of fused additive (Bahdanau) attention (additive.cl), split as in
 * FlashAttention-2. With t = tanh(qp[i] + kp[j] + b), e[i,j] = w.t + bias + alibi, P = softmax_j(e):
 *
 *   attn_additive_bwd_pre     one work-item per query row: lse[i] and delta[i] = sum_j P[i,j] dc[i].V[j]
 *                             in one online sweep over the keys (no forward statistics are taken)
 *   attn_additive_bwd_dq      one work-item per query row, looping over K/V tiles:
 *                             dqp[i] = sum_j dE[i,j] w (1 - t^2), dE = P (dc[i].V[j] - delta[i]);
 *                             the group's rows summed in a fixed order -> db partial
 *   attn_additive_bwd_dkv     one work-item per key, looping over query tiles: dV[j] = sum_i P dc[i],
 *                             dkp[j] = sum_i dE w (1 - t^2); the group's keys summed -> dw partial (dE t)
 *   attn_additive_bwd_reduce  dw and db from the partials, in a fixed order
 *   attn_additive_bwd_proj    raw inputs: dx = dxp . W          (attn_additive_proj_params)
 *   attn_additive_bwd_wgrad   raw inputs: dW = sum dxp^T . x
 *
 * Every tanh is recomputed (no [Sq, Sk, A] or [Sq, Sk] tensor exists); no atomics, every sum has a
 * fixed order, so results are bit-identical run to run. Query tiles that no key of a dkv group may
 * see (window, lengths) are skipped; masked pairs, dead rows (q_len) and rows with no live key
 * (lse = -inf) contribute nothing.
 *
 * Build options as additive.cl (DIM_A, A_PAD, HEAD_DIM_V, DV_PAD, VW, BLOCK_N, WG, HAS_ADD_BIAS,
 * QK_F32, the HAS_* mask options) plus HAS_DB (write db). BLOCK_N is the keys per tile of the row
 * kernels and the rows per tile of the key kernel. QK_F32 = 1: qp, kp, dqp and dkp are fp32
 * workspace views (raw inputs); otherwise they are in the storage dtype.
 */

#if !defined(DIM_A) || !defined(A_PAD) || !defined(HEAD_DIM_V) || !defined(DV_PAD) || !defined(VW) \
    || !defined(BLOCK_N) || !defined(WG)
#error "additive_bwd.cl needs DIM_A, A_PAD, HEAD_DIM_V, DV_PAD, VW, BLOCK_N and WG"
#endif
#if A_PAD % VW != 0 || DV_PAD % VW != 0 || BLOCK_N > 64
#error "A_PAD and DV_PAD must be multiples of VW, BLOCK_N at most 64"
#endif
#ifndef HAS_ADD_BIAS
#define HAS_ADD_BIAS 0
#endif
#ifndef HAS_DB
#define HAS_DB 0
#endif
#ifndef QK_F32
#define QK_F32 0
#endif

#if QK_F32
typedef float qk_t;
#define LOAD_QK(ptr, idx) ((ptr)[idx])
#define STORE_QK(ptr, idx, x) ((ptr)[idx] = (x))
#else
typedef st_t qk_t;
#define LOAD_QK(ptr, idx) LOAD_ST(ptr, idx)
#define STORE_QK(ptr, idx, x) STORE_ST(ptr, idx, x)
#endif

#define ACH (A_PAD / VW)
#define DVC (DV_PAD / VW)
/* The attention-dim chunk of the work-group reductions (local memory WG * RED_CH floats). */
#define RED_CH 64

/* w into local memory, zero in the padding. */
inline void bwd_load_w(const attn_additive_bwd_params p, __global const st_t *w, __local float *wl, int lid) {
    for (int a = lid; a < A_PAD; a += WG) {
        const float wx = LOAD_ST(w, p.w_off + min(a, DIM_A - 1));
        wl[a] = a < DIM_A ? wx : 0.0f;
    }
}

/* qp[b, h, i, :] + b (zero past DIM_A, and everywhere when !in) into a private vector array. */
inline void bwd_load_qrow(const attn_additive_bwd_params p, __global const qk_t *qp, __global const st_t *bv,
                          int b, int h, int ic, bool in, fv *qb) {
    float row[A_PAD];
    const long base = p.qp_off + b * p.qp_sb + h * p.qp_sh + ic * p.qp_ss;
    for (int a = 0; a < A_PAD; a++) {
        float x = 0.0f;
        if (in && a < DIM_A) {
            x = LOAD_QK(qp, base + a * p.qp_sa);
#if HAS_ADD_BIAS
            x += LOAD_ST(bv, p.b_off + a);
#endif
        }
        row[a] = x;
    }
    for (int c = 0; c < ACH; c++) {
        qb[c] = VLOAD_W(c, row);
    }
}

/* dc[b, h, i, :] (zero padded, zero when !in) into a private vector array. */
inline void bwd_load_dcrow(const attn_additive_bwd_params p, __global const st_t *dc, int b, int h, int ic, bool in,
                           fv *dr) {
    float row[DV_PAD];
    const long base = p.dc_off + b * p.dc_sb + h * p.dc_sh + ic * p.dc_ss;
    for (int x = 0; x < DV_PAD; x++) {
        const float y = LOAD_ST(dc, base + min(x, HEAD_DIM_V - 1) * p.dc_sd);
        row[x] = (in && x < HEAD_DIM_V) ? y : 0.0f;
    }
    for (int c = 0; c < DVC; c++) {
        dr[c] = VLOAD_W(c, row);
    }
}

/* Keys j0 .. j0+nvalid of kp and V into local memory, zero past nvalid and in the padding. */
inline void bwd_load_keys(const attn_additive_bwd_params p, __global const qk_t *kp, __global const st_t *v,
                          __local float *kl, __local float *vt, int b, int h, int j0, int nvalid, int lid) {
    const long kbase = p.kp_off + b * p.kp_sb + h * p.kp_sh;
    const long vbase = p.v_off + b * p.v_sb + h * p.v_sh;
    for (int e = lid; e < BLOCK_N * A_PAD; e += WG) {
        const int t = e / A_PAD, a = e - t * A_PAD;
        const float kx = LOAD_QK(kp, kbase + (j0 + min(t, nvalid - 1)) * p.kp_ss + min(a, DIM_A - 1) * p.kp_sa);
        kl[e] = (t < nvalid && a < DIM_A) ? kx : 0.0f;
    }
    for (int e = lid; e < BLOCK_N * DV_PAD; e += WG) {
        const int t = e / DV_PAD, x = e - t * DV_PAD;
        const float vx = LOAD_ST(v, vbase + (j0 + min(t, nvalid - 1)) * p.v_ss + min(x, HEAD_DIM_V - 1) * p.v_sd);
        vt[e] = (t < nvalid && x < HEAD_DIM_V) ? vx : 0.0f;
    }
}

/* th[c] = tanh(y[c] + x[c]) over the attention dim, returns w.th (the padding has w = 0). */
inline float bwd_tanh_energy(const fv *y, __local const float *x, __local const float *wl, fv *th) {
    fv acc = (fv)(0.0f);
    for (int c = 0; c < ACH; c++) {
        th[c] = tanh(y[c] + VLOAD_W(c, x));
        acc = fma(VLOAD_W(c, wl), th[c], acc);
    }
    return HSUM_W(acc);
}

/* The dot product of a private vector array with a local row, over DV_PAD. */
inline float bwd_dot_v(const fv *a, __local const float *row) {
    fv acc = (fv)(0.0f);
    for (int c = 0; c < DVC; c++) {
        acc = fma(a[c], VLOAD_W(c, row), acc);
    }
    return HSUM_W(acc);
}

/* Sums x[A_PAD] over the WG work-items of the group in a fixed order (work-item 0 first) and
 * writes the DIM_A sums to out[base + a]. Every work-item of the group calls it. */
inline void bwd_group_sum(const float *x, __local float *red, __global float *out, long base, int lid) {
    for (int a0 = 0; a0 < A_PAD; a0 += RED_CH) {
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int k = 0; k < RED_CH; k++) {
            red[lid * RED_CH + k] = a0 + k < A_PAD ? x[min(a0 + k, A_PAD - 1)] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int k = lid; k < RED_CH; k += WG) {
            if (a0 + k < DIM_A) {
                float s = 0.0f;
                for (int r = 0; r < WG; r++) {
                    s += red[r * RED_CH + k];
                }
                out[base + a0 + k] = s;
            }
        }
    }
}

/* The key range of the rows [i0, i_last] of one (b, h): keys outside [*jb, *je) are masked for all. */
inline void bwd_group_keys(const attn_mask_params m, int i0, int i_last, int seq_k, int kvl, int *jb, int *je) {
    int lo_last, hi_first;
    *jb = 0;
    *je = 0;
    if (i_last >= i0) {
        mask_key_range(m, i0, seq_k, kvl, jb, &hi_first);
        mask_key_range(m, i_last, seq_k, kvl, &lo_last, je);
        *jb = max(*jb, 0);
    }
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void ENTRY(attn_additive_bwd_pre)(const attn_additive_bwd_params p, __global const qk_t *qp, __global const qk_t *kp,
                                  __global const st_t *v, __global const st_t *w, __global const st_t *bv,
                                  __global const st_t *dc, __global float *st, __global const uchar *mask,
                                  __global const float *bias, __global const float *alibi,
                                  __global const int *kv_len, __global const int *q_len) {
    __local float kl[BLOCK_N * A_PAD];
    __local float vt[BLOCK_N * DV_PAD];
    __local float wl[A_PAD];

    const int lid = get_local_id(0);
    const int i0 = get_group_id(0) * WG;
    const int i = i0 + lid;
    const int bh = get_group_id(1);
    const int b = bh / p.heads, h = bh - b * p.heads;
    const attn_mask_params m = p.m;
    const int kvl = mask_kv_len(kv_len, b, p.seq_k);
    const int ql = mask_q_len(q_len, b, p.seq_q);
    const float slope = mask_alibi_slope(m, alibi, b, h);
    const bool in = i < p.seq_q;
    const bool row_live = i < ql;
    const int ic = min(i, p.seq_q - 1);

    bwd_load_w(p, w, wl, lid);
    int jb, je, lo, hi;
    bwd_group_keys(m, i0, min(i0 + WG, ql) - 1, p.seq_k, kvl, &jb, &je);
    mask_key_range(m, i, p.seq_k, kvl, &lo, &hi);
    fv qb[ACH], dr[DVC], th[ACH];
    bwd_load_qrow(p, qp, bv, b, h, ic, in, qb);
    bwd_load_dcrow(p, dc, b, h, ic, in, dr);

    float mr = -INFINITY, lr = 0.0f, ar = 0.0f;
    for (int j0 = jb; j0 < je; j0 += BLOCK_N) {
        const int nvalid = min(BLOCK_N, je - j0);
        barrier(CLK_LOCAL_MEM_FENCE);
        bwd_load_keys(p, kp, v, kl, vt, b, h, j0, nvalid, lid);
        barrier(CLK_LOCAL_MEM_FENCE);
        float er[BLOCK_N];
        ulong live = 0;
        float tmax = -INFINITY;
        for (int t = 0; t < BLOCK_N; t++) {
            const int j = j0 + t;
            const int jc = min(j, p.seq_k - 1);
            const bool ok = t < nvalid && j >= lo && j < hi && row_live && mask_bool(m, mask, b, h, ic, jc);
            float e = -INFINITY;
            if (ok) {
                e = bwd_tanh_energy(qb, kl + t * A_PAD, wl, th) + mask_score_bias(m, bias, slope, b, h, ic, jc);
                live |= 1ul << t;
            }
            er[t] = e;
            tmax = fmax(tmax, e);
        }
        const float alpha = osm_advance(&mr, &lr, tmax, false);
        ar *= alpha;
        const float ref = osm_ref(mr);
        for (int t = 0; t < BLOCK_N; t++) {
            if ((live >> t) & 1ul) {
                const float pt = exp(er[t] - ref);
                lr += pt;
                ar = fma(pt, bwd_dot_v(dr, vt + t * DV_PAD), ar);
            }
        }
    }
    if (in) {
        const long o = p.st_off + 2 * ((long)bh * p.seq_q + i);
        const bool none = !row_live || lr == 0.0f;
        st[o] = none ? -INFINITY : mr + log(lr);
        st[o + 1] = none ? 0.0f : ar / lr;
    }
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void ENTRY(attn_additive_bwd_dq)(const attn_additive_bwd_params p, __global const qk_t *qp, __global const qk_t *kp,
                                 __global const st_t *v, __global const st_t *w, __global const st_t *bv,
                                 __global const st_t *dc, __global const float *st, __global qk_t *dqp,
                                 __global float *dbp, __global const uchar *mask, __global const float *bias,
                                 __global const float *alibi, __global const int *kv_len,
                                 __global const int *q_len) {
    __local float kl[BLOCK_N * A_PAD];
    __local float vt[BLOCK_N * DV_PAD];
    __local float wl[A_PAD];
#if HAS_DB
    __local float red[WG * RED_CH];
#endif

    const int lid = get_local_id(0);
    const int i0 = get_group_id(0) * WG;
    const int i = i0 + lid;
    const int bh = get_group_id(1);
    const int b = bh / p.heads, h = bh - b * p.heads;
    const attn_mask_params m = p.m;
    const int kvl = mask_kv_len(kv_len, b, p.seq_k);
    const int ql = mask_q_len(q_len, b, p.seq_q);
    const float slope = mask_alibi_slope(m, alibi, b, h);
    const bool in = i < p.seq_q;
    const int ic = min(i, p.seq_q - 1);
    const long so = p.st_off + 2 * ((long)bh * p.seq_q + ic);
    const float lse = st[so], delta = st[so + 1];
    const bool act = in && i < ql && lse != -INFINITY;

    bwd_load_w(p, w, wl, lid);
    int jb, je, lo, hi;
    bwd_group_keys(m, i0, min(i0 + WG, ql) - 1, p.seq_k, kvl, &jb, &je);
    mask_key_range(m, i, p.seq_k, kvl, &lo, &hi);
    fv qb[ACH], dr[DVC], th[ACH], ga[ACH];
    bwd_load_qrow(p, qp, bv, b, h, ic, in, qb);
    bwd_load_dcrow(p, dc, b, h, ic, in, dr);
    for (int c = 0; c < ACH; c++) {
        ga[c] = (fv)(0.0f);
    }

    for (int j0 = jb; j0 < je; j0 += BLOCK_N) {
        const int nvalid = min(BLOCK_N, je - j0);
        barrier(CLK_LOCAL_MEM_FENCE);
        bwd_load_keys(p, kp, v, kl, vt, b, h, j0, nvalid, lid);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (act) {
            for (int t = 0; t < nvalid; t++) {
                const int j = j0 + t;
                if (j >= lo && j < hi && mask_bool(m, mask, b, h, ic, j)) {
                    const float e = bwd_tanh_energy(qb, kl + t * A_PAD, wl, th)
                                    + mask_score_bias(m, bias, slope, b, h, ic, j);
                    const float pt = exp(e - lse);
                    const float de = pt * (bwd_dot_v(dr, vt + t * DV_PAD) - delta);
                    for (int c = 0; c < ACH; c++) {
                        ga[c] = fma((fv)(de), VLOAD_W(c, wl) * ((fv)(1.0f) - th[c] * th[c]), ga[c]);
                    }
                }
            }
        }
    }

    float g[A_PAD];
    for (int c = 0; c < ACH; c++) {
        VSTORE_W(ga[c], c, g);
    }
    if (in) {
        const long base = p.dqp_off + b * p.dqp_sb + h * p.dqp_sh + i * p.dqp_ss;
        for (int a = 0; a < DIM_A; a++) {
            STORE_QK(dqp, base + a * p.dqp_sa, g[a]);
        }
    }
#if HAS_DB
    bwd_group_sum(g, red, dbp, p.dbp_off + ((long)bh * p.q_blocks + get_group_id(0)) * DIM_A, lid);
#endif
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void ENTRY(attn_additive_bwd_dkv)(const attn_additive_bwd_params p, __global const qk_t *qp, __global const qk_t *kp,
                                  __global const st_t *v, __global const st_t *w, __global const st_t *bv,
                                  __global const st_t *dc, __global const float *st, __global qk_t *dkp,
                                  __global st_t *dv, __global float *dwp, __global const uchar *mask,
                                  __global const float *bias, __global const float *alibi,
                                  __global const int *kv_len, __global const int *q_len) {
    __local float qtl[BLOCK_N * A_PAD];
    __local float dcl[BLOCK_N * DV_PAD];
    __local float wl[A_PAD];
    __local float rlse[BLOCK_N], rdel[BLOCK_N];
    __local int rlo[BLOCK_N], rhi[BLOCK_N];
    __local float red[WG * RED_CH];

    const int lid = get_local_id(0);
    const int j0 = get_group_id(0) * WG;
    const int j = j0 + lid;
    const int bh = get_group_id(1);
    const int b = bh / p.heads, h = bh - b * p.heads;
    const attn_mask_params m = p.m;
    const int kvl = mask_kv_len(kv_len, b, p.seq_k);
    const int ql = mask_q_len(q_len, b, p.seq_q);
    const float slope = mask_alibi_slope(m, alibi, b, h);
    const bool in = j < p.seq_k;
    const bool key_live = j < kvl;
    const int jc = min(j, p.seq_k - 1);
    const int j_end = min(j0 + WG, kvl);   /* the group's live keys are [j0, j_end) */

    bwd_load_w(p, w, wl, lid);
    /* this key's kp and V row, zero for keys past kv_len (never read) */
    fv kb[ACH], vr[DVC], th[ACH], gk[ACH], gv[DVC], gw[ACH];
    {
        float row[A_PAD];
        const long base = p.kp_off + b * p.kp_sb + h * p.kp_sh + jc * p.kp_ss;
        for (int a = 0; a < A_PAD; a++) {
            row[a] = (key_live && a < DIM_A) ? LOAD_QK(kp, base + a * p.kp_sa) : 0.0f;
        }
        for (int c = 0; c < ACH; c++) {
            kb[c] = VLOAD_W(c, row);
            gk[c] = (fv)(0.0f);
            gw[c] = (fv)(0.0f);
        }
        float vrow[DV_PAD];
        const long vbase = p.v_off + b * p.v_sb + h * p.v_sh + jc * p.v_ss;
        for (int x = 0; x < DV_PAD; x++) {
            vrow[x] = (key_live && x < HEAD_DIM_V) ? LOAD_ST(v, vbase + x * p.v_sd) : 0.0f;
        }
        for (int c = 0; c < DVC; c++) {
            vr[c] = VLOAD_W(c, vrow);
            gv[c] = (fv)(0.0f);
        }
    }

    const long qbase = p.qp_off + b * p.qp_sb + h * p.qp_sh;
    const long dbase = p.dc_off + b * p.dc_sb + h * p.dc_sh;
    for (int r0 = 0; r0 < ql && j0 < j_end; r0 += BLOCK_N) {
        const int nrows = min(BLOCK_N, ql - r0);
        int kb0, ke0;
        bwd_group_keys(m, r0, r0 + nrows - 1, p.seq_k, kvl, &kb0, &ke0);
        if (ke0 <= j0 || kb0 >= j_end) {
            continue; /* no row of this tile sees a key of this group (uniform over the group) */
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int e = lid; e < BLOCK_N * A_PAD; e += WG) {
            const int t = e / A_PAD, a = e - t * A_PAD;
            const int ir = r0 + min(t, nrows - 1);
            float x = LOAD_QK(qp, qbase + ir * p.qp_ss + min(a, DIM_A - 1) * p.qp_sa);
#if HAS_ADD_BIAS
            x += LOAD_ST(bv, p.b_off + min(a, DIM_A - 1));
#endif
            qtl[e] = (t < nrows && a < DIM_A) ? x : 0.0f;
        }
        for (int e = lid; e < BLOCK_N * DV_PAD; e += WG) {
            const int t = e / DV_PAD, x = e - t * DV_PAD;
            const float y = LOAD_ST(dc, dbase + (r0 + min(t, nrows - 1)) * p.dc_ss + min(x, HEAD_DIM_V - 1) * p.dc_sd);
            dcl[e] = (t < nrows && x < HEAD_DIM_V) ? y : 0.0f;
        }
        for (int t = lid; t < BLOCK_N; t += WG) {
            const int ir = r0 + min(t, nrows - 1);
            const long so = p.st_off + 2 * ((long)bh * p.seq_q + ir);
            const float l = st[so];
            int lo, hi;
            mask_key_range(m, ir, p.seq_k, kvl, &lo, &hi);
            const bool dead = t >= nrows || l == -INFINITY;
            rlse[t] = l;
            rdel[t] = st[so + 1];
            rlo[t] = dead ? 0 : lo;
            rhi[t] = dead ? 0 : hi;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (key_live) {
            for (int t = 0; t < nrows; t++) {
                const int i = r0 + t;
                if (j >= rlo[t] && j < rhi[t] && mask_bool(m, mask, b, h, i, j)) {
                    const float e = bwd_tanh_energy(kb, qtl + t * A_PAD, wl, th)
                                    + mask_score_bias(m, bias, slope, b, h, i, j);
                    const float pt = exp(e - rlse[t]);
                    const float de = pt * (bwd_dot_v(vr, dcl + t * DV_PAD) - rdel[t]);
                    for (int c = 0; c < DVC; c++) {
                        gv[c] = fma((fv)(pt), VLOAD_W(c, dcl + t * DV_PAD), gv[c]);
                    }
                    for (int c = 0; c < ACH; c++) {
                        gk[c] = fma((fv)(de), VLOAD_W(c, wl) * ((fv)(1.0f) - th[c] * th[c]), gk[c]);
                        gw[c] = fma((fv)(de), th[c], gw[c]);
                    }
                }
            }
        }
    }

    if (in) {
        float g[A_PAD];
        for (int c = 0; c < ACH; c++) {
            VSTORE_W(gk[c], c, g);
        }
        const long kb_ = p.dkp_off + b * p.dkp_sb + h * p.dkp_sh + j * p.dkp_ss;
        for (int a = 0; a < DIM_A; a++) {
            STORE_QK(dkp, kb_ + a * p.dkp_sa, g[a]);
        }
        float gvr[DV_PAD];
        for (int c = 0; c < DVC; c++) {
            VSTORE_W(gv[c], c, gvr);
        }
        const long vb_ = p.dv_off + b * p.dv_sb + h * p.dv_sh + j * p.dv_ss;
        for (int x = 0; x < HEAD_DIM_V; x++) {
            STORE_ST(dv, vb_ + x * p.dv_sd, gvr[x]);
        }
    }
    float gwf[A_PAD];
    for (int c = 0; c < ACH; c++) {
        VSTORE_W(gw[c], c, gwf);
    }
    bwd_group_sum(gwf, red, dwp, p.dwp_off + ((long)bh * p.k_blocks + get_group_id(0)) * DIM_A, lid);
}

/* One work-item per attention-dim index a: dw[a] (and db[a]) summed over the partials in order. */
__kernel void ENTRY(attn_additive_bwd_reduce)(const attn_additive_bwd_params p, __global const float *dwp,
                                              __global const float *dbp, __global st_t *dw, __global st_t *db) {
    const int a = get_global_id(0);
    if (a >= DIM_A) {
        return;
    }
    const long bhn = (long)p.batch * p.heads;
    float s = 0.0f;
    for (long n = 0; n < bhn * p.k_blocks; n++) {
        s += dwp[p.dwp_off + n * DIM_A + a];
    }
    STORE_ST(dw, p.dw_off + a, s);
#if HAS_DB
    float sb = 0.0f;
    for (long n = 0; n < bhn * p.q_blocks; n++) {
        sb += dbp[p.dbp_off + n * DIM_A + a];
    }
    STORE_ST(db, p.db_off + a, sb);
#endif
}

/* Raw inputs: dx[b,h,s,d] = sum_a dxp[b,h,s,a] w[a,d]; one work-item per (d, s, b*h). */
__kernel void ENTRY(attn_additive_bwd_proj)(const attn_additive_proj_params p, __global const float *dxp,
                                            __global const st_t *wt, __global st_t *dx) {
    const int d = get_global_id(0), s = get_global_id(1), z = get_global_id(2);
    if (d >= p.dim || s >= p.seq) {
        return;
    }
    const int b = z / p.heads, h = z - b * p.heads;
    const long base = p.dxp_off + ((long)z * p.seq + s) * p.dim_a;
    float acc = 0.0f;
    for (int a = 0; a < p.dim_a; a++) {
        acc = fma(dxp[base + a], LOAD_ST(wt, p.w_off + a * p.w_sa + d * p.w_sd), acc);
    }
    STORE_ST(dx, p.dx_off + b * p.dx_sb + h * p.dx_sh + s * p.dx_ss + d * p.dx_sd, acc);
}

/* Raw inputs: dw[a,d] = sum over (b, h, s) in order of dxp[b,h,s,a] x[b,h,s,d]; one work-item per (d, a). */
__kernel void ENTRY(attn_additive_bwd_wgrad)(const attn_additive_proj_params p, __global const float *dxp,
                                             __global const st_t *x, __global st_t *dwt) {
    const int d = get_global_id(0), a = get_global_id(1);
    if (d >= p.dim || a >= p.dim_a) {
        return;
    }
    float acc = 0.0f;
    for (int z = 0; z < p.batch * p.heads; z++) {
        const int b = z / p.heads, h = z - b * p.heads;
        const long xb = p.x_off + b * p.x_sb + h * p.x_sh + d * p.x_sd;
        const long gb = p.dxp_off + (long)z * p.seq * p.dim_a + a;
        for (int s = 0; s < p.seq; s++) {
            acc = fma(dxp[gb + (long)s * p.dim_a], LOAD_ST(x, xb + s * p.x_ss), acc);
        }
    }
    STORE_ST(dwt, p.dw_off + a * p.dw_sa + d * p.dw_sd, acc);
}
