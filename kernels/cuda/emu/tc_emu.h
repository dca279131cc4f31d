/*
 * tc_emu.h: a host emulation of exactly the CUDA features that sdpa_tc.cu uses, so that the kernel
 * source itself (not a port) can be run and checked on a machine without a GPU.
 *
 * One CTA at a time: its threads run as cooperative fibers (ucontext) on one OS thread, switching
 * only at barriers, so __syncthreads, __syncthreads_or, warp shuffles, ldmatrix and mma (all
 * warp-collective) behave as on the GPU for a race-free kernel. cp.async copies land either at issue,
 * at the wait that retires their group, or at random between the two (Mode), which exposes reads
 * before the wait and refills of a stage another warp still reads.
 *
 * WHAT THIS CANNOT CHECK: the fragment layouts of mma.m16n8k16 and ldmatrix are emulated from the
 * same reading of the PTX ISA that the kernel was written from (lane = 4 * groupID + threadID_in_group;
 * A: a0a1 (g, 2t..2t+1), a2a3 (g+8, 2t..), a4a5 (g, 2t+8..), a6a7 (g+8, 2t+8..); B: b0b1 (k = 2t..2t+1,
 * n = g), b2b3 (k = 2t+8..); C: c0c1 (g, 2t..), c2c3 (g+8, 2t..); ldmatrix: lane gets (row lane/4,
 * cols 2*(lane%4), +1) of each 8x8 matrix, .trans the transpose). A misreading there would be
 * consistent here and wrong on the GPU. The PTX conversions of TcType (cvt.rn.f16x2.f32 operand
 * order included) are replaced by host code, so they are not checked either. Tensor-core rounding
 * and ex2.approx are not bit-exact.
 *
 * INCLUDE ORDER: a test includes this header BEFORE the kernel source (../sdpa_tc.cu). It defines
 * ATTN_TC_HOST_EMULATION, so that tc_traits.cuh leaves out what is replaced here (storage types,
 * TcType, ATTN_TC_SMEM, the PTX wrappers), and ATTN_HOST_EMULATION with the attn_emu_* functions
 * that common.cuh's emulation branch expects (the same contract as kernels/cuda/test/emu.h, the
 * thread-based emulation of the other kernels; the two are never in one program). No production
 * header includes this file.
 */
#ifndef ATTN_TC_EMU_H
#define ATTN_TC_EMU_H

#include <ucontext.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <functional>
#include <random>
#include <utility>
#include <vector>

#include "half_host.h"

#define ATTN_TC_HOST_EMULATION 1
#define ATTN_HOST_EMULATION 1

#define __device__
#define __global__
#define __forceinline__ inline
#define __launch_bounds__(...)

struct uint4 {
    uint32_t x, y, z, w;
};
struct float2 {
    float x, y;
};
struct dim3e {
    unsigned x, y, z;
};

template <class T> inline T min(T a, T b) { return b < a ? b : a; }
template <class T> inline T max(T a, T b) { return a < b ? b : a; }

/* ---- 16-bit float storage types (the kernel's attn_tc_f16 / attn_tc_bf16) ---- */
struct attn_tc_f16 {
    unsigned short bits;
};
struct attn_tc_bf16 {
    unsigned short bits;
};

namespace attn_tc {
template <typename T> struct TcType;
template <> struct TcType<attn_tc_f16> {
    static constexpr unsigned kExpMask = 0x7c00u;
    static float to_float(attn_tc_f16 x) { return emu_half_to_float(x.bits); }
    static attn_tc_f16 from_float(float f) { return {emu_float_to_half(f)}; }
    static unsigned pack(float lo, float hi) { return emu_float_to_half(lo) | ((unsigned)emu_float_to_half(hi) << 16); }
};
template <> struct TcType<attn_tc_bf16> {
    static constexpr unsigned kExpMask = 0x7f80u;
    static float to_float(attn_tc_bf16 x) { return emu_bf16_to_float(x.bits); }
    static attn_tc_bf16 from_float(float f) { return {emu_float_to_bf16(f)}; }
    static unsigned pack(float lo, float hi) { return emu_float_to_bf16(lo) | ((unsigned)emu_float_to_bf16(hi) << 16); }
};
} // namespace attn_tc

