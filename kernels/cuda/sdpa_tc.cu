// attn4j-build: archs=80 86 89 90 ptx=90
/*
 * sdpa_tc.cu: tensor-core SDPA forward for fp16 and bf16 storage (FlashAttention-2 partitioning),
 * and the split-KV combine kernel.
 *
 * STATUS: compiled with nvcc 13.0 for sm_80/86/89/90 only; it has NEVER RUN ON A GPU. The Java
 * side routes to it only behind -Dattn4j.cuda.tc=true until the verify matrix passes on a GPU.
 *
 * ENTRY POINTS (one per row of the table in tc_traits.cuh and per dtype; DT = f16 | bf16):
 *
 *   attn_sdpa_fwd_tc_<DT>_d<D>(attn_sdpa_params p,
 *       const T* q, const T* k, const T* v, T* o, float* lse,
 *       const unsigned char* mask, const float* bias, const float* alibi,
 *       const int* kv_len, const int* q_len,
 *       float* o_part, float* lse_part, int num_splits)
 *     grid (ceil(Sq / BLOCK_M), B * Hq, num_splits), block WARPS * 32, dynamic shared memory
 *     TcTile<D>::kSmemBytes (above 48 KiB: raise CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES).
 *     num_splits == 1: writes o (and lse when ATTN_F_LSE); o_part/lse_part are not touched.
 *     o_part and lse_part are the same workspace buffer (bound without offsets): the entry points
 *     address the LSE partials at o_part + partial_lse_offset() (after the O partials, 256-byte aligned).
 *     num_splits  > 1: split z takes the z-th contiguous share of the CTA's key tiles and writes
 *       o_part[((z * B*Hq + bh) * Sq + i) * D + d]  (fp32, normalised by the split's own sum) and
 *       lse_part[(z * B*Hq + bh) * Sq + i]           (log2 domain: m + log2(l); -inf when empty),
 *       and o/lse are not touched; then attn_sdpa_combine_<DT> merges the splits.
 *
 *   attn_sdpa_combine_<DT>(attn_sdpa_params p, const float* o_part, const float* lse_part,
 *       T* o, float* lse, int num_splits)
 *     grid (ceil(B*Hq*Sq / 4)), block 128: one warp per query row.
 *
 * DESIGN
 *   - A CTA owns BLOCK_M query rows of one (b, h); warp w owns rows 16w..16w+15, so every thread
 *     holds two rows (lane/4 and lane/4 + 8) and the softmax row reductions are quad shuffles.
 *   - S = Q K^T: A = Q (ldmatrix.x4 from shared, kept in registers when Q_REGS), B = K rows read
 *     with ldmatrix.x4 (no transpose: a K row is a B column). O += P V: A = P, re-packed from the
 *     S accumulators in registers (the C layout of two n8 tiles is the A layout of one k16 step),
 *     B = V read with ldmatrix.x4.trans. mma.sync.m16n8k16, fp32 accumulate.
 *   - K/V tiles stream through a STAGES-deep cp.async ring; rows past the key length (kv_len or
 *     Sk) are zero-filled by cp.async (src-size 0), Q rows past Sq or q_len likewise.
 *   - Softmax in the log2 domain: s2 = q.k * scale*log2(e) (p.scale_log2) on the plain path,
 *     exp2 through ex2.approx; the per-row max uses 0 in place of -inf so exp2(-inf - -inf) never
 *     happens; the row sum stays per thread until the end (one quad reduction).
 *   - The mask (window, kv/q lengths, bool mask, bias, ALiBi) is attn::RowMask of mask.cuh, shared
 *     with the other CUDA kernels; constants and conversions come from common.cuh, the tile table
 *     and the PTX wrappers from tc_traits.cuh. Key tiles outside RowMask::key_range of the CTA's
 *     live rows are never visited. A visited tile is "interior" when RowMask::all_allowed holds
 *     for it (every pair passes every bound, no bool mask): it takes the mask-free path. Only
 *     boundary tiles evaluate RowMask::allowed per element.
 *   - Masked keys never reach O. Their scores are forced to -inf (a select, so NaN in a masked K
 *     row is dropped) and P is 0. Because 0 * NaN = NaN inside an mma, a boundary tile whose V
 *     tile holds a non-finite value (checked in shared memory, CTA-wide) computes P V on the CUDA
 *     cores with a per-element select instead. Interior tiles have no masked keys.
 *   - Softcap, bias and ALiBi (RowMask::add) are applied per element on every tile when present
 *     (they change scores, not the tile classification). NaN in any unmasked input propagates.
 *   - Host emulation: kernels/cuda/emu/sdpa_tc_emu_test.cpp includes emu/tc_emu.h before this
 *     file; with ATTN_TC_HOST_EMULATION set, tc_traits.cuh leaves its PTX parts to it and the
 *     entry points below are not compiled (the test calls sdpa_tc_body directly).
 *   - Fully masked / empty rows: l == 0 gives O = 0 and LSE = -inf; dead rows (i >= q_len) too.
 *     A warp whose 16 rows are all dead or past Sq skips the math (it still loads and syncs).
 */
