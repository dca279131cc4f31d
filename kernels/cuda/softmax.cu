/*
 * softmax.cu: masked softmax forward and backward over the last dim of [B, H, Sq, Sk], fp32 math
 * on F32/F16/BF16 storage.
 *
 *   forward  Y = softmax(scale * X + bias + alibi) over the unmasked keys; masked -> 0; a fully
 *            masked or dead (q_len) row -> zeros; Y may be X (in place).
 *   backward dX = scale * Y (.) (dY - rowsum(dY (.) Y)); dX may be dY.
 *
 * Two shapes of the same op (see SOFTMAX_* below):
 *   - <entry>_warp: one warp per row, the row in registers (Sk <= WARP_MAX_SK), one read and one
 *     write of each element; 4 rows per 128-thread block;
 *   - <entry>: one block of BLOCK_THREADS per row for any Sk; the forward makes an online (max,
 *     sum) pass and a normalising pass, the backward a dot pass and a write pass.
 * Both use 16-byte vector loads and stores when the row is contiguous (stride 1), its start is
 * 16-byte aligned in every tensor and Sk is a multiple of the vector width; otherwise
 * coalesced scalar accesses.
 */
#include "common.cuh"
#include "mask.cuh"
#include "softmax.cuh"

namespace attn {

/* Tuning table. */
#define SOFTMAX_WARP_ROWS_PER_BLOCK 4
#define SOFTMAX_WARP_MAX_SK 1024
#define SOFTMAX_BLOCK_THREADS 256
static_assert(SOFTMAX_WARP_MAX_SK % 256 == 0, "the warp path keeps whole 16-byte vectors per lane");
static_assert(SOFTMAX_BLOCK_THREADS % 32 == 0 && SOFTMAX_BLOCK_THREADS <= 1024, "block size");
constexpr int WARP_SLOTS = SOFTMAX_WARP_MAX_SK / 32; /* values per lane */

template <typename S> struct Vec { static constexpr int N = 16 / sizeof(typename S::Elem); };

/* 16-byte vector load / store of N = Vec<S>::N elements as floats. */
template <typename S> ATTN_DEV void ld16(const typename S::Elem* p, float* out) {
    const uint4 u = *reinterpret_cast<const uint4*>(p);
    const unsigned int w[4] = {u.x, u.y, u.z, u.w};
    if (sizeof(typename S::Elem) == 4) {
#pragma unroll
        for (int e = 0; e < 4; e++) out[e] = __uint_as_float(w[e]);
    } else {
#pragma unroll
        for (int e = 0; e < 8; e++) {
            out[e] = to_f32<S>((typename S::Elem)((w[e / 2] >> (16 * (e % 2))) & 0xffffu));
        }
    }
}
template <typename S> ATTN_DEV void st16(typename S::Elem* p, const float* in) {
    unsigned int w[4];
    if (sizeof(typename S::Elem) == 4) {
#pragma unroll
        for (int e = 0; e < 4; e++) w[e] = __float_as_uint(in[e]);
    } else {
#pragma unroll
        for (int e = 0; e < 4; e++) {
            w[e] = (unsigned int)from_f32<S>(in[2 * e]) | ((unsigned int)from_f32<S>(in[2 * e + 1]) << 16);
        }
    }
    uint4 u;
    u.x = w[0];
    u.y = w[1];
    u.z = w[2];
    u.w = w[3];
    *reinterpret_cast<uint4*>(p) = u;
}

/* Block-wide reduction helpers (all threads call; red holds 32 floats). */
ATTN_DEV float block_sum(float v, float* red) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = group_sum<32>(v);
    __syncthreads();
    if (lane == 0) red[warp] = v;
    __syncthreads();
    v = lane < nw ? red[lane] : 0.0f;
    return group_sum<32>(v);
}
ATTN_DEV void block_merge(OnlineSoftmax& sm, float* red) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    float a, c;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        const float m2 = __shfl_xor_sync(0xffffffffu, sm.m, o), l2 = __shfl_xor_sync(0xffffffffu, sm.l, o);
        sm.merge(m2, l2, a, c);
    }
    __syncthreads();
    if (lane == 0) {
        red[warp] = sm.m;
        red[32 + warp] = sm.l;
    }
    __syncthreads();
    sm.reset();
    for (int w = 0; w < nw; w++) sm.merge(red[w], red[32 + w], a, c);
}

