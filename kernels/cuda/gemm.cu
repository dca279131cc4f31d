/*
 * gemm.cu: the hand-written GEMMs that stand in for cuBLAS when libcublas.so.12 cannot load
 * (CUDA 13 hosts), fp32 accumulation on F32/F16/BF16 storage.
 *
 *   attn_gemm_nt_<dt>(attn_gemm_params p, a, b, c): the additive projections,
 *       C[z, m, n] = sum_k A[z, m, k] * B[n, k], B shared, C fp32 (kernels/attn_params.h).
 *   attn_bgemm_<ta>_<tb>_<tc>(attn_bgemm_params p, a, b, c, kv_len): the unfused SDPA path,
 *       C[z, m, n] = alpha * sum_k A[z, m, k] * B[z', k, n] with fully general strides, z = (b, h)
 *       and B's head h / group (GQA). With ATTN_BGEMM_K_KVLEN the contraction stops at kv_len[b]
 *       (P.V never reads V rows past a sequence's length); with ATTN_BGEMM_N_KVLEN columns
 *       n >= kv_len[b] are not computed (Q.K^T never reads K rows past the length; those score
 *       columns are masked by the softmax that follows and left unwritten).
 *       Instances: q.k^T   <dt, dt, f32>  and  p.v  <f32, dt, dt>.
 *   attn_gemm_<dt>(attn_gemm_op_params p, a, b, c): the public batched GEMM (GemmParams),
 *       C[z] = alpha * op(A[z]) . op(B[z]) + beta * C[z], the same tiles with z = blockIdx.y
 *       (one head per batch) and beta read from C only when it is nonzero.
 *
 * Tiling: a 256-thread CTA computes a TM x TN tile of one z, staging TK-deep slices of A and B in
 * shared memory (k-major, padded); each thread owns a 4 x 4 register block.
 * grid = (ceil(n / TN) * ceil(m / TM), batch * heads).
 */
#include "common.cuh"


namespace attn {

#define GEMM_TM 64
#define GEMM_TN 64
#define GEMM_TK 16
#define GEMM_THREADS 256
static_assert(GEMM_TM * GEMM_TN == GEMM_THREADS * 16, "each thread owns a 4 x 4 block");
static_assert((GEMM_TM * GEMM_TK) % GEMM_THREADS == 0 && (GEMM_TN * GEMM_TK) % GEMM_THREADS == 0, "tile loads");

template <typename SA, typename SB, typename SC>
ATTN_DEV void bgemm(const attn_bgemm_params& p, const typename SA::Elem* a, const typename SB::Elem* b,
                    typename SC::Elem* c, const int* kv_len, float beta = 0.0f) {
    __shared__ float As[GEMM_TK][GEMM_TM + 4];
    __shared__ float Bs[GEMM_TK][GEMM_TN + 4];
    const int tid = threadIdx.x;
    const int tiles_n = (p.n + GEMM_TN - 1) / GEMM_TN;
    const int m0 = (blockIdx.x / tiles_n) * GEMM_TM, n0 = (blockIdx.x % tiles_n) * GEMM_TN;
    const int z = blockIdx.y, bb = z / p.heads, hh = z % p.heads;
    int K = p.k, N = p.n;
    if (p.flags & ATTN_BGEMM_K_KVLEN) K = min(K, kv_len[bb]);
    if (p.flags & ATTN_BGEMM_N_KVLEN) N = min(N, kv_len[bb]);
    if (n0 >= N) return;
    const typename SA::Elem* ab = a + p.a_off + bb * p.a_sb + hh * p.a_sh;
    const typename SB::Elem* bbp = b + p.b_off + bb * p.b_sb + (hh / p.group) * p.b_sh;
    const int tr = (tid / 16) * 4, tc = (tid % 16) * 4;
    float acc[4][4];
#pragma unroll
    for (int x = 0; x < 4; x++)
#pragma unroll
        for (int y = 0; y < 4; y++) acc[x][y] = 0.0f;
    for (int k0 = 0; k0 < K; k0 += GEMM_TK) {
#pragma unroll
        for (int e0 = 0; e0 < GEMM_TM * GEMM_TK; e0 += GEMM_THREADS) {
            const int e = e0 + tid, mm = e / GEMM_TK, kk = e % GEMM_TK; /* k fastest: rows of A */
            const int gm = m0 + mm, gk = k0 + kk;
            As[kk][mm] = (gm < p.m && gk < K) ? ld<SA>(ab, (long long)gm * p.a_sm + (long long)gk * p.a_sk) : 0.0f;
        }
#pragma unroll
        for (int e0 = 0; e0 < GEMM_TN * GEMM_TK; e0 += GEMM_THREADS) {
            const int e = e0 + tid;
            int kk, nn;
            if (p.b_sn == 1) { nn = e % GEMM_TN; kk = e / GEMM_TN; } /* coalesce along the unit stride */
            else { kk = e % GEMM_TK; nn = e / GEMM_TK; }
            const int gn = n0 + nn, gk = k0 + kk;
            Bs[kk][nn] = (gn < N && gk < K) ? ld<SB>(bbp, (long long)gk * p.b_sk + (long long)gn * p.b_sn) : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < GEMM_TK; kk++) {
            float av[4], bv[4];
#pragma unroll
            for (int x = 0; x < 4; x++) av[x] = As[kk][tr + x];
#pragma unroll
            for (int y = 0; y < 4; y++) bv[y] = Bs[kk][tc + y];
#pragma unroll
            for (int x = 0; x < 4; x++)
#pragma unroll
                for (int y = 0; y < 4; y++) acc[x][y] = fmaf(av[x], bv[y], acc[x][y]);
        }
        __syncthreads();
    }
    typename SC::Elem* cb = c + p.c_off + bb * p.c_sb + hh * p.c_sh;
#pragma unroll
    for (int x = 0; x < 4; x++) {
        const int gm = m0 + tr + x;
        if (gm >= p.m) continue;
#pragma unroll
        for (int y = 0; y < 4; y++) {
            const int gn = n0 + tc + y;
            if (gn >= N) continue;
            const long long ci = (long long)gm * p.c_sm + (long long)gn * p.c_sn;
            float out = p.alpha * acc[x][y];
            if (beta != 0.0f) out = fmaf(beta, ld<SC>(cb, ci), out);
            st<SC>(cb, ci, out);
        }
    }
}

/* attn_gemm_params (the projection GEMM of attn_params.h) in the general form. */
ATTN_DEV attn_bgemm_params from_gemm(const attn_gemm_params& g) {
    attn_bgemm_params p;
    p.a_off = g.a_off; p.a_sb = g.a_sb; p.a_sh = g.a_sh; p.a_sm = g.a_sm; p.a_sk = g.a_sk;
    p.b_off = g.b_off; p.b_sb = 0; p.b_sh = 0; p.b_sk = g.b_sk; p.b_sn = g.b_sn;
    p.c_off = g.c_off; p.c_sb = g.c_sb; p.c_sh = g.c_sh; p.c_sm = g.c_sm; p.c_sn = g.c_sn;
    p.m = g.m; p.n = g.n; p.k = g.k;
    p.batch = g.batch; p.heads = g.heads; p.group = 1;
    p.alpha = 1.0f;
    p.flags = 0;
    return p;
}

/* attn_gemm_op_params (the public GEMM) in the general form: z is the batch, one head, no kv cut. */
ATTN_DEV attn_bgemm_params from_gemm_op(const attn_gemm_op_params& g) {
    attn_bgemm_params p;
    p.a_off = g.a_off; p.a_sb = g.a_sz; p.a_sh = 0; p.a_sm = g.a_sm; p.a_sk = g.a_sk;
    p.b_off = g.b_off; p.b_sb = g.b_sz; p.b_sh = 0; p.b_sk = g.b_sk; p.b_sn = g.b_sn;
    p.c_off = g.c_off; p.c_sb = g.c_sz; p.c_sh = 0; p.c_sm = g.c_sm; p.c_sn = g.c_sn;
    p.m = g.m; p.n = g.n; p.k = g.k;
    p.batch = g.batch; p.heads = 1; p.group = 1;
    p.alpha = g.alpha;
    p.flags = 0;
    return p;
}

} // namespace attn