#include "common.cuh"
#include "mask.cuh"
#include "tc_traits.cuh"

namespace attn_tc {

/* Compile-time tile class for the generic tile lambda (no <type_traits>: NVRTC builds this file too). */
template <bool B> struct TcTag {
    static constexpr bool value = B;
};

template <int D, typename T>
ATTN_DEV void sdpa_tc_body(const attn_sdpa_params& p, const T* __restrict__ q,
                                             const T* __restrict__ k, const T* __restrict__ v, T* __restrict__ o,
                                             float* __restrict__ lse, const unsigned char* __restrict__ mask,
                                             const float* __restrict__ bias, const float* __restrict__ alibi,
                                             const int* __restrict__ kv_len, const int* __restrict__ q_len,
                                             float* __restrict__ o_part, float* __restrict__ lse_part,
                                             int num_splits) {
    using Tile = TcTile<D>;
    using Ty = TcType<T>;
    constexpr int BM = Tile::kBlockM, BN = Tile::kBlockN, NT = Tile::kThreads, ST = Tile::kStages;
    constexpr int CH = Tile::kChunks;
    constexpr int NTILES_N = BN / 8;  /* n8 tiles of S per warp */
    constexpr int NTILES_D = D / 8;   /* n8 tiles of O per warp */

    ATTN_TC_SMEM(smem);
    const unsigned sQ = smem_addr(smem);
    const unsigned sKV = sQ + Tile::kSmemQ; /* stage s: K at sKV + 2s*kSmemKV, V right after */

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int flags = p.flags;
    const int Sq = p.seq_q;

    const int bh = blockIdx.y, b = bh / p.heads_q, h = bh - b * p.heads_q, hk = h / p.group;
    const int m0 = blockIdx.x * BM;
    /* Window, kv/q lengths, bool mask, bias and ALiBi of this (b, h): mask.cuh. Rows >= mk.q_len
     * are dead (q lengths) or absent (Sq); keys >= mk.kv_len are out of length. */
    attn::RowMask mk;
    mk.init(p.m, b, h, Sq, p.seq_k, mask, bias, alibi, kv_len, q_len);
    const int m1 = min(m0 + BM, mk.q_len); /* live rows of this CTA: [m0, m1) */

    /* Key tiles [t_lo, t_hi) of this CTA (and split): those meeting the keys some live row may
     * attend. */
    int t_lo = 0, t_hi = 0;
    if (m0 < m1) {
        int klo, khi;
        mk.key_range(m0, m1, klo, khi);
        if (klo < khi) {
            t_lo = klo / BN;
            t_hi = (khi + BN - 1) / BN;
        }
    }
    if (num_splits > 1) {
        const int per = (t_hi - t_lo + num_splits - 1) / num_splits;
        const int base = t_lo;
        t_lo = min(base + (int)blockIdx.z * per, t_hi);
        t_hi = min(base + ((int)blockIdx.z + 1) * per, t_hi);
    }

    /* This thread's two rows: local r0 and r0 + 8. */
    const int r0 = warp * 16 + (lane >> 2);
    const bool warp_live = m0 + warp * 16 < m1;
    const int tq = lane & 3;

    const bool has_mod = (flags & (ATTN_F_SOFTCAP | ATTN_F_BIAS | ATTN_F_ALIBI)) != 0;

    float acc[NTILES_D][4];
#pragma unroll
    for (int d = 0; d < NTILES_D; ++d) acc[d][0] = acc[d][1] = acc[d][2] = acc[d][3] = 0.f;
    float row_m[2] = {ATTN_NINF, ATTN_NINF};
    float row_l[2] = {0.f, 0.f};

    const T* qb = q + p.q_off + (long long)b * p.q_sb + (long long)h * p.q_sh;
    const T* kb = k + p.k_off + (long long)b * p.k_sb + (long long)hk * p.k_sh;
    const T* vb = v + p.v_off + (long long)b * p.v_sb + (long long)hk * p.v_sh;

    auto load_kv = [&](int t, int stage) {
        const unsigned sk = sKV + (unsigned)(2 * stage) * Tile::kSmemKV;
        const unsigned sv = sk + Tile::kSmemKV;
#pragma unroll
        for (int x = 0; x < Tile::kKVLoads; ++x) {
            const int ci = tid + x * NT, row = ci / CH, ch = ci % CH;
            const int j = t * BN + row;
            const bool ok = j < mk.kv_len;
            const long long jj = ok ? j : 0;
            cp_async16(sk + Tile::off(row, ch), kb + jj * p.k_ss + ch * 8, ok);
            cp_async16(sv + Tile::off(row, ch), vb + jj * p.v_ss + ch * 8, ok);
        }
    };

    if (t_lo < t_hi) {
        /* Q tile; rows that are dead or past Sq are zero. */
#pragma unroll
        for (int x = 0; x < Tile::kQLoads; ++x) {
            const int ci = tid + x * NT, row = ci / CH, ch = ci % CH;
            const int i = m0 + row;
            const bool ok = i < mk.q_len;
            cp_async16(sQ + Tile::off(row, ch), qb + (long long)(ok ? i : 0) * p.q_ss + ch * 8, ok);
        }
#pragma unroll
        for (int s = 0; s < ST - 1; ++s) {
            if (t_lo + s < t_hi) load_kv(t_lo + s, s);
            cp_async_commit(); /* group s holds tile s (group 0 also Q) */
        }

        unsigned qf[Tile::kQInRegs ? D / 16 : 1][4];

        for (int t = t_lo; t < t_hi; ++t) {
            const int it = t - t_lo;
            if (t + ST - 1 < t_hi) load_kv(t + ST - 1, (it + ST - 1) % ST);
            cp_async_commit();
            cp_async_wait<ST - 1>(); /* group it (tile t) has landed */
            __syncthreads();

            const unsigned sk = sKV + (unsigned)(2 * (it % ST)) * Tile::kSmemKV;
            const unsigned sv = sk + Tile::kSmemKV;
            const int n0 = t * BN;

            if constexpr (Tile::kQInRegs) {
                if (it == 0) {
#pragma unroll
                    for (int kk = 0; kk < D / 16; ++kk)
                        ldsm_x4(qf[kk], sQ + Tile::off(warp * 16 + (lane & 15), kk * 2 + (lane >> 4)));
                }
            }

            /* One K/V tile; kBoundary selects the masked instance at compile time. */
            auto tile = [&](auto boundary_tag) {
                constexpr bool boundary = decltype(boundary_tag)::value;
                bool v_bad = false;
                if constexpr (boundary) {
                    bool bad = false;
#pragma unroll
                    for (int x = 0; x < Tile::kKVLoads; ++x) {
                        const int ci = tid + x * NT, row = ci / CH, ch = ci % CH;
                        const uint4 w = lds128(sv + Tile::off(row, ch));
                        bad |= nonfinite2<T>(w.x) | nonfinite2<T>(w.y) | nonfinite2<T>(w.z) | nonfinite2<T>(w.w);
                    }
                    v_bad = __syncthreads_or(bad) != 0;
                }

                /* A warp whose 16 rows are all dead or past Sq has nothing to compute (decode:
                 * Sq = 1 leaves 7 of 8 warps idle); it still loads tiles and meets the barriers. */
                if (!warp_live) return;

                /* ---- S = Q K^T ---- */
                float s[NTILES_N][4];
#pragma unroll
                for (int n = 0; n < NTILES_N; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
#pragma unroll
                for (int kk = 0; kk < D / 16; ++kk) {
                    unsigned a[4];
                    if constexpr (Tile::kQInRegs) {
                        a[0] = qf[kk][0]; a[1] = qf[kk][1]; a[2] = qf[kk][2]; a[3] = qf[kk][3];
                    } else {
                        ldsm_x4(a, sQ + Tile::off(warp * 16 + (lane & 15), kk * 2 + (lane >> 4)));
                    }
#pragma unroll
                    for (int np = 0; np < BN / 16; ++np) {
                        unsigned kf[4];
                        ldsm_x4(kf, sk + Tile::off(np * 16 + (lane & 7) + ((lane >> 4) << 3), kk * 2 + ((lane >> 3) & 1)));
                        mma16816<T>(s[2 * np], a, kf[0], kf[1]);
                        mma16816<T>(s[2 * np + 1], a, kf[2], kf[3]);
                    }
                }

                /* ---- scores in the log2 domain, masks on boundary tiles ---- */
                unsigned mbits = 0; /* bit 4n + e: element s[n][e] is masked */
#pragma unroll
                for (int n = 0; n < NTILES_N; ++n) {
#pragma unroll
                    for (int e = 0; e < 4; ++e) {
                        const int r = e >> 1;
                        const int i = m0 + r0 + 8 * r;
                        const int j = n0 + n * 8 + 2 * tq + (e & 1);
                        /* ok implies a live row and j < kv_len (so add() reads in bounds); on an
                         * interior tile every key is in length and window, only rows may be dead. */
                        bool ok = true;
                        if constexpr (boundary) ok = i < mk.q_len && mk.allowed(i, j);
                        float x = s[n][e];
                        if (!has_mod) {
                            x *= p.scale_log2;
                        } else {
                            x *= p.scale;
                            if (flags & ATTN_F_SOFTCAP) x = p.softcap * tanhf(x / p.softcap);
                            if (ok && i < mk.q_len) x += mk.add(i, j); /* bias, ALiBi */
                            x *= ATTN_LOG2E;
                        }
                        if (!ok) {
                            x = ATTN_NINF; /* a select: NaN in a masked score is dropped */
                            mbits |= 1u << (4 * n + e);
                        }
                        s[n][e] = x;
                    }
                }

                /* ---- online softmax; s becomes P ---- */
#pragma unroll
                for (int r = 0; r < 2; ++r) {
                    float mx = ATTN_NINF;
#pragma unroll
                    for (int n = 0; n < NTILES_N; ++n) mx = fmaxf(mx, fmaxf(s[n][2 * r], s[n][2 * r + 1]));
                    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
                    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
                    const float m_new = fmaxf(row_m[r], mx);
                    const float m_use = m_new == ATTN_NINF ? 0.f : m_new;
                    const float alpha = ex2(row_m[r] - m_use);
                    row_m[r] = m_new;
                    float sum = 0.f;
#pragma unroll
                    for (int n = 0; n < NTILES_N; ++n) {
                        s[n][2 * r] = ex2(s[n][2 * r] - m_use);
                        s[n][2 * r + 1] = ex2(s[n][2 * r + 1] - m_use);
                        sum += s[n][2 * r] + s[n][2 * r + 1];
                    }
                    row_l[r] = row_l[r] * alpha + sum;
#pragma unroll
                    for (int d = 0; d < NTILES_D; ++d) {
                        acc[d][2 * r] *= alpha;
                        acc[d][2 * r + 1] *= alpha;
                    }
                }

                /* ---- O += P V ---- */
                if (!boundary || !v_bad) {
#pragma unroll
                    for (int kk = 0; kk < BN / 16; ++kk) {
                        unsigned a[4];
                        a[0] = Ty::pack(s[2 * kk][0], s[2 * kk][1]);
                        a[1] = Ty::pack(s[2 * kk][2], s[2 * kk][3]);
                        a[2] = Ty::pack(s[2 * kk + 1][0], s[2 * kk + 1][1]);
                        a[3] = Ty::pack(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
                        for (int dp = 0; dp < D / 16; ++dp) {
                            unsigned vf[4];
                            ldsm_x4_t(vf, sv + Tile::off(kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3), dp * 2 + (lane >> 4)));
                            mma16816<T>(acc[2 * dp], a, vf[0], vf[1]);
                            mma16816<T>(acc[2 * dp + 1], a, vf[2], vf[3]);
                        }
                    }
                } else if constexpr (boundary) {
                    /* Rare: a boundary tile with inf/NaN in V. CUDA-core P V with a select on the mask,
                     * so a masked key's V never reaches O. P[row][j] lives in lane (lane & ~3) | (j%8)/2. */
                    const unsigned char* vsm = smem + (sv - sQ);
#pragma unroll
                    for (int n = 0; n < NTILES_N; ++n) {
#pragma unroll 1
                        for (int jj = 0; jj < 8; ++jj) {
                            const int src = (lane & ~3) | (jj >> 1);
                            const bool odd = (jj & 1) != 0;
                            const float p0 = __shfl_sync(0xffffffffu, odd ? s[n][1] : s[n][0], src);
                            const float p1 = __shfl_sync(0xffffffffu, odd ? s[n][3] : s[n][2], src);
                            const unsigned bits = __shfl_sync(0xffffffffu, mbits, src);
                            const bool mk0 = (bits >> (4 * n + (odd ? 1 : 0))) & 1u;
                            const bool mk1 = (bits >> (4 * n + 2 + (odd ? 1 : 0))) & 1u;
                            const int row = n * 8 + jj;
#pragma unroll
                            for (int d = 0; d < NTILES_D; ++d) {
                                const T* vp = reinterpret_cast<const T*>(vsm + Tile::off(row, d)) + 2 * tq;
                                const float v0 = Ty::to_float(vp[0]), v1 = Ty::to_float(vp[1]);
                                if (!mk0) {
                                    acc[d][0] += p0 * v0;
                                    acc[d][1] += p0 * v1;
                                }
                                if (!mk1) {
                                    acc[d][2] += p1 * v0;
                                    acc[d][3] += p1 * v1;
                                }
                            }
                        }
                    }
                }
            };
            /* Tile class, CTA-uniform: interior tiles have no masked pair for any live row and need
             * no per-element bounds. */
            const bool boundary = !mk.all_allowed(m0, m1, n0, n0 + BN);
            if (boundary)
                tile(TcTag<true>{});
            else
                tile(TcTag<false>{});
            __syncthreads(); /* the stage is refilled by the next iteration's prefetch */
        }
        cp_async_wait<0>();
    }

    /* ---- epilogue ---- */
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        row_l[r] += __shfl_xor_sync(0xffffffffu, row_l[r], 1);
        row_l[r] += __shfl_xor_sync(0xffffffffu, row_l[r], 2);
    }
    const long long BH = (long long)p.batch * p.heads_q;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        const int i = m0 + r0 + 8 * r;
        if (i >= Sq) continue;
        const float l = row_l[r];
        const bool empty = i >= mk.q_len || l == 0.f; /* dead row, or no key attended */
        const float inv = empty ? 0.f : 1.f / l;      /* NaN l stays NaN */
        const float lse2 = empty ? ATTN_NINF : row_m[r] + log2f(l);
        if (num_splits == 1) {
            T* orow = o + p.o_off + (long long)b * p.o_sb + (long long)h * p.o_sh + (long long)i * p.o_ss;
#pragma unroll
            for (int d = 0; d < NTILES_D; ++d) {
                const float x0 = empty ? 0.f : acc[d][2 * r] * inv, x1 = empty ? 0.f : acc[d][2 * r + 1] * inv;
                *reinterpret_cast<unsigned*>(orow + d * 8 + 2 * tq) = Ty::pack(x0, x1);
            }
            if ((flags & ATTN_F_LSE) && tq == 0)
                lse[p.lse_off + (long long)b * p.lse_sb + (long long)h * p.lse_sh + (long long)i * p.lse_ss] =
                    empty ? ATTN_NINF : lse2 * ATTN_LN2;
        } else {
            const long long prow = ((long long)blockIdx.z * BH + bh) * Sq + i;
            float* orow = o_part + prow * D;
#pragma unroll
            for (int d = 0; d < NTILES_D; ++d) {
                float2 w;
                w.x = empty ? 0.f : acc[d][2 * r] * inv;
                w.y = empty ? 0.f : acc[d][2 * r + 1] * inv;
                *reinterpret_cast<float2*>(orow + d * 8 + 2 * tq) = w;
            }
            if (tq == 0) lse_part[prow] = lse2;
        }
    }
}

