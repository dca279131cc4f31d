/*
 * sdpa_decode.cl: split-KV ("flash-decoding") SDPA for one query row per (batch, head) on CPU
 * devices, and the combine kernel that merges the splits through their LSE.
 *
 * attn_sdpa_decode_<dt>: one work-item per (split z, batch b, block of DEC_HKB kv heads); work-groups
 * of one item, so PoCL runs each as a plain loop with explicit VW-wide vectors and no barrier. The
 * item holds the GROUP query heads of each of its kv heads (GQA packing): each K and V row is loaded
 * once and used by every head of its group, so each K/V byte is read once per group. Split z takes
 * the z-th contiguous share of the row's allowed keys [lo, hi) (window and kv length; the planner
 * sends no bool mask, bias, ALiBi or softcap here), DEC_BN keys at a time, and for each of its kv
 * heads: scores two keys at a time, one online-softmax step on VW-wide vectors of scores (vector exp2;
 * scalar exp2 was a third of the kernel's time), then O += P V with two output chunks
 * in registers over the DEC_BN keys. Several kv heads per item (DEC_HKB > 1) make the item walk
 * whole [key, kv head, D] rows of memory: the NHD page layout (and BSHD) interleaves the kv heads
 * row by row, so an item per kv head would touch one 4 KiB page per key. While a block computes,
 * later K/V rows are kept in flight: prefetched from the score loop (one kv head per item) or touched
 * a block ahead (several; see the main loop).
 * It writes its partial row normalised by its own sum and the partial LSE in log2 units (-inf when
 * the split saw no key) into the workspace:
 *   o_part[(z * rows + row) * Dv + x], lse_part[z * rows + row], rows = B * Hq (Sq = 1), row = b*Hq + h.
 * A sink (ATTN_F_SINKS) joins split 0's sum, so the merged denominator holds it once.
 * o_part and lse_part are one workspace buffer (a cl_mem carries no offset): the partial LSEs start
 * after the partial rows, at element num_splits * rows * Dv (DEC_LSE below; the planner lays the
 * workspace out the same way).
 *
 * attn_sdpa_combine_<dt>: one work-item per row: LSE = log2 sum_z 2^lse_z, O = sum_z 2^(lse_z - LSE) O_z
 * (the same arithmetic as the CUDA tensor-core combine in sdpa_tc.cu); every split empty gives
 * O = 0 and LSE = -inf; a NaN partial makes the row NaN. The split order is fixed: deterministic.
 *
 * DEC_WG > 0 (GPU devices; the planner's choice from the device type, forced on PoCL for the tests by
 * the tuning option decWg): the same entry, arguments and results from a work-group of DEC_WG items
 * per (split z, batch b, kv head hk): the group's Q rows and each K tile of DEC_BN keys sit in local
 * memory (the K rows loaded by all items, coalesced), the items split the (head, key) scores of a tile,
 * one item per head advances its online softmax, and the items split the Dv columns of O += P V,
 * reading each V row once for the group (coalesced along the row).
 *
 * Build options: HEAD_DIM, HEAD_DIM_V (multiples of VW), VW, GROUP (Hq / Hkv), DEC_BN (keys per
 * softmax step), DEC_HKB (kv heads per work-item, a divisor of Hkv; default 1), DEC_WG (0 = a
 * work-item per split; > 0 = the work-group variant, DEC_HKB 1), PAGED, and the storage dtype of
 * common.cl. K and V rows have unit stride.
 */
