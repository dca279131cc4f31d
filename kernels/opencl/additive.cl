/*
 * additive.cl: fused additive (Bahdanau) attention forward.
 *
 *   e[i,j] = sum_a w[a] * tanh(qp[i,a] + b[a] + kp[j,a]) + bias[i,j] - slope * |i + off - j|
 *   C[i,:] = sum_j softmax_j(e[i,:]) V[j,:]
 *
 * A work-group of WG work-items owns WG query rows of one (batch, head), one row per work-item.
 * It streams kp and V through local memory BLOCK_N keys at a time, evaluates the tanh sum with
 * VW-wide vectors over the attention dim, folds the scores into the online-softmax state of
 * common.cl and accumulates C in private memory. Neither [Sq, Sk, A] nor [Sq, Sk] exists; the
 * weights [Sq, Sk] are written only when asked (HAS_WEIGHTS), by a second sweep that recomputes
 * e with the final max and sum, so the weights are exact softmax values in the storage dtype.
 *
 * Build options: DIM_A, A_PAD (DIM_A rounded up to VW), HEAD_DIM_V, DV_PAD, VW, BLOCK_N (<= 64),
 * WG, HAS_WEIGHTS, HAS_ADD_BIAS, the HAS_* mask options, and QK_F32:
 *   QK_F32 = 1: qp and kp are fp32 (the projection workspace written by gemm.cl, for raw inputs),
 *   QK_F32 = 0: qp and kp are in the storage dtype (pre-projected inputs).
 * V, w, b, C and the weights are always in the storage dtype.
 */

#if !defined(DIM_A) || !defined(A_PAD) || !defined(HEAD_DIM_V) || !defined(DV_PAD) || !defined(VW) \
    || !defined(BLOCK_N) || !defined(WG)
#error "additive.cl needs DIM_A, A_PAD, HEAD_DIM_V, DV_PAD, VW, BLOCK_N and WG"
#endif
#if A_PAD % VW != 0 || DV_PAD % VW != 0 || BLOCK_N > 64
#error "A_PAD and DV_PAD must be multiples of VW, BLOCK_N at most 64"
#endif
#ifndef HAS_WEIGHTS
#define HAS_WEIGHTS 0
#endif
#ifndef HAS_ADD_BIAS
#define HAS_ADD_BIAS 0
#endif
#ifndef QK_F32
#define QK_F32 0
#endif

#if QK_F32
typedef float qk_t;
#define LOAD_QK(ptr, idx) ((ptr)[idx])
#else
typedef st_t qk_t;
#define LOAD_QK(ptr, idx) LOAD_ST(ptr, idx)
#endif

#define ACH (A_PAD / VW)
#define DVC (DV_PAD / VW)

/* Loads kp[j0 .. j0+BLOCK_N) into kl (zero past nvalid and past DIM_A) and, if vt != 0, V too. */
inline void additive_load_tile(const attn_additive_params p, __global const qk_t *kp, __global const st_t *v,
                               __local float *kl, __local float *vt, long kbase, long vbase, int j0, int nvalid,
                               int lid, bool with_v) {
    for (int e = lid; e < BLOCK_N * A_PAD; e += WG) {
        const int t = e / A_PAD, a = e - t * A_PAD;
        /* clamped indices: an address in the buffer whatever the compiler hoists; value selected away */
        const float kx = LOAD_QK(kp, kbase + (j0 + min(t, nvalid - 1)) * p.kp_ss + min(a, DIM_A - 1) * p.kp_sa);
        kl[e] = (t < nvalid && a < DIM_A) ? kx : 0.0f;
    }
    if (with_v) {
        for (int e = lid; e < BLOCK_N * DV_PAD; e += WG) {
            const int t = e / DV_PAD, x = e - t * DV_PAD;
            const float vx = LOAD_ST(v, vbase + (j0 + min(t, nvalid - 1)) * p.v_ss + min(x, HEAD_DIM_V - 1) * p.v_sd);
            vt[e] = (t < nvalid && x < HEAD_DIM_V) ? vx : 0.0f;
        }
    }
}

