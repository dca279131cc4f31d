/*
 * kernels_test.cpp: runs the CUDA kernel sources on the CPU (emu.h) against a float64 reference
 * written here from the semantics in kernels/attn_params.h. Random cases over every option:
 * GQA, both alignments, windows, kv/q lengths, bool mask, bias (with -inf), ALiBi, softcap, LSE,
 * NaN that must propagate and NaN behind a mask that must not, huge logits, F32/F16/BF16 storage,
 * both layouts, every SDPA tile, warp- and block-per-row softmax (vector and scalar paths, in
 * place), softmax backward, fused additive with and without weights, pre-projected and through
 * the projection GEMM, the unfused GEMM + softmax + GEMM path, the strided copy and the merge of
 * attention states (merge.cu: empty parts with NaN garbage, NaN LSEs, every dtype, 1..8 parts) and
 * the KV append into paged caches (kv_append.cu: garbage everywhere else, bad table entries skipped) and
 * the SDPA backward (sdpa_bwd.cu: GQA, Dv != D, masks, fully masked rows, softcap, dBias incl. broadcast) and
 * the split-KV decode with its combine (sdpa_decode.cu: Sk 1, 7, 1000, 8191, per-sequence lengths and
 * alignment, pages of 1, 16, 256 with NaN in unused slots, GQA 32/8, 64/8, MQA, sinks, windows, every mask
 * option, F16/BF16, fully masked rows, 1..64 splits).
 *
 *   g++ -std=c++20 -O2 -pthread kernels_test.cpp -o kernels_test && ./kernels_test [seed]
 * Exit status 0 when every case passes; each failure prints the case and the first mismatch.
 */
#include "emu.h"

#include "../sdpa.cu"
#include "../softmax.cu"
#include "../additive.cu"
#include "../additive_bwd.cu"
#include "../gemm.cu"
#include "../rope.cu"
#include "../copy.cu"
#include "../merge.cu"
#include "../kv_append.cu"
#include "../sdpa_bwd.cu"
#include "../sdpa_decode.cu"

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>

static int g_failures = 0, g_cases = 0;

/* ---------------------------------------------------------------- storage */
enum DT { DF32, DF16, DBF16 };
static const char* dt_name(DT t) { return t == DF32 ? "f32" : t == DF16 ? "f16" : "bf16"; }

/* A tensor in one storage dtype; `f` holds the exact values the kernel sees (rounded). */
struct Buf {
    DT dt;
    std::vector<float> f;
    std::vector<unsigned short> h;
    Buf(DT t, size_t n) : dt(t), f(n, 0.0f), h(t == DF32 ? 0 : n, 0) {}
    void set(size_t i, float v) {
        if (dt == DF32) { f[i] = v; return; }
        unsigned short b = dt == DF16 ? attn::from_f32<attn::F16>(v) : attn::from_f32<attn::BF16>(v);
        h[i] = b;
        f[i] = dt == DF16 ? attn::to_f32<attn::F16>(b) : attn::to_f32<attn::BF16>(b);
    }
    float get(size_t i) const { return dt == DF32 ? f[i] : (dt == DF16 ? attn::to_f32<attn::F16>(h[i]) : attn::to_f32<attn::BF16>(h[i])); }
    void* ptr() { return dt == DF32 ? (void*)f.data() : (void*)h.data(); }
    void poison() {
        for (size_t i = 0; i < f.size(); i++) { if (dt == DF32) f[i] = -777.0f; else h[i] = 0xfbf8; }
    }
};

/* 4-D strides for [b, h, s, d] in BHSD or BSHD. */
struct Str { long long b, h, s, d; };
static Str strides(bool bshd, int B, int H, int S, int D) {
    (void)B;
    return bshd ? Str{(long long)S * H * D, D, (long long)H * D, 1} : Str{(long long)H * S * D, (long long)S * D, D, 1};
}

/* ---------------------------------------------------------------- comparison */
static bool close_enough(double want, float got, double tol) {
    if (std::isnan(want)) return std::isnan(got);
    if (std::isnan(got)) return false;
    if (std::isinf(want)) return std::isinf(got) && (want > 0) == (got > 0);
    if (std::isinf(got)) return false;
    return std::fabs(want - got) <= tol * (1.0 + std::fabs(want));
}
static void report(bool ok, const std::string& name, const std::string& detail) {
    g_cases++;
    if (!ok) {
        g_failures++;
        std::printf("FAIL %s: %s\n", name.c_str(), detail.c_str());
    }
}
static double tol_of(DT t) { return t == DF32 ? 2e-5 : t == DF16 ? 4e-3 : 3e-2; }

/* ---------------------------------------------------------------- mask */
struct MaskOpt {
    int align_off = 0, wl = -1, wr = -1;
    std::vector<int> align_b;        /* per batch: replaces align_off (paged BOTTOM_RIGHT: kv[b] - Sq) */
    int off(int b) const { return align_b.empty() ? align_off : align_b[b]; }
    bool window = false, use_kv = false, use_q = false, use_mask = false, use_bias = false, use_alibi = false;
    std::vector<int> kv, q;
    std::vector<unsigned char> mask; /* [B, H, Sq, Sk] contiguous */
    std::vector<float> bias;         /* [B, H, Sq, Sk] */
    std::vector<float> slope;        /* [B, H] */
};

static bool allowed(const MaskOpt& m, int b, int h, int H, int i, int j, int Sq, int Sk) {
    if (m.use_q && i >= m.q[b]) return false;
    if (m.use_kv && j >= m.kv[b]) return false;
    long long c = (long long)i + m.off(b);
    if (m.window && m.wl >= 0 && j < c - m.wl) return false;
    if (m.window && m.wr >= 0 && j > c + m.wr) return false;
    if (m.use_mask && !m.mask[(((size_t)b * H + h) * Sq + i) * Sk + j]) return false;
    return true;
}
static double add_terms(const MaskOpt& m, int b, int h, int H, int i, int j, int Sq, int Sk) {
    double s = 0;
    if (m.use_bias) s += m.bias[(((size_t)b * H + h) * Sq + i) * Sk + j];
    if (m.use_alibi) s -= (double)m.slope[b * H + h] * std::fabs((double)i + m.off(b) - j);
    return s;
}
static attn_mask_params pack_mask(const MaskOpt& m, int H, int Sq, int Sk) {
    attn_mask_params p;
    std::memset(&p, 0, sizeof p);
    p.mask_sb = (long long)H * Sq * Sk; p.mask_sh = (long long)Sq * Sk; p.mask_sq = Sk; p.mask_sk = 1;
    p.bias_sb = p.mask_sb; p.bias_sh = p.mask_sh; p.bias_sq = Sk; p.bias_sk = 1;
    p.alibi_sb = H; p.alibi_sh = 1;
    p.win_left = m.window ? m.wl : -1;
    p.win_right = m.window ? m.wr : -1;
    p.align_off = m.align_off;
    p.flags = (m.use_mask ? ATTN_F_BOOL_MASK : 0) | (m.use_bias ? ATTN_F_BIAS : 0) | (m.use_alibi ? ATTN_F_ALIBI : 0) |
              (m.use_kv ? ATTN_F_KV_LENGTHS : 0) | (m.use_q ? ATTN_F_Q_LENGTHS : 0) | (m.window ? ATTN_F_WINDOW : 0);
    return p;
}
/* When set, every random mask gets this window instead of a random one (the extreme-window
 * section of main). WIN_ALL stands for Sk + Sq. */
static const int WIN_ALL = -2;
static bool g_force_window = false;
static int g_force_wl = -1, g_force_wr = -1;

static MaskOpt random_mask(std::mt19937& rng, int B, int H, int Sq, int Sk, bool top_left) {
    MaskOpt m;
    auto coin = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
    m.align_off = top_left ? 0 : Sk - Sq;
    if (coin(0.5)) {
        m.window = true;
        int kind = (int)(rng() % 4);
        m.wl = kind == 0 ? -1 : (int)(rng() % 6);
        m.wr = kind == 1 ? -1 : (kind == 2 ? 0 : (int)(rng() % 4));
    }
    if (g_force_window) {
        m.window = true;
        m.wl = g_force_wl == WIN_ALL ? Sk + Sq : g_force_wl;
        m.wr = g_force_wr == WIN_ALL ? Sk + Sq : g_force_wr;
    }
    if (coin(0.4)) { m.use_kv = true; for (int b = 0; b < B; b++) m.kv.push_back((int)(rng() % (Sk + 1))); }
    if (coin(0.3)) { m.use_q = true; for (int b = 0; b < B; b++) m.q.push_back((int)(rng() % (Sq + 1))); }
    if (coin(0.3)) {
        m.use_mask = true;
        m.mask.resize((size_t)B * H * Sq * Sk);
        for (auto& x : m.mask) x = coin(0.75);
    }
    if (coin(0.4)) {
        m.use_bias = true;
        m.bias.resize((size_t)B * H * Sq * Sk);
        std::normal_distribution<float> n(0, 1);
        for (auto& x : m.bias) x = coin(0.05) ? -INFINITY : n(rng);
    }
    if (coin(0.3)) {
        m.use_alibi = true;
        for (int i = 0; i < B * H; i++) m.slope.push_back(0.05f * (1 + (int)(rng() % 8)));
    }
    return m;
}
static std::string mask_str(const MaskOpt& m) {
    char s[200];
    std::snprintf(s, sizeof s, "off=%d win=%s(%d,%d) kv=%d q=%d mask=%d bias=%d alibi=%d", m.align_off, m.window ? "y" : "n",
                  m.wl, m.wr, m.use_kv, m.use_q, m.use_mask, m.use_bias, m.use_alibi);
    return s;
}

/* ---------------------------------------------------------------- SDPA */
struct SdpaCase {
    int B, Hq, Hkv, Sq, Sk, D, Dv;
    bool bshd, lse, top_left;
    float softcap;
    DT dt;
    int special; /* 0 none, 1 NaN read (q), 2 NaN in K/V rows beyond kv lengths, 3 huge logits */
    bool sinks = false; /* per-head sink logits */
    int page = 0;       /* > 0: K/V in pages of this many rows through a shuffled block table */
    int splits = 0;     /* > 0: the split-KV decode kernel (sdpa_decode.cu) with this many splits, then the combine */
    int window = 0;     /* > 0: a sliding window of this many keys to the left (decode cases) */
    bool ragged = false; /* decode cases: random per-sequence kv lengths, the last sequence empty when B > 1 */
};

/* sdpa_decode.cu: the decode kernel over (B * Hkv, splits, chunks), then the combine, through a
 * NaN-poisoned workspace (a partial row that no CTA writes shows). */
template <int DMAX, typename S>
static void run_decode_kernel(const attn_sdpa_params& p, void* q, void* k, void* v, void* o, float* lse,
                              const unsigned char* mask, const float* bias, const float* alibi, const int* kvl, const int* ql,
                              const float* sinks, const int* bt, int splits) {
    typedef typename S::Elem E;
    typedef attn::DecodeTile<DMAX> T;
    const long long rows = (long long)p.batch * p.heads_q * p.seq_q;
    std::vector<float> ws((size_t)(splits * rows * (p.head_dim_v + 1)), NAN);
    const unsigned chunks = (unsigned)((p.group * p.seq_q + T::RB - 1) / T::RB);
    attn_emu::launch({(unsigned)(p.batch * p.heads_kv), (unsigned)splits, chunks}, T::THREADS, attn::DecodeSmem<DMAX>::FLOATS * 4, [&] {
        attn::sdpa_decode<S, DMAX>(p, (const E*)q, (const E*)k, (const E*)v, mask, bias, alibi, kvl, ql, sinks, bt, ws.data(),
                                   ws.data(), splits);
    });
    const int wpb = ATTN_DECODE_COMBINE_THREADS / 32;
    attn_emu::launch({(unsigned)((rows + wpb - 1) / wpb), 1, 1}, ATTN_DECODE_COMBINE_THREADS, 0, [&] {
        attn::sdpa_combine<S>(p, ws.data(), ws.data(), (E*)o, lse, splits);
    });
}

template <int DMAX, typename S>
static void run_sdpa_kernel(const attn_sdpa_params& p, void* q, void* k, void* v, void* o, float* lse,
                            const unsigned char* mask, const float* bias, const float* alibi, const int* kvl, const int* ql,
                            bool general, const float* sinks, const int* bt) {
    typedef typename S::Elem E;
    typedef attn::SdpaTile<DMAX> T;
    dim3e grid{(unsigned)(p.batch * p.heads_q), (unsigned)((p.seq_q + T::BM - 1) / T::BM), 1};
    attn_emu::launch(grid, T::THREADS, attn::SdpaSmem<DMAX>::FLOATS * 4, [&] {
        const E* qq = (const E*)q; const E* kk = (const E*)k; const E* vv = (const E*)v; E* oo = (E*)o;
        if (general) { attn::sdpa_fwd<S, 256>(p, qq, kk, vv, oo, lse, mask, bias, alibi, kvl, ql, sinks, bt); }
        else { attn::sdpa_fwd<S, DMAX>(p, qq, kk, vv, oo, lse, mask, bias, alibi, kvl, ql, sinks, bt); }
    });
}

