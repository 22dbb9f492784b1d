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
#include <string.h>

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

/* int8 layers (--dtype int8): int8 weights with one float scale per output row, int16 activations with one scale per
 * layer and call, exact integer sums on the Cortex-M4's dual 16-bit multiply-accumulates.
 *
 * ghp_sxtb16(v):        the signed bytes 0 and 2 of v as two int16 halves (SXTB16)
 * ghp_smlad(a, b, c):   c + lo(a) * lo(b) + hi(a) * hi(b), int16 halves, int32 c (SMLAD)
 * ghp_smlald(a, b, c):  the same with an int64 c (SMLALD)
 * On Armv7E-M (__ARM_FEATURE_DSP) each is one instruction; elsewhere (the host check build) portable C that computes
 * the same integers. */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
static inline uint32_t ghp_sxtb16(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(v));
    return r;
}
static inline int32_t ghp_smlad(uint32_t a, uint32_t b, int32_t c)
{
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}
static inline int64_t ghp_smlald(uint32_t a, uint32_t b, int64_t c)
{
    __asm__("smlald %Q0, %R0, %1, %2" : "+r"(c) : "r"(a), "r"(b));
    return c;
}
/* (lo & 0xFFFF) | (hi << 16) (PKHBT) */
static inline uint32_t ghp_pack16(uint32_t lo, uint32_t hi)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
}
#else
static inline uint32_t ghp_pack16(uint32_t lo, uint32_t hi) { return (lo & 0xFFFFu) | (hi << 16); }

/* The low 8 (bits = 8) or 16 (bits = 16) bits of v, sign-extended, without implementation-defined conversions. */
static inline int32_t ghp_sext(uint32_t v, uint32_t bits)
{
    const uint32_t m = 1u << (bits - 1u);
    return (int32_t)((v & ((m << 1) - 1u)) ^ m) - (int32_t)m;
}
static inline uint32_t ghp_sxtb16(uint32_t v)
{
    return ((uint32_t)ghp_sext(v, 8u) & 0xFFFFu) | (((uint32_t)ghp_sext(v >> 16, 8u) & 0xFFFFu) << 16);
}
static inline int32_t ghp_smlad(uint32_t a, uint32_t b, int32_t c)
{
    return c + ghp_sext(a, 16u) * ghp_sext(b, 16u) + ghp_sext(a >> 16, 16u) * ghp_sext(b >> 16, 16u);
}
static inline int64_t ghp_smlald(uint32_t a, uint32_t b, int64_t c)
{
    return c + (int64_t)(ghp_sext(a, 16u) * ghp_sext(b, 16u)) + (int64_t)(ghp_sext(a >> 16, 16u) * ghp_sext(b >> 16, 16u));
}
#endif

/* GHP_I8_VFP: the int8 layer's quantisation and output steps in assembly too, which needs the DSP extension and a
 * single-precision FPU (-mfpu=fpv4-sp-d16, the Crazyflie's). gcc -Os moves one float at a time between the FPU and the
 * core registers; the assembly moves four with VLDM and two with one VMOV, and keeps every pointer in a register. It
 * computes the same roundings in the same order as the C (one fmaf per value), so both agree bit for bit. */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__ARM_FP) && (__ARM_FP & 4)
#define GHP_I8_VFP 1
#else
#define GHP_I8_VFP 0
#endif

/* The largest |int16 activation| of a layer with n_in inputs: 32767, or less when 127 * qmax * n_in would not fit
 * in an int32 (n_in > 516), so that no partial sum of a row can overflow. */
static inline int32_t ghp_qmax(uint32_t n_in)
{
    return n_in <= 516u ? 32767 : (int32_t)(2147483647u / (127u * n_in));
}

/* The float bits of |v| (non-negative floats order as their bits, so maxima can be taken on integers). */
static inline uint32_t ghp_abs_bits(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u & 0x7FFFFFFFu;
}

/* The float bits of max |x[i]| over i < n (x finite): the amax of a layer's input that no earlier layer computed
 * (the observation). Maxima travel between layers as float bits (gcc -Os keeps them in a register that way). */
static inline uint32_t ghp_absmax(const float *x, uint32_t n)
{
    uint32_t m = 0u;
    uint32_t i;
    for (i = 0u; i < n; ++i) {
        const uint32_t u = ghp_abs_bits(x[i]);
        if (u > m) {
            m = u;
        }
    }
    return m;
}

