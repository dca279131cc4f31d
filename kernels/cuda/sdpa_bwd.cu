/*
 * sdpa_bwd.cu: the SDPA backward, FlashAttention-2 structure, fp32 SIMT math on F32/F16/BF16 storage.
 * The same entry names, argument list (KernelArgs.sdpaBackward) and struct (attn_sdpa_bwd_params) as
 * kernels/opencl/sdpa_bwd.cl:
 *
 *   attn_sdpa_bwd_pre_<dt>    a thread per query row: Delta_i = dO_i . O_i and LSE_i * log2(e) (+inf
 *                             for a dead or fully masked row) into the workspace ws
 *   attn_sdpa_bwd_dkdv_<dt>   a block owns THREADS keys of one (batch, kv head), a thread per key; it
 *                             streams the query rows that may attend them, BN at a time, of every query
 *                             head of the kv head in order (GQA summed here), recomputing
 *                             P = exp2(S - LSE): dV += P dO, dS = P (dO.V - Delta), dK += dS Q
 *   attn_sdpa_bwd_dq_<dt>     a block owns THREADS query rows of one (batch, query head) and streams the
 *                             keys they may attend: dQ += dS K
 *   attn_sdpa_bwd_dbias_<dt>  a block owns THREADS rows of one dBias slice [b', h'] and visits the (b, h)
 *                             that broadcast into it in order, writing dS for the first and adding it
 *                             for the others (one owner per element)
 *
 * No atomics, no S x S workspace: bit-identical run to run. Key tiles outside the rows' window and
 * length bounds are never loaded; tiles inside them for every pair skip the per-pair mask test
 * (RowMask::all_allowed). Masked pairs are skipped, never multiplied by 0, so NaN behind a mask
 * cannot leak. Each thread's rows (its K/V or Q/dO and its accumulators) live in dynamic shared
 * memory, so D and Dv are runtime values (CudaPlans checks the 48 KiB limit). A straight SIMT port
 * for correctness on every architecture, not a tuned kernel.
 */
#include "common.cuh"
#include "mask.cuh"