static void sdpa_case(const SdpaCase& c, std::mt19937& rng, bool unfused) {
    const int B = c.B, Hq = c.Hq, Hkv = c.Hkv, Sq = c.Sq, Sk = c.Sk, D = c.D, Dv = c.Dv, g = Hq / Hkv;
    MaskOpt m = random_mask(rng, B, Hq, Sq, Sk, c.top_left);
    if (c.special == 2 && !m.use_kv) { m.use_kv = true; m.kv.clear(); for (int b = 0; b < B; b++) m.kv.push_back((int)(rng() % (Sk + 1))); }
    if (c.page > 0) {
        /* paged calls always have lengths; BOTTOM_RIGHT aligns each sequence to its own length, which
         * the reference here (one align_off) matches when every length is Sk */
        if (!m.use_kv || (!c.top_left && !c.ragged)) { m.use_kv = true; m.kv.assign(B, Sk); }
    }
    if (c.ragged) { /* per-sequence lengths, one empty sequence (a fully masked row) */
        m.use_kv = true;
        m.kv.clear();
        for (int b = 0; b < B; b++) m.kv.push_back(b == B - 1 && B > 1 ? 0 : 1 + (int)(rng() % Sk));
    }
    if (c.window > 0) { m.window = true; m.wl = c.window; m.wr = rng() % 2 ? -1 : 0; }
    if (c.page > 0 && !c.top_left) { /* each sequence aligned to its own length (ATTN_F_ALIGN_KV) */
        m.align_b.clear();
        for (int b = 0; b < B; b++) m.align_b.push_back(m.kv[b] - Sq);
    }
    Str sq = strides(c.bshd, B, Hq, Sq, D), sk = strides(c.bshd, B, Hkv, Sk, D), sv = strides(c.bshd, B, Hkv, Sk, Dv),
        so = strides(c.bshd, B, Hq, Sq, Dv);
    Buf Q(c.dt, (size_t)B * Hq * Sq * D), K(c.dt, (size_t)B * Hkv * Sk * D), V(c.dt, (size_t)B * Hkv * Sk * Dv), O(c.dt, (size_t)B * Hq * Sq * Dv);
    std::normal_distribution<float> n(0, 1);
    /* special 3, huge logits (|s| ~ 1e4 after scale): 32 * small integers, so that q.k is exact in fp32 and
     * the check measures the softmax (online max, no overflow), not the rounding of a 1e4-sized dot product */
    auto big = [&] { return 32.0f * (float)((int)(rng() % 17) - 8); };
    for (size_t i = 0; i < Q.f.size(); i++) Q.set(i, c.special == 3 ? big() : n(rng));
    for (size_t i = 0; i < K.f.size(); i++) K.set(i, c.special == 3 ? big() : n(rng));
    for (size_t i = 0; i < V.f.size(); i++) V.set(i, n(rng));
    if (c.special == 1) Q.set(sq.b * (B - 1) + sq.h * (Hq - 1) + sq.s * (Sq - 1), NAN);
    if (c.special == 2) {
        for (int b = 0; b < B; b++) for (int h = 0; h < Hkv; h++) for (int j = m.kv[b]; j < Sk; j++) {
            for (int d = 0; d < D; d++) K.set(b * sk.b + h * sk.h + j * sk.s + d, NAN);
            for (int d = 0; d < Dv; d++) V.set(b * sv.b + h * sv.h + j * sv.s + d, NAN);
        }
    }
    O.poison();
    std::vector<float> L((size_t)B * Hq * Sq, -555.0f);
    float scale = 1.0f / std::sqrt((float)D);

    attn_sdpa_params p;
    std::memset(&p, 0, sizeof p);
    p.q_sb = sq.b; p.q_sh = sq.h; p.q_ss = sq.s; p.q_sd = sq.d;
    p.k_sb = sk.b; p.k_sh = sk.h; p.k_ss = sk.s; p.k_sd = sk.d;
    p.v_sb = sv.b; p.v_sh = sv.h; p.v_ss = sv.s; p.v_sd = sv.d;
    p.o_sb = so.b; p.o_sh = so.h; p.o_ss = so.s; p.o_sd = so.d;
    p.lse_sb = (long long)Hq * Sq; p.lse_sh = Sq; p.lse_ss = 1;
    p.batch = B; p.heads_q = Hq; p.heads_kv = Hkv; p.group = g;
    p.seq_q = Sq; p.seq_k = Sk; p.head_dim = D; p.head_dim_v = Dv;
    p.scale = scale; p.scale_log2 = scale * 1.4426950408889634f; p.softcap = c.softcap;
    p.m = pack_mask(m, Hq, Sq, Sk);
    p.flags = p.m.flags | (c.lse ? ATTN_F_LSE : 0) | (c.softcap > 0 ? ATTN_F_SOFTCAP : 0);
    std::vector<float> sinkv;
    if (c.sinks) {
        std::normal_distribution<float> ns(0, 2);
        for (int h = 0; h < Hq; h++) sinkv.push_back(h == 0 ? 40.0f : ns(rng)); /* head 0: a sink that dominates */
        p.flags |= ATTN_F_SINKS;
    }
    /* paged: pages [numPages, page, Hkv, X] filled with NaN, the rows of each sequence copied into
     * shuffled pages, unused table entries garbage */
    int maxp = c.page > 0 ? (Sk + c.page - 1) / c.page + 1 : 0, np = B * maxp + 2;
    Buf KC(c.dt, c.page > 0 ? (size_t)np * c.page * Hkv * D : 1), VC(c.dt, c.page > 0 ? (size_t)np * c.page * Hkv * Dv : 1);
    std::vector<int> table((size_t)std::max(1, B * maxp), 1 << 29);
    if (c.page > 0) {
        for (size_t x = 0; x < KC.f.size(); x++) KC.set(x, NAN);
        for (size_t x = 0; x < VC.f.size(); x++) VC.set(x, NAN);
        std::vector<int> perm(np);
        for (int x = 0; x < np; x++) perm[x] = x;
        std::shuffle(perm.begin(), perm.end(), rng);
        int next = 0;
        for (int b = 0; b < B; b++) {
            for (int e = 0; e * c.page < m.kv[b]; e++) table[b * maxp + e] = perm[next++];
            for (int j = 0; j < m.kv[b]; j++) for (int h = 0; h < Hkv; h++) {
                long long row = ((long long)table[b * maxp + j / c.page] * c.page + j % c.page) * Hkv + h;
                for (int d = 0; d < D; d++) KC.set(row * D + d, K.get(b * sk.b + h * sk.h + j * sk.s + d));
                for (int d = 0; d < Dv; d++) VC.set(row * Dv + d, V.get(b * sv.b + h * sv.h + j * sv.s + d));
            }
        }
        p.k_sb = (long long)c.page * Hkv * D; p.k_sh = D; p.k_ss = (long long)Hkv * D; p.k_sd = 1;
        p.v_sb = (long long)c.page * Hkv * Dv; p.v_sh = Dv; p.v_ss = (long long)Hkv * Dv; p.v_sd = 1;
        p.bt_sb = maxp; p.bt_sp = 1; p.page_size = c.page; p.num_pages = np;
        p.flags |= ATTN_F_PAGED;
        if (!c.top_left) { p.flags |= ATTN_F_ALIGN_KV; p.m.align_off = -Sq; }
    }
    void* kptr = c.page > 0 ? KC.ptr() : K.ptr();
    void* vptr = c.page > 0 ? VC.ptr() : V.ptr();
    const float* sinkp = c.sinks ? sinkv.data() : nullptr;
    unsigned char dummy_u8 = 0; float dummy_f = 0; int dummy_i = 0;
    const unsigned char* mk = m.use_mask ? m.mask.data() : &dummy_u8;
    const float* bi = m.use_bias ? m.bias.data() : &dummy_f;
    const float* al = m.use_alibi ? m.slope.data() : &dummy_f;
    const int* kvl = m.use_kv ? m.kv.data() : &dummy_i;
    const int* ql = m.use_q ? m.q.data() : &dummy_i;

    int need = std::max(D, Dv);
    bool general = rng() % 4 == 0; /* also run the plain (D <= 256) entry on small dims */
    std::string path;
    if (c.splits > 0) {
#define RUN_DECODE(DM)                                                                                        \
    do {                                                                                                      \
        if (c.dt == DF32) run_decode_kernel<DM, attn::F32>(p, Q.ptr(), kptr, vptr, O.ptr(), L.data(), mk, bi, al, kvl, ql, sinkp, table.data(), c.splits); \
        else if (c.dt == DF16) run_decode_kernel<DM, attn::F16>(p, Q.ptr(), kptr, vptr, O.ptr(), L.data(), mk, bi, al, kvl, ql, sinkp, table.data(), c.splits); \
        else run_decode_kernel<DM, attn::BF16>(p, Q.ptr(), kptr, vptr, O.ptr(), L.data(), mk, bi, al, kvl, ql, sinkp, table.data(), c.splits); \
    } while (0)
        if (general || need > 128) { RUN_DECODE(256); path = "decode-d256"; }
        else if (need <= 64) { RUN_DECODE(64); path = "decode-d64"; }
        else { RUN_DECODE(128); path = "decode-d128"; }
        path += "-splits" + std::to_string(c.splits);
    } else if (unfused) {
        path = "unfused";
        /* S = Q.K^T (bgemm <dt,dt,f32>), masked softmax f32 in place, O = P.V (bgemm <f32,dt,dt>) */
        std::vector<float> Sbuf((size_t)B * Hq * Sq * Sk, NAN);
        attn_bgemm_params a;
        std::memset(&a, 0, sizeof a);
        a.a_sb = sq.b; a.a_sh = sq.h; a.a_sm = sq.s; a.a_sk = sq.d;
        a.b_sb = sk.b; a.b_sh = sk.h; a.b_sk = sk.d; a.b_sn = sk.s;
        a.c_sb = (long long)Hq * Sq * Sk; a.c_sh = (long long)Sq * Sk; a.c_sm = Sk; a.c_sn = 1;
        a.m = Sq; a.n = Sk; a.k = D; a.batch = B; a.heads = Hq; a.group = g; a.alpha = 1.0f;
        a.flags = m.use_kv ? ATTN_BGEMM_N_KVLEN : 0;
        dim3e gg{(unsigned)(((Sq + 63) / 64) * ((Sk + 63) / 64)), (unsigned)(B * Hq), 1};
        attn_emu::launch(gg, GEMM_THREADS, 0, [&] {
            if (c.dt == DF32) attn::bgemm<attn::F32, attn::F32, attn::F32>(a, Q.f.data(), K.f.data(), Sbuf.data(), kvl);
            else if (c.dt == DF16) attn::bgemm<attn::F16, attn::F16, attn::F32>(a, Q.h.data(), K.h.data(), Sbuf.data(), kvl);
            else attn::bgemm<attn::BF16, attn::BF16, attn::F32>(a, Q.h.data(), K.h.data(), Sbuf.data(), kvl);
        });
        attn_softmax_params sp;
        std::memset(&sp, 0, sizeof sp);
        sp.x_sb = sp.y_sb = (long long)Hq * Sq * Sk; sp.x_sh = sp.y_sh = (long long)Sq * Sk; sp.x_sq = sp.y_sq = Sk; sp.x_sk = sp.y_sk = 1;
        sp.batch = B; sp.heads = Hq; sp.seq_q = Sq; sp.seq_k = Sk; sp.scale = scale; sp.m = p.m; sp.flags = p.m.flags;
        long long rows = (long long)B * Hq * Sq;
        if (Sk <= SOFTMAX_WARP_MAX_SK) {
            attn_emu::launch({(unsigned)((rows + 3) / 4), 1, 1}, 128, 0, [&] {
                attn::softmax_fwd_warp<attn::F32>(sp, Sbuf.data(), Sbuf.data(), mk, bi, al, kvl, ql); });
        } else {
            attn_emu::launch({(unsigned)rows, 1, 1}, SOFTMAX_BLOCK_THREADS, 0, [&] {
                attn::softmax_fwd_block<attn::F32>(sp, Sbuf.data(), Sbuf.data(), mk, bi, al, kvl, ql); });
        }
        attn_bgemm_params b2;
        std::memset(&b2, 0, sizeof b2);
        b2.a_sb = a.c_sb; b2.a_sh = a.c_sh; b2.a_sm = Sk; b2.a_sk = 1;
        b2.b_sb = sv.b; b2.b_sh = sv.h; b2.b_sk = sv.s; b2.b_sn = sv.d;
        b2.c_sb = so.b; b2.c_sh = so.h; b2.c_sm = so.s; b2.c_sn = so.d;
        b2.m = Sq; b2.n = Dv; b2.k = Sk; b2.batch = B; b2.heads = Hq; b2.group = g; b2.alpha = 1.0f;
        b2.flags = m.use_kv ? ATTN_BGEMM_K_KVLEN : 0;
        dim3e g2{(unsigned)(((Sq + 63) / 64) * ((Dv + 63) / 64)), (unsigned)(B * Hq), 1};
        attn_emu::launch(g2, GEMM_THREADS, 0, [&] {
            if (c.dt == DF32) attn::bgemm<attn::F32, attn::F32, attn::F32>(b2, Sbuf.data(), V.f.data(), O.f.data(), kvl);
            else if (c.dt == DF16) attn::bgemm<attn::F32, attn::F16, attn::F16>(b2, Sbuf.data(), V.h.data(), O.h.data(), kvl);
            else attn::bgemm<attn::F32, attn::BF16, attn::BF16>(b2, Sbuf.data(), V.h.data(), O.h.data(), kvl);
        });
    } else {
#define RUN_SDPA(DM)                                                                                          \
    do {                                                                                                      \
        if (c.dt == DF32) run_sdpa_kernel<DM, attn::F32>(p, Q.ptr(), kptr, vptr, O.ptr(), L.data(), mk, bi, al, kvl, ql, general, sinkp, table.data()); \
        else if (c.dt == DF16) run_sdpa_kernel<DM, attn::F16>(p, Q.ptr(), kptr, vptr, O.ptr(), L.data(), mk, bi, al, kvl, ql, general, sinkp, table.data()); \
        else run_sdpa_kernel<DM, attn::BF16>(p, Q.ptr(), kptr, vptr, O.ptr(), L.data(), mk, bi, al, kvl, ql, general, sinkp, table.data()); \
    } while (0)
        if (general) { RUN_SDPA(256); path = "d256(general)"; }
        else if (need <= 32) { RUN_SDPA(32); path = "d32"; }
        else if (need <= 64) { RUN_SDPA(64); path = "d64"; }
        else if (need <= 128) { RUN_SDPA(128); path = "d128"; }
        else { RUN_SDPA(256); path = "d256"; }
    }

    char name[400];
    std::snprintf(name, sizeof name, "sdpa %s %s B%d Hq%d Hkv%d Sq%d Sk%d D%d Dv%d %s lse=%d cap=%.0f special=%d sinks=%d page=%d %s",
                  path.c_str(), dt_name(c.dt), B, Hq, Hkv, Sq, Sk, D, Dv, c.bshd ? "bshd" : "bhsd", c.lse, c.softcap, c.special,
                  c.sinks, c.page, mask_str(m).c_str());
    /* reference */
    bool ok = true;
    std::string detail;
    for (int b = 0; b < B && ok; b++) for (int h = 0; h < Hq && ok; h++) for (int i = 0; i < Sq && ok; i++) {
        int hk = h / g;
        std::vector<double> s(Sk, 0);
        std::vector<char> live(Sk, 0);
        double mx = -INFINITY;
        bool nan = false;
        for (int j = 0; j < Sk; j++) {
            if (!allowed(m, b, h, Hq, i, j, Sq, Sk)) continue;
            double dot = 0;
            for (int d = 0; d < D; d++) dot += (double)Q.get(b * sq.b + h * sq.h + i * sq.s + d) * K.get(b * sk.b + hk * sk.h + j * sk.s + d);
            double x = scale * dot;
            if (c.softcap > 0) x = c.softcap * std::tanh(x / c.softcap);
            x += add_terms(m, b, h, Hq, i, j, Sq, Sk);
            s[j] = x; live[j] = 1; nan |= std::isnan(x); mx = std::max(mx, x);
        }
        if (nan) mx = NAN;
        const bool dead = m.use_q && i >= m.q[b];
        const double sink = c.sinks && !dead ? (double)sinkv[h] : -INFINITY;
        if (!nan) mx = std::max(mx, sink);
        std::vector<double> acc(Dv, 0);
        double sum = sink == -INFINITY || nan ? 0 : std::exp(sink - mx), lse;
        if (mx == -INFINITY) { lse = -INFINITY; }
        else {
            for (int j = 0; j < Sk; j++) if (live[j]) {
                double e = std::exp(s[j] - mx);
                if (s[j] == -INFINITY) continue; /* documented: a live -inf score is selected away like a masked one */
                sum += e;
                for (int x = 0; x < Dv; x++) acc[x] += e * V.get(b * sv.b + hk * sv.h + j * sv.s + x);
            }
            for (int x = 0; x < Dv; x++) acc[x] /= sum;
            lse = mx + std::log(sum);
        }
        double tol = tol_of(c.dt) * (c.dt == DF32 ? 1 : 2) + (unfused && c.dt != DF32 ? 2e-2 : 0);
        if (c.special == 3) tol = std::max(tol, 2e-3); /* |s| ~ 1e4..1e5: fp32 rounding of the dot product itself */
        for (int x = 0; x < Dv && ok; x++) {
            float got = O.get(b * so.b + h * so.h + i * so.s + x);
            if (!close_enough(acc[x], got, tol)) {
                ok = false;
                char t[200]; std::snprintf(t, sizeof t, "O[%d,%d,%d,%d] want %.6g got %.6g", b, h, i, x, acc[x], got); detail = t;
            }
        }
        if (ok && c.lse && !unfused) {
            float got = L[((size_t)b * Hq + h) * Sq + i];
            if (!close_enough(lse, got, c.special == 3 ? 1e-3 : 1e-4)) {
                ok = false;
                char t[200]; std::snprintf(t, sizeof t, "LSE[%d,%d,%d] want %.6g got %.6g", b, h, i, lse, got); detail = t;
            }
        }
    }
    report(ok, name, detail);
}

