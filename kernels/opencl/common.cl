/*
 * common.cl: helpers shared by every attn4j OpenCL program (OpenCL C 1.2).
 *
 * The host builds each program from   attn_params.h + common.cl + <op>.cl   and selects
 * the storage type and features with -D options (see opencl/OpenClPlans.java; ProgramCache.java builds):
 *   DT_F32 | DT_F16 | DT_BF16    storage dtype of the data tensors; all arithmetic is fp32
 *   DT_SUFFIX                    f32, f16 or bf16: the suffix of the entry names
 *   HAS_BOOL_MASK, HAS_BIAS, HAS_ALIBI, HAS_WINDOW, HAS_KV_LEN, HAS_Q_LEN
 *                                compile the mask parts in (0/1); the runtime flags must agree
 *
 * Contents: storage load/store (fp16 through vload_half/vstore_half, so no cl_khr_fp16 is
 * needed; bf16 through bit shifts with round-to-nearest-even), the mask test and score bias that
 * all three ops share, the online-softmax state (running max m, running sum l), and the VW-wide
 * vector helpers (horizontal sum/max, exp2_ftz: 2^x without the library's denormal handling).
 */

#define ATTN_CAT_(a, b) a##_##b
#define ATTN_CAT(a, b) ATTN_CAT_(a, b)
/* The entry name for this program's storage dtype: ENTRY(attn_sdpa_fwd) -> attn_sdpa_fwd_f16. */
#define ENTRY(stem) ATTN_CAT(stem, DT_SUFFIX)

#ifndef HAS_BOOL_MASK
#define HAS_BOOL_MASK 0
#endif
#ifndef HAS_BIAS
#define HAS_BIAS 0
#endif
#ifndef HAS_ALIBI
#define HAS_ALIBI 0
#endif
#ifndef HAS_WINDOW
#define HAS_WINDOW 0
#endif
#ifndef HAS_KV_LEN
#define HAS_KV_LEN 0
#endif
#ifndef HAS_Q_LEN
#define HAS_Q_LEN 0
#endif

/* ---- storage types ---------------------------------------------------------------------- */

/* bf16 bits -> float (exact) and float -> bf16 bits (round to nearest even, NaN stays NaN). */
inline float bf16_to_f32(ushort h) {
    return as_float(((uint)h) << 16);
}

