/*
 * sdpa_tc_emu_test.cpp: runs the tensor-core SDPA kernel (../sdpa_tc.cu) on a set of cases and
 * compares it with a float64 reference written from the semantics in HELPERS.md and
 * cpu/Reference.java. It has two builds of the same cases:
 *
 *   host emulation (g++; no CUDA): kernels/cuda/emu/run_emu_test.sh [case-substring]
 *     The kernel source runs through tc_emu.h (fibers per CTA, emulated ldmatrix/mma/cp.async).
 *   GPU (nvcc -x cu, on a machine with a GPU): kernels/cuda/emu/run_gpu_test.sh [--bench]
 *     The same cases through the real entry points; --bench also times the shapes.
 *
 * Checks per case:
 *   - NaN exactly where the reference has NaN, and -inf LSE exactly where the reference has it;
 *   - NMSE of O (f16 <= 1e-5, bf16 <= 1e-4: a few times the storage rounding of P and O);
 *   - LSE absolute error <= 2e-3 + 1e-3 |ref|;
 *   - every output element written (poisoned before), and guard elements around O and LSE untouched.
 */
#ifdef __CUDACC__
#include "../sdpa_tc.cu"
#include "half_host.h"
#include <cuda_runtime.h>
namespace attn_emu {
enum class Mode { IMMEDIATE, AT_WAIT, RANDOM }; /* emulation only; ignored on the GPU */
}
#else
#include "tc_emu.h" /* first: the emulation replaces what the kernel's headers then leave out */
#include "../sdpa_tc.cu"
#endif

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#ifdef __CUDACC__
#define CK(x)                                                                                             \
    do {                                                                                                  \
        cudaError_t e_ = (x);                                                                             \
        if (e_ != cudaSuccess) {                                                                          \
            std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_));      \
            std::exit(2);                                                                                 \
        }                                                                                                 \
    } while (0)