inline float __int_as_float(int i) { return emu_u2f((uint32_t)i); }
inline float __uint_as_float(unsigned int u) { return emu_u2f(u); }
inline unsigned int __float_as_uint(float f) { return emu_f2u(f); }
/* common.cuh's F16 conversions under ATTN_HOST_EMULATION. */
inline float attn_emu_half_to_float(unsigned short h) { return emu_half_to_float(h); }
inline unsigned short attn_emu_float_to_half(float f) { return emu_float_to_half(f); }
[[noreturn]] inline void __trap() { std::abort(); }

/* ---- the CTA runtime ---- */
namespace attn_emu {

enum class Mode { IMMEDIATE, AT_WAIT, RANDOM };

struct Copy {
    unsigned char* dst;
    const unsigned char* src; /* null: zero fill */
};

struct Fiber {
    ucontext_t ctx;
    std::vector<char> stack;
    unsigned tid = 0;
    bool done = false;
    std::vector<Copy> open;                 /* issued, not yet committed */
    std::vector<std::vector<Copy>> groups;  /* committed, oldest first */
};

struct Barrier {
    unsigned count = 0, gen = 0;
};

struct Cta {
    dim3e block_idx{0, 0, 0}, block_dim{1, 1, 1};
    std::vector<unsigned char> smem;
    std::vector<Fiber> fibers;
    ucontext_t sched;
    Fiber* cur = nullptr;
    Barrier cta_bar;
    std::vector<Barrier> warp_bar;
    std::vector<unsigned char> slots; /* per warp: 32 lanes x 64 bytes */
    int or_acc = 0, or_result = 0;
    unsigned long events = 0;
    Mode mode = Mode::IMMEDIATE;
    std::mt19937 rng{1};
    std::function<void()> body;
};

/* Global buffers that cp.async may read (registered by the test); empty = unchecked. */
inline std::vector<std::pair<const unsigned char*, size_t>>& global_ranges() {
    static std::vector<std::pair<const unsigned char*, size_t>> r;
    return r;
}
inline void check_global(const void* src, size_t n) {
    auto& r = global_ranges();
    if (r.empty()) return;
    const unsigned char* p = (const unsigned char*)src;
    for (auto& g : r)
        if (p >= g.first && p + n <= g.first + g.second) return;
    std::fprintf(stderr, "cp.async reads outside every registered global buffer: %p (+%zu)\n", src, n);
    std::abort();
}

inline Cta*& cta() {
    static Cta* c = nullptr;
    return c;
}
inline unsigned char* cta_smem() { return cta()->smem.data(); }
/* Every emulated shared-memory access goes through here: [addr, addr + n) must lie in the CTA's
 * dynamic shared memory (the kernel's launch size), else the test aborts. */
inline unsigned char* smem_at(uint32_t addr, uint32_t n) {
    if ((size_t)addr + n > cta()->smem.size() - 16) {
        std::fprintf(stderr, "shared-memory access out of bounds: [%u, %u) of %zu bytes\n", addr, addr + n,
                     cta()->smem.size() - 16);
        std::abort();
    }
    return cta()->smem.data() + addr;
}
inline Fiber& me() { return *cta()->cur; }

inline void yield() { swapcontext(&me().ctx, &cta()->sched); }

inline void wait_barrier(Barrier& b, unsigned expected) {
    const unsigned g = b.gen;
    if (++b.count == expected) {
        b.count = 0;
        ++b.gen;
        ++cta()->events;
        return;
    }
    while (b.gen == g) yield();
}
inline unsigned lane() { return me().tid & 31; }
inline unsigned warp() { return me().tid >> 5; }
inline void warp_sync() { wait_barrier(cta()->warp_bar[warp()], 32); }
inline unsigned char* slot(unsigned w, unsigned l) { return &cta()->slots[(w * 32 + l) * 64]; }

/* Every lane deposits v; returns the 32 deposits of its warp (after which the slots are free). */
template <class V> inline void gather(const V& v, V out[32]) {
    static_assert(sizeof(V) <= 64, "slot size");
    std::memcpy(slot(warp(), lane()), &v, sizeof(V));
    warp_sync();
    for (unsigned l = 0; l < 32; ++l) std::memcpy(&out[l], slot(warp(), l), sizeof(V));
    warp_sync();
}

inline void do_copy(const Copy& c) {
    if (c.src)
        std::memcpy(c.dst, c.src, 16);
    else
        std::memset(c.dst, 0, 16);
}

inline void fiber_entry() {
    cta()->body();
    me().done = true;
    ++cta()->events;
    swapcontext(&me().ctx, &cta()->sched);
}

/* Runs body() as nthreads fibers of CTA (bx, by, bz) with smem_bytes of shared memory (poisoned). */
inline void run_cta(dim3e bidx, unsigned nthreads, size_t smem_bytes, Mode mode, unsigned seed,
                    std::function<void()> body) {
    Cta c;
    c.block_idx = bidx;
    c.block_dim = {nthreads, 1, 1};
    c.smem.assign(smem_bytes + 16, 0xA5);
    c.fibers.resize(nthreads);
    c.warp_bar.resize((nthreads + 31) / 32);
    c.slots.assign(c.warp_bar.size() * 32 * 64, 0);
    c.mode = mode;
    c.rng.seed(seed);
    c.body = std::move(body);
    Cta* saved = cta();
    cta() = &c;
    for (unsigned t = 0; t < nthreads; ++t) {
        Fiber& f = c.fibers[t];
        f.tid = t;
        f.stack.resize(256 * 1024);
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = f.stack.data();
        f.ctx.uc_stack.ss_size = f.stack.size();
        f.ctx.uc_link = nullptr;
        makecontext(&f.ctx, fiber_entry, 0);
    }
    /* Each pass runs the warps in a random order and holds back each warp with probability 1/2,
     * so warps drift apart between CTA barriers as they do on hardware (a lockstep schedule would
     * hide a missing __syncthreads). */
    const unsigned nwarps = (nthreads + 31) / 32;
    std::vector<unsigned> order(nwarps);
    for (unsigned w = 0; w < nwarps; ++w) order[w] = w;
    unsigned live = nthreads;
    int idle_rounds = 0;
    while (live > 0) {
        const unsigned long before = c.events;
        live = 0;
        std::shuffle(order.begin(), order.end(), c.rng);
        for (unsigned w : order) {
            const bool hold = (c.rng() & 1) != 0;
            for (unsigned t = w * 32; t < std::min(nthreads, w * 32 + 32); ++t) {
                Fiber& f = c.fibers[t];
                if (f.done) continue;
                if (!hold) {
                    c.cur = &f;
                    swapcontext(&c.sched, &f.ctx);
                }
                if (!f.done) ++live;
            }
        }
        if (live > 0 && c.events == before) {
            if (++idle_rounds > 200) {
                std::fprintf(stderr, "emulation deadlock: %u threads wait on barriers that cannot complete\n", live);
                std::abort();
            }
        } else {
            idle_rounds = 0;
        }
    }
    cta() = saved;
}

inline dim3e thread_idx() { return {me().tid, 0, 0}; }

} // namespace attn_emu

