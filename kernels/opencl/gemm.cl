/*
 * gemm.cl: two GEMM kernels. A program is built for one of them: GEMM_TILE selects attn_gemm_nt,
 * GEMM_TM (with GEMM_TN, GEMM_TK, GEMM_RM, GEMM_VW) selects attn_gemm.
 *
 * GEMM_MC (with GEMM_MR, GEMM_KC, GEMM_VW) selects the CPU form of attn_gemm (same entry, same arguments).
 *
 * attn_gemm_nt: the batched projection GEMM of additive attention,
 *   C[z, m, n] = sum_k A[z, m, k] * B[n, k]      (z = b * heads + h; B shared by every z)
 * with A and B in the storage dtype and C in fp32 (the additive kernel's workspace).
 *
 * Classic local-memory tiling: a GEMM_TILE x GEMM_TILE work-group computes one C tile, each
 * work-item one element, stepping through K one GEMM_TILE-wide slab of A and B at a time. The
 * +1 column of padding keeps the transposed reads of B conflict-free on GPUs.
 * Build option: GEMM_TILE.
 */

#if !defined(GEMM_TILE) && !defined(GEMM_TM) && !defined(GEMM_MC)
#error "gemm.cl needs GEMM_TILE (attn_gemm_nt), GEMM_TM (attn_gemm for GPUs) or GEMM_MC (attn_gemm for CPUs)"
#endif

#ifdef GEMM_TILE

