/*
 * kv_append.cl: writes new K/V rows into paged caches through a block table (attn_params.h,
 * attn_kv_append_params, gives the semantics). A bit-for-bit copy: the build option KV_T is the
 * element type of the storage width (uint for f32, ushort for f16/bf16), so no half arithmetic is
 * needed. One work-item per element of the new rows, K and V in one grid-stride loop over
 * B * Snew * Hkv * (D + Dv), the head dim fastest so that a row's elements are contiguous.
 */
#ifndef KV_T
#error "kv_append.cl needs KV_T"
#endif

__kernel void ENTRY(attn_kv_append)(const attn_kv_append_params p, __global const KV_T *k_new,
                                    __global const KV_T *v_new, __global KV_T *k_cache, __global KV_T *v_cache,
                                    __global const int *block_table, __global const int *start_pos,
                                    __global const int *append_len) {
    const long w = (long)p.head_dim + p.head_dim_v;
    const long total = (long)p.batch * p.seq_new * p.heads_kv * w;
    for (long e = get_global_id(0); e < total; e += get_global_size(0)) {
        const long x = e % w;
        long r = e / w;
        const int h = (int)(r % p.heads_kv);
        r /= p.heads_kv;
        const int t = (int)(r % p.seq_new);
        const int b = (int)(r / p.seq_new);
        if (t >= append_len[b]) {
            continue;
        }
        const long pos = (long)start_pos[b] + t;
        const long j = pos / p.page_size;
        if (j >= p.max_pages) {
            continue;
        }
        const int page = block_table[p.bt_off + b * p.bt_sb + j * p.bt_sp];
        if (page < 0 || page >= p.num_pages) {
            continue;
        }
        const long slot = pos % p.page_size;
        if (x < p.head_dim) {
            k_cache[p.kc_off + page * p.kc_sp + slot * p.kc_ss + h * p.kc_sh + x * p.kc_sd] =
                k_new[p.kn_off + b * p.kn_sb + h * p.kn_sh + t * p.kn_ss + x * p.kn_sd];
        } else {
            const long d = x - p.head_dim;
            v_cache[p.vc_off + page * p.vc_sp + slot * p.vc_ss + h * p.vc_sh + d * p.vc_sd] =
                v_new[p.vn_off + b * p.vn_sb + h * p.vn_sh + t * p.vn_ss + d * p.vn_sd];
        }
    }
}