/* ---------------------------------------------------------------- masked softmax */
static void softmax_case(std::mt19937& rng, DT dt, int B, int H, int Sq, int Sk, bool block, bool in_place, int special,
                         bool strided) {
    MaskOpt m = random_mask(rng, B, H, Sq, Sk, rng() % 2);
    long long ssk = strided ? 2 : 1;
    size_t n = (size_t)B * H * Sq * Sk * ssk;
    Buf X(dt, n), Y(dt, n);
    std::normal_distribution<float> nd(0, 1);
    for (size_t i = 0; i < n; i++) X.set(i, special == 3 ? 1e4f * nd(rng) : nd(rng));
    if (special == 1) X.set(ssk * 3, NAN);
    if (special == 2) {
        if (!m.use_kv) { m.use_kv = true; m.kv.clear(); for (int b = 0; b < B; b++) m.kv.push_back((int)(rng() % (Sk + 1))); }
        for (int b = 0; b < B; b++) for (int r = 0; r < H * Sq; r++) for (int j = m.kv[b]; j < Sk; j++)
            X.set(((size_t)b * H * Sq + r) * Sk * ssk + j * ssk, NAN);
    }
    Buf X0 = X;
    Buf& Yt = in_place ? X : Y;
    if (!in_place) Y.poison();
    attn_softmax_params p;
    std::memset(&p, 0, sizeof p);
    p.x_sb = p.y_sb = (long long)H * Sq * Sk * ssk; p.x_sh = p.y_sh = (long long)Sq * Sk * ssk; p.x_sq = p.y_sq = Sk * ssk;
    p.x_sk = p.y_sk = ssk;
    p.batch = B; p.heads = H; p.seq_q = Sq; p.seq_k = Sk; p.scale = 0.7f; p.m = pack_mask(m, H, Sq, Sk); p.flags = p.m.flags;
    unsigned char du = 0; float df = 0; int di = 0;
    const unsigned char* mk = m.use_mask ? m.mask.data() : &du;
    const float* bi = m.use_bias ? m.bias.data() : &df;
    const float* al = m.use_alibi ? m.slope.data() : &df;
    const int* kvl = m.use_kv ? m.kv.data() : &di;
    const int* ql = m.use_q ? m.q.data() : &di;
    long long rows = (long long)B * H * Sq;
    auto kern = [&] {
#define SM_CALL(S, E)                                                                                      \
    if (block) attn::softmax_fwd_block<S>(p, (const E*)X.ptr(), (E*)Yt.ptr(), mk, bi, al, kvl, ql);      \
    else attn::softmax_fwd_warp<S>(p, (const E*)X.ptr(), (E*)Yt.ptr(), mk, bi, al, kvl, ql);
        if (dt == DF32) { SM_CALL(attn::F32, float) } else if (dt == DF16) { SM_CALL(attn::F16, unsigned short) } else { SM_CALL(attn::BF16, unsigned short) }
    };
    if (block) attn_emu::launch({(unsigned)rows, 1, 1}, SOFTMAX_BLOCK_THREADS, 0, kern);
    else attn_emu::launch({(unsigned)((rows + 3) / 4), 1, 1}, 128, 0, kern);
    bool ok = true;
    std::string detail;
    for (int b = 0; b < B && ok; b++) for (int h = 0; h < H && ok; h++) for (int i = 0; i < Sq && ok; i++) {
        size_t base = (((size_t)b * H + h) * Sq + i) * Sk * ssk;
        std::vector<double> z(Sk, 0); std::vector<char> live(Sk, 0);
        double mx = -INFINITY; bool nan = false;
        for (int j = 0; j < Sk; j++) {
            if (!allowed(m, b, h, H, i, j, Sq, Sk)) continue;
            double v = 0.7 * X0.get(base + j * ssk) + add_terms(m, b, h, H, i, j, Sq, Sk);
            z[j] = v; live[j] = 1; nan |= std::isnan(v); mx = std::max(mx, v);
        }
        std::vector<double> y(Sk, 0);
        if (!(mx == -INFINITY && !nan)) {
            if (nan) mx = NAN;
            double sum = 0;
            for (int j = 0; j < Sk; j++) if (live[j] && z[j] != -INFINITY) { z[j] = std::exp(z[j] - mx); sum += z[j]; }
            for (int j = 0; j < Sk; j++) y[j] = (live[j] && z[j] != -INFINITY) ? z[j] / sum : 0.0;
        }
        for (int j = 0; j < Sk && ok; j++) {
            float got = Yt.get(base + j * ssk);
            if (!close_enough(y[j], got, tol_of(dt) * 2)) {
                ok = false; char t[200]; std::snprintf(t, sizeof t, "Y[%d,%d,%d,%d] want %.6g got %.6g", b, h, i, j, y[j], got); detail = t;
            }
        }
        if (ssk == 2 && !in_place) {
            for (int j = 0; j < Sk && ok; j++) if (Yt.get(base + j * 2 + 1) != -777.0f && dt == DF32) { ok = false; detail = "gap written"; }
        }
    }
    char name[300];
    std::snprintf(name, sizeof name, "softmax %s %s B%d H%d Sq%d Sk%d inplace=%d strided=%d special=%d %s", block ? "block" : "warp",
                  dt_name(dt), B, H, Sq, Sk, in_place, strided, special, mask_str(m).c_str());
    report(ok, name, detail);
}

static void softmax_bwd_case(std::mt19937& rng, DT dt, int rowsB, int Sk, bool block, bool in_place) {
    int B = rowsB, H = 2, Sq = 3;
    size_t n = (size_t)B * H * Sq * Sk;
    Buf Yb(dt, n), G(dt, n), DX(dt, n);
    std::uniform_real_distribution<float> u(0, 1);
    std::normal_distribution<float> nd(0, 1);
    for (size_t i = 0; i < n; i++) { Yb.set(i, u(rng)); G.set(i, nd(rng)); }
    Buf G0 = G;
    Buf& out = in_place ? G : DX;
    attn_softmax_bwd_params p;
    std::memset(&p, 0, sizeof p);
    p.y_sb = p.dy_sb = p.dx_sb = (long long)H * Sq * Sk; p.y_sh = p.dy_sh = p.dx_sh = (long long)Sq * Sk;
    p.y_sq = p.dy_sq = p.dx_sq = Sk; p.y_sk = p.dy_sk = p.dx_sk = 1;
    p.batch = B; p.heads = H; p.seq_q = Sq; p.seq_k = Sk; p.scale = 1.3f;
    long long rows = (long long)B * H * Sq;
    auto kern = [&] {
#define SMB_CALL(S, E) \
    if (block) attn::softmax_bwd_block<S>(p, (const E*)Yb.ptr(), (const E*)G.ptr(), (E*)out.ptr()); \
    else attn::softmax_bwd_warp<S>(p, (const E*)Yb.ptr(), (const E*)G.ptr(), (E*)out.ptr());
        if (dt == DF32) { SMB_CALL(attn::F32, float) } else if (dt == DF16) { SMB_CALL(attn::F16, unsigned short) } else { SMB_CALL(attn::BF16, unsigned short) }
    };
    if (block) attn_emu::launch({(unsigned)rows, 1, 1}, SOFTMAX_BLOCK_THREADS, 0, kern);
    else attn_emu::launch({(unsigned)((rows + 3) / 4), 1, 1}, 128, 0, kern);
    bool ok = true; std::string detail;
    for (long long r = 0; r < rows && ok; r++) {
        double dot = 0;
        for (int j = 0; j < Sk; j++) dot += (double)G0.get(r * Sk + j) * Yb.get(r * Sk + j);
        for (int j = 0; j < Sk && ok; j++) {
            double want = 1.3 * Yb.get(r * Sk + j) * (G0.get(r * Sk + j) - dot);
            float got = out.get(r * Sk + j);
            if (!close_enough(want, got, tol_of(dt) * 4 + 1e-4)) { ok = false; char t[200]; std::snprintf(t, sizeof t, "dX[%lld,%d] want %.6g got %.6g", r, j, want, got); detail = t; }
        }
    }
    char name[200];
    std::snprintf(name, sizeof name, "softmax_bwd %s %s rows%lld Sk%d inplace=%d", block ? "block" : "warp", dt_name(dt), rows, Sk, in_place);
    report(ok, name, detail);
}

