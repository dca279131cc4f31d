/*
 * additive_bwd.cu: the backward of fused additive (Bahdanau) attention, fp32 SIMT math on F32/F16/BF16
 * storage. The same split, entry names and argument lists as kernels/opencl/additive_bwd.cl:
 *
 *   attn_additive_bwd_pre_<dt>[_qkf32]   a thread per query row: lse and delta = sum_j P dc.V_j (online)
 *   attn_additive_bwd_dq_<dt>[_qkf32]    a thread per query row, looping over key tiles: dqp; the
 *                                        block's rows summed in a fixed order -> db partial
 *   attn_additive_bwd_dkv_<dt>[_qkf32]   a thread per key, looping over query tiles: dkp, dV; the
 *                                        block's keys summed in a fixed order -> dw partial
 *   attn_additive_bwd_reduce_<dt>        dw, db from the partials, in order
 *   attn_additive_bwd_proj_<dt>          raw inputs: dx = dxp . W
 *   attn_additive_bwd_wgrad_<dt>         raw inputs: dW = sum dxp^T . x
 *
 * Every tanh is recomputed; no atomics; results are bit-identical run to run. Each thread's rows
 * (qp + b, dc, its accumulators) live in dynamic shared memory, not registers, so A and Dv are
 * runtime values (the planner checks that THREADS * (3 A + 2 Dv) + BN * (A + Dv) + A + 4 BN floats
 * fit 48 KiB). _qkf32: qp, kp, dqp and dkp are fp32 workspace views (raw inputs).
 * This is a straight SIMT port for correctness on every architecture, not a tuned kernel.
 */
#include "common.cuh"
#include "mask.cuh"

