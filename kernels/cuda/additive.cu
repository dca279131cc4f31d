/*
 * additive.cu: fused additive (Bahdanau) attention forward, fp32 math on F32/F16/BF16 storage.
 *
 *   e[i,j] = sum_a w[a] * tanh(qp[i,a] + kp[j,a] + b[a]) + bias[i,j] - slope * |i + off - j|
 *   C[i,:] = sum_j softmax_j(e)[i,j] V[j,:],  weights[i,j] = softmax_j(e)[i,j] when asked.
 *
 * No [Sq, Sk, A] tensor exists: a CTA owns BM query rows, loops over tiles of BN keys, and for
 * each tile accumulates the scores over A in chunks of AC (qp + b, kp and w chunks staged in
 * shared memory, fp32). The scores then go through the same online softmax and P.V step as SDPA
 * (softmax.cuh, mask.cuh; masked pairs selected away). Without weights that is one pass. With
 * weights a first pass finds each row's (max, sum) and a second pass recomputes the scores,
 * writes the normalised weights (zeros for masked pairs, skipped tiles and dead rows) and
 * accumulates C; the tanh work doubles only when the weights are requested.
 *
 * Storage of qp/kp: attn_additive_fwd_<dt> reads qp and kp in the storage dtype (pre-projected
 * inputs from the caller). attn_additive_fwd_<dt>_qkf32 reads them as fp32: the raw-input path
 * projects q . wq^T and k . wk^T with a GEMM into an fp32 workspace and passes that here, so the
 * projection is never rounded to half precision. v, w, b, out and weights are always in <dt>;
 * the strides and offsets in attn_additive_params are in elements of the buffer actually passed.
 * The _d64 variants hold Dv <= 64 accumulators; the plain ones any Dv <= 256.
 */
#include "common.cuh"
#include "mask.cuh"
#include "softmax.cuh"

