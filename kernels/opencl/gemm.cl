/*
 * gemm.cl: two GEMM kernels. A program is built for one of them: GEMM_TILE selects attn_gemm_nt,
 * GEMM_TM (with GEMM_TN, GEMM_TK, GEMM_RM, GEMM_VW) selects attn_gemm.
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

#if !defined(GEMM_TILE) && !defined(GEMM_TM)
#error "gemm.cl needs GEMM_TILE (attn_gemm_nt) or GEMM_TM (attn_gemm)"
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