/* Merges num_splits partial rows: O = sum_z 2^(lse_z - M) O_z / sum_z 2^(lse_z - M). */
template <typename T>
ATTN_DEV void sdpa_combine_body(const attn_sdpa_params& p, const float* __restrict__ o_part,
                                                  const float* __restrict__ lse_part, T* __restrict__ o,
                                                  float* __restrict__ lse, int num_splits) {
    const int lane = threadIdx.x & 31;
    const long long rows = (long long)p.batch * p.heads_q * p.seq_q;
    const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const int Dv = p.head_dim_v;
    const int i = (int)(row % p.seq_q);
    const int bh = (int)(row / p.seq_q);
    const int b = bh / p.heads_q, h = bh - b * p.heads_q;

    float M = ATTN_NINF;
    bool nan = false;
    for (int z = 0; z < num_splits; ++z) {
        const float x = lse_part[z * rows + row];
        nan |= x != x;
        M = fmaxf(M, x);
    }
    const bool empty = !nan && M == ATTN_NINF;
    float W = 0.f;
    if (!nan && !empty)
        for (int z = 0; z < num_splits; ++z) W += ex2(lse_part[z * rows + row] - M);
    const float inv = 1.f / W;

    T* orow = o + p.o_off + (long long)b * p.o_sb + (long long)h * p.o_sh + (long long)i * p.o_ss;
    for (int d = lane; d < Dv; d += 32) {
        float x;
        if (nan) {
            x = ATTN_NAN;
        } else if (empty) {
            x = 0.f;
        } else {
            x = 0.f;
            for (int z = 0; z < num_splits; ++z) {
                const float w = ex2(lse_part[z * rows + row] - M);
                if (w > 0.f) x += w * o_part[(z * rows + row) * Dv + d];
            }
            x *= inv;
        }
        orow[d] = TcType<T>::from_float(x);
    }
    if (lane == 0 && (p.flags & ATTN_F_LSE))
        lse[p.lse_off + (long long)b * p.lse_sb + (long long)h * p.lse_sh + (long long)i * p.lse_ss] =
            nan ? ATTN_NAN : empty ? ATTN_NINF : (M + log2f(W)) * ATTN_LN2;
}