#ifndef PAGED
#define PAGED 0
#endif
#if !defined(HEAD_DIM) || !defined(HEAD_DIM_V) || !defined(VW) || !defined(GROUP) || !defined(DEC_BN)
#error "sdpa_decode.cl needs HEAD_DIM, HEAD_DIM_V, VW, GROUP and DEC_BN"
#endif
#if HEAD_DIM % VW != 0 || HEAD_DIM_V % VW != 0 || DEC_BN % VW != 0
#error "HEAD_DIM, HEAD_DIM_V and DEC_BN must be multiples of VW"
#endif
#ifndef DEC_HKB
#define DEC_HKB 1
#endif
#ifndef DEC_WG
#define DEC_WG 0
#endif
/* The raw bits of one storage element, for the touch-ahead loads (summed as integers into a dummy): a plain
 * load, no conversion (a scalar vload_half is a software conversion of about ten instructions in PoCL's code). */
#if defined(DT_F32)
#define TOUCH_ST(ptr, idx) as_uint((ptr)[idx])
#else
#define TOUCH_ST(ptr, idx) ((uint)((__global const ushort *)(ptr))[idx])
#endif
/* keys ahead whose K/V rows the score loop prefetches (DEC_HKB 1; see the main loop) */
#ifndef DEC_PF
#define DEC_PF (2 * DEC_BN)
#endif
/* query heads per register block of the score and output loops (2 x DEC_GB vector accumulators) */
#define DEC_GB (GROUP < 4 ? GROUP : 4)
/* elements of the storage type per 64-byte cache line (the touch-ahead stride) */
#define DEC_LINE ATTN_LINE
#define DC (HEAD_DIM / VW)
#define DVC (HEAD_DIM_V / VW)
/* The partial LSEs within the shared workspace buffer. */
#define DEC_LSE(lse_part, num_splits, rows) ((lse_part) + (long)(num_splits) * (rows) * p.head_dim_v)

/* The element offset of key row j of batch b: dense j * ss, paged through the table (clamped). */
inline long dec_row(const attn_sdpa_params p, __global const int *bt, int b, int j, long ss, long sb) {
#if PAGED
    const int e = j / p.page_size;
    const int pg = clamp(bt[p.bt_off + b * p.bt_sb + e * p.bt_sp], 0, p.num_pages - 1);
    return pg * sb + (j - e * p.page_size) * ss;
#else
    return (long)j * ss;
#endif
}

/* The keys [*j_begin, *j_end) of split z of row (b, kv head), and whether the row is dead (q_len 0). */
inline bool dec_split(const attn_sdpa_params p, __global const int *kv_len, __global const int *q_len, int b, int z,
                      int num_splits, int *j_begin, int *j_end) {
    const int kvl = mask_kv_len(kv_len, b, p.seq_k);
    const bool dead = mask_q_len(q_len, b, p.seq_q) < 1;
    attn_mask_params m = p.m;
    if (p.flags & ATTN_F_ALIGN_KV) {
        m.align_off += kvl;
    }
    int lo = 0, hi = 0;
    mask_key_range(m, 0, p.seq_k, kvl, &lo, &hi);
    lo = max(lo, 0);
    if (dead) {
        hi = lo;
    }
    const int per = hi > lo ? (hi - lo + num_splits - 1) / num_splits : 0;
    *j_begin = lo + z * per;
    *j_end = min(hi, *j_begin + per);
    return dead;
}

/* The partial (O factor, LSE) of a head's finished state (m, l in log2 units): the sink joins split
 * 0's sum of a live row; returns the factor for the row's accumulator and writes the LSE. */
inline float dec_finish(const attn_sdpa_params p, __global const float *sinks, int h, bool add_sink, float mrow,
                        float lrow, __global float *lse_at) {
    float a = 1.0f;
    const float l0 = lrow;
    if (add_sink) {
        const float s2 = sinks[p.sinks_off + h] * ATTN_LOG2E;
        const float mn = fmax(mrow, s2);
        a = mrow == -INFINITY ? 0.0f : exp2(mrow - osm_ref(mn));
        lrow = lrow * a + exp2(s2 - osm_ref(mn));
        mrow = mn;
    }
    const bool empty = lrow == 0.0f;
    *lse_at = empty ? -INFINITY : mrow + log2(lrow);
    return empty || l0 == 0.0f ? 0.0f : a / lrow;
}

