/*
 * sdpa_decode.cu: split-KV ("flash-decoding") SDPA for few query rows on fp32 SIMT cores (F32/F16/BF16
 * storage), and the combine kernel that merges the splits through their LSE. The same entries and
 * arguments (io.github.attn4j.spi.KernelArgs.sdpaDecode, sdpaCombine) as kernels/opencl/sdpa_decode.cl.
 *
 * attn_sdpa_decode_<dt>[_d<DMAX>]: grid (B * Hkv, num_splits, chunks), THREADS threads. A CTA owns
 * one kv head hk of one batch b, one split z of the keys and one chunk of RB "packed rows": the
 * G * Sq rows (g, i) of the G = Hq / Hkv query heads that share hk (GQA packing), r = g * Sq + i,
 * head h = hk * G + g. Every K/V tile it loads serves all of its rows, so each K/V byte is read once
 * per group (per chunk of RB rows: MQA with G > RB reads it ceil(G * Sq / RB) times). The keys
 * [lo, hi) that the window and kv length allow for some live row of the chunk are cut into
 * num_splits shares of whole BN-key tiles; split z takes the z-th. Per tile of BN keys:
 *   - warp w loads K rows w, w + WARPS, .. (lanes along d, coalesced; rows through the block table
 *     when paged, sdpa_kv_row of sdpa.cu's semantics) into shared memory as fp32, and notes the V
 *     row offsets;
 *   - scores: lane = key, warp w owns the rows w + WARPS * u; Q (shared, fp32) and K are read as
 *     float4, the mask (window, kv/q length, bool mask, bias, ALiBi, softcap: every option of the
 *     forward, per row's head) is applied per element, and each row's online-softmax state
 *     (softmax.cuh, identical in the row's 32 lanes) takes the tile; P goes to shared memory
 *     (-1 marks a masked pair, SELECTED away as in sdpa.cu, so NaN in a masked V row never counts);
 *   - O += P V: thread (column group, row group) streams its V columns straight from global memory
 *     (coalesced along the row, each V element read once per CTA and row group).
 * The split writes its partial row normalised by its own sum and its LSE in log2 units (-inf when
 * it saw no key) into the workspace, laid out as in sdpa_decode.cl:
 *   o_part[(z * rows + row) * Dv + x], lse_part[num_splits * rows * Dv + z * rows + row],
 *   rows = B * Hq * Sq, row = (b * Hq + h) * Sq + i;
 * o_part and lse_part are the same buffer (the workspace; buffers are bound without offsets). A sink
 * (ATTN_F_SINKS) joins split 0's sum of a live row, so the merged denominator holds it once; a dead
 * row (i >= q_len) writes O = 0 and LSE = -inf in every split.
 *
 * attn_sdpa_combine_<dt>: a warp per row (lanes along Dv): LSE = log2 sum_z 2^lse_z,
 * O = sum_z 2^(lse_z - LSE) O_z, in a fixed split order (deterministic); every split empty gives
 * O = 0 and LSE = -inf (the sink's value when a sink joined); a NaN partial makes the row NaN.
 *
 * Dynamic shared memory: DecodeSmem<DMAX>::FLOATS * 4 bytes (CudaTables.DecodeTile computes the same
 * value from the same table).
 */
#include "common.cuh"
#include "mask.cuh"
#include "softmax.cuh"