/* The kernel's dynamic shared memory: tc_traits.cuh's ATTN_TC_SMEM, and common.cuh's
 * ATTN_DYNAMIC_SMEM under ATTN_HOST_EMULATION. */
#define ATTN_TC_SMEM(name) unsigned char* name = attn_emu::cta_smem()
inline float* attn_emu_dynamic_smem() { return (float*)attn_emu::cta_smem(); }

#define threadIdx (attn_emu::thread_idx())
#define blockIdx (attn_emu::cta()->block_idx)
#define blockDim (attn_emu::cta()->block_dim)

inline void __syncthreads() { attn_emu::wait_barrier(attn_emu::cta()->cta_bar, attn_emu::cta()->block_dim.x); }
inline int __syncthreads_or(int pred) {
    auto* c = attn_emu::cta();
    c->or_acc |= pred ? 1 : 0;
    const unsigned g = c->cta_bar.gen;
    if (++c->cta_bar.count == c->block_dim.x) {
        c->cta_bar.count = 0;
        c->or_result = c->or_acc;
        c->or_acc = 0;
        ++c->cta_bar.gen;
        ++c->events;
    } else {
        while (c->cta_bar.gen == g) attn_emu::yield();
    }
    return c->or_result;
}
/* width: lanes form groups of `width` (a power of two); src indexes within the caller's group,
 * and an xor mask below width stays in it. */
template <class V> inline V __shfl_sync(unsigned, V v, int src, int width = 32) {
    V all[32];
    attn_emu::gather(v, all);
    return all[(attn_emu::lane() & ~(unsigned)(width - 1)) + (src & (width - 1))];
}
template <class V> inline V __shfl_xor_sync(unsigned, V v, int m, int width = 32) {
    V all[32];
    attn_emu::gather(v, all);
    return all[(attn_emu::lane() ^ (m & (width - 1))) & 31];
}