/* The entry point of a (storage type, head dim) pair and the combine entry of a storage type. */
template <class T, int D> struct FwdEntry;
#define ATTN_TEST_ENTRY(D_, BM_, BN_, W_, ST_, QR_, SW_)                                                  \
    template <> struct FwdEntry<attn_tc_f16, D_> {                                                        \
        static auto fn() { return &attn_sdpa_fwd_tc_f16_d##D_; }                                          \
    };                                                                                                    \
    template <> struct FwdEntry<attn_tc_bf16, D_> {                                                       \
        static auto fn() { return &attn_sdpa_fwd_tc_bf16_d##D_; }                                         \
    };
ATTN_TC_TRAITS_TABLE(ATTN_TEST_ENTRY)
template <class T> struct CombineEntry;
template <> struct CombineEntry<attn_tc_f16> {
    static auto fn() { return &attn_sdpa_combine_f16; }
};
template <> struct CombineEntry<attn_tc_bf16> {
    static auto fn() { return &attn_sdpa_combine_bf16; }
};

template <class V> V* to_device(const std::vector<V>& h) {
    V* d = nullptr;
    CK(cudaMalloc(&d, std::max<size_t>(1, h.size()) * sizeof(V)));
    if (!h.empty()) CK(cudaMemcpy(d, h.data(), h.size() * sizeof(V), cudaMemcpyHostToDevice));
    return d;
}
template <class V> void to_host(std::vector<V>& h, const V* d) {
    CK(cudaMemcpy(h.data(), d, h.size() * sizeof(V), cudaMemcpyDeviceToHost));
}
#endif

using attn_emu::Mode;

namespace {

struct Case {
    std::string name;
    bool bf16 = false;
    int D = 64, B = 1, Hq = 2, Hkv = 2, Sq = 37, Sk = 150;
    bool bshd = false;
    long long off = 0;      /* element offset of q, k, v, o in their buffers */
    int wl = -1, wr = -1;   /* window; causal = (-1, 0) */
    bool window = false, top_left = false;
    std::vector<int> kv_len, q_len;
    bool bool_mask = false, mask_broadcast = false, bias = false, alibi = false;
    float softcap = 0.f;
    int splits = 1;
    bool nan_masked = false; /* NaN in V/K rows that every row masks (window/length) */
    bool nan_q_row = false;  /* NaN in one Q element: that row only becomes NaN */
    Mode mode = Mode::RANDOM;
    unsigned seed = 1;
};

uint16_t to_bits(float f, bool bf16) { return bf16 ? emu_float_to_bf16(f) : emu_float_to_half(f); }
float from_bits(uint16_t b, bool bf16) { return bf16 ? emu_bf16_to_float(b) : emu_half_to_float(b); }

struct Layout4 {
    long long sb, sh, ss, sd;
};
Layout4 layout(bool bshd, int H, int S, int D) {
    if (bshd) return {(long long)S * H * D, D, (long long)H * D, 1};
    return {(long long)H * S * D, (long long)S * D, D, 1};
}

template <class T>
bool run_case(const Case& cs) {
    const bool bf = cs.bf16;
    const int B = cs.B, Hq = cs.Hq, Hkv = cs.Hkv, Sq = cs.Sq, Sk = cs.Sk, D = cs.D;
    std::mt19937 rng(cs.seed);
    std::uniform_real_distribution<float> U(-1.f, 1.f);
    const Layout4 lq = layout(cs.bshd, Hq, Sq, D), lk = layout(cs.bshd, Hkv, Sk, D);
    const long long nq = cs.off + (long long)B * Hq * Sq * D, nk = cs.off + (long long)B * Hkv * Sk * D;
    std::vector<uint16_t> q(nq), k(nk), v(nk);
    for (auto& x : q) x = to_bits(U(rng) * 2.f, bf);
    for (auto& x : k) x = to_bits(U(rng) * 2.f, bf);
    for (auto& x : v) x = to_bits(U(rng), bf);
    const int align = cs.top_left ? 0 : Sk - Sq;
    auto kv_end = [&](int b) { return cs.kv_len.empty() ? Sk : cs.kv_len[b]; };
    auto q_end = [&](int b) { return cs.q_len.empty() ? Sq : cs.q_len[b]; };
    auto bounds_ok = [&](int b, int i, int j) {
        if (cs.window && cs.wl >= 0 && (long long)j < (long long)i + align - cs.wl) return false;
        if (cs.window && cs.wr >= 0 && (long long)j > (long long)i + align + cs.wr) return false;
        return j < kv_end(b);
    };
    std::vector<unsigned char> mask((size_t)B * Hq * Sq * Sk, 1);
    if (cs.bool_mask)
        for (auto& m : mask) m = (rng() % 4) != 0; /* 75% attend; some rows end fully masked */
    if (cs.bool_mask && Sq > 3) /* one fully masked row in every (b, h) */
        for (int b = 0; b < B; ++b)
            for (int h = 0; h < Hq; ++h)
                for (int j = 0; j < Sk; ++j) mask[(((size_t)b * Hq + h) * Sq + 3) * Sk + j] = 0;
    auto mask_at = [&](int b, int h, int i, int j) -> unsigned char {
        if (!cs.bool_mask) return 1;
        if (cs.mask_broadcast) return mask[(size_t)i * Sk + j];
        return mask[(((size_t)b * Hq + h) * Sq + i) * Sk + j];
    };
    std::vector<float> bias((size_t)Hq * Sq * Sk), slopes(Hq);
    for (auto& x : bias) x = U(rng) * 3.f;
    for (int h = 0; h < Hq; ++h) slopes[h] = std::exp2(-8.f * (h + 1) / Hq);
    const int group = Hq / Hkv;
    if (cs.nan_masked) {
        /* Poison K and V of keys that no live row may read: every row is in [0, Sq), so with a
         * window a key below align - wl (for row 0) ... and beyond kv_len. */
        const float nan = std::nanf("");
        for (int b = 0; b < B; ++b)
            for (int hk = 0; hk < Hkv; ++hk)
                for (int j = 0; j < Sk; ++j) {
                    bool any = false;
                    for (int h = hk * group; h < (hk + 1) * group && !any; ++h)
                        for (int i = 0; i < q_end(b) && !any; ++i) any = bounds_ok(b, i, j) && mask_at(b, h, i, j);
                    if (any) continue;
                    for (int d = 0; d < D; ++d) {
                        const long long e = cs.off + b * lk.sb + hk * lk.sh + j * lk.ss + d;
                        v[e] = to_bits(nan, bf);
                        if (d == 0) k[e] = to_bits(nan, bf);
                    }
                }
    }
    int nan_row_b = -1, nan_row_h = -1, nan_row_i = -1;
    if (cs.nan_q_row) {
        nan_row_b = B - 1, nan_row_h = Hq - 1, nan_row_i = std::min(5, Sq - 1);
        q[cs.off + nan_row_b * lq.sb + nan_row_h * lq.sh + nan_row_i * lq.ss + 7] = to_bits(std::nanf(""), bf);
    }
    const float scale = 1.f / std::sqrt((float)D);

    /* ---- params ---- */
    attn_sdpa_params p;
    std::memset(&p, 0, sizeof p);
    p.q_off = p.k_off = p.v_off = p.o_off = cs.off;
    p.q_sb = lq.sb; p.q_sh = lq.sh; p.q_ss = lq.ss; p.q_sd = 1;
    p.k_sb = lk.sb; p.k_sh = lk.sh; p.k_ss = lk.ss; p.k_sd = 1;
    p.v_sb = lk.sb; p.v_sh = lk.sh; p.v_ss = lk.ss; p.v_sd = 1;
    p.o_sb = lq.sb; p.o_sh = lq.sh; p.o_ss = lq.ss; p.o_sd = 1;
    const long long lse_guard = 8;
    p.lse_off = lse_guard; p.lse_sb = (long long)Hq * Sq; p.lse_sh = Sq; p.lse_ss = 1;
    p.batch = B; p.heads_q = Hq; p.heads_kv = Hkv; p.group = group;
    p.seq_q = Sq; p.seq_k = Sk; p.head_dim = D; p.head_dim_v = D;
    p.scale = scale; p.scale_log2 = scale * 1.4426950408889634f; p.softcap = cs.softcap;
    int flags = ATTN_F_LSE;
    if (cs.bool_mask) flags |= ATTN_F_BOOL_MASK;
    if (cs.bias) flags |= ATTN_F_BIAS;
    if (cs.alibi) flags |= ATTN_F_ALIBI;
    if (!cs.kv_len.empty()) flags |= ATTN_F_KV_LENGTHS;
    if (!cs.q_len.empty()) flags |= ATTN_F_Q_LENGTHS;
    if (cs.window) flags |= ATTN_F_WINDOW;
    if (cs.softcap > 0) flags |= ATTN_F_SOFTCAP;
    p.flags = flags;
    p.m.flags = flags & 0xff;
    if (cs.mask_broadcast) { p.m.mask_sb = 0; p.m.mask_sh = 0; }
    else { p.m.mask_sb = (long long)Hq * Sq * Sk; p.m.mask_sh = (long long)Sq * Sk; }
    p.m.mask_sq = Sk; p.m.mask_sk = 1;
    p.m.bias_sb = 0; p.m.bias_sh = (long long)Sq * Sk; p.m.bias_sq = Sk; p.m.bias_sk = 1;
    p.m.alibi_sb = 0; p.m.alibi_sh = 1;
    p.m.win_left = cs.window ? cs.wl : -1;
    p.m.win_right = cs.window ? cs.wr : -1;
    p.m.align_off = align;

    /* ---- outputs, poisoned, with guards ---- */
    const uint16_t poison = bf ? 0x7f9a : 0x7d5a; /* NaNs with a payload the kernel never produces */
    const long long o_guard = 64, no = nq + 2 * o_guard;
    std::vector<uint16_t> o(no, poison);
    std::vector<float> lse((size_t)B * Hq * Sq + 2 * lse_guard, -12345.f);
    std::vector<int> kvl(cs.kv_len), ql(cs.q_len);
    if (kvl.empty()) kvl.assign(B, Sk);
    if (ql.empty()) ql.assign(B, Sq);
    const long long rows = (long long)B * Hq * Sq;
    std::vector<float> o_part((size_t)std::max(1, cs.splits) * rows * D, std::nanf("")),
        lse_part((size_t)std::max(1, cs.splits) * rows, std::nanf(""));

#ifndef __CUDACC__
    attn_emu::global_ranges() = {{(const unsigned char*)q.data(), q.size() * 2},
                                 {(const unsigned char*)k.data(), k.size() * 2},
                                 {(const unsigned char*)v.data(), v.size() * 2}};
    auto launch = [&](auto dtag) {
        constexpr int DD = decltype(dtag)::value;
        using TT = attn_tc::TcTile<DD>;
        const int gx = (Sq + TT::kBlockM - 1) / TT::kBlockM;
        unsigned cta_seed = cs.seed * 7919u;
        for (int z = 0; z < cs.splits; ++z)
            for (int y = 0; y < B * Hq; ++y)
                for (int x = 0; x < gx; ++x)
                    attn_emu::run_cta({(unsigned)x, (unsigned)y, (unsigned)z}, TT::kThreads, TT::kSmemBytes, cs.mode,
                                      ++cta_seed, [&] {
                                          attn_tc::sdpa_tc_body<DD, T>(
                                              p, (const T*)q.data(), (const T*)k.data(), (const T*)v.data(),
                                              (T*)(o.data() + o_guard), lse.data(), mask.data(), bias.data(),
                                              slopes.data(), kvl.data(), ql.data(), o_part.data(), lse_part.data(),
                                              cs.splits);
                                      });
        if (cs.splits > 1) {
            const int gcx = (int)((rows + 3) / 4);
            for (int x = 0; x < gcx; ++x)
                attn_emu::run_cta({(unsigned)x, 0, 0}, 128, 0, cs.mode, ++cta_seed, [&] {
                    attn_tc::sdpa_combine_body<T>(p, o_part.data(), lse_part.data(), (T*)(o.data() + o_guard),
                                                  lse.data(), cs.splits);
                });
        }
    };
#else
    auto launch = [&](auto dtag) {
        constexpr int DD = decltype(dtag)::value;
        using TT = attn_tc::TcTile<DD>;
        const int gx = (Sq + TT::kBlockM - 1) / TT::kBlockM;
        auto fn = FwdEntry<T, DD>::fn();
        CK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, TT::kSmemBytes));
        uint16_t *dq = to_device(q), *dk = to_device(k), *dv = to_device(v), *dout = to_device(o);
        float *dlse = to_device(lse), *dbias = to_device(bias), *dslopes = to_device(slopes);
        /* the workspace as the backend binds it: one buffer, the LSE partials after the O partials at a
         * 256-byte boundary (attn_tc::partial_lse_offset), passed as o_part and lse_part alike */
        const size_t lse_at = ((size_t)o_part.size() * 4 + 255) / 256 * 64;
        std::vector<float> ws(lse_at + lse_part.size(), std::nanf(""));
        float *dop = to_device(ws), *dlp = dop;
        unsigned char* dmask = to_device(mask);
        int *dkvl = to_device(kvl), *dql = to_device(ql);
        fn<<<dim3(gx, B * Hq, cs.splits), TT::kThreads, TT::kSmemBytes>>>(
            p, (const T*)dq, (const T*)dk, (const T*)dv, (T*)(dout + o_guard), dlse, dmask, dbias, dslopes, dkvl, dql,
            dop, dlp, cs.splits);
        CK(cudaGetLastError());
        if (cs.splits > 1) {
            CombineEntry<T>::fn()<<<(unsigned)((rows + 3) / 4), 128>>>(p, dop, dlp, (T*)(dout + o_guard), dlse,
                                                                      cs.splits);
            CK(cudaGetLastError());
        }
        CK(cudaDeviceSynchronize());
        to_host(o, dout);
        to_host(lse, dlse);
        for (void* ptr : {(void*)dq, (void*)dk, (void*)dv, (void*)dout, (void*)dlse, (void*)dbias, (void*)dslopes,
                          (void*)dop, (void*)dmask, (void*)dkvl, (void*)dql})
            CK(cudaFree(ptr));
    };
#endif
    switch (D) {
    case 64: launch(std::integral_constant<int, 64>{}); break;
    case 96: launch(std::integral_constant<int, 96>{}); break;
    case 128: launch(std::integral_constant<int, 128>{}); break;
    case 256: launch(std::integral_constant<int, 256>{}); break;
    default: std::fprintf(stderr, "no traits for D=%d\n", D); return false;
    }

    /* ---- reference and comparison ---- */
    double num = 0, den = 0, max_lse_err = 0;
    int failures = 0;
    auto fail = [&](const char* what, int b, int h, int i, double got, double want) {
        if (failures++ < 8)
            std::printf("    %s at b=%d h=%d i=%d: got %g, want %g\n", what, b, h, i, got, want);
    };
    std::vector<double> s(Sk), acc(D);
    std::vector<char> live(Sk);
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < Hq; ++h) {
            const int hk = h / group;
            for (int i = 0; i < Sq; ++i) {
                double mx = -INFINITY;
                bool nan = false;
                std::fill(acc.begin(), acc.end(), 0.0);
                for (int j = 0; j < Sk; ++j) {
                    live[j] = i < q_end(b) && bounds_ok(b, i, j) && mask_at(b, h, i, j);
                    if (!live[j]) continue;
                    double dot = 0;
                    for (int d = 0; d < D; ++d)
                        dot += (double)from_bits(q[cs.off + b * lq.sb + h * lq.sh + i * lq.ss + d], bf) *
                               from_bits(k[cs.off + b * lk.sb + hk * lk.sh + j * lk.ss + d], bf);
                    double x = scale * dot;
                    if (cs.softcap > 0) x = cs.softcap * std::tanh(x / cs.softcap);
                    if (cs.bias) x += bias[((size_t)h * Sq + i) * Sk + j];
                    if (cs.alibi) x -= slopes[h] * std::fabs((double)i + align - j);
                    s[j] = x;
                    nan |= std::isnan(x);
                    mx = std::max(mx, x);
                }
                double ref_lse;
                std::vector<double> ref(D, 0.0);
                if (nan) {
                    std::fill(ref.begin(), ref.end(), NAN);
                    ref_lse = NAN;
                } else if (mx == -INFINITY) {
                    ref_lse = -INFINITY;
                } else {
                    double sum = 0;
                    for (int j = 0; j < Sk; ++j) {
                        if (!live[j]) continue;
                        const double e = std::exp(s[j] - mx);
                        sum += e;
                        for (int d = 0; d < D; ++d)
                            acc[d] += e * from_bits(v[cs.off + b * lk.sb + hk * lk.sh + j * lk.ss + d], bf);
                    }
                    for (int d = 0; d < D; ++d) ref[d] = acc[d] / sum;
                    ref_lse = mx + std::log(sum);
                }
                for (int d = 0; d < D; ++d) {
                    const uint16_t bits = o[o_guard + cs.off + b * lq.sb + h * lq.sh + i * lq.ss + d];
                    if (bits == poison) { fail("unwritten O", b, h, i, d, 0); continue; }
                    const double got = from_bits(bits, bf);
                    if (std::isnan(ref[d]) != std::isnan(got)) { fail("NaN mismatch in O", b, h, i, got, ref[d]); continue; }
                    if (std::isnan(ref[d])) continue;
                    num += (got - ref[d]) * (got - ref[d]);
                    den += ref[d] * ref[d];
                }
                const double gl = lse[lse_guard + ((size_t)b * Hq + h) * Sq + i];
                if (std::isnan(ref_lse) != std::isnan(gl)) fail("NaN mismatch in LSE", b, h, i, gl, ref_lse);
                else if (std::isinf(ref_lse) || std::isinf(gl)) {
                    if (ref_lse != gl) fail("inf mismatch in LSE", b, h, i, gl, ref_lse);
                } else if (!std::isnan(ref_lse)) {
                    const double err = std::fabs(gl - ref_lse);
                    max_lse_err = std::max(max_lse_err, err);
                    if (err > 2e-3 + 1e-3 * std::fabs(ref_lse)) fail("LSE error", b, h, i, gl, ref_lse);
                }
            }
        }
    for (long long e = 0; e < o_guard; ++e)
        if (o[e] != poison || o[no - 1 - e] != poison) { fail("O guard overwritten", -1, -1, (int)e, 0, 0); break; }
    if (!cs.bshd && cs.off > 0)
        for (long long e = 0; e < cs.off; ++e)
            if (o[o_guard + e] != poison) { fail("O offset gap overwritten", -1, -1, (int)e, 0, 0); break; }
    for (long long e = 0; e < lse_guard; ++e)
        if (lse[e] != -12345.f || lse[lse.size() - 1 - e] != -12345.f) { fail("LSE guard overwritten", -1, -1, 0, 0, 0); break; }
    const double nmse = den > 0 ? num / den : 0.0;
    const double tol = bf ? 1e-4 : 1e-5;
    if (nmse > tol) fail("NMSE over tolerance", -1, -1, -1, nmse, tol);
    std::printf("%-4s %-46s nmse %.2e  lse_err %.1e  %s\n", failures ? "FAIL" : "ok", cs.name.c_str(), nmse,
                max_lse_err, bf ? "bf16" : "f16");
    return failures == 0;
}