/* ---------------------------------------------------------------- additive */
static void additive_case(std::mt19937& rng, DT dt, int B, int H, int Sq, int Sk, int A, int Dv, bool weights, bool with_b,
                          bool raw, int special) {
    MaskOpt m = random_mask(rng, B, H, Sq, Sk, rng() % 2);
    if (special == 2 && !m.use_kv) { m.use_kv = true; m.kv.clear(); for (int b = 0; b < B; b++) m.kv.push_back((int)(rng() % (Sk + 1))); }
    std::normal_distribution<float> nd(0, 1);
    int Din = 5 + (int)(rng() % 7);
    /* projected inputs: either given (storage dtype) or computed by the projection GEMM (fp32) */
    Buf Qin(dt, (size_t)B * H * Sq * (raw ? Din : A)), Kin(dt, (size_t)B * H * Sk * (raw ? Din : A));
    Buf Wq(dt, (size_t)A * Din), Wk(dt, (size_t)A * Din);
    for (size_t i = 0; i < Qin.f.size(); i++) Qin.set(i, nd(rng));
    for (size_t i = 0; i < Kin.f.size(); i++) Kin.set(i, nd(rng));
    for (size_t i = 0; i < Wq.f.size(); i++) { Wq.set(i, 0.4f * nd(rng)); Wk.set(i, 0.4f * nd(rng)); }
    Buf V(dt, (size_t)B * H * Sk * Dv), W(dt, A), Bv(dt, A), O(dt, (size_t)B * H * Sq * Dv), Wt(dt, (size_t)B * H * Sq * Sk);
    for (size_t i = 0; i < V.f.size(); i++) V.set(i, nd(rng));
    for (int a = 0; a < A; a++) { W.set(a, nd(rng)); Bv.set(a, 0.3f * nd(rng)); }
    if (special == 1) V.set(0, NAN);
    if (special == 2) for (int b = 0; b < B; b++) for (int h = 0; h < H; h++) for (int j = m.kv[b]; j < Sk; j++) {
        for (int x = 0; x < Dv; x++) V.set((((size_t)b * H + h) * Sk + j) * Dv + x, NAN);
        if (!raw) for (int a = 0; a < A; a++) Kin.set((((size_t)b * H + h) * Sk + j) * A + a, NAN);
    }
    O.poison(); Wt.poison();
    std::vector<float> QP, KP; /* fp32 projections (raw) */
    if (raw) {
        QP.assign((size_t)B * H * Sq * A, NAN); KP.assign((size_t)B * H * Sk * A, NAN);
        for (int which = 0; which < 2; which++) {
            int S = which ? Sk : Sq;
            Buf& X = which ? Kin : Qin; Buf& Wm = which ? Wk : Wq; std::vector<float>& C = which ? KP : QP;
            attn_gemm_params gp;
            std::memset(&gp, 0, sizeof gp);
            gp.a_sb = (long long)H * S * Din; gp.a_sh = (long long)S * Din; gp.a_sm = Din; gp.a_sk = 1;
            gp.b_sn = Din; gp.b_sk = 1;
            gp.c_sb = (long long)H * S * A; gp.c_sh = (long long)S * A; gp.c_sm = A; gp.c_sn = 1;
            gp.m = S; gp.n = A; gp.k = Din; gp.batch = B; gp.heads = H;
            dim3e gg{(unsigned)(((S + 63) / 64) * ((A + 63) / 64)), (unsigned)(B * H), 1};
            attn_emu::launch(gg, GEMM_THREADS, 0, [&] {
                attn_bgemm_params bp = attn::from_gemm(gp);
                if (dt == DF32) attn::bgemm<attn::F32, attn::F32, attn::F32>(bp, X.f.data(), Wm.f.data(), C.data(), nullptr);
                else if (dt == DF16) attn::bgemm<attn::F16, attn::F16, attn::F32>(bp, X.h.data(), Wm.h.data(), C.data(), nullptr);
                else attn::bgemm<attn::BF16, attn::BF16, attn::F32>(bp, X.h.data(), Wm.h.data(), C.data(), nullptr);
            });
        }
    }
    attn_additive_params p;
    std::memset(&p, 0, sizeof p);
    p.qp_sb = (long long)H * Sq * A; p.qp_sh = (long long)Sq * A; p.qp_ss = A; p.qp_sa = 1;
    p.kp_sb = (long long)H * Sk * A; p.kp_sh = (long long)Sk * A; p.kp_ss = A; p.kp_sa = 1;
    p.v_sb = (long long)H * Sk * Dv; p.v_sh = (long long)Sk * Dv; p.v_ss = Dv; p.v_sd = 1;
    p.o_sb = (long long)H * Sq * Dv; p.o_sh = (long long)Sq * Dv; p.o_ss = Dv; p.o_sd = 1;
    p.wts_sb = (long long)H * Sq * Sk; p.wts_sh = (long long)Sq * Sk; p.wts_sq = Sk; p.wts_sk = 1;
    p.batch = B; p.heads = H; p.seq_q = Sq; p.seq_k = Sk; p.dim_a = A; p.head_dim_v = Dv;
    p.m = pack_mask(m, H, Sq, Sk);
    p.flags = p.m.flags | (weights ? ATTN_F_WEIGHTS : 0) | (with_b ? ATTN_F_ADD_BIAS : 0);
    unsigned char du = 0; float df = 0; int di = 0;
    const unsigned char* mk = m.use_mask ? m.mask.data() : &du;
    const float* bi = m.use_bias ? m.bias.data() : &df;
    const float* al = m.use_alibi ? m.slope.data() : &df;
    const int* kvl = m.use_kv ? m.kv.data() : &di;
    const int* ql = m.use_q ? m.q.data() : &di;
    bool small = Dv <= 64 && rng() % 2;
    auto run = [&](auto dmax_tag) {
        constexpr int DM = decltype(dmax_tag)::value;
        typedef attn::AdditiveTile<DM> T;
        dim3e grid{(unsigned)(B * H), (unsigned)((Sq + T::BM - 1) / T::BM), 1};
        attn_emu::launch(grid, T::THREADS, attn::AdditiveSmem<DM>::FLOATS * 4, [&] {
#define ADD_CALL(S, E)                                                                                                  \
    if (raw) attn::Additive<S, attn::F32, DM>::run(p, QP.data(), KP.data(), (const E*)V.ptr(), (const E*)W.ptr(),        \
                                                   (const E*)Bv.ptr(), (E*)O.ptr(), (E*)Wt.ptr(), mk, bi, al, kvl, ql); \
    else attn::Additive<S, S, DM>::run(p, (const E*)Qin.ptr(), (const E*)Kin.ptr(), (const E*)V.ptr(), (const E*)W.ptr(), \
                                       (const E*)Bv.ptr(), (E*)O.ptr(), (E*)Wt.ptr(), mk, bi, al, kvl, ql);
            if (dt == DF32) { ADD_CALL(attn::F32, float) } else if (dt == DF16) { ADD_CALL(attn::F16, unsigned short) } else { ADD_CALL(attn::BF16, unsigned short) }
        });
    };
    if (small) run(std::integral_constant<int, 64>());
    else run(std::integral_constant<int, 256>());
    /* reference (projections in double from the stored inputs) */
    bool ok = true; std::string detail;
    for (int b = 0; b < B && ok; b++) for (int h = 0; h < H && ok; h++) for (int i = 0; i < Sq && ok; i++) {
        auto qp = [&](int a) -> double {
            if (!raw) return Qin.get((((size_t)b * H + h) * Sq + i) * A + a);
            double s = 0; for (int d = 0; d < Din; d++) s += (double)Qin.get((((size_t)b * H + h) * Sq + i) * Din + d) * Wq.get((size_t)a * Din + d); return s;
        };
        auto kp = [&](int j, int a) -> double {
            if (!raw) return Kin.get((((size_t)b * H + h) * Sk + j) * A + a);
            double s = 0; for (int d = 0; d < Din; d++) s += (double)Kin.get((((size_t)b * H + h) * Sk + j) * Din + d) * Wk.get((size_t)a * Din + d); return s;
        };
        std::vector<double> e(Sk, 0); std::vector<char> live(Sk, 0);
        double mx = -INFINITY; bool nan = false;
        for (int j = 0; j < Sk; j++) {
            if (!allowed(m, b, h, H, i, j, Sq, Sk)) continue;
            double acc = 0;
            for (int a = 0; a < A; a++) acc += (double)W.get(a) * std::tanh(qp(a) + kp(j, a) + (with_b ? Bv.get(a) : 0.0));
            acc += add_terms(m, b, h, H, i, j, Sq, Sk);
            e[j] = acc; live[j] = 1; nan |= std::isnan(acc); mx = std::max(mx, acc);
        }
        std::vector<double> out(Dv, 0), wts(Sk, 0);
        if (!(mx == -INFINITY && !nan)) {
            if (nan) mx = NAN;
            double sum = 0;
            for (int j = 0; j < Sk; j++) if (live[j] && e[j] != -INFINITY) { e[j] = std::exp(e[j] - mx); sum += e[j]; }
            for (int j = 0; j < Sk; j++) if (live[j] && e[j] != -INFINITY) {
                wts[j] = e[j] / sum;
                for (int x = 0; x < Dv; x++) out[x] += wts[j] * V.get((((size_t)b * H + h) * Sk + j) * Dv + x);
            }
        }
        double tol = tol_of(dt) * 3 + (dt == DF32 ? 1e-4 : 0);
        for (int x = 0; x < Dv && ok; x++) {
            float got = O.get((((size_t)b * H + h) * Sq + i) * Dv + x);
            if (!close_enough(out[x], got, tol)) { ok = false; char t[200]; std::snprintf(t, sizeof t, "C[%d,%d,%d,%d] want %.6g got %.6g", b, h, i, x, out[x], got); detail = t; }
        }
        if (weights) for (int j = 0; j < Sk && ok; j++) {
            float got = Wt.get((((size_t)b * H + h) * Sq + i) * Sk + j);
            if (!close_enough(wts[j], got, tol)) { ok = false; char t[200]; std::snprintf(t, sizeof t, "W[%d,%d,%d,%d] want %.6g got %.6g", b, h, i, j, wts[j], got); detail = t; }
        }
    }
    char name[300];
    std::snprintf(name, sizeof name, "additive %s %s B%d H%d Sq%d Sk%d A%d Dv%d weights=%d b=%d raw=%d special=%d %s", small ? "d64" : "d256",
                  dt_name(dt), B, H, Sq, Sk, A, Dv, weights, with_b, raw, special, mask_str(m).c_str());
    report(ok, name, detail);
}

/* ---------------------------------------------------------------- additive backward */
/* additive_bwd.cu: pre, dq, dkv and reduce on pre-projected inputs (storage dtype) or fp32 projections
 * (_qkf32), then, for the fp32 path, dx = dxp . W and dW = sum dxp^T x from the dqp it wrote; all against
 * a float64 backward written here from the formulas of AdditiveBackwardParams. */
