/*
 * sdpa_bwd.cl: the SDPA backward, FlashAttention-2 structure (attn_params.h: attn_sdpa_bwd_params).
 *
 *   attn_sdpa_bwd_pre    one work-item per query row: Delta_i = dO_i . O_i, and LSE_i in log2 units
 *                        (+inf for a dead or fully masked row, so that every P of the row is 0),
 *                        into the workspace ws.
 *   attn_sdpa_bwd_dkdv   a work-group owns BLOCK_OWN = WG * ROWS keys of one (batch, kv head); work-item
 *                        w holds keys j0 + r * WG + w (r < ROWS) with their K and V rows and their dK, dV
 *                        accumulators in private memory. The group streams the query rows that may attend
 *                        the tile, BLOCK rows at a time, of every query head of the kv head (GQA is summed
 *                        here, in a fixed order), recomputing P = exp2(S - LSE) from Q and K:
 *                        dV += P dO, dS = P (dO V^T - Delta), dK += dS Q.
 *   attn_sdpa_bwd_dq     a work-group owns BLOCK_OWN query rows of one (batch, query head) and streams the
 *                        keys they may attend: dQ += dS K.
 *   attn_sdpa_bwd_dbias  a work-group owns BLOCK_OWN rows of one dBias slice [b', h'] and visits the
 *                        (b, h) that broadcast into it in order, writing dS for the first and adding it
 *                        for the others (every element has one owner: deterministic, no atomics).
 *
 * No atomics and no S x S workspace; results are bit-identical run to run. As in the forward, tiles
 * that the window and length bounds mask for every pair are never loaded, and tiles that they mask
 * for no pair skip the per-element mask test. Masked pairs are selected away (never multiplied by 0),
 * so NaN in a masked K, V, Q or dO row cannot leak.
 *
 * Build options (OpenClPlans): HEAD_DIM, HEAD_DIM_V, D_PAD and DV_PAD (rounded up to VW), VW, BLOCK
 * (streamed rows or keys per tile: a multiple of VW, at most 64), WG, ROWS, HAS_SOFTCAP, HAS_DBIAS and
 * the HAS_* mask options of common.cl. Scores are kept in log2 units (exp2).
 */

#if !defined(HEAD_DIM) || !defined(HEAD_DIM_V) || !defined(D_PAD) || !defined(DV_PAD) || !defined(VW) \
    || !defined(BLOCK) || !defined(WG) || !defined(ROWS)
#error "sdpa_bwd.cl needs HEAD_DIM, HEAD_DIM_V, D_PAD, DV_PAD, VW, BLOCK, WG and ROWS"
#endif
#if BLOCK % VW != 0 || BLOCK > 64
#error "BLOCK must be a multiple of VW and at most 64"
#endif
#if D_PAD % VW != 0 || D_PAD < HEAD_DIM || DV_PAD % VW != 0 || DV_PAD < HEAD_DIM_V
#error "D_PAD and DV_PAD must be HEAD_DIM and HEAD_DIM_V rounded up to a multiple of VW"
#endif
#ifndef HAS_SOFTCAP
#define HAS_SOFTCAP 0
#endif
#ifndef HAS_DBIAS
#define HAS_DBIAS 0
#endif
#ifndef BWD_CPU
#define BWD_CPU 0
#endif

#define BLOCK_OWN (WG * ROWS)
#define NCH (BLOCK / VW)
#define DC (D_PAD / VW)
#define DVC (DV_PAD / VW)
#define SCORE_XFORM (HAS_SOFTCAP || HAS_BIAS || HAS_ALIBI)

/* The four entries take one argument list (KernelArgs.sdpaBackward), written out in each signature. */

/* The query rows [*lo, *hi) that the window and q_len allow for some key of [j_first, j_last]: the
 * inverse of mask_key_range (row i attends j iff i + off - left <= j <= i + off + right). 64-bit. */
inline void bwd_query_range(const attn_mask_params m, int j_first, int j_last, int seq_q, int q_len, int *lo,
                            int *hi) {
    const long end = (long)min(seq_q, q_len);
    long a = 0, b = end;
#if HAS_WINDOW
    if (m.win_right >= 0) {
        a = max(a, (long)j_first - (long)m.align_off - (long)m.win_right);
    }
    if (m.win_left >= 0) {
        b = min(b, (long)j_last - (long)m.align_off + (long)m.win_left + 1);
    }
#endif
    *lo = (int)min(a, end);
    *hi = (int)max(b, 0L);
}

/* One score of (i, j) in log2 units from x = q.k * qscale: the softcap (its tanh kept in *th for the
 * gradient), bias and ALiBi when compiled in. Without them x already carries scale * log2(e). */
inline float bwd_score(const attn_sdpa_bwd_params p, __global const float *bias, float slope, float x, int b,
                       int h, int i, int j, float *th) {
#if SCORE_XFORM
#if HAS_SOFTCAP
    const float t = tanh(x / p.softcap);
    *th = t;
    x = p.softcap * t;
#endif
    x += mask_score_bias(p.m, bias, slope, b, h, i, j);
    x *= ATTN_LOG2E;
#endif
    return x;
}

__kernel void ENTRY(attn_sdpa_bwd_pre)(const attn_sdpa_bwd_params p, __global const st_t *q, __global const st_t *k,
        __global const st_t *v, __global const st_t *o, __global const st_t *dout, __global const float *lse,
        __global st_t *dq, __global st_t *dk, __global st_t *dv, __global float *dbias, __global float *ws,
        __global const uchar *mask, __global const float *bias, __global const float *alibi,
        __global const int *kv_len, __global const int *q_len) {
    const long n = (long)p.batch * p.heads_q * p.seq_q;
    const long r = get_global_id(0);
    if (r >= n) {
        return;
    }
    const int i = (int)(r % p.seq_q);
    const int bh = (int)(r / p.seq_q);
    const int b = bh / p.heads_q, h = bh - b * p.heads_q;
    const int ql = mask_q_len(q_len, b, p.seq_q);
    const long ob = p.o_off + b * p.o_sb + h * p.o_sh + i * p.o_ss;
    const long db = p.do_off + b * p.do_sb + h * p.do_sh + i * p.do_ss;
    float acc = 0.0f;
    if (i < ql) {
        for (int x = 0; x < HEAD_DIM_V; x++) {
            acc = fma(LOAD_ST(dout, db + x * p.do_sd), LOAD_ST(o, ob + x * p.o_sd), acc);
        }
    }
    const float l = lse[p.lse_off + b * p.lse_sb + h * p.lse_sh + i * p.lse_ss];
    ws[r] = acc;
    ws[n + r] = (i >= ql || l == -INFINITY) ? INFINITY : l * ATTN_LOG2E;
}

