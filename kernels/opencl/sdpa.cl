/*
 * sdpa.cl: fused scaled dot-product attention forward, FlashAttention-2 style.
 *
 * Work decomposition: a work-group of WG work-items owns BLOCK_M = WG * ROWS query rows of one
 * (batch, query head); work-item w holds rows i0 + r * WG + w (r < ROWS) with their Q row, their
 * output accumulator and their online-softmax state in private memory. The group streams the K/V
 * rows its rows can attend to through local memory, BLOCK_N keys at a time (K transposed, so that
 * a score chunk is one vector FMA per head-dim element), and writes O and LSE once at the end.
 * Tiles that the causal/window/length bounds mask for every row of the group are never loaded;
 * tiles that they mask for no row skip the per-element mask test.
 *
 * Build options (OpenClPrograms): HEAD_DIM, HEAD_DIM_V, DV_PAD (HEAD_DIM_V rounded up to VW),
 * VW, BLOCK_N (a multiple of VW, at most 64), WG, ROWS, KVW/VVW (tile-load widths), HAS_SOFTCAP, HAS_LSE and the HAS_* mask
 * options of common.cl, PAGED (K/V rows through the block table). Scores are kept in log2 units (exp2), as
 * FlashAttention does. Sinks (ATTN_F_SINKS) and the per-sequence alignment of paged calls
 * (ATTN_F_ALIGN_KV) are runtime flags: they cost nothing inside the key loop.
 *
 * SDPA_CPU = 1 builds the CPU form of the same entry instead (at the end of this file).
 */

#ifndef SDPA_CPU
#define SDPA_CPU 0
#endif
#ifndef HAS_SOFTCAP
#define HAS_SOFTCAP 0
#endif
#ifndef HAS_LSE
#define HAS_LSE 0
#endif
#ifndef PAGED
#define PAGED 0
#endif

/* The element offset of key row j of batch b relative to the (batch-free, when paged) K or V base:
 * dense j * ss; paged, the row's page (its table entry clamped to the cache) times the page stride
 * sb plus the row in the page (attn_params.h). */
#if PAGED
#define KV_ROW(j, sb, ss) sdpa_paged_row(p, bt, b, (j), (sb), (ss))
inline long sdpa_paged_row(const attn_sdpa_params p, __global const int *bt, int b, int j, long sb, long ss) {
    const int e = j / p.page_size;
    const int pg = clamp(bt[p.bt_off + b * p.bt_sb + e * p.bt_sp], 0, p.num_pages - 1);
    return pg * sb + (j - e * p.page_size) * ss;
}
#else
#define KV_ROW(j, sb, ss) ((long)(j) * (ss))
#endif

/* Scores need per-element work (softcap, bias, ALiBi): q is then scaled by `scale` and the score
 * converted to log2 units after the transforms; otherwise q carries scale * log2(e) directly. */
#define SCORE_XFORM (HAS_SOFTCAP || HAS_BIAS || HAS_ALIBI)

/* The end of a row, in both forms: whether it has no live key (dead, or l = 0) and its 1 / l in *inv
 * (0 without a live key); with a sink (sink2 in log2 units, ATTN_F_SINKS), exp2(sink2 - m) joins the sum
 * and m, l move to the sink's max, so the LSE (m + log2 l) includes it. */
inline bool sdpa_row_end(float *m, float *l, bool dead, bool has_sink, float sink2, float *inv) {
    const bool nokey = dead || *l == 0.0f;
    *inv = nokey ? 0.0f : osm_inv_sum(*l);
    if (has_sink && !dead) {
        const float mn = fmax(*m, sink2);
        const float a = *m == -INFINITY ? 0.0f : exp2(*m - osm_ref(mn));
        *l = *l * a + exp2(sink2 - osm_ref(mn));
        *m = mn;
        *inv = a / *l;
    }
    return nokey;
}

#if !SDPA_CPU

#if !defined(HEAD_DIM) || !defined(HEAD_DIM_V) || !defined(DV_PAD) || !defined(VW) || !defined(BLOCK_N) \
    || !defined(WG) || !defined(ROWS)