static void additive_bwd_case(std::mt19937& rng, DT dt, int B, int H, int Sq, int Sk, int A, int Dv, bool with_b, bool qkf32) {
    MaskOpt m = random_mask(rng, B, H, Sq, Sk, rng() % 2);
    std::normal_distribution<float> nd(0, 1);
    Buf Q(dt, (size_t)B * H * Sq * A), K(dt, (size_t)B * H * Sk * A), V(dt, (size_t)B * H * Sk * Dv), W(dt, A), Bv(dt, A);
    Buf DC(dt, (size_t)B * H * Sq * Dv), DQ(qkf32 ? DF32 : dt, Q.f.size()), DK(qkf32 ? DF32 : dt, K.f.size()), DV(dt, V.f.size());
    Buf DW(dt, A), DB(dt, A);
    for (size_t i = 0; i < Q.f.size(); i++) Q.set(i, qkf32 ? nd(rng) : nd(rng));
    for (size_t i = 0; i < K.f.size(); i++) K.set(i, nd(rng));
    if (qkf32) { Buf q2(DF32, Q.f.size()), k2(DF32, K.f.size()); for (size_t i = 0; i < Q.f.size(); i++) q2.set(i, nd(rng)); for (size_t i = 0; i < K.f.size(); i++) k2.set(i, nd(rng)); Q = q2; K = k2; }
    for (size_t i = 0; i < V.f.size(); i++) V.set(i, nd(rng));
    for (size_t i = 0; i < DC.f.size(); i++) DC.set(i, nd(rng));
    for (int a = 0; a < A; a++) { W.set(a, nd(rng)); Bv.set(a, 0.3f * nd(rng)); }
    DQ.poison(); DK.poison(); DV.poison(); DW.poison(); DB.poison();
    const int T = attn::AddBwdTile::THREADS, qb = (Sq + T - 1) / T, kb = (Sk + T - 1) / T;
    std::vector<float> st((size_t)B * H * Sq * 2, NAN), dwp((size_t)B * H * kb * A, NAN), dbp((size_t)B * H * qb * A, NAN);
    attn_additive_bwd_params p;
    std::memset(&p, 0, sizeof p);
    p.qp_sb = (long long)H * Sq * A; p.qp_sh = (long long)Sq * A; p.qp_ss = A; p.qp_sa = 1;
    p.kp_sb = (long long)H * Sk * A; p.kp_sh = (long long)Sk * A; p.kp_ss = A; p.kp_sa = 1;
    p.v_sb = (long long)H * Sk * Dv; p.v_sh = (long long)Sk * Dv; p.v_ss = Dv; p.v_sd = 1;
    p.dc_sb = (long long)H * Sq * Dv; p.dc_sh = (long long)Sq * Dv; p.dc_ss = Dv; p.dc_sd = 1;
    p.dqp_sb = p.qp_sb; p.dqp_sh = p.qp_sh; p.dqp_ss = A; p.dqp_sa = 1;
    p.dkp_sb = p.kp_sb; p.dkp_sh = p.kp_sh; p.dkp_ss = A; p.dkp_sa = 1;
    p.dv_sb = p.v_sb; p.dv_sh = p.v_sh; p.dv_ss = Dv; p.dv_sd = 1;
    p.batch = B; p.heads = H; p.seq_q = Sq; p.seq_k = Sk; p.dim_a = A; p.head_dim_v = Dv;
    p.q_blocks = qb; p.k_blocks = kb;
    p.m = pack_mask(m, H, Sq, Sk);
    p.flags = p.m.flags | (with_b ? ATTN_F_ADD_BIAS | ATTN_F_DB : 0);
    unsigned char du = 0; float df = 0; int di = 0;
    const unsigned char* mk = m.use_mask ? m.mask.data() : &du;
    const float* bi = m.use_bias ? m.bias.data() : &df;
    const float* al = m.use_alibi ? m.slope.data() : &df;
    const int* kvl = m.use_kv ? m.kv.data() : &di;
    const int* ql = m.use_q ? m.q.data() : &di;
    const int smem = 4 * (T * (3 * A + 2 * Dv) + attn::AddBwdTile::BN * (A + Dv) + A + 4 * attn::AddBwdTile::BN);
#define BWD_RUN(S, E, SQK, EQK)                                                                                          \
    {                                                                                                                    \
        typedef attn::AdditiveBwd<S, SQK> K_;                                                                            \
        const EQK* q_ = (const EQK*)Q.ptr(); const EQK* k_ = (const EQK*)K.ptr();                                        \
        attn_emu::launch({(unsigned)qb, (unsigned)(B * H), 1}, T, smem, [&] { K_::pre(p, q_, k_, (const E*)V.ptr(), (const E*)W.ptr(), (const E*)Bv.ptr(), (const E*)DC.ptr(), st.data(), mk, bi, al, kvl, ql); }); \
        attn_emu::launch({(unsigned)qb, (unsigned)(B * H), 1}, T, smem, [&] { K_::dq(p, q_, k_, (const E*)V.ptr(), (const E*)W.ptr(), (const E*)Bv.ptr(), (const E*)DC.ptr(), st.data(), (EQK*)DQ.ptr(), dbp.data(), mk, bi, al, kvl, ql); }); \
        attn_emu::launch({(unsigned)kb, (unsigned)(B * H), 1}, T, smem, [&] { K_::dkv(p, q_, k_, (const E*)V.ptr(), (const E*)W.ptr(), (const E*)Bv.ptr(), (const E*)DC.ptr(), st.data(), (EQK*)DK.ptr(), (E*)DV.ptr(), dwp.data(), mk, bi, al, kvl, ql); }); \
        attn_emu::launch({(unsigned)((A + 63) / 64), 1, 1}, 64, 0, [&] { attn::AdditiveBwdSmall<S>::reduce(p, dwp.data(), dbp.data(), (E*)DW.ptr(), with_b ? (E*)DB.ptr() : (E*)nullptr); }); \
    }
    if (dt == DF32) { if (qkf32) BWD_RUN(attn::F32, float, attn::F32, float) else BWD_RUN(attn::F32, float, attn::F32, float) }
    else if (dt == DF16) { if (qkf32) BWD_RUN(attn::F16, unsigned short, attn::F32, float) else BWD_RUN(attn::F16, unsigned short, attn::F16, unsigned short) }
    else { if (qkf32) BWD_RUN(attn::BF16, unsigned short, attn::F32, float) else BWD_RUN(attn::BF16, unsigned short, attn::BF16, unsigned short) }
#undef BWD_RUN
    /* reference */
    std::vector<double> rq(Q.f.size(), 0), rk(K.f.size(), 0), rv(V.f.size(), 0), rw(A, 0), rb(A, 0);
    for (int b = 0; b < B; b++) for (int h = 0; h < H; h++) for (int i = 0; i < Sq; i++) {
        const size_t z = (size_t)b * H + h;
        std::vector<double> e(Sk, 0), pr(Sk, 0), dp(Sk, 0); std::vector<char> live(Sk, 0);
        double mx = -INFINITY;
        auto u = [&](int j, int a) { return (double)Q.get((z * Sq + i) * A + a) + K.get((z * Sk + j) * A + a) + (with_b ? Bv.get(a) : 0.0); };
        for (int j = 0; j < Sk; j++) {
            if (!allowed(m, b, h, H, i, j, Sq, Sk)) continue;
            double acc = 0;
            for (int a = 0; a < A; a++) acc += (double)W.get(a) * std::tanh(u(j, a));
            e[j] = acc + add_terms(m, b, h, H, i, j, Sq, Sk); live[j] = 1; mx = std::max(mx, e[j]);
        }
        if (mx == -INFINITY) continue;
        double sum = 0, delta = 0;
        for (int j = 0; j < Sk; j++) if (live[j]) { pr[j] = std::exp(e[j] - mx); sum += pr[j]; }
        for (int j = 0; j < Sk; j++) if (live[j]) {
            pr[j] /= sum;
            for (int x = 0; x < Dv; x++) dp[j] += (double)DC.get((z * Sq + i) * Dv + x) * V.get((z * Sk + j) * Dv + x);
            delta += pr[j] * dp[j];
        }
        for (int j = 0; j < Sk; j++) if (live[j]) {
            const double de = pr[j] * (dp[j] - delta);
            for (int x = 0; x < Dv; x++) rv[(z * Sk + j) * Dv + x] += pr[j] * DC.get((z * Sq + i) * Dv + x);
            for (int a = 0; a < A; a++) {
                const double t = std::tanh(u(j, a)), g = de * W.get(a) * (1 - t * t);
                rq[(z * Sq + i) * A + a] += g; rk[(z * Sk + j) * A + a] += g; rw[a] += de * t; rb[a] += g;
            }
        }
    }
    bool ok = true; std::string detail;
    const double tol = dt == DF32 ? 2e-4 : dt == DF16 ? 2e-2 : 8e-2;
    auto cmp = [&](const char* n, const std::vector<double>& want, const Buf& got) {
        for (size_t x = 0; x < want.size() && ok; x++) {
            if (!close_enough(want[x], got.get(x), tol)) { ok = false; char t[200]; std::snprintf(t, sizeof t, "%s[%zu] want %.6g got %.6g", n, x, want[x], got.get(x)); detail = t; }
        }
    };
    cmp("dqp", rq, DQ); cmp("dkp", rk, DK); cmp("dv", rv, DV); cmp("dw", rw, DW);
    if (with_b) cmp("db", rb, DB);
    if (qkf32 && ok) { /* raw inputs: dx = dqp . Wq and dWq = sum dqp^T x through proj/wgrad, from the dqp just written */
        const int Din = 3 + (int)(rng() % 9);
        Buf X(dt, (size_t)B * H * Sq * Din), Wq(dt, (size_t)A * Din), DX(dt, X.f.size()), DWq(dt, Wq.f.size());
        for (size_t i = 0; i < X.f.size(); i++) X.set(i, nd(rng));
        for (size_t i = 0; i < Wq.f.size(); i++) Wq.set(i, nd(rng));
        DX.poison(); DWq.poison();
        attn_additive_proj_params pp;
        std::memset(&pp, 0, sizeof pp);
        pp.x_sb = (long long)H * Sq * Din; pp.x_sh = (long long)Sq * Din; pp.x_ss = Din; pp.x_sd = 1;
        pp.dx_sb = pp.x_sb; pp.dx_sh = pp.x_sh; pp.dx_ss = Din; pp.dx_sd = 1;
        pp.w_sa = Din; pp.w_sd = 1; pp.dw_sa = Din; pp.dw_sd = 1;
        pp.batch = B; pp.heads = H; pp.seq = Sq; pp.dim = Din; pp.dim_a = A;
        const float* dxp = DQ.f.data();
#define PROJ_RUN(S, E)                                                                                                   \
        attn_emu::launch({(unsigned)((Din + 63) / 64), (unsigned)Sq, (unsigned)(B * H)}, 64, 0, [&] { attn::AdditiveBwdSmall<S>::proj(pp, dxp, (const E*)Wq.ptr(), (E*)DX.ptr()); }); \
        attn_emu::launch({(unsigned)((Din + 63) / 64), (unsigned)A, 1}, 64, 0, [&] { attn::AdditiveBwdSmall<S>::wgrad(pp, dxp, (const E*)X.ptr(), (E*)DWq.ptr()); });
        if (dt == DF32) { PROJ_RUN(attn::F32, float) } else if (dt == DF16) { PROJ_RUN(attn::F16, unsigned short) } else { PROJ_RUN(attn::BF16, unsigned short) }
#undef PROJ_RUN
        std::vector<double> rx(X.f.size(), 0), rwq(Wq.f.size(), 0);
        for (size_t r = 0; r < (size_t)B * H * Sq; r++) for (int a = 0; a < A; a++) for (int d = 0; d < Din; d++) {
            rx[r * Din + d] += (double)DQ.f[r * A + a] * Wq.get((size_t)a * Din + d);
            rwq[(size_t)a * Din + d] += (double)DQ.f[r * A + a] * X.get(r * Din + d);
        }
        cmp("dx", rx, DX); cmp("dWq", rwq, DWq);
    }
    char name[300];
    std::snprintf(name, sizeof name, "additive_bwd %s B%d H%d Sq%d Sk%d A%d Dv%d b=%d qkf32=%d %s", dt_name(dt), B, H, Sq, Sk, A, Dv,
                  with_b, qkf32, mask_str(m).c_str());
    report(ok, name, detail);
}

/* The strided copy (copy.cu) between a [d0, d1, d2, d3] view and a permuted/offset view, element width
 * W, with guard elements around the destination: every element lands where the strides say, nothing
 * else is written. */
template <typename T>
static void copy_case(std::mt19937& rng, int d0, int d1, int d2, int d3, bool permute, int blocks) {
    const long long n = (long long)d0 * d1 * d2 * d3;
    const long long guard = 7, span = n + 2 * guard;
    std::vector<T> src(n), dst(span, (T)0x5a);
    for (auto& x : src) x = (T)rng();
    attn_copy_params p{};
    p.src_off = 0; p.src_s0 = (long long)d1 * d2 * d3; p.src_s1 = (long long)d2 * d3; p.src_s2 = d3; p.src_s3 = 1;
    p.dst_off = guard;
    if (permute) { /* dst as [d0, d2, d1, d3] memory: the BSHD view of a BHSD tensor */
        p.dst_s0 = (long long)d1 * d2 * d3; p.dst_s1 = d3; p.dst_s2 = (long long)d1 * d3; p.dst_s3 = 1;
    } else {
        p.dst_s0 = p.src_s0; p.dst_s1 = p.src_s1; p.dst_s2 = p.src_s2; p.dst_s3 = p.src_s3;
    }
    p.d0 = d0; p.d1 = d1; p.d2 = d2; p.d3 = d3;
    attn_emu::launch({(unsigned)blocks, 1, 1}, ATTN_COPY_THREADS, 0, [&] { attn::copy_strided<T>(p, src.data(), dst.data()); });
    bool ok = true;
    std::string detail;
    std::vector<char> hit(span, 0);
    for (int a = 0; a < d0 && ok; a++) for (int b = 0; b < d1 && ok; b++) for (int c = 0; c < d2 && ok; c++) for (int e = 0; e < d3 && ok; e++) {
        long long si = a * p.src_s0 + b * p.src_s1 + c * p.src_s2 + e;
        long long di = p.dst_off + a * p.dst_s0 + b * p.dst_s1 + c * p.dst_s2 + e * p.dst_s3;
        hit[di] = 1;
        if (dst[di] != src[si]) { ok = false; detail = "element " + std::to_string(si); }
    }
    for (long long i = 0; i < span && ok; i++) {
        if (!hit[i] && dst[i] != (T)0x5a) { ok = false; detail = "wrote outside the view at " + std::to_string(i); }
    }
    char name[160];
    std::snprintf(name, sizeof name, "copy u%d [%d,%d,%d,%d] permute=%d blocks=%d", (int)(8 * sizeof(T)), d0, d1, d2, d3,
                  permute, blocks);
    report(ok, name, detail);
}

/* Merge of attention states (merge.cu): n parts of O [B, H, S, Dv] (BHSD or BSHD per part) and LSE
 * [B, H, S]; about one part-row in five empty (-inf, its O row NaN garbage that must not be read),
 * one row all empty, one row with a NaN LSE, and (lse_out) the merged LSE. Reference in double. */