#if DEC_WG == 0
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void ENTRY(attn_sdpa_decode)(const attn_sdpa_params p, __global const st_t *q, __global const st_t *k,
                             __global const st_t *v, __global st_t *o, __global float *lse,
                             __global const uchar *mask, __global const float *bias, __global const float *alibi,
                             __global const int *kv_len, __global const int *q_len, __global const float *sinks,
                             __global const int *block_table, __global float *o_part, __global float *lse_part,
                             const int num_splits) {
    const int z = get_global_id(0);
    const int nkb = p.heads_kv / DEC_HKB;
    const int bk = get_global_id(1);
    const int b = bk / nkb, hk0 = (bk - b * nkb) * DEC_HKB;
    int j_begin, j_end;
    const bool dead = dec_split(p, kv_len, q_len, b, z, num_splits, &j_begin, &j_end);

    /* the state of the DEC_HKB x GROUP query heads: Q (scaled to log2 units), O, running max and sum */
    fv qv[DEC_HKB][GROUP][DC];
    fv acc[DEC_HKB][GROUP][DVC];
    float mr[DEC_HKB][GROUP], lr[DEC_HKB][GROUP];
    for (int hh = 0; hh < DEC_HKB; hh++) {
        for (int g = 0; g < GROUP; g++) {
            const int h = (hk0 + hh) * GROUP + g;
            const long qb = p.q_off + b * p.q_sb + h * p.q_sh;
            for (int c = 0; c < DC; c++) {
                float tmp[VW];
                for (int u = 0; u < VW; u++) {
                    tmp[u] = LOAD_ST(q, qb + (c * VW + u) * p.q_sd);
                }
                qv[hh][g][c] = VLOAD_W(0, tmp) * (fv)(p.scale_log2);
            }
            for (int c = 0; c < DVC; c++) {
                acc[hh][g][c] = (fv)(0.0f);
            }
            mr[hh][g] = -INFINITY;
            lr[hh][g] = 0.0f;
        }
    }
#if PAGED
    const long kbase = p.k_off + hk0 * p.k_sh, vbase = p.v_off + hk0 * p.v_sh;
#else
    const long kbase = p.k_off + b * p.k_sb + hk0 * p.k_sh, vbase = p.v_off + b * p.v_sb + hk0 * p.v_sh;
#endif

    /* Keeping K/V in flight while a block computes (the hardware prefetchers stop at every 4 KiB page, and a
     * demand load that misses blocks retirement: the kernel's time was its memory time plus its arithmetic).
     * One kv head per item (DEC_HKB 1, a head's rows contiguous): the score loop prefetches the K and V rows
     * DEC_PF keys ahead, two rows per step between its FMAs (__builtin_prefetch: no retirement stall;
     * against the touch below, kernel alone at Sk = 32k: f16 1.5-1.9x, f32 1.0-1.1x; in the bench f16 up to
     * 1.4x, f32 0.95-1.0x: bench/results/decode-prefetch-pocl). Several kv heads
     * per item (paged NHD rows, DEC_HKB > 1): one element per cache line of the next block's whole
     * [key, kv head, D] rows is loaded ("touch ahead"; the prefetches measured 1.2-1.5x slower there), as raw
     * bits (TOUCH_ST: no conversion) summed as integers into a dummy, each row's loads as a tree
     * so that only the row's total joins the running sum (a chain of one add per line kept the out-of-order
     * window full of waiting adds). */
    uint touch = 0u;
    for (int j0 = j_begin; j0 < j_end; j0 += DEC_BN) {
        const int n = min(DEC_BN, j_end - j0);
        long kr[DEC_BN], vr[DEC_BN];
        for (int t = 0; t < n; t++) {
            kr[t] = kbase + dec_row(p, block_table, b, j0 + t, p.k_ss, p.k_sb);
            vr[t] = vbase + dec_row(p, block_table, b, j0 + t, p.v_ss, p.v_sb);
        }
#if DEC_HKB > 1
        for (int t = 0; t < DEC_BN; t++) {
            const int jn = min(j0 + DEC_BN + t, j_end - 1);
            const long kn = kbase + dec_row(p, block_table, b, jn, p.k_ss, p.k_sb);
            const long vn = vbase + dec_row(p, block_table, b, jn, p.v_ss, p.v_sb);
            for (int hh = 0; hh < DEC_HKB; hh++) {
                uint tl[(HEAD_DIM + HEAD_DIM_V) / DEC_LINE + 1];
                int nl = 0;
#pragma unroll
                for (int x = 0; x < HEAD_DIM; x += DEC_LINE) {
                    tl[nl++] = TOUCH_ST(k, kn + hh * p.k_sh + x);
                }
#pragma unroll
                for (int x = 0; x < HEAD_DIM_V; x += DEC_LINE) {
                    tl[nl++] = TOUCH_ST(v, vn + hh * p.v_sh + x);
                }
#pragma unroll
                for (int w = 1; w < nl; w *= 2) {
#pragma unroll
                    for (int i = 0; i + w < nl; i += 2 * w) {
                        tl[i] += tl[i + w];
                    }
                }
                touch += tl[0];
            }
        }
#endif
        for (int hh = 0; hh < DEC_HKB; hh++) {
            const long ko = hh * p.k_sh, vo = hh * p.v_sh;
            float s[GROUP][DEC_BN];
            /* S, two keys at a time and DEC_GB heads at a time: per VW-wide chunk, two K loads feed
             * 2 x DEC_GB fmas (an odd last key is computed twice); at most 2 x 4 accumulators, so the
             * loop stays in registers for any group */
            for (int t = 0; t < n; t += 2) {
                const int t1 = min(t + 1, n - 1);
#if DEC_HKB == 1
#pragma unroll
                for (int u = 0; u < 2; u++) {
                    const int jn = min(j0 + DEC_PF + t + u, j_end - 1);
                    prefetch_row(k, kbase + dec_row(p, block_table, b, jn, p.k_ss, p.k_sb), HEAD_DIM);
                    prefetch_row(v, vbase + dec_row(p, block_table, b, jn, p.v_ss, p.v_sb), HEAD_DIM_V);
                }
#endif
#pragma unroll
                for (int g0 = 0; g0 < GROUP; g0 += DEC_GB) {
                    fv d0[DEC_GB], d1[DEC_GB];
#pragma unroll
                    for (int u = 0; u < DEC_GB; u++) {
                        d0[u] = (fv)(0.0f);
                        d1[u] = (fv)(0.0f);
                    }
                    for (int c = 0; c < DC; c++) {
                        const fv k0 = LOADN_ST(VW, k, kr[t] + ko + c * VW), k1 = LOADN_ST(VW, k, kr[t1] + ko + c * VW);
#pragma unroll
                        for (int u = 0; u < DEC_GB; u++) {
                            const fv qx = qv[hh][min(g0 + u, GROUP - 1)][c];
                            d0[u] = fma(qx, k0, d0[u]);
                            d1[u] = fma(qx, k1, d1[u]);
                        }
                    }
#pragma unroll
                    for (int u = 0; u < DEC_GB; u++) {
                        if (g0 + u < GROUP) {
                            s[g0 + u][t] = HSUM_W(d0[u]);
                            s[g0 + u][t1] = HSUM_W(d1[u]);
                        }
                    }
                }
            }
            /* one online-softmax step per head for the n keys, DEC_BN / VW vectors at a time (keys past n
             * are -inf, so exp2 gives 0) */
#pragma unroll
            for (int g = 0; g < GROUP; g++) {
                for (int t = n; t < DEC_BN; t++) {
                    s[g][t] = -INFINITY;
                }
                fv sv[DEC_BN / VW];
                fv vmax = (fv)(-INFINITY);
#pragma unroll
                for (int w = 0; w < DEC_BN / VW; w++) {
                    sv[w] = VLOAD_W(w, s[g]);
                    vmax = fmax(vmax, sv[w]);
                }
                const float alpha = osm_advance(&mr[hh][g], &lr[hh][g], HMAX_W(vmax), true);
                const fv ref = (fv)(osm_ref(mr[hh][g]));
                fv vsum = (fv)(0.0f);
#pragma unroll
                for (int w = 0; w < DEC_BN / VW; w++) {
                    sv[w] = exp2(sv[w] - ref);
                    vsum += sv[w];
                    VSTORE_W(sv[w], w, s[g]);
                }
                lr[hh][g] += HSUM_W(vsum);
                if (alpha != 1.0f) {
                    for (int c = 0; c < DVC; c++) {
                        acc[hh][g][c] *= (fv)(alpha);
                    }
                }
            }
            /* O += P V, two VW-wide chunks of the output and DEC_GB heads at a time, kept in registers
             * over the n keys */
            for (int c = 0; c < DVC; c += 2) {
                const int c1 = min(c + 1, DVC - 1);
#pragma unroll
                for (int g0 = 0; g0 < GROUP; g0 += DEC_GB) {
                    fv a0[DEC_GB], a1[DEC_GB];
#pragma unroll
                    for (int u = 0; u < DEC_GB; u++) {
                        a0[u] = acc[hh][min(g0 + u, GROUP - 1)][c];
                        a1[u] = acc[hh][min(g0 + u, GROUP - 1)][c1];
                    }
                    for (int t = 0; t < n; t++) {
                        const fv v0 = LOADN_ST(VW, v, vr[t] + vo + c * VW), v1 = LOADN_ST(VW, v, vr[t] + vo + c1 * VW);
#pragma unroll
                        for (int u = 0; u < DEC_GB; u++) {
                            const fv pg = (fv)(s[min(g0 + u, GROUP - 1)][t]);
                            a0[u] = fma(pg, v0, a0[u]);
                            a1[u] = fma(pg, v1, a1[u]);
                        }
                    }
#pragma unroll
                    for (int u = 0; u < DEC_GB; u++) {
                        if (g0 + u < GROUP) {
                            acc[hh][g0 + u][c1] = a1[u]; /* c1 == c when DVC is odd: a0 is stored last */
                            acc[hh][g0 + u][c] = a0[u];
                        }
                    }
                }
            }
        }
    }
    if (touch == 0x7fbadbadu && p.flags == -1) {
        o_part[0] = (float)touch; /* never taken (flags is never -1): keeps the touch loads alive */
    }

    const int rows = p.batch * p.heads_q;
    const bool has_sink = z == 0 && !dead && (p.flags & ATTN_F_SINKS) != 0;
    for (int hh = 0; hh < DEC_HKB; hh++) {
        for (int g = 0; g < GROUP; g++) {
            const int h = (hk0 + hh) * GROUP + g;
            const long row = (long)z * rows + b * p.heads_q + h;
            const float inv = dec_finish(p, sinks, h, has_sink, mr[hh][g], lr[hh][g],
                                         DEC_LSE(lse_part, num_splits, rows) + row);
            __global float *op = o_part + row * HEAD_DIM_V;
            for (int c = 0; c < DVC; c++) {
                VSTORE_W(inv == 0.0f ? (fv)(0.0f) : acc[hh][g][c] * (fv)(inv), c, op);
            }
        }
    }
}