namespace attn {

/* The tile table (CudaTables reads these two): threads = rows (keys) per block, keys (rows) per tile. */
#define ATTN_ADDBWD_THREADS 16
#define ATTN_ADDBWD_BN 16
struct AddBwdTile {
    static constexpr int THREADS = ATTN_ADDBWD_THREADS, BN = ATTN_ADDBWD_BN;
};

/* Shared-memory layout (floats) for runtime A and Dv. */
struct AddBwdSmem {
    int A, Dv;
    ATTN_DEV int own() const { return 0; }                                            /* THREADS x A: qb or kp */
    ATTN_DEV int dc() const { return AddBwdTile::THREADS * A; }                        /* THREADS x Dv: dc or v */
    ATTN_DEV int g1() const { return dc() + AddBwdTile::THREADS * Dv; }                /* THREADS x A */
    ATTN_DEV int g2() const { return g1() + AddBwdTile::THREADS * A; }                 /* THREADS x A */
    ATTN_DEV int gv() const { return g2() + AddBwdTile::THREADS * A; }                 /* THREADS x Dv */
    ATTN_DEV int ta() const { return gv() + AddBwdTile::THREADS * Dv; }                /* BN x A: tile */
    ATTN_DEV int tv() const { return ta() + AddBwdTile::BN * A; }                      /* BN x Dv: tile */
    ATTN_DEV int w() const { return tv() + AddBwdTile::BN * Dv; }                      /* A */
    ATTN_DEV int rows() const { return w() + A; }                                      /* 4 x BN */
};

template <typename S, typename SQK> struct AdditiveBwd {
    typedef typename S::Elem E;
    typedef typename SQK::Elem EQK;
    static constexpr int T = AddBwdTile::THREADS, BN = AddBwdTile::BN;

    /* sum_a w[a] tanh(x[a] + y[a]) */
    static ATTN_DEV float energy(const float* x, const float* y, const float* ws, int A) {
        float e = 0.0f;
        for (int a = 0; a < A; a++) e = fmaf(ws[a], tanhf(x[a] + y[a]), e);
        return e;
    }
    static ATTN_DEV float dot(const float* x, const float* y, int n) {
        float s = 0.0f;
        for (int k = 0; k < n; k++) s = fmaf(x[k], y[k], s);
        return s;
    }
    static ATTN_DEV void load_w(const attn_additive_bwd_params& p, const E* w, float* ws) {
        for (int a = threadIdx.x; a < p.dim_a; a += T) ws[a] = ld<S>(w, p.w_off + a);
    }
    /* keys [j0, j0 + n) of kp and V into the tile (rows past n are never read) */
    static ATTN_DEV void load_keys(const attn_additive_bwd_params& p, const EQK* kb, const E* vb, float* ta, float* tv,
                                   int j0, int n) {
        const int A = p.dim_a, Dv = p.head_dim_v;
        for (int e = threadIdx.x; e < n * A; e += T) {
            const int r = e / A, a = e - r * A;
            ta[e] = ld<SQK>(kb, (long long)(j0 + r) * p.kp_ss + (long long)a * p.kp_sa);
        }
        for (int e = threadIdx.x; e < n * Dv; e += T) {
            const int r = e / Dv, x = e - r * Dv;
            tv[e] = ld<S>(vb, (long long)(j0 + r) * p.v_ss + (long long)x * p.v_sd);
        }
    }
    /* this thread's qp + b and dc rows (zeros when !in) */
    static ATTN_DEV void load_row(const attn_additive_bwd_params& p, const EQK* qb, const E* bvec, const E* dcb, int i,
                                  bool in, float* q, float* d) {
        for (int a = 0; a < p.dim_a; a++) {
            float x = 0.0f;
            if (in) {
                x = ld<SQK>(qb, (long long)i * p.qp_ss + (long long)a * p.qp_sa);
                if (p.flags & ATTN_F_ADD_BIAS) x += ld<S>(bvec, p.b_off + a);
            }
            q[a] = x;
        }
        for (int x = 0; x < p.head_dim_v; x++) d[x] = in ? ld<S>(dcb, (long long)i * p.dc_ss + (long long)x * p.dc_sd) : 0.0f;
    }
    /* sums rows[r * A + a] over the block's T threads in order, for each a, into out[a] */
    static ATTN_DEV void block_sum(const float* rows, int A, float* out) {
        __syncthreads();
        for (int a = threadIdx.x; a < A; a += T) {
            float s = 0.0f;
            for (int r = 0; r < T; r++) s += rows[r * A + a];
            out[a] = s;
        }
    }

    static ATTN_DEV void pre(const attn_additive_bwd_params& p, const EQK* qp, const EQK* kp, const E* v, const E* w,
                             const E* bvec, const E* dc, float* st, const unsigned char* mask, const float* bias,
                             const float* alibi, const int* kv_len, const int* q_len) {
        ATTN_DYNAMIC_SMEM(sm);
        const AddBwdSmem L{p.dim_a, p.head_dim_v};
        const int tid = threadIdx.x, bh = blockIdx.y, b = bh / p.heads, h = bh % p.heads;
        const int i0 = blockIdx.x * T, i = i0 + tid, A = p.dim_a, Dv = p.head_dim_v;
        RowMask mk;
        mk.init(p.m, b, h, p.seq_q, p.seq_k, mask, bias, alibi, kv_len, q_len);
        float* q = sm + L.own() + tid * A;
        float* d = sm + L.dc() + tid * Dv;
        float *ta = sm + L.ta(), *tv = sm + L.tv(), *ws = sm + L.w();
        const bool live = i < mk.q_len;
        load_w(p, w, ws);
        load_row(p, qp + p.qp_off + b * p.qp_sb + h * p.qp_sh, bvec, dc + p.dc_off + b * p.dc_sb + h * p.dc_sh, i,
                 i < p.seq_q, q, d);
        int lo = 0, hi = 0;
        const int i_end = min(i0 + T, mk.q_len);
        if (i_end > i0) mk.key_range(i0, i_end, lo, hi);
        const EQK* kb = kp + p.kp_off + b * p.kp_sb + h * p.kp_sh;
        const E* vb = v + p.v_off + b * p.v_sb + h * p.v_sh;
        float m = ATTN_NINF, l = 0.0f, acc = 0.0f;
        for (int j0 = lo; j0 < hi; j0 += BN) {
            const int n = min(BN, hi - j0);
            __syncthreads();
            load_keys(p, kb, vb, ta, tv, j0, n);
            __syncthreads();
            if (!live) continue;
            for (int t = 0; t < n; t++) {
                const int j = j0 + t;
                if (!mk.allowed(i, j)) continue;
                const float e = energy(q, ta + t * A, ws, A) + mk.add(i, j);
                const float dp = dot(d, tv + t * Dv, Dv);
                /* online: keep m, l = sum exp(e - m), acc = sum exp(e - m) dp */
                if (e > m) {
                    const float c = m == ATTN_NINF ? 0.0f : expf(m - e);
                    l = l * c + 1.0f;
                    acc = acc * c + dp;
                    m = e;
                } else {
                    const float pe = expf(e - (m == ATTN_NINF ? 0.0f : m));
                    l += pe;
                    acc = fmaf(pe, dp, acc);
                }
            }
        }
        if (i < p.seq_q) {
            const long long o = p.st_off + 2 * ((long long)bh * p.seq_q + i);
            const bool none = !live || l == 0.0f;
            st[o] = none ? ATTN_NINF : m + logf(l);
            st[o + 1] = none ? 0.0f : acc / l;
        }
    }

    static ATTN_DEV void dq(const attn_additive_bwd_params& p, const EQK* qp, const EQK* kp, const E* v, const E* w,
                            const E* bvec, const E* dc, const float* st, EQK* dqp, float* dbp,
                            const unsigned char* mask, const float* bias, const float* alibi, const int* kv_len,
                            const int* q_len) {
        ATTN_DYNAMIC_SMEM(sm);
        const AddBwdSmem L{p.dim_a, p.head_dim_v};
        const int tid = threadIdx.x, bh = blockIdx.y, b = bh / p.heads, h = bh % p.heads;
        const int i0 = blockIdx.x * T, i = i0 + tid, A = p.dim_a, Dv = p.head_dim_v;
        RowMask mk;
        mk.init(p.m, b, h, p.seq_q, p.seq_k, mask, bias, alibi, kv_len, q_len);
        float* q = sm + L.own() + tid * A;
        float* d = sm + L.dc() + tid * Dv;
        float* g = sm + L.g1() + tid * A;
        float *ta = sm + L.ta(), *tv = sm + L.tv(), *ws = sm + L.w();
        const bool in = i < p.seq_q;
        const long long so = p.st_off + 2 * ((long long)bh * p.seq_q + min(i, p.seq_q - 1));
        const float lse = st[so], delta = st[so + 1];
        const bool act = in && i < mk.q_len && lse != ATTN_NINF;
        load_w(p, w, ws);
        load_row(p, qp + p.qp_off + b * p.qp_sb + h * p.qp_sh, bvec, dc + p.dc_off + b * p.dc_sb + h * p.dc_sh, i, in,
                 q, d);
        for (int a = 0; a < A; a++) g[a] = 0.0f;
        int lo = 0, hi = 0;
        const int i_end = min(i0 + T, mk.q_len);
        if (i_end > i0) mk.key_range(i0, i_end, lo, hi);
        const EQK* kb = kp + p.kp_off + b * p.kp_sb + h * p.kp_sh;
        const E* vb = v + p.v_off + b * p.v_sb + h * p.v_sh;
        for (int j0 = lo; j0 < hi; j0 += BN) {
            const int n = min(BN, hi - j0);
            __syncthreads();
            load_keys(p, kb, vb, ta, tv, j0, n);
            __syncthreads();
            if (!act) continue;
            for (int t = 0; t < n; t++) {
                const int j = j0 + t;
                if (!mk.allowed(i, j)) continue;
                const float* k = ta + t * A;
                const float e = energy(q, k, ws, A) + mk.add(i, j);
                const float de = expf(e - lse) * (dot(d, tv + t * Dv, Dv) - delta);
                for (int a = 0; a < A; a++) {
                    const float th = tanhf(q[a] + k[a]);
                    g[a] = fmaf(de, ws[a] * (1.0f - th * th), g[a]);
                }
            }
        }
        if (in) {
            EQK* out = dqp + p.dqp_off + b * p.dqp_sb + h * p.dqp_sh + (long long)i * p.dqp_ss;
            for (int a = 0; a < A; a++) st_qk(out, (long long)a * p.dqp_sa, g[a]);
        }
        if (p.flags & ATTN_F_DB) {
            block_sum(sm + L.g1(), A, dbp + p.dbp_off + ((long long)bh * p.q_blocks + blockIdx.x) * A);
        }
    }

    static ATTN_DEV void st_qk(EQK* ptr, long long idx, float x) { attn::st<SQK>(ptr, idx, x); }

    static ATTN_DEV void dkv(const attn_additive_bwd_params& p, const EQK* qp, const EQK* kp, const E* v, const E* w,
                             const E* bvec, const E* dc, const float* st, EQK* dkp, E* dv, float* dwp,
                             const unsigned char* mask, const float* bias, const float* alibi, const int* kv_len,
                             const int* q_len) {
        ATTN_DYNAMIC_SMEM(sm);
        const AddBwdSmem L{p.dim_a, p.head_dim_v};
        const int tid = threadIdx.x, bh = blockIdx.y, b = bh / p.heads, h = bh % p.heads;
        const int j0 = blockIdx.x * T, j = j0 + tid, A = p.dim_a, Dv = p.head_dim_v;
        RowMask mk;
        mk.init(p.m, b, h, p.seq_q, p.seq_k, mask, bias, alibi, kv_len, q_len);
        float* k = sm + L.own() + tid * A;
        float* vr = sm + L.dc() + tid * Dv;
        float* gk = sm + L.g1() + tid * A;
        float* gw = sm + L.g2() + tid * A;
        float* gv = sm + L.gv() + tid * Dv;
        float *ta = sm + L.ta(), *tv = sm + L.tv(), *ws = sm + L.w();
        float* rl = sm + L.rows();
        float* rd = rl + BN;
        int* rlo = (int*)(rd + BN);
        int* rhi = rlo + BN;
        const bool key_live = j < mk.kv_len;
        const int j_end = min(j0 + T, mk.kv_len);
        load_w(p, w, ws);
        {
            const EQK* kb = kp + p.kp_off + b * p.kp_sb + h * p.kp_sh;
            const E* vb = v + p.v_off + b * p.v_sb + h * p.v_sh;
            for (int a = 0; a < A; a++) {
                k[a] = key_live ? ld<SQK>(kb, (long long)j * p.kp_ss + (long long)a * p.kp_sa) : 0.0f;
                gk[a] = 0.0f;
                gw[a] = 0.0f;
            }
            for (int x = 0; x < Dv; x++) {
                vr[x] = key_live ? ld<S>(vb, (long long)j * p.v_ss + (long long)x * p.v_sd) : 0.0f;
                gv[x] = 0.0f;
            }
        }
        const EQK* qb = qp + p.qp_off + b * p.qp_sb + h * p.qp_sh;
        const E* db = dc + p.dc_off + b * p.dc_sb + h * p.dc_sh;
        for (int r0 = 0; r0 < mk.q_len && j0 < j_end; r0 += BN) {
            const int n = min(BN, mk.q_len - r0);
            int klo, khi;
            mk.key_range(r0, r0 + n, klo, khi);
            if (khi <= j0 || klo >= j_end) continue; /* uniform over the block */
            __syncthreads();
            for (int e = tid; e < n * A; e += T) {
                const int r = e / A, a = e - r * A;
                float x = ld<SQK>(qb, (long long)(r0 + r) * p.qp_ss + (long long)a * p.qp_sa);
                if (p.flags & ATTN_F_ADD_BIAS) x += ld<S>(bvec, p.b_off + a);
                ta[e] = x;
            }
            for (int e = tid; e < n * Dv; e += T) {
                const int r = e / Dv, x = e - r * Dv;
                tv[e] = ld<S>(db, (long long)(r0 + r) * p.dc_ss + (long long)x * p.dc_sd);
            }
            for (int r = tid; r < n; r += T) {
                const long long so = p.st_off + 2 * ((long long)bh * p.seq_q + r0 + r);
                rl[r] = st[so];
                rd[r] = st[so + 1];
                rlo[r] = 0;
                rhi[r] = rl[r] == ATTN_NINF ? 0 : p.seq_k; /* dead rows: no key */
            }
            __syncthreads();
            if (!key_live) continue;
            for (int r = 0; r < n; r++) {
                const int i = r0 + r;
                if (j >= rhi[r] || !mk.allowed(i, j)) continue;
                const float* q = ta + r * A;
                const float* d = tv + r * Dv;
                const float e = energy(q, k, ws, A) + mk.add(i, j);
                const float pr = expf(e - rl[r]);
                const float de = pr * (dot(d, vr, Dv) - rd[r]);
                for (int x = 0; x < Dv; x++) gv[x] = fmaf(pr, d[x], gv[x]);
                for (int a = 0; a < A; a++) {
                    const float th = tanhf(q[a] + k[a]);
                    gk[a] = fmaf(de, ws[a] * (1.0f - th * th), gk[a]);
                    gw[a] = fmaf(de, th, gw[a]);
                }
            }
        }
        if (j < p.seq_k) {
            EQK* ko = dkp + p.dkp_off + b * p.dkp_sb + h * p.dkp_sh + (long long)j * p.dkp_ss;
            for (int a = 0; a < A; a++) attn::st<SQK>(ko, (long long)a * p.dkp_sa, gk[a]);
            E* vo = dv + p.dv_off + b * p.dv_sb + h * p.dv_sh + (long long)j * p.dv_ss;
            for (int x = 0; x < Dv; x++) attn::st<S>(vo, (long long)x * p.dv_sd, gv[x]);
        }
        block_sum(sm + L.g2(), A, dwp + p.dwp_off + ((long long)bh * p.k_blocks + blockIdx.x) * A);
    }
};

template <typename S> struct AdditiveBwdSmall {
    typedef typename S::Elem E;
    static ATTN_DEV void reduce(const attn_additive_bwd_params& p, const float* dwp, const float* dbp, E* dw, E* db) {
        const int a = blockIdx.x * blockDim.x + threadIdx.x;
        if (a >= p.dim_a) return;
        const long long bhn = (long long)p.batch * p.heads;
        float s = 0.0f;
        for (long long n = 0; n < bhn * p.k_blocks; n++) s += dwp[p.dwp_off + n * p.dim_a + a];
        st<S>(dw, p.dw_off + a, s);
        if (p.flags & ATTN_F_DB) {
            float sb = 0.0f;
            for (long long n = 0; n < bhn * p.q_blocks; n++) sb += dbp[p.dbp_off + n * p.dim_a + a];
            st<S>(db, p.db_off + a, sb);
        }
    }
    static ATTN_DEV void proj(const attn_additive_proj_params& p, const float* dxp, const E* wt, E* dx) {
        const int d = blockIdx.x * blockDim.x + threadIdx.x, s = blockIdx.y, z = blockIdx.z;
        if (d >= p.dim || s >= p.seq) return;
        const int b = z / p.heads, h = z % p.heads;
        const long long base = p.dxp_off + ((long long)z * p.seq + s) * p.dim_a;
        float acc = 0.0f;
        for (int a = 0; a < p.dim_a; a++) acc = fmaf(dxp[base + a], ld<S>(wt, p.w_off + a * p.w_sa + d * p.w_sd), acc);
        st<S>(dx, p.dx_off + b * p.dx_sb + h * p.dx_sh + s * p.dx_ss + d * p.dx_sd, acc);
    }
    static ATTN_DEV void wgrad(const attn_additive_proj_params& p, const float* dxp, const E* x, E* dwt) {
        const int d = blockIdx.x * blockDim.x + threadIdx.x, a = blockIdx.y;
        if (d >= p.dim || a >= p.dim_a) return;
        float acc = 0.0f;
        for (int z = 0; z < p.batch * p.heads; z++) {
            const int b = z / p.heads, h = z % p.heads;
            const long long xb = p.x_off + b * p.x_sb + h * p.x_sh + d * p.x_sd;
            const long long gb = p.dxp_off + (long long)z * p.seq * p.dim_a + a;
            for (int s = 0; s < p.seq; s++) acc = fmaf(dxp[gb + (long long)s * p.dim_a], ld<S>(x, xb + s * p.x_ss), acc);
        }
        st<S>(dwt, p.dw_off + a * p.dw_sa + d * p.dw_sd, acc);
    }
};

} // namespace attn