#if !BWD_CPU
__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void ENTRY(attn_sdpa_bwd_dkdv)(const attn_sdpa_bwd_params p, __global const st_t *q, __global const st_t *k,
        __global const st_t *v, __global const st_t *o, __global const st_t *dout, __global const float *lse,
        __global st_t *dq, __global st_t *dk, __global st_t *dv, __global float *dbias, __global float *ws,
        __global const uchar *mask, __global const float *bias, __global const float *alibi,
        __global const int *kv_len, __global const int *q_len) {
    __local float qt[HEAD_DIM * BLOCK];   /* qt[d * BLOCK + t] = Q[i0 + t, d] * qscale */
    __local float qrow[BLOCK * D_PAD];    /* qrow[t * D_PAD + d] = Q[i0 + t, d], pad 0 */
    __local float dott[HEAD_DIM_V * BLOCK]; /* dott[x * BLOCK + t] = dO[i0 + t, x] */
    __local float dorow[BLOCK * DV_PAD];  /* dorow[t * DV_PAD + x] = dO[i0 + t, x], pad 0 */
    __local float tl[BLOCK], td[BLOCK];   /* the rows' LSE (log2 units) and Delta */
    __local int tlo[BLOCK], thi[BLOCK];   /* the rows' key ranges */

    const int lid = get_local_id(0);
    const int j0 = get_group_id(0) * BLOCK_OWN;
    const int bk = get_group_id(1);
    const int b = bk / p.heads_kv, hk = bk - b * p.heads_kv;
    const attn_mask_params m = p.m;
    const int kvl = mask_kv_len(kv_len, b, p.seq_k);
    const int ql = mask_q_len(q_len, b, p.seq_q);
    const int jend = min(j0 + BLOCK_OWN, kvl); /* keys from jend on are never live */
    const long nrows = (long)p.batch * p.heads_q * p.seq_q;
#if SCORE_XFORM
    const float qscale = p.scale;
#else
    const float qscale = p.scale_log2;
#endif

    float kr[ROWS][HEAD_DIM], vr[ROWS][HEAD_DIM_V];
    fv dka[ROWS][DC], dva[ROWS][DVC];
    const long kbase = p.k_off + b * p.k_sb + hk * p.k_sh;
    const long vbase = p.v_off + b * p.v_sb + hk * p.v_sh;
    for (int r = 0; r < ROWS; r++) {
        const int j = j0 + r * WG + lid;
        const bool in = j < jend;
        for (int d = 0; d < HEAD_DIM; d++) {
            kr[r][d] = in ? LOAD_ST(k, kbase + j * p.k_ss + d * p.k_sd) : 0.0f;
        }
        for (int x = 0; x < HEAD_DIM_V; x++) {
            vr[r][x] = in ? LOAD_ST(v, vbase + j * p.v_ss + x * p.v_sd) : 0.0f;
        }
        for (int c = 0; c < DC; c++) {
            dka[r][c] = (fv)(0.0f);
        }
        for (int c = 0; c < DVC; c++) {
            dva[r][c] = (fv)(0.0f);
        }
    }

    int ib = 0, ie = 0;
    if (jend > j0) {
        bwd_query_range(m, j0, jend - 1, p.seq_q, ql, &ib, &ie);
    }
    /* One loop over (query head of the group, row tile), so that the barriers sit in a single loop
     * (PoCL compiles barriers in nested loops very slowly). */
    const int ntiles = ie > ib ? (ie - ib + BLOCK - 1) / BLOCK : 0;
    for (int n = 0; n < p.group * ntiles; n++) {
        const int g = n / ntiles;
        const int i0 = ib + (n - g * ntiles) * BLOCK;
        const int h = hk * p.group + g;
        const float slope = mask_alibi_slope(m, alibi, b, h);
        const long qbase = p.q_off + b * p.q_sb + h * p.q_sh;
        const long dobase = p.do_off + b * p.do_sb + h * p.do_sh;
        const long wrow = ((long)b * p.heads_q + h) * p.seq_q;
        {
            const int nvalid = min(BLOCK, ie - i0);
            barrier(CLK_LOCAL_MEM_FENCE); /* the previous tile has been consumed */
            for (int e = lid; e < BLOCK * D_PAD; e += WG) {
                const int t = e / D_PAD, d = e - t * D_PAD;
                const float x = (t < nvalid && d < HEAD_DIM) ? LOAD_ST(q, qbase + (i0 + t) * p.q_ss + d * p.q_sd)
                                                             : 0.0f;
                qrow[e] = x;
                if (d < HEAD_DIM) {
                    qt[d * BLOCK + t] = x * qscale;
                }
            }
            for (int e = lid; e < BLOCK * DV_PAD; e += WG) {
                const int t = e / DV_PAD, x = e - t * DV_PAD;
                const float y = (t < nvalid && x < HEAD_DIM_V)
                                    ? LOAD_ST(dout, dobase + (i0 + t) * p.do_ss + x * p.do_sd) : 0.0f;
                dorow[e] = y;
                if (x < HEAD_DIM_V) {
                    dott[x * BLOCK + t] = y;
                }
            }
            for (int t = lid; t < BLOCK; t += WG) {
                int lo = 0, hi = 0;
                if (t < nvalid) {
                    mask_key_range(m, i0 + t, p.seq_k, kvl, &lo, &hi);
                }
                tl[t] = t < nvalid ? ws[nrows + wrow + i0 + t] : INFINITY;
                td[t] = t < nvalid ? ws[wrow + i0 + t] : 0.0f;
                tlo[t] = lo;
                thi[t] = hi;
            }
            barrier(CLK_LOCAL_MEM_FENCE);

            /* Uniform: every (row, key) pair of the tiles passes the bounds (bounds grow with i). */
            const bool full = !HAS_BOOL_MASK && nvalid == BLOCK && tlo[BLOCK - 1] <= j0 && j0 + BLOCK_OWN <= thi[0];

            /* S = K Q^T: ROWS keys x BLOCK rows, one vector FMA per (key, chunk, d). */
            fv s[ROWS][NCH];
            for (int r = 0; r < ROWS; r++) {
                for (int c = 0; c < NCH; c++) {
                    s[r][c] = (fv)(0.0f);
                }
            }
            for (int d = 0; d < HEAD_DIM; d++) {
                for (int c = 0; c < NCH; c++) {
                    const fv qv = VLOAD_W(0, qt + d * BLOCK + c * VW);
                    for (int r = 0; r < ROWS; r++) {
                        s[r][c] = fma((fv)(kr[r][d]), qv, s[r][c]);
                    }
                }
            }
            /* dP = V dO^T. */
            fv dp[ROWS][NCH];
            for (int r = 0; r < ROWS; r++) {
                for (int c = 0; c < NCH; c++) {
                    dp[r][c] = (fv)(0.0f);
                }
            }
            for (int x = 0; x < HEAD_DIM_V; x++) {
                for (int c = 0; c < NCH; c++) {
                    const fv dv_ = VLOAD_W(0, dott + x * BLOCK + c * VW);
                    for (int r = 0; r < ROWS; r++) {
                        dp[r][c] = fma((fv)(vr[r][x]), dv_, dp[r][c]);
                    }
                }
            }

            /* P = exp2(S - LSE), dS = P (dP - Delta), dR = dS (1 - tanh^2) with a softcap; masked -> 0. */
            float pr[ROWS][BLOCK], dr[ROWS][BLOCK];
            ulong live[ROWS];
            for (int r = 0; r < ROWS; r++) {
                const int j = j0 + r * WG + lid;
                const int jc = min(j, p.seq_k - 1);
                float sr[BLOCK], dpr[BLOCK];
                for (int c = 0; c < NCH; c++) {
                    VSTORE_W(s[r][c], c, sr);
                    VSTORE_W(dp[r][c], c, dpr);
                }
                ulong bits = 0;
                for (int t = 0; t < BLOCK; t++) {
                    const int i = i0 + t;
                    const int ic = min(i, p.seq_q - 1);
                    const bool ok = full || (t < nvalid && j >= tlo[t] && j < thi[t] && mask_bool(m, mask, b, h, ic, jc));
                    float th = 0.0f;
                    const float x = bwd_score(p, bias, slope, sr[t], b, h, ic, jc, &th);
                    const float pv = exp2(x - tl[t]);
                    float ds = pv * (dpr[t] - td[t]);
#if HAS_SOFTCAP
                    ds *= 1.0f - th * th;
#endif
                    pr[r][t] = ok ? pv : 0.0f;
                    dr[r][t] = ok ? ds : 0.0f;
                    bits |= ok ? (1ul << t) : 0ul;
                }
                live[r] = bits;
            }

            /* dV += P dO, dK += dR Q; a masked pair is selected away, never multiplied by 0. */
            for (int t = 0; t < BLOCK; t++) {
                for (int c = 0; c < DVC; c++) {
                    const fv dv_ = VLOAD_W(0, dorow + t * DV_PAD + c * VW);
                    for (int r = 0; r < ROWS; r++) {
                        const bool ok = full || ((live[r] >> t) & 1ul);
                        dva[r][c] = ok ? fma((fv)(pr[r][t]), dv_, dva[r][c]) : dva[r][c];
                    }
                }
                for (int c = 0; c < DC; c++) {
                    const fv qv = VLOAD_W(0, qrow + t * D_PAD + c * VW);
                    for (int r = 0; r < ROWS; r++) {
                        const bool ok = full || ((live[r] >> t) & 1ul);
                        dka[r][c] = ok ? fma((fv)(dr[r][t]), qv, dka[r][c]) : dka[r][c];
                    }
                }
            }
        }
    }

    /* Write every owned key below Sk once: keys no live row attends get 0. */
    const long dkbase = p.dk_off + b * p.dk_sb + hk * p.dk_sh;
    const long dvbase = p.dv_off + b * p.dv_sb + hk * p.dv_sh;
    for (int r = 0; r < ROWS; r++) {
        const int j = j0 + r * WG + lid;
        if (j >= p.seq_k) {
            continue;
        }
        float row[D_PAD > DV_PAD ? D_PAD : DV_PAD];
        for (int c = 0; c < DC; c++) {
            VSTORE_W(dka[r][c] * (fv)(p.scale), c, row);
        }
        for (int d = 0; d < HEAD_DIM; d++) {
            STORE_ST(dk, dkbase + j * p.dk_ss + d * p.dk_sd, row[d]);
        }
        for (int c = 0; c < DVC; c++) {
            VSTORE_W(dva[r][c], c, row);
        }
        for (int x = 0; x < HEAD_DIM_V; x++) {
            STORE_ST(dv, dvbase + j * p.dv_ss + x * p.dv_sd, row[x]);
        }
    }
}