static void merge_case(std::mt19937& rng, DT dt, int B, int H, int S, int Dv, int n, bool lse_out, int blocks) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    const float ninf = -INFINITY;
    const size_t rows = (size_t)B * H * S;
    std::vector<Buf> O;
    std::vector<std::vector<float>> L(n, std::vector<float>(rows));
    attn_merge_params p{};
    attn_merge_part* parts[8] = {&p.p0, &p.p1, &p.p2, &p.p3, &p.p4, &p.p5, &p.p6, &p.p7};
    for (int i = 0; i < n; i++) {
        O.emplace_back(dt, rows * Dv);
        Str st = strides(rng() % 2, B, H, S, Dv);
        attn_merge_part& t = *parts[i];
        t.o_off = 0; t.o_sb = st.b; t.o_sh = st.h; t.o_ss = st.s; t.o_sd = st.d;
        t.lse_off = 0; t.lse_sb = (long long)H * S; t.lse_sh = S; t.lse_ss = 1;
        for (int b = 0; b < B; b++) for (int h = 0; h < H; h++) for (int s = 0; s < S; s++) {
            size_t r = ((size_t)b * H + h) * S + s;
            bool empty = rng() % 5 == 0 || r == 0;
            L[i][r] = empty ? ninf : 4.0f * u(rng);
            if (r == rows - 1 && i == 0) L[i][r] = NAN;
            for (int d = 0; d < Dv; d++) O[i].set(b * st.b + h * st.h + s * st.s + d, empty ? NAN : u(rng));
        }
    }
    Buf out(dt, rows * Dv);
    out.poison();
    std::vector<float> lse(rows, -777.0f);
    p.out.o_off = 0; p.out.o_sb = (long long)H * S * Dv; p.out.o_sh = (long long)S * Dv; p.out.o_ss = Dv; p.out.o_sd = 1;
    p.out.lse_off = 0; p.out.lse_sb = (long long)H * S; p.out.lse_sh = S; p.out.lse_ss = 1;
    p.batch = B; p.heads = H; p.seq = S; p.head_dim_v = Dv; p.n_parts = n; p.flags = lse_out ? ATTN_F_LSE : 0;
    using E = unsigned short;
    const void* src[8] = {};
    const float* lsrc[8] = {};
    for (int i = 0; i < n; i++) { src[i] = O[i].ptr(); lsrc[i] = L[i].data(); }
    attn_emu::launch({(unsigned)blocks, 1, 1}, ATTN_MERGE_THREADS, 0, [&] {
        if (dt == DF32) attn::merge_states<attn::F32>(p, (const float* const*)src, lsrc, (float*)out.ptr(), lse.data());
        else if (dt == DF16) attn::merge_states<attn::F16>(p, (const E* const*)src, lsrc, (E*)out.ptr(), lse.data());
        else attn::merge_states<attn::BF16>(p, (const E* const*)src, lsrc, (E*)out.ptr(), lse.data());
    });
    bool ok = true;
    std::string detail;
    for (int b = 0; b < B && ok; b++) for (int h = 0; h < H && ok; h++) for (int s = 0; s < S && ok; s++) {
        size_t r = ((size_t)b * H + h) * S + s;
        double m = -INFINITY;
        bool nan = false;
        for (int i = 0; i < n; i++) { nan |= std::isnan(L[i][r]); m = std::max(m, (double)L[i][r]); }
        double want_lse, sum = 0;
        std::vector<double> want(Dv, 0.0);
        if (nan) { want_lse = NAN; std::fill(want.begin(), want.end(), NAN); }
        else if (m == -INFINITY) { want_lse = -INFINITY; }
        else {
            for (int i = 0; i < n; i++) if (L[i][r] != ninf) sum += std::exp(L[i][r] - m);
            for (int i = 0; i < n; i++) if (L[i][r] != ninf) {
                const attn_merge_part& t = *parts[i];
                double w = std::exp(L[i][r] - m) / sum;
                for (int d = 0; d < Dv; d++) want[d] += w * O[i].get(b * t.o_sb + h * t.o_sh + s * t.o_ss + d);
            }
            want_lse = m + std::log(sum);
        }
        for (int d = 0; d < Dv && ok; d++) {
            float got = out.get(r * Dv + d);
            if (!close_enough(want[d], got, tol_of(dt))) {
                ok = false; char t[160]; std::snprintf(t, sizeof t, "O[row %zu, %d] want %.6g got %.6g", r, d, want[d], got); detail = t;
            }
        }
        if (ok && lse_out && !close_enough(want_lse, lse[r], 2e-6)) {
            ok = false; char t[160]; std::snprintf(t, sizeof t, "LSE[row %zu] want %.6g got %.6g", r, want_lse, lse[r]); detail = t;
        }
        if (ok && !lse_out && lse[r] != -777.0f) { ok = false; detail = "LSE written without ATTN_F_LSE"; }
    }
    char name[160];
    std::snprintf(name, sizeof name, "merge %s B%d H%d S%d Dv%d parts=%d lse=%d blocks=%d", dt_name(dt), B, H, S, Dv, n, lse_out, blocks);
    report(ok, name, detail);
}

/* KV append (kv_append.cu): B sequences of Snew rows (ragged: some shorter, one empty) into pages of
 * page_size rows through a shuffled block table whose unreached entries are garbage, plus one
 * reached entry out of range (that row must be skipped). Every cache element the reference does not
 * write must keep its garbage; element width W (u32 or u16 storage). */
template <typename T>
static void kv_append_case(std::mt19937& rng, int B, int H, int Sn, int D, int Dv, int ps, bool ragged, int blocks) {
    std::vector<int> start(B), len(B);
    int max_pages = 1;
    for (int b = 0; b < B; b++) {
        start[b] = b == 0 ? 0 : (int)(rng() % (3 * ps + 1));
        len[b] = ragged ? (b % 3 == 1 ? 0 : b % 3 == 2 ? std::max(1, Sn / 2) : Sn) : Sn;
        max_pages = std::max(max_pages, (start[b] + Sn + ps - 1) / ps + 1);
    }
    const int pages = B * max_pages + 3;
    std::vector<int> perm(pages);
    for (int i = 0; i < pages; i++) perm[i] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<int> bt((size_t)B * max_pages);
    for (int b = 0; b < B; b++) for (int j = 0; j < max_pages; j++) {
        int first = start[b] / ps, last = len[b] == 0 ? first - 1 : (start[b] + len[b] - 1) / ps;
        bt[(size_t)b * max_pages + j] = (j >= first && j <= last) ? perm[b * max_pages + j] : (j % 2 ? -7 : pages + 5);
    }
    int bad_b = B - 1, bad_j = start[bad_b] / ps; /* a reached entry out of range: its rows are skipped */
    if (len[bad_b] > 0) bt[(size_t)bad_b * max_pages + bad_j] = pages + 1;
    std::vector<T> kn((size_t)B * H * Sn * D), vn((size_t)B * H * Sn * Dv), kc((size_t)pages * ps * H * D),
        vc((size_t)pages * ps * H * Dv);
    for (auto& x : kn) x = (T)rng();
    for (auto& x : vn) x = (T)rng();
    for (auto& x : kc) x = (T)rng();
    for (auto& x : vc) x = (T)rng();
    std::vector<T> kw = kc, vw = vc; /* the reference */
    for (int b = 0; b < B; b++) for (int t = 0; t < len[b]; t++) {
        int pos = start[b] + t, page = bt[(size_t)b * max_pages + pos / ps], slot = pos % ps;
        if (page < 0 || page >= pages) continue;
        for (int h = 0; h < H; h++) {
            for (int d = 0; d < D; d++) kw[(((size_t)page * ps + slot) * H + h) * D + d] = kn[(((size_t)b * H + h) * Sn + t) * D + d];
            for (int d = 0; d < Dv; d++) vw[(((size_t)page * ps + slot) * H + h) * Dv + d] = vn[(((size_t)b * H + h) * Sn + t) * Dv + d];
        }
    }
    attn_kv_append_params p{};
    p.kn_sb = (long long)H * Sn * D; p.kn_sh = (long long)Sn * D; p.kn_ss = D; p.kn_sd = 1;
    p.vn_sb = (long long)H * Sn * Dv; p.vn_sh = (long long)Sn * Dv; p.vn_ss = Dv; p.vn_sd = 1;
    p.kc_sp = (long long)ps * H * D; p.kc_ss = (long long)H * D; p.kc_sh = D; p.kc_sd = 1;
    p.vc_sp = (long long)ps * H * Dv; p.vc_ss = (long long)H * Dv; p.vc_sh = Dv; p.vc_sd = 1;
    p.bt_sb = max_pages; p.bt_sp = 1;
    p.batch = B; p.heads_kv = H; p.seq_new = Sn; p.head_dim = D; p.head_dim_v = Dv;
    p.num_pages = pages; p.page_size = ps; p.max_pages = max_pages;
    attn_emu::launch({(unsigned)blocks, 1, 1}, ATTN_KV_APPEND_THREADS, 0, [&] {
        attn::kv_append<T>(p, kn.data(), vn.data(), kc.data(), vc.data(), bt.data(), start.data(), len.data());
    });
    bool ok = kc == kw && vc == vw;
    char name[160];
    std::snprintf(name, sizeof name, "kv_append u%d B%d H%d Snew%d D%d Dv%d page%d ragged=%d blocks=%d", (int)(8 * sizeof(T)), B, H,
                  Sn, D, Dv, ps, ragged, blocks);
    report(ok, name, ok ? "" : "a cache element differs from the reference");
}

/* ---------------------------------------------------------------- SDPA backward */
/* sdpa_bwd.cu: pre, dkdv, dq and dbias against a float64 forward + backward written here from the
 * formulas of SdpaBackwardParams (the forward's O and LSE fed to the kernels come from the same
 * float64 forward). dBias may sum over B (dbb = 1) and/or Hq (dbh = 1). Outputs poisoned first. */
