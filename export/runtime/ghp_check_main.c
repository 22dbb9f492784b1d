/* ghp's check harness: runs an exported policy on the check vectors and reports, one line each,
 *   out <i> <hex bits of each action>     the policy's actions, for a bit-level comparison with Python
 *   selftest <n>                          NAME_selftest(GHP_CHECK_TOL): number of entries off by more than tol
 * and, on the emulated Cortex-M4 (GHP_CHECK_TARGET),
 *   spin <k1> <ticks> <k2> <ticks>        SysTick ticks of a loop of exactly 2 k + c instructions (calibration)
 *   act <r1> <ticks> <r2> <ticks>         ticks of r calls of NAME_act
 *   nop <r1> <ticks> <r2> <ticks>         ticks of r calls of an empty function through the same loop
 *   tanhf <r1> <ticks> <r2> <ticks>       ticks of r rounds of tanhf on the output pre-activations of vector 0
 *   copy <r1> <ticks> <r2> <ticks>        the same loop with a copy instead of tanhf
 *   stack <bytes>                         deepest stack use of one NAME_act call (painted stack)
 * Exit status 0 when the self-test passes, 1 when it fails.
 *
 * Compile with -DGHP_NAME=<name> -DGHP_UNAME=<NAME> -DGHP_HEADER='"<name>.h"'; ghp_check_vectors.h (written by the check) holds
 * GHP_CHECK_N, GHP_CHECK_TOL, ghp_check_obs[GHP_CHECK_N][OBS_DIM] and ghp_check_z[ACT_DIM].
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include GHP_HEADER
#include "ghp_check_platform.h"
#include "ghp_check_vectors.h"

#define GHP_CAT_(a, b) a##b
#define GHP_CAT(a, b) GHP_CAT_(a, b)
#define GHP_ACT GHP_CAT(GHP_NAME, _act)
#define GHP_SELFTEST GHP_CAT(GHP_NAME, _selftest)
#define GHP_ADIM GHP_CAT(GHP_UNAME, _ACT_DIM)

static float ghp_check_out[GHP_ADIM];

static void ghp_put_hex(uint32_t v)
{
    static char buf[10];
    static const char digits[] = "0123456789abcdef";
    uint32_t k;
    buf[0] = ' ';
    for (k = 0u; k < 8u; ++k) {
        buf[8u - k] = digits[(v >> (4u * k)) & 0xFu];
    }
    buf[9] = '\0';
    ghp_put(buf);
}

static void ghp_put_uint(uint32_t v)
{
    static char buf[12];
    uint32_t pos = 11u;
    buf[pos] = '\0';
    do {
        --pos;
        buf[pos] = (char)('0' + (char)(v % 10u));
        v /= 10u;
    } while (v != 0u && pos > 1u);
    --pos;
    buf[pos] = ' ';
    ghp_put(buf + pos);
}

#ifdef GHP_CHECK_TARGET
typedef void (*ghp_act_fn)(const float *, float *);
static void ghp_nop(const float *obs, float *act)
{
    (void)obs;
    (void)act;
}
static void ghp_act_wrapped(const float *obs, float *act) { GHP_ACT(obs, act); }
static volatile ghp_act_fn ghp_fn_act = ghp_act_wrapped;
static volatile ghp_act_fn ghp_fn_nop = ghp_nop;
static volatile uint32_t ghp_k1 = 1000u;
static volatile uint32_t ghp_k2 = 11000u;
static volatile float ghp_sink;
static volatile float ghp_z_in;

static uint32_t ghp_elapsed(uint32_t t0) { return (t0 - ghp_timer_now()) & 0x00FFFFFFu; }

__attribute__((noinline)) static uint32_t ghp_spin(uint32_t k)
{
    uint32_t t0 = ghp_timer_now();
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(k) : : "cc");
    return ghp_elapsed(t0);
}

__attribute__((noinline)) static uint32_t ghp_time_calls(ghp_act_fn fn, uint32_t reps)
{
    uint32_t r;
    uint32_t t0 = ghp_timer_now();
    for (r = 0u; r < reps; ++r) {
        fn(ghp_check_obs[0], ghp_check_out);
    }
    return ghp_elapsed(t0);
}

/* r rounds of tanhf (with_tanhf) or of a plain copy (the loop's own cost) over the output pre-activations. */
__attribute__((noinline)) static uint32_t ghp_time_tanhf(uint32_t reps, uint32_t with_tanhf)
{
    uint32_t r;
    uint32_t k;
    uint32_t t0 = ghp_timer_now();
    for (r = 0u; r < reps; ++r) {
        for (k = 0u; k < (uint32_t)GHP_ADIM; ++k) {
            ghp_z_in = ghp_check_z[k];
            ghp_sink = with_tanhf != 0u ? tanhf(ghp_z_in) : ghp_z_in;
        }
    }
    return ghp_elapsed(t0);
}

#define GHP_PAINT_WORDS 1024u
__attribute__((noinline)) static uint32_t ghp_stack_used(void)
{
    uint32_t sp;
    volatile uint32_t *lo;
    uint32_t k;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    lo = (volatile uint32_t *)(sp - 4u * GHP_PAINT_WORDS);
    for (k = 0u; k < GHP_PAINT_WORDS; ++k) {
        lo[k] = 0xA5C3E1F7u;
    }
    ghp_fn_act(ghp_check_obs[0], ghp_check_out);
    for (k = 0u; k < GHP_PAINT_WORDS; ++k) {
        if (lo[k] != 0xA5C3E1F7u) {
            break;
        }
    }
    return 4u * (GHP_PAINT_WORDS - k);
}

static void ghp_report_pair(const char *label, uint32_t a, uint32_t ta, uint32_t b, uint32_t tb)
{
    ghp_put(label);
    ghp_put_uint(a);
    ghp_put_uint(ta);
    ghp_put_uint(b);
    ghp_put_uint(tb);
    ghp_put("\n");
}
#endif

int main(void)
{
    uint32_t i;
    uint32_t k;
    uint32_t bits;
    int bad;
    for (i = 0u; i < (uint32_t)GHP_CHECK_N; ++i) {
        GHP_ACT(ghp_check_obs[i], ghp_check_out);
        ghp_put("out");
        ghp_put_uint(i);
        for (k = 0u; k < (uint32_t)GHP_ADIM; ++k) {
            memcpy(&bits, &ghp_check_out[k], sizeof bits);
            ghp_put_hex(bits);
        }
        ghp_put("\n");
    }
    bad = GHP_SELFTEST(GHP_CHECK_TOL);
    ghp_put("selftest");
    ghp_put_uint((uint32_t)bad);
    ghp_put("\n");
#ifdef GHP_CHECK_TARGET
    ghp_timer_start();
    ghp_report_pair("spin", ghp_k1, ghp_spin(ghp_k1), ghp_k2, ghp_spin(ghp_k2));
    ghp_report_pair("act", 1u, ghp_time_calls(ghp_fn_act, 1u), 5u, ghp_time_calls(ghp_fn_act, 5u));
    ghp_report_pair("nop", 1u, ghp_time_calls(ghp_fn_nop, 1u), 5u, ghp_time_calls(ghp_fn_nop, 5u));
    ghp_report_pair("tanhf", 1u, ghp_time_tanhf(1u, 1u), 21u, ghp_time_tanhf(21u, 1u));
    ghp_report_pair("copy", 1u, ghp_time_tanhf(1u, 0u), 21u, ghp_time_tanhf(21u, 0u));
    ghp_put("stack");
    ghp_put_uint(ghp_stack_used());
    ghp_put("\n");
#endif
    return bad == 0 ? 0 : 1;
}