#endif /* !BWD_CPU */

/* The K tile transposed (kt[d * BLOCK + t]), optionally row-major too (krow[t * D_PAD + d]), and the
 * V tile transposed (vt[x * BLOCK + t]); keys outside [j0, j0 + nvalid) and padding are zero. */
inline void bwd_load_kv(const attn_sdpa_bwd_params p, __global const st_t *k, __global const st_t *v,
                        __local float *kt, __local float *krow, __local float *vt, long kbase, long vbase, int j0,
                        int nvalid, int lid) {
    for (int e = lid; e < BLOCK * D_PAD; e += WG) {
        const int t = e / D_PAD, d = e - t * D_PAD;
        const float x = (t < nvalid && d < HEAD_DIM) ? LOAD_ST(k, kbase + (j0 + t) * p.k_ss + d * p.k_sd) : 0.0f;
        if (krow) {
            krow[e] = x;
        }
        if (d < HEAD_DIM) {
            kt[d * BLOCK + t] = x;
        }
    }
    for (int e = lid; e < BLOCK * HEAD_DIM_V; e += WG) {
        const int t = e / HEAD_DIM_V, x = e - t * HEAD_DIM_V;
        vt[x * BLOCK + t] = t < nvalid ? LOAD_ST(v, vbase + (j0 + t) * p.v_ss + x * p.v_sd) : 0.0f;
    }
}

/* The per-row state of the dQ and dBias kernels: Q (scaled), dO, LSE, Delta and the key range. */
#define BWD_ROW_STATE                                                                                          \
    float qr[ROWS][HEAD_DIM], dor[ROWS][HEAD_DIM_V];                                                           \
    float l2[ROWS], dl[ROWS];                                                                                  \
    int lo[ROWS], hi[ROWS]

/* Loads the row state of rows i0 + r * WG + lid of (b, h); rows past q_len are dead (no key). */
#define BWD_LOAD_ROWS(b, h)                                                                                    \
    do {                                                                                                       \
        const long qb_ = p.q_off + (b) * p.q_sb + (h) * p.q_sh;                                                \
        const long db_ = p.do_off + (b) * p.do_sb + (h) * p.do_sh;                                             \
        const long wr_ = ((long)(b) * p.heads_q + (h)) * p.seq_q;                                              \
        for (int r = 0; r < ROWS; r++) {                                                                       \
            const int i = i0 + r * WG + lid;                                                                   \
            const bool in = i < ql;                                                                            \
            for (int d = 0; d < HEAD_DIM; d++) {                                                               \
                qr[r][d] = in ? LOAD_ST(q, qb_ + i * p.q_ss + d * p.q_sd) * qscale : 0.0f;                     \
            }                                                                                                  \
            for (int x = 0; x < HEAD_DIM_V; x++) {                                                             \
                dor[r][x] = in ? LOAD_ST(dout, db_ + i * p.do_ss + x * p.do_sd) : 0.0f;                        \
            }                                                                                                  \
            l2[r] = in ? ws[nrows + wr_ + i] : INFINITY;                                                       \
            dl[r] = in ? ws[wr_ + i] : 0.0f;                                                                   \
            lo[r] = 0;                                                                                         \
            hi[r] = 0;                                                                                         \
            if (in) {                                                                                          \
                mask_key_range(m, i, p.seq_k, kvl, &lo[r], &hi[r]);                                            \
            }                                                                                                  \
        }                                                                                                      \
    } while (0)

/* dS (scaled by 1 - tanh^2 when GRAD_RAW and a softcap) of the ROWS x BLOCK pairs of a loaded K/V tile,
 * 0 where masked, with the live bits; full skips the per-element mask test. */
inline void bwd_tile_ds(const attn_sdpa_bwd_params p, __global const uchar *mask, __global const float *bias,
                        float slope, int b, int h, int i0, int lid, int j0, int nvalid, bool full, bool grad_raw,
                        float qr[ROWS][HEAD_DIM], float dor[ROWS][HEAD_DIM_V], float *l2, float *dl, int *lo,
                        int *hi, __local const float *kt, __local const float *vt, float ds[ROWS][BLOCK],
                        ulong *live) {
    fv s[ROWS][NCH], dp[ROWS][NCH];
    for (int r = 0; r < ROWS; r++) {
        for (int c = 0; c < NCH; c++) {
            s[r][c] = (fv)(0.0f);
            dp[r][c] = (fv)(0.0f);
        }
    }
    for (int d = 0; d < HEAD_DIM; d++) {
        for (int c = 0; c < NCH; c++) {
            const fv kv = VLOAD_W(0, kt + d * BLOCK + c * VW);
            for (int r = 0; r < ROWS; r++) {
                s[r][c] = fma((fv)(qr[r][d]), kv, s[r][c]);
            }
        }
    }
    for (int x = 0; x < HEAD_DIM_V; x++) {
        for (int c = 0; c < NCH; c++) {
            const fv vv = VLOAD_W(0, vt + x * BLOCK + c * VW);
            for (int r = 0; r < ROWS; r++) {
                dp[r][c] = fma((fv)(dor[r][x]), vv, dp[r][c]);
            }
        }
    }
    for (int r = 0; r < ROWS; r++) {
        const int i = i0 + r * WG + lid;
        const bool row_in = i < p.seq_q;
        const int ic = min(i, p.seq_q - 1);
        float sr[BLOCK], dpr[BLOCK];
        for (int c = 0; c < NCH; c++) {
            VSTORE_W(s[r][c], c, sr);
            VSTORE_W(dp[r][c], c, dpr);
        }
        ulong bits = 0;
        for (int t = 0; t < BLOCK; t++) {
            const int j = j0 + t;
            const int jc = min(j, p.seq_k - 1);
            const bool ok = row_in && (full || (t < nvalid && j >= lo[r] && j < hi[r]
                                                && mask_bool(p.m, mask, b, h, ic, jc)));
            float th = 0.0f;
            const float x = bwd_score(p, bias, slope, sr[t], b, h, ic, jc, &th);
            float d = exp2(x - l2[r]) * (dpr[t] - dl[r]);
#if HAS_SOFTCAP
            d = grad_raw ? d * (1.0f - th * th) : d;
#endif
            ds[r][t] = ok ? d : 0.0f;
            bits |= ok ? (1ul << t) : 0ul;
        }
        live[r] = bits;
    }
}

