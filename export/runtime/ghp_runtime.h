/* ghp_runtime.h: the inference runtime of policies exported by ghp (C99; no malloc, VLA, recursion or stdio).
 *
 * Embedded verbatim in every generated policy, so one header is the whole deliverable. Every function is
 * static inline, takes its buffers from the caller, and keeps only scalars on the stack.
 *
 * Summation order is fixed (index order, then the bias) and the Python reference in export/reference.py sums
 * in the same order (float32 layers with the same fused multiply-adds), so host and target agree bit for bit when
 * compiled with -ffp-contract=off.
 */
#ifndef GHP_RUNTIME_H
#define GHP_RUNTIME_H

#include <math.h>
#include <stdint.h>

/* Activation codes of the dense layers' last argument: none (output layer), ReLU or tanhf (hidden layers). */
#define GHP_ACT_NONE 0u
#define GHP_ACT_RELU 1u
#define GHP_ACT_TANH 2u

static inline float ghp_activate(float acc, uint32_t act)
{
    if (act == GHP_ACT_RELU) {
        return acc < 0.0f ? 0.0f : acc;
    }
    if (act == GHP_ACT_TANH) {
        return tanhf(acc);
    }
    return acc;
}

/* One multiply-accumulate, fused: acc + w * x rounded once (fmaf; C99 7.12.13.1). With -mfpu=fpv4-sp-d16
 * -mfloat-abi=hard -fno-math-errno it is one vfma.f32; on the host it is the FMA instruction or libm's correctly
 * rounded fmaf, so host and target agree bit for bit whatever -ffp-contract says. */
#define GHP_FMA(acc, w, x) fmaf((w), (x), (acc))

/* y[o] = act(sum_i W[o][i] * x[i] + b[o]), act one of GHP_ACT_* (hidden layers; none on the output).
 * Each unit is summed in index order from 0.0f with a fused multiply-add per term, then the bias is added
 * (export/reference.py computes exactly this). Four rows run at once, so each x[i] is loaded once for four
 * multiply-accumulates and the four independent accumulators hide vfma's latency; the weights are stored in the order
 * they are used (GHP_F32 layout), so one pointer streams them from flash:
 *   rows 4k..4k+3 interleaved by input: W[4k][0], W[4k+1][0], W[4k+2][0], W[4k+3][0], W[4k][1], ...,
 *   then the last n_out % 4 rows, row-major. */
static inline void ghp_dense_f32(const float *w, const float *b, const float *x, float *y, uint32_t n_in,
                                 uint32_t n_out, uint32_t act)
{
    uint32_t o;
    uint32_t i;
    for (o = 0u; o + 4u <= n_out; o += 4u) {
        float a0 = 0.0f;
        float a1 = 0.0f;
        float a2 = 0.0f;
        float a3 = 0.0f;
        /* Two inputs per iteration (each accumulator still in index order): 21 instructions per 8 MACs at -Os. */
        for (i = 0u; i + 2u <= n_in; i += 2u) {
            const float v0 = x[i];
            const float v1 = x[i + 1u];
            a0 = GHP_FMA(a0, w[0], v0);
            a1 = GHP_FMA(a1, w[1], v0);
            a2 = GHP_FMA(a2, w[2], v0);
            a3 = GHP_FMA(a3, w[3], v0);
            a0 = GHP_FMA(a0, w[4], v1);
            a1 = GHP_FMA(a1, w[5], v1);
            a2 = GHP_FMA(a2, w[6], v1);
            a3 = GHP_FMA(a3, w[7], v1);
            w += 8;
        }
        if (i < n_in) {
            const float v = x[i];
            a0 = GHP_FMA(a0, w[0], v);
            a1 = GHP_FMA(a1, w[1], v);
            a2 = GHP_FMA(a2, w[2], v);
            a3 = GHP_FMA(a3, w[3], v);
            w += 4;
        }
        y[o] = ghp_activate(a0 + b[o], act);
        y[o + 1u] = ghp_activate(a1 + b[o + 1u], act);
        y[o + 2u] = ghp_activate(a2 + b[o + 2u], act);
        y[o + 3u] = ghp_activate(a3 + b[o + 3u], act);
    }
    for (; o < n_out; ++o) {
        float acc = 0.0f;
        for (i = 0u; i < n_in; ++i) {
            acc = GHP_FMA(acc, w[i], x[i]);
        }
        w += n_in;
        y[o] = ghp_activate(acc + b[o], act);
    }
}

/* int8 weights with one float scale per output row: y[o] = scale[o] * sum_i q[o * n_in + i] * x[i] + b[o]. */
static inline void ghp_dense_i8(const int8_t *q, const float *scale, const float *b, const float *x, float *y,
                                uint32_t n_in, uint32_t n_out, uint32_t act)
{
    uint32_t o;
    uint32_t i;
    for (o = 0u; o < n_out; ++o) {
        const int8_t *row = q + o * n_in;
        float acc = 0.0f;
        for (i = 0u; i + 4u <= n_in; i += 4u) {
            acc += (float)row[i] * x[i];
            acc += (float)row[i + 1u] * x[i + 1u];
            acc += (float)row[i + 2u] * x[i + 2u];
            acc += (float)row[i + 3u] * x[i + 3u];
        }
        for (; i < n_in; ++i) {
            acc += (float)row[i] * x[i];
        }
        acc = acc * scale[o] + b[o];
        y[o] = ghp_activate(acc, act);
    }
}

/* y[i] = x[i] clipped to [lo[i], hi[i]]: the observation clip of a policy trained on normalised observations
 * (its normalisation is folded into the first layer; clipping the normalised value at +-c is clipping the raw one
 * at mean -+ c * std). Comparisons only, so bit-exact with the reference. */
static inline void ghp_clip(const float *x, const float *lo, const float *hi, float *y, uint32_t n)
{
    uint32_t i;
    for (i = 0u; i < n; ++i) {
        const float v = (x[i] < lo[i]) ? lo[i] : x[i];
        y[i] = (v > hi[i]) ? hi[i] : v;
    }
}

/* The squashed action of SAC / TD3, unscaled to the environment's bounds: low + (tanh(z) + 1) / 2 * (high - low).
 * tanhf is called once per action (n calls); hidden units call it only in tanh policies (GHP_ACT_TANH). */
static inline void ghp_tanh_unscale(const float *z, const float *low, const float *high, float *act, uint32_t n)
{
    uint32_t k;
    for (k = 0u; k < n; ++k) {
        const float u = tanhf(z[k]);
        act[k] = low[k] + (u + 1.0f) * 0.5f * (high[k] - low[k]);
    }
}

#endif /* GHP_RUNTIME_H */
