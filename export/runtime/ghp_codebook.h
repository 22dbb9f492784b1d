/* ghp_codebook.h: the layer of codebook (weight-sharing) policies exported by ghp (C99; no malloc, VLA or stdio).
 *
 * Embedded verbatim after ghp_runtime.h in a --dtype codebook export. Each weight is one of n_colors shared values;
 * its colour index is stored in `bits` bits, row-major, packed least significant bit first.
 *
 * Per output unit: every input is added to the accumulator of its weight's colour (input order), then
 * s = sum_c book[c] * acc[c] in colour order from 0.0f, then the bias: n_colors multiplies per unit instead of
 * n_in. export/codebook.py computes the same sums in the same order (bit-exact with -ffp-contract=off).
 */
#ifndef GHP_CODEBOOK_H
#define GHP_CODEBOOK_H

#include <stdint.h>

/* y[o] = act(sum_c book[c] * (sum of x[i] over the inputs i whose weight (o, i) has colour c) + b[o]),
 * act one of ghp_runtime.h's GHP_ACT_* codes. acc holds n_colors floats, all 0.0f on entry (a static buffer of the caller, zero at
 * start-up); they are 0.0f again on return. bits is 1..8. */
static inline void ghp_dense_codebook(const uint8_t *idx, uint32_t bits, const float *book, uint32_t n_colors,
                                      const float *b, const float *x, float *y, float *acc, uint32_t n_in,
                                      uint32_t n_out, uint32_t act)
{
    const uint32_t mask = (1u << bits) - 1u;
    uint32_t pos = 0u;
    uint32_t o;
    uint32_t i;
    uint32_t c;
    for (o = 0u; o < n_out; ++o) {
        float s = 0.0f;
        for (i = 0u; i < n_in; ++i) {
            const uint32_t shift = pos & 7u;
            uint32_t v = (uint32_t)idx[pos >> 3] >> shift;
            if (shift + bits > 8u) {
                v |= (uint32_t)idx[(pos >> 3) + 1u] << (8u - shift);
            }
            acc[v & mask] += x[i];
            pos += bits;
        }
        for (c = 0u; c < n_colors; ++c) {
            s += book[c] * acc[c];
            acc[c] = 0.0f; /* left zeroed for the next unit: no separate clearing pass */
        }
        s += b[o];
        y[o] = ghp_activate(s, act);
    }
}

/* x[i] = (obs[i] - mean[i]) * inv_std[i]: the input normalisation of a codebook policy trained on normalised
 * observations (ghp chromatic), kept apart from the first layer so that its weights stay shared. */
static inline void ghp_normalise(const float *obs, const float *mean, const float *inv_std, float *x, uint32_t n)
{
    uint32_t i;
    for (i = 0u; i < n; ++i) {
        x[i] = (obs[i] - mean[i]) * inv_std[i];
    }
}

#endif /* GHP_CODEBOOK_H */