namespace attn {

/* The tile table: DMAX (max(D, Dv) bound), RB (packed rows per CTA), BN (keys per tile), THREADS. */
#define ATTN_DECODE_TILES(X) \
    X(64, 16, 32, 128)       \
    X(128, 16, 32, 128)      \
    X(256, 8, 32, 128)

#define ATTN_DECODE_COMBINE_THREADS 128

template <int DMAX> struct DecodeTile;
#define ATTN_DECODE_TILE_DEF(D_, RB_, BN_, T_)                                                          \
    template <> struct DecodeTile<D_> {                                                                 \
        static constexpr int RB = RB_, BN = BN_, THREADS = T_, WARPS = T_ / 32;                         \
        static_assert(BN_ == 32, "the score loop gives each lane of a warp one key of the tile");       \
        static_assert(T_ % 32 == 0 && RB_ % (T_ / 32) == 0, "each warp owns RB / WARPS rows");          \
        static_assert(D_ % 32 == 0, "DMAX is a multiple of 32 (columns per thread)");                   \
        /* O += P V: CL threads along the columns (CPT each), RG groups along the rows (RPT each) */    \
        static constexpr int CL = D_ < T_ ? D_ : T_, RG = T_ / CL, CPT = D_ / CL, RPT = RB_ / RG;       \
        static_assert(CL % 32 == 0 && RB_ % RG == 0, "a warp's threads share their rows in O += P V"); \
    };
ATTN_DECODE_TILES(ATTN_DECODE_TILE_DEF)

/* Shared memory, in floats: Q [RB][DMAX+4], K [BN][DMAX+4] (rows 16-byte aligned for float4, the +4
 * keeps the lane-per-key float4 reads free of bank conflicts), P [RB][BN], the per-row factor
 * [RB], the V row offsets of the tile [BN] (long long, at an even float index). */
template <int DMAX> struct DecodeSmem {
    typedef DecodeTile<DMAX> T;
    static constexpr int QS = DMAX + 4, KS = DMAX + 4, PS = T::BN;
    static constexpr int Q0 = 0, K0 = Q0 + T::RB * QS, P0 = K0 + T::BN * KS, A0 = P0 + T::RB * PS;
    static constexpr int VR0 = (A0 + T::RB + 1) / 2 * 2;
    static constexpr int FLOATS = VR0 + 2 * T::BN;
    static_assert(Q0 % 4 == 0 && K0 % 4 == 0 && P0 % 4 == 0, "float4 rows");
    static_assert(FLOATS * 4 <= 48 * 1024, "the decode tile stays within the default 48 KiB per block");
};

ATTN_DEV float f4_at(const float4& v, int t) { return t == 0 ? v.x : t == 1 ? v.y : t == 2 ? v.z : v.w; }

/* The element offset of key row j of batch b from the K or V base (as sdpa.cu's sdpa_kv_row). */
ATTN_DEV long long decode_kv_row(const attn_sdpa_params& p, const int* bt, int b, int j, long long sb, long long ss) {
    if (!(p.flags & ATTN_F_PAGED)) return (long long)j * ss;
    const int e = j / p.page_size;
    const int pg = min(max(bt[p.bt_off + b * p.bt_sb + e * p.bt_sp], 0), p.num_pages - 1);
    return (long long)pg * sb + (long long)(j - e * p.page_size) * ss;
}

/* The mask of head h of batch b, aligned per sequence when ATTN_F_ALIGN_KV. */
ATTN_DEV RowMask decode_mask(const attn_sdpa_params& p, int b, int h, const unsigned char* mask, const float* bias,
                             const float* alibi, const int* kv_len, const int* q_len) {
    RowMask mk;
    mk.init(p.m, b, h, p.seq_q, p.seq_k, mask, bias, alibi, kv_len, q_len);
    if (p.flags & ATTN_F_ALIGN_KV) mk.align_off += mk.kv_len;
    return mk;
}

template <typename S, int DMAX>
ATTN_DEV void sdpa_decode(const attn_sdpa_params& p, const typename S::Elem* __restrict__ q,
                          const typename S::Elem* __restrict__ k, const typename S::Elem* __restrict__ v,
                          const unsigned char* mask, const float* bias, const float* alibi, const int* kv_len,
                          const int* q_len, const float* sinks, const int* block_table, float* __restrict__ o_part,
                          float* __restrict__ lse_part, int num_splits) {
    typedef DecodeTile<DMAX> T;
    typedef DecodeSmem<DMAX> L;
    constexpr int RB = T::RB, BN = T::BN, THREADS = T::THREADS, WARPS = T::WARPS, RW = RB / WARPS;
    constexpr int CL = T::CL, RG = T::RG, CPT = T::CPT, RPT = T::RPT;
    ATTN_DYNAMIC_SMEM(smem);
    float* Qs = smem + L::Q0;
    float* Ks = smem + L::K0;
    float* Ps = smem + L::P0;
    float* As = smem + L::A0;
    long long* Vrow = reinterpret_cast<long long*>(smem + L::VR0);

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int bk = blockIdx.x, z = blockIdx.y;
    const int b = bk / p.heads_kv, hk = bk - b * p.heads_kv;
    const int G = p.group, Sq = p.seq_q, D = p.head_dim, Dv = p.head_dim_v;
    const int D4 = (D + 3) & ~3;
    const int r0 = blockIdx.z * RB, nr = min(RB, G * Sq - r0);
    const bool paged = (p.flags & ATTN_F_PAGED) != 0;

    /* the keys some live row of the chunk may attend (window, kv length and q length are per batch) */
    const RowMask mb = decode_mask(p, b, hk * G, mask, bias, alibi, kv_len, q_len);
    const int rl = r0 + nr - 1;
    int i_lo = 0, i_hi = Sq;
    if (r0 / Sq == rl / Sq) {
        i_lo = r0 % Sq;
        i_hi = rl % Sq + 1;
    }
    i_hi = min(i_hi, mb.q_len);
    int lo = 0, hi = 0;
    if (i_lo < i_hi) mb.key_range(i_lo, i_hi, lo, hi);
    const int tiles = (hi - lo + BN - 1) / BN;
    const int per = (tiles + num_splits - 1) / num_splits * BN;
    const int j_begin = lo + z * per, j_end = min(hi, j_begin + per);

    const typename S::Elem* kb = k + p.k_off + (paged ? 0 : b * p.k_sb) + hk * p.k_sh;
    const typename S::Elem* vb = v + p.v_off + (paged ? 0 : b * p.v_sb) + hk * p.v_sh;

    /* Q rows of the chunk, fp32, zero past D and for dead rows */
    for (int e = tid; e < RB * D4; e += THREADS) {
        const int r = e / D4, d = e - r * D4;
        float x = 0.0f;
        if (r < nr && d < D) {
            const int g = (r0 + r) / Sq, i = (r0 + r) - g * Sq;
            if (i < mb.q_len) x = ld<S>(q, p.q_off + b * p.q_sb + (hk * G + g) * p.q_sh + (long long)i * p.q_ss + d * p.q_sd);
        }
        Qs[r * L::QS + d] = x;
    }

    OnlineSoftmax sm[RW];
#pragma unroll
    for (int u = 0; u < RW; u++) sm[u].reset();
    float acc[RPT][CPT];
#pragma unroll
    for (int u = 0; u < RPT; u++)
#pragma unroll
        for (int c = 0; c < CPT; c++) acc[u][c] = 0.0f;
    const int cg = tid % CL, rg = tid / CL;
    const bool softcap = (p.flags & ATTN_F_SOFTCAP) != 0;

    for (int j0 = j_begin; j0 < j_end; j0 += BN) {
        const int nk = min(BN, j_end - j0);
        __syncthreads(); /* the previous tile's readers are done (and Qs is written) */
        for (int r = warp; r < BN; r += WARPS) {
            long long kr = 0;
            if (r < nk) {
                kr = decode_kv_row(p, block_table, b, j0 + r, p.k_sb, p.k_ss);
                if (lane == 0) Vrow[r] = decode_kv_row(p, block_table, b, j0 + r, p.v_sb, p.v_ss);
            }
            for (int d = lane; d < D4; d += 32) Ks[r * L::KS + d] = (r < nk && d < D) ? ld<S>(kb, kr + d * p.k_sd) : 0.0f;
        }
        __syncthreads();

        /* scores: this lane's key against the warp's rows */
        float s[RW];
#pragma unroll
        for (int u = 0; u < RW; u++) s[u] = 0.0f;
        for (int d = 0; d < D4; d += 4) {
            const float4 kx = *reinterpret_cast<const float4*>(Ks + lane * L::KS + d);
#pragma unroll
            for (int u = 0; u < RW; u++) {
                if (warp + WARPS * u < nr) { /* warp-uniform: rows past the chunk's end are skipped */
                    const float4 qx = *reinterpret_cast<const float4*>(Qs + (warp + WARPS * u) * L::QS + d);
                    s[u] = fmaf(qx.x, kx.x, fmaf(qx.y, kx.y, fmaf(qx.z, kx.z, fmaf(qx.w, kx.w, s[u]))));
                }
            }
        }
        const int j = j0 + lane;
#pragma unroll
        for (int u = 0; u < RW; u++) {
            const int r = warp + WARPS * u;
            if (r >= nr) { /* warp-uniform: no row here */
                Ps[r * L::PS + lane] = -1.0f;
                if (lane == 0) As[r] = 1.0f;
                continue;
            }
            float x = ATTN_NINF;
            if (lane < nk) {
                const int g = (r0 + r) / Sq, i = (r0 + r) - g * Sq;
                const RowMask mk = decode_mask(p, b, hk * G + g, mask, bias, alibi, kv_len, q_len);
                if (i < mk.q_len && mk.allowed(i, j)) {
                    x = s[u] * p.scale;
                    if (softcap) x = p.softcap * tanhf(x / p.softcap);
                    x += mk.add(i, j);
                }
            }
            const float alpha = sm[u].rescale(group_max<32>(x));
            const float pr = sm[u].prob(x);
            sm[u].l += group_sum<32>(pr);
            Ps[r * L::PS + lane] = x == ATTN_NINF ? -1.0f : pr; /* -1 marks "select away" */
            if (lane == 0) As[r] = alpha;
        }
        __syncthreads();

        /* O += P V over the tile's keys, four at a time (P read as float4, V straight from global) */
#pragma unroll
        for (int u = 0; u < RPT; u++) {
            const float a = As[rg + RG * u];
#pragma unroll
            for (int c = 0; c < CPT; c++) acc[u][c] *= a;
        }
        for (int jj = 0; jj < nk; jj += 4) {
            float vx[4][CPT];
#pragma unroll
            for (int t = 0; t < 4; t++) {
                const long long vr = jj + t < nk ? Vrow[jj + t] : 0;
#pragma unroll
                for (int c = 0; c < CPT; c++) {
                    const int col = cg + CL * c;
                    vx[t][c] = (jj + t < nk && col < Dv) ? ld<S>(vb, vr + col * p.v_sd) : 0.0f;
                }
            }
#pragma unroll
            for (int u = 0; u < RPT; u++) {
                if (rg + RG * u >= nr) continue; /* warp-uniform */
                const float4 p4 = *reinterpret_cast<const float4*>(Ps + (rg + RG * u) * L::PS + jj);
#pragma unroll
                for (int t = 0; t < 4; t++) {
                    const float pr = f4_at(p4, t);
                    if (!(pr < 0.0f)) { /* NaN passes: it must propagate */
#pragma unroll
                        for (int c = 0; c < CPT; c++) acc[u][c] = fmaf(pr, vx[t][c], acc[u][c]);
                    }
                }
            }
        }
    }

    /* each row's factor (sink merged into split 0) and partial LSE, from the row's score warp */
    __syncthreads(); /* every thread has read the last tile's factors in As */
    const long long rows = (long long)p.batch * p.heads_q * Sq;
    float* lse_out = lse_part + (long long)num_splits * rows * Dv;
#pragma unroll
    for (int u = 0; u < RW; u++) {
        const int r = warp + WARPS * u;
        if (r < nr) {
            const int g = (r0 + r) / Sq, i = (r0 + r) - g * Sq, h = hk * G + g;
            float inv = sm[u].inv_sum();
            if ((p.flags & ATTN_F_SINKS) && z == 0 && i < mb.q_len) {
                float a_mine, a_sink;
                sm[u].merge(sinks[p.sinks_off + h], 1.0f, a_mine, a_sink);
                inv = a_mine * sm[u].inv_sum();
            }
            if (lane == 0) {
                As[r] = inv;
                lse_out[z * rows + ((long long)b * p.heads_q + h) * Sq + i] = sm[u].lse() * ATTN_LOG2E;
            }
        }
    }
    __syncthreads();
#pragma unroll
    for (int u = 0; u < RPT; u++) {
        const int r = rg + RG * u;
        if (r < nr) {
            const int g = (r0 + r) / Sq, i = (r0 + r) - g * Sq;
            float* orow = o_part + (z * rows + ((long long)b * p.heads_q + hk * G + g) * Sq + i) * Dv;
            const float inv = As[r];
#pragma unroll
            for (int c = 0; c < CPT; c++) {
                const int col = cg + CL * c;
                if (col < Dv) orow[col] = inv == 0.0f ? 0.0f : acc[u][c] * inv;
            }
        }
    }
}

/* One warp per row: merges the num_splits partial rows of the workspace into O and LSE. */
template <typename S>
ATTN_DEV void sdpa_combine(const attn_sdpa_params& p, const float* __restrict__ o_part, const float* __restrict__ lse_part,
                           typename S::Elem* __restrict__ o, float* __restrict__ lse, int num_splits) {
    const int lane = threadIdx.x & 31;
    const long long rows = (long long)p.batch * p.heads_q * p.seq_q;
    const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const float* lz = lse_part + (long long)num_splits * rows * p.head_dim_v;
    const int Dv = p.head_dim_v;
    const int i = (int)(row % p.seq_q);
    const int bh = (int)(row / p.seq_q);
    const int b = bh / p.heads_q, h = bh - b * p.heads_q;
    float mx = ATTN_NINF;
    bool nan = false;
    for (int z = 0; z < num_splits; z++) {
        const float x = lz[z * rows + row];
        nan |= x != x;
        mx = fmaxf(mx, x);
    }
    const bool empty = !nan && mx == ATTN_NINF;
    float w = 0.0f;
    if (!nan && !empty)
        for (int z = 0; z < num_splits; z++) w += exp2f(lz[z * rows + row] - mx);
    const float inv = 1.0f / w;
    typename S::Elem* orow = o + p.o_off + (long long)b * p.o_sb + (long long)h * p.o_sh + (long long)i * p.o_ss;
    for (int d = lane; d < Dv; d += 32) {
        float y = 0.0f;
        if (nan) {
            y = ATTN_NAN;
        } else if (!empty) {
            for (int z = 0; z < num_splits; z++) {
                const float wz = exp2f(lz[z * rows + row] - mx);
                if (wz > 0.0f) y += wz * o_part[(z * rows + row) * Dv + d];
            }
            y *= inv;
        }
        st<S>(orow, (long long)d * p.o_sd, y);
    }
    if (lane == 0 && (p.flags & ATTN_F_LSE))
        lse[p.lse_off + (long long)b * p.lse_sb + (long long)h * p.lse_sh + (long long)i * p.lse_ss] =
            nan ? ATTN_NAN : empty ? ATTN_NINF : (mx + log2f(w)) * ATTN_LN2;
}

} // namespace attn