namespace attn {

/* The tile table: DMAX (Dv bound), BM, BN, AC (A chunk), THREADS. */
#define ATTN_ADDITIVE_TILES(X) \
    X(64, 16, 32, 32, 128)     \
    X(256, 16, 32, 32, 128)

template <int DMAX> struct AdditiveTile;
#define ATTN_ADDITIVE_TILE_DEF(D_, BM_, BN_, AC_, T_)                                           \
    template <> struct AdditiveTile<D_> {                                                       \
        static constexpr int BM = BM_, BN = BN_, AC = AC_, THREADS = T_;                        \
        static_assert(T_ % BM_ == 0 && 32 % (T_ / BM_) == 0, "a row's lanes must lie in one warp"); \
        static_assert(BN_ % (T_ / BM_) == 0 && D_ % (T_ / BM_) == 0, "tile divisibility");     \
    };
ATTN_ADDITIVE_TILES(ATTN_ADDITIVE_TILE_DEF)

template <int DMAX> struct AdditiveSmem {
    typedef AdditiveTile<DMAX> T;
    static constexpr int QS = T::AC + 1, KS = T::AC + 1, VS = DMAX, PS = T::BN + 1;
    static constexpr int Q0 = 0, K0 = Q0 + T::BM * QS, W0 = K0 + T::BN * KS, V0 = W0 + T::AC, P0 = V0 + T::BN * VS;
    static constexpr int FLOATS = P0 + T::BM * PS;
    static_assert(FLOATS * 4 <= 48 * 1024, "the additive tile must fit the default 48 KiB");
};

template <typename S, typename SQK, int DMAX> struct Additive {
    typedef AdditiveTile<DMAX> T;
    typedef AdditiveSmem<DMAX> L;
    typedef typename S::Elem E;
    typedef typename SQK::Elem EQK;
    static constexpr int BM = T::BM, BN = T::BN, AC = T::AC, THREADS = T::THREADS;
    static constexpr int TPR = THREADS / BM, KPT = BN / TPR, CPT = DMAX / TPR;

    /* Scores of keys [j0, j0 + nk) for this thread's row: s[u] for key j0 + t + u * TPR. */
    static ATTN_DEV void scores(const attn_additive_params& p, float* sm_, const EQK* qb, const EQK* kb, const E* w,
                                const E* bvec, const RowMask& mk, int i0, int row, int t, int j0, int nk, float* s) {
        float* Qs = sm_ + L::Q0;
        float* Ks = sm_ + L::K0;
        float* Ws = sm_ + L::W0;
        const int tid = threadIdx.x, A = p.dim_a, i = i0 + row;
        const bool live = i < mk.q_len;
#pragma unroll
        for (int u = 0; u < KPT; u++) s[u] = 0.0f;
        for (int a0 = 0; a0 < A; a0 += AC) {
            const int na = min(AC, A - a0);
            __syncthreads();
            for (int e = tid; e < BM * AC; e += THREADS) {
                const int r = e / AC, a = e - r * AC;
                float x = 0.0f;
                if (a < na && i0 + r < mk.q_len) {
                    x = ld<SQK>(qb, (long long)(i0 + r) * p.qp_ss + (long long)(a0 + a) * p.qp_sa);
                    if (p.flags & ATTN_F_ADD_BIAS) x += ld<S>(bvec, p.b_off + a0 + a);
                }
                Qs[r * L::QS + a] = x;
            }
            for (int e = tid; e < BN * AC; e += THREADS) {
                const int r = e / AC, a = e - r * AC;
                Ks[r * L::KS + a] = (a < na && r < nk) ? ld<SQK>(kb, (long long)(j0 + r) * p.kp_ss + (long long)(a0 + a) * p.kp_sa) : 0.0f;
            }
            for (int a = tid; a < AC; a += THREADS) Ws[a] = a < na ? ld<S>(w, p.w_off + a0 + a) : 0.0f;
            __syncthreads();
            for (int a = 0; a < na; a++) {
                const float qa = Qs[row * L::QS + a], wa = Ws[a];
#pragma unroll
                for (int u = 0; u < KPT; u++) s[u] = fmaf(wa, tanhf(qa + Ks[(t + u * TPR) * L::KS + a]), s[u]);
            }
        }
#pragma unroll
        for (int u = 0; u < KPT; u++) {
            const int jj = t + u * TPR, j = j0 + jj;
            s[u] = (live && jj < nk && mk.allowed(i, j)) ? s[u] + mk.add(i, j) : ATTN_NINF;
        }
    }

    static ATTN_DEV void run(const attn_additive_params& p, const EQK* qp, const EQK* kp, const E* v, const E* w,
                             const E* bvec, E* o, E* wts, const unsigned char* mask, const float* bias,
                             const float* alibi, const int* kv_len, const int* q_len) {
        ATTN_DYNAMIC_SMEM(smem_add);
        float* Vs = smem_add + L::V0;
        float* Ps = smem_add + L::P0;
        const int tid = threadIdx.x, row = tid / TPR, t = tid % TPR;
        const int bh = blockIdx.x, b = bh / p.heads, h = bh % p.heads;
        const int i0 = blockIdx.y * BM, i = i0 + row, Dv = p.head_dim_v;
        RowMask mk;
        mk.init(p.m, b, h, p.seq_q, p.seq_k, mask, bias, alibi, kv_len, q_len);
        const EQK* qb = qp + p.qp_off + b * p.qp_sb + h * p.qp_sh;
        const EQK* kb = kp + p.kp_off + b * p.kp_sb + h * p.kp_sh;
        const E* vb = v + p.v_off + b * p.v_sb + h * p.v_sh;
        const bool want_w = (p.flags & ATTN_F_WEIGHTS) != 0;
        E* wrow = want_w ? wts + p.wts_off + b * p.wts_sb + h * p.wts_sh + (long long)i * p.wts_sq : (E*)0;

        int lo = 0, hi = 0;
        const int i_end = min(i0 + BM, mk.q_len);
        if (i_end > i0) mk.key_range(i0, i_end, lo, hi);

        OnlineSoftmax sm;
        sm.reset();
        float s[KPT];
        if (want_w) { /* pass 1: the row's final (max, sum) */
            for (int j0 = lo; j0 < hi; j0 += BN) {
                const int nk = min(BN, hi - j0);
                scores(p, smem_add, qb, kb, w, bvec, mk, i0, row, t, j0, nk, s);
                float tmax = ATTN_NINF;
#pragma unroll
                for (int u = 0; u < KPT; u++) tmax = nan_max(tmax, s[u]);
                sm.rescale(group_max<TPR>(tmax));
                float ps = 0.0f;
#pragma unroll
                for (int u = 0; u < KPT; u++) ps += sm.prob(s[u]);
                sm.l += group_sum<TPR>(ps);
            }
        }
        const float inv_final = sm.inv_sum();

        float acc[CPT];
#pragma unroll
        for (int c = 0; c < CPT; c++) acc[c] = 0.0f;
        for (int j0 = lo; j0 < hi; j0 += BN) {
            const int nk = min(BN, hi - j0);
            scores(p, smem_add, qb, kb, w, bvec, mk, i0, row, t, j0, nk, s); /* ends with a barrier before use */
            for (int e = tid; e < BN * Dv; e += THREADS) {
                const int r = e / Dv, d = e - r * Dv;
                Vs[r * L::VS + d] = r < nk ? ld<S>(vb, (long long)(j0 + r) * p.v_ss + (long long)d * p.v_sd) : 0.0f;
            }
            float alpha = 1.0f;
            if (!want_w) {
                float tmax = ATTN_NINF;
#pragma unroll
                for (int u = 0; u < KPT; u++) tmax = nan_max(tmax, s[u]);
                alpha = sm.rescale(group_max<TPR>(tmax));
            }
            float ps = 0.0f;
#pragma unroll
            for (int u = 0; u < KPT; u++) {
                const int jj = t + u * TPR;
                float pr = sm.prob(s[u]);
                if (want_w) pr = s[u] == ATTN_NINF ? 0.0f : pr * inv_final; /* masked: exactly 0 even in a NaN row */
                ps += pr;
                Ps[row * L::PS + jj] = s[u] == ATTN_NINF ? -1.0f : pr;
                if (want_w && i < p.seq_q && jj < nk) st<S>(wrow, (long long)(j0 + jj) * p.wts_sk, pr);
            }
            if (!want_w) sm.l += group_sum<TPR>(ps);
            __syncthreads(); /* V tile complete; P slots of the row visible */
#pragma unroll
            for (int c = 0; c < CPT; c++) acc[c] *= alpha;
            for (int jj = 0; jj < nk; jj++) {
                const float pr = Ps[row * L::PS + jj];
                if (!(pr < 0.0f)) {
#pragma unroll
                    for (int c = 0; c < CPT; c++) acc[c] = fmaf(pr, Vs[jj * L::VS + t + c * TPR], acc[c]);
                }
            }
        }

        if (i < p.seq_q) {
            const float inv = want_w ? 1.0f : sm.inv_sum();
            E* ob = o + p.o_off + b * p.o_sb + h * p.o_sh + (long long)i * p.o_ss;
#pragma unroll
            for (int c = 0; c < CPT; c++) {
                const int col = t + c * TPR;
                if (col < Dv) st<S>(ob, (long long)col * p.o_sd, acc[c] * inv); /* with weights, P was already normalised */
            }
            if (want_w) { /* keys the tile loop never visited */
                for (int j = t; j < lo; j += TPR) st<S>(wrow, (long long)j * p.wts_sk, 0.0f);
                for (int j = hi + t; j < p.seq_k; j += TPR) st<S>(wrow, (long long)j * p.wts_sk, 0.0f);
            }
        }
    }
};

} // namespace attn