/* Quantises x[0..n) to int16 with one scale: q[i] = round(x[i] * inv) to nearest, ties to even, inv = qmax / amax,
 * amax = max |x[i]| (its float bits given by the caller; 0: inv = 0); xq holds them in pairs, xq[k] = q[2k] (low half) | q[2k + 1]
 * (high half), GHP_PAD4(n) / 2 words, the padding zero. Returns the scale amax / qmax (x[i] ~ scale * q[i]; 0.0f
 * when x is all zero). The rounding is one fused multiply-add: |x * inv| <= qmax < 2^22, so fmaf(x, inv, 1.5 * 2^23)
 * rounds the exact product to an integer once, and the low 16 bits of its float bits are that integer's. */
static inline float ghp_quantize_i16(const float *x, uint32_t amax_bits, uint32_t *xq, uint32_t n, int32_t qmax)
{
    float amax;
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    const uint32_t *const end = xq + GHP_PAD4(n) / 2u;
    float inv = 0.0f;
    uint32_t i;
    uint32_t lo;
    uint32_t hi;
    float r;
    memcpy(&amax, &amax_bits, sizeof amax);
    if (amax > 0.0f) {
        inv = (float)qmax / amax;
    }
    i = 0u;
#if GHP_I8_VFP
    if (n >= 4u) {
        /* Four values per iteration, 13 instructions: VLDM the constants and the inputs, four VFMA, two VMOV of a
         * pair to core registers, two PKHBT and one STRD of the two words. */
        static const float magic4[4] = {12582912.0f, 12582912.0f, 12582912.0f, 12582912.0f};
        const float *xp = x;
        const float *const xe = x + (n & ~3u);
        uint32_t p0;
        uint32_t p1;
        uint32_t p2;
        __asm__ volatile(
            "1:\n\t"
            "vldmia %[k], {s8-s11}\n\t"
            "vldmia %[xp]!, {s12-s15}\n\t"
            "vfma.f32 s8, s12, %[inv]\n\t"
            "vfma.f32 s9, s13, %[inv]\n\t"
            "vfma.f32 s10, s14, %[inv]\n\t"
            "vfma.f32 s11, s15, %[inv]\n\t"
            "vmov %[p0], %[p1], s8, s9\n\t"
            "pkhbt %[p0], %[p0], %[p1], lsl #16\n\t"
            "vmov %[p1], %[p2], s10, s11\n\t"
            "pkhbt %[p1], %[p1], %[p2], lsl #16\n\t"
            "strd %[p0], %[p1], [%[xq]], #8\n\t"
            "cmp %[xp], %[xe]\n\t"
            "bcc 1b"
            : [xp] "+r"(xp), [xq] "+r"(xq), [p0] "=&r"(p0), [p1] "=&r"(p1), [p2] "=&r"(p2)
            : [k] "r"(magic4), [inv] "t"(inv), [xe] "r"(xe)
            : "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15", "cc", "memory");
        i = n & ~3u;
    }
#endif
    for (; i + 2u <= n; i += 2u) {
        r = fmaf(x[i], inv, magic);
        memcpy(&lo, &r, sizeof lo);
        r = fmaf(x[i + 1u], inv, magic);
        memcpy(&hi, &r, sizeof hi);
        *xq++ = ghp_pack16(lo, hi);
    }
    if (i < n) {
        r = fmaf(x[i], inv, magic);
        memcpy(&lo, &r, sizeof lo);
        *xq++ = lo & 0xFFFFu;
    }
    if (xq < end) { /* at most one word of padding */
        *xq = 0u;
    }
    return amax > 0.0f ? amax / (float)qmax : 0.0f;
}

/* Second half of ghp_dense_i8: y[o] = act(fmaf(float(y[o] as int32), scale[o] * sx, b[o])) for o < n4, in place;
 * returns the float bits of max |y| (non-negative floats order as their bits). The ReLU works on the bits too (bic
 * asr #31 instead of a compare through the FPSCR; -0.0f becomes +0.0f, which quantises alike). */