/* __launch_bounds__ minimum blocks per SM: caps registers at 65536 / (4 * 128) = 128, where ptxas' own
 * choice (64 to 96 on sm_80..sm_90) spilled. */
#define ATTN_DECODE_MIN_BLOCKS 4

#define ATTN_DECODE_ENTRY(name, S, E, DMAX)                                                                      \
    extern "C" __global__ void __launch_bounds__(attn::DecodeTile<DMAX>::THREADS, ATTN_DECODE_MIN_BLOCKS) name(  \
        attn_sdpa_params p, const E* __restrict__ q, const E* __restrict__ k, const E* __restrict__ v,           \
        E* __restrict__ o, float* __restrict__ lse, const unsigned char* __restrict__ mask,                      \
        const float* __restrict__ bias, const float* __restrict__ alibi, const int* __restrict__ kv_len,          \
        const int* __restrict__ q_len, const float* __restrict__ sinks, const int* __restrict__ block_table,      \
        float* o_part, float* lse_part, int num_splits) {                                                        \
        (void)o;                                                                                                 \
        (void)lse;                                                                                               \
        attn::sdpa_decode<attn::S, DMAX>(p, q, k, v, mask, bias, alibi, kv_len, q_len, sinks, block_table, o_part, \
                                         lse_part, num_splits);                                                  \
    }

