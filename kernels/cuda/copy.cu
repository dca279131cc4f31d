/*
 * copy.cu: strided copy of any tensor of up to 4 dims, bit for bit (Scope.copy between views that
 * are not both contiguous: a slice of a KV cache, a BSHD view). One thread per element,
 * grid-stride; entries by element width, as in kernels/opencl/copy.cl.
 */
#include "common.cuh"

namespace attn {

template <typename T>
ATTN_DEV void copy_strided(const attn_copy_params& p, const T* __restrict__ src, T* __restrict__ dst) {
    const long long n = (long long)p.d0 * p.d1 * p.d2 * p.d3;
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += stride) {
        long long r = e;
        const long long i3 = r % p.d3;
        r /= p.d3;
        const long long i2 = r % p.d2;
        r /= p.d2;
        const long long i1 = r % p.d1;
        const long long i0 = r / p.d1;
        dst[p.dst_off + i0 * p.dst_s0 + i1 * p.dst_s1 + i2 * p.dst_s2 + i3 * p.dst_s3] =
            src[p.src_off + i0 * p.src_s0 + i1 * p.src_s1 + i2 * p.src_s2 + i3 * p.src_s3];
    }
}

} // namespace attn

#define ATTN_COPY_THREADS 256

#define ATTN_COPY_ENTRY(w, T)                                                                                 \
    extern "C" __global__ void __launch_bounds__(ATTN_COPY_THREADS) attn_copy_##w(                            \
        attn_copy_params p, const T* __restrict__ src, T* __restrict__ dst) {                                 \
        attn::copy_strided<T>(p, src, dst);                                                                   \
    }

ATTN_COPY_ENTRY(u8, unsigned char)
ATTN_COPY_ENTRY(u16, unsigned short)
ATTN_COPY_ENTRY(u32, unsigned int)
