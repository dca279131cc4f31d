/*
 * softmax.cl: masked softmax forward and backward over the last dim.
 *
 * A work-group is ROW_THREADS x ROWS_PER_WG work-items: ROWS_PER_WG rows, each reduced by
 * ROW_THREADS work-items with a hand-written tree in local memory (OpenCL 1.2 has no work-group
 * functions). The host picks the shape (OpenClBackend.softmaxShape):
 *   short rows: a few threads per row and many rows per group;
 *   long rows:  one row per group and as many threads as the device allows.
 * Contiguous rows (unit key stride) are read four elements at a time.
 *
 * Forward, two passes over a row: (1) each thread folds its keys into an online-softmax state
 * (max, sum) and the states are merged in the tree; (2) every key is written, exp(z - max) / sum
 * where live and 0 where masked. Pass 2 reads x[j] and writes y[j] in the same thread, so Y may be X.
 * Keys outside the window/length bounds are never used (the row-per-item form prefetches the next
 * row's lines, whatever they hold).
 * Backward: dX = scale * Y * (dY - sum(dY * Y)), one tree sum; dX may be dY.
 *
 * ROW_PER_ITEM = 1 (CPU devices, chosen by the planner from the tuning table) replaces both shapes
 * by one work-item per row, work-groups of one, each work-item walking its own contiguous block of
 * rows (so that its reads stream through memory and the prefetchers follow): no barriers, no local
 * memory, and explicit VW-wide vectors along the row, which PoCL maps to SIMD
 * registers. A row is read from memory once and then stays in the core's cache for the later
 * passes: forward (1) max, (2) e = exp(z - max) and the sum (f32 stores e into Y), (3) Y = e / sum
 * (f32: scales Y in place; f16/bf16 keep e in a private float row of SM_EBUF elements, so Y is rounded
 * once, and recompute it for longer rows); backward (1) the dot
 * product, (2) dX. With STORE_NT (large outputs, common.cl) Y and dX go out with non-temporal stores
 * and f32 keeps e in the private row too. Rows with a bool mask, bias or ALiBi compute their scores on
 * vectors into the private row (max, then e in place, then Y); rows with a non-unit key stride (or past
 * the private row) take scalar loops with the same arithmetic as the work-group shapes.
 */

#if !defined(ROW_THREADS) || !defined(ROWS_PER_WG)
#error "softmax.cl needs ROW_THREADS and ROWS_PER_WG"
#endif
#ifndef ROW_PER_ITEM
#define ROW_PER_ITEM 0
#endif
#if (ROW_THREADS & (ROW_THREADS - 1)) != 0
#error "ROW_THREADS must be a power of two"
#endif

#if ROW_PER_ITEM
#if ROW_THREADS != 1 || ROWS_PER_WG != 1
#error "ROW_PER_ITEM needs ROW_THREADS = ROWS_PER_WG = 1"
#endif
#ifndef VW
#error "ROW_PER_ITEM needs VW"
#endif
#define SM_PLAIN (!HAS_BOOL_MASK && !HAS_BIAS && !HAS_ALIBI)
#endif