#ifdef __CUDACC__
/* ---------------------------------------------------------------- timing (GPU build only) */

__global__ void fill_random(uint16_t* x, long long n, unsigned seed, int bf16) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        unsigned h = (unsigned)i * 2654435761u ^ seed;
        h ^= h >> 15; h *= 2246822519u; h ^= h >> 13; h *= 3266489917u; h ^= h >> 16;
        const float f = (float)(h >> 8) * (2.f / 16777216.f) - 1.f;
        unsigned short b;
        if (bf16) b = (unsigned short)(__float_as_uint(f) >> 16);
        else asm("cvt.rn.f16.f32 %0, %1;" : "=h"(b) : "f"(f));
        x[i] = b;
    }
}

struct Timing {
    double median_ms, min_ms;
};

/* Median of reps timed launches (fwd [+ combine]), rotating over `sets` input sets so that
 * repeated runs do not read K/V from L2. Contiguous BHSD, LSE written. */
template <class T, int D>
Timing time_sdpa(int B, int Hq, int Hkv, int Sq, int Sk, bool causal, int splits, int sets, int reps) {
    using TT = attn_tc::TcTile<D>;
    const bool bf = std::is_same<T, attn_tc_bf16>::value;
    const long long nq = (long long)B * Hq * Sq * D, nk = (long long)B * Hkv * Sk * D;
    std::vector<uint16_t*> qs(sets), ks(sets), vs(sets);
    for (int s = 0; s < sets; ++s) {
        CK(cudaMalloc(&qs[s], nq * 2)); CK(cudaMalloc(&ks[s], nk * 2)); CK(cudaMalloc(&vs[s], nk * 2));
        fill_random<<<1024, 256>>>(qs[s], nq, 11u + s, bf);
        fill_random<<<1024, 256>>>(ks[s], nk, 1011u + s, bf);
        fill_random<<<1024, 256>>>(vs[s], nk, 2011u + s, bf);
    }
    uint16_t* o; float *lse, *op = nullptr, *lp = nullptr; int* dummy;
    CK(cudaMalloc(&o, nq * 2)); CK(cudaMalloc(&lse, (size_t)B * Hq * Sq * 4)); CK(cudaMalloc(&dummy, 256));
    const long long rows = (long long)B * Hq * Sq;
    if (splits > 1) { CK(cudaMalloc(&op, splits * rows * D * 4)); CK(cudaMalloc(&lp, splits * rows * 4)); }
    attn_sdpa_params p;
    std::memset(&p, 0, sizeof p);
    p.q_sb = (long long)Hq * Sq * D; p.q_sh = (long long)Sq * D; p.q_ss = D; p.q_sd = 1;
    p.k_sb = (long long)Hkv * Sk * D; p.k_sh = (long long)Sk * D; p.k_ss = D; p.k_sd = 1;
    p.v_sb = p.k_sb; p.v_sh = p.k_sh; p.v_ss = D; p.v_sd = 1;
    p.o_sb = p.q_sb; p.o_sh = p.q_sh; p.o_ss = D; p.o_sd = 1;
    p.lse_sb = (long long)Hq * Sq; p.lse_sh = Sq; p.lse_ss = 1;
    p.batch = B; p.heads_q = Hq; p.heads_kv = Hkv; p.group = Hq / Hkv;
    p.seq_q = Sq; p.seq_k = Sk; p.head_dim = D; p.head_dim_v = D;
    p.scale = 1.f / std::sqrt((float)D); p.scale_log2 = p.scale * 1.4426950408889634f;
    p.flags = ATTN_F_LSE | (causal ? ATTN_F_WINDOW : 0);
    p.m.flags = causal ? ATTN_F_WINDOW : 0;
    p.m.win_left = -1; p.m.win_right = causal ? 0 : -1; p.m.align_off = Sk - Sq;
    auto fn = FwdEntry<T, D>::fn();
    CK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, TT::kSmemBytes));
    const dim3 grid((Sq + TT::kBlockM - 1) / TT::kBlockM, B * Hq, splits);
    auto run = [&](int s) {
        fn<<<grid, TT::kThreads, TT::kSmemBytes>>>(p, (const T*)qs[s], (const T*)ks[s], (const T*)vs[s], (T*)o, lse,
                                                   (const unsigned char*)dummy, (const float*)dummy,
                                                   (const float*)dummy, dummy, dummy, op, lp, splits);
        if (splits > 1) CombineEntry<T>::fn()<<<(unsigned)((rows + 3) / 4), 128>>>(p, op, lp, (T*)o, lse, splits);
    };
    for (int w = 0; w < 3; ++w) run(w % sets);
    CK(cudaGetLastError());
    CK(cudaDeviceSynchronize());
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a)); CK(cudaEventCreate(&b));
    std::vector<double> ms;
    for (int r = 0; r < reps; ++r) {
        CK(cudaEventRecord(a));
        run(r % sets);
        CK(cudaEventRecord(b));
        CK(cudaEventSynchronize(b));
        float t;
        CK(cudaEventElapsedTime(&t, a, b));
        ms.push_back(t);
    }
    CK(cudaGetLastError());
    std::sort(ms.begin(), ms.end());
    for (int s = 0; s < sets; ++s) { cudaFree(qs[s]); cudaFree(ks[s]); cudaFree(vs[s]); }
    cudaFree(o); cudaFree(lse); cudaFree(dummy); cudaFree(op); cudaFree(lp);
    cudaEventDestroy(a); cudaEventDestroy(b);
    return {ms[ms.size() / 2], ms[0]};
}