#if !BWD_CPU
__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void ENTRY(attn_sdpa_bwd_dq)(const attn_sdpa_bwd_params p, __global const st_t *q, __global const st_t *k,
        __global const st_t *v, __global const st_t *o, __global const st_t *dout, __global const float *lse,
        __global st_t *dq, __global st_t *dk, __global st_t *dv, __global float *dbias, __global float *ws,
        __global const uchar *mask, __global const float *bias, __global const float *alibi,
        __global const int *kv_len, __global const int *q_len) {
    __local float kt[HEAD_DIM * BLOCK];   /* kt[d * BLOCK + t] = K[j0 + t, d] */
    __local float krow[BLOCK * D_PAD];    /* krow[t * D_PAD + d] = K[j0 + t, d], pad 0 */
    __local float vt[HEAD_DIM_V * BLOCK]; /* vt[x * BLOCK + t] = V[j0 + t, x] */

    const int lid = get_local_id(0);
    const int i0 = get_group_id(0) * BLOCK_OWN;
    const int bh = get_group_id(1);
    const int b = bh / p.heads_q, h = bh - b * p.heads_q, hk = h / p.group;
    const attn_mask_params m = p.m;
    const int kvl = mask_kv_len(kv_len, b, p.seq_k);
    const int ql = mask_q_len(q_len, b, p.seq_q);
    const float slope = mask_alibi_slope(m, alibi, b, h);
    const long nrows = (long)p.batch * p.heads_q * p.seq_q;
#if SCORE_XFORM
    const float qscale = p.scale;
#else
    const float qscale = p.scale_log2;
#endif

    /* The keys any live row of the group may attend (the bounds grow with i). */
    const int i_last = min(i0 + BLOCK_OWN, ql) - 1;
    int jb = 0, je = 0, lo_last = 0, hi_first = 0;
    if (i_last >= i0) {
        mask_key_range(m, i0, p.seq_k, kvl, &jb, &hi_first);
        mask_key_range(m, i_last, p.seq_k, kvl, &lo_last, &je);
        jb = max(jb, 0);
    }

    BWD_ROW_STATE;
    BWD_LOAD_ROWS(b, h);
    fv dqa[ROWS][DC];
    for (int r = 0; r < ROWS; r++) {
        for (int c = 0; c < DC; c++) {
            dqa[r][c] = (fv)(0.0f);
        }
    }
    const long kbase = p.k_off + b * p.k_sb + hk * p.k_sh;
    const long vbase = p.v_off + b * p.v_sb + hk * p.v_sh;
    for (int j0 = jb; j0 < je; j0 += BLOCK) {
        const int nvalid = min(BLOCK, je - j0);
        barrier(CLK_LOCAL_MEM_FENCE);
        bwd_load_kv(p, k, v, kt, krow, vt, kbase, vbase, j0, nvalid, lid);
        barrier(CLK_LOCAL_MEM_FENCE);
        const bool full = !HAS_BOOL_MASK && nvalid == BLOCK && lo_last <= j0 && j0 + BLOCK <= hi_first
                          && i0 + BLOCK_OWN <= ql;
        float ds[ROWS][BLOCK];
        ulong live[ROWS];
        bwd_tile_ds(p, mask, bias, slope, b, h, i0, lid, j0, nvalid, full, true, qr, dor, l2, dl, lo, hi, kt, vt,
                    ds, live);
        for (int t = 0; t < BLOCK; t++) {
            for (int c = 0; c < DC; c++) {
                const fv kv = VLOAD_W(0, krow + t * D_PAD + c * VW);
                for (int r = 0; r < ROWS; r++) {
                    const bool ok = full || ((live[r] >> t) & 1ul);
                    dqa[r][c] = ok ? fma((fv)(ds[r][t]), kv, dqa[r][c]) : dqa[r][c];
                }
            }
        }
    }

    const long dqbase = p.dq_off + b * p.dq_sb + h * p.dq_sh;
    for (int r = 0; r < ROWS; r++) {
        const int i = i0 + r * WG + lid;
        if (i >= p.seq_q) {
            continue;
        }
        float row[D_PAD];
        for (int c = 0; c < DC; c++) {
            VSTORE_W(i < ql ? dqa[r][c] * (fv)(p.scale) : (fv)(0.0f), c, row);
        }
        for (int d = 0; d < HEAD_DIM; d++) {
            STORE_ST(dq, dqbase + i * p.dq_ss + d * p.dq_sd, row[d]);
        }
    }
}

#endif /* !BWD_CPU */

__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void ENTRY(attn_sdpa_bwd_dbias)(const attn_sdpa_bwd_params p, __global const st_t *q, __global const st_t *k,
        __global const st_t *v, __global const st_t *o, __global const st_t *dout, __global const float *lse,
        __global st_t *dq, __global st_t *dk, __global st_t *dv, __global float *dbias, __global float *ws,
        __global const uchar *mask, __global const float *bias, __global const float *alibi,
        __global const int *kv_len, __global const int *q_len) {
    __local float kt[HEAD_DIM * BLOCK];
    __local float vt[HEAD_DIM_V * BLOCK];

    const int lid = get_local_id(0);
    const int i0 = get_group_id(0) * BLOCK_OWN;
    const int slice = get_group_id(1);
    const int bb = slice / p.db_heads, hh = slice - bb * p.db_heads;
    const attn_mask_params m = p.m;
    const long nrows = (long)p.batch * p.heads_q * p.seq_q;
#if SCORE_XFORM
    const float qscale = p.scale;
#else
    const float qscale = p.scale_log2;
#endif
    const int b_first = p.db_batch == 1 ? 0 : bb, b_end = p.db_batch == 1 ? p.batch : bb + 1;
    const int h_first = p.db_heads == 1 ? 0 : hh, h_end = p.db_heads == 1 ? p.heads_q : hh + 1;
    const long dbase = p.db_off + bb * p.db_sb + hh * p.db_sh;
    const int nb = b_end - b_first, nh = h_end - h_first;
    const int nt = (p.seq_k + BLOCK - 1) / BLOCK;
    BWD_ROW_STATE;
    int kvl = 0, ql = 0, jb = 0, je = 0, lo_last = 0, hi_first = 0, hk = 0;
    float slope = 0.0f;
    long kbase = 0, vbase = 0;
    /* One loop over (b, h, key tile) in a fixed order, so that the barriers sit in a single loop.
     * Every key tile is visited, so that every element is written; tiles outside the rows' key
     * range [jb, je) give 0 and load nothing. */
    for (int n = 0; n < nb * nh * nt; n++) {
        const int tile = n % nt, bhn = n / nt;
        const int b = b_first + bhn / nh, h = h_first + bhn % nh;
        const int j0 = tile * BLOCK;
        if (tile == 0) {
            kvl = mask_kv_len(kv_len, b, p.seq_k);
            ql = mask_q_len(q_len, b, p.seq_q);
            const int i_last = min(i0 + BLOCK_OWN, ql) - 1;
            jb = je = lo_last = hi_first = 0;
            if (i_last >= i0) {
                mask_key_range(m, i0, p.seq_k, kvl, &jb, &hi_first);
                mask_key_range(m, i_last, p.seq_k, kvl, &lo_last, &je);
                jb = max(jb, 0);
            }
            hk = h / p.group;
            slope = mask_alibi_slope(m, alibi, b, h);
            BWD_LOAD_ROWS(b, h);
            kbase = p.k_off + b * p.k_sb + hk * p.k_sh;
            vbase = p.v_off + b * p.v_sb + hk * p.v_sh;
        }
        const bool need = j0 < je && j0 + BLOCK > jb;
        /* Keys in [j0, je) only: t past je - j0 is zero-filled (and masked). */
        const int nvalid = need ? min(BLOCK, je - j0) : 0;
        barrier(CLK_LOCAL_MEM_FENCE);
        bwd_load_kv(p, k, v, kt, 0, vt, kbase, vbase, j0, nvalid, lid);
        barrier(CLK_LOCAL_MEM_FENCE);
        float ds[ROWS][BLOCK];
        ulong live[ROWS];
        const bool full = !HAS_BOOL_MASK && nvalid == BLOCK && lo_last <= j0 && j0 + BLOCK <= hi_first
                          && i0 + BLOCK_OWN <= ql;
        bwd_tile_ds(p, mask, bias, slope, b, h, i0, lid, j0, nvalid, full, false, qr, dor, l2, dl, lo, hi, kt, vt, ds,
                    live);
        const bool first = bhn == 0;
        const int nk = min(BLOCK, p.seq_k - j0);
        for (int r = 0; r < ROWS; r++) {
            const int i = i0 + r * WG + lid;
            if (i >= p.seq_q) {
                continue;
            }
            for (int t = 0; t < nk; t++) {
                const long e = dbase + i * p.db_sq + (j0 + t) * p.db_sk;
                dbias[e] = first ? ds[r][t] : dbias[e] + ds[r][t];
            }
        }
    }
}

#if BWD_CPU
/*
 * The CPU forms of attn_sdpa_bwd_dkdv and attn_sdpa_bwd_dq (BWD_CPU = 1; same entries, arguments and
 * results as the work-group forms above), for CPU devices (PoCL): one work-item per work-group, no
 * barrier and no local memory, so PoCL emits straight-line vector code, with the products written as
 * register micro-kernels in which the BK = 2 * VW keys of a tile are the vector lanes:
 *   S[r][:]  = sum_d  q[r][d]  * kt[d][:]      (BI rows x 2 vectors of accumulators)
 *   dP[r][:] = sum_x  dO[r][x] * vt[x][:]
 *   dVt[x][:] += sum_r dO[r][x] * P[r][:],  dKt[d][:] += sum_r q[r][d] * dS[r][:]   (dK/dV form)
 *   dQ[r][:] += sum_t dS[r][t] * K[t][:]                                           (dQ form)
 * kt/vt are the K/V tile transposed into private memory, and so are the dK/dV accumulators (dKt, dVt;
 * transposed back as they are written). A tile whose every (row, key) pair is live
 * takes plain fmas; a boundary tile (window, lengths, bool mask, rows or keys past the ends) selects
 * each masked pair away, so NaN in a masked row cannot leak. The planner sends no softcap, bias,
 * ALiBi or dBias here (the work-group form takes those) and only unit-stride rows of multiples of VW.
 * BWD_FUSED = 1 turns the dQ entry into the fused form (see there): a work-item per (batch, kv head)
 * that also accumulates dK and dV, with the query rows as the vector lanes (common.cl's row-lane
 * micro-kernels, LANES_KB), so the dK/dV entry is not launched.
 */
