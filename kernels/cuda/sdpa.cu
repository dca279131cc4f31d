/*
 * sdpa.cu: fused scaled dot-product attention forward, fp32 math on F32/F16/BF16 storage.
 *
 * FlashAttention-2 partitioning on SIMT cores:
 *   - grid.x = batch * heads_q, grid.y = query tiles of BM rows: one CTA owns one Q tile;
 *   - the Q tile is staged once in shared memory (fp32); the CTA loops over K/V tiles of BN keys,
 *     staged in shared memory (fp32), but only over the keys [lo, hi) that the window and the kv
 *     length allow for some row of the tile: fully masked tiles are skipped and never loaded;
 *   - THREADS / BM = TPR consecutive lanes own one query row: each computes BN / TPR scores of the
 *     tile and DMAX / TPR output columns; the row's online-softmax state (m, l) is kept in
 *     registers (identical in the TPR lanes) and reduced with shuffles over the TPR lanes;
 *   - O and LSE are written once, at the end.
 * Semantics (kernels/attn_params.h, HELPERS): scale, softcap, bias, ALiBi, window, kv/q lengths,
 * bool mask, GQA (kv head = h / group), TOP_LEFT/BOTTOM_RIGHT alignment. Masked pairs are SELECTED
 * away (their probability slot holds -1 and the P.V loop skips it), so a NaN in a masked K/V row
 * never reaches the output; a NaN in anything a live pair reads makes the row NaN; a fully masked
 * or dead row writes O = 0, LSE = -inf.
 * Sinks (ATTN_F_SINKS): sinks[h] joins each live row's denominator at the end (LSE = sinks[h] for a
 * row with no live key). Paged K/V (ATTN_F_PAGED): rows are found through the block table
 * (sdpa_kv_row; each entry clamped to the cache), and with ATTN_F_ALIGN_KV each sequence is aligned
 * to its own length (align_off + kv_len[b]). Both are runtime flags, outside the score loop.
 *
 * Entry points: attn_sdpa_fwd_<dt> (any D, Dv <= 256) and the specialisations
 * attn_sdpa_fwd_<dt>_d<DMAX> for max(D, Dv) <= DMAX, DMAX in {32, 64, 128}. Same signature:
 *   (attn_sdpa_params p, q, k, v, o, lse, mask, bias, alibi, kv_len, q_len, sinks, block_table)
 * Dynamic shared memory: sdpa_smem_bytes(DMAX) below; io.github.attn4j.cuda.CudaPlans.SdpaTile computes the
 * same value from the same table (CudaKernelTablesTest parses this file to check).
 */
#include "common.cuh"
#include "mask.cuh"
#include "softmax.cuh"