struct SoftmaxRow {
    long long x_row, y_row;
    int i, live;
};

ATTN_DEV SoftmaxRow softmax_row(const attn_softmax_params& p, long long r, RowMask& mk, const unsigned char* mask,
                                const float* bias, const float* alibi, const int* kv_len, const int* q_len) {
    SoftmaxRow w;
    const int i = (int)(r % p.seq_q);
    const long long bh = r / p.seq_q;
    const int h = (int)(bh % p.heads), b = (int)(bh / p.heads);
    mk.init(p.m, b, h, p.seq_q, p.seq_k, mask, bias, alibi, kv_len, q_len);
    w.x_row = p.x_off + b * p.x_sb + h * p.x_sh + (long long)i * p.x_sq;
    w.y_row = p.y_off + b * p.y_sb + h * p.y_sh + (long long)i * p.y_sq;
    w.i = i;
    w.live = i < mk.q_len;
    return w;
}

/* The score of key j: scale * x + additive terms, or -inf when masked (x is then ignored). */
ATTN_DEV float softmax_score(const attn_softmax_params& p, const RowMask& mk, int i, int j, float x, bool live) {
    return (live && mk.allowed(i, j)) ? fmaf(p.scale, x, mk.add(i, j)) : ATTN_NINF;
}

template <typename S>
ATTN_DEV void softmax_fwd_warp(const attn_softmax_params& p, const typename S::Elem* x, typename S::Elem* y,
                               const unsigned char* mask, const float* bias, const float* alibi, const int* kv_len,
                               const int* q_len) {
    constexpr int N = Vec<S>::N;
    const int lane = threadIdx.x & 31;
    const long long r = (long long)blockIdx.x * SOFTMAX_WARP_ROWS_PER_BLOCK + (threadIdx.x >> 5);
    const long long rows = (long long)p.batch * p.heads * p.seq_q;
    if (r >= rows) return; /* whole warp leaves together */
    RowMask mk;
    const SoftmaxRow w = softmax_row(p, r, mk, mask, bias, alibi, kv_len, q_len);
    const int sk = p.seq_k;
    const typename S::Elem* xr = x + w.x_row;
    typename S::Elem* yr = y + w.y_row;
    const bool vec = p.x_sk == 1 && p.y_sk == 1 && sk % N == 0 && aligned(xr, 16) && aligned(yr, 16);
    float v[WARP_SLOTS];
    /* slot -> key: vector layout (c * 32 + lane) * N + e, scalar layout slot * 32 + lane */
#define SLOT_KEY(slot) (vec ? (((slot) / N) * 32 + lane) * N + (slot) % N : (slot) * 32 + lane)
    if (vec) {
#pragma unroll
        for (int c = 0; c < WARP_SLOTS / N; c++) {
            const int j = (c * 32 + lane) * N;
            if (j < sk) ld16<S>(xr + j, v + c * N);
        }
    } else {
#pragma unroll
        for (int s = 0; s < WARP_SLOTS; s++) {
            const int j = s * 32 + lane;
            if (j < sk) v[s] = ld<S>(xr, (long long)j * p.x_sk);
        }
    }
    float m = ATTN_NINF;
#pragma unroll
    for (int s = 0; s < WARP_SLOTS; s++) {
        const int j = SLOT_KEY(s);
        v[s] = j < sk ? softmax_score(p, mk, w.i, j, v[s], w.live) : ATTN_NINF;
        m = nan_max(m, v[s]);
    }
    m = group_max<32>(m);
    float l = 0.0f;
#pragma unroll
    for (int s = 0; s < WARP_SLOTS; s++) {
        /* -inf (masked): marked -1, selected away below, never exp'd; live: exp >= 0 or NaN */
        v[s] = (v[s] == ATTN_NINF) ? -1.0f : expf(v[s] - m);
        l += v[s] < 0.0f ? 0.0f : v[s];
    }
    l = group_sum<32>(l);
    const float inv = l > 0.0f ? 1.0f / l : (l != l ? l : 0.0f);
#pragma unroll
    for (int s = 0; s < WARP_SLOTS; s++) v[s] = v[s] < 0.0f ? 0.0f : v[s] * inv; /* masked: exactly 0, even in a NaN row */
    if (vec) {
#pragma unroll
        for (int c = 0; c < WARP_SLOTS / N; c++) {
            const int j = (c * 32 + lane) * N;
            if (j < sk) st16<S>(yr + j, v + c * N);
        }
    } else {
#pragma unroll
        for (int s = 0; s < WARP_SLOTS; s++) {
            const int j = s * 32 + lane;
            if (j < sk) st<S>(yr, (long long)j * p.y_sk, v[s]);
        }
    }
#undef SLOT_KEY
}

