/*
 * mask.cuh: the mask of kernels/attn_params.h, evaluated for one (batch, head) at a time.
 *
 * A RowMask is built once per (b, h) and answers, for a query row i and key j:
 *   - key_range(i0, i1): the keys [lo, hi) that the window and kv length allow for ANY row in
 *     [i0, i1); tiles outside it are skipped and never loaded (that is how "masked keys are never
 *     read" holds for the window and kv lengths);
 *   - all_allowed(i0, i1, j0, j1): true when every pair of rows [i0, i1) x keys [j0, j1) is
 *     allowed with no per-pair test (no bool mask, the keys inside every row's window and kv
 *     length): a tiled kernel runs such a tile without evaluating the mask per element;
 *   - allowed(i, j): the full per-pair test (window, kv length, bool mask);
 *   - add(i, j): the additive terms bias[b,h,i,j] - slope * |i + off - j|.
 * Window arithmetic is 64-bit: win_left/win_right may be INT_MAX.
 * Callers put a masked pair at -inf and SELECT it away; they never multiply by a zero weight.
 */
#ifndef ATTN_CUDA_MASK_CUH
#define ATTN_CUDA_MASK_CUH

#include "common.cuh"

namespace attn {

struct RowMask {
    const unsigned char* mask; /* already offset to [b, h, 0, 0], or null */
    const float* bias;         /* already offset to [b, h, 0, 0], or null */
    long long mask_sq, mask_sk, bias_sq, bias_sk;
    float slope;               /* 0 when no ALiBi */
    int has_alibi;
    int win_left, win_right;   /* -1 = unbounded on that side (also when no window) */
    int align_off;
    int kv_len;                /* keys >= kv_len are masked (seq_k when no kv lengths) */
    int q_len;                 /* rows >= q_len are dead (seq_q when no q lengths) */

    ATTN_DEV void init(const attn_mask_params& m, int b, int h, int seq_q, int seq_k, const unsigned char* mask_buf,
                       const float* bias_buf, const float* alibi_buf, const int* kv_len_buf, const int* q_len_buf) {
        const int f = m.flags;
        mask = (f & ATTN_F_BOOL_MASK) ? mask_buf + m.mask_off + b * m.mask_sb + h * m.mask_sh : (const unsigned char*)0;
        bias = (f & ATTN_F_BIAS) ? bias_buf + m.bias_off + b * m.bias_sb + h * m.bias_sh : (const float*)0;
        mask_sq = m.mask_sq;
        mask_sk = m.mask_sk;
        bias_sq = m.bias_sq;
        bias_sk = m.bias_sk;
        has_alibi = (f & ATTN_F_ALIBI) != 0;
        slope = has_alibi ? alibi_buf[m.alibi_off + b * m.alibi_sb + h * m.alibi_sh] : 0.0f;
        win_left = (f & ATTN_F_WINDOW) ? m.win_left : -1;
        win_right = (f & ATTN_F_WINDOW) ? m.win_right : -1;
        align_off = m.align_off;
        kv_len = (f & ATTN_F_KV_LENGTHS) ? min(kv_len_buf[b], seq_k) : seq_k;
        q_len = (f & ATTN_F_Q_LENGTHS) ? min(q_len_buf[b], seq_q) : seq_q;
    }

    /* Keys [lo, hi) that some row of [i0, i1) may attend (i1 > i0); empty when lo >= hi. */
    ATTN_DEV void key_range(int i0, int i1, int& lo, int& hi) const {
        long long l = 0, r = kv_len;
        if (win_left >= 0) l = max(l, (long long)i0 + align_off - win_left);
        if (win_right >= 0) r = min(r, (long long)(i1 - 1) + align_off + win_right + 1);
        lo = (int)max(0LL, min(l, (long long)kv_len));
        hi = (int)max((long long)lo, r);
    }

    /* True when no pair of [i0, i1) x [j0, j1) (both non-empty) needs a per-pair test. */
    ATTN_DEV bool all_allowed(int i0, int i1, int j0, int j1) const {
        if (mask || j1 > kv_len) return false;
        if (win_right >= 0 && (long long)j1 - 1 > (long long)i0 + align_off + win_right) return false;
        if (win_left >= 0 && (long long)j0 < (long long)(i1 - 1) + align_off - win_left) return false;
        return true;
    }

    ATTN_DEV bool allowed(int i, int j) const {
        if (j >= kv_len) return false;
        const long long c = (long long)i + align_off;
        if (win_left >= 0 && j < c - win_left) return false;
        if (win_right >= 0 && j > c + win_right) return false;
        if (mask && mask[i * mask_sq + j * mask_sk] == 0) return false;
        return true;
    }

    ATTN_DEV float add(int i, int j) const {
        float s = 0.0f;
        if (bias) s += bias[i * bias_sq + j * bias_sk];
        if (has_alibi) {
            long long d = (long long)i + align_off - j;
            s -= slope * (float)(d < 0 ? -d : d);
        }
        return s;
    }
};

} // namespace attn

#endif
