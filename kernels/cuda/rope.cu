/*
 * rope.cu: rotary position embedding, rotate-half form (attn_rope_params in attn_params.h), the
 * same computation as kernels/opencl/rope.cl: one thread per (b, h, s, i < D/2) pair, grid-stride
 * loop; a thread reads x[i], x[i + D/2] and writes the same two places of o, so o may be x.
 *   attn_rope_<dt>(attn_rope_params p, x, o)
 */
#include "common.cuh"

#define ROPE_THREADS 256

namespace attn {

template <typename S>
ATTN_DEV void rope(const attn_rope_params& p, const typename S::Elem* x, typename S::Elem* o) {
    const int half = p.head_dim / 2;
    const long long total = (long long)p.batch * p.heads * p.seq * half;
    for (long long n = (long long)blockIdx.x * blockDim.x + threadIdx.x; n < total; n += (long long)gridDim.x * blockDim.x) {
        const int i = (int)(n % half);
        long long r = n / half;
        const int s = (int)(r % p.seq);
        r /= p.seq;
        const int h = (int)(r % p.heads);
        const int b = (int)(r / p.heads);
        const float f = 1.0f / powf(p.theta, (float)(2 * i) / (float)p.head_dim);
        const float a = (float)(p.offset + s) * f;
        float sn, c;
        sincosf(a, &sn, &c);
        if (p.inverse) sn = -sn;
        const long long xb = p.x_off + b * p.x_sb + h * p.x_sh + s * p.x_ss;
        const long long ob = p.o_off + b * p.o_sb + h * p.o_sh + s * p.o_ss;
        const float x0 = ld<S>(x, xb + i * p.x_sd), x1 = ld<S>(x, xb + (i + half) * p.x_sd);
        st<S>(o, ob + i * p.o_sd, x0 * c - x1 * sn);
        st<S>(o, ob + (i + half) * p.o_sd, x1 * c + x0 * sn);
    }
}

} // namespace attn

#define ATTN_ROPE(dt, S)                                                                                  \
    extern "C" __global__ void __launch_bounds__(ROPE_THREADS) attn_rope_##dt(                            \
        attn_rope_params p, const attn::S::Elem* x, attn::S::Elem* o) {                                   \
        attn::rope<attn::S>(p, x, o);                                                                     \
    }

ATTN_ROPE(f32, F32)
ATTN_ROPE(f16, F16)
ATTN_ROPE(bf16, BF16)
