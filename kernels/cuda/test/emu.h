/*
 * emu.h: a host emulation of the CUDA built-ins that attn4j's kernels use, so that the kernel
 * sources themselves (not a port) run on a CPU in the unit tests: one std::thread per CUDA
 * thread of a block, blocks one after another (so `static` locals are exactly the block's shared
 * memory), __syncthreads as a block barrier, warp shuffles through a per-warp exchange array with
 * a warp barrier. Slow and only for small shapes; it checks logic, not performance or the memory
 * model of a real GPU.
 */
#ifndef ATTN_EMU_H
#define ATTN_EMU_H

#include <algorithm>
#include <barrier>
#include <cmath>
#include <math.h>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#define ATTN_HOST_EMULATION 1
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __shared__ static

using std::max;
using std::min;
using std::fmaf;
using std::fmaxf;

struct uint4 { unsigned int x, y, z, w; };
struct float4 { float x, y, z, w; };
struct dim3e { unsigned int x, y, z; };

inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline float __uint_as_float(unsigned int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline unsigned int __float_as_uint(float f) { unsigned int i; std::memcpy(&i, &f, 4); return i; }

/* IEEE binary16 conversions, round to nearest even (what cvt.rn.f16.f32 does). */
inline float attn_emu_half_to_float(unsigned short h) {
    unsigned int s = (h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, u;
    if (e == 0) {
        if (m == 0) { u = s; }
        else { int k = -1; do { k++; m <<= 1; } while (!(m & 0x400)); u = s | ((127 - 15 - k) << 23) | ((m & 0x3ff) << 13); }
    } else if (e == 31) { u = s | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0); }
    else { u = s | ((e + 127 - 15) << 23) | (m << 13); }
    return __uint_as_float(u);
}
inline unsigned short attn_emu_float_to_half(float f) {
    unsigned int u = __float_as_uint(f), s = (u >> 16) & 0x8000u;
    int e = (int)((u >> 23) & 0xff);
    unsigned int m = u & 0x7fffff;
    if (e == 255) return (unsigned short)(s | 0x7c00u | (m ? 0x200u : 0));
    int he = e - 127 + 15;
    if (he >= 31) return (unsigned short)(s | 0x7c00u);
    if (he <= 0) {
        if (he < -10) return (unsigned short)s;
        m |= 0x800000u;
        int shift = 14 - he;
        unsigned int hm = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (hm & 1))) hm++;
        return (unsigned short)(s | hm);
    }
    unsigned int hm = m >> 13, rem = m & 0x1fff;
    unsigned int r = s | ((unsigned int)he << 10) | hm;
    if (rem > 0x1000 || (rem == 0x1000 && (hm & 1))) r++;
    return (unsigned short)r;
}

namespace attn_emu {
struct Block {
    int threads;
    std::unique_ptr<std::barrier<>> block;
    std::vector<std::unique_ptr<std::barrier<>>> warps;
    std::vector<float> xchg;
    std::vector<float> smem;
};
inline thread_local dim3e t_thread, t_block;
inline dim3e g_grid, g_blockdim;
inline Block* g_blk;
}

#define threadIdx (attn_emu::t_thread)
#define blockIdx (attn_emu::t_block)
#define gridDim (attn_emu::g_grid)
#define blockDim (attn_emu::g_blockdim)

inline float* attn_emu_dynamic_smem() { return attn_emu::g_blk->smem.data(); }
inline void __syncthreads() { attn_emu::g_blk->block->arrive_and_wait(); }
inline void __syncwarp(unsigned int = 0xffffffffu) { attn_emu::g_blk->warps[threadIdx.x / 32]->arrive_and_wait(); }
inline float __shfl_xor_sync(unsigned int, float v, int lane_mask, int width = 32) {
    (void)width;
    auto* b = attn_emu::g_blk;
    int t = (int)threadIdx.x, w = t / 32, l = t % 32;
    b->xchg[t] = v;
    b->warps[w]->arrive_and_wait();
    float r = b->xchg[w * 32 + (l ^ lane_mask)];
    b->warps[w]->arrive_and_wait();
    return r;
}

namespace attn_emu {
/* Runs kernel() over the grid: `threads` std::threads, blocks in order (x fastest, then y). */
inline void launch(dim3e grid, int threads, int smem_bytes, const std::function<void()>& kernel) {
    Block b;
    b.threads = threads;
    b.block = std::make_unique<std::barrier<>>(threads);
    for (int w = 0; w < (threads + 31) / 32; w++) b.warps.push_back(std::make_unique<std::barrier<>>(std::min(32, threads - 32 * w)));
    b.xchg.assign(threads, 0.0f);
    b.smem.assign(smem_bytes / 4 + 1, std::nanf(""));
    g_blk = &b;
    g_grid = grid;
    g_blockdim = {(unsigned)threads, 1, 1};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; t++) {
        pool.emplace_back([&, t] {
            t_thread = {(unsigned)t, 0, 0};
            for (unsigned z = 0; z < grid.z; z++)
                for (unsigned y = 0; y < grid.y; y++)
                    for (unsigned x = 0; x < grid.x; x++) {
                        t_block = {x, y, z};
                        kernel();
                        b.block->arrive_and_wait(); /* the block is done before the next reuses shared memory */
                    }
        });
    }
    for (auto& th : pool) th.join();
}
}

#endif