#if HEAD_DIM % VW != 0 || HEAD_DIM_V % VW != 0
#error "BWD_CPU needs HEAD_DIM and HEAD_DIM_V to be multiples of VW"
#endif
#define BK (2 * VW) /* a multiple of 8 for VW in {4, 8, 16}; at most 32 (the live bits are a uint) */
#define BI 4
#ifndef BWD_BQ
#error "the CPU form of sdpa_bwd.cl needs BWD_BQ (query rows per dQ work-item)"
#endif
#if BWD_BQ % BI != 0
#error "BWD_BQ must be a multiple of BI"
#endif
#define BQ BWD_BQ
#define BQ_STEPS (BQ / BI)
#ifndef BWD_FUSED
#define BWD_FUSED 0
#endif

/* The per-row state of a BI-row step: LSE (log2 units, +inf when dead), Delta, key range; dead rows
 * (past q_len or seq_q) get an empty range. Returns whether every pair of the rows and keys
 * [j0, j0 + BK) is live (no per-element test needed). */
inline bool bwd_cpu_rows(const attn_sdpa_bwd_params p, __global const float *ws, long wrow, int i0, int nr,
                         int ql, int kvl, int j0, int jn, float *l2, float *dl, int *lo, int *hi) {
    const long nrows = (long)p.batch * p.heads_q * p.seq_q;
    bool full = !HAS_BOOL_MASK && nr == BI && jn == BK;
    for (int r = 0; r < BI; r++) {
        const int i = i0 + r;
        const bool in = r < nr && i < ql;
        l2[r] = in ? ws[nrows + wrow + i] : INFINITY;
        dl[r] = in ? ws[wrow + i] : 0.0f;
        lo[r] = 0;
        hi[r] = 0;
        if (in) {
            mask_key_range(p.m, i, p.seq_k, kvl, &lo[r], &hi[r]);
        }
        full = full && in && lo[r] <= j0 && j0 + BK <= hi[r];
    }
    return full;
}

/* a0[r], a1[r] = sum_d src[rows[r] + d] * tt[d * BK + (lanes 0..BK)]: BI rows of a product whose BK
 * keys are the vector lanes (tt is a K or V tile transposed), 2 x BI accumulators. */
#define BWD_CPU_LANES(a0, a1, tt, src, rows, n)                                                             \
    do {                                                                                                   \
        _Pragma("unroll") for (int r_ = 0; r_ < BI; r_++) {                                                \
            (a0)[r_] = (fv)(0.0f);                                                                         \
            (a1)[r_] = (fv)(0.0f);                                                                         \
        }                                                                                                  \
        for (int d_ = 0; d_ < (n); d_++) {                                                                 \
            const fv t0_ = VLOAD_W(0, (tt) + d_ * BK), t1_ = VLOAD_W(1, (tt) + d_ * BK);                   \
            _Pragma("unroll") for (int r_ = 0; r_ < BI; r_++) {                                            \
                const fv x_ = (fv)(LOAD_ST(src, (rows)[r_] + d_));                                          \
                (a0)[r_] = fma(x_, t0_, (a0)[r_]);                                                         \
                (a1)[r_] = fma(x_, t1_, (a1)[r_]);                                                         \
            }                                                                                              \
        }                                                                                                  \
    } while (0)

/* S and dP of BI rows against the transposed tile, then P and dS (0 where masked) into pr/dsr and the
 * live bits ok[r] (bit t: pair (r, t) is live). S is scaled by qscale (log2 units) as P is formed; the
 * element offsets of the q and dO rows (clamped to the last live one) are left in qr, dr. */
inline void bwd_cpu_tile(const attn_sdpa_bwd_params *pp, __global const st_t *q, __global const st_t *dout,
                         __global const uchar *mask, long qb, long db, int b, int h, int i0, int nr, int j0, int jn,
                         bool full, float qscale, const float *kt, const float *vt, const float *l2,
                         const float *dl, const int *lo, const int *hi, float pr[BI][BK], float dsr[BI][BK],
                         uint *ok, long *qr, long *dr) {
    /* p by pointer: PoCL keeps this function out of line, and a by-value struct is copied per call */
    const attn_sdpa_bwd_params *p = pp;
    for (int r = 0; r < BI; r++) {
        const int ic = i0 + min(r, nr - 1);
        qr[r] = qb + ic * p->q_ss;
        dr[r] = db + ic * p->do_ss;
    }
    fv s0[BI], s1[BI], d0[BI], d1[BI];
    BWD_CPU_LANES(s0, s1, kt, q, qr, HEAD_DIM);
    BWD_CPU_LANES(d0, d1, vt, dout, dr, HEAD_DIM_V);
    for (int r = 0; r < BI; r++) {
        /* the scale is applied here, once per score: applied to each q element inside the product it
         * cost a scalar multiply and a register broadcast per fma pair (the S loop ran at half the
         * dP loop's rate) */
        const fv p0 = exp2(fma(s0[r], (fv)(qscale), -(fv)(l2[r]))), p1 = exp2(fma(s1[r], (fv)(qscale), -(fv)(l2[r])));
        VSTORE_W(p0, 0, pr[r]);
        VSTORE_W(p1, 1, pr[r]);
        VSTORE_W(p0 * (d0[r] - (fv)(dl[r])), 0, dsr[r]);
        VSTORE_W(p1 * (d1[r] - (fv)(dl[r])), 1, dsr[r]);
        uint bits = 0xffffffffu;
        if (!full) {
            bits = 0;
            const int i = i0 + r;
            for (int t = 0; t < BK; t++) {
                const int j = j0 + t;
                const bool live = r < nr && t < jn && j >= lo[r] && j < hi[r]
                                  && mask_bool(p->m, mask, b, h, min(i, p->seq_q - 1), min(j, p->seq_k - 1));
                pr[r][t] = live ? pr[r][t] : 0.0f;
                dsr[r][t] = live ? dsr[r][t] : 0.0f;
                bits |= live ? (1u << t) : 0u;
            }
        }
        ok[r] = bits;
    }
}

/* acct[x * BK + t] += sum_r w[r][t] * src[rows[r] + x] for the n columns x, the BK keys t as the vector
 * lanes (the dK/dV accumulators kept transposed): per column, BI broadcasts of src feed 2 x BI fmas
 * against w's rows held in registers, and the column's two accumulator vectors are loaded and stored
 * once. The key-major form (acc[t][c] += w[r][t] * src row chunk) needed a broadcast per fma and
 * PoCL spilled its registers: it ran at a third of this rate. A boundary tile (full false) selects
 * each masked pair away by its live bit, so a non-finite src element of a masked pair cannot leak. */
#define BWD_CPU_UPDATE_T(acct, w, src, rows, n)                                                            \
    do {                                                                                                   \
        fv w0_[BI], w1_[BI];                                                                               \
        ATTN_PASTE(int, VW) m0_[BI], m1_[BI];                                                              \
        _Pragma("unroll") for (int r_ = 0; r_ < BI; r_++) {                                                \
            w0_[r_] = VLOAD_W(0, (w)[r_]);                                                                 \
            w1_[r_] = VLOAD_W(1, (w)[r_]);                                                                 \
            m0_[r_] = ((ATTN_PASTE(int, VW))((int)ok[r_]) >> attn_lane_ids()) & 1;                          \
            m1_[r_] = ((ATTN_PASTE(int, VW))((int)(ok[r_] >> VW)) >> attn_lane_ids()) & 1;                  \
            m0_[r_] = -m0_[r_];                                                                            \
            m1_[r_] = -m1_[r_];                                                                            \
        }                                                                                                  \
        if (full) {                                                                                        \
            for (int x_ = 0; x_ < (n); x_++) {                                                             \
                fv a0_ = VLOAD_W(0, (acct) + x_ * BK), a1_ = VLOAD_W(1, (acct) + x_ * BK);                  \
                _Pragma("unroll") for (int r_ = 0; r_ < BI; r_++) {                                        \
                    const fv y_ = (fv)(LOAD_ST(src, (rows)[r_] + x_));                                     \
                    a0_ = fma(y_, w0_[r_], a0_);                                                           \
                    a1_ = fma(y_, w1_[r_], a1_);                                                           \
                }                                                                                          \
                VSTORE_W(a0_, 0, (acct) + x_ * BK);                                                        \
                VSTORE_W(a1_, 1, (acct) + x_ * BK);                                                        \
            }                                                                                              \
        } else {                                                                                           \
            for (int x_ = 0; x_ < (n); x_++) {                                                             \
                fv a0_ = VLOAD_W(0, (acct) + x_ * BK), a1_ = VLOAD_W(1, (acct) + x_ * BK);                  \
                _Pragma("unroll") for (int r_ = 0; r_ < BI; r_++) {                                        \
                    const fv y_ = (fv)(LOAD_ST(src, (rows)[r_] + x_));                                     \
                    a0_ = select(a0_, fma(y_, w0_[r_], a0_), m0_[r_]);                                     \
                    a1_ = select(a1_, fma(y_, w1_[r_], a1_), m1_[r_]);                                     \
                }                                                                                          \
                VSTORE_W(a0_, 0, (acct) + x_ * BK);                                                        \
                VSTORE_W(a1_, 1, (acct) + x_ * BK);                                                        \
            }                                                                                              \
        }                                                                                                  \
    } while (0)