static void sdpa_bwd_case(std::mt19937& rng, DT dt, int B, int Hkv, int G, int Sq, int Sk, int D, int Dv, bool top_left,
                          float softcap, int dbias_kind, int force) {
    const int Hq = Hkv * G;
    MaskOpt m = random_mask(rng, B, Hq, Sq, Sk, top_left);
    if (force == 1) { m.window = true; m.wl = -1; m.wr = 0; }                     /* causal */
    if (force == 2) { m.use_mask = true; m.mask.assign((size_t)B * Hq * Sq * Sk, 1);  /* bool mask, row 0 fully masked */
        for (auto& x : m.mask) x = rng() % 4 != 0;
        for (int j = 0; j < Sk; j++) m.mask[j] = 0; }
    if (dbias_kind && !m.use_bias) { m.use_bias = true; m.bias.resize((size_t)B * Hq * Sq * Sk);
        std::normal_distribution<float> n(0, 1); for (auto& x : m.bias) x = n(rng); }
    std::normal_distribution<float> nd(0, 1);
    Buf Q(dt, (size_t)B * Hq * Sq * D), K(dt, (size_t)B * Hkv * Sk * D), V(dt, (size_t)B * Hkv * Sk * Dv);
    Buf O(dt, (size_t)B * Hq * Sq * Dv), DO(dt, O.f.size()), DQ(dt, Q.f.size()), DK(dt, K.f.size()), DV(dt, V.f.size());
    for (size_t i = 0; i < Q.f.size(); i++) Q.set(i, nd(rng));
    for (size_t i = 0; i < K.f.size(); i++) K.set(i, nd(rng));
    for (size_t i = 0; i < V.f.size(); i++) V.set(i, nd(rng));
    for (size_t i = 0; i < DO.f.size(); i++) DO.set(i, nd(rng));
    const double scale = 1.0 / std::sqrt((double)D);
    const int dbb = dbias_kind == 2 ? 1 : B, dbh = dbias_kind == 3 ? 1 : Hq;
    std::vector<float> lse((size_t)B * Hq * Sq), dbias((size_t)dbb * dbh * Sq * Sk, -777.0f), ws(2 * lse.size(), NAN);
    std::vector<double> rq(Q.f.size(), 0), rk(K.f.size(), 0), rv(V.f.size(), 0), rdb(dbias.size(), 0);
    auto qi = [&](int b, int h, int i, int d) { return (((size_t)b * Hq + h) * Sq + i) * D + d; };
    auto oi = [&](int b, int h, int i, int x) { return (((size_t)b * Hq + h) * Sq + i) * Dv + x; };
    auto ki = [&](int b, int h, int j, int d) { return (((size_t)b * Hkv + h) * Sk + j) * D + d; };
    auto vi = [&](int b, int h, int j, int x) { return (((size_t)b * Hkv + h) * Sk + j) * Dv + x; };
    for (int b = 0; b < B; b++) for (int h = 0; h < Hq; h++) for (int i = 0; i < Sq; i++) {
        const int hk = h / G;
        std::vector<double> s(Sk, -INFINITY), th(Sk, 0), pr(Sk, 0);
        double mx = -INFINITY;
        for (int j = 0; j < Sk; j++) {
            if (!allowed(m, b, h, Hq, i, j, Sq, Sk)) continue;
            double x = 0; for (int d = 0; d < D; d++) x += (double)Q.f[qi(b, h, i, d)] * K.f[ki(b, hk, j, d)];
            x *= scale;
            if (softcap > 0) { th[j] = std::tanh(x / softcap); x = softcap * th[j]; }
            s[j] = x + add_terms(m, b, h, Hq, i, j, Sq, Sk); mx = std::max(mx, s[j]);
        }
        std::vector<double> o(Dv, 0);
        double l = -INFINITY;
        if (mx > -INFINITY) {
            double sum = 0; for (int j = 0; j < Sk; j++) if (s[j] > -INFINITY) sum += std::exp(s[j] - mx);
            l = mx + std::log(sum);
            for (int j = 0; j < Sk; j++) if (s[j] > -INFINITY) { pr[j] = std::exp(s[j] - l); for (int x = 0; x < Dv; x++) o[x] += pr[j] * V.f[vi(b, hk, j, x)]; }
        }
        lse[((size_t)b * Hq + h) * Sq + i] = (float)l;
        for (int x = 0; x < Dv; x++) O.set(oi(b, h, i, x), (float)o[x]);
        if (l == -INFINITY) continue;
        double delta = 0; for (int x = 0; x < Dv; x++) delta += (double)DO.f[oi(b, h, i, x)] * o[x];
        for (int j = 0; j < Sk; j++) {
            if (!(s[j] > -INFINITY)) continue;
            double dp = 0; for (int x = 0; x < Dv; x++) dp += (double)DO.f[oi(b, h, i, x)] * V.f[vi(b, hk, j, x)];
            const double ds = pr[j] * (dp - delta), dr = ds * (softcap > 0 ? 1 - th[j] * th[j] : 1.0);
            rdb[(((size_t)(dbb == 1 ? 0 : b) * dbh + (dbh == 1 ? 0 : h)) * Sq + i) * Sk + j] += ds;
            for (int d = 0; d < D; d++) { rq[qi(b, h, i, d)] += scale * dr * K.f[ki(b, hk, j, d)]; rk[ki(b, hk, j, d)] += scale * dr * Q.f[qi(b, h, i, d)]; }
            for (int x = 0; x < Dv; x++) rv[vi(b, hk, j, x)] += pr[j] * DO.f[oi(b, h, i, x)];
        }
    }
    DQ.poison(); DK.poison(); DV.poison();
    attn_sdpa_bwd_params p;
    std::memset(&p, 0, sizeof p);
    p.q_sb = (long long)Hq * Sq * D; p.q_sh = (long long)Sq * D; p.q_ss = D; p.q_sd = 1;
    p.k_sb = (long long)Hkv * Sk * D; p.k_sh = (long long)Sk * D; p.k_ss = D; p.k_sd = 1;
    p.v_sb = (long long)Hkv * Sk * Dv; p.v_sh = (long long)Sk * Dv; p.v_ss = Dv; p.v_sd = 1;
    p.o_sb = (long long)Hq * Sq * Dv; p.o_sh = (long long)Sq * Dv; p.o_ss = Dv; p.o_sd = 1;
    p.do_sb = p.o_sb; p.do_sh = p.o_sh; p.do_ss = Dv; p.do_sd = 1;
    p.lse_sb = (long long)Hq * Sq; p.lse_sh = Sq; p.lse_ss = 1;
    p.dq_sb = p.q_sb; p.dq_sh = p.q_sh; p.dq_ss = D; p.dq_sd = 1;
    p.dk_sb = p.k_sb; p.dk_sh = p.k_sh; p.dk_ss = D; p.dk_sd = 1;
    p.dv_sb = p.v_sb; p.dv_sh = p.v_sh; p.dv_ss = Dv; p.dv_sd = 1;
    p.db_sb = (long long)dbh * Sq * Sk; p.db_sh = (long long)Sq * Sk; p.db_sq = Sk; p.db_sk = 1;
    p.batch = B; p.heads_q = Hq; p.heads_kv = Hkv; p.group = G; p.seq_q = Sq; p.seq_k = Sk; p.head_dim = D; p.head_dim_v = Dv;
    p.db_batch = dbb; p.db_heads = dbh;
    p.scale = (float)scale; p.scale_log2 = (float)(scale * 1.4426950408889634); p.softcap = softcap;
    p.m = pack_mask(m, Hq, Sq, Sk);
    p.flags = p.m.flags | (softcap > 0 ? ATTN_F_SOFTCAP : 0) | (dbias_kind ? ATTN_F_DBIAS : 0);
    unsigned char du = 0; float df = 0; int di = 0;
    const unsigned char* mk = m.use_mask ? m.mask.data() : &du;
    const float* bi = m.use_bias ? m.bias.data() : &df;
    const float* al = m.use_alibi ? m.slope.data() : &df;
    const int* kvl = m.use_kv ? m.kv.data() : &di;
    const int* ql = m.use_q ? m.q.data() : &di;
    const int T = attn::SdpaBwdTile::THREADS, BN = attn::SdpaBwdTile::BN;
    const int smem_kv = 4 * (T * (2 * D + 2 * Dv) + BN * (D + Dv + 2)), smem_q = 4 * (T * (2 * D + Dv) + BN * (D + Dv));
    const unsigned nr = (unsigned)((lse.size() + T - 1) / T);
#define SBWD_RUN(S, E)                                                                                                    \
    {                                                                                                                     \
        typedef attn::SdpaBwd<S> K_;                                                                                      \
        const E *q_ = (const E*)Q.ptr(), *k_ = (const E*)K.ptr(), *v_ = (const E*)V.ptr(), *o_ = (const E*)O.ptr(), *do_ = (const E*)DO.ptr(); \
        attn_emu::launch({nr, 1, 1}, T, 0, [&] { K_::pre(p, o_, do_, lse.data(), ws.data(), ql); });                     \
        attn_emu::launch({(unsigned)((Sk + T - 1) / T), (unsigned)(B * Hkv), 1}, T, smem_kv, [&] { K_::dkdv(p, q_, k_, v_, do_, (E*)DK.ptr(), (E*)DV.ptr(), ws.data(), mk, bi, al, kvl, ql); }); \
        attn_emu::launch({(unsigned)((Sq + T - 1) / T), (unsigned)(B * Hq), 1}, T, smem_q, [&] { K_::dq(p, q_, k_, v_, do_, (E*)DQ.ptr(), ws.data(), mk, bi, al, kvl, ql); }); \
        if (dbias_kind) attn_emu::launch({(unsigned)((Sq + T - 1) / T), (unsigned)(dbb * dbh), 1}, T, smem_q, [&] { K_::dbias_(p, q_, k_, v_, do_, dbias.data(), ws.data(), mk, bi, al, kvl, ql); }); \
    }
    if (dt == DF32) SBWD_RUN(attn::F32, float) else if (dt == DF16) SBWD_RUN(attn::F16, unsigned short) else SBWD_RUN(attn::BF16, unsigned short)
#undef SBWD_RUN
    bool ok = true; std::string detail;
    const double tol = dt == DF32 ? 1e-4 : dt == DF16 ? 1e-2 : 6e-2;
    auto check = [&](const char* what, const std::vector<double>& want, auto get) {
        double mxw = 0; for (double w : want) mxw = std::max(mxw, std::fabs(w));
        for (size_t e = 0; e < want.size() && ok; e++) {
            const float got = get(e);
            if (!(std::fabs(want[e] - got) <= tol * (1.0 + mxw))) { ok = false; char t[200]; std::snprintf(t, sizeof t, "%s[%zu] want %.6g got %.6g", what, e, want[e], got); detail = t; }
        }
    };
    check("dQ", rq, [&](size_t e) { return DQ.get(e); });
    check("dK", rk, [&](size_t e) { return DK.get(e); });
    check("dV", rv, [&](size_t e) { return DV.get(e); });
    if (dbias_kind) check("dBias", rdb, [&](size_t e) { return dbias[e]; });
    char name[300];
    std::snprintf(name, sizeof name, "sdpa_bwd %s B%d Hq%d Hkv%d Sq%d Sk%d D%d Dv%d cap=%.0f dbias=%d force=%d %s", dt_name(dt), B, Hq,
                  Hkv, Sq, Sk, D, Dv, softcap, dbias_kind, force, mask_str(m).c_str());
    report(ok, name, detail);
}

static void sdpa_bwd_cases(std::mt19937& rng) {
    DT dts[3] = {DF32, DF16, DBF16};
    const int sizes[] = {1, 7, 17, 113};
    for (DT t : dts) for (int rep = 0; rep < 8; rep++) {
        const int Sq = sizes[(rep + (int)t) % 4], Sk = sizes[(rep / 2 + 1) % 4];
        const int D = rep % 3 == 0 ? 7 : rep % 3 == 1 ? 16 : 40, Dv = rep % 2 ? D : 24;
        sdpa_bwd_case(rng, t, 1 + rep % 2, 1 + (rep / 2) % 2, 1 + rep % 3, Sq, Sk, D, Dv, rep % 2, rep % 4 == 3 ? 5.0f : 0.0f,
                      rep % 4, rep % 3);
    }
}

/* The public GEMM (attn_gemm_<dt> body: bgemm through from_gemm_op): op(A) and op(B) by stride swaps,
 * a shared B (b_sz = 0), alpha, beta read from C; every element of C checked, and nothing outside C. */
static void gemm_op_case(std::mt19937& rng, DT dt, int batch, int M, int N, int K, bool ta, bool tb, bool shared_b,
                         float alpha, float beta) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    const long long guard = 5;
    Buf A(dt, (size_t)batch * M * K), B(dt, (size_t)(shared_b ? 1 : batch) * K * N), C(dt, (size_t)batch * M * N + 2 * guard);
    for (size_t i = 0; i < A.f.size(); i++) A.set(i, u(rng));
    for (size_t i = 0; i < B.f.size(); i++) B.set(i, u(rng));
    for (size_t i = 0; i < C.f.size(); i++) C.set(i, u(rng));
    std::vector<float> c0(C.f.size());
    for (size_t i = 0; i < c0.size(); i++) c0[i] = C.get(i);
    attn_gemm_op_params p;
    std::memset(&p, 0, sizeof p);
    /* A stored [batch, M, K] or (ta) [batch, K, M]; B [K, N] or (tb) [N, K] */
    p.a_sz = (long long)M * K; p.a_sm = ta ? 1 : K; p.a_sk = ta ? M : 1;
    p.b_sz = shared_b ? 0 : (long long)K * N; p.b_sk = tb ? 1 : N; p.b_sn = tb ? K : 1;
    p.c_off = guard; p.c_sz = (long long)M * N; p.c_sm = N; p.c_sn = 1;
    p.m = M; p.n = N; p.k = K; p.batch = batch; p.alpha = alpha; p.beta = beta;
    dim3e g{(unsigned)(((M + GEMM_TM - 1) / GEMM_TM) * ((N + GEMM_TN - 1) / GEMM_TN)), (unsigned)batch, 1};
    attn_emu::launch(g, GEMM_THREADS, 0, [&] {
        attn_bgemm_params q = attn::from_gemm_op(p);
        if (dt == DF32) attn::bgemm<attn::F32, attn::F32, attn::F32>(q, A.f.data(), B.f.data(), C.f.data(), (const int*)0, p.beta);
        else if (dt == DF16) attn::bgemm<attn::F16, attn::F16, attn::F16>(q, A.h.data(), B.h.data(), C.h.data(), (const int*)0, p.beta);
        else attn::bgemm<attn::BF16, attn::BF16, attn::BF16>(q, A.h.data(), B.h.data(), C.h.data(), (const int*)0, p.beta);
    });
    bool ok = true;
    std::string detail;
    for (int z = 0; z < batch && ok; z++) for (int i = 0; i < M && ok; i++) for (int j = 0; j < N && ok; j++) {
        double acc = 0;
        for (int x = 0; x < K; x++)
            acc += (double)A.get(z * p.a_sz + i * p.a_sm + x * p.a_sk) * B.get(z * p.b_sz + x * p.b_sk + j * p.b_sn);
        long long ci = guard + z * p.c_sz + (long long)i * N + j;
        double want = alpha * acc + beta * (double)c0[ci];
        if (!close_enough(want, C.get(ci), tol_of(dt) * (1 + std::sqrt((double)K)))) {
            ok = false;
            detail = "C[" + std::to_string(z) + "," + std::to_string(i) + "," + std::to_string(j) + "] = " +
                     std::to_string(C.get(ci)) + ", want " + std::to_string(want);
        }
    }
    for (long long i = 0; i < guard && ok; i++) {
        size_t hi = C.f.size() - 1 - i;
        if (C.get(i) != c0[i] || C.get(hi) != c0[hi]) { ok = false; detail = "wrote outside C"; }
    }
    char name[200];
    std::snprintf(name, sizeof name, "gemm %s z%d M%d N%d K%d ta=%d tb=%d shared=%d alpha=%.2f beta=%.2f", dt_name(dt), batch,
                  M, N, K, ta, tb, shared_b, alpha, beta);
    report(ok, name, detail);
}

/* RoPE (attn_rope_<dt> body), out of place and in place, BSHD strides, a few blocks (grid-stride loop). */
static void rope_case(std::mt19937& rng, DT dt, int B, int H, int S, int D, int offset, float theta, bool in_place, int blocks,
                      bool inverse = false) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    const size_t n = (size_t)B * H * S * D;
    Buf X(dt, n), O(dt, n);
    for (size_t i = 0; i < n; i++) X.set(i, u(rng));
    std::vector<float> x0(n);
    for (size_t i = 0; i < n; i++) x0[i] = X.get(i);
    O.poison();
    Str st = strides(true, B, H, S, D); /* BSHD */
    attn_rope_params p;
    std::memset(&p, 0, sizeof p);
    p.x_sb = p.o_sb = st.b; p.x_sh = p.o_sh = st.h; p.x_ss = p.o_ss = st.s; p.x_sd = p.o_sd = st.d;
    p.batch = B; p.heads = H; p.seq = S; p.head_dim = D; p.offset = offset; p.theta = theta; p.inverse = inverse ? 1 : 0;
    Buf& out = in_place ? X : O;
    attn_emu::launch({(unsigned)blocks, 1, 1}, ROPE_THREADS, 0, [&] {
        if (dt == DF32) attn::rope<attn::F32>(p, X.f.data(), out.f.data());
        else if (dt == DF16) attn::rope<attn::F16>(p, X.h.data(), out.h.data());
        else attn::rope<attn::BF16>(p, X.h.data(), out.h.data());
    });
    bool ok = true;
    std::string detail;
    const int half = D / 2;
    for (int b = 0; b < B && ok; b++) for (int h = 0; h < H && ok; h++) for (int s = 0; s < S && ok; s++) for (int i = 0; i < half && ok; i++) {
        long long base = b * st.b + h * st.h + s * st.s;
        double a = (double)(offset + s) * std::pow((double)theta, -2.0 * i / D);
        double v0 = x0[base + i], v1 = x0[base + i + half], sn = inverse ? -std::sin(a) : std::sin(a);
        double w0 = v0 * std::cos(a) - v1 * sn, w1 = v1 * std::cos(a) + v0 * sn;
        if (!close_enough(w0, out.get(base + i), tol_of(dt) * 10) || !close_enough(w1, out.get(base + i + half), tol_of(dt) * 10)) {
            ok = false;
            detail = "pair " + std::to_string(i) + " at s=" + std::to_string(s) + ": " + std::to_string(out.get(base + i)) + " want " +
                     std::to_string(w0);
        }
    }
    char name[160];
    std::snprintf(name, sizeof name, "rope %s B%d H%d S%d D%d off=%d theta=%.0f in_place=%d blocks=%d inverse=%d", dt_name(dt), B,
                  H, S, D, offset, theta, in_place, blocks, inverse);
    report(ok, name, detail);
}