/* e for one (row, key) pair, without the bias terms: sum_a w[a] tanh(qb[a] + kp[t, a]). */
inline float additive_energy(const fv *qb, __local const float *wl, __local const float *kl, int t) {
    fv acc = (fv)(0.0f);
    for (int c = 0; c < ACH; c++) {
        const fv kv = VLOAD_W(c, kl + t * A_PAD);
        acc = fma(VLOAD_W(c, wl), tanh(qb[c] + kv), acc);
    }
    return HSUM_W(acc);
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void ENTRY(attn_additive_fwd)(const attn_additive_params p, __global const qk_t *qp, __global const qk_t *kp,
                              __global const st_t *v, __global const st_t *w, __global const st_t *bv,
                              __global st_t *o, __global st_t *wts, __global const uchar *mask,
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
    /* i clamped into [0, Sq): the row index of every load, so that no address leaves its buffer
     * whatever the compiler hoists; it differs from i only where in is false (nothing is used). */
    const int ic = min(i, p.seq_q - 1);

    for (int a = lid; a < A_PAD; a += WG) {
        const float wx = LOAD_ST(w, p.w_off + min(a, DIM_A - 1));
        wl[a] = a < DIM_A ? wx : 0.0f;
    }

    int jb = 0, je = 0, lo_last = 0, hi_first = 0;
    const int i_last = min(i0 + WG, ql) - 1;
    if (i_last >= i0) {
        mask_key_range(m, i0, p.seq_k, kvl, &jb, &hi_first);
        mask_key_range(m, i_last, p.seq_k, kvl, &lo_last, &je);
        jb = max(jb, 0);
    }
    int lo, hi;
    mask_key_range(m, i, p.seq_k, kvl, &lo, &hi);

    /* qb = qp[i, :] + b (zero in the padding, where w is zero too) */
    fv qb[ACH];
    {
        float qrow[A_PAD];
        const long qbase = p.qp_off + b * p.qp_sb + h * p.qp_sh + ic * p.qp_ss;
        for (int a = 0; a < A_PAD; a++) {
            float x = 0.0f;
            if (in && a < DIM_A) {
                x = LOAD_QK(qp, qbase + a * p.qp_sa);
#if HAS_ADD_BIAS
                x += LOAD_ST(bv, p.b_off + a);
#endif
            }
            qrow[a] = x;
        }
        for (int c = 0; c < ACH; c++) {
            qb[c] = VLOAD_W(c, qrow);
        }
    }

    fv acc[DVC];
    for (int c = 0; c < DVC; c++) {
        acc[c] = (fv)(0.0f);
    }
    float mr = -INFINITY, lr = 0.0f;
    const long kbase = p.kp_off + b * p.kp_sb + h * p.kp_sh;
    const long vbase = p.v_off + b * p.v_sb + h * p.v_sh;

    for (int j0 = jb; j0 < je; j0 += BLOCK_N) {
        const int nvalid = min(BLOCK_N, je - j0);
        barrier(CLK_LOCAL_MEM_FENCE);
        additive_load_tile(p, kp, v, kl, vt, kbase, vbase, j0, nvalid, lid, true);
        barrier(CLK_LOCAL_MEM_FENCE);

        float er[BLOCK_N];
        ulong live = 0;
        float tmax = -INFINITY;
        for (int t = 0; t < BLOCK_N; t++) {
            const int j = j0 + t;
            const int jc = min(j, p.seq_k - 1);
            const bool ok = t < nvalid && j >= lo && j < hi && in && mask_bool(m, mask, b, h, ic, jc);
            float e = -INFINITY;
            if (ok) {
                e = additive_energy(qb, wl, kl, t) + mask_score_bias(m, bias, slope, b, h, ic, jc);
                live |= 1ul << t;
            }
            er[t] = e;
            tmax = fmax(tmax, e);
        }
        const float alpha = osm_advance(&mr, &lr, tmax, false);
        const float ref = osm_ref(mr);
        if (alpha != 1.0f) {
            for (int c = 0; c < DVC; c++) {
                acc[c] *= (fv)(alpha);
            }
        }
        for (int t = 0; t < BLOCK_N; t++) {
            if ((live >> t) & 1ul) {
                const float pt = exp(er[t] - ref);
                lr += pt;
                for (int c = 0; c < DVC; c++) {
                    acc[c] = fma((fv)(pt), VLOAD_W(c, vt + t * DV_PAD), acc[c]);
                }
            }
        }
    }

    const float inv = row_live ? osm_inv_sum(lr) : 0.0f;
    if (in) {
        const long obase = p.o_off + b * p.o_sb + h * p.o_sh + i * p.o_ss;
        float orow[DV_PAD];
        for (int c = 0; c < DVC; c++) {
            VSTORE_W(inv == 0.0f ? (fv)(0.0f) : acc[c] * (fv)(inv), c, orow);
        }
        for (int x = 0; x < HEAD_DIM_V; x++) {
            STORE_ST(o, obase + x * p.o_sd, orow[x]);
        }
    }

#if HAS_WEIGHTS
    /* Second sweep: the weights with the final max and sum; zeros outside the tiles and where masked. */
    const long wbase = p.wts_off + b * p.wts_sb + h * p.wts_sh + i * p.wts_sq;
    const float ref = osm_ref(mr);
    if (in) {
        for (int j = 0; j < p.seq_k; j++) {
            if (j < jb || j >= je || inv == 0.0f) {
                STORE_ST(wts, wbase + j * p.wts_sk, 0.0f);
            }
        }
    }
    for (int j0 = jb; j0 < je; j0 += BLOCK_N) {
        const int nvalid = min(BLOCK_N, je - j0);
        barrier(CLK_LOCAL_MEM_FENCE);
        additive_load_tile(p, kp, v, kl, vt, kbase, vbase, j0, nvalid, lid, false);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (in && inv != 0.0f) {
            for (int t = 0; t < nvalid; t++) {
                const int j = j0 + t;
                float wv = 0.0f;
                if (j >= lo && j < hi && mask_bool(m, mask, b, h, ic, j)) {
                    const float e = additive_energy(qb, wl, kl, t) + mask_score_bias(m, bias, slope, b, h, ic, j);
                    wv = exp(e - ref) * inv;
                }
                STORE_ST(wts, wbase + j * p.wts_sk, wv);
            }
        }
    }
#endif
}