#define ATTN_GEMM_NT(dt, S)                                                                              \
    extern "C" __global__ void __launch_bounds__(GEMM_THREADS) attn_gemm_nt_##dt(                         \
        attn_gemm_params p, const attn::S::Elem* __restrict__ a, const attn::S::Elem* __restrict__ bm,      \
        float* __restrict__ c) {                                                                         \
        attn::bgemm<attn::S, attn::S, attn::F32>(attn::from_gemm(p), a, bm, c, (const int*)0);           \
    }
#define ATTN_BGEMM(ta, tb, tc, SA, SB, SC)                                                                   \
    extern "C" __global__ void __launch_bounds__(GEMM_THREADS) attn_bgemm_##ta##_##tb##_##tc(                \
        attn_bgemm_params p, const attn::SA::Elem* __restrict__ a, const attn::SB::Elem* __restrict__ bm,     \
        attn::SC::Elem* __restrict__ c, const int* __restrict__ kv_len) {                                    \
        attn::bgemm<attn::SA, attn::SB, attn::SC>(p, a, bm, c, kv_len);                                      \
    }

#define ATTN_GEMM_OP(dt, S)                                                                              \
    extern "C" __global__ void __launch_bounds__(GEMM_THREADS) attn_gemm_##dt(                            \
        attn_gemm_op_params p, const attn::S::Elem* __restrict__ a, const attn::S::Elem* __restrict__ bm,   \
        attn::S::Elem* c) {                                                                              \
        attn::bgemm<attn::S, attn::S, attn::S>(attn::from_gemm_op(p), a, bm, c, (const int*)0, p.beta);  \
    }

ATTN_GEMM_NT(f32, F32)
ATTN_GEMM_NT(f16, F16)
ATTN_GEMM_NT(bf16, BF16)
ATTN_BGEMM(f32, f32, f32, F32, F32, F32)
ATTN_BGEMM(f16, f16, f32, F16, F16, F32)
ATTN_BGEMM(bf16, bf16, f32, BF16, BF16, F32)
ATTN_BGEMM(f32, f16, f16, F32, F16, F16)
ATTN_BGEMM(f32, bf16, bf16, F32, BF16, BF16)
ATTN_GEMM_OP(f32, F32)
ATTN_GEMM_OP(f16, F16)
ATTN_GEMM_OP(bf16, BF16)