/* ---------------------------------------------------------------- split-KV decode */
/* sdpa_decode.cu + its combine against the float64 reference of sdpa_case: awkward lengths, per-sequence
 * lengths with an empty sequence, pages of 1, 16 and 256 (NaN in every unused slot), GQA 32/8, 64/8 and
 * MQA (64/1: four row chunks), sinks, windows, every mask option at random, Sq 1..3, F16/BF16. */
static void decode_cases(std::mt19937& rng) {
    DT dts[3] = {DF32, DF16, DBF16};
    /* {Sk, Hq, Hkv, B}: the emulation runs a CTA's 128 threads as std::threads, so the long rows go
     * with few kv heads */
    const int shapes[][4] = {{1, 32, 8, 3},  {1, 64, 8, 2},  {1, 64, 1, 2},    {1, 4, 4, 3},
                             {7, 32, 8, 2},  {7, 64, 8, 3},  {7, 64, 1, 2},    {7, 4, 4, 2},
                             {1000, 32, 8, 1}, {1000, 64, 8, 1}, {1000, 64, 1, 1}, {1000, 4, 4, 2},
                             {8191, 8, 1, 1}, {300, 16, 1, 2}, {77, 12, 3, 2},  {513, 6, 2, 2}};
    const int pages[] = {0, 1, 16, 256};
    const int dd[][2] = {{128, 128}, {64, 64}, {40, 24}, {256, 200}};
    const int want[] = {1, 3, 8, 64};
    int n = 0;
    for (auto& sh : shapes) {
        SdpaCase c;
        c.Sk = sh[0]; c.Hq = sh[1]; c.Hkv = sh[2]; c.B = sh[3];
        c.Sq = (n % 5 == 4) ? 2 + (int)(rng() % 2) : 1;
        c.D = dd[n % 4][0]; c.Dv = dd[n % 4][1];
        c.bshd = rng() % 2; c.lse = true; c.top_left = n % 3 == 0; c.softcap = n % 7 == 3 ? 5.0f : 0.0f;
        c.dt = dts[n % 3]; c.special = n % 6 == 5 ? 2 : 0;
        c.sinks = n % 2 == 1;
        c.page = pages[(n + n / 4) % 4];
        c.ragged = c.Sk > 1 && n % 2 == 0;
        c.window = n % 4 == 1 && c.Sk > 7 ? 1 + (int)(rng() % (c.Sk / 2)) : 0;
        c.splits = std::min(want[(n + n / 4) % 4], std::max(1, (c.Sk + 31) / 32));
        if (c.splits == 1 && c.Sk > 32) c.splits = 2;
        sdpa_case(c, rng, false);
        n++;
    }
    /* an empty sequence (a fully masked row: O = 0, LSE = -inf or the sink) with and without a sink */
    for (DT t : dts) for (int sink = 0; sink < 2; sink++) {
        SdpaCase c;
        c.B = 2; c.Hq = 8; c.Hkv = 2; c.Sq = 1; c.Sk = 40; c.D = 32; c.Dv = 32;
        c.bshd = false; c.lse = true; c.top_left = false; c.softcap = 0; c.dt = t; c.special = 0;
        c.sinks = sink; c.ragged = true; c.page = 16; c.splits = 3;
        sdpa_case(c, rng, false);
    }
}

int main(int argc, char** argv) {
    unsigned seed = argc > 1 ? (unsigned)std::strtoul(argv[1], nullptr, 10) : 20261121u;
    std::mt19937 rng(seed);
    std::printf("kernels_test seed %u\n", seed);
    DT dts[3] = {DF32, DF16, DBF16};
    if (argc > 2 && std::string(argv[2]) == "sdpa_bwd") { /* only the SDPA backward (a quick check) */
        sdpa_bwd_cases(rng);
        std::printf("kernels_test sdpa_bwd: %d cases, %d failures (seed %u)\n", g_cases, g_failures, seed);
        return g_failures == 0 ? 0 : 1;
    }
    if (argc > 2 && std::string(argv[2]) == "decode") { /* only the split-KV decode (a quick check) */
        decode_cases(rng);
        std::printf("kernels_test decode: %d cases, %d failures (seed %u)\n", g_cases, g_failures, seed);
        return g_failures == 0 ? 0 : 1;
    }
    if (argc > 2 && std::string(argv[2]) == "additive_bwd") { /* only the additive backward (a quick check) */
        for (DT t : dts) for (int rep = 0; rep < 6; rep++) {
            additive_bwd_case(rng, t, 1 + rng() % 2, 1 + rng() % 2, 1 + (int)(rng() % 40), 1 + (int)(rng() % 40),
                              1 + (int)(rng() % 40), 1 + (int)(rng() % 24), rng() % 2, rep >= 3);
        }
        std::printf("kernels_test additive_bwd: %d cases, %d failures (seed %u)\n", g_cases, g_failures, seed);
        return g_failures == 0 ? 0 : 1;
    }
    /* SDPA: every tile, options at random */
    int dims[][2] = {{8, 8}, {32, 32}, {40, 24}, {64, 64}, {72, 100}, {128, 128}, {160, 96}, {256, 256}, {3, 5}};
    for (int rep = 0; rep < 3; rep++) for (auto& dd : dims) for (DT t : dts) {
        SdpaCase c;
        int hkv = 1 + (int)(rng() % 2);
        c.B = 1 + (int)(rng() % 2); c.Hkv = hkv; c.Hq = hkv * (1 + (int)(rng() % 3));
        c.Sq = 1 + (int)(rng() % 40); c.Sk = 1 + (int)(rng() % 70);
        if (dd[0] >= 128) { c.Sq = 1 + (int)(rng() % 20); c.Sk = 1 + (int)(rng() % 40); }
        c.D = dd[0]; c.Dv = dd[1];
        c.bshd = rng() % 2; c.lse = rng() % 2; c.top_left = rng() % 2;
        c.softcap = rng() % 4 == 0 ? 5.0f : 0.0f;
        c.dt = t;
        c.special = (int)(rng() % 6); if (c.special > 3) c.special = 0;
        sdpa_case(c, rng, false);
    }
    /* sinks and paged K/V (any page size, shuffled pages, NaN in every unused slot) */
    int pages[] = {0, 1, 3, 16};
    for (int rep = 0; rep < 4; rep++) for (int pg : pages) for (DT t : dts) {
        SdpaCase c;
        c.Hkv = 1 + (int)(rng() % 2); c.Hq = c.Hkv * (1 + (int)(rng() % 3)); c.B = 1 + (int)(rng() % 3);
        c.Sq = rep == 0 ? 1 : 1 + (int)(rng() % 20); c.Sk = 1 + (int)(rng() % 60);
        c.D = rep % 2 ? 64 : 40; c.Dv = rep % 2 ? 64 : 24;
        c.bshd = rng() % 2; c.lse = true; c.top_left = rng() % 2; c.softcap = rep == 3 ? 5.0f : 0.0f; c.dt = t;
        c.special = 0; c.page = pg; c.sinks = pg == 0 || rng() % 2;
        sdpa_case(c, rng, false);
    }
    /* the unfused path on the same kind of cases (no LSE, no softcap: it does not take them) */
    for (int rep = 0; rep < 12; rep++) for (DT t : dts) {
        SdpaCase c;
        c.Hkv = 1 + (int)(rng() % 2); c.Hq = c.Hkv * (1 + (int)(rng() % 2)); c.B = 1 + (int)(rng() % 2);
        c.Sq = 1 + (int)(rng() % 70); c.Sk = 1 + (int)(rng() % 90); c.D = 1 + (int)(rng() % 70); c.Dv = 1 + (int)(rng() % 70);
        c.bshd = rng() % 2; c.lse = false; c.top_left = rng() % 2; c.softcap = 0; c.dt = t;
        c.special = (int)(rng() % 3) == 1 ? 2 : 0;
        sdpa_case(c, rng, true);
    }
    /* masked softmax */
    for (DT t : dts) {
        for (int rep = 0; rep < 6; rep++) {
            int sk = rep < 3 ? 1 + (int)(rng() % 1024) : 8 * (1 + (int)(rng() % 128));
            softmax_case(rng, t, 1 + rng() % 2, 2, 1 + rng() % 5, sk, false, rng() % 2, (int)(rng() % 4), rep == 1);
            softmax_case(rng, t, 1 + rng() % 2, 2, 1 + rng() % 5, sk + (rep < 3 ? 1024 : 0), true, rng() % 2, (int)(rng() % 4), rep == 2);
        }
        softmax_bwd_case(rng, t, 2, 1 + (int)(rng() % 1024), false, false);
        softmax_bwd_case(rng, t, 2, 64, false, true);
        softmax_bwd_case(rng, t, 1, 1025 + (int)(rng() % 2000), true, false);
        softmax_bwd_case(rng, t, 1, 2048, true, true);
    }
    /* additive */
    for (DT t : dts) for (int rep = 0; rep < 6; rep++) {
        int A = 1 + (int)(rng() % 70), Dv = 1 + (int)(rng() % (rep % 2 ? 64 : 200));
        additive_case(rng, t, 1 + rng() % 2, 1 + rng() % 2, 1 + (int)(rng() % 30), 1 + (int)(rng() % 50), A, Dv, rng() % 2, rng() % 2,
                      rep >= 3, (int)(rng() % 3));
    }
    /* additive backward */
    for (DT t : dts) for (int rep = 0; rep < 6; rep++) {
        additive_bwd_case(rng, t, 1 + rng() % 2, 1 + rng() % 2, 1 + (int)(rng() % 40), 1 + (int)(rng() % 40), 1 + (int)(rng() % 40),
                          1 + (int)(rng() % 24), rng() % 2, rep >= 3);
    }
    /* SDPA backward */
    sdpa_bwd_cases(rng);
    /* split-KV decode */
    decode_cases(rng);
    /* Extreme windows (issue 9): INT_MAX overflows i + off + right in 32 bits; Sk + Sq and 0.
     * Every op, both alignments (random per case), Sq < Sk and Sq > Sk. */
    const int MAXW = 2147483647;
    const int wins[][2] = {{MAXW, MAXW}, {-1, MAXW}, {MAXW, -1}, {MAXW, 0}, {0, MAXW},
                           {WIN_ALL, WIN_ALL}, {WIN_ALL, 0}, {0, WIN_ALL}};
    g_force_window = true;
    for (auto& w : wins) {
        g_force_wl = w[0];
        g_force_wr = w[1];
        for (int big_q = 0; big_q < 2; big_q++) {
            const int sq = big_q ? 37 : 9, sk = big_q ? 11 : 45;
            for (int top_left = 0; top_left < 2; top_left++) {
                SdpaCase c;
                c.B = 2; c.Hkv = 1; c.Hq = 2; c.Sq = sq; c.Sk = sk; c.D = 32; c.Dv = 32;
                c.bshd = false; c.lse = true; c.top_left = top_left; c.softcap = 0; c.dt = DF32; c.special = 0;
                sdpa_case(c, rng, false);
                c.lse = false; c.dt = DF16;
                sdpa_case(c, rng, true);
    /* the public GEMM: partial tiles on every side, each transpose, shared B, beta on and off */
    for (DT t : dts) for (int rep = 0; rep < 4; rep++) {
        gemm_op_case(rng, t, 1 + (int)(rng() % 3), 1 + (int)(rng() % 140), 1 + (int)(rng() % 140), 1 + (int)(rng() % 90),
                     rep & 1, (rep >> 1) & 1, rng() % 2, rep == 0 ? 1.0f : -0.75f, rep < 2 ? 0.0f : 0.5f);
    }
    /* RoPE */
    for (DT t : dts) {
        rope_case(rng, t, 2, 3, 7, 16, 0, 10000.0f, false, 1);
        rope_case(rng, t, 1, 2, 5, 64, 37, 500000.0f, true, 3);
        rope_case(rng, t, 2, 2, 6, 32, 11, 10000.0f, true, 2, true);
    }
            }
            softmax_case(rng, DF32, 2, 2, sq, sk, false, false, 0, false);
            softmax_case(rng, DF32, 1, 2, sq, sk + 1024, true, false, 0, false);
            additive_case(rng, DF32, 2, 1, sq, sk, 16, 24, true, false, false, 0);
        }
    }
    g_force_window = false;
    /* strided copy: every width, contiguous and permuted, one block (grid-stride loop) and several */
    for (int permute = 0; permute < 2; permute++) {
        copy_case<unsigned int>(rng, 2, 3, 5, 7, permute, 1);
        copy_case<unsigned short>(rng, 1, 4, 33, 16, permute, 3);
        copy_case<unsigned char>(rng, 3, 1, 9, 5, permute, 2);
    }
    /* merge of attention states: 1..8 parts, every dtype, grid-stride with few blocks and one per element */
    for (DT t : dts) {
        merge_case(rng, t, 2, 3, 5, 24, 3, true, 2);
        merge_case(rng, t, 1, 2, 7, 40, 8, true, 1);
        merge_case(rng, t, 2, 1, 3, 5, 1, false, 4);
        merge_case(rng, t, 1, 1, 9, 130, 2, true, 5);
    }
    /* KV append: page sizes 1, 5, 16, decode and chunks, ragged, both element widths */
    kv_append_case<unsigned int>(rng, 3, 2, 1, 16, 16, 16, false, 2);
    kv_append_case<unsigned int>(rng, 3, 2, 7, 16, 8, 5, true, 3);
    kv_append_case<unsigned int>(rng, 2, 1, 9, 4, 4, 1, false, 1);
    kv_append_case<unsigned short>(rng, 4, 2, 33, 8, 12, 16, true, 4);
    std::printf("kernels_test: %d cases, %d failures (seed %u)\n", g_cases, g_failures, seed);
    return g_failures == 0 ? 0 : 1;
}