/* kt[d * BK + t] = K[j0 + t, d] and vt[x * BK + t] = V[j0 + t, x]; keys t >= jn are 0. */
inline void bwd_cpu_load_kv(const attn_sdpa_bwd_params p, __global const st_t *k, __global const st_t *v, long kb,
                            long vb, int j0, int jn, float *kt, float *vt) {
    for (int t = 0; t < BK; t++) {
        const bool in = t < jn;
        const long kr = kb + (long)(j0 + min(t, jn - 1)) * p.k_ss, vr = vb + (long)(j0 + min(t, jn - 1)) * p.v_ss;
        for (int d = 0; d < HEAD_DIM; d++) {
            kt[d * BK + t] = in ? LOAD_ST(k, kr + d) : 0.0f;
        }
        for (int x = 0; x < HEAD_DIM_V; x++) {
            vt[x * BK + t] = in ? LOAD_ST(v, vr + x) : 0.0f;
        }
    }
}

__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void ENTRY(attn_sdpa_bwd_dkdv)(const attn_sdpa_bwd_params p, __global const st_t *q, __global const st_t *k,
        __global const st_t *v, __global const st_t *o, __global const st_t *dout, __global const float *lse,
        __global st_t *dq, __global st_t *dk, __global st_t *dv, __global float *dbias, __global float *ws,
        __global const uchar *mask, __global const float *bias, __global const float *alibi,
        __global const int *kv_len, __global const int *q_len) {
    const int j0 = get_group_id(0) * BK;
    const int bk = get_group_id(1);
    const int b = bk / p.heads_kv, hk = bk - b * p.heads_kv;
    const int kvl = mask_kv_len(kv_len, b, p.seq_k);
    const int ql = mask_q_len(q_len, b, p.seq_q);
    const int jn = max(0, min(BK, kvl - j0)); /* live keys of the tile */
    float kt[HEAD_DIM * BK], vt[HEAD_DIM_V * BK];
    /* dK and dV of the tile, transposed: dkt[d * BK + t] = dK[j0 + t, d] / scale, dvt[x * BK + t] = dV[j0 + t, x] */
    float dkt[HEAD_DIM * BK], dvt[HEAD_DIM_V * BK];
    for (int e = 0; e < HEAD_DIM * BK; e++) {
        dkt[e] = 0.0f;
    }
    for (int e = 0; e < HEAD_DIM_V * BK; e++) {
        dvt[e] = 0.0f;
    }
    int ib = 0, ie = 0;
    if (jn > 0) {
        bwd_cpu_load_kv(p, k, v, p.k_off + b * p.k_sb + hk * p.k_sh, p.v_off + b * p.v_sb + hk * p.v_sh, j0, jn, kt, vt);
        bwd_query_range(p.m, j0, j0 + jn - 1, p.seq_q, ql, &ib, &ie);
    }
    for (int g = 0; g < p.group && ie > ib; g++) {
        const int h = hk * p.group + g;
        const long qb = p.q_off + b * p.q_sb + h * p.q_sh, db = p.do_off + b * p.do_sb + h * p.do_sh;
        const long wrow = ((long)b * p.heads_q + h) * p.seq_q;
        for (int i0 = ib; i0 < ie; i0 += BI) {
            const int nr = min(BI, ie - i0);
            float l2[BI], dl[BI], pr[BI][BK], dsr[BI][BK];
            int lo[BI], hi[BI];
            uint ok[BI];
            const bool full = bwd_cpu_rows(p, ws, wrow, i0, nr, ql, kvl, j0, jn, l2, dl, lo, hi);
            long qr[BI], dr[BI];
            bwd_cpu_tile(&p, q, dout, mask, qb, db, b, h, i0, nr, j0, jn, full, p.scale_log2, kt, vt, l2, dl, lo, hi,
                         pr, dsr, ok, qr, dr);
            /* dV += P^T dO and dK += dS^T Q */
            BWD_CPU_UPDATE_T(dvt, pr, dout, dr, HEAD_DIM_V);
            BWD_CPU_UPDATE_T(dkt, dsr, q, qr, HEAD_DIM);
        }
    }
    /* every key of the tile below Sk is written once: keys no live row attends get 0 */
    const long dkb = p.dk_off + b * p.dk_sb + hk * p.dk_sh, dvb = p.dv_off + b * p.dv_sb + hk * p.dv_sh;
    for (int t = 0; t < BK && j0 + t < p.seq_k; t++) {
        const int j = j0 + t;
        for (int d = 0; d < HEAD_DIM; d++) {
            STORE_ST(dk, dkb + j * p.dk_ss + d, dkt[d * BK + t] * p.scale);
        }
        for (int x = 0; x < HEAD_DIM_V; x++) {
            STORE_ST(dv, dvb + j * p.dv_ss + x, dvt[x * BK + t]);
        }
    }
}

#if !BWD_FUSED
__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void ENTRY(attn_sdpa_bwd_dq)(const attn_sdpa_bwd_params p, __global const st_t *q, __global const st_t *k,
        __global const st_t *v, __global const st_t *o, __global const st_t *dout, __global const float *lse,
        __global st_t *dq, __global st_t *dk, __global st_t *dv, __global float *dbias, __global float *ws,
        __global const uchar *mask, __global const float *bias, __global const float *alibi,
        __global const int *kv_len, __global const int *q_len) {
    /* BQ rows per row block (the planner's BWD_BQ): each transposed K/V tile serves BQ_STEPS = BQ / BI
     * row steps */
    const int i0 = get_group_id(0) * BQ;
    const int bh = get_group_id(1);
    const int b = bh / p.heads_q, h = bh - b * p.heads_q, hk = h / p.group;
    const int kvl = mask_kv_len(kv_len, b, p.seq_k);
    const int ql = mask_q_len(q_len, b, p.seq_q);
    const int nq = min(BQ, p.seq_q - i0);
    const long qb = p.q_off + b * p.q_sb + h * p.q_sh, db = p.do_off + b * p.do_sb + h * p.do_sh;
    const long kb = p.k_off + b * p.k_sb + hk * p.k_sh, vb = p.v_off + b * p.v_sb + hk * p.v_sh;
    const long wrow = ((long)b * p.heads_q + h) * p.seq_q;
    /* the keys any live row may attend (the bounds grow with i) */
    const int i_last = min(i0 + nq, ql) - 1;
    int jb = 0, je = 0, unused = 0;
    if (i_last >= i0) {
        mask_key_range(p.m, i0, p.seq_k, kvl, &jb, &unused);
        mask_key_range(p.m, i_last, p.seq_k, kvl, &unused, &je);
        jb = max(jb, 0);
    }
    fv dqa[BQ][HEAD_DIM / VW];
    for (int r = 0; r < BQ; r++) {
        for (int c = 0; c < HEAD_DIM / VW; c++) {
            dqa[r][c] = (fv)(0.0f);
        }
    }
    float kt[HEAD_DIM * BK], vt[HEAD_DIM_V * BK];
    for (int j0 = jb; j0 < je; j0 += BK) {
        const int jn = min(BK, je - j0);
        bwd_cpu_load_kv(p, k, v, kb, vb, j0, jn, kt, vt);
        for (int st = 0; st < BQ_STEPS && st * BI < nq; st++) {
            const int r0 = st * BI, nr = min(BI, nq - r0);
            float l2[BI], dl[BI], pr[BI][BK], dsr[BI][BK];
            int lo[BI], hi[BI];
            uint ok[BI];
            const bool full = bwd_cpu_rows(p, ws, wrow, i0 + r0, nr, ql, kvl, j0, jn, l2, dl, lo, hi);
            long qr[BI], dr[BI];
            bwd_cpu_tile(&p, q, dout, mask, qb, db, b, h, i0 + r0, nr, j0, jn, full, p.scale_log2, kt, vt, l2, dl, lo,
                         hi, pr, dsr, ok, qr, dr);
            /* dQ += dS K, K rows read in place (the tile was just loaded, so they are in L1), two
             * VW-wide chunks at a time (2 x BI independent accumulator chains) */
            for (int c = 0; c < HEAD_DIM / VW; c += 2) {
                const int c1 = min(c + 1, HEAD_DIM / VW - 1);
                fv a0[BI], a1[BI];
#pragma unroll
                for (int r = 0; r < BI; r++) {
                    a0[r] = dqa[r0 + r][c];
                    a1[r] = dqa[r0 + r][c1];
                }
                if (full) {
                    for (int t = 0; t < BK; t++) {
                        const long kr = kb + (long)(j0 + t) * p.k_ss;
                        const fv k0 = LOADN_ST(VW, k, kr + c * VW), k1 = LOADN_ST(VW, k, kr + c1 * VW);
#pragma unroll
                        for (int r = 0; r < BI; r++) {
                            a0[r] = fma((fv)(dsr[r][t]), k0, a0[r]);
                            a1[r] = fma((fv)(dsr[r][t]), k1, a1[r]);
                        }
                    }
                } else {
                    for (int t = 0; t < jn; t++) {
                        const long kr = kb + (long)(j0 + t) * p.k_ss;
                        const fv k0 = LOADN_ST(VW, k, kr + c * VW), k1 = LOADN_ST(VW, k, kr + c1 * VW);
#pragma unroll
                        for (int r = 0; r < BI; r++) {
                            const bool live = (ok[r] >> t) & 1u;
                            const fv w = (fv)(dsr[r][t]);
                            a0[r] = live ? fma(w, k0, a0[r]) : a0[r];
                            a1[r] = live ? fma(w, k1, a1[r]) : a1[r];
                        }
                    }
                }
#pragma unroll
                for (int r = 0; r < BI; r++) {
                    dqa[r0 + r][c1] = a1[r]; /* c1 == c when HEAD_DIM / VW is odd: a0 is stored last */
                    dqa[r0 + r][c] = a0[r];
                }
            }
        }
    }
    const long dqb = p.dq_off + b * p.dq_sb + h * p.dq_sh;
    for (int r = 0; r < nq; r++) {
        const int i = i0 + r;
        for (int c = 0; c < HEAD_DIM / VW; c++) {
            STOREN_ST(VW, dq, dqb + i * p.dq_ss + c * VW, i < ql ? dqa[r][c] * (fv)(p.scale) : (fv)(0.0f));
        }
    }
}
#endif /* !BWD_FUSED */