/* Tree sum over the ROW_THREADS threads of row rl; every thread gets the result. */
inline float row_tree_sum(__local float *red, int rl, int tid, float x) {
    __local float *r = red + rl * ROW_THREADS;
    r[tid] = x;
    for (int s = ROW_THREADS / 2; s > 0; s >>= 1) {
        barrier(CLK_LOCAL_MEM_FENCE);
        if (tid < s) {
            r[tid] += r[tid + s];
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    return r[0];
}

/* The live test and the score of key j of row (b, h, i): -inf when masked. */
inline float softmax_score(const attn_softmax_params p, __global const uchar *mask, __global const float *bias,
                           float slope, int b, int h, int i, int j, float xv) {
    if (!mask_bool(p.m, mask, b, h, i, j)) {
        return -INFINITY;
    }
    return p.scale * xv + mask_score_bias(p.m, bias, slope, b, h, i, j);
}

#if !ROW_PER_ITEM
__kernel __attribute__((reqd_work_group_size(ROW_THREADS, ROWS_PER_WG, 1)))
void ENTRY(attn_masked_softmax)(const attn_softmax_params p, __global const st_t *x, __global st_t *y,
                                __global const uchar *mask, __global const float *bias,
                                __global const float *alibi, __global const int *kv_len,
                                __global const int *q_len) {
    __local float red_m[ROWS_PER_WG * ROW_THREADS];
    __local float red_l[ROWS_PER_WG * ROW_THREADS];
    const int tid = get_local_id(0), rl = get_local_id(1);
    const long rows = (long)p.batch * p.heads * p.seq_q;
    const long row = (long)get_group_id(1) * ROWS_PER_WG + rl;
    const bool valid = row < rows;
    const long rr = valid ? row : 0;
    const int i = (int)(rr % p.seq_q);
    const int h = (int)((rr / p.seq_q) % p.heads);
    const int b = (int)(rr / p.seq_q / p.heads);
    const attn_mask_params m = p.m;
    const int kvl = mask_kv_len(kv_len, b, p.seq_k);
    const bool live_row = valid && i < mask_q_len(q_len, b, p.seq_q);
    const float slope = mask_alibi_slope(m, alibi, b, h);
    int lo, hi;
    mask_key_range(m, i, p.seq_k, kvl, &lo, &hi);
    lo = max(lo, 0);
    if (!live_row) {
        hi = lo; /* no live key: the row becomes zeros */
    }
    const long xb = p.x_off + b * p.x_sb + h * p.x_sh + i * p.x_sq;
    const long yb = p.y_off + b * p.y_sb + h * p.y_sh + i * p.y_sq;
    const bool contig = p.x_sk == 1;

    /* Pass 1: per-thread online state over the keys in [lo, hi). */
    float mm = -INFINITY, ll = 0.0f;
    if (contig) {
        /* blocks of four keys round-robin over the threads, then the (< 4) ragged keys */
        const int nblk = max(hi - lo, 0) / 4;
        for (int kb = tid; kb < nblk; kb += ROW_THREADS) {
            const int j = lo + 4 * kb;
            const float4 xv = LOAD4_ST(x, xb + j);
            osm_add(&mm, &ll, softmax_score(p, mask, bias, slope, b, h, i, j, xv.x));
            osm_add(&mm, &ll, softmax_score(p, mask, bias, slope, b, h, i, j + 1, xv.y));
            osm_add(&mm, &ll, softmax_score(p, mask, bias, slope, b, h, i, j + 2, xv.z));
            osm_add(&mm, &ll, softmax_score(p, mask, bias, slope, b, h, i, j + 3, xv.w));
        }
        for (int j = lo + 4 * nblk + tid; j < hi; j += ROW_THREADS) {
            osm_add(&mm, &ll, softmax_score(p, mask, bias, slope, b, h, i, j, LOAD_ST(x, xb + j)));
        }
    } else {
        for (int j = lo + tid; j < hi; j += ROW_THREADS) {
            osm_add(&mm, &ll, softmax_score(p, mask, bias, slope, b, h, i, j, LOAD_ST(x, xb + j * p.x_sk)));
        }
    }

    /* Tree merge of the (max, sum) states. */
    __local float *rm = red_m + rl * ROW_THREADS;
    __local float *rs = red_l + rl * ROW_THREADS;
    rm[tid] = mm;
    rs[tid] = ll;
    for (int s = ROW_THREADS / 2; s > 0; s >>= 1) {
        barrier(CLK_LOCAL_MEM_FENCE);
        if (tid < s) {
            float a = rm[tid], c = rs[tid];
            osm_merge(&a, &c, rm[tid + s], rs[tid + s]);
            rm[tid] = a;
            rs[tid] = c;
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const float ref = osm_ref(rm[0]);
    const float inv = osm_inv_sum(rs[0]);

    /* Pass 2: write every key of the row. */
    if (valid) {
        for (int j = tid; j < p.seq_k; j += ROW_THREADS) {
            float out = 0.0f;
            if (inv != 0.0f && j >= lo && j < hi) {
                const float z = softmax_score(p, mask, bias, slope, b, h, i, j, LOAD_ST(x, xb + j * p.x_sk));
                out = z == -INFINITY ? 0.0f : exp(z - ref) * inv;
            }
            STORE_ST(y, yb + j * p.y_sk, out);
        }
    }
}

__kernel __attribute__((reqd_work_group_size(ROW_THREADS, ROWS_PER_WG, 1)))
void ENTRY(attn_masked_softmax_bwd)(const attn_softmax_bwd_params p, __global const st_t *y,
                                    __global const st_t *dy, __global st_t *dx) {
    __local float red[ROWS_PER_WG * ROW_THREADS];
    const int tid = get_local_id(0), rl = get_local_id(1);
    const long rows = (long)p.batch * p.heads * p.seq_q;
    const long row = (long)get_group_id(1) * ROWS_PER_WG + rl;
    const bool valid = row < rows;
    const long rr = valid ? row : 0;
    const int i = (int)(rr % p.seq_q);
    const int h = (int)((rr / p.seq_q) % p.heads);
    const int b = (int)(rr / p.seq_q / p.heads);
    const long yb = p.y_off + b * p.y_sb + h * p.y_sh + i * p.y_sq;
    const long db = p.dy_off + b * p.dy_sb + h * p.dy_sh + i * p.dy_sq;
    const long xb = p.dx_off + b * p.dx_sb + h * p.dx_sh + i * p.dx_sq;
    const int n = valid ? p.seq_k : 0;

    float dot = 0.0f;
    if (p.y_sk == 1 && p.dy_sk == 1) {
        const int nblk = n / 4;
        float4 acc = (float4)(0.0f);
        for (int kb = tid; kb < nblk; kb += ROW_THREADS) {
            acc = fma(LOAD4_ST(y, yb + 4 * kb), LOAD4_ST(dy, db + 4 * kb), acc);
        }
        dot = (acc.x + acc.y) + (acc.z + acc.w);
        for (int j = 4 * nblk + tid; j < n; j += ROW_THREADS) {
            dot += LOAD_ST(y, yb + j) * LOAD_ST(dy, db + j);
        }
    } else {
        for (int j = tid; j < n; j += ROW_THREADS) {
            dot += LOAD_ST(y, yb + j * p.y_sk) * LOAD_ST(dy, db + j * p.dy_sk);
        }
    }
    dot = row_tree_sum(red, rl, tid, dot);

    for (int j = tid; j < n; j += ROW_THREADS) {
        const float yv = LOAD_ST(y, yb + j * p.y_sk);
        const float g = LOAD_ST(dy, db + j * p.dy_sk);
        STORE_ST(dx, xb + j * p.dx_sk, p.scale * yv * (g - dot));
    }
}

#else /* ROW_PER_ITEM */

/* The longest live span of a row whose e = exp(z - max) is kept, in float, for the last pass (a private
 * row in the work-item's stack; the planner's SOFTMAX_KEEP_KEYS on CPU devices, 0 = never). f16/bf16:
 * longer rows recompute e there (a second exp pass, which made the f16 forward compute-bound at a
 * quarter of the copy ceiling). f32 stores e into Y instead, unless Y's stores are non-temporal (then
 * longer rows store e into Y and scale it in place). */
#ifndef SM_EBUF
#define SM_EBUF 0
#endif
#define SM_EBUF_LEN (SM_EBUF > 0 ? SM_EBUF : 1)
/* the unmasked rows' use of it: f32 without non-temporal stores parks e in Y instead */
#if defined(DT_F32) && !STORE_NT
#define SM_PLAIN_EBUF 0
#else
#define SM_PLAIN_EBUF SM_EBUF
#endif

/* the degree-4 exp2 of common.cl where Y is stored in 16 bits */
#if defined(DT_F32)
#define SM_EXP2_LOW false
#else
#define SM_EXP2_LOW true
#endif

/* Y of a row whose e = exp(z - max) for the keys [lo, hi) is kept in eb: zeros, e / sum, zeros; with STORE_NT whole
 * vectors at 64-byte boundaries go out non-temporally (common.cl). */
inline void softmax_store_kept(__global st_t *y, long yb, int lo, int hi, int n, const float *eb, float inv) {
    int j;
    for (j = 0; j < lo; j++) {
        STORE_ST(y, yb + j, 0.0f);
    }
    j = lo;
#if STORE_NT
    for (const int head = lo + nt_head(y + yb + lo, hi - lo); j < head; j++) {
        STORE_ST(y, yb + j, eb[j - lo] * inv);
    }
    for (; j + VW <= hi; j += VW) {
        storew_nt(y + yb + j, VLOAD_W(0, eb + (j - lo)) * inv);
    }
#else
    for (; j + VW <= hi; j += VW) {
        STOREN_ST(VW, y, yb + j, VLOAD_W(0, eb + (j - lo)) * inv);
    }
#endif
    for (; j < hi; j++) {
        STORE_ST(y, yb + j, eb[j - lo] * inv);
    }
    for (j = hi; j < n; j++) {
        STORE_ST(y, yb + j, 0.0f);
    }
}

/* One row of the forward pass (see the file comment). */
inline void softmax_row(const attn_softmax_params *pp, __global const st_t *x, __global st_t *y,
                        __global const uchar *mask, __global const float *bias, __global const float *alibi,
                        __global const int *kv_len, __global const int *q_len, int b, int h, int i, long nxb,
                        float *eb) {
#pragma OPENCL FP_CONTRACT OFF /* z - ref in the general loops must subtract the rounded z of the max pass, not an fma's exact one */
    const attn_mask_params m = pp->m;
    const int n = pp->seq_k;
    int lo, hi;
    mask_key_range(m, i, n, mask_kv_len(kv_len, b, n), &lo, &hi);
    lo = max(lo, 0);
    if (i >= mask_q_len(q_len, b, pp->seq_q)) {
        hi = lo;
    }
    hi = max(hi, lo);
    const float slope = mask_alibi_slope(m, alibi, b, h);
    const long xb = pp->x_off + b * pp->x_sb + h * pp->x_sh + i * pp->x_sq;
    const long yb = pp->y_off + b * pp->y_sb + h * pp->y_sh + i * pp->y_sq;
    const float sc = pp->scale;
    float mx = -INFINITY, sum = 0.0f;
#if SM_PLAIN
    if (pp->x_sk == 1 && pp->y_sk == 1) {
        /* The exp pass below prefetches the next row's chunk j (__builtin_prefetch), so that the next row's
         * max pass does not wait on memory (it held a third of the kernel's time). A plain load of one element
         * per chunk ("touch ahead", before) blocked retirement while it missed: 1.1-1.4x faster as prefetches
         * (bench/results/softmax-prefetch-pocl). */
        int j;
        /* The max pass finds the x of the largest score z = sc x: the largest x for sc >= 0, the smallest
         * for sc < 0 (rounding is monotonic, so mx = sc xm is the largest rounded z). A select, not fmax:
         * a NaN x is skipped here as by fmax (it makes its row NaN in the exp pass), and fmax on converted
         * halves was scalarised by PoCL's compiler. Two loops, not one helper with a constant flag: that form
         * measured up to 2x slower on PoCL (f16), inlined or not. */
        float xm;
        if (sc >= 0.0f) {
            fv vm = (fv)(-INFINITY);
            for (j = lo; j + VW <= hi; j += VW) {
                const fv xv = LOADN_ST(VW, x, xb + j);
                vm = select(vm, xv, xv > vm);
            }
            xm = HMAX_W(vm);
            for (; j < hi; j++) {
                xm = fmax(xm, LOAD_ST(x, xb + j));
            }
        } else {
            fv vm = (fv)(INFINITY);
            for (j = lo; j + VW <= hi; j += VW) {
                const fv xv = LOADN_ST(VW, x, xb + j);
                vm = select(vm, xv, xv < vm);
            }
            xm = -HMAX_W(-vm);
            for (; j < hi; j++) {
                xm = fmin(xm, LOAD_ST(x, xb + j));
            }
        }
        mx = sc * xm;
        /* e = exp(z - mx) as exp2((x - xm) sc log2 e) with exp2_ftz_neg (common.cl; PoCL's vector exp2 spent a
         * third of its instructions on denormal results, its exp more): x - xm is <= 0 (>= 0 where sc < 0)
         * and 0 at the max, so the argument is <= 0 and exactly 0 there, whatever the logits' size (the single fma
         * x (sc log2 e) - mx log2 e, used before, left the max's term off by the rounding of mx log2 e,
         * 2^2048 at logits of 3e10: NaN rows, caught by OpenClKernelTest.softmaxExtremeScores). With no live
         * score (mx = -inf) xm is taken as 0, so that every term is exp2(-inf) = 0. 16-bit outputs take
         * the degree-4 exp2 (common.cl). */
        const float xr = mx == -INFINITY ? 0.0f : xm, c = sc * ATTN_LOG2E;
        const fv vxr = (fv)(xr), vc = (fv)(c);
        fv vs = (fv)(0.0f);
        /* e is kept in eb for the last pass where the row fits (SM_PLAIN_EBUF is 0 for f32 without STORE_NT); f32
         * parks it in Y otherwise, f16/bf16 recompute it */
        const bool keep = SM_PLAIN_EBUF > 0 && hi - lo <= SM_PLAIN_EBUF;
        for (j = lo; j + VW <= hi; j += VW) {
            const fv e = exp2_ftz_neg((LOADN_ST(VW, x, xb + j) - vxr) * vc, SM_EXP2_LOW);
            __builtin_prefetch((const __global void *)(x + nxb + j), 0, 3);
            vs += e;
            if (keep) {
                VSTORE_W(e, 0, eb + (j - lo));
            }
#if defined(DT_F32)
            else {
                VSTORE_W(e, 0, y + yb + j);
            }
#endif
        }
        sum = HSUM_W(vs);
        for (; j < hi; j++) {
            const float e = exp2((LOAD_ST(x, xb + j) - xr) * c);
            sum += e;
            if (keep) {
                eb[j - lo] = e;
            }
#if defined(DT_F32)
            else {
                y[yb + j] = e;
            }
#endif
        }
        const float inv = osm_inv_sum(sum);
        if (keep) {
            softmax_store_kept(y, yb, lo, hi, n, eb, inv);
            return;
        }
        for (j = 0; j < lo; j++) {
            STORE_ST(y, yb + j, 0.0f);
        }
        /* rows past the private row: f32 scales the e parked in Y, f16/bf16 recompute e */
#if defined(DT_F32)
        for (j = lo; j + VW <= hi; j += VW) {
            VSTORE_W(VLOAD_W(0, y + yb + j) * inv, 0, y + yb + j);
        }
        for (; j < hi; j++) {
            y[yb + j] *= inv;
        }
#else
        for (j = lo; j + VW <= hi; j += VW) {
            STOREN_ST(VW, y, yb + j, exp2_ftz_neg((LOADN_ST(VW, x, xb + j) - vxr) * vc, SM_EXP2_LOW) * inv);
        }
        for (; j < hi; j++) {
            STORE_ST(y, yb + j, exp2((LOAD_ST(x, xb + j) - xr) * c) * inv);
        }
#endif
        for (j = hi; j < n; j++) {
            STORE_ST(y, yb + j, 0.0f);
        }
        return;
    }
#else
    /* Rows with a bool mask, a bias or ALiBi, unit key strides and a span that fits the private row: the scores
     * z = sc x + bias - slope |i + align_off - j| (masked: -inf) VW keys at a time into eb with their max, then
     * e = exp(z - max) in place with the sum, then Y. The arithmetic of softmax_score, on vectors (the scalar
     * loops below were 20-30x slower on PoCL). */
    const long ai = (long)i + m.align_off;
    if (pp->x_sk == 1 && pp->y_sk == 1 && hi - lo <= SM_EBUF && (!HAS_BOOL_MASK || m.mask_sk == 1) &&
        (!HAS_BIAS || m.bias_sk == 1) && (!HAS_ALIBI || (ai - lo < INT_MAX && ai - hi > -INT_MAX))) {
        const long mb = m.mask_off + b * m.mask_sb + h * m.mask_sh + i * m.mask_sq;
        const long bb = m.bias_off + b * m.bias_sb + h * m.bias_sh + i * m.bias_sq;
        int j;
        fv vm = (fv)(-INFINITY);
        for (j = lo; j + VW <= hi; j += VW) {
            fv z = (fv)(sc) * LOADN_ST(VW, x, xb + j);
#if HAS_BIAS || HAS_ALIBI
            fv t = (fv)(0.0f);
#if HAS_BIAS
            t += VLOAD_W(0, bias + bb + j);
#endif
#if HAS_ALIBI
            t -= (fv)(slope) * ATTN_PASTE(convert_float, VW)(abs((ATTN_PASTE(int, VW))((int)(ai - j)) - attn_lane_ids()));
#endif
            z = z + t;
#endif
#if HAS_BOOL_MASK
            const ATTN_PASTE(uchar, VW) mv = ATTN_PASTE(vload, VW)(0, mask + mb + j);
            z = select((fv)(-INFINITY), z, ATTN_PASTE(convert_int, VW)(mv != (ATTN_PASTE(uchar, VW))(0)));
#endif
            VSTORE_W(z, 0, eb + (j - lo));
            vm = fmax(vm, z);
        }
        mx = HMAX_W(vm);
        for (; j < hi; j++) {
            const float z = softmax_score(*pp, mask, bias, slope, b, h, i, j, LOAD_ST(x, xb + j));
            eb[j - lo] = z;
            mx = fmax(mx, z);
        }
        const float ref = osm_ref(mx);
        fv vs = (fv)(0.0f);
        for (j = lo; j + VW <= hi; j += VW) {
            const fv e = exp2_ftz_neg((VLOAD_W(0, eb + (j - lo)) - (fv)(ref)) * (fv)(ATTN_LOG2E), SM_EXP2_LOW);
            vs += e;
            VSTORE_W(e, 0, eb + (j - lo));
        }
        sum = HSUM_W(vs);
        for (; j < hi; j++) {
            const float e = exp(eb[j - lo] - ref);
            sum += e;
            eb[j - lo] = e;
        }
        softmax_store_kept(y, yb, lo, hi, n, eb, osm_inv_sum(sum));
        return;
    }
#endif
    for (int j = lo; j < hi; j++) {
        mx = fmax(mx, softmax_score(*pp, mask, bias, slope, b, h, i, j, LOAD_ST(x, xb + j * pp->x_sk)));
    }
    const float ref = osm_ref(mx);
    for (int j = lo; j < hi; j++) {
        const float z = softmax_score(*pp, mask, bias, slope, b, h, i, j, LOAD_ST(x, xb + j * pp->x_sk));
        sum += z == -INFINITY ? 0.0f : exp(z - ref);
    }
    const float inv = osm_inv_sum(sum);
    for (int j = 0; j < n; j++) {
        float out = 0.0f;
        if (inv != 0.0f && j >= lo && j < hi) {
            const float z = softmax_score(*pp, mask, bias, slope, b, h, i, j, LOAD_ST(x, xb + j * pp->x_sk));
            out = z == -INFINITY ? 0.0f : exp(z - ref) * inv;
        }
        STORE_ST(y, yb + j * pp->y_sk, out);
    }
}

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void ENTRY(attn_masked_softmax)(const attn_softmax_params p, __global const st_t *x, __global st_t *y,
                                __global const uchar *mask, __global const float *bias,
                                __global const float *alibi, __global const int *kv_len,
                                __global const int *q_len) {
    const long rows = (long)p.batch * p.heads * p.seq_q;
    const long per = (rows + get_global_size(0) - 1) / get_global_size(0);
    const long end = min(rows, (long)(get_global_id(0) + 1) * per);
    /* (b, h, i) of the item's first row, then advanced row by row (no divisions per row); the next row's
     * X offset is the prefetch target (the last row prefetches itself) */
    const long first = get_global_id(0) * per;
    int i = (int)(first % p.seq_q), h = (int)((first / p.seq_q) % p.heads), b = (int)(first / p.seq_q / p.heads);
    float eb[SM_EBUF_LEN];
    for (long row = first; row < end; row++) {
        int ni = i + 1, nh = h, nb = b;
        if (ni == p.seq_q) {
            ni = 0;
            if (++nh == p.heads) {
                nh = 0;
                nb++;
            }
        }
        const bool last = row + 1 >= end;
        const long nxb = last ? p.x_off + b * p.x_sb + h * p.x_sh + i * p.x_sq
                              : p.x_off + nb * p.x_sb + nh * p.x_sh + ni * p.x_sq;
        softmax_row(&p, x, y, mask, bias, alibi, kv_len, q_len, b, h, i, nxb, eb);
        i = ni;
        h = nh;
        b = nb;
    }
#if STORE_NT
    nt_fence();
#endif
}

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void ENTRY(attn_masked_softmax_bwd)(const attn_softmax_bwd_params p, __global const st_t *y,
                                    __global const st_t *dy, __global st_t *dx) {
    const long rows = (long)p.batch * p.heads * p.seq_q;
    const int n = p.seq_k;
    const long per = (rows + get_global_size(0) - 1) / get_global_size(0);
    const long end = min(rows, (long)(get_global_id(0) + 1) * per);
    for (long row = get_global_id(0) * per; row < end; row++) {
        const int i = (int)(row % p.seq_q);
        const int h = (int)((row / p.seq_q) % p.heads);
        const int b = (int)(row / p.seq_q / p.heads);
        const long yb = p.y_off + b * p.y_sb + h * p.y_sh + i * p.y_sq;
        const long db = p.dy_off + b * p.dy_sb + h * p.dy_sh + i * p.dy_sq;
        const long xb = p.dx_off + b * p.dx_sb + h * p.dx_sh + i * p.dx_sq;
        if (p.y_sk == 1 && p.dy_sk == 1 && p.dx_sk == 1) {
            int j;
            fv acc = (fv)(0.0f);
            for (j = 0; j + VW <= n; j += VW) {
                acc = fma(LOADN_ST(VW, y, yb + j), LOADN_ST(VW, dy, db + j), acc);
            }
            float dot = HSUM_W(acc);
            for (; j < n; j++) {
                dot += LOAD_ST(y, yb + j) * LOAD_ST(dy, db + j);
            }
#if STORE_NT
            j = 0;
            for (const int head = nt_head(dx + xb, n); j < head; j++) {
                STORE_ST(dx, xb + j, p.scale * LOAD_ST(y, yb + j) * (LOAD_ST(dy, db + j) - dot));
            }
            for (; j + VW <= n; j += VW) {
                storew_nt(dx + xb + j, p.scale * LOADN_ST(VW, y, yb + j) * (LOADN_ST(VW, dy, db + j) - dot));
            }
#else
            for (j = 0; j + VW <= n; j += VW) {
                STOREN_ST(VW, dx, xb + j, p.scale * LOADN_ST(VW, y, yb + j) * (LOADN_ST(VW, dy, db + j) - dot));
            }
#endif
            for (; j < n; j++) {
                STORE_ST(dx, xb + j, p.scale * LOAD_ST(y, yb + j) * (LOAD_ST(dy, db + j) - dot));
            }
            continue;
        }
        float dot = 0.0f;
        for (int j = 0; j < n; j++) {
            dot += LOAD_ST(y, yb + j * p.y_sk) * LOAD_ST(dy, db + j * p.dy_sk);
        }
        for (int j = 0; j < n; j++) {
            const float yv = LOAD_ST(y, yb + j * p.y_sk);
            STORE_ST(dx, xb + j * p.dx_sk, p.scale * yv * (LOAD_ST(dy, db + j * p.dy_sk) - dot));
        }
    }
#if STORE_NT
    nt_fence();
#endif
}

#endif /* ROW_PER_ITEM */