#define ATTN_COMBINE_ENTRY(name, S, E)                                                                          \
    extern "C" __global__ void __launch_bounds__(ATTN_DECODE_COMBINE_THREADS) name(                              \
        attn_sdpa_params p, const float* __restrict__ o_part, const float* __restrict__ lse_part,               \
        E* __restrict__ o, float* __restrict__ lse, int num_splits) {                                           \
        attn::sdpa_combine<attn::S>(p, o_part, lse_part, o, lse, num_splits);                                   \
    }

ATTN_DECODE_ENTRY(attn_sdpa_decode_f32, F32, float, 256)
ATTN_DECODE_ENTRY(attn_sdpa_decode_f32_d64, F32, float, 64)
ATTN_DECODE_ENTRY(attn_sdpa_decode_f32_d128, F32, float, 128)
ATTN_DECODE_ENTRY(attn_sdpa_decode_f16, F16, unsigned short, 256)
ATTN_DECODE_ENTRY(attn_sdpa_decode_f16_d64, F16, unsigned short, 64)
ATTN_DECODE_ENTRY(attn_sdpa_decode_f16_d128, F16, unsigned short, 128)
ATTN_DECODE_ENTRY(attn_sdpa_decode_bf16, BF16, unsigned short, 256)
ATTN_DECODE_ENTRY(attn_sdpa_decode_bf16_d64, BF16, unsigned short, 64)
ATTN_DECODE_ENTRY(attn_sdpa_decode_bf16_d128, BF16, unsigned short, 128)
ATTN_COMBINE_ENTRY(attn_sdpa_combine_f32, F32, float)
ATTN_COMBINE_ENTRY(attn_sdpa_combine_f16, F16, unsigned short)
ATTN_COMBINE_ENTRY(attn_sdpa_combine_bf16, BF16, unsigned short)