/* The LSE partials of the split-KV workspace: after the O partials [num_splits, B*Hq*Sq, Dv] (fp32), at
 * the next 256-byte boundary (io.github.attn4j.cuda.TcPlan.partialLseOffset). The backend binds the
 * workspace to o_part and to lse_part alike, without an offset (buffers carry none), so the entry
 * points derive the LSE partials' address from o_part here. */
ATTN_DEV long long partial_lse_offset(const attn_sdpa_params& p, int num_splits) {
    const long long bytes = (long long)num_splits * p.batch * p.heads_q * p.seq_q * p.head_dim_v * 4;
    return (bytes + 255) / 256 * 64;
}

} // namespace attn_tc

#ifndef ATTN_TC_HOST_EMULATION
/* mma.sync with bf16 and cp.async/ldmatrix need sm_80. A build for an older target (the backend's
 * fatbin also covers sm_75) gets entries that trap; the Java plan never launches them there. */
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
#define ATTN_TC_BODY(...) __VA_ARGS__
#else
#define ATTN_TC_BODY(...) __trap()
#endif

#define ATTN_TC_ENTRY(D_, BM_, BN_, W_, ST_, QR_, SW_, DT_, T_)                                                   \
    extern "C" __global__ void __launch_bounds__(W_ * 32, 1) attn_sdpa_fwd_tc_##DT_##_d##D_(                     \
        attn_sdpa_params p, const T_* q, const T_* k, const T_* v, T_* o, float* lse, const unsigned char* mask, \
        const float* bias, const float* alibi, const int* kv_len, const int* q_len, float* o_part,               \
        float* lse_part, int num_splits) {                                                                       \
        (void)lse_part; /* the same workspace as o_part: attn_tc::partial_lse_offset */                        \
        ATTN_TC_BODY(attn_tc::sdpa_tc_body<D_, T_>(p, q, k, v, o, lse, mask, bias, alibi, kv_len, q_len, o_part,  \
                                                   o_part + attn_tc::partial_lse_offset(p, num_splits), num_splits)); \
    }