__kernel __attribute__((reqd_work_group_size(GEMM_TILE, GEMM_TILE, 1)))
void ENTRY(attn_gemm_nt)(const attn_gemm_params p, __global const st_t *a, __global const st_t *bm,
                         __global float *c) {
    __local float as[GEMM_TILE][GEMM_TILE + 1];
    __local float bs[GEMM_TILE][GEMM_TILE + 1];
    const int tn = get_local_id(0), tm = get_local_id(1);
    const int n = get_group_id(0) * GEMM_TILE + tn;
    const int mrow = get_group_id(1) * GEMM_TILE + tm;
    const int z = get_group_id(2);
    const int bz = z / p.heads, hz = z - bz * p.heads;
    const long abase = p.a_off + bz * p.a_sb + hz * p.a_sh;
    const long cbase = p.c_off + bz * p.c_sb + hz * p.c_sh;
    /* the B row this work-item loads: the tile's column block, indexed by tm */
    const int nload = get_group_id(0) * GEMM_TILE + tm;

    float acc = 0.0f;
    for (int k0 = 0; k0 < p.k; k0 += GEMM_TILE) {
        const int ka = k0 + tn;
        /* clamped indices: the addresses stay in the buffers whatever the compiler hoists */
        const int kc = min(ka, p.k - 1); /* p.k >= 1 inside this loop */
        const float ax = LOAD_ST(a, abase + max(min(mrow, p.m - 1), 0) * p.a_sm + kc * p.a_sk);
        const float bx = LOAD_ST(bm, p.b_off + max(min(nload, p.n - 1), 0) * p.b_sn + kc * p.b_sk);
        as[tm][tn] = (mrow < p.m && ka < p.k) ? ax : 0.0f;
        bs[tm][tn] = (nload < p.n && ka < p.k) ? bx : 0.0f;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < GEMM_TILE; kk++) {
            acc = fma(as[tm][kk], bs[tn][kk], acc);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (mrow < p.m && n < p.n) {
        c[cbase + mrow * p.c_sm + n * p.c_sn] = acc;
    }
}
#endif /* GEMM_TILE */

#ifdef GEMM_TM
/*
 * attn_gemm: the public batched GEMM, C[z] = alpha * op(A[z]) . op(B[z]) + beta * C[z]
 * (attn_gemm_op_params), fp32 accumulation, any strides.
 *
 * Register tiling: a work-group computes a GEMM_TM x GEMM_TN tile of C for one z. Each of its
 * (GEMM_TN / GEMM_VW) x (GEMM_TM / GEMM_RM) work-items owns GEMM_RM rows by GEMM_VW adjacent
 * columns, kept in GEMM_RM vector accumulators (one 16-wide register each on AVX-512 CPUs). K is
 * consumed GEMM_TK at a time: the work-group stages the A slab as as[k][m] and the B slab as
 * bs[k][n] in local memory, converted to fp32 and zero-filled past the edges, so the inner loop is
 * one vector load of B, and per row one broadcast of A and one fma, with no bounds tests.
 * Build options: GEMM_TM, GEMM_TN, GEMM_TK, GEMM_RM, GEMM_VW (vector width 4, 8 or 16).
 */
#if GEMM_TN % GEMM_VW != 0 || GEMM_TM % GEMM_RM != 0
#error "GEMM_TN must be a multiple of GEMM_VW and GEMM_TM of GEMM_RM"
#endif
#define GEMM_WX (GEMM_TN / GEMM_VW)
#define GEMM_WY (GEMM_TM / GEMM_RM)
#define GEMM_WG (GEMM_WX * GEMM_WY)
typedef ATTN_PASTE(float, GEMM_VW) gemm_vec;
#define GEMM_VLOAD ATTN_PASTE(vload, GEMM_VW)
#define GEMM_VSTORE ATTN_PASTE(vstore, GEMM_VW)

__kernel __attribute__((reqd_work_group_size(GEMM_WX, GEMM_WY, 1)))
void ENTRY(attn_gemm)(const attn_gemm_op_params p, __global const st_t *a, __global const st_t *bm,
                      __global st_t *c) {
    __local float as[GEMM_TK * GEMM_TM];
    __local float bs[GEMM_TK * GEMM_TN];
    const int tx = get_local_id(0), ty = get_local_id(1), tid = ty * GEMM_WX + tx;
    const int n0 = get_group_id(0) * GEMM_TN, m0 = get_group_id(1) * GEMM_TM;
    const long z = get_group_id(2);
    const long abase = p.a_off + z * p.a_sz, bbase = p.b_off + z * p.b_sz;
    /* the unit-stride side of each operand is the fast index of the staging loops (coalesced reads) */
    const bool a_kfast = p.a_sk == 1, b_nfast = p.b_sn == 1;
    gemm_vec acc[GEMM_RM];
    for (int r = 0; r < GEMM_RM; r++) {
        acc[r] = (gemm_vec)(0.0f);
    }
    for (int k0 = 0; k0 < p.k; k0 += GEMM_TK) {
        for (int e = tid; e < GEMM_TK * GEMM_TM; e += GEMM_WG) {
            const int kk = a_kfast ? e % GEMM_TK : e / GEMM_TM;
            const int mm = a_kfast ? e / GEMM_TK : e % GEMM_TM;
            const int gm = m0 + mm, gk = k0 + kk;
            /* clamped indices: the address stays in the buffer whatever the compiler hoists */
            const float x = LOAD_ST(a, abase + min(gm, p.m - 1) * p.a_sm + min(gk, p.k - 1) * p.a_sk);
            as[kk * GEMM_TM + mm] = (gm < p.m && gk < p.k) ? x : 0.0f;
        }
        for (int e = tid; e < GEMM_TK * GEMM_TN; e += GEMM_WG) {
            const int nn = b_nfast ? e % GEMM_TN : e / GEMM_TK;
            const int kk = b_nfast ? e / GEMM_TN : e % GEMM_TK;
            const int gn = n0 + nn, gk = k0 + kk;
            const float x = LOAD_ST(bm, bbase + min(gk, p.k - 1) * p.b_sk + min(gn, p.n - 1) * p.b_sn);
            bs[kk * GEMM_TN + nn] = (gn < p.n && gk < p.k) ? x : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < GEMM_TK; kk++) {
            const gemm_vec bv = GEMM_VLOAD(0, bs + kk * GEMM_TN + tx * GEMM_VW);
            for (int r = 0; r < GEMM_RM; r++) {
                acc[r] = fma((gemm_vec)(as[kk * GEMM_TM + ty * GEMM_RM + r]), bv, acc[r]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const long cbase = p.c_off + z * p.c_sz;
    for (int r = 0; r < GEMM_RM; r++) {
        const int gm = m0 + ty * GEMM_RM + r;
        if (gm >= p.m) {
            break;
        }
        float row[GEMM_VW];
        GEMM_VSTORE(acc[r], 0, row);
        for (int v = 0; v < GEMM_VW; v++) {
            const int gn = n0 + tx * GEMM_VW + v;
            if (gn < p.n) {
                const long ci = cbase + gm * p.c_sm + gn * p.c_sn;
                float y = p.alpha * row[v];
                if (p.beta != 0.0f) {
                    y = fma(p.beta, LOAD_ST(c, ci), y);
                }
                STORE_ST(c, ci, y);
            }
        }
    }
}
#endif /* GEMM_TM */

#ifdef GEMM_MC
/*
 * attn_gemm for CPU devices (PoCL): the same op, arguments and semantics as the GPU form above,
 * shaped for a CPU core instead of a SIMT machine.
 *
 * A work-group is ONE work-item (no barrier, so PoCL emits straight-line code) that computes a
 * GEMM_MC x GEMM_NR block of C (GEMM_NR = two vectors of GEMM_VW columns). K is consumed GEMM_KC at
 * a time: the work-item packs the B panel B[k0 .. k0 + GEMM_KC, n0 .. n0 + GEMM_NR] into local
 * memory as fp32 rows of GEMM_NR (contiguous, so the panel stays in L1 whatever B's strides: a
 * row-major B with N = 1024 would otherwise put every row of the panel in the same L1 set), then
 * sweeps the block's rows GEMM_MR at a time with the register micro-kernel: per k, two vector
 * loads of the panel, GEMM_MR broadcasts of A and 2 x GEMM_MR fmas into 2 x GEMM_MR vector
 * accumulators (6 x 16 on AVX2: 12 of the 16 ymm registers). The partial block lives in the
 * work-item's private array between K slabs; alpha, beta and the stores come last. Rows of A past
 * M are read clamped (never stored), columns past N are zero in the panel.
 * Build options: GEMM_MC (a multiple of GEMM_MR), GEMM_MR, GEMM_KC, GEMM_VW (4, 8 or 16).
 */
#if GEMM_MC % GEMM_MR != 0
#error "GEMM_MC must be a multiple of GEMM_MR"
#endif
#define GEMM_NR (2 * GEMM_VW)
#define GEMM_MT (GEMM_MC / GEMM_MR)
typedef ATTN_PASTE(float, GEMM_VW) gemm_vec;
#define GEMM_VLOAD ATTN_PASTE(vload, GEMM_VW)
#define GEMM_VSTORE ATTN_PASTE(vstore, GEMM_VW)

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void ENTRY(attn_gemm)(const attn_gemm_op_params p, __global const st_t *a, __global const st_t *bm,
                      __global st_t *c) {
    __local float bp[GEMM_KC * GEMM_NR];
    const int n0 = get_group_id(0) * GEMM_NR, m0 = get_group_id(1) * GEMM_MC;
    const long z = get_group_id(2);
    const long abase = p.a_off + z * p.a_sz, bbase = p.b_off + z * p.b_sz;
    gemm_vec cb[GEMM_MT * GEMM_MR * 2];
    for (int i = 0; i < GEMM_MT * GEMM_MR * 2; i++) {
        cb[i] = (gemm_vec)(0.0f);
    }
    const int mt = min(GEMM_MT, (p.m - m0 + GEMM_MR - 1) / GEMM_MR);
    for (int k0 = 0; k0 < p.k; k0 += GEMM_KC) {
        const int kc = min(GEMM_KC, p.k - k0);
        if (p.b_sn == 1 && n0 + GEMM_NR <= p.n) {
            for (int kk = 0; kk < kc; kk++) {
                const long bi = bbase + (long)(k0 + kk) * p.b_sk + n0;
#if defined(DT_F32)
                GEMM_VSTORE(GEMM_VLOAD(0, bm + bi), 0, bp + kk * GEMM_NR);
                GEMM_VSTORE(GEMM_VLOAD(1, bm + bi), 1, bp + kk * GEMM_NR);
#else
                for (int j = 0; j < GEMM_NR; j++) {
                    bp[kk * GEMM_NR + j] = LOAD_ST(bm, bi + j);
                }
#endif
            }
        } else {
            for (int kk = 0; kk < kc; kk++) {
                for (int j = 0; j < GEMM_NR; j++) {
                    const int gn = min(n0 + j, p.n - 1);
                    const float x = LOAD_ST(bm, bbase + (long)(k0 + kk) * p.b_sk + (long)gn * p.b_sn);
                    bp[kk * GEMM_NR + j] = (n0 + j < p.n) ? x : 0.0f;
                }
            }
        }
        for (int t = 0; t < mt; t++) {
            gemm_vec acc0[GEMM_MR], acc1[GEMM_MR];
            __global const st_t *arow[GEMM_MR];
#pragma unroll
            for (int r = 0; r < GEMM_MR; r++) {
                acc0[r] = cb[(t * GEMM_MR + r) * 2];
                acc1[r] = cb[(t * GEMM_MR + r) * 2 + 1];
                arow[r] = a + abase + (long)min(m0 + t * GEMM_MR + r, p.m - 1) * p.a_sm + (long)k0 * p.a_sk;
            }
            for (int kk = 0; kk < kc; kk++) {
                const gemm_vec b0 = GEMM_VLOAD(0, bp + kk * GEMM_NR), b1 = GEMM_VLOAD(1, bp + kk * GEMM_NR);
#pragma unroll
                for (int r = 0; r < GEMM_MR; r++) {
                    const gemm_vec av = (gemm_vec)(LOAD_ST(arow[r], 0));
                    acc0[r] = fma(av, b0, acc0[r]);
                    acc1[r] = fma(av, b1, acc1[r]);
                    arow[r] += p.a_sk;
                }
            }
#pragma unroll
            for (int r = 0; r < GEMM_MR; r++) {
                cb[(t * GEMM_MR + r) * 2] = acc0[r];
                cb[(t * GEMM_MR + r) * 2 + 1] = acc1[r];
            }
        }
    }
    const long cbase = p.c_off + z * p.c_sz;
    for (int i = 0; i < mt * GEMM_MR; i++) {
        const int gm = m0 + i;
        if (gm >= p.m) {
            break;
        }
        const long ci0 = cbase + gm * p.c_sm + n0 * p.c_sn;
#if defined(DT_F32)
        if (p.c_sn == 1 && n0 + GEMM_NR <= p.n) {
            gemm_vec y0 = p.alpha * cb[i * 2], y1 = p.alpha * cb[i * 2 + 1];
            if (p.beta != 0.0f) {
                y0 = fma((gemm_vec)(p.beta), GEMM_VLOAD(0, c + ci0), y0);
                y1 = fma((gemm_vec)(p.beta), GEMM_VLOAD(1, c + ci0), y1);
            }
            GEMM_VSTORE(y0, 0, c + ci0);
            GEMM_VSTORE(y1, 1, c + ci0);
            continue;
        }
#endif
        float row[GEMM_NR];
        GEMM_VSTORE(cb[i * 2], 0, row);
        GEMM_VSTORE(cb[i * 2 + 1], 1, row);
        for (int v = 0; v < GEMM_NR && n0 + v < p.n; v++) {
            const long ci = ci0 + v * p.c_sn;
            float y = p.alpha * row[v];
            if (p.beta != 0.0f) {
                y = fma(p.beta, LOAD_ST(c, ci), y);
            }
            STORE_ST(c, ci, y);
        }
    }
}
#endif /* GEMM_MC */
