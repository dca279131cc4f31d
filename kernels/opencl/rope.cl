/*
 * rope.cl: rotary position embedding, rotate-half form (attn_rope_params in attn_params.h).
 * One work-item per (b, h, s, i < D/2) pair, flat over the NDRange with a stride loop; it reads
 * x[i] and x[i + D/2] and writes the same two places of o, so o may be x.
 */
__kernel void ENTRY(attn_rope)(const attn_rope_params p, __global const st_t *x, __global st_t *o) {
    const int hd = p.head_dim / 2;
    const long total = (long)p.batch * p.heads * p.seq * hd;
    for (long n = get_global_id(0); n < total; n += get_global_size(0)) {
        const int i = (int)(n % hd);
        long r = n / hd;
        const int s = (int)(r % p.seq);
        r /= p.seq;
        const int h = (int)(r % p.heads);
        const int b = (int)(r / p.heads);
        const float f = 1.0f / pow(p.theta, (float)(2 * i) / (float)p.head_dim);
        const float a = (float)(p.offset + s) * f;
        float c;
        const float s0 = sincos(a, &c);
        const float sn = p.inverse ? -s0 : s0;
        const long xb = p.x_off + b * p.x_sb + h * p.x_sh + s * p.x_ss;
        const long ob = p.o_off + b * p.o_sb + h * p.o_sh + s * p.o_ss;
        const float x0 = LOAD_ST(x, xb + i * p.x_sd), x1 = LOAD_ST(x, xb + (i + hd) * p.x_sd);
        STORE_ST(o, ob + i * p.o_sd, x0 * c - x1 * sn);
        STORE_ST(o, ob + (i + hd) * p.o_sd, x1 * c + x0 * sn);
    }
}