#error "sdpa.cl needs HEAD_DIM, HEAD_DIM_V, DV_PAD, VW, BLOCK_N, WG and ROWS"
#endif
#if BLOCK_N % VW != 0 || BLOCK_N > 64
#error "BLOCK_N must be a multiple of VW and at most 64"
#endif
#if DV_PAD % VW != 0 || DV_PAD < HEAD_DIM_V
#error "DV_PAD must be HEAD_DIM_V rounded up to a multiple of VW"
#endif
#if !defined(KVW) || !defined(VVW)
#error "sdpa.cl needs KVW and VVW (tile-load vector widths, 1 = scalar)"
#endif
#define BLOCK_M (WG * ROWS)
#define NCH (BLOCK_N / VW)      /* score vectors per row and tile */
#define DVC (DV_PAD / VW)       /* accumulator vectors per row */
#ifndef PV_CH
#if DVC % 2 == 0
#define PV_CH 2                 /* accumulator vectors per row updated per V load pass */
#else
#define PV_CH 1
#endif
#endif

/* K tile, transposed into kt[d * BLOCK_N + t]. Unit-stride rows are read KVW elements at a time
 * (KVW: the widest of 16, 8, 4 dividing HEAD_DIM, chosen by the host; 1 = scalar only). */
inline void sdpa_load_k(const attn_sdpa_params p, __global const st_t *k, __local float *kt, long kbase, int j0,
                        int nvalid, int lid, __global const int *bt, int b) {
#if KVW > 1
    if (p.k_sd == 1) {
        for (int e = lid; e < BLOCK_N * (HEAD_DIM / KVW); e += WG) {
            const int t = e / (HEAD_DIM / KVW), c = e - t * (HEAD_DIM / KVW);
            float tmp[KVW];
            ATTN_PASTE(vstore, KVW)(t < nvalid ? LOADN_ST(KVW, k, kbase + KV_ROW(j0 + t, p.k_sb, p.k_ss) + c * KVW)
                                               : (ATTN_PASTE(float, KVW))(0.0f), 0, tmp);
            for (int u = 0; u < KVW; u++) {
                kt[(c * KVW + u) * BLOCK_N + t] = tmp[u];
            }
        }
        return;
    }
#endif
    for (int e = lid; e < BLOCK_N * HEAD_DIM; e += WG) {
        const int t = e / HEAD_DIM, d = e - t * HEAD_DIM;
        kt[d * BLOCK_N + t] = t < nvalid ? LOAD_ST(k, kbase + KV_ROW(j0 + t, p.k_sb, p.k_ss) + d * p.k_sd) : 0.0f;
    }
}