#define ATTN_TC_ENTRY_F16(D_, BM_, BN_, W_, ST_, QR_, SW_) ATTN_TC_ENTRY(D_, BM_, BN_, W_, ST_, QR_, SW_, f16, attn_tc_f16)
#define ATTN_TC_ENTRY_BF16(D_, BM_, BN_, W_, ST_, QR_, SW_) \
    ATTN_TC_ENTRY(D_, BM_, BN_, W_, ST_, QR_, SW_, bf16, attn_tc_bf16)
ATTN_TC_TRAITS_TABLE(ATTN_TC_ENTRY_F16)
ATTN_TC_TRAITS_TABLE(ATTN_TC_ENTRY_BF16)

extern "C" __global__ void __launch_bounds__(128) attn_sdpa_combine_f16(attn_sdpa_params p, const float* o_part,
                                                                        const float* lse_part, attn_tc_f16* o, float* lse,
                                                                        int num_splits) {
    (void)lse_part; /* the same workspace as o_part: attn_tc::partial_lse_offset */
    ATTN_TC_BODY(attn_tc::sdpa_combine_body<attn_tc_f16>(p, o_part, o_part + attn_tc::partial_lse_offset(p, num_splits), o,
                                                         lse, num_splits));
}
extern "C" __global__ void __launch_bounds__(128) attn_sdpa_combine_bf16(attn_sdpa_params p, const float* o_part,
                                                                         const float* lse_part, attn_tc_bf16* o,
                                                                         float* lse, int num_splits) {
    (void)lse_part; /* the same workspace as o_part: attn_tc::partial_lse_offset */
    ATTN_TC_BODY(attn_tc::sdpa_combine_body<attn_tc_bf16>(p, o_part, o_part + attn_tc::partial_lse_offset(p, num_splits),
                                                          o, lse, num_splits));
}
#endif /* !ATTN_TC_HOST_EMULATION */