#if defined(__GNUC__)
__attribute__((noinline)) /* a function of its own: gcc -Os keeps its loop in registers that way */
#endif
static uint32_t ghp_i8_outputs(float *y, const float *scale, const float *b, float sx, uint32_t n4, uint32_t act)
{
    uint32_t m = 0u;
    uint32_t o;
#if GHP_I8_VFP
    if (act != GHP_ACT_TANH) {
        /* Four units per iteration, 37 instructions: VLDM the sums, scales and biases, four VCVT, VMUL and VFMA
         * (fmaf(float(sum), scale * sx, b), as below), then per pair one VMOV to core registers, the ReLU (BIC
         * asr #31) or the |.| of the maximum, the maximum (CMP, IT, MOVCC) and one STRD. */
        float *const yn = y + n4;
        uint32_t u0;
        uint32_t u1;
#define GHP_I8_OUT_HEAD                                                                                                \
    "1:\n\t"                                                                                                          \
    "vldmia %[y], {s8-s11}\n\t"                                                                                       \
    "vldmia %[s]!, {s12-s15}\n\t"                                                                                     \
    "vldmia %[b]!, {s4-s7}\n\t"                                                                                       \
    "vcvt.f32.s32 s8, s8\n\t"                                                                                         \
    "vcvt.f32.s32 s9, s9\n\t"                                                                                         \
    "vcvt.f32.s32 s10, s10\n\t"                                                                                       \
    "vcvt.f32.s32 s11, s11\n\t"                                                                                       \
    "vmul.f32 s12, s12, %[sx]\n\t"                                                                                    \
    "vmul.f32 s13, s13, %[sx]\n\t"                                                                                    \
    "vmul.f32 s14, s14, %[sx]\n\t"                                                                                    \
    "vmul.f32 s15, s15, %[sx]\n\t"                                                                                    \
    "vfma.f32 s4, s8, s12\n\t"                                                                                        \
    "vfma.f32 s5, s9, s13\n\t"                                                                                        \
    "vfma.f32 s6, s10, s14\n\t"                                                                                       \
    "vfma.f32 s7, s11, s15\n\t"
#define GHP_I8_OUT_MAX                                                                                                 \
    "cmp %[m], %[u0]\n\t"                                                                                             \
    "it cc\n\t"                                                                                                       \
    "movcc %[m], %[u0]\n\t"                                                                                           \
    "cmp %[m], %[u1]\n\t"                                                                                             \
    "it cc\n\t"                                                                                                       \
    "movcc %[m], %[u1]\n\t"
#define GHP_I8_OUT_OPERANDS                                                                                            \
    : [y] "+r"(y), [s] "+r"(scale), [b] "+r"(b), [m] "+r"(m), [u0] "=&r"(u0), [u1] "=&r"(u1)                          \
    : [sx] "t"(sx), [yn] "r"(yn)                                                                                       \
    : "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15", "cc", "memory"
        if (act == GHP_ACT_RELU) {
            __asm__ volatile(GHP_I8_OUT_HEAD
                             "vmov %[u0], %[u1], s4, s5\n\t"
                             "bic %[u0], %[u0], %[u0], asr #31\n\t"
                             "bic %[u1], %[u1], %[u1], asr #31\n\t"
                             "strd %[u0], %[u1], [%[y]], #8\n\t" GHP_I8_OUT_MAX
                             "vmov %[u0], %[u1], s6, s7\n\t"
                             "bic %[u0], %[u0], %[u0], asr #31\n\t"
                             "bic %[u1], %[u1], %[u1], asr #31\n\t"
                             "strd %[u0], %[u1], [%[y]], #8\n\t" GHP_I8_OUT_MAX
                             "cmp %[y], %[yn]\n\t"
                             "bcc 1b" GHP_I8_OUT_OPERANDS);
        } else {
            __asm__ volatile(GHP_I8_OUT_HEAD
                             "vmov %[u0], %[u1], s4, s5\n\t"
                             "strd %[u0], %[u1], [%[y]], #8\n\t"
                             "bic %[u0], %[u0], #0x80000000\n\t"
                             "bic %[u1], %[u1], #0x80000000\n\t" GHP_I8_OUT_MAX
                             "vmov %[u0], %[u1], s6, s7\n\t"
                             "strd %[u0], %[u1], [%[y]], #8\n\t"
                             "bic %[u0], %[u0], #0x80000000\n\t"
                             "bic %[u1], %[u1], #0x80000000\n\t" GHP_I8_OUT_MAX
                             "cmp %[y], %[yn]\n\t"
                             "bcc 1b" GHP_I8_OUT_OPERANDS);
        }
#undef GHP_I8_OUT_HEAD
#undef GHP_I8_OUT_MAX
#undef GHP_I8_OUT_OPERANDS
        return m;
    }
#endif
    if (act == GHP_ACT_RELU) {
        for (o = 0u; o < n4; ++o) {
            int32_t a;
            float v;
            memcpy(&a, &y[o], sizeof a);
            v = fmaf((float)a, scale[o] * sx, b[o]);
            memcpy(&a, &v, sizeof a);
            a = a < 0 ? 0 : a;
            memcpy(&y[o], &a, sizeof a);
            if ((uint32_t)a > m) {
                m = (uint32_t)a;
            }
        }
    } else {
        for (o = 0u; o < n4; ++o) {
            int32_t a;
            uint32_t u;
            float v;
            memcpy(&a, &y[o], sizeof a);
            v = fmaf((float)a, scale[o] * sx, b[o]);
            if (act == GHP_ACT_TANH) {
                v = tanhf(v);
            }
            y[o] = v;
            memcpy(&u, &v, sizeof u);
            u &= 0x7FFFFFFFu;
            if (u > m) {
                m = u;
            }
        }
    }
    return m;
}