/* Device-to-device copy ceiling: bytes read + written per second, median of 10. */
double copy_gbps() {
    const size_t n = 1ull << 30;
    void *x, *y;
    CK(cudaMalloc(&x, n)); CK(cudaMalloc(&y, n));
    CK(cudaMemset(x, 1, n));
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a)); CK(cudaEventCreate(&b));
    std::vector<double> ms;
    for (int r = 0; r < 13; ++r) {
        CK(cudaEventRecord(a));
        CK(cudaMemcpyAsync(y, x, n, cudaMemcpyDeviceToDevice));
        CK(cudaEventRecord(b));
        CK(cudaEventSynchronize(b));
        float t;
        CK(cudaEventElapsedTime(&t, a, b));
        if (r >= 3) ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    cudaFree(x); cudaFree(y);
    return 2.0 * n / (ms[ms.size() / 2] * 1e-3) / 1e9;
}

template <class T> void bench_dtype(const char* dts) {
    /* FlashAttention benchmark shapes: hidden 2048, batch * S = 16k. */
    for (int D : {64, 128})
        for (int causal : {0, 1})
            for (int S : {1024, 2048, 4096, 8192, 16384}) {
                const int B = 16384 / S, H = 2048 / D;
                const Timing t = D == 64 ? time_sdpa<T, 64>(B, H, H, S, S, causal, 1, 2, 20)
                                         : time_sdpa<T, 128>(B, H, H, S, S, causal, 1, 2, 20);
                const double flops = 4.0 * B * H * (double)S * S * D / (causal ? 2 : 1);
                std::printf("fa     %-4s D=%-3d causal=%d S=%-5d B=%-2d H=%-2d  median %8.3f ms  min %8.3f ms  %7.1f TFLOP/s\n",
                            dts, D, causal, S, B, H, t.median_ms, t.min_ms, flops / (t.median_ms * 1e-3) / 1e12);
                std::fflush(stdout);
            }
    /* Decode: Sq = 1, B = 1, Hq = 32, Hkv = 8, D = 128; K + V bytes per call. */
    for (int Sk : {1024, 4096, 16384, 65536}) {
        const double bytes = 2.0 * 8 * Sk * 128 * 2;
        const int sets = (int)std::min(64.0, std::max(1.0, std::ceil(256e6 / bytes)));
        for (int splits : {1, 2, 4, 8, 16, 32}) {
            if (splits > 1 && (Sk / 64) / splits < 4) continue;
            const Timing t = time_sdpa<T, 128>(1, 32, 8, 1, Sk, false, splits, sets, 50);
            std::printf("decode %-4s D=128 Hq=32 Hkv=8 Sk=%-5d splits=%-2d  median %8.4f ms  min %8.4f ms  %7.1f GB/s\n",
                        dts, Sk, splits, t.median_ms, t.min_ms, bytes / (t.median_ms * 1e-3) / 1e9);
            std::fflush(stdout);
        }
    }
}
#endif

} // namespace