template <typename S>
ATTN_DEV void softmax_fwd_block(const attn_softmax_params& p, const typename S::Elem* x, typename S::Elem* y,
                                const unsigned char* mask, const float* bias, const float* alibi, const int* kv_len,
                                const int* q_len) {
    constexpr int N = Vec<S>::N;
    __shared__ float red[64];
    RowMask mk;
    const SoftmaxRow w = softmax_row(p, blockIdx.x, mk, mask, bias, alibi, kv_len, q_len);
    const int sk = p.seq_k, tid = threadIdx.x, nt = blockDim.x;
    const typename S::Elem* xr = x + w.x_row;
    typename S::Elem* yr = y + w.y_row;
    const bool vec = p.x_sk == 1 && p.y_sk == 1 && sk % N == 0 && aligned(xr, 16) && aligned(yr, 16);
    OnlineSoftmax sm;
    sm.reset();
    float buf[N];
    if (vec) {
        for (int j0 = tid * N; j0 < sk; j0 += nt * N) {
            ld16<S>(xr + j0, buf);
            float tm = ATTN_NINF;
#pragma unroll
            for (int e = 0; e < N; e++) {
                buf[e] = softmax_score(p, mk, w.i, j0 + e, buf[e], w.live);
                tm = nan_max(tm, buf[e]);
            }
            sm.rescale(tm);
#pragma unroll
            for (int e = 0; e < N; e++) sm.l += sm.prob(buf[e]);
        }
    } else {
        for (int j = tid; j < sk; j += nt) {
            const float s = softmax_score(p, mk, w.i, j, ld<S>(xr, (long long)j * p.x_sk), w.live);
            sm.rescale(s);
            sm.l += sm.prob(s);
        }
    }
    block_merge(sm, red);
    const float inv = sm.inv_sum();
    if (vec) {
        for (int j0 = tid * N; j0 < sk; j0 += nt * N) {
            ld16<S>(xr + j0, buf);
#pragma unroll
            for (int e = 0; e < N; e++) {
                const float sc = softmax_score(p, mk, w.i, j0 + e, buf[e], w.live);
                buf[e] = sc == ATTN_NINF ? 0.0f : sm.prob(sc) * inv;
            }
            st16<S>(yr + j0, buf);
        }
    } else {
        for (int j = tid; j < sk; j += nt) {
            const float s = softmax_score(p, mk, w.i, j, ld<S>(xr, (long long)j * p.x_sk), w.live);
            st<S>(yr, (long long)j * p.y_sk, s == ATTN_NINF ? 0.0f : sm.prob(s) * inv);
        }
    }
}

