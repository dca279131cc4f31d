/*
 * merge.cu: merge of attention states (attn_params.h, attn_merge_params, gives the semantics), the
 * same entry and arguments as kernels/opencl/merge.cl. One thread per element of O, grid-stride
 * over B*H*S*Dv; each thread reads the row's n_parts LSEs (shared by the row's Dv threads, so
 * they come from L1/L2) and its n_parts O_i elements once: memory-bound, every byte read once.
 * The part loops run over ATTN_MERGE_MAX_PARTS with a bound check and unroll to constant indices.
 */
#include "common.cuh"

#define ATTN_MERGE_THREADS 256

namespace attn {

ATTN_DEV long long merge_o_row(const attn_merge_part& t, int b, int h, int s) {
    return t.o_off + (long long)b * t.o_sb + (long long)h * t.o_sh + (long long)s * t.o_ss;
}

ATTN_DEV long long merge_lse_at(const attn_merge_part& t, int b, int h, int s) {
    return t.lse_off + (long long)b * t.lse_sb + (long long)h * t.lse_sh + (long long)s * t.lse_ss;
}

template <typename S>
ATTN_DEV void merge_states(const attn_merge_params& p, const typename S::Elem* const* src, const float* const* lsrc,
                           typename S::Elem* __restrict__ o, float* __restrict__ lse) {
    const attn_merge_part* part[ATTN_MERGE_MAX_PARTS] = {&p.p0, &p.p1, &p.p2, &p.p3, &p.p4, &p.p5, &p.p6, &p.p7};
    const int n = p.n_parts;
    const long long dv = p.head_dim_v;
    const long long total = (long long)p.batch * p.heads * p.seq * dv;
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += stride) {
        const long long d = e % dv;
        long long r = e / dv;
        const int s = (int)(r % p.seq);
        r /= p.seq;
        const int h = (int)(r % p.heads);
        const int b = (int)(r / p.heads);
        float l[ATTN_MERGE_MAX_PARTS];
        float m = -ATTN_INF;
        bool nan = false;
#pragma unroll
        for (int i = 0; i < ATTN_MERGE_MAX_PARTS; i++) {
            l[i] = -ATTN_INF;
            if (i < n) {
                l[i] = lsrc[i][merge_lse_at(*part[i], b, h, s)];
                nan |= l[i] != l[i];
                m = fmaxf(m, l[i]);
            }
        }
        float res, lres;
        if (nan || m == ATTN_INF) {
            res = ATTN_NAN;
            lres = ATTN_NAN;
        } else if (m == -ATTN_INF) {
            res = 0.0f;
            lres = -ATTN_INF;
        } else {
            float sum = 0.0f, acc = 0.0f;
#pragma unroll
            for (int i = 0; i < ATTN_MERGE_MAX_PARTS; i++) {
                if (i < n && l[i] != -ATTN_INF) {
                    const float w = expf(l[i] - m);
                    sum += w;
                    acc += w * ld<S>(src[i], merge_o_row(*part[i], b, h, s) + d * part[i]->o_sd);
                }
            }
            res = acc / sum;
            lres = m + logf(sum);
        }
        st<S>(o, merge_o_row(p.out, b, h, s) + d * p.out.o_sd, res);
        if ((p.flags & ATTN_F_LSE) && d == 0) {
            lse[merge_lse_at(p.out, b, h, s)] = lres;
        }
    }
}

} // namespace attn

#define ATTN_MERGE_ENTRY(dt, S)                                                                                  \
    extern "C" __global__ void __launch_bounds__(ATTN_MERGE_THREADS) attn_merge_states_##dt(                     \
        attn_merge_params p, const S::Elem* o0, const S::Elem* o1, const S::Elem* o2, const S::Elem* o3,          \
        const S::Elem* o4, const S::Elem* o5, const S::Elem* o6, const S::Elem* o7, const float* lse0,            \
        const float* lse1, const float* lse2, const float* lse3, const float* lse4, const float* lse5,            \
        const float* lse6, const float* lse7, S::Elem* __restrict__ o, float* __restrict__ lse) {                  \
        const S::Elem* src[ATTN_MERGE_MAX_PARTS] = {o0, o1, o2, o3, o4, o5, o6, o7};                                \
        const float* lsrc[ATTN_MERGE_MAX_PARTS] = {lse0, lse1, lse2, lse3, lse4, lse5, lse6, lse7};               \
        attn::merge_states<S>(p, src, lsrc, o, lse);                                                              \
    }

ATTN_MERGE_ENTRY(f32, attn::F32)
ATTN_MERGE_ENTRY(f16, attn::F16)
ATTN_MERGE_ENTRY(bf16, attn::BF16)