/* V tile into vt[t * DV_PAD + x]; the padding columns x >= HEAD_DIM_V are zero. */
inline void sdpa_load_v(const attn_sdpa_params p, __global const st_t *v, __local float *vt, long vbase, int j0,
                        int nvalid, int lid, __global const int *bt, int b) {
#if VVW > 1
    if (p.v_sd == 1) {
        for (int e = lid; e < BLOCK_N * (HEAD_DIM_V / VVW); e += WG) {
            const int t = e / (HEAD_DIM_V / VVW), c = e - t * (HEAD_DIM_V / VVW);
            ATTN_PASTE(vstore, VVW)(t < nvalid ? LOADN_ST(VVW, v, vbase + KV_ROW(j0 + t, p.v_sb, p.v_ss) + c * VVW)
                                               : (ATTN_PASTE(float, VVW))(0.0f), 0, vt + t * DV_PAD + c * VVW);
        }
#if DV_PAD > HEAD_DIM_V
        for (int e = lid; e < BLOCK_N * (DV_PAD - HEAD_DIM_V); e += WG) {
            const int t = e / (DV_PAD - HEAD_DIM_V), x = HEAD_DIM_V + e - t * (DV_PAD - HEAD_DIM_V);
            vt[t * DV_PAD + x] = 0.0f;
        }
#endif
        return;
    }
#endif
    for (int e = lid; e < BLOCK_N * DV_PAD; e += WG) {
        const int t = e / DV_PAD, x = e - t * DV_PAD;
        vt[e] = (t < nvalid && x < HEAD_DIM_V) ? LOAD_ST(v, vbase + KV_ROW(j0 + t, p.v_sb, p.v_ss) + x * p.v_sd) : 0.0f;
    }
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void ENTRY(attn_sdpa_fwd)(const attn_sdpa_params p, __global const st_t *q, __global const st_t *k,
                          __global const st_t *v, __global st_t *o, __global float *lse,
                          __global const uchar *mask, __global const float *bias, __global const float *alibi,
                          __global const int *kv_len, __global const int *q_len, __global const float *sinks,
                          __global const int *block_table) {
    __local float kt[HEAD_DIM * BLOCK_N]; /* kt[d * BLOCK_N + t] = K[j0 + t, d] */
    __local float vt[BLOCK_N * DV_PAD];   /* vt[t * DV_PAD + x]  = V[j0 + t, x] */

    const int lid = get_local_id(0);
    const int i0 = get_group_id(0) * BLOCK_M;
    const int bh = get_group_id(1);
    const int b = bh / p.heads_q, h = bh - b * p.heads_q, hk = h / p.group;
    const int kvl = mask_kv_len(kv_len, b, p.seq_k);
    attn_mask_params m = p.m;
    if (p.flags & ATTN_F_ALIGN_KV) {
        m.align_off += kvl; /* paged BOTTOM_RIGHT: off = kv_len[b] - Sq */
    }
    const int ql = mask_q_len(q_len, b, p.seq_q);
    const float slope = mask_alibi_slope(m, alibi, b, h);

    /* The keys any live row of the group may attend: the bounds grow with i, so the first row
     * gives the lowest start and the last live row the highest end. */
    const int i_last = min(i0 + BLOCK_M, ql) - 1;
    int jb = 0, je = 0, lo_last = 0, hi_first = 0;
    if (i_last >= i0) {
        mask_key_range(m, i0, p.seq_k, kvl, &jb, &hi_first);
        mask_key_range(m, i_last, p.seq_k, kvl, &lo_last, &je);
        jb = max(jb, 0);
    }

    float qr[ROWS][HEAD_DIM];
    fv acc[ROWS][DVC];
    float mr[ROWS], lr[ROWS];
    int lo[ROWS], hi[ROWS];
#if SCORE_XFORM
    const float qscale = p.scale;
#else
    const float qscale = p.scale_log2;
#endif
    const long qbase = p.q_off + b * p.q_sb + h * p.q_sh;
#pragma unroll
    for (int r = 0; r < ROWS; r++) {
        const int i = i0 + r * WG + lid;
        const bool in = i < p.seq_q;
        for (int d = 0; d < HEAD_DIM; d++) {
            qr[r][d] = in ? LOAD_ST(q, qbase + i * p.q_ss + d * p.q_sd) * qscale : 0.0f;
        }
        for (int c = 0; c < DVC; c++) {
            acc[r][c] = (fv)(0.0f);
        }
        mr[r] = -INFINITY;
        lr[r] = 0.0f;
        mask_key_range(m, i, p.seq_k, kvl, &lo[r], &hi[r]);
    }

#if PAGED
    const long kbase = p.k_off + hk * p.k_sh; /* k_sb, v_sb: the page strides (KV_ROW) */
    const long vbase = p.v_off + hk * p.v_sh;
#else
    const long kbase = p.k_off + b * p.k_sb + hk * p.k_sh;
    const long vbase = p.v_off + b * p.v_sb + hk * p.v_sh;
#endif
    __global const int *bt = block_table;

    for (int j0 = jb; j0 < je; j0 += BLOCK_N) {
        const int nvalid = min(BLOCK_N, je - j0);
        barrier(CLK_LOCAL_MEM_FENCE); /* the previous tile has been consumed */
        /* Keys past nvalid are outside every row's bounds: they are zero-filled, never read. */
        sdpa_load_k(p, k, kt, kbase, j0, nvalid, lid, bt, b);
        sdpa_load_v(p, v, vt, vbase, j0, nvalid, lid, bt, b);
        barrier(CLK_LOCAL_MEM_FENCE);

        /* Uniform: every key of the tile is inside every live row's bounds. */
        const bool full = !HAS_BOOL_MASK && nvalid == BLOCK_N && lo_last <= j0 && j0 + BLOCK_N <= hi_first;

        /* S = Q K^T for ROWS x BLOCK_N, one vector FMA per (row, chunk, d). */
        fv s[ROWS][NCH];
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
#pragma unroll
            for (int c = 0; c < NCH; c++) {
                s[r][c] = (fv)(0.0f);
            }
        }
        for (int d = 0; d < HEAD_DIM; d++) {
#pragma unroll
            for (int c = 0; c < NCH; c++) {
                const fv kv = VLOAD_W(0, kt + d * BLOCK_N + c * VW);
#pragma unroll
                for (int r = 0; r < ROWS; r++) {
                    s[r][c] = fma((fv)(qr[r][d]), kv, s[r][c]);
                }
            }
        }

        /* Per-element transforms and the mask, only where needed. */
        ulong live[ROWS];
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
            live[r] = ~0ul;
        }
        if (SCORE_XFORM || !full) {
#pragma unroll
            for (int r = 0; r < ROWS; r++) {
                const int i = i0 + r * WG + lid;
                /* A row past Sq has no live key, also in a uniform tile (full describes the rows
                 * [i0, i_last] only): reading the bias for it read past the buffer. ic and jc keep
                 * the mask and bias addresses in range whatever the compiler hoists; they differ
                 * from i and j only where ok is false. (The Q and K/V tile loads are guarded by
                 * their own conditions; clamping those too doubled PoCL's compile time.
                 * OpenClGuardPageTest puts every buffer's end at a faulting page.) */
                const bool row_in = i < p.seq_q;
                const int ic = min(i, p.seq_q - 1);
                float sr[BLOCK_N];
                for (int c = 0; c < NCH; c++) {
                    VSTORE_W(s[r][c], c, sr);
                }
                ulong bits = 0;
                for (int t = 0; t < BLOCK_N; t++) {
                    const int j = j0 + t;
                    const int jc = min(j, p.seq_k - 1);
                    const bool ok = row_in && (full || (t < nvalid && j >= lo[r] && j < hi[r]
                                                        && mask_bool(m, mask, b, h, ic, jc)));
                    float x = sr[t];
#if SCORE_XFORM
#if HAS_SOFTCAP
                    x = p.softcap * tanh(x / p.softcap);
#endif
                    if (ok) {
                        x += mask_score_bias(m, bias, slope, b, h, ic, jc);
                    }
                    x *= ATTN_LOG2E;
#endif
                    sr[t] = ok ? x : -INFINITY;
                    bits |= ok ? (1ul << t) : 0ul;
                }
                live[r] = bits;
                for (int c = 0; c < NCH; c++) {
                    s[r][c] = VLOAD_W(c, sr);
                }
            }
        }

        /* Online softmax: move the max, rescale, P = exp2(S - m). */
        float pr[ROWS][BLOCK_N];
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
            float tmax = HMAX_W(s[r][0]);
            for (int c = 1; c < NCH; c++) {
                tmax = fmax(tmax, HMAX_W(s[r][c]));
            }
            const float alpha = osm_advance(&mr[r], &lr[r], tmax, true);
            const float ref = osm_ref(mr[r]);
            fv psum = (fv)(0.0f);
            for (int c = 0; c < NCH; c++) {
                const fv pc = exp2(s[r][c] - (fv)(ref));
                psum += pc;
                VSTORE_W(pc, c, pr[r]);
            }
            lr[r] += HSUM_W(psum);
            if (alpha != 1.0f) {
                for (int c = 0; c < DVC; c++) {
                    acc[r][c] *= (fv)(alpha);
                }
            }
        }

        /* O += P V, PV_CH accumulator vectors per row at a time. A masked key's V row is selected
         * away, never multiplied by 0, so NaN or garbage in it cannot leak. */
        for (int c = 0; c < DVC; c += PV_CH) {
            fv a[ROWS][PV_CH];
#pragma unroll
            for (int r = 0; r < ROWS; r++) {
#pragma unroll
                for (int u = 0; u < PV_CH; u++) {
                    a[r][u] = acc[r][c + u];
                }
            }
            if (full) {
                for (int t = 0; t < BLOCK_N; t++) {
#pragma unroll
                    for (int u = 0; u < PV_CH; u++) {
                        const fv vv = VLOAD_W(0, vt + t * DV_PAD + (c + u) * VW);
#pragma unroll
                        for (int r = 0; r < ROWS; r++) {
                            a[r][u] = fma((fv)(pr[r][t]), vv, a[r][u]);
                        }
                    }
                }
            } else {
                for (int t = 0; t < BLOCK_N; t++) {
#pragma unroll
                    for (int u = 0; u < PV_CH; u++) {
                        const fv vv = VLOAD_W(0, vt + t * DV_PAD + (c + u) * VW);
#pragma unroll
                        for (int r = 0; r < ROWS; r++) {
                            const bool ok = (live[r] >> t) & 1ul;
                            a[r][u] = ok ? fma((fv)(pr[r][t]), vv, a[r][u]) : a[r][u];
                        }
                    }
                }
            }
#pragma unroll
            for (int r = 0; r < ROWS; r++) {
#pragma unroll
                for (int u = 0; u < PV_CH; u++) {
                    acc[r][c + u] = a[r][u];
                }
            }
        }
    }

    /* Write O and LSE once. Dead rows (i >= q_len) and rows with no live key: O = 0, LSE = -inf
     * (with a sink, a live row's LSE includes it: sink_h for a row with no live key). */
    const long obase = p.o_off + b * p.o_sb + h * p.o_sh;
    const bool has_sink = (p.flags & ATTN_F_SINKS) != 0;
    const float sink2 = has_sink ? sinks[p.sinks_off + h] * ATTN_LOG2E : -INFINITY;