namespace attn {

/* The tile table: DMAX, BM (query rows per CTA), BN (keys per K/V tile), THREADS. */
#define ATTN_SDPA_TILES(X) \
    X(32, 32, 32, 128)     \
    X(64, 32, 32, 128)     \
    X(128, 32, 32, 128)    \
    X(256, 16, 16, 128)

template <int DMAX> struct SdpaTile;
#define ATTN_SDPA_TILE_DEF(D_, BM_, BN_, T_)                                                   \
    template <> struct SdpaTile<D_> {                                                          \
        static constexpr int BM = BM_, BN = BN_, THREADS = T_;                                 \
        static_assert(T_ % BM_ == 0, "THREADS must be a multiple of BM");                      \
        static_assert(32 % (T_ / BM_) == 0, "a row's lanes must lie in one warp");            \
        static_assert(BN_ % (T_ / BM_) == 0, "BN must be a multiple of the lanes per row");    \
        static_assert(D_ % (T_ / BM_) == 0, "DMAX must be a multiple of the lanes per row");   \
    };
ATTN_SDPA_TILES(ATTN_SDPA_TILE_DEF)

/* The element offset of key row j of batch b from the K or V base: dense, j * ss (the base holds
 * b * sb); paged, page * sb + (j % page_size) * ss with the page from the block table, clamped. */
ATTN_DEV long long sdpa_kv_row(const attn_sdpa_params& p, const int* bt, int b, int j, long long sb, long long ss) {
    if (!(p.flags & ATTN_F_PAGED)) return (long long)j * ss;
    const int e = j / p.page_size;
    const int pg = min(max(bt[p.bt_off + b * p.bt_sb + e * p.bt_sp], 0), p.num_pages - 1);
    return (long long)pg * sb + (long long)(j - e * p.page_size) * ss;
}

/* Shared memory, in floats: Q [BM][DMAX+1], K [BN][DMAX+1], V [BN][DMAX], P [BM][BN+1]. The +1
 * pads keep the score loop free of bank conflicts (rows of a warp read different banks). */
template <int DMAX> struct SdpaSmem {
    typedef SdpaTile<DMAX> T;
    static constexpr int QS = DMAX + 1, KS = DMAX + 1, VS = DMAX, PS = T::BN + 1;
    static constexpr int Q0 = 0, K0 = Q0 + T::BM * QS, V0 = K0 + T::BN * KS, P0 = V0 + T::BN * VS;
    static constexpr int FLOATS = P0 + T::BM * PS;
    static_assert(FLOATS * 4 <= 64 * 1024, "the SDPA tile must fit the 64 KiB that sm_75 allows a block");
};

template <typename S, int DMAX>
ATTN_DEV void sdpa_fwd(const attn_sdpa_params& p, const typename S::Elem* __restrict__ q,
                       const typename S::Elem* __restrict__ k, const typename S::Elem* __restrict__ v,
                       typename S::Elem* __restrict__ o, float* __restrict__ lse, const unsigned char* mask,
                       const float* bias, const float* alibi, const int* kv_len, const int* q_len,
                       const float* sinks, const int* block_table) {
    typedef SdpaTile<DMAX> T;
    typedef SdpaSmem<DMAX> L;
    constexpr int BM = T::BM, BN = T::BN, THREADS = T::THREADS;
    constexpr int TPR = THREADS / BM, KPT = BN / TPR, CPT = DMAX / TPR;
    ATTN_DYNAMIC_SMEM(smem);
    float* Qs = smem + L::Q0;
    float* Ks = smem + L::K0;
    float* Vs = smem + L::V0;
    float* Ps = smem + L::P0;

    const int tid = threadIdx.x, row = tid / TPR, t = tid % TPR;
    const int bh = blockIdx.x, b = bh / p.heads_q, h = bh % p.heads_q, hk = h / p.group;
    const int i0 = blockIdx.y * BM, i = i0 + row;
    const int D = p.head_dim, Dv = p.head_dim_v;

    RowMask mk;
    mk.init(p.m, b, h, p.seq_q, p.seq_k, mask, bias, alibi, kv_len, q_len);
    if (p.flags & ATTN_F_ALIGN_KV) mk.align_off += mk.kv_len; /* paged BOTTOM_RIGHT: off = kv_len[b] - Sq */
    const bool paged = (p.flags & ATTN_F_PAGED) != 0;
    const typename S::Elem* qb = q + p.q_off + b * p.q_sb + h * p.q_sh;
    const typename S::Elem* kb = k + p.k_off + (paged ? 0 : b * p.k_sb) + hk * p.k_sh;
    const typename S::Elem* vb = v + p.v_off + (paged ? 0 : b * p.v_sb) + hk * p.v_sh;
    const bool live_row = i < mk.q_len;   /* q_len <= seq_q */

    int lo = 0, hi = 0;
    const int i_end = min(i0 + BM, mk.q_len);
    if (i_end > i0) mk.key_range(i0, i_end, lo, hi);

    if (lo < hi) {
        for (int e = tid; e < BM * D; e += THREADS) {
            const int r = e / D, d = e - r * D;
            Qs[r * L::QS + d] = (i0 + r < mk.q_len) ? ld<S>(qb, (long long)(i0 + r) * p.q_ss + d * p.q_sd) : 0.0f;
        }
    }

    OnlineSoftmax sm;
    sm.reset();
    float acc[CPT];
#pragma unroll
    for (int c = 0; c < CPT; c++) acc[c] = 0.0f;

    const bool softcap = (p.flags & ATTN_F_SOFTCAP) != 0;
    for (int j0 = lo; j0 < hi; j0 += BN) {
        const int nk = min(BN, hi - j0);
        __syncthreads(); /* the previous tile's readers are done (and Qs is written) */
        for (int e = tid; e < BN * D; e += THREADS) {
            const int r = e / D, d = e - r * D;
            Ks[r * L::KS + d] = r < nk ? ld<S>(kb, sdpa_kv_row(p, block_table, b, j0 + r, p.k_sb, p.k_ss) + d * p.k_sd) : 0.0f;
        }
        for (int e = tid; e < BN * Dv; e += THREADS) {
            const int r = e / Dv, d = e - r * Dv;
            Vs[r * L::VS + d] = r < nk ? ld<S>(vb, sdpa_kv_row(p, block_table, b, j0 + r, p.v_sb, p.v_ss) + d * p.v_sd) : 0.0f;
        }
        __syncthreads();

        float s[KPT];
#pragma unroll
        for (int u = 0; u < KPT; u++) s[u] = 0.0f;
        for (int d = 0; d < D; d++) {
            const float qd = Qs[row * L::QS + d];
#pragma unroll
            for (int u = 0; u < KPT; u++) s[u] = fmaf(qd, Ks[(t + u * TPR) * L::KS + d], s[u]);
        }
        float tmax = ATTN_NINF;
#pragma unroll
        for (int u = 0; u < KPT; u++) {
            const int jj = t + u * TPR, j = j0 + jj;
            if (!live_row || jj >= nk || !mk.allowed(i, j)) {
                s[u] = ATTN_NINF;
            } else {
                float x = s[u] * p.scale;
                if (softcap) x = p.softcap * tanhf(x / p.softcap);
                s[u] = x + mk.add(i, j);
            }
            tmax = nan_max(tmax, s[u]);
        }
        tmax = group_max<TPR>(tmax);
        const float alpha = sm.rescale(tmax);
        float psum = 0.0f;
#pragma unroll
        for (int u = 0; u < KPT; u++) {
            const float pr = sm.prob(s[u]);
            psum += pr;
            Ps[row * L::PS + t + u * TPR] = s[u] == ATTN_NINF ? -1.0f : pr; /* -1 marks "select away" */
        }
        sm.l += group_sum<TPR>(psum);
        __syncwarp(); /* the row's P slots come from the row's own lanes, all in this warp */
#pragma unroll
        for (int c = 0; c < CPT; c++) acc[c] *= alpha;
        for (int jj = 0; jj < nk; jj++) {
            const float pr = Ps[row * L::PS + jj];
            if (!(pr < 0.0f)) { /* NaN passes: it must propagate */
#pragma unroll
                for (int c = 0; c < CPT; c++) acc[c] = fmaf(pr, Vs[jj * L::VS + t + c * TPR], acc[c]);
            }
        }
    }

    if (i < p.seq_q) {
        float inv = sm.inv_sum();
        if ((p.flags & ATTN_F_SINKS) && live_row) {
            /* the sink joins the sum as a state (sinks[h], 1) without a value row */
            float a_mine, a_sink;
            sm.merge(sinks[p.sinks_off + h], 1.0f, a_mine, a_sink);
            inv = a_mine * sm.inv_sum();
        }
        typename S::Elem* ob = o + p.o_off + b * p.o_sb + h * p.o_sh + (long long)i * p.o_ss;
#pragma unroll
        for (int c = 0; c < CPT; c++) {
            const int col = t + c * TPR;
            if (col < Dv) st<S>(ob, (long long)col * p.o_sd, acc[c] * inv);
        }
        if ((p.flags & ATTN_F_LSE) && t == 0) {
            lse[p.lse_off + b * p.lse_sb + h * p.lse_sh + (long long)i * p.lse_ss] = sm.lse();
        }
    }
}

} // namespace attn

