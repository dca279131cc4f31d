/*
 * tc_traits.cuh: the tile table of the tensor-core fp16/bf16 SDPA forward (sdpa_tc.cu), and the
 * small fragment-level helpers it needs (cp.async, ldmatrix, mma.m16n8k16, fp16/bf16 packing).
 *
 * THE TABLE. One row per supported head dim D (= Dv). io.github.attn4j.cuda.tc.TcTraits mirrors it
 * and TcTraitsTableTest parses this file, so edit the two together.
 *
 *   D        head dim of Q/K and of V (the kernel requires D == Dv)
 *   BLOCK_M  query rows per CTA; every warp owns 16 of them, so BLOCK_M == 16 * WARPS
 *   BLOCK_N  keys per K/V tile (a multiple of 16, at most 64: the per-thread mask bits fit 32 bits)
 *   WARPS    warps per CTA
 *   STAGES   K/V tiles in flight (cp.async ring), >= 2
 *   Q_REGS   1: Q's A fragments are loaded into registers once; 0: re-read from shared memory
 *            with ldmatrix for every K tile (D = 256, where registers are short)
 *   SWIZZLE  1: rows of D/8 16-byte chunks, chunk c of row r stored at c ^ (r & 7) (needs D/8 a
 *            multiple of 8); 0: rows padded by one chunk (an odd pitch in chunks), for D = 96
 *
 * Shared memory per CTA = BLOCK_M * pitch + STAGES * 2 * BLOCK_N * pitch bytes (pitch = row bytes,
 * padded when SWIZZLE is 0). Every row stays within 99 KiB (101376 bytes), the opt-in limit of
 * sm_86 and sm_89, so one table serves sm_80, sm_86, sm_89 and sm_90.
 */
#ifndef ATTN_TC_TRAITS_CUH
#define ATTN_TC_TRAITS_CUH

/* No system or CUDA headers (NVRTC compiles this file too, without the toolkit's include tree):
 * the 16-bit storage types and their conversions are PTX here. */
#include "common.cuh"

/* Host emulation (kernels/cuda/emu/sdpa_tc_emu_test.cpp): the test includes emu/tc_emu.h, which
 * defines ATTN_TC_HOST_EMULATION, BEFORE the kernel; it supplies the storage types, TcType, the
 * shared-memory declaration and the PTX wrappers that this file then leaves out. */
#if defined(ATTN_TC_HOST_EMULATION) && !defined(ATTN_TC_EMU_H)
#error "ATTN_TC_HOST_EMULATION: include the emulation header (kernels/cuda/emu/tc_emu.h) before the kernel"
#endif

/* X(D, BLOCK_M, BLOCK_N, WARPS, STAGES, Q_REGS, SWIZZLE) */
#define ATTN_TC_TRAITS_TABLE(X)   \
    X( 64, 128, 64, 8, 3, 1, 1)   \
    X( 96, 128, 64, 8, 2, 1, 0)   \
    X(128, 128, 64, 8, 2, 1, 1)   \
    X(256,  64, 32, 4, 2, 0, 1)

#define ATTN_TC_SMEM_LIMIT 101376 /* bytes: max dynamic shared memory per block on sm_86 / sm_89 */

namespace attn_tc {

template <int D> struct TcTraits; /* only the table's rows exist */

#define ATTN_TC_DEFINE_TRAITS(D_, BM_, BN_, W_, ST_, QR_, SW_)                                     \
    template <> struct TcTraits<D_> {                                                             \
        static constexpr int kD = D_, kBlockM = BM_, kBlockN = BN_, kWarps = W_, kStages = ST_;   \
        static constexpr bool kQInRegs = QR_ != 0, kSwizzle = SW_ != 0;                           \
    };
ATTN_TC_TRAITS_TABLE(ATTN_TC_DEFINE_TRAITS)
#undef ATTN_TC_DEFINE_TRAITS

/* Everything derived from a row, with the guards that keep the kernel's index math valid. */
template <int D> struct TcTile : TcTraits<D> {
    using T_ = TcTraits<D>;
    static constexpr int kThreads = T_::kWarps * 32;
    static constexpr int kChunks = D / 8;                                /* 16-byte chunks per row */
    static constexpr int kPitch = T_::kSwizzle ? kChunks : kChunks + 1;  /* chunks per smem row */
    static constexpr int kSmemQ = T_::kBlockM * kPitch * 16;
    static constexpr int kSmemKV = T_::kBlockN * kPitch * 16;            /* one K (or V) tile */
    static constexpr int kSmemBytes = kSmemQ + T_::kStages * 2 * kSmemKV;
    static constexpr int kQLoads = T_::kBlockM * kChunks / kThreads;     /* cp.async per thread */
    static constexpr int kKVLoads = T_::kBlockN * kChunks / kThreads;

    static_assert(D % 16 == 0, "D must be a multiple of the mma k-step (16)");
    static_assert(T_::kBlockM == 16 * T_::kWarps, "each warp owns exactly 16 query rows");
    static_assert(T_::kBlockN % 16 == 0 && T_::kBlockN >= 16, "BLOCK_N must be a multiple of 16");
    static_assert(T_::kBlockN <= 64, "per-thread mask bits (BLOCK_N / 2) must fit one 32-bit word");
    static_assert(T_::kStages >= 2, "the cp.async ring needs at least two stages");
    static_assert(!T_::kSwizzle || kChunks % 8 == 0, "the XOR swizzle needs D/8 to be a multiple of 8");
    static_assert(T_::kSwizzle || kPitch % 2 == 1, "a padded pitch must be odd in 16-byte chunks");
    static_assert((T_::kBlockM * kChunks) % kThreads == 0, "Q tile chunks must divide among the threads");
    static_assert((T_::kBlockN * kChunks) % kThreads == 0, "K/V tile chunks must divide among the threads");
    static_assert(kSmemBytes <= ATTN_TC_SMEM_LIMIT, "shared memory above the sm_86/sm_89 opt-in limit");

    /* Byte offset of 16-byte chunk c of row r inside a tile. */
    ATTN_DEV static unsigned off(int r, int c) {
        return (unsigned)(T_::kSwizzle ? r * kChunks + (c ^ (r & 7)) : r * kPitch + c) * 16u;
    }
};

/* ---- storage types ---------------------------------------------------------------------- */
#ifndef ATTN_TC_HOST_EMULATION
} // namespace attn_tc