#if BWD_FUSED
#ifndef LANES_KB
#error "the fused form needs LANES_KB (common.cl's row-lane micro-kernels)"
#endif
#define BWD_KT 4 /* keys per step of bwd_lanes_keys */
#if LANES_KB % BWD_KT != 0
#error "LANES_KB must be a multiple of BWD_KT"
#endif
/* acc[t][x] += sum_{r < LN} wt[t][r] * rows[r][x] for the LANES_KB keys t of a block and the n columns x
 * (n a multiple of VW and a constant after inlining): a reduction over the lanes, so the rows are read
 * as vectors along x and wt's elements are broadcast: BWD_KT keys x nv column vectors of accumulators,
 * loaded and stored once per block, per row nv vector loads and BWD_KT broadcasts (6 keys spilled an
 * accumulator into a store-reload chain). A boundary block (full false)
 * selects away each masked pair (t, r), so a non-finite element of a masked row cannot leak. */
__attribute__((always_inline)) inline void bwd_lanes_keys(__global float *acc, const float *wt, LROW *const *rows,
                                                          const int *lt, bool full, int n, int c, int nv) {
    for (int t0 = 0; t0 < LANES_KB; t0 += BWD_KT) {
        fv a[BWD_KT][2];
#pragma unroll
        for (int u = 0; u < BWD_KT; u++) {
#pragma unroll
            for (int v2 = 0; v2 < 2; v2++) {
                if (v2 < nv) {
                    a[u][v2] = VLOAD_W(0, acc + (long)(t0 + u) * n + c + v2 * VW);
                }
            }
        }
        if (full) {
            for (int r = 0; r < LN; r++) {
                fv y[2];
#pragma unroll
                for (int v2 = 0; v2 < 2; v2++) {
                    if (v2 < nv) {
                        y[v2] = VLOAD_W(0, rows[r] + c + v2 * VW);
                    }
                }
#pragma unroll
                for (int u = 0; u < BWD_KT; u++) {
                    const fv w = (fv)(wt[(t0 + u) * LN + r]);
#pragma unroll
                    for (int v2 = 0; v2 < 2; v2++) {
                        if (v2 < nv) {
                            a[u][v2] = fma(w, y[v2], a[u][v2]);
                        }
                    }
                }
            }
        } else {
            for (int r = 0; r < LN; r++) {
                fv y[2];
#pragma unroll
                for (int v2 = 0; v2 < 2; v2++) {
                    if (v2 < nv) {
                        y[v2] = VLOAD_W(0, rows[r] + c + v2 * VW);
                    }
                }
#pragma unroll
                for (int u = 0; u < BWD_KT; u++) {
                    const fv w = (fv)(wt[(t0 + u) * LN + r]);
                    const iv ok = (iv)(lt[(t0 + u) * LN + r]);
#pragma unroll
                    for (int v2 = 0; v2 < 2; v2++) {
                        if (v2 < nv) {
                            a[u][v2] = select(a[u][v2], fma(w, y[v2], a[u][v2]), ok);
                        }
                    }
                }
            }
        }
#pragma unroll
        for (int u = 0; u < BWD_KT; u++) {
#pragma unroll
            for (int v2 = 0; v2 < 2; v2++) {
                if (v2 < nv) {
                    VSTORE_W(a[u][v2], 0, acc + (long)(t0 + u) * n + c + v2 * VW);
                }
            }
        }
    }
}

/* bwd_lanes_keys over all n columns, two vectors at a time */
__attribute__((always_inline)) inline void bwd_lanes_keys_all(__global float *acc, const float *wt, LROW *const *rows,
                                                              const int *lt, bool full, int n) {
    for (int c = 0; c + 2 * VW <= n; c += 2 * VW) {
        bwd_lanes_keys(acc, wt, rows, lt, full, n, c, 2);
    }
    if (n % (2 * VW) != 0) {
        bwd_lanes_keys(acc, wt, rows, lt, full, n, n - VW, 1);
    }
}

/* The fused form: one work-item per (batch, kv head) walks the row blocks of LN rows (the lanes) of every
 * query head of the group and, per block of LANES_KB keys, forms S and dP once for all three gradients
 * (5 products):
 *   S[t][rows]  = sum_d K[t][d] qt[d][rows],  dP[t][rows] = sum_x V[t][x] dOt[x][rows]     (lanes_dot)
 *   P = exp2(S - LSE), dS = P (dP - Delta)                                                  (per lane)
 *   dQt[d][rows] += sum_t dS[t][rows] K[t][d]                                               (lanes_axpy)
 *   dV[t][x] += sum_r P[t][r] dO[r][x],  dK[t][d] += sum_r dS[t][r] Q[r][d]                 (bwd_lanes_keys)
 * dK and dV accumulate in the item's own rows of the workspace (after the Delta/LSE rows; (Sk + LANES_KB)
 * rows of D, then of Dv, floats: a block may run past Sk, where every pair is masked), so there are no
 * atomics and the order of every sum is fixed. */