inline ushort f32_to_bf16(float f) {
    uint u = as_uint(f);
    if (isnan(f)) {
        return (ushort)((u >> 16) | 0x40u);
    }
    return (ushort)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

#if defined(DT_F32)
typedef float st_t;
#define LOAD_ST(ptr, idx) ((ptr)[idx])
#define STORE_ST(ptr, idx, v) ((ptr)[idx] = (v))
#elif defined(DT_F16)
typedef half st_t;
#define LOAD_ST(ptr, idx) vload_half((size_t)(idx), (ptr))
#define STORE_ST(ptr, idx, v) vstore_half_rte((v), (size_t)(idx), (ptr))
#elif defined(DT_BF16)
typedef ushort st_t;
#define LOAD_ST(ptr, idx) bf16_to_f32((ptr)[idx])
#define STORE_ST(ptr, idx, v) ((ptr)[idx] = f32_to_bf16(v))
#else
#error "define one of DT_F32, DT_F16, DT_BF16"
#endif

/* ---- the mask (attn_params.h gives the semantics) ---------------------------------------- */

/* The key range [*lo, *hi) that the window and length bounds allow for query row i. The bool
 * mask is tested separately (mask_bool). The bounds are computed in 64 bits: a window side may be
 * anything up to INT_MAX, and i + align_off + win_right + 1 (or i + align_off - win_left with a
 * negative align_off) leaves the int range. The results are clamped to [0, min(seq_k, kv_len)],
 * so *lo >= *hi means no key. */
inline void mask_key_range(const attn_mask_params m, int i, int seq_k, int kv_len, int *lo, int *hi) {
    const long end = (long)min(seq_k, kv_len);
    long a = 0, b = end;
#if HAS_WINDOW
    const long c = (long)i + (long)m.align_off;
    if (m.win_left >= 0) {
        a = max(a, c - (long)m.win_left);
    }
    if (m.win_right >= 0) {
        b = min(b, c + (long)m.win_right + 1);
    }
#endif
    *lo = (int)min(a, end);
    *hi = (int)max(b, 0L);
}

/* The boolean-mask part of the test: true when (b, h, i, j) may attend. */
inline bool mask_bool(const attn_mask_params m, __global const uchar *mask, int b, int h, int i, int j) {
#if HAS_BOOL_MASK
    return mask[m.mask_off + b * m.mask_sb + h * m.mask_sh + i * m.mask_sq + j * m.mask_sk] != 0;
#else
    return true;
#endif
}

/* The additive score terms: bias[b,h,i,j] - slope[b,h] * |i + align_off - j| (natural log units). */
inline float mask_score_bias(const attn_mask_params m, __global const float *bias, float slope, int b, int h,
                             int i, int j) {
    float s = 0.0f;
#if HAS_BIAS
    s += bias[m.bias_off + b * m.bias_sb + h * m.bias_sh + i * m.bias_sq + j * m.bias_sk];
#endif
#if HAS_ALIBI
    s -= slope * (float)abs((long)i + (long)m.align_off - (long)j);
#endif
    return s;
}

/* The ALiBi slope of (b, h), 0 without ALiBi. */
inline float mask_alibi_slope(const attn_mask_params m, __global const float *alibi, int b, int h) {
#if HAS_ALIBI
    return alibi[m.alibi_off + b * m.alibi_sb + h * m.alibi_sh];
#else
    return 0.0f;
#endif
}

/* Per-batch key length and live query count. */
inline int mask_kv_len(__global const int *kv_len, int b, int seq_k) {
#if HAS_KV_LEN
    return min(kv_len[b], seq_k);
#else
    return seq_k;
#endif
}

inline int mask_q_len(__global const int *q_len, int b, int seq_q) {
#if HAS_Q_LEN
    return min(q_len[b], seq_q);
#else
    return seq_q;
#endif
}

/* log2(e) and ln(2): SDPA keeps scores in log2 units (exp2), the softmax kernels convert to them */
#define ATTN_LOG2E 1.4426950408889634f
#define ATTN_LN2 0.6931471805599453f

/* ---- online softmax --------------------------------------------------------------------------
 * The state of one row is (m, l): the running max and the running sum of exp(s - m) over the
 * keys seen so far. Masked keys carry s = -inf. A row with no live key keeps m = -inf, l = 0.
 * The reference point for exp is osm_ref(m), which is 0 instead of -inf, so that
 * exp(-inf - -inf) never happens; a NaN score makes l NaN, and so the row NaN. The same helpers
 * serve natural-log (softmax, additive) and log2 (SDPA) scores: pass the matching exp function's
 * name through the callers. */

inline float osm_ref(float m) {
    return m == -INFINITY ? 0.0f : m;
}

/* Moves the running max to include tile_max. Returns alpha, the factor by which l and every
 * accumulator must be multiplied; l is rescaled here. exp is natural (use_exp2 = false) or base 2. */
inline float osm_advance(float *m, float *l, float tile_max, bool use_exp2) {
    float m_new = fmax(*m, tile_max);
    float alpha = use_exp2 ? exp2(osm_ref(*m) - osm_ref(m_new)) : exp(osm_ref(*m) - osm_ref(m_new));
    alpha = (*m == -INFINITY) ? 0.0f : alpha;
    *m = m_new;
    *l *= alpha;
    return alpha;
}

/* Merges the state (m2, l2) into (m, l). */
inline void osm_merge(float *m, float *l, float m2, float l2) {
    float m_new = fmax(*m, m2);
    float r = osm_ref(m_new);
    float a = (*m == -INFINITY) ? 0.0f : exp(*m - r);
    float c = (m2 == -INFINITY) ? 0.0f : exp(m2 - r);
    *l = *l * a + l2 * c;
    *m = m_new;
}

/* Adds one natural-log score to the state (used by the strided softmax loops). */
inline void osm_add(float *m, float *l, float s) {
    if (s > *m) {
        *l = *l * exp(*m - s) + 1.0f; /* s > m: s is finite or +inf; m may be -inf (exp -> 0) */
        *m = s;
    } else {
        *l += exp(s - osm_ref(*m));   /* masked s = -inf adds 0; NaN adds NaN */
    }
}

/* 1 / l for the final normalisation, 0 for a row with no live key (its output is all zeros). */
inline float osm_inv_sum(float l) {
    return l == 0.0f ? 0.0f : 1.0f / l;
}

/* ---- vectors ---------------------------------------------------------------------------------
 * VW (4, 8 or 16) is the vector width the host picked for the device; fv is floatVW. */
#define ATTN_PASTE_(a, b) a##b
#define ATTN_PASTE(a, b) ATTN_PASTE_(a, b)

inline float hsum4(float4 v) { float2 a = v.lo + v.hi; return a.x + a.y; }
inline float hsum8(float8 v) { return hsum4(v.lo + v.hi); }
inline float hsum16(float16 v) { return hsum8(v.lo + v.hi); }
inline float hmax4(float4 v) { float2 a = fmax(v.lo, v.hi); return fmax(a.x, a.y); }
inline float hmax8(float8 v) { return hmax4(fmax(v.lo, v.hi)); }
inline float hmax16(float16 v) { return hmax8(fmax(v.lo, v.hi)); }

#ifdef VW
#if VW != 4 && VW != 8 && VW != 16
#error "VW must be 4, 8 or 16"
#endif
typedef ATTN_PASTE(float, VW) fv;
#define VLOAD_W ATTN_PASTE(vload, VW)
#define VSTORE_W ATTN_PASTE(vstore, VW)
#define HSUM_W ATTN_PASTE(hsum, VW)
#define HMAX_W ATTN_PASTE(hmax, VW)

/* (0, 1, ..., VW - 1): the lane numbers of an int vector */
inline ATTN_PASTE(int, VW) attn_lane_ids(void) {
#if VW == 4
    return (int4)(0, 1, 2, 3);
#elif VW == 8
    return (int8)(0, 1, 2, 3, 4, 5, 6, 7);
#else
    return (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
#endif
}

/* 2^x on VW lanes for the arguments of a softmax (x <= 0, a score minus the row's maximum), without
 * the denormal handling of the library's exp2 (a third of its instructions): a result below 2^-126 is
 * 0, -inf gives 0, NaN stays NaN, x >= 128 gives +inf. 2^x = 2^n 2^f with n = rint(x), f in [-1/2, 1/2],
 * 2^f by a polynomial fitted for relative error: degree 6 (1e-7 in float arithmetic, within the 3 ulp
 * OpenCL allows exp2) or, with low (a constant: outputs stored in 16 bits, whose rounding is 2^-11 or
 * 2^-8), degree 4 (3e-6). exp2_ftz_neg takes x <= 0 or NaN only (no upper clamp). */
inline fv exp2_ftz_core(fv xc, bool low) {
    /* n = rint(xc) by the 1.5 * 2^23 shifter (the library's rint is not one instruction on PoCL), its
     * integer from the shifted value's low mantissa bits */
    const fv t = xc + (fv)(12582912.0f);
    const fv f = xc - (t - (fv)(12582912.0f));
    fv p;
    if (low) {
        p = fma((fv)(9.5700966e-3f), f, (fv)(5.5917863e-2f));
        p = fma(p, f, (fv)(2.4024744e-1f));
        p = fma(p, f, (fv)(6.9312179e-1f));
        p = fma(p, f, (fv)(9.9999928e-1f));
    } else {
        p = fma((fv)(1.5345721e-4f), f, (fv)(1.3399904e-3f));
        p = fma(p, f, (fv)(9.6184891e-3f));
        p = fma(p, f, (fv)(5.5503290e-2f));
        p = fma(p, f, (fv)(2.4022646e-1f));
        p = fma(p, f, (fv)(6.9314718e-1f));
        p = fma(p, f, (fv)(1.0f));
    }
    /* n = -127 gives the exponent field 0 (the flushed 0), n = 128 the field 255 (inf) */
    return p * ATTN_PASTE(as_float, VW)((ATTN_PASTE(as_int, VW)(t) - (0x4b400000 - 127)) << 23);
}

inline fv exp2_ftz_neg(fv x, bool low) {
    return exp2_ftz_core(select(x, (fv)(-127.0f), x < (fv)(-127.0f)), low); /* NaN compares false and stays */
}

inline fv exp2_ftz(fv x) {
    return exp2_ftz_neg(select(x, (fv)(128.0f), x > (fv)(128.0f)), false);
}
#endif

/* Four consecutive storage elements as a float4 (the element address need only be aligned to
 * the storage type). */
#if defined(DT_F32)
#define LOAD4_ST(ptr, idx) vload4(0, (ptr) + (idx))
#elif defined(DT_F16)
#define LOAD4_ST(ptr, idx) vload_half4(0, (ptr) + (idx))
#else
#define LOAD4_ST(ptr, idx) (as_float4(convert_uint4(vload4(0, (ptr) + (idx))) << 16))
#endif

/* Stores a floatn into n consecutive storage elements (rounded to nearest even; bf16 NaN stays NaN). */
#if defined(DT_F32)
#define STOREN_ST(n, ptr, idx, v) ATTN_PASTE(vstore, n)((v), 0, (ptr) + (idx))
#elif defined(DT_F16)
#define STOREN_ST(n, ptr, idx, v) ATTN_PASTE(ATTN_PASTE(vstore_half, n), _rte)((v), 0, (ptr) + (idx))
#else
#define STOREN_ST(n, ptr, idx, v) ATTN_PASTE(vstore, n)(ATTN_PASTE(bf16_from_f32v, n)(v), 0, (ptr) + (idx))
#define ATTN_BF16V(n)                                                                                           \
    inline ATTN_PASTE(ushort, n) ATTN_PASTE(bf16_from_f32v, n)(ATTN_PASTE(float, n) f) {                     \
        ATTN_PASTE(uint, n) u = ATTN_PASTE(as_uint, n)(f);                                                    \
        ATTN_PASTE(uint, n) r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;                                      \
        ATTN_PASTE(uint, n) q = (u >> 16) | 0x40u;                                                            \
        return ATTN_PASTE(convert_ushort, n)(select(r, q, ATTN_PASTE(as_uint, n)(isnan(f))));              \
    }
ATTN_BF16V(4)
ATTN_BF16V(8)
ATTN_BF16V(16)
#endif

/* n consecutive storage elements (n = 2, 4, 8 or 16, a literal or a macro) as a floatn. */
#if defined(DT_F32)
#define LOADN_ST(n, ptr, idx) ATTN_PASTE(vload, n)(0, (ptr) + (idx))
#elif defined(DT_F16)
#define LOADN_ST(n, ptr, idx) ATTN_PASTE(vload_half, n)(0, (ptr) + (idx))
#else
#define LOADN_ST(n, ptr, idx) \
    ATTN_PASTE(as_float, n)(ATTN_PASTE(convert_uint, n)(ATTN_PASTE(vload, n)(0, (ptr) + (idx))) << 16)
#endif

/* elements of the storage type per 64-byte cache line (the prefetch and touch-ahead stride) */
#define ATTN_LINE (64 / (int)sizeof(st_t))

/* Prefetches the cache lines of the row of width elements at src + off (__builtin_prefetch: prefetcht0 on x86;
 * PoCL's prefetch() emits nothing). Issued a step before the row is used, a few rows at a time between the
 * FMAs of a micro-kernel, so that the misses overlap the arithmetic: the hardware prefetchers stop at every
 * 4 KiB page, i.e. at every key row when the rows are pages apart (paged NHD caches), and loads issued in one
 * burst ("touch ahead") block retirement while they miss. (The decode kernel prefetches so from its score loop
 * with one kv head per item; with several per item, whole paged rows, it keeps touch loads, which measured faster
 * there.) */
__attribute__((always_inline)) inline void prefetch_row(__global const st_t *src, long off, int width) {
#pragma unroll
    for (int x = 0; x < width; x += ATTN_LINE) {
        __builtin_prefetch((const __global void *)(src + off + x), 0, 3);
    }
}

/* ---- non-temporal stores (STORE_NT = 1, set by the planner for large outputs on CPU devices) ----------
 * An output row written whole and not read back by the kernel skips the read-for-ownership of its cache
 * lines: vectors at 64-byte boundaries go out with __builtin_nontemporal_store (vmovntps/vmovntdq on x86),
 * the few elements before the first boundary and after the last whole vector with plain stores. x86-64
 * with clang's builtins only (elsewhere STORE_NT is 0); a kernel that uses them ends with nt_fence(). */
#ifndef STORE_NT
#define STORE_NT 0
#endif
#if STORE_NT && defined(__x86_64__) && defined(__has_builtin)
#if __has_builtin(__builtin_nontemporal_store) && __has_builtin(__builtin_ia32_sfence)
#define ATTN_NT_OK 1
#endif
#endif
#if STORE_NT && !defined(ATTN_NT_OK)
#undef STORE_NT
#define STORE_NT 0
#endif
#if STORE_NT && defined(VW)
/* Elements of a row of len at p before its first 64-byte boundary: all len where p is not aligned to its
 * element size (the row never reaches a boundary, and plain stores write it). */
inline int nt_head(__global const st_t *p, int len) {
    const ulong a = (ulong)p;
    if (a % sizeof(st_t) != 0) {
        return len;
    }
    return min(len, (int)(((64 - (a & 63)) & 63) / sizeof(st_t)));
}

/* VW floats to p (64-byte aligned) in the storage type, with non-temporal stores. */
inline void storew_nt(__global st_t *p, fv v) {
#if defined(DT_F32)
    __builtin_nontemporal_store(v, (__global fv *)p);
#elif defined(DT_F16)
    ushort bits[VW] __attribute__((aligned(64))); /* the rounded halves (one vcvtps2ph), then one wide store */
    ATTN_PASTE(ATTN_PASTE(vstore_half, VW), _rte)(v, 0, (__private half *)bits);
    __builtin_nontemporal_store(ATTN_PASTE(vload, VW)(0, bits), (__global ATTN_PASTE(ushort, VW) *)p);
#else
    __builtin_nontemporal_store(ATTN_PASTE(bf16_from_f32v, VW)(v), (__global ATTN_PASTE(ushort, VW) *)p);
#endif
}

/* Orders the work-item's non-temporal stores before the launch completes (they are weakly ordered). */
inline void nt_fence(void) { __builtin_ia32_sfence(); }
#endif

/* ---- row-lane micro-kernels (the CPU forms of the SDPA forward and backward; LANES_KB defined) -----
 * A work-item owns LN = LN_FR * VW query rows, and they are the vector lanes: a block of Q (or dO) is
 * transposed once (xt[d * LN + row]), and every product is a register micro-kernel that broadcasts one
 * element of a K, V, Q or dO row into LN_FR vectors of rows, as a GEMM does. Keys come in blocks of
 * LANES_KB (a multiple of LN_FT). Rows are read through LROW pointers: in place for f32 storage, from
 * private rows converted (copied) a block at a time (lanes_convert) for f16 and bf16 and under LANES_COPY. */
#ifdef LANES_KB
#ifndef LANES_FR
#error "the row-lane helpers need LANES_FR (row vectors per work-item) with LANES_KB"
#endif
#define LN_FR LANES_FR          /* row vectors per work-item (2 or 3) */
#define LN (LN_FR * VW)         /* rows per work-item: the lanes */
#define LN_FT (12 / LN_FR)      /* keys per step of lanes_dot: LN_FT x LN_FR = 12 accumulators */
#define LN_FC (12 / LN_FR)      /* columns per step of lanes_axpy: LN_FC x LN_FR = 12 accumulators */
#if LANES_KB % LN_FT != 0
#error "LANES_KB must be a multiple of LN_FT"
#endif
typedef ATTN_PASTE(int, VW) iv;
#define VLOAD_I ATTN_PASTE(vload, VW)
#define VSTORE_I ATTN_PASTE(vstore, VW)

/* LANES_COPY = 1: f32 rows are copied a block at a time too, like f16/bf16 rows, and the SDPA forward prefetches
 * the next block's rows (prefetch_row). Its planner sets it when consecutive keys are not adjacent in memory
 * (paged NHD caches, BSHD) and a kv head's K and V span more than 2 MiB: read in place, each key of a
 * micro-kernel step is then its own stream pages apart, and the FMAs wait on its misses. */
#ifndef LANES_COPY
#define LANES_COPY 0
#endif
#if defined(DT_F32) && !LANES_COPY
#define LANES_IN_PLACE 1
#define LROW __global const float
#else
#define LANES_IN_PLACE 0
#define LROW float
/* the rows at element offsets rows[t] (t < count) of src, width elements each, into dst[t * width + x] */
inline void lanes_convert(__global const st_t *src, const long *rows, int count, int width, float *dst) {
    for (int t = 0; t < count; t++) {
        int x = 0;
        for (; x + VW <= width; x += VW) {
            VSTORE_W(LOADN_ST(VW, src, rows[t] + x), 0, dst + t * width + x);
        }
        for (; x < width; x++) {
            dst[t * width + x] = LOAD_ST(src, rows[t] + x);
        }
    }
}
#endif

/* st[t][lanes] = sum_{d < n} rows[t][d] * xt[d][lanes] for the LN_FT rows t (keys): per d, LN_FR
 * vector loads of xt and LN_FT broadcasts feed LN_FT x LN_FR fmas. */
__attribute__((always_inline)) inline void lanes_dot(const float *xt, LROW *const *rows, int n, float *st) {
    fv a[LN_FT][LN_FR];
#pragma unroll
    for (int t = 0; t < LN_FT; t++) {
#pragma unroll
        for (int f = 0; f < LN_FR; f++) {
            a[t][f] = (fv)(0.0f);
        }
    }
    for (int d = 0; d < n; d++) {
        fv xv[LN_FR];
#pragma unroll
        for (int f = 0; f < LN_FR; f++) {
            xv[f] = VLOAD_W(0, xt + d * LN + f * VW);
        }
#pragma unroll
        for (int t = 0; t < LN_FT; t++) {
            const fv y = (fv)(rows[t][d]);
#pragma unroll
            for (int f = 0; f < LN_FR; f++) {
                a[t][f] = fma(y, xv[f], a[t][f]);
            }
        }
    }
#pragma unroll
    for (int t = 0; t < LN_FT; t++) {
#pragma unroll
        for (int f = 0; f < LN_FR; f++) {
            VSTORE_W(a[t][f], 0, st + t * LN + f * VW);
        }
    }
}

/* ot[x][lanes] = alpha * ot[x][lanes] + sum_{t} wt[t][lanes] * rows[t][x] for the nc <= LN_FC
 * columns x = c0 ... (nc a constant after inlining; a spill of one accumulator cost this loop half its
 * rate when it was not): the accumulators are loaded and stored once per key block. A full block sums
 * its first nk keys (all live; the rows past them are never read); a boundary block (full false) all
 * LANES_KB, selecting away each pair whose live lane lt[t][lane] is 0, so a non-finite element of a
 * masked row cannot leak. */
__attribute__((always_inline)) inline void lanes_axpy(float *ot, const float *wt, LROW *const *rows, const int *lt,
                                                      bool full, int nk, int c0, int nc, const fv *alpha) {
    fv a[LN_FC][LN_FR];
#pragma unroll
    for (int u = 0; u < LN_FC; u++) {
        if (u < nc) {
#pragma unroll
            for (int f = 0; f < LN_FR; f++) {
                a[u][f] = VLOAD_W(0, ot + (c0 + u) * LN + f * VW) * alpha[f];
            }
        }
    }
    if (full) {
        for (int t = 0; t < nk; t++) {
            fv w[LN_FR];
#pragma unroll
            for (int f = 0; f < LN_FR; f++) {
                w[f] = VLOAD_W(0, wt + t * LN + f * VW);
            }
#pragma unroll
            for (int u = 0; u < LN_FC; u++) {
                if (u < nc) {
                    const fv y = (fv)(rows[t][c0 + u]);
#pragma unroll
                    for (int f = 0; f < LN_FR; f++) {
                        a[u][f] = fma(w[f], y, a[u][f]);
                    }
                }
            }
        }
    } else {
        for (int t = 0; t < LANES_KB; t++) {
            fv w[LN_FR];
            iv ok[LN_FR];
#pragma unroll
            for (int f = 0; f < LN_FR; f++) {
                w[f] = VLOAD_W(0, wt + t * LN + f * VW);
                ok[f] = VLOAD_I(0, lt + t * LN + f * VW);
            }
#pragma unroll
            for (int u = 0; u < LN_FC; u++) {
                if (u < nc) {
                    const fv y = (fv)(rows[t][c0 + u]);
#pragma unroll
                    for (int f = 0; f < LN_FR; f++) {
                        a[u][f] = select(a[u][f], fma(w[f], y, a[u][f]), ok[f]);
                    }
                }
            }
        }
    }
#pragma unroll
    for (int u = 0; u < LN_FC; u++) {
        if (u < nc) {
#pragma unroll
            for (int f = 0; f < LN_FR; f++) {
                VSTORE_W(a[u][f], 0, ot + (c0 + u) * LN + f * VW);
            }
        }
    }
}

/* lanes_axpy over all n columns (n a constant after inlining) */
__attribute__((always_inline)) inline void lanes_axpy_all(float *ot, const float *wt, LROW *const *rows,
                                                          const int *lt, bool full, int nk, int n, const fv *alpha) {
    for (int c0 = 0; c0 + LN_FC <= n; c0 += LN_FC) {
        lanes_axpy(ot, wt, rows, lt, full, nk, c0, LN_FC, alpha);
    }
    if (n % LN_FC != 0) {
        lanes_axpy(ot, wt, rows, lt, full, nk, n - n % LN_FC, n % LN_FC, alpha);
    }
}

/* The keys [*jb, *je) that some live row of the block i0 .. i0 + LN - 1 may attend (the bounds grow with i:
 * the first row's start, the last live row's end; an empty span when no row is live) and the lanes' bounds
 * as vectors; returns whether every row of the block is live. */
inline bool lanes_span(const int *lo, const int *hi, int i0, int ql, int *jb, int *je, iv *lov, iv *hiv) {
    const int i_last = min(i0 + LN, ql) - 1;
    *jb = i_last >= i0 ? lo[0] : 0;
    *je = i_last >= i0 ? hi[i_last - i0] : 0;
    for (int f = 0; f < LN_FR; f++) {
        lov[f] = VLOAD_I(0, lo + f * VW);
        hiv[f] = VLOAD_I(0, hi + f * VW);
    }
    return i_last == i0 + LN - 1;
}

/* Whether every (row, key) pair of the block's nvalid keys [j0, j0 + nvalid) is live, so that they need no per-pair
 * test: no bool mask, every row live (lanes_span), inside every row's bounds (the bounds grow with the row: the
 * last row's start, the first row's end). The keys past nvalid (a span's last block) are outside every row's
 * bounds; a caller that takes such a block as full gives them no weight: the SDPA forward never reads their rows,
 * the fused backward (only for a block ending at Sk) writes them P = dS = 0 and sums them into scratch rows. */
inline bool lanes_full(const int *lo, const int *hi, bool rows_live, int j0, int nvalid) {
    return !HAS_BOOL_MASK && rows_live && lo[LN - 1] <= j0 && j0 + nvalid <= hi[0];
}

/* The live pairs of a boundary block: lt[t][lane] = -1 where row i0 + lane may attend key j0 + t
 * (t < nvalid, inside the lane's bounds [lo, hi), the bool mask), else 0. A dead lane has lo = hi. */
__attribute__((always_inline)) inline void lanes_live(int *lt, const iv *lov, const iv *hiv, int j0, int nvalid,
                                                      const attn_mask_params m, __global const uchar *mask, int b,
                                                      int h, int i0, int seq_q, int seq_k) {
    for (int t = 0; t < LANES_KB; t++) {
        const int j = j0 + t;
#pragma unroll
        for (int f = 0; f < LN_FR; f++) {
            iv ok = (lov[f] <= (iv)(j)) & ((iv)(j) < hiv[f]) & (iv)(t < nvalid ? -1 : 0);
#if HAS_BOOL_MASK
            int okl[VW];
            VSTORE_I(ok, 0, okl);
            for (int l = 0; l < VW; l++) {
                okl[l] = okl[l] && mask_bool(m, mask, b, h, min(i0 + f * VW + l, seq_q - 1), min(j, seq_k - 1)) ? -1
                                                                                                                 : 0;
            }
            ok = VLOAD_I(0, okl);
#endif
            VSTORE_I(ok, 0, lt + t * LN + f * VW);
        }
    }
}
#endif /* LANES_KB */