namespace attn {

/* The tile table (CudaTables reads these two): threads (owned keys or rows) per block, streamed rows
 * (keys) per tile. */
#define ATTN_SDPABWD_THREADS 16
#define ATTN_SDPABWD_BN 8
struct SdpaBwdTile {
    static constexpr int THREADS = ATTN_SDPABWD_THREADS, BN = ATTN_SDPABWD_BN;
};

template <typename S> struct SdpaBwd {
    typedef typename S::Elem E;
    static constexpr int T = SdpaBwdTile::THREADS, BN = SdpaBwdTile::BN;

    static ATTN_DEV long long nrows(const attn_sdpa_bwd_params& p) { return (long long)p.batch * p.heads_q * p.seq_q; }

    static ATTN_DEV float dot(const float* x, const float* y, int n) {
        float s = 0.0f;
        for (int k = 0; k < n; k++) s = fmaf(x[k], y[k], s);
        return s;
    }

    /* The score of (i, j) in log2 units from qk = q.k: scale, softcap (its tanh into th), bias, ALiBi. */
    static ATTN_DEV float score(const attn_sdpa_bwd_params& p, const RowMask& mk, float qk, int i, int j, float& th) {
        float x = qk * p.scale;
        th = 0.0f;
        if (p.flags & ATTN_F_SOFTCAP) {
            th = tanhf(x / p.softcap);
            x = p.softcap * th;
        }
        return (x + mk.add(i, j)) * ATTN_LOG2E;
    }

    /* Query rows [lo, hi) that the window and q length allow for some key of [j_first, j_last]: the
     * inverse of RowMask::key_range (row i attends j iff i + off - left <= j <= i + off + right). */
    static ATTN_DEV void query_range(const RowMask& mk, int j_first, int j_last, int& lo, int& hi) {
        const long long end = mk.q_len;
        long long a = 0, b = end;
        if (mk.win_right >= 0) a = max(a, (long long)j_first - mk.align_off - mk.win_right);
        if (mk.win_left >= 0) b = min(b, (long long)j_last - mk.align_off + mk.win_left + 1);
        lo = (int)min(a, end);
        hi = (int)max(b, 0LL);
    }

    static ATTN_DEV void init_mask(RowMask& mk, const attn_sdpa_bwd_params& p, int b, int h, const unsigned char* mask,
                                   const float* bias, const float* alibi, const int* kv_len, const int* q_len) {
        mk.init(p.m, b, h, p.seq_q, p.seq_k, mask, bias, alibi, kv_len, q_len);
    }

    static ATTN_DEV void pre(const attn_sdpa_bwd_params& p, const E* o, const E* dout, const float* lse, float* ws,
                             const int* q_len) {
        const long long n = nrows(p), r = (long long)blockIdx.x * T + threadIdx.x;
        if (r >= n) return;
        const int i = (int)(r % p.seq_q), bh = (int)(r / p.seq_q), b = bh / p.heads_q, h = bh % p.heads_q;
        const int ql = (p.m.flags & ATTN_F_Q_LENGTHS) ? min(q_len[b], p.seq_q) : p.seq_q;
        const long long ob = p.o_off + b * p.o_sb + h * p.o_sh + i * p.o_ss;
        const long long db = p.do_off + b * p.do_sb + h * p.do_sh + i * p.do_ss;
        float acc = 0.0f;
        if (i < ql) {
            for (int x = 0; x < p.head_dim_v; x++) acc = fmaf(ld<S>(dout, db + x * p.do_sd), ld<S>(o, ob + x * p.o_sd), acc);
        }
        const float l = lse[p.lse_off + b * p.lse_sb + h * p.lse_sh + i * p.lse_ss];
        ws[r] = acc;
        ws[n + r] = (i >= ql || l == ATTN_NINF) ? ATTN_INF : l * ATTN_LOG2E;
    }

    static ATTN_DEV void dkdv(const attn_sdpa_bwd_params& p, const E* q, const E* k, const E* v, const E* dout, E* dk,
                              E* dv, const float* ws, const unsigned char* mask, const float* bias, const float* alibi,
                              const int* kv_len, const int* q_len) {
        ATTN_DYNAMIC_SMEM(sm);
        const int D = p.head_dim, Dv = p.head_dim_v, tid = threadIdx.x;
        const int j0 = blockIdx.x * T, bk = blockIdx.y, b = bk / p.heads_kv, hk = bk % p.heads_kv;
        float* kr = sm + tid * D;
        float* vr = sm + T * D + tid * Dv;
        float* dka = sm + T * (D + Dv) + tid * D;
        float* dva = sm + T * (2 * D + Dv) + tid * Dv;
        float* tq = sm + T * (2 * D + 2 * Dv); /* BN x D: Q rows of the tile */
        float* tdo = tq + BN * D;              /* BN x Dv: dO rows */
        float* tl = tdo + BN * Dv;             /* BN: LSE (log2 units) */
        float* td = tl + BN;                   /* BN: Delta */
        RowMask mk0;
        init_mask(mk0, p, b, hk * p.group, mask, bias, alibi, kv_len, q_len);
        const int j = j0 + tid, jend = min(j0 + T, mk0.kv_len);
        const bool in = j < jend;
        const long long kb = p.k_off + b * p.k_sb + hk * p.k_sh + (long long)j * p.k_ss;
        const long long vb = p.v_off + b * p.v_sb + hk * p.v_sh + (long long)j * p.v_ss;
        for (int d = 0; d < D; d++) {
            kr[d] = in ? ld<S>(k, kb + d * p.k_sd) : 0.0f;
            dka[d] = 0.0f;
        }
        for (int x = 0; x < Dv; x++) {
            vr[x] = in ? ld<S>(v, vb + x * p.v_sd) : 0.0f;
            dva[x] = 0.0f;
        }
        int ib = 0, ie = 0;
        if (jend > j0) query_range(mk0, j0, jend - 1, ib, ie);
        const long long n = nrows(p);
        const bool softcap = (p.flags & ATTN_F_SOFTCAP) != 0;
        for (int g = 0; g < p.group; g++) {
            const int h = hk * p.group + g;
            RowMask mk;
            init_mask(mk, p, b, h, mask, bias, alibi, kv_len, q_len);
            const long long qb = p.q_off + b * p.q_sb + h * p.q_sh, dob = p.do_off + b * p.do_sb + h * p.do_sh;
            const long long wrow = ((long long)b * p.heads_q + h) * p.seq_q;
            for (int i0 = ib; i0 < ie; i0 += BN) {
                const int nv = min(BN, ie - i0);
                __syncthreads(); /* the previous tile has been consumed */
                for (int e = tid; e < nv * D; e += T) {
                    const int t = e / D, d = e - t * D;
                    tq[e] = ld<S>(q, qb + (long long)(i0 + t) * p.q_ss + d * p.q_sd);
                }
                for (int e = tid; e < nv * Dv; e += T) {
                    const int t = e / Dv, x = e - t * Dv;
                    tdo[e] = ld<S>(dout, dob + (long long)(i0 + t) * p.do_ss + x * p.do_sd);
                }
                for (int t = tid; t < nv; t += T) {
                    tl[t] = ws[n + wrow + i0 + t];
                    td[t] = ws[wrow + i0 + t];
                }
                __syncthreads();
                if (!in) continue;
                const bool full = mk.all_allowed(i0, i0 + nv, j0, jend);
                for (int t = 0; t < nv; t++) {
                    const int i = i0 + t;
                    if (tl[t] == ATTN_INF || !(full || mk.allowed(i, j))) continue;
                    float th;
                    const float x = score(p, mk, dot(tq + t * D, kr, D), i, j, th);
                    const float pv = exp2f(x - tl[t]);
                    float ds = pv * (dot(tdo + t * Dv, vr, Dv) - td[t]);
                    if (softcap) ds *= 1.0f - th * th;
                    for (int xx = 0; xx < Dv; xx++) dva[xx] = fmaf(pv, tdo[t * Dv + xx], dva[xx]);
                    for (int d = 0; d < D; d++) dka[d] = fmaf(ds, tq[t * D + d], dka[d]);
                }
            }
        }
        /* Every key below Sk is written once: keys no live row attends get 0. */
        if (j >= p.seq_k) return;
        const long long dkb = p.dk_off + b * p.dk_sb + hk * p.dk_sh + (long long)j * p.dk_ss;
        const long long dvb = p.dv_off + b * p.dv_sb + hk * p.dv_sh + (long long)j * p.dv_ss;
        for (int d = 0; d < D; d++) st<S>(dk, dkb + d * p.dk_sd, dka[d] * p.scale);
        for (int x = 0; x < Dv; x++) st<S>(dv, dvb + x * p.dv_sd, dva[x]);
    }

    /* This thread's Q row, dO row, LSE and Delta for row i of (b, h) (zeros and +inf when !in). */
    static ATTN_DEV void load_row(const attn_sdpa_bwd_params& p, const E* q, const E* dout, const float* ws, int b, int h,
                                  int i, bool in, float* qr, float* dor, float& l2, float& dl) {
        const long long qb = p.q_off + b * p.q_sb + h * p.q_sh + (long long)i * p.q_ss;
        const long long dob = p.do_off + b * p.do_sb + h * p.do_sh + (long long)i * p.do_ss;
        for (int d = 0; d < p.head_dim; d++) qr[d] = in ? ld<S>(q, qb + d * p.q_sd) : 0.0f;
        for (int x = 0; x < p.head_dim_v; x++) dor[x] = in ? ld<S>(dout, dob + x * p.do_sd) : 0.0f;
        const long long r = ((long long)b * p.heads_q + h) * p.seq_q + i;
        l2 = in ? ws[nrows(p) + r] : ATTN_INF;
        dl = in ? ws[r] : 0.0f;
    }

    /* Keys [j0, j0 + nv) of (b, hk) into the tile: tk BN x D, tv BN x Dv. */
    static ATTN_DEV void load_keys(const attn_sdpa_bwd_params& p, const E* k, const E* v, int b, int hk, int j0, int nv,
                                   float* tk, float* tv) {
        const int D = p.head_dim, Dv = p.head_dim_v;
        const long long kb = p.k_off + b * p.k_sb + hk * p.k_sh, vb = p.v_off + b * p.v_sb + hk * p.v_sh;
        for (int e = threadIdx.x; e < nv * D; e += T) {
            const int t = e / D, d = e - t * D;
            tk[e] = ld<S>(k, kb + (long long)(j0 + t) * p.k_ss + d * p.k_sd);
        }
        for (int e = threadIdx.x; e < nv * Dv; e += T) {
            const int t = e / Dv, x = e - t * Dv;
            tv[e] = ld<S>(v, vb + (long long)(j0 + t) * p.v_ss + x * p.v_sd);
        }
    }

    /* dS of (i, j) against key t of the tile (times 1 - tanh^2 when raw and a softcap). */
    static ATTN_DEV float ds_of(const attn_sdpa_bwd_params& p, const RowMask& mk, const float* qr, const float* dor,
                                float l2, float dl, const float* tk, const float* tv, int t, int i, int j, bool raw) {
        float th;
        const float x = score(p, mk, dot(qr, tk + t * p.head_dim, p.head_dim), i, j, th);
        float ds = exp2f(x - l2) * (dot(dor, tv + t * p.head_dim_v, p.head_dim_v) - dl);
        if (raw && (p.flags & ATTN_F_SOFTCAP)) ds *= 1.0f - th * th;
        return ds;
    }

    static ATTN_DEV void dq(const attn_sdpa_bwd_params& p, const E* q, const E* k, const E* v, const E* dout, E* dqo,
                            const float* ws, const unsigned char* mask, const float* bias, const float* alibi,
                            const int* kv_len, const int* q_len) {
        ATTN_DYNAMIC_SMEM(sm);
        const int D = p.head_dim, Dv = p.head_dim_v, tid = threadIdx.x;
        const int i0 = blockIdx.x * T, bh = blockIdx.y, b = bh / p.heads_q, h = bh % p.heads_q, hk = h / p.group;
        float* qr = sm + tid * D;
        float* dor = sm + T * D + tid * Dv;
        float* dqa = sm + T * (D + Dv) + tid * D;
        float* tk = sm + T * (2 * D + Dv);
        float* tv = tk + BN * D;
        RowMask mk;
        init_mask(mk, p, b, h, mask, bias, alibi, kv_len, q_len);
        const int i = i0 + tid;
        const bool in = i < mk.q_len;
        float l2, dl;
        load_row(p, q, dout, ws, b, h, i, in, qr, dor, l2, dl);
        for (int d = 0; d < D; d++) dqa[d] = 0.0f;
        const int iend = min(i0 + T, mk.q_len);
        int lo = 0, hi = 0;
        if (iend > i0) mk.key_range(i0, iend, lo, hi);
        for (int j0 = lo; j0 < hi; j0 += BN) {
            const int nv = min(BN, hi - j0);
            __syncthreads();
            load_keys(p, k, v, b, hk, j0, nv, tk, tv);
            __syncthreads();
            if (!in || l2 == ATTN_INF) continue;
            const bool full = mk.all_allowed(i0, iend, j0, j0 + nv);
            for (int t = 0; t < nv; t++) {
                const int j = j0 + t;
                if (!(full || mk.allowed(i, j))) continue;
                const float ds = ds_of(p, mk, qr, dor, l2, dl, tk, tv, t, i, j, true);
                for (int d = 0; d < D; d++) dqa[d] = fmaf(ds, tk[t * D + d], dqa[d]);
            }
        }
        if (i >= p.seq_q) return;
        const long long o = p.dq_off + b * p.dq_sb + h * p.dq_sh + (long long)i * p.dq_ss;
        for (int d = 0; d < D; d++) st<S>(dqo, o + d * p.dq_sd, in ? dqa[d] * p.scale : 0.0f);
    }

    static ATTN_DEV void dbias_(const attn_sdpa_bwd_params& p, const E* q, const E* k, const E* v, const E* dout,
                                float* dbias, const float* ws, const unsigned char* mask, const float* bias,
                                const float* alibi, const int* kv_len, const int* q_len) {
        ATTN_DYNAMIC_SMEM(sm);
        const int D = p.head_dim, Dv = p.head_dim_v, tid = threadIdx.x;
        const int i0 = blockIdx.x * T, slice = blockIdx.y, bb = slice / p.db_heads, hh = slice % p.db_heads;
        float* qr = sm + tid * D;
        float* dor = sm + T * D + tid * Dv;
        float* tk = sm + T * (2 * D + Dv);
        float* tv = tk + BN * D;
        const int b_first = p.db_batch == 1 ? 0 : bb, b_end = p.db_batch == 1 ? p.batch : bb + 1;
        const int h_first = p.db_heads == 1 ? 0 : hh, h_end = p.db_heads == 1 ? p.heads_q : hh + 1;
        const long long dbase = p.db_off + bb * p.db_sb + hh * p.db_sh;
        const int i = i0 + tid;
        for (int b = b_first; b < b_end; b++) {
            for (int h = h_first; h < h_end; h++) {
                const bool first = b == b_first && h == h_first;
                RowMask mk;
                init_mask(mk, p, b, h, mask, bias, alibi, kv_len, q_len);
                const bool in = i < mk.q_len;
                float l2, dl;
                load_row(p, q, dout, ws, b, h, i, in, qr, dor, l2, dl);
                const int iend = min(i0 + T, mk.q_len);
                int lo = 0, hi = 0;
                if (iend > i0) mk.key_range(i0, iend, lo, hi);
                /* Every key tile is visited so that every element is written; only [lo, hi) is loaded. */
                for (int j0 = 0; j0 < p.seq_k; j0 += BN) {
                    const int nk = min(BN, p.seq_k - j0);
                    const int a = max(j0, lo), e = min(j0 + nk, hi);
                    __syncthreads();
                    if (e > a) load_keys(p, k, v, b, h / p.group, a, e - a, tk, tv);
                    __syncthreads();
                    if (i >= p.seq_q) continue;
                    const bool full = e > a && mk.all_allowed(i0, iend, a, e);
                    for (int t = 0; t < nk; t++) {
                        const int j = j0 + t;
                        float ds = 0.0f;
                        if (in && l2 != ATTN_INF && j >= a && j < e && (full || mk.allowed(i, j))) {
                            ds = ds_of(p, mk, qr, dor, l2, dl, tk, tv, j - a, i, j, false);
                        }
                        const long long o = dbase + (long long)i * p.db_sq + (long long)j * p.db_sk;
                        dbias[o] = first ? ds : dbias[o] + ds;
                    }
                }
            }
        }
    }
};

} // namespace attn