struct BwdRow {
    long long y, dy, dx;
};
ATTN_DEV BwdRow bwd_row(const attn_softmax_bwd_params& p, long long r) {
    const int i = (int)(r % p.seq_q);
    const long long bh = r / p.seq_q;
    const int h = (int)(bh % p.heads), b = (int)(bh / p.heads);
    BwdRow w;
    w.y = p.y_off + b * p.y_sb + h * p.y_sh + (long long)i * p.y_sq;
    w.dy = p.dy_off + b * p.dy_sb + h * p.dy_sh + (long long)i * p.dy_sq;
    w.dx = p.dx_off + b * p.dx_sb + h * p.dx_sh + (long long)i * p.dx_sq;
    return w;
}

template <typename S>
ATTN_DEV void softmax_bwd_warp(const attn_softmax_bwd_params& p, const typename S::Elem* y,
                               const typename S::Elem* dy, typename S::Elem* dx) {
    constexpr int N = Vec<S>::N;
    const int lane = threadIdx.x & 31;
    const long long r = (long long)blockIdx.x * SOFTMAX_WARP_ROWS_PER_BLOCK + (threadIdx.x >> 5);
    if (r >= (long long)p.batch * p.heads * p.seq_q) return;
    const BwdRow w = bwd_row(p, r);
    const int sk = p.seq_k;
    const typename S::Elem* yr = y + w.y;
    const typename S::Elem* dyr = dy + w.dy;
    typename S::Elem* dxr = dx + w.dx;
    const bool vec = p.y_sk == 1 && p.dy_sk == 1 && p.dx_sk == 1 && sk % N == 0 && aligned(yr, 16) &&
                     aligned(dyr, 16) && aligned(dxr, 16);
    float a[WARP_SLOTS], g[WARP_SLOTS];
    float dot = 0.0f;
    if (vec) {
#pragma unroll
        for (int c = 0; c < WARP_SLOTS / N; c++) {
            const int j = (c * 32 + lane) * N;
            if (j < sk) {
                ld16<S>(yr + j, a + c * N);
                ld16<S>(dyr + j, g + c * N);
            } else {
#pragma unroll
                for (int e = 0; e < N; e++) a[c * N + e] = g[c * N + e] = 0.0f;
            }
        }
    } else {
#pragma unroll
        for (int s = 0; s < WARP_SLOTS; s++) {
            const int j = s * 32 + lane;
            a[s] = j < sk ? ld<S>(yr, (long long)j * p.y_sk) : 0.0f;
            g[s] = j < sk ? ld<S>(dyr, (long long)j * p.dy_sk) : 0.0f;
        }
    }
#pragma unroll
    for (int s = 0; s < WARP_SLOTS; s++) dot = fmaf(a[s], g[s], dot);
    dot = group_sum<32>(dot);
#pragma unroll
    for (int s = 0; s < WARP_SLOTS; s++) a[s] = p.scale * a[s] * (g[s] - dot);
    if (vec) {
#pragma unroll
        for (int c = 0; c < WARP_SLOTS / N; c++) {
            const int j = (c * 32 + lane) * N;
            if (j < sk) st16<S>(dxr + j, a + c * N);
        }
    } else {
#pragma unroll
        for (int s = 0; s < WARP_SLOTS; s++) {
            const int j = s * 32 + lane;
            if (j < sk) st<S>(dxr, (long long)j * p.dx_sk, a[s]);
        }
    }
}