/* ---- the PTX wrappers of tc_traits.cuh ---- */
namespace attn_tc {

inline uint32_t smem_addr(const void* p) {
    return (uint32_t)((const unsigned char*)p - attn_emu::cta_smem());
}

inline void cp_async16(uint32_t dst, const void* src, bool pred) {
    if (pred) attn_emu::check_global(src, 16);
    attn_emu::Copy c{attn_emu::smem_at(dst, 16), pred ? (const unsigned char*)src : nullptr};
    auto* cta = attn_emu::cta();
    bool now = cta->mode == attn_emu::Mode::IMMEDIATE ||
               (cta->mode == attn_emu::Mode::RANDOM && (cta->rng() & 1));
    if (now)
        attn_emu::do_copy(c);
    else
        attn_emu::me().open.push_back(c);
}
inline void cp_async_commit() {
    auto& f = attn_emu::me();
    f.groups.push_back(std::move(f.open));
    f.open.clear();
}
template <int N> inline void cp_async_wait() {
    auto& f = attn_emu::me();
    while (f.groups.size() > (size_t)N) {
        for (auto& c : f.groups.front()) attn_emu::do_copy(c);
        f.groups.erase(f.groups.begin());
    }
}

inline uint4 lds128(uint32_t addr) {
    uint4 w;
    std::memcpy(&w, attn_emu::smem_at(addr, 16), 16);
    return w;
}

inline void ldsm_impl(uint32_t r[4], uint32_t addr, bool trans) {
    uint32_t all[32];
    attn_emu::gather(addr, all);
    const unsigned l = attn_emu::lane(), g = l >> 2, t = l & 3;
    const unsigned char* s = attn_emu::cta_smem();
    for (unsigned x = 0; x < 32; ++x) attn_emu::smem_at(all[x], 16); /* each lane's row address */
    for (int m = 0; m < 4; ++m) {
        uint16_t lo, hi;
        if (!trans) { /* row g, cols 2t, 2t+1 */
            std::memcpy(&lo, s + all[8 * m + g] + 4 * t, 2);
            std::memcpy(&hi, s + all[8 * m + g] + 4 * t + 2, 2);
        } else { /* rows 2t, 2t+1, col g */
            std::memcpy(&lo, s + all[8 * m + 2 * t] + 2 * g, 2);
            std::memcpy(&hi, s + all[8 * m + 2 * t + 1] + 2 * g, 2);
        }
        r[m] = (uint32_t)lo | ((uint32_t)hi << 16);
    }
}
inline void ldsm_x4(uint32_t r[4], uint32_t addr) { ldsm_impl(r, addr, false); }
inline void ldsm_x4_t(uint32_t r[4], uint32_t addr) { ldsm_impl(r, addr, true); }

template <class T> inline float emu_bits_to_float(uint16_t b) { return TcType<T>::to_float(T{b}); }

struct MmaLane {
    uint32_t a[4], b[2];
};

/* D = A B + C for one m16n8k16, fp32 accumulate; each lane computes its own four outputs. */
template <class T> inline void mma16816(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
    MmaLane me{{a[0], a[1], a[2], a[3]}, {b0, b1}};
    MmaLane all[32];
    attn_emu::gather(me, all);
    float A[16][16], B[16][8];
    for (unsigned l = 0; l < 32; ++l) {
        const unsigned g = l >> 2, t = l & 3;
        auto h = [&](uint32_t w, int hi) { return emu_bits_to_float<T>((uint16_t)(hi ? w >> 16 : w & 0xffff)); };
        for (int e = 0; e < 2; ++e) {
            A[g][2 * t + e] = h(all[l].a[0], e);
            A[g + 8][2 * t + e] = h(all[l].a[1], e);
            A[g][2 * t + 8 + e] = h(all[l].a[2], e);
            A[g + 8][2 * t + 8 + e] = h(all[l].a[3], e);
            B[2 * t + e][g] = h(all[l].b[0], e);
            B[2 * t + 8 + e][g] = h(all[l].b[1], e);
        }
    }
    const unsigned l = attn_emu::lane(), g = l >> 2, t = l & 3;
    for (int e = 0; e < 4; ++e) {
        const unsigned row = g + 8 * (e >> 1), col = 2 * t + (e & 1);
        float acc = c[e];
        for (int k = 0; k < 16; ++k) acc += A[row][k] * B[k][col];
        c[e] = acc;
    }
}

inline float ex2(float x) { return std::exp2(x); }

} // namespace attn_tc

#endif /* ATTN_TC_EMU_H */