#define ATTN_ADDBWD_ROW_ARGS(S, SQK)                                                                            \
    attn_additive_bwd_params p, const attn::SQK::Elem* __restrict__ qp, const attn::SQK::Elem* __restrict__ kp, \
        const attn::S::Elem* __restrict__ v, const attn::S::Elem* __restrict__ w,                               \
        const attn::S::Elem* __restrict__ bv, const attn::S::Elem* __restrict__ dc
#define ATTN_ADDBWD_MASK_ARGS                                                                                   \
    const unsigned char* __restrict__ mask, const float* __restrict__ bias, const float* __restrict__ alibi,     \
        const int* __restrict__ kv_len, const int* __restrict__ q_len
#define ATTN_ADDBWD_ENTRIES(sfx, S, SQK)                                                                           \
    extern "C" __global__ void __launch_bounds__(attn::AddBwdTile::THREADS) attn_additive_bwd_pre_##sfx(           \
        ATTN_ADDBWD_ROW_ARGS(S, SQK), float* __restrict__ st, ATTN_ADDBWD_MASK_ARGS) {                              \
        attn::AdditiveBwd<attn::S, attn::SQK>::pre(p, qp, kp, v, w, bv, dc, st, mask, bias, alibi, kv_len, q_len);  \
    }                                                                                                              \
    extern "C" __global__ void __launch_bounds__(attn::AddBwdTile::THREADS) attn_additive_bwd_dq_##sfx(            \
        ATTN_ADDBWD_ROW_ARGS(S, SQK), const float* __restrict__ st, attn::SQK::Elem* __restrict__ dqp,              \
        float* __restrict__ dbp, ATTN_ADDBWD_MASK_ARGS) {                                                           \
        attn::AdditiveBwd<attn::S, attn::SQK>::dq(p, qp, kp, v, w, bv, dc, st, dqp, dbp, mask, bias, alibi, kv_len, \
                                                  q_len);                                                          \
    }                                                                                                              \
    extern "C" __global__ void __launch_bounds__(attn::AddBwdTile::THREADS) attn_additive_bwd_dkv_##sfx(           \
        ATTN_ADDBWD_ROW_ARGS(S, SQK), const float* __restrict__ st, attn::SQK::Elem* __restrict__ dkp,              \
        attn::S::Elem* __restrict__ dv, float* __restrict__ dwp, ATTN_ADDBWD_MASK_ARGS) {                           \
        attn::AdditiveBwd<attn::S, attn::SQK>::dkv(p, qp, kp, v, w, bv, dc, st, dkp, dv, dwp, mask, bias, alibi,   \
                                                   kv_len, q_len);                                                 \
    }
