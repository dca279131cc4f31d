/*
 * kv_append.cu: writes new K/V rows into paged caches through a block table (attn_params.h,
 * attn_kv_append_params, gives the semantics); the same entries and arguments as
 * kernels/opencl/kv_append.cl. A bit-for-bit copy of the storage elements. One thread per element
 * of the new rows, K and V in one grid-stride loop over B * Snew * Hkv * (D + Dv), the head dim
 * fastest so that a warp writes contiguous bytes of one cache row.
 */
#include "common.cuh"

#define ATTN_KV_APPEND_THREADS 256

namespace attn {

template <typename T>
ATTN_DEV void kv_append(const attn_kv_append_params& p, const T* __restrict__ k_new, const T* __restrict__ v_new,
                        T* __restrict__ k_cache, T* __restrict__ v_cache, const int* __restrict__ block_table,
                        const int* __restrict__ start_pos, const int* __restrict__ append_len) {
    const long long w = (long long)p.head_dim + p.head_dim_v;
    const long long total = (long long)p.batch * p.seq_new * p.heads_kv * w;
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += stride) {
        const long long x = e % w;
        long long r = e / w;
        const int h = (int)(r % p.heads_kv);
        r /= p.heads_kv;
        const int t = (int)(r % p.seq_new);
        const int b = (int)(r / p.seq_new);
        if (t >= append_len[b]) {
            continue;
        }
        const long long pos = (long long)start_pos[b] + t;
        const long long j = pos / p.page_size;
        if (j >= p.max_pages) {
            continue;
        }
        const int page = block_table[p.bt_off + b * p.bt_sb + j * p.bt_sp];
        if (page < 0 || page >= p.num_pages) {
            continue;
        }
        const long long slot = pos % p.page_size;
        if (x < p.head_dim) {
            k_cache[p.kc_off + page * p.kc_sp + slot * p.kc_ss + h * p.kc_sh + x * p.kc_sd] =
                k_new[p.kn_off + b * p.kn_sb + h * p.kn_sh + t * p.kn_ss + x * p.kn_sd];
        } else {
            const long long d = x - p.head_dim;
            v_cache[p.vc_off + page * p.vc_sp + slot * p.vc_ss + h * p.vc_sh + d * p.vc_sd] =
                v_new[p.vn_off + b * p.vn_sb + h * p.vn_sh + t * p.vn_ss + d * p.vn_sd];
        }
    }
}

} // namespace attn

#define ATTN_KV_APPEND_ENTRY(dt, T)                                                                            \
    extern "C" __global__ void __launch_bounds__(ATTN_KV_APPEND_THREADS) attn_kv_append_##dt(                   \
        attn_kv_append_params p, const T* __restrict__ k_new, const T* __restrict__ v_new, T* __restrict__ k_cache, \
        T* __restrict__ v_cache, const int* __restrict__ block_table, const int* __restrict__ start_pos,         \
        const int* __restrict__ append_len) {                                                                    \
        attn::kv_append<T>(p, k_new, v_new, k_cache, v_cache, block_table, start_pos, append_len);              \
    }

ATTN_KV_APPEND_ENTRY(f32, float)
ATTN_KV_APPEND_ENTRY(f16, unsigned short)
ATTN_KV_APPEND_ENTRY(bf16, unsigned short)