/* fp16 / bf16 storage (global, they name the entry points' pointer types and select the mma
 * instance): the kernel only moves their bits. Scalar loads convert through common.cuh's
 * to_f32/from_f32; the paired packing and the bf16 store are sm_80 PTX. */
struct attn_tc_f16 {
    unsigned short bits;
};
struct attn_tc_bf16 {
    unsigned short bits;
};

namespace attn_tc {

template <typename T> struct TcType;
template <> struct TcType<attn_tc_f16> {
    static constexpr unsigned kExpMask = 0x7c00u; /* exponent all ones = inf or NaN */
    ATTN_DEV static float to_float(attn_tc_f16 x) { return attn::to_f32<attn::F16>(x.bits); }
    ATTN_DEV static attn_tc_f16 from_float(float f) {
        attn_tc_f16 r;
        r.bits = attn::from_f32<attn::F16>(f);
        return r;
    }
    /* lo goes to the low 16 bits: the element with the smaller column index in a fragment.
     * cvt.rn.f16x2.f32 d, a, b puts a in the upper half and b in the lower half. */
    ATTN_DEV static unsigned pack(float lo, float hi) {
        unsigned u;
        asm("cvt.rn.f16x2.f32 %0, %1, %2;\n" : "=r"(u) : "f"(hi), "f"(lo));
        return u;
    }
};
template <> struct TcType<attn_tc_bf16> {
    static constexpr unsigned kExpMask = 0x7f80u;
    ATTN_DEV static float to_float(attn_tc_bf16 x) { return attn::to_f32<attn::BF16>(x.bits); }
    /* One cvt on sm_80+ (from_f32<BF16> is the portable software rounding, same value). */
    ATTN_DEV static attn_tc_bf16 from_float(float f) {
        attn_tc_bf16 r;
        asm("cvt.rn.bf16.f32 %0, %1;\n" : "=h"(r.bits) : "f"(f));
        return r;
    }
    ATTN_DEV static unsigned pack(float lo, float hi) {
        unsigned u;
        asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(u) : "f"(hi), "f"(lo));
        return u;
    }
};
#endif /* !ATTN_TC_HOST_EMULATION */

/* True when either 16-bit half of w is inf or NaN. */
template <typename T> ATTN_DEV bool nonfinite2(unsigned w) {
    constexpr unsigned m = TcType<T>::kExpMask;
    return (w & m) == m || ((w >> 16) & m) == m;
}

/* ---- PTX wrappers (sm_80+) ---------------------------------------------------------------- */
#ifndef ATTN_TC_HOST_EMULATION

/* The kernel's dynamic shared memory, as bytes. */
#define ATTN_TC_SMEM(name) extern __shared__ __align__(128) unsigned char name[]

ATTN_DEV unsigned smem_addr(const void* p) {
    unsigned a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }\n" : "=r"(a) : "l"(p));
    return a;
}

/* 16-byte global -> shared copy; when !pred, writes 16 zero bytes and reads nothing. */
ATTN_DEV void cp_async16(unsigned dst, const void* src, bool pred) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(pred ? 16 : 0)
                 : "memory");
}
ATTN_DEV void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N> ATTN_DEV void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

/* Four 8x8 b16 matrices; lanes 8m..8m+7 give the row addresses of matrix m, register m receives
 * (row lane/4, cols 2*(lane%4), +1) of matrix m. */
ATTN_DEV void ldsm_x4(unsigned r[4], unsigned addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}
/* The same, transposed: register m receives (rows 2*(lane%4), +1; col lane/4) of matrix m. */
ATTN_DEV void ldsm_x4_t(unsigned r[4], unsigned addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}

/* D(16x8, f32) += A(16x16, row) * B(16x8, col). */
template <typename T> ATTN_DEV void mma16816(float c[4], const unsigned a[4], unsigned b0, unsigned b1);
template <> ATTN_DEV void mma16816<attn_tc_f16>(float c[4], const unsigned a[4], unsigned b0, unsigned b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
template <>
ATTN_DEV void mma16816<attn_tc_bf16>(float c[4], const unsigned a[4], unsigned b0, unsigned b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* 2^x; ex2.approx of -inf is +0 and of NaN is NaN, which the softmax relies on. */
ATTN_DEV float ex2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}

/* 16 bytes from shared memory. */
ATTN_DEV uint4 lds128(unsigned addr) {
    uint4 w;
    asm volatile("ld.shared.v4.u32 {%0,%1,%2,%3}, [%4];\n" : "=r"(w.x), "=r"(w.y), "=r"(w.z), "=r"(w.w) : "r"(addr));
    return w;
}
#endif /* !ATTN_TC_HOST_EMULATION */

} // namespace attn_tc

#endif /* ATTN_TC_TRAITS_CUH */