#define ATTN_SDPABWD_ARGS(S)                                                                                      \
    attn_sdpa_bwd_params p, const attn::S::Elem* __restrict__ q, const attn::S::Elem* __restrict__ k,             \
        const attn::S::Elem* __restrict__ v, const attn::S::Elem* __restrict__ o,                                 \
        const attn::S::Elem* __restrict__ dout, const float* __restrict__ lse, attn::S::Elem* __restrict__ dq,    \
        attn::S::Elem* __restrict__ dk, attn::S::Elem* __restrict__ dv, float* __restrict__ dbias,                \
        float* __restrict__ ws, const unsigned char* __restrict__ mask, const float* __restrict__ bias,           \
        const float* __restrict__ alibi, const int* __restrict__ kv_len, const int* __restrict__ q_len
/* dK/dV: min 1 block per SM lifts the register cap that spilled on every architecture. */
#define ATTN_SDPABWD_DTYPE(dt, S)                                                                                 \
    extern "C" __global__ void __launch_bounds__(attn::SdpaBwdTile::THREADS) attn_sdpa_bwd_pre_##dt(              \
        ATTN_SDPABWD_ARGS(S)) {                                                                                   \
        attn::SdpaBwd<attn::S>::pre(p, o, dout, lse, ws, q_len);                                                  \
    }                                                                                                             \
    extern "C" __global__ void __launch_bounds__(attn::SdpaBwdTile::THREADS, 1) attn_sdpa_bwd_dkdv_##dt(             \
        ATTN_SDPABWD_ARGS(S)) {                                                                                   \
        attn::SdpaBwd<attn::S>::dkdv(p, q, k, v, dout, dk, dv, ws, mask, bias, alibi, kv_len, q_len);             \
    }                                                                                                             \
    extern "C" __global__ void __launch_bounds__(attn::SdpaBwdTile::THREADS) attn_sdpa_bwd_dq_##dt(               \
        ATTN_SDPABWD_ARGS(S)) {                                                                                   \
        attn::SdpaBwd<attn::S>::dq(p, q, k, v, dout, dq, ws, mask, bias, alibi, kv_len, q_len);                   \
    }                                                                                                             \
    extern "C" __global__ void __launch_bounds__(attn::SdpaBwdTile::THREADS) attn_sdpa_bwd_dbias_##dt(            \
        ATTN_SDPABWD_ARGS(S)) {                                                                                   \
        attn::SdpaBwd<attn::S>::dbias_(p, q, k, v, dout, dbias, ws, mask, bias, alibi, kv_len, q_len);            \
    }

ATTN_SDPABWD_DTYPE(f32, F32)
ATTN_SDPABWD_DTYPE(f16, F16)
ATTN_SDPABWD_DTYPE(bf16, BF16)
