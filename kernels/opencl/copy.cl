/*
 * copy.cl: strided copy of any tensor of up to 4 dims, bit for bit (Scope.copy between views that
 * are not both contiguous: a slice of a KV cache, a BSHD view). Build options: COPY_T, the element
 * type of the width (uchar, ushort, uint), and DT_SUFFIX = u8, u16 or u32 for the entry name.
 * One work-item per element, grid-stride.
 */
#ifndef COPY_T
#error "copy.cl needs COPY_T"
#endif

__kernel void ENTRY(attn_copy)(const attn_copy_params p, __global const COPY_T *src, __global COPY_T *dst) {
    const long n = (long)p.d0 * p.d1 * p.d2 * p.d3;
    for (long e = get_global_id(0); e < n; e += get_global_size(0)) {
        long r = e;
        const long i3 = r % p.d3;
        r /= p.d3;
        const long i2 = r % p.d2;
        r /= p.d2;
        const long i1 = r % p.d1;
        const long i0 = r / p.d1;
        dst[p.dst_off + i0 * p.dst_s0 + i1 * p.dst_s1 + i2 * p.dst_s2 + i3 * p.dst_s3] =
            src[p.src_off + i0 * p.src_s0 + i1 * p.src_s1 + i2 * p.src_s2 + i3 * p.src_s3];
    }
}