/* y[o] = act(fmaf(float(sum_i q[o][i] * xq[i]), scale[o] * sx, b[o])), xq = x quantised to int16 (ghp_quantize_i16,
 * sx its scale) into the caller's buffer xq (GHP_PAD4(n_in) / 2 words); y may be x. scale, b and y hold
 * GHP_PAD4(n_out) floats (padded units: scale 1, bias 0, output 0). x_amax holds the float bits of max |x| (ghp_absmax
 * for the observation, the previous layer's return value after that); returns those of max |y|, the next layer's. y must not be x (the sums
 * are parked in y before the outputs are computed in place).
 *
 * Weights are packed as the loop reads them: GHP_PAD4(n_out) / 4 blocks of four rows, each GHP_PAD4(n_in) / 4 groups of
 * four inputs, each group four words: rows (0, 1) inputs (0, 1), rows (2, 3) inputs (0, 1), rows (0, 1) inputs
 * (2, 3), rows (2, 3) inputs (2, 3). A word for rows (r, s) and inputs (i, j) holds the bytes (least significant
 * first) W[r][i], W'[s][i], W[r][j], W'[s][j] with W'[s][k] = W[s][k] - (W[r][k] < 0), in int8 as |W| <= 127. Its
 * 16-bit halves are then W[r][k] + 256 * W[s][k] (the low byte read unsigned borrows 256 from the high byte exactly
 * when W[r][k] < 0, which W' gives back), so one SMLALD accumulates R + 256 S into an int64 and one SXTB16 + SMLAD
 * accumulates R, rows r and s's sums: S = (A - R) / 256. Four MACs take half an LDRD, SXTB16, SMLAD and SMLALD. */
