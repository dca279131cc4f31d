/*
 * softmax.cuh: the online-softmax state of one row, shared by SDPA, masked softmax and additive
 * attention.
 *
 *   m: the running max of the live scores (-inf while none), NaN once a NaN was seen;
 *   l: the running sum of exp(s - m).
 * rescale(tile_max) moves the state to a new max and returns the factor that the caller applies
 * to its accumulators; exp(-inf - -inf) is never evaluated (a fully masked row stays m = -inf,
 * l = 0 and its outputs are zeros, never NaN). Scores of masked pairs are -inf and contribute
 * exactly 0 (callers also skip them, so a NaN in a masked row never reaches an accumulator).
 */
#ifndef ATTN_CUDA_SOFTMAX_CUH
#define ATTN_CUDA_SOFTMAX_CUH

#include "common.cuh"

namespace attn {

struct OnlineSoftmax {
    float m, l;

    ATTN_DEV void reset() {
        m = ATTN_NINF;
        l = 0.0f;
    }

    /* Raises the max to include tile_max; returns the factor for everything accumulated so far. */
    ATTN_DEV float rescale(float tile_max) {
        const float m_new = nan_max(m, tile_max);
        float alpha;
        if (m_new == ATTN_NINF) {
            alpha = 1.0f;                      /* nothing live yet: nothing to rescale */
        } else if (m == ATTN_NINF) {
            alpha = 0.0f;                      /* first live tile: accumulators are zero */
        } else {
            alpha = expf(m - m_new);           /* NaN when m_new is NaN: the row turns NaN */
        }
        m = m_new;
        l *= alpha;
        return alpha;
    }

    /* exp(s - m) of a score under the current max; 0 for -inf (masked) scores. */
    ATTN_DEV float prob(float s) const { return s == ATTN_NINF ? 0.0f : expf(s - m); }

    /* Merges another partial state (m2, l2) of the same row; returns {factor for mine, for theirs}. */
    ATTN_DEV void merge(float m2, float l2, float& a_mine, float& a_theirs) {
        const float m_new = nan_max(m, m2);
        a_mine = (m == ATTN_NINF) ? 0.0f : expf(m - m_new);
        a_theirs = (m2 == ATTN_NINF) ? 0.0f : expf(m2 - m_new);
        if (m_new == ATTN_NINF) {
            a_mine = a_theirs = 0.0f;
        }
        m = m_new;
        l = l * a_mine + l2 * a_theirs;
    }

    /* 1/l for the final normalisation, 0 for an empty row (outputs become 0, not NaN). */
    ATTN_DEV float inv_sum() const { return l > 0.0f ? 1.0f / l : (l != l ? l : 0.0f); }

    /* Natural-log LSE: m + log(l), -inf for an empty row. */
    ATTN_DEV float lse() const { return (m == ATTN_NINF || l == 0.0f) ? ATTN_NINF : m + logf(l); }
};

} // namespace attn

#endif