#pragma unroll
    for (int r = 0; r < ROWS; r++) {
        const int i = i0 + r * WG + lid;
        if (i >= p.seq_q) {
            continue;
        }
        const bool dead = i >= ql;
        float mrow = mr[r], lrow = lr[r], inv;
        const bool nokey = sdpa_row_end(&mrow, &lrow, dead, has_sink, sink2, &inv);
        float orow[DV_PAD];
        for (int c = 0; c < DVC; c++) {
            /* nokey: no live key (or a dead row); write zeros even if acc saw 0 * NaN */
            VSTORE_W(nokey ? (fv)(0.0f) : acc[r][c] * (fv)(inv), c, orow);
        }
        for (int x = 0; x < HEAD_DIM_V; x++) {
            STORE_ST(o, obase + i * p.o_ss + x * p.o_sd, orow[x]);
        }
#if HAS_LSE
        lse[p.lse_off + b * p.lse_sb + h * p.lse_sh + i * p.lse_ss] =
            (dead || lrow == 0.0f) ? -INFINITY : (mrow + log2(lrow)) * ATTN_LN2;
#endif
    }
}
#endif /* !SDPA_CPU */

#if SDPA_CPU
/*
 * The CPU form of attn_sdpa_fwd (SDPA_CPU = 1; same entry, arguments and results as the work-group
 * form), for CPU devices (PoCL): a work-item per work-group, no barrier and no local memory, so PoCL
 * emits straight-line vector code. A work-item owns LN = LN_FR * VW query rows of FWD_HEADS query heads
 * of one (batch, kv head), and those rows are the vector lanes: each head's Q block is transposed once
 * (qt[d][row], scaled to log2 units), and every product is a register micro-kernel that broadcasts one
 * K or V element into LN_FR vectors of rows, as a GEMM does; each key block serves the item's heads in
 * turn from the caches, so its K/V rows are read (and converted) once per item, not once per head:
 *   S[t][rows]  = sum_d K[t][d] * qt[d][rows]            (LN_FT keys x LN_FR vectors of accumulators)
 *   ot[x][rows] = alpha * ot[x][rows] + sum_t P[t][rows] * V[t][x]   (LN_FC columns x LN_FR vectors)
 * K and V rows are read in place (f32 with adjacent keys) or converted (copied) a key block at a time into
 * private rows (f16, bf16; f32 under LANES_COPY: paged or strided keys);
 * nothing is transposed per key. The online softmax is per lane, so the running max and sum of LN
 * rows move with vector ops and no horizontal reduction, once per LANES_KB keys. A key block whose every
 * (row, key) pair is live takes plain fmas; a boundary block (window, lengths, bool mask, rows or keys
 * past the ends) sets masked scores to -inf and selects masked pairs away in the PV product, so NaN in
 * a masked K or V row cannot leak. Softcap and ALiBi are applied to a block's scores as vectors, the bias
 * element by element; paged K/V rows are found through the block table once per key. The planner sends
 * only unit-stride rows of D, Dv <= 256 here.
 * The micro-kernels are common.cl's row-lane helpers (shared with the backward's CPU form).
 * Build options: HEAD_DIM, HEAD_DIM_V, VW, LANES_KB, LANES_FR and LANES_COPY (common.cl), FWD_HEADS (query heads per
 * work-item, a divisor of the GQA group; default 1), HAS_SOFTCAP, HAS_LSE, PAGED and the HAS_* mask options of common.cl.
 */