static inline uint32_t ghp_dense_i8(const uint32_t *q, const float *scale, const float *b, const float *x, uint32_t x_amax,
                                 uint32_t *xq, float *y, uint32_t n_in, uint32_t n_out, uint32_t act)
{
    const float sx = ghp_quantize_i16(x, x_amax, xq, n_in, ghp_qmax(n_in));
    const uint32_t *const xn = xq + GHP_PAD4(n_in) / 2u;
    float *const yn = y + GHP_PAD4(n_out);
    float *yo = y;
    /* 1. The integer sums of four rows at a time, stored as int32 bit patterns in y. */
    while (yo < yn) {
        int32_t r0 = 0;
        int32_t r1;
        int32_t r2 = 0;
        int32_t r3;
        const uint32_t *xi = xq;
        int64_t a01 = 0;
        int64_t a23 = 0;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
        /* In assembly (gcc -Os spills the accumulators): eight inputs per iteration, entered in the middle for an odd
         * number of groups of four, 32 instructions per 32 MACs (LDRD two input pairs, LDRD two weight words, and per
         * word SMLALD, SXTB16 in place, SMLAD); then S = (A - R) / 256 (exact) by a 64-bit subtract and shift. w0
         * enters holding the parity of the number of groups. */
        uint32_t x01;
        uint32_t x23;
        uint32_t w0 = (GHP_PAD4(n_in) / 4u) & 1u;
        uint32_t w1;
        __asm__ volatile(
            "cbz %[w0], 1f\n\t"
            "b 2f\n\t"
            "1:\n\t"
            "ldrd %[x01], %[x23], [%[xi]], #8\n\t"
            "ldrd %[w0], %[w1], [%[q]], #8\n\t"
            "smlald %Q[a01], %R[a01], %[w0], %[x01]\n\t"
            "sxtb16 %[w0], %[w0]\n\t"
            "smlad %[r0], %[w0], %[x01], %[r0]\n\t"
            "smlald %Q[a23], %R[a23], %[w1], %[x01]\n\t"
            "sxtb16 %[w1], %[w1]\n\t"
            "smlad %[r2], %[w1], %[x01], %[r2]\n\t"
            "ldrd %[w0], %[w1], [%[q]], #8\n\t"
            "smlald %Q[a01], %R[a01], %[w0], %[x23]\n\t"
            "sxtb16 %[w0], %[w0]\n\t"
            "smlad %[r0], %[w0], %[x23], %[r0]\n\t"
            "smlald %Q[a23], %R[a23], %[w1], %[x23]\n\t"
            "sxtb16 %[w1], %[w1]\n\t"
            "smlad %[r2], %[w1], %[x23], %[r2]\n\t"
            "2:\n\t"
            "ldrd %[x01], %[x23], [%[xi]], #8\n\t"
            "ldrd %[w0], %[w1], [%[q]], #8\n\t"
            "smlald %Q[a01], %R[a01], %[w0], %[x01]\n\t"
            "sxtb16 %[w0], %[w0]\n\t"
            "smlad %[r0], %[w0], %[x01], %[r0]\n\t"
            "smlald %Q[a23], %R[a23], %[w1], %[x01]\n\t"
            "sxtb16 %[w1], %[w1]\n\t"
            "smlad %[r2], %[w1], %[x01], %[r2]\n\t"
            "ldrd %[w0], %[w1], [%[q]], #8\n\t"
            "smlald %Q[a01], %R[a01], %[w0], %[x23]\n\t"
            "sxtb16 %[w0], %[w0]\n\t"
            "smlad %[r0], %[w0], %[x23], %[r0]\n\t"
            "smlald %Q[a23], %R[a23], %[w1], %[x23]\n\t"
            "sxtb16 %[w1], %[w1]\n\t"
            "smlad %[r2], %[w1], %[x23], %[r2]\n\t"
            "cmp %[xi], %[xn]\n\t"
            "bcc 1b\n\t"
            "subs %Q[a01], %Q[a01], %[r0]\n\t"
            "sbc %R[a01], %R[a01], %[r0], asr #31\n\t"
            "lsrs %Q[a01], %Q[a01], #8\n\t"
            "orr %Q[a01], %Q[a01], %R[a01], lsl #24\n\t"
            "subs %Q[a23], %Q[a23], %[r2]\n\t"
            "sbc %R[a23], %R[a23], %[r2], asr #31\n\t"
            "lsrs %Q[a23], %Q[a23], #8\n\t"
            "orr %Q[a23], %Q[a23], %R[a23], lsl #24"
            : [q] "+r"(q), [xi] "+r"(xi), [r0] "+r"(r0), [r2] "+r"(r2), [a01] "+r"(a01), [a23] "+r"(a23),
              [x01] "=&r"(x01), [x23] "=&r"(x23), [w0] "+l"(w0), [w1] "=&r"(w1)
            : [xn] "r"(xn)
            : "cc", "memory");
        r1 = (int32_t)(uint32_t)a01; /* the low word holds S after the shift */
        r3 = (int32_t)(uint32_t)a23;
#else
        do {
            const uint32_t x01 = xi[0];
            const uint32_t x23 = xi[1];
            uint32_t w = q[0];
            r0 = ghp_smlad(ghp_sxtb16(w), x01, r0);
            a01 = ghp_smlald(w, x01, a01);
            w = q[1];
            r2 = ghp_smlad(ghp_sxtb16(w), x01, r2);
            a23 = ghp_smlald(w, x01, a23);
            w = q[2];
            r0 = ghp_smlad(ghp_sxtb16(w), x23, r0);
            a01 = ghp_smlald(w, x23, a01);
            w = q[3];
            r2 = ghp_smlad(ghp_sxtb16(w), x23, r2);
            a23 = ghp_smlald(w, x23, a23);
            q += 4;
            xi += 2;
        } while (xi < xn);
        r1 = (int32_t)((a01 - r0) / 256);
        r3 = (int32_t)((a23 - r2) / 256);
#endif
        memcpy(&yo[0], &r0, sizeof r0);
        memcpy(&yo[1], &r1, sizeof r1);
        memcpy(&yo[2], &r2, sizeof r2);
        memcpy(&yo[3], &r3, sizeof r3);
        yo += 4;
    }
    /* 2. the outputs, in place */
    return ghp_i8_outputs(y, scale, b, sx, GHP_PAD4(n_out), act);
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
