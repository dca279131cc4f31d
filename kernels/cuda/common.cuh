/*
 * common.cuh: storage types, conversions and warp helpers shared by every CUDA kernel of attn4j.
 *
 * Every kernel computes in fp32. Data tensors are stored as F32, F16 or BF16; the two half types
 * are carried as raw 16-bit patterns (unsigned short) and converted here, so that the kernels need
 * no CUDA header at all and compile the same under nvcc and NVRTC (NVRTC gets attn_params.h and
 * the .cuh files as named headers, nothing else).
 */
#ifndef ATTN_CUDA_COMMON_CUH
#define ATTN_CUDA_COMMON_CUH

#include "../attn_params.h"

#define ATTN_INF __int_as_float(0x7f800000)
#define ATTN_NINF __int_as_float(0xff800000)
#define ATTN_NAN __int_as_float(0x7fc00000)
#define ATTN_LOG2E 1.4426950408889634f /* log2(e): exp(x) = exp2(x * ATTN_LOG2E) */
#define ATTN_LN2 0.6931471805599453f   /* ln(2): log(x) = log2(x) * ATTN_LN2 */
#define ATTN_DEV __device__ __forceinline__

/* Dynamic shared memory of a kernel (a pointer under a host emulation, which defines
 * ATTN_HOST_EMULATION and the attn_emu_* functions below before including any kernel). */
#ifdef ATTN_HOST_EMULATION
#define ATTN_DYNAMIC_SMEM(name) float* name = attn_emu_dynamic_smem()
#else
#define ATTN_DYNAMIC_SMEM(name) extern __shared__ float name[]
#endif

namespace attn {

/* Storage tags: Elem is the in-memory type. */
struct F32 { typedef float Elem; };
struct F16 { typedef unsigned short Elem; };
struct BF16 { typedef unsigned short Elem; };

template <typename S> ATTN_DEV float to_f32(typename S::Elem x);
template <> ATTN_DEV float to_f32<F32>(float x) { return x; }
#ifndef ATTN_HOST_EMULATION
template <> ATTN_DEV float to_f32<F16>(unsigned short x) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(x));
    return f;
}
#else /* host emulation (kernels/cuda/test/emu.h, kernels/cuda/emu/tc_emu.h): the same conversion in software */
template <> ATTN_DEV float to_f32<F16>(unsigned short x) { return attn_emu_half_to_float(x); }
#endif
template <> ATTN_DEV float to_f32<BF16>(unsigned short x) {
    return __uint_as_float(((unsigned int)x) << 16);
}

template <typename S> ATTN_DEV typename S::Elem from_f32(float x);
template <> ATTN_DEV float from_f32<F32>(float x) { return x; }
#ifndef ATTN_HOST_EMULATION
template <> ATTN_DEV unsigned short from_f32<F16>(float x) {
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(x));
    return h;
}
#else
template <> ATTN_DEV unsigned short from_f32<F16>(float x) { return attn_emu_float_to_half(x); }
#endif
/* Round to nearest even; NaN stays a (quiet) NaN. Works on every architecture (sm_75 has no
 * cvt.rn.bf16.f32). */
template <> ATTN_DEV unsigned short from_f32<BF16>(float x) {
    unsigned int u = __float_as_uint(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return (unsigned short)((u >> 16) | 0x0040u);
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short)(u >> 16);
}

template <typename S> ATTN_DEV float ld(const typename S::Elem* p, long long i) { return to_f32<S>(p[i]); }
template <typename S> ATTN_DEV void st(typename S::Elem* p, long long i, float v) { p[i] = from_f32<S>(v); }

/* NaN-propagating max: fmaxf drops NaNs, the semantics need them kept. */
ATTN_DEV float nan_max(float a, float b) { return (a != a || b != b) ? ATTN_NAN : fmaxf(a, b); }

/* Reductions over `width` consecutive lanes (a power of two <= 32) that all call it. */
template <int WIDTH> ATTN_DEV float group_max(float v) {
#pragma unroll
    for (int o = WIDTH / 2; o > 0; o >>= 1) v = nan_max(v, __shfl_xor_sync(0xffffffffu, v, o, WIDTH));
    return v;
}
template <int WIDTH> ATTN_DEV float group_sum(float v) {
#pragma unroll
    for (int o = WIDTH / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o, WIDTH);
    return v;
}

/* True when p is aligned to `bytes`. */
ATTN_DEV bool aligned(const void* p, int bytes) { return (((unsigned long long)p) & (bytes - 1)) == 0; }

} // namespace attn

#endif
