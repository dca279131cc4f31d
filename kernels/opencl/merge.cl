/*
 * merge.cl: merge of attention states (attn_params.h, attn_merge_params, gives the semantics).
 * One work-item per element of O, grid-stride over B*H*S*Dv; each work-item reads the row's
 * n_parts LSEs (cached: they are shared by the Dv work-items of the row) and the n_parts O_i
 * elements once. Memory-bound: every byte of the parts is read once, O written once. The part
 * loops run over ATTN_MERGE_MAX_PARTS with a bound check, so they unroll to constant indices.
 */

/* The row offset of part `t` (or the output) for (b, h, s): O element d is at  o_off + row + d*o_sd. */
inline long merge_o_row(const attn_merge_part t, int b, int h, int s) {
    return t.o_off + (long)b * t.o_sb + (long)h * t.o_sh + (long)s * t.o_ss;
}

inline long merge_lse_at(const attn_merge_part t, int b, int h, int s) {
    return t.lse_off + (long)b * t.lse_sb + (long)h * t.lse_sh + (long)s * t.lse_ss;
}

__kernel void ENTRY(attn_merge_states)(const attn_merge_params p,
        __global const st_t *o0, __global const st_t *o1, __global const st_t *o2, __global const st_t *o3,
        __global const st_t *o4, __global const st_t *o5, __global const st_t *o6, __global const st_t *o7,
        __global const float *lse0, __global const float *lse1, __global const float *lse2,
        __global const float *lse3, __global const float *lse4, __global const float *lse5,
        __global const float *lse6, __global const float *lse7,
        __global st_t *o, __global float *lse) {
    __global const st_t *src[ATTN_MERGE_MAX_PARTS] = {o0, o1, o2, o3, o4, o5, o6, o7};
    __global const float *lsrc[ATTN_MERGE_MAX_PARTS] = {lse0, lse1, lse2, lse3, lse4, lse5, lse6, lse7};
    const attn_merge_part part[ATTN_MERGE_MAX_PARTS] = {p.p0, p.p1, p.p2, p.p3, p.p4, p.p5, p.p6, p.p7};
    const int n = p.n_parts;
    const long dv = p.head_dim_v;
    const long total = (long)p.batch * p.heads * p.seq * dv;
    for (long e = get_global_id(0); e < total; e += get_global_size(0)) {
        const long d = e % dv;
        long r = e / dv;
        const int s = (int)(r % p.seq);
        r /= p.seq;
        const int h = (int)(r % p.heads);
        const int b = (int)(r / p.heads);
        float l[ATTN_MERGE_MAX_PARTS];
        float m = -INFINITY;
        bool nan = false;
#pragma unroll
        for (int i = 0; i < ATTN_MERGE_MAX_PARTS; i++) {
            l[i] = -INFINITY;
            if (i < n) {
                l[i] = lsrc[i][merge_lse_at(part[i], b, h, s)];
                nan |= isnan(l[i]);
                m = fmax(m, l[i]);
            }
        }
        float res, lres;
        if (nan || m == INFINITY) {
            res = NAN;
            lres = NAN;
        } else if (m == -INFINITY) {
            res = 0.0f;
            lres = -INFINITY;
        } else {
            float sum = 0.0f, acc = 0.0f;
#pragma unroll
            for (int i = 0; i < ATTN_MERGE_MAX_PARTS; i++) {
                if (i < n && l[i] != -INFINITY) {
                    const float w = exp(l[i] - m);
                    sum += w;
                    acc += w * LOAD_ST(src[i], merge_o_row(part[i], b, h, s) + d * part[i].o_sd);
                }
            }
            res = acc / sum;
            lres = m + log(sum);
        }
        STORE_ST(o, merge_o_row(p.out, b, h, s) + d * p.out.o_sd, res);
        if ((p.flags & ATTN_F_LSE) && d == 0) {
            lse[merge_lse_at(p.out, b, h, s)] = lres;
        }
    }
}