__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void ENTRY(attn_sdpa_bwd_dq)(const attn_sdpa_bwd_params p, __global const st_t *q, __global const st_t *k,
        __global const st_t *v, __global const st_t *o, __global const st_t *dout, __global const float *lse,
        __global st_t *dq, __global st_t *dk, __global st_t *dv, __global float *dbias, __global float *ws,
        __global const uchar *mask, __global const float *bias, __global const float *alibi,
        __global const int *kv_len, __global const int *q_len) {
    const int bk = get_group_id(1);
    const int b = bk / p.heads_kv, hk = bk - b * p.heads_kv;
    const long nrows = (long)p.batch * p.heads_q * p.seq_q;
    const long na = (long)p.seq_k + LANES_KB;
    __global float *dka = ws + 2 * nrows + (long)bk * na * (HEAD_DIM + HEAD_DIM_V);
    __global float *dva = dka + na * HEAD_DIM;
    for (long e = 0; e < na * (HEAD_DIM + HEAD_DIM_V); e++) {
        dka[e] = 0.0f;
    }
    const int kvl = mask_kv_len(kv_len, b, p.seq_k);
    const int ql = mask_q_len(q_len, b, p.seq_q);
    const long kb = p.k_off + b * p.k_sb + hk * p.k_sh, vb = p.v_off + b * p.v_sb + hk * p.v_sh;
    float qt[HEAD_DIM * LN], dot[HEAD_DIM_V * LN], dqt[HEAD_DIM * LN];
    float pt[LANES_KB * LN], dst[LANES_KB * LN]; /* S then P; dP then dS: [t][row] */
    int lt[LANES_KB * LN];
    int lo[LN], hi[LN];
    LROW *kr[LANES_KB];
    LROW *vr[LANES_KB];
    LROW *qr[LN];
    LROW *dr[LN];
    long qo[LN], dof[LN];
#if !LANES_IN_PLACE
    float kbuf[LANES_KB * HEAD_DIM], vbuf[LANES_KB * HEAD_DIM_V], qbuf[LN * HEAD_DIM], dbuf[LN * HEAD_DIM_V];
    long ko[LANES_KB], vo[LANES_KB];
#endif
    fv ones[LN_FR];
#pragma unroll
    for (int f = 0; f < LN_FR; f++) {
        ones[f] = (fv)(1.0f);
    }
    for (int g = 0; g < p.group; g++) {
        const int h = hk * p.group + g;
        const long qb = p.q_off + b * p.q_sb + h * p.q_sh, db = p.do_off + b * p.do_sb + h * p.do_sh;
        const long wrow = ((long)b * p.heads_q + h) * p.seq_q;
        const long dqb = p.dq_off + b * p.dq_sb + h * p.dq_sh;
        for (int i0 = 0; i0 < p.seq_q; i0 += LN) {
            /* the block's rows (rows past Sq read the last row; their lanes are dead): Q transposed and
             * scaled to log2 units, dO transposed, the rows in place for dK and dV, LSE (log2 units, +inf
             * when dead), Delta and the key bounds (a dead lane: none) */
            float l2[LN], dl[LN];
            for (int r = 0; r < LN; r++) {
                const int i = i0 + r;
                const int ic = min(i, p.seq_q - 1);
                const bool in = i < ql;
                l2[r] = in ? ws[nrows + wrow + i] : INFINITY;
                dl[r] = in ? ws[wrow + i] : 0.0f;
                lo[r] = 0;
                hi[r] = 0;
                if (in) {
                    mask_key_range(p.m, i, p.seq_k, kvl, &lo[r], &hi[r]);
                }
                for (int d = 0; d < HEAD_DIM; d++) {
                    qt[d * LN + r] = LOAD_ST(q, qb + ic * p.q_ss + d) * p.scale_log2;
                    dqt[d * LN + r] = 0.0f;
                }
                for (int x = 0; x < HEAD_DIM_V; x++) {
                    dot[x * LN + r] = LOAD_ST(dout, db + ic * p.do_ss + x);
                }
                qo[r] = qb + ic * p.q_ss;
                dof[r] = db + ic * p.do_ss;
#if LANES_IN_PLACE
                qr[r] = q + qo[r];
                dr[r] = dout + dof[r];
#else
                qr[r] = qbuf + r * HEAD_DIM;
                dr[r] = dbuf + r * HEAD_DIM_V;
#endif
            }
#if !LANES_IN_PLACE
            lanes_convert(q, qo, LN, HEAD_DIM, qbuf);
            lanes_convert(dout, dof, LN, HEAD_DIM_V, dbuf);
#endif
            fv l2v[LN_FR], dlv[LN_FR];
#pragma unroll
            for (int f = 0; f < LN_FR; f++) {
                l2v[f] = VLOAD_W(0, l2 + f * VW);
                dlv[f] = VLOAD_W(0, dl + f * VW);
            }
            int jb, je;
            iv lov[LN_FR], hiv[LN_FR];
            const bool rows_live = lanes_span(lo, hi, i0, ql, &jb, &je, lov, hiv);

            for (int j0 = jb; j0 < je; j0 += LANES_KB) {
                const int nvalid = min(LANES_KB, je - j0);
#if LANES_IN_PLACE
                for (int t = 0; t < LANES_KB; t++) {
                    const long j = j0 + min(t, nvalid - 1);
                    kr[t] = k + kb + j * p.k_ss;
                    vr[t] = v + vb + j * p.v_ss;
                }
#else
                for (int t = 0; t < LANES_KB; t++) {
                    const long j = j0 + min(t, nvalid - 1);
                    ko[t] = kb + j * p.k_ss;
                    vo[t] = vb + j * p.v_ss;
                }
                lanes_convert(k, ko, LANES_KB, HEAD_DIM, kbuf);
                lanes_convert(v, vo, LANES_KB, HEAD_DIM_V, vbuf);
                for (int t = 0; t < LANES_KB; t++) {
                    kr[t] = kbuf + t * HEAD_DIM;
                    vr[t] = vbuf + t * HEAD_DIM_V;
                }
#endif
                for (int t0 = 0; t0 < LANES_KB; t0 += LN_FT) {
                    lanes_dot(qt, kr + t0, HEAD_DIM, pt + t0 * LN);
                    lanes_dot(dot, vr + t0, HEAD_DIM_V, dst + t0 * LN);
                }
                /* A span's last, shorter block that ends at Sk is full too: its keys past nvalid get P = dS = 0
                 * (written, not computed, so a non-finite copied row cannot leak) and every product still runs
                 * over LANES_KB keys (a run-time key count made the compiler spill an accumulator of the dQ
                 * loop): dQ adds 0 x a copy of the last live key's row (non-finite only where that key's own
                 * term is NaN), and their dK/dV rows are the workspace's rows past Sk, never written out. A
                 * shorter block ending before Sk (window, causal, lengths) takes the boundary path. */
                const bool full = (nvalid == LANES_KB || je == p.seq_k) && lanes_full(lo, hi, rows_live, j0, nvalid);
                if (!full) {
                    lanes_live(lt, lov, hiv, j0, nvalid, p.m, mask, b, h, i0, p.seq_q, p.seq_k);
                }
                /* P and dS; 0 where masked (selected, so a NaN score of a masked pair cannot leak) */
                const int ncalc = full ? nvalid : LANES_KB;
                for (int t = 0; t < ncalc; t++) {
#pragma unroll
                    for (int f = 0; f < LN_FR; f++) {
                        const int e = t * LN + f * VW;
                        fv pv = exp2_ftz(VLOAD_W(0, pt + e) - l2v[f]);
                        fv ds = pv * (VLOAD_W(0, dst + e) - dlv[f]);
                        if (!full) {
                            const iv ok = VLOAD_I(0, lt + e);
                            pv = select((fv)(0.0f), pv, ok);
                            ds = select((fv)(0.0f), ds, ok);
                        }
                        VSTORE_W(pv, 0, pt + e);
                        VSTORE_W(ds, 0, dst + e);
                    }
                }
                for (int e = ncalc * LN; e < LANES_KB * LN; e++) {
                    pt[e] = 0.0f;
                    dst[e] = 0.0f;
                }
                lanes_axpy_all(dqt, dst, kr, lt, full, LANES_KB, HEAD_DIM, ones);
                bwd_lanes_keys_all(dva + (long)j0 * HEAD_DIM_V, pt, dr, lt, full, HEAD_DIM_V);
                bwd_lanes_keys_all(dka + (long)j0 * HEAD_DIM, dst, qr, lt, full, HEAD_DIM);
            }
            for (int r = 0; r < LN && i0 + r < p.seq_q; r++) {
                const int i = i0 + r;
                for (int d = 0; d < HEAD_DIM; d++) {
                    STORE_ST(dq, dqb + i * p.dq_ss + d, i < ql ? dqt[d * LN + r] * p.scale : 0.0f);
                }
            }
        }
    }
    /* every key below Sk is written once; keys no live row attends get 0 */
    const long dkb = p.dk_off + b * p.dk_sb + hk * p.dk_sh, dvb = p.dv_off + b * p.dv_sb + hk * p.dv_sh;
    for (int j = 0; j < p.seq_k; j++) {
        for (int d = 0; d < HEAD_DIM; d++) {
            STORE_ST(dk, dkb + j * p.dk_ss + d, dka[(long)j * HEAD_DIM + d] * p.scale);
        }
        for (int x = 0; x < HEAD_DIM_V; x++) {
            STORE_ST(dv, dvb + j * p.dv_ss + x, dva[(long)j * HEAD_DIM_V + x]);
        }
    }
}
#endif /* BWD_FUSED */
#endif /* BWD_CPU */