#define ATTN_ADDBWD_DTYPE(dt, S)                                                                                   \
    ATTN_ADDBWD_ENTRIES(dt, S, S)                                                                                  \
    ATTN_ADDBWD_ENTRIES(dt##_qkf32, S, F32)                                                                        \
    extern "C" __global__ void attn_additive_bwd_reduce_##dt(attn_additive_bwd_params p,                          \
        const float* __restrict__ dwp, const float* __restrict__ dbp, attn::S::Elem* __restrict__ dw,             \
        attn::S::Elem* __restrict__ db) {                                                                          \
        attn::AdditiveBwdSmall<attn::S>::reduce(p, dwp, dbp, dw, db);                                              \
    }                                                                                                              \
    extern "C" __global__ void attn_additive_bwd_proj_##dt(attn_additive_proj_params p,                           \
        const float* __restrict__ dxp, const attn::S::Elem* __restrict__ wt, attn::S::Elem* __restrict__ dx) {     \
        attn::AdditiveBwdSmall<attn::S>::proj(p, dxp, wt, dx);                                                     \
    }                                                                                                              \
    extern "C" __global__ void attn_additive_bwd_wgrad_##dt(attn_additive_proj_params p,                          \
        const float* __restrict__ dxp, const attn::S::Elem* __restrict__ x, attn::S::Elem* __restrict__ dwt) {     \
        attn::AdditiveBwdSmall<attn::S>::wgrad(p, dxp, x, dwt);                                                    \
    }

ATTN_ADDBWD_DTYPE(f32, F32)
ATTN_ADDBWD_DTYPE(f16, F16)
ATTN_ADDBWD_DTYPE(bf16, BF16)