template <typename S>
ATTN_DEV void softmax_bwd_block(const attn_softmax_bwd_params& p, const typename S::Elem* y,
                                const typename S::Elem* dy, typename S::Elem* dx) {
    constexpr int N = Vec<S>::N;
    __shared__ float red[64];
    const BwdRow w = bwd_row(p, blockIdx.x);
    const int sk = p.seq_k, tid = threadIdx.x, nt = blockDim.x;
    const typename S::Elem* yr = y + w.y;
    const typename S::Elem* dyr = dy + w.dy;
    typename S::Elem* dxr = dx + w.dx;
    const bool vec = p.y_sk == 1 && p.dy_sk == 1 && p.dx_sk == 1 && sk % N == 0 && aligned(yr, 16) &&
                     aligned(dyr, 16) && aligned(dxr, 16);
    float a[N], g[N];
    float dot = 0.0f;
    if (vec) {
        for (int j0 = tid * N; j0 < sk; j0 += nt * N) {
            ld16<S>(yr + j0, a);
            ld16<S>(dyr + j0, g);
#pragma unroll
            for (int e = 0; e < N; e++) dot = fmaf(a[e], g[e], dot);
        }
    } else {
        for (int j = tid; j < sk; j += nt) dot = fmaf(ld<S>(yr, (long long)j * p.y_sk), ld<S>(dyr, (long long)j * p.dy_sk), dot);
    }
    dot = block_sum(dot, red);
    if (vec) {
        for (int j0 = tid * N; j0 < sk; j0 += nt * N) {
            ld16<S>(yr + j0, a);
            ld16<S>(dyr + j0, g);
#pragma unroll
            for (int e = 0; e < N; e++) a[e] = p.scale * a[e] * (g[e] - dot);
            st16<S>(dxr + j0, a);
        }
    } else {
        for (int j = tid; j < sk; j += nt) {
            const float yy = ld<S>(yr, (long long)j * p.y_sk), gg = ld<S>(dyr, (long long)j * p.dy_sk);
            st<S>(dxr, (long long)j * p.dx_sk, p.scale * yy * (gg - dot));
        }
    }
}

} // namespace attn

#define ATTN_SOFTMAX_ENTRIES(dt, S, E)                                                                          \
    extern "C" __global__ void __launch_bounds__(SOFTMAX_BLOCK_THREADS) attn_masked_softmax_##dt(              \
        attn_softmax_params p, const E* x, E* y, const unsigned char* __restrict__ mask,                       \
        const float* __restrict__ bias, const float* __restrict__ alibi, const int* __restrict__ kv_len,        \
        const int* __restrict__ q_len) {                                                                        \
        attn::softmax_fwd_block<attn::S>(p, x, y, mask, bias, alibi, kv_len, q_len);                            \
    }                                                                                                           \
    extern "C" __global__ void __launch_bounds__(32 * SOFTMAX_WARP_ROWS_PER_BLOCK) attn_masked_softmax_##dt##_warp( \
        attn_softmax_params p, const E* x, E* y, const unsigned char* __restrict__ mask,                       \
        const float* __restrict__ bias, const float* __restrict__ alibi, const int* __restrict__ kv_len,        \
        const int* __restrict__ q_len) {                                                                        \
        attn::softmax_fwd_warp<attn::S>(p, x, y, mask, bias, alibi, kv_len, q_len);                             \
    }                                                                                                           \
    extern "C" __global__ void __launch_bounds__(SOFTMAX_BLOCK_THREADS) attn_masked_softmax_bwd_##dt(          \
        attn_softmax_bwd_params p, const E* y, const E* dy, E* dx) {                                            \
        attn::softmax_bwd_block<attn::S>(p, y, dy, dx);                                                         \
    }                                                                                                           \
    extern "C" __global__ void __launch_bounds__(32 * SOFTMAX_WARP_ROWS_PER_BLOCK) attn_masked_softmax_bwd_##dt##_warp( \
        attn_softmax_bwd_params p, const E* y, const E* dy, E* dx) {                                            \
        attn::softmax_bwd_warp<attn::S>(p, y, dy, dx);                                                          \
    }

ATTN_SOFTMAX_ENTRIES(f32, F32, float)
ATTN_SOFTMAX_ENTRIES(f16, F16, unsigned short)
ATTN_SOFTMAX_ENTRIES(bf16, BF16, unsigned short)