#if !defined(HEAD_DIM) || !defined(HEAD_DIM_V) || !defined(VW) || !defined(LANES_KB)
#error "the CPU form of sdpa.cl needs HEAD_DIM, HEAD_DIM_V, VW and LANES_KB"
#endif
#ifndef FWD_HEADS
#define FWD_HEADS 1
#endif
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void ENTRY(attn_sdpa_fwd)(const attn_sdpa_params p, __global const st_t *q, __global const st_t *k,
                          __global const st_t *v, __global st_t *o, __global float *lse,
                          __global const uchar *mask, __global const float *bias, __global const float *alibi,
                          __global const int *kv_len, __global const int *q_len, __global const float *sinks,
                          __global const int *block_table) {
    const int i0 = get_group_id(0) * LN;
    if (i0 >= p.seq_q) {
        return; /* the planner pads the row blocks to a multiple of FWD_CPU_GROUPS (OpenClPlans) */
    }
    /* the item's FWD_HEADS query heads h0 .. h0 + FWD_HEADS - 1 share the kv head hk */
    const int packs = p.heads_q / FWD_HEADS;
    const int bh = get_group_id(1);
    const int b = bh / packs, h0 = (bh - b * packs) * FWD_HEADS, hk = h0 / p.group;
    const int kvl = mask_kv_len(kv_len, b, p.seq_k);
    attn_mask_params m = p.m;
    if (p.flags & ATTN_F_ALIGN_KV) {
        m.align_off += kvl;
    }
    const int ql = mask_q_len(q_len, b, p.seq_q);
#if PAGED
    const long kb = p.k_off + hk * p.k_sh, vb = p.v_off + hk * p.v_sh; /* k_sb, v_sb: the page strides (KV_ROW) */
#else
    const long kb = p.k_off + b * p.k_sb + hk * p.k_sh, vb = p.v_off + b * p.v_sb + hk * p.v_sh;
#endif
    __global const int *bt = block_table;
#if SCORE_XFORM
    const float qscale = p.scale;
    float slope[FWD_HEADS];
    for (int g = 0; g < FWD_HEADS; g++) {
        slope[g] = mask_alibi_slope(m, alibi, b, h0 + g);
    }
#else
    const float qscale = p.scale_log2;
#endif

    /* Q of every head transposed and scaled (rows past Sq read the last row: their lanes are dead), the key
     * bounds of every lane (a dead row: none; the same for the item's heads), the keys [jb, je) that some
     * live row may attend */
    float qt[FWD_HEADS][HEAD_DIM * LN];
    int lo[LN], hi[LN];
    for (int r = 0; r < LN; r++) {
        const int i = i0 + r;
        for (int g = 0; g < FWD_HEADS; g++) {
            const long qr = p.q_off + b * p.q_sb + (h0 + g) * p.q_sh + (long)min(i, p.seq_q - 1) * p.q_ss;
            for (int d = 0; d < HEAD_DIM; d++) {
                qt[g][d * LN + r] = LOAD_ST(q, qr + d) * qscale;
            }
        }
        lo[r] = 0;
        hi[r] = 0;
        if (i < ql) {
            mask_key_range(m, i, p.seq_k, kvl, &lo[r], &hi[r]);
        }
    }
    int jb, je;
    iv lov[LN_FR], hiv[LN_FR];
    const bool rows_live = lanes_span(lo, hi, i0, ql, &jb, &je, lov, hiv);

    float ot[FWD_HEADS][HEAD_DIM_V * LN];
    fv mrow[FWD_HEADS][LN_FR], lrow[FWD_HEADS][LN_FR];
    for (int g = 0; g < FWD_HEADS; g++) {
        for (int e = 0; e < HEAD_DIM_V * LN; e++) {
            ot[g][e] = 0.0f;
        }
#pragma unroll
        for (int f = 0; f < LN_FR; f++) {
            mrow[g][f] = (fv)(-INFINITY);
            lrow[g][f] = (fv)(0.0f);
        }
    }
    float st[LANES_KB * LN]; /* S, then P, of the block and head: st[t][row] */
    int lt[LANES_KB * LN];   /* boundary blocks: the live pairs (-1 live, 0 masked) */
    LROW *kr[LANES_KB];
    LROW *vr[LANES_KB];
#if !LANES_IN_PLACE
    float kbuf[LANES_KB * HEAD_DIM], vbuf[LANES_KB * HEAD_DIM_V];
    long ko[LANES_KB], vo[LANES_KB];
#endif

    for (int j0 = jb; j0 < je; j0 += LANES_KB) {
        const int nvalid = min(LANES_KB, je - j0);
        /* keys past the block's last valid one read that one (their pairs are masked) */
#if LANES_IN_PLACE
        for (int t = 0; t < LANES_KB; t++) {
            const int j = j0 + min(t, nvalid - 1);
            kr[t] = k + kb + KV_ROW(j, p.k_sb, p.k_ss);
            vr[t] = v + vb + KV_ROW(j, p.v_sb, p.v_ss);
        }
#else
        for (int t = 0; t < LANES_KB; t++) {
            const int j = j0 + min(t, nvalid - 1);
            ko[t] = kb + KV_ROW(j, p.k_sb, p.k_ss);
            vo[t] = vb + KV_ROW(j, p.v_sb, p.v_ss);
            kr[t] = kbuf + t * HEAD_DIM;
            vr[t] = vbuf + t * HEAD_DIM_V;
        }
        lanes_convert(k, ko, LANES_KB, HEAD_DIM, kbuf);
        lanes_convert(v, vo, LANES_KB, HEAD_DIM_V, vbuf);
#endif
        /* every pair live: no per-element test */
        const bool full = lanes_full(lo, hi, rows_live, j0, nvalid);

        /* the block serves every head of the item, its K/V rows read from memory once */
        for (int g = 0; g < FWD_HEADS; g++) {
            const int h = h0 + g;
            for (int t0 = 0; t0 < LANES_KB; t0 += LN_FT) {
#if LANES_COPY
                /* the next block's rows, pages apart: their lines in flight while this block computes */
                if (g == 0) {
                    for (int t = t0; t < t0 + LN_FT; t++) {
                        const int jn = min(j0 + LANES_KB + t, je - 1);
                        prefetch_row(k, kb + KV_ROW(jn, p.k_sb, p.k_ss), HEAD_DIM);
                        prefetch_row(v, vb + KV_ROW(jn, p.v_sb, p.v_ss), HEAD_DIM_V);
                    }
                }
#endif
                lanes_dot(qt[g], kr + t0, HEAD_DIM, st + t0 * LN);
            }

#if SCORE_XFORM
            /* softcap, ALiBi and bias on every score, then log2 units (the work-group form's order) */
            const iv ids = attn_lane_ids();
            for (int t = 0; t < LANES_KB; t++) {
                const int j = j0 + t;
#pragma unroll
                for (int f = 0; f < LN_FR; f++) {
                    fv x = VLOAD_W(0, st + t * LN + f * VW);
#if HAS_SOFTCAP
                    x = (fv)(p.softcap) * tanh(x / (fv)(p.softcap));
#endif
#if HAS_ALIBI
                    /* |i + align_off - j| exactly in integers, rounded to float once */
                    x -= (fv)(slope[g]) *
                         ATTN_PASTE(convert_float, VW)(abs((iv)(i0 + f * VW) + ids + (iv)(m.align_off - j)));
#endif
#if HAS_BIAS
                    float xs[VW];
                    VSTORE_W(x, 0, xs);
                    for (int l = 0; l < VW; l++) {
                        xs[l] += mask_score_bias(m, bias, 0.0f, b, h, min(i0 + f * VW + l, p.seq_q - 1),
                                                 min(j, p.seq_k - 1));
                    }
                    x = VLOAD_W(0, xs);
#endif
                    VSTORE_W(x * (fv)(ATTN_LOG2E), 0, st + t * LN + f * VW);
                }
            }
#endif

            /* the live pairs: the same for every head of the item unless a bool mask is given; a full block's
             * keys past nvalid (rows clamped to the last valid one) get no probability */
            if (!full) {
                if (g == 0 || HAS_BOOL_MASK) {
                    lanes_live(lt, lov, hiv, j0, nvalid, m, mask, b, h, i0, p.seq_q, p.seq_k);
                }
                for (int e = 0; e < LANES_KB * LN; e += VW) {
                    VSTORE_W(select((fv)(-INFINITY), VLOAD_W(0, st + e), VLOAD_I(0, lt + e)), 0, st + e);
                }
            } else {
                for (int e = nvalid * LN; e < LANES_KB * LN; e += VW) {
                    VSTORE_W((fv)(-INFINITY), 0, st + e);
                }
            }

            /* online softmax per lane: move the max, P = exp2(S - ref), l = alpha l + sum P */
            fv alpha[LN_FR];
#pragma unroll
            for (int f = 0; f < LN_FR; f++) {
                fv tmax = VLOAD_W(0, st + f * VW);
                for (int t = 1; t < LANES_KB; t++) {
                    tmax = fmax(tmax, VLOAD_W(0, st + t * LN + f * VW));
                }
                const fv mn = fmax(mrow[g][f], tmax);
                const fv ref = select(mn, (fv)(0.0f), mn == (fv)(-INFINITY));
                alpha[f] = exp2_ftz(mrow[g][f] - ref); /* 0 while the row had no live key (m = -inf) */
                mrow[g][f] = mn;
                fv sum = (fv)(0.0f);
                for (int t = 0; t < LANES_KB; t++) {
                    const fv pv = exp2_ftz(VLOAD_W(0, st + t * LN + f * VW) - ref);
                    sum += pv;
                    VSTORE_W(pv, 0, st + t * LN + f * VW);
                }
                lrow[g][f] = lrow[g][f] * alpha[f] + sum;
            }

            lanes_axpy_all(ot[g], st, vr, lt, full, nvalid, HEAD_DIM_V, alpha);
        }
    }

    /* Write O and LSE once per head, as the work-group form does (dead rows and rows with no live key: O = 0,
     * LSE = -inf; with a sink, a live row's LSE includes it). */
    const bool has_sink = (p.flags & ATTN_F_SINKS) != 0;
    for (int g = 0; g < FWD_HEADS; g++) {
        const int h = h0 + g;
        float ms[LN], ls[LN];
#pragma unroll
        for (int f = 0; f < LN_FR; f++) {
            VSTORE_W(mrow[g][f], 0, ms + f * VW);
            VSTORE_W(lrow[g][f], 0, ls + f * VW);
        }
        const long obase = p.o_off + b * p.o_sb + h * p.o_sh;
        const float sink2 = has_sink ? sinks[p.sinks_off + h] * ATTN_LOG2E : -INFINITY;
        for (int r = 0; r < LN; r++) {
            const int i = i0 + r;
            if (i >= p.seq_q) {
                break;
            }
            const bool dead = i >= ql;
            float mr = ms[r], lr = ls[r], inv;
            const bool nokey = sdpa_row_end(&mr, &lr, dead, has_sink, sink2, &inv);
            for (int x = 0; x < HEAD_DIM_V; x++) {
                STORE_ST(o, obase + i * p.o_ss + x, nokey ? 0.0f : ot[g][x * LN + r] * inv);
            }
#if HAS_LSE
            lse[p.lse_off + b * p.lse_sb + h * p.lse_sh + i * p.lse_ss] =
                (dead || lr == 0.0f) ? -INFINITY : (mr + log2(lr)) * ATTN_LN2;
#endif
        }
    }
}
#endif /* SDPA_CPU */
