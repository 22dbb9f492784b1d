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

/* Rows and inputs are taken in blocks of four: a layer of n_out units with n_in inputs stores GHP_PAD4(n_out) rows of
 * GHP_PAD4(n_in) weights, the padding zero, so every block takes the same path with no remainder loop. x holds
 * GHP_PAD4(n_in) floats, the padding +0.0f (the generated code copies the observation into a padded buffer; a padded
 * layer's extra outputs are exactly +0.0f, as their weights and biases are zero and act(0) = 0); b and y hold
 * GHP_PAD4(n_out) floats. A zero weight times a zero input adds +0.0f, which leaves every sum as it was (a sum that
 * starts at +0.0f is never -0.0f), so the padding changes no bit of the result. */
#define GHP_PAD4(n) (((n) + 3u) & ~3u)

/* The hidden activation of four outputs at once (act is the same for the whole layer, so it is tested once per
 * block, not once per unit). */
#define GHP_ACTIVATE4(r0, r1, r2, r3, act)                                                                             \
    do {                                                                                                               \
        if ((act) == GHP_ACT_RELU) {                                                                                   \
            (r0) = (r0) < 0.0f ? 0.0f : (r0);                                                                          \
            (r1) = (r1) < 0.0f ? 0.0f : (r1);                                                                          \
            (r2) = (r2) < 0.0f ? 0.0f : (r2);                                                                          \
            (r3) = (r3) < 0.0f ? 0.0f : (r3);                                                                          \
        } else if ((act) == GHP_ACT_TANH) {                                                                            \
            (r0) = tanhf(r0);                                                                                          \
            (r1) = tanhf(r1);                                                                                          \
            (r2) = tanhf(r2);                                                                                          \
            (r3) = tanhf(r3);                                                                                          \
        }                                                                                                              \
    } while (0)

/* y[o] = act(sum_i W[o][i] * x[i] + b[o]), act one of GHP_ACT_* (hidden layers; none on the output).
 * Each unit is summed in index order from 0.0f with a fused multiply-add per term, then the bias is added
 * (export/reference.py computes exactly this). Four rows run at once, so each x[i] is loaded once for four
 * multiply-accumulates and the four independent accumulators hide vfma's latency; the weights are stored in the order
 * they are used, so one pointer streams them from flash: GHP_PAD4(n_out) / 4 blocks of 4 * GHP_PAD4(n_in) floats,
 * rows 4k..4k+3 interleaved by input: W[4k][0], W[4k+1][0], W[4k+2][0], W[4k+3][0], W[4k][1], ...
 * n_in and n_out are the padded sizes (multiples of 4; see GHP_PAD4). */
static inline void ghp_dense_f32(const float *w, const float *b, const float *x, float *y, uint32_t n_in,
                                 uint32_t n_out, uint32_t act)
{
    const float *const xn = x + n_in;
    float *const yn = y + n_out;
    while (y < yn) {
        const float *xi = x;
        float a0 = 0.0f;
        float a1 = 0.0f;
        float a2 = 0.0f;
        float a3 = 0.0f;
        /* Four inputs per iteration (each accumulator still in index order): 4 vldr of inputs, 16 of weights,
         * 16 vfma and 4 loop instructions per 16 MACs at -Os. */
        do {
            const float v0 = xi[0];
            const float v1 = xi[1];
            const float v2 = xi[2];
            const float v3 = xi[3];
            a0 = GHP_FMA(a0, w[0], v0);
            a1 = GHP_FMA(a1, w[1], v0);
            a2 = GHP_FMA(a2, w[2], v0);
            a3 = GHP_FMA(a3, w[3], v0);
            a0 = GHP_FMA(a0, w[4], v1);
            a1 = GHP_FMA(a1, w[5], v1);
            a2 = GHP_FMA(a2, w[6], v1);
            a3 = GHP_FMA(a3, w[7], v1);
            a0 = GHP_FMA(a0, w[8], v2);
            a1 = GHP_FMA(a1, w[9], v2);
            a2 = GHP_FMA(a2, w[10], v2);
            a3 = GHP_FMA(a3, w[11], v2);
            a0 = GHP_FMA(a0, w[12], v3);
            a1 = GHP_FMA(a1, w[13], v3);
            a2 = GHP_FMA(a2, w[14], v3);
            a3 = GHP_FMA(a3, w[15], v3);
            w += 16;
            xi += 4;
        } while (xi < xn);
        a0 += b[0];
        a1 += b[1];
        a2 += b[2];
        a3 += b[3];
        GHP_ACTIVATE4(a0, a1, a2, a3, act);
        y[0] = a0;
        y[1] = a1;
        y[2] = a2;
        y[3] = a3;
        y += 4;
        b += 4;
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

/* y[i] = x[i] for i < n (the observation copied into a zero-padded buffer). */
static inline void ghp_copy(const float *x, float *y, uint32_t n)
{
    uint32_t i;
    for (i = 0u; i < n; ++i) {
        y[i] = x[i];
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