#define ATTN_SDPA_ARGS(E)                                                                               \
    attn_sdpa_params p, const E* __restrict__ q, const E* __restrict__ k, const E* __restrict__ v,      \
        E* __restrict__ o, float* __restrict__ lse, const unsigned char* __restrict__ mask,             \
        const float* __restrict__ bias, const float* __restrict__ alibi, const int* __restrict__ kv_len, \
        const int* __restrict__ q_len, const float* __restrict__ sinks, const int* __restrict__ block_table
#define ATTN_SDPA_CALL(S, DMAX) \
    attn::sdpa_fwd<attn::S, DMAX>(p, q, k, v, o, lse, mask, bias, alibi, kv_len, q_len, sinks, block_table)

/* __launch_bounds__ minimum blocks per SM: caps registers at 65536 / (4 * 128) = 128, where ptxas'
 * own choice (80) spilled in the D <= 128 kernels. */
#define ATTN_SDPA_MIN_BLOCKS 4

#define ATTN_SDPA_ENTRY(name, S, E, DMAX)                                                              \
    extern "C" __global__ void __launch_bounds__(attn::SdpaTile<DMAX>::THREADS, ATTN_SDPA_MIN_BLOCKS) \
        name(ATTN_SDPA_ARGS(E)) {                                                                      \
        ATTN_SDPA_CALL(S, DMAX);                                                                       \
    }

ATTN_SDPA_ENTRY(attn_sdpa_fwd_f32, F32, float, 256)
ATTN_SDPA_ENTRY(attn_sdpa_fwd_f32_d32, F32, float, 32)
ATTN_SDPA_ENTRY(attn_sdpa_fwd_f32_d64, F32, float, 64)
ATTN_SDPA_ENTRY(attn_sdpa_fwd_f32_d128, F32, float, 128)
ATTN_SDPA_ENTRY(attn_sdpa_fwd_f16, F16, unsigned short, 256)
ATTN_SDPA_ENTRY(attn_sdpa_fwd_f16_d32, F16, unsigned short, 32)
ATTN_SDPA_ENTRY(attn_sdpa_fwd_f16_d64, F16, unsigned short, 64)
ATTN_SDPA_ENTRY(attn_sdpa_fwd_f16_d128, F16, unsigned short, 128)
ATTN_SDPA_ENTRY(attn_sdpa_fwd_bf16, BF16, unsigned short, 256)
ATTN_SDPA_ENTRY(attn_sdpa_fwd_bf16_d32, BF16, unsigned short, 32)
ATTN_SDPA_ENTRY(attn_sdpa_fwd_bf16_d64, BF16, unsigned short, 64)
ATTN_SDPA_ENTRY(attn_sdpa_fwd_bf16_d128, BF16, unsigned short, 128)