#define ATTN_ADDITIVE_ENTRY(name, S, SQK, DMAX)                                                              \
    extern "C" __global__ void __launch_bounds__(attn::AdditiveTile<DMAX>::THREADS) name(                    \
        attn_additive_params p, const attn::SQK::Elem* __restrict__ qp, const attn::SQK::Elem* __restrict__ kp, \
        const attn::S::Elem* __restrict__ v, const attn::S::Elem* __restrict__ w,                            \
        const attn::S::Elem* __restrict__ bv, attn::S::Elem* __restrict__ o, attn::S::Elem* __restrict__ wts,  \
        const unsigned char* __restrict__ mask, const float* __restrict__ bias, const float* __restrict__ alibi, \
        const int* __restrict__ kv_len, const int* __restrict__ q_len) {                                    \
        attn::Additive<attn::S, attn::SQK, DMAX>::run(p, qp, kp, v, w, bv, o, wts, mask, bias, alibi, kv_len, q_len); \
    }
#define ATTN_ADDITIVE_DTYPE(dt, S)                                 \
    ATTN_ADDITIVE_ENTRY(attn_additive_fwd_##dt, S, S, 256)         \
    ATTN_ADDITIVE_ENTRY(attn_additive_fwd_##dt##_d64, S, S, 64)    \
    ATTN_ADDITIVE_ENTRY(attn_additive_fwd_##dt##_qkf32, S, F32, 256) \
    ATTN_ADDITIVE_ENTRY(attn_additive_fwd_##dt##_qkf32_d64, S, F32, 64)

ATTN_ADDITIVE_DTYPE(f32, F32)
ATTN_ADDITIVE_DTYPE(f16, F16)
ATTN_ADDITIVE_DTYPE(bf16, BF16)
