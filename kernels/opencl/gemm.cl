/*
 * gemm.cl: the batched projection GEMM of additive attention,
 *   C[z, m, n] = sum_k A[z, m, k] * B[n, k]      (z = b * heads + h; B shared by every z)
 * with A and B in the storage dtype and C in fp32 (the additive kernel's workspace).
 *
 * Classic local-memory tiling: a GEMM_TILE x GEMM_TILE work-group computes one C tile, each
 * work-item one element, stepping through K one GEMM_TILE-wide slab of A and B at a time. The
 * +1 column of padding keeps the transposed reads of B conflict-free on GPUs.
 * Build option: GEMM_TILE.
 */

#ifndef GEMM_TILE
#error "gemm.cl needs GEMM_TILE"
#endif

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