#else /* DEC_WG > 0: a work-group per (split, batch, kv head) */
#define DEC_DVW ((HEAD_DIM_V + DEC_WG - 1) / DEC_WG)

__kernel __attribute__((reqd_work_group_size(DEC_WG, 1, 1)))
void ENTRY(attn_sdpa_decode)(const attn_sdpa_params p, __global const st_t *q, __global const st_t *k,
                             __global const st_t *v, __global st_t *o, __global float *lse,
                             __global const uchar *mask, __global const float *bias, __global const float *alibi,
                             __global const int *kv_len, __global const int *q_len, __global const float *sinks,
                             __global const int *block_table, __global float *o_part, __global float *lse_part,
                             const int num_splits) {
    __local float qs[GROUP][HEAD_DIM];
    __local float ks[DEC_BN][HEAD_DIM + 1];
    __local float ps[GROUP][DEC_BN];
    __local float ms[GROUP], ls[GROUP], fs[GROUP];
    __local long krow[DEC_BN], vrow[DEC_BN];
    const int lid = get_local_id(0);
    const int z = get_group_id(0);
    const int bk = get_global_id(1);
    const int b = bk / p.heads_kv, hk = bk - b * p.heads_kv;
    int j_begin, j_end;
    const bool dead = dec_split(p, kv_len, q_len, b, z, num_splits, &j_begin, &j_end);
#if PAGED
    const long kbase = p.k_off + hk * p.k_sh, vbase = p.v_off + hk * p.v_sh;
#else
    const long kbase = p.k_off + b * p.k_sb + hk * p.k_sh, vbase = p.v_off + b * p.v_sb + hk * p.v_sh;
#endif
    for (int e = lid; e < GROUP * HEAD_DIM; e += DEC_WG) {
        const int g = e / HEAD_DIM, d = e - g * HEAD_DIM;
        qs[g][d] = LOAD_ST(q, p.q_off + b * p.q_sb + (hk * GROUP + g) * p.q_sh + d * p.q_sd) * p.scale_log2;
    }
    if (lid < GROUP) {
        ms[lid] = -INFINITY;
        ls[lid] = 0.0f;
    }
    float acc[GROUP][DEC_DVW];
    for (int g = 0; g < GROUP; g++) {
        for (int c = 0; c < DEC_DVW; c++) {
            acc[g][c] = 0.0f;
        }
    }

    for (int j0 = j_begin; j0 < j_end; j0 += DEC_BN) {
        const int n = min(DEC_BN, j_end - j0);
        barrier(CLK_LOCAL_MEM_FENCE); /* the previous tile's readers are done */
        if (lid < n) {
            krow[lid] = kbase + dec_row(p, block_table, b, j0 + lid, p.k_ss, p.k_sb);
            vrow[lid] = vbase + dec_row(p, block_table, b, j0 + lid, p.v_ss, p.v_sb);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int e = lid; e < n * HEAD_DIM; e += DEC_WG) {
            const int t = e / HEAD_DIM, d = e - t * HEAD_DIM;
            ks[t][d] = LOAD_ST(k, krow[t] + d);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        /* scores (log2 units): the items split the (head, key) pairs */
        for (int e = lid; e < GROUP * DEC_BN; e += DEC_WG) {
            const int g = e / DEC_BN, t = e - g * DEC_BN;
            float sc = -INFINITY;
            if (t < n) {
                sc = 0.0f;
                for (int d = 0; d < HEAD_DIM; d++) {
                    sc = fma(qs[g][d], ks[t][d], sc);
                }
            }
            ps[g][t] = sc;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        /* one online-softmax step per head */
        if (lid < GROUP) {
            float tmax = -INFINITY;
            for (int t = 0; t < n; t++) {
                tmax = fmax(tmax, ps[lid][t]);
            }
            float mr = ms[lid], lr = ls[lid];
            const float alpha = osm_advance(&mr, &lr, tmax, true);
            const float ref = osm_ref(mr);
            float sum = 0.0f;
            for (int t = 0; t < n; t++) {
                const float e2 = exp2(ps[lid][t] - ref);
                ps[lid][t] = e2;
                sum += e2;
            }
            ms[lid] = mr;
            ls[lid] = lr + sum;
            fs[lid] = alpha;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        /* O += P V: the items split the columns; each V row is read once for the group */
        for (int c = 0; c < DEC_DVW; c++) {
            const int col = lid + c * DEC_WG;
            if (col < HEAD_DIM_V) {
                for (int g = 0; g < GROUP; g++) {
                    acc[g][c] *= fs[g];
                }
                for (int t = 0; t < n; t++) {
                    const float vx = LOAD_ST(v, vrow[t] + col);
                    for (int g = 0; g < GROUP; g++) {
                        acc[g][c] = fma(ps[g][t], vx, acc[g][c]);
                    }
                }
            }
        }
    }

    const int rows = p.batch * p.heads_q;
    barrier(CLK_LOCAL_MEM_FENCE); /* every item has read the last tile's factors */
    if (lid < GROUP) {
        const int h = hk * GROUP + lid;
        const long row = (long)z * rows + b * p.heads_q + h;
        fs[lid] = dec_finish(p, sinks, h, z == 0 && !dead && (p.flags & ATTN_F_SINKS) != 0, ms[lid], ls[lid],
                             DEC_LSE(lse_part, num_splits, rows) + row);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int c = 0; c < DEC_DVW; c++) {
        const int col = lid + c * DEC_WG;
        if (col < HEAD_DIM_V) {
            for (int g = 0; g < GROUP; g++) {
                const long row = (long)z * rows + b * p.heads_q + hk * GROUP + g;
                o_part[row * HEAD_DIM_V + col] = fs[g] == 0.0f ? 0.0f : acc[g][c] * fs[g];
            }
        }
    }
}
#endif /* DEC_WG */

__kernel void ENTRY(attn_sdpa_combine)(const attn_sdpa_params p, __global const float *o_part,
                                       __global const float *lse_part, __global st_t *o, __global float *lse,
                                       const int num_splits) {
    const long rows = (long)p.batch * p.heads_q * p.seq_q;
    const long row = get_global_id(0);
    if (row >= rows) {
        return;
    }
    lse_part = DEC_LSE(lse_part, num_splits, rows);
    const int i = (int)(row % p.seq_q);
    const int bh = (int)(row / p.seq_q);
    const int b = bh / p.heads_q, h = bh - b * p.heads_q;
    float mx = -INFINITY;
    bool nan = false;
    for (int z = 0; z < num_splits; z++) {
        const float x = lse_part[z * rows + row];
        nan |= isnan(x);
        mx = fmax(mx, x);
    }
    const bool empty = !nan && mx == -INFINITY;
    float w = 0.0f;
    if (!nan && !empty) {
        for (int z = 0; z < num_splits; z++) {
            w += exp2(lse_part[z * rows + row] - mx);
        }
    }
    const float inv = 1.0f / w;
    const long ob = p.o_off + b * p.o_sb + h * p.o_sh + i * p.o_ss;
    /* VW columns at a time, so that each split's weight is computed once per chunk, not per column */
    for (int x0 = 0; x0 < HEAD_DIM_V; x0 += VW) {
        fv y = (fv)(0.0f);
        if (nan) {
            y = (fv)(NAN);
        } else if (!empty) {
            for (int z = 0; z < num_splits; z++) {
                const float wz = exp2(lse_part[z * rows + row] - mx);
                if (wz > 0.0f) {
                    y += (fv)(wz) * VLOAD_W(0, o_part + (z * rows + row) * HEAD_DIM_V + x0);
                }
            }
            y *= (fv)(inv);
        }
        float yx[VW];
        VSTORE_W(y, 0, yx);
        for (int u = 0; u < VW; u++) {
            STORE_ST(o, ob + (x0 + u) * p.o_sd, yx[u]);
        }
    }
    if (p.flags & ATTN_F_LSE) {
        lse[p.lse_off + b * p.lse_sb + h * p.lse_sh + i * p.lse_ss] =
            nan ? NAN : empty ? -INFINITY : (mx + log2(w)) * ATTN_LN2;
    }
}