int main(int argc, char** argv) {
    std::vector<Case> cases;
    auto add = [&](Case c) { cases.push_back(c); };
    unsigned seed = 1000;
    for (int D : {64, 96, 128, 256})
        for (bool bf : {false, true}) {
            Case c; c.name = "plain D=" + std::to_string(D); c.D = D; c.bf16 = bf; c.seed = ++seed;
            c.Sq = D == 256 ? 70 : 130; /* two row blocks (the second partial) */
            add(c);
        }
    {
        Case c; c.name = "causal bottom-right Sq<Sk, GQA 4/2"; c.Hq = 4; c.Hkv = 2; c.Sq = 100; c.Sk = 230;
        c.window = true; c.wl = -1; c.wr = 0; c.seed = ++seed; add(c);
        c.bf16 = true; c.seed = ++seed; add(c);
    }
    {
        Case c; c.name = "causal top-left Sq>Sk (rows fully masked)"; c.Sq = 140; c.Sk = 90; c.top_left = false;
        c.window = true; c.wl = -1; c.wr = 0; c.seed = ++seed; add(c);
        c.name = "causal top-left Sq=Sk D=128"; c.D = 128; c.Sq = 150; c.Sk = 150; c.top_left = true; c.seed = ++seed; add(c);
    }
    {
        Case c; c.name = "window (20, 5) + NaN in never-attended K/V"; c.Sq = 130; c.Sk = 260; c.window = true;
        c.wl = 20; c.wr = 5; c.nan_masked = true; c.seed = ++seed; add(c);
        c.bf16 = true; c.D = 128; c.seed = ++seed; add(c);
    }
    {
        Case c; c.name = "kv/q lengths + NaN past kv_len, B=3"; c.B = 3; c.Sq = 70; c.Sk = 200;
        c.kv_len = {200, 77, 0}; c.q_len = {70, 33, 70}; c.nan_masked = true; c.seed = ++seed; add(c);
        c.D = 256; c.bf16 = true; c.seed = ++seed; add(c);
        /* a kv length one key short of a tile end (BLOCK_N = 64): that tile must not be interior */
        c.name = "kv lengths one short of a tile (63, 127)"; c.B = 2; c.Sq = 40; c.kv_len = {63, 127}; c.q_len = {};
        c.nan_masked = false; c.D = 64; c.bf16 = false; c.seed = ++seed; add(c);
    }
    {
        Case c; c.name = "bool mask [B,H,Sq,Sk] + fully masked row"; c.B = 2; c.bool_mask = true; c.Sq = 50;
        c.Sk = 140; c.seed = ++seed; add(c);
        c.name = "bool mask [Sq,Sk] broadcast + NaN in masked V"; c.mask_broadcast = true; c.nan_masked = true;
        c.bf16 = true; c.seed = ++seed; add(c);
    }
    {
        Case c; c.name = "bias + ALiBi + softcap 5, BSHD, offset 24"; c.bias = true; c.alibi = true; c.softcap = 5.f;
        c.bshd = true; c.off = 24; c.Hq = 4; c.Hkv = 1; c.Sq = 65; c.Sk = 129; c.seed = ++seed; add(c);
        c.D = 128; c.bf16 = true; c.window = true; c.wl = -1; c.wr = 0; c.name += " causal"; c.seed = ++seed; add(c);
    }
    {
        Case c; c.name = "NaN in one Q row propagates to that row only"; c.nan_q_row = true; c.seed = ++seed; add(c);
    }
    {
        Case c; c.name = "split-KV 3, decode Sq=1, GQA 8/2"; c.Hq = 8; c.Hkv = 2; c.Sq = 1; c.Sk = 700; c.splits = 3;
        c.D = 128; c.seed = ++seed; add(c);
        c.name = "split-KV 4, causal, lengths, Sq=20"; c.Sq = 20; c.Sk = 600; c.splits = 4; c.Hq = 2; c.Hkv = 1; c.B = 2;
        c.window = true; c.wl = -1; c.wr = 0; c.kv_len = {600, 150}; c.q_len = {20, 7}; c.bf16 = true; c.D = 64;
        c.nan_masked = true; c.seed = ++seed; add(c);
        c.name = "split-KV 5 > tiles of some CTAs (empty splits)"; c.splits = 5; c.kv_len = {130, 600}; c.seed = ++seed;
        add(c);
    }
    {
        Case c; c.name = "cp.async lands at issue"; c.mode = Mode::IMMEDIATE; c.Sk = 400; c.seed = ++seed; add(c);
        c.name = "cp.async lands at the wait"; c.mode = Mode::AT_WAIT; c.seed = ++seed; add(c);
        c.name = "cp.async at the wait, D=128 window"; c.D = 128; c.window = true; c.wl = 64; c.wr = 64; c.seed = ++seed;
        add(c);
    }
    {
        /* Extreme windows (issue 9): INT_MAX overflows i + off + right in 32 bits (and, with a
         * negative bottom-right offset, i + off - left); Sk + Sq and 0 bound nothing / the diagonal.
         * Both alignments, Sq < Sk and Sq > Sk (negative offset), ALiBi reads |i + off - j|. */
        const int M = 2147483647;
        const int wins[][2] = {{M, M}, {-1, M}, {M, -1}, {M, 0}, {0, M}, {-2, -2}, {-2, 0}, {0, -2}};
        for (const auto& w : wins)
            for (int big_q = 0; big_q < 2; ++big_q)
                for (int tl = 0; tl < 2; ++tl) {
                    Case c;
                    c.Sq = big_q ? 150 : 40;
                    c.Sk = big_q ? 70 : 200;
                    c.window = true;
                    c.wl = w[0] == -2 ? c.Sq + c.Sk : w[0];
                    c.wr = w[1] == -2 ? c.Sq + c.Sk : w[1];
                    c.top_left = tl;
                    c.alibi = true;
                    c.bf16 = (big_q + tl) % 2;
                    c.name = "extreme window (" + std::to_string(c.wl) + ", " + std::to_string(c.wr) + ") Sq=" +
                             std::to_string(c.Sq) + " Sk=" + std::to_string(c.Sk) + (tl ? " top-left" : " bottom-right");
                    c.seed = ++seed;
                    add(c);
                }
        Case c; c.name = "extreme window (INT_MAX, INT_MAX) split-KV 3 decode"; c.Sq = 1; c.Sk = 700; c.splits = 3;
        c.window = true; c.wl = M; c.wr = M; c.D = 128; c.seed = ++seed; add(c);
    }
#ifdef __CUDACC__
    if (argc > 1 && std::string(argv[1]) == "--bench") {
        cudaDeviceProp prop;
        CK(cudaGetDeviceProperties(&prop, 0));
        std::printf("device %s, %d SMs, cc %d.%d; device-to-device copy %.0f GB/s (read + write, median of 10)\n",
                    prop.name, prop.multiProcessorCount, prop.major, prop.minor, copy_gbps());
        bench_dtype<attn_tc_bf16>("bf16");
        bench_dtype<attn_tc_f16>("f16");
        return 0;
    }
#endif
    const char* only = argc > 1 ? argv[1] : nullptr;
    int failed = 0, run = 0;
    for (const Case& c : cases) {
        if (only && c.name.find(only) == std::string::npos) continue;
        ++run;
        const bool ok = c.bf16 ? run_case<attn_tc_bf16>(c) : run_case<attn_tc_f16>(c);
        failed += !ok;
    }
    std::printf("%d of %d cases passed\n", run - failed, run);
    return failed ? 1 : 0;
}
