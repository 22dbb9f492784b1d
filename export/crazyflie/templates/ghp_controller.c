@@BANNER@@
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "FreeRTOS.h"
#include "task.h"

#include "app.h"
#include "controller.h"
#include "controller_pid.h"
#include "log.h"
#include "param.h"
#include "stabilizer_types.h"
#include "usec_time.h"

#define DEBUG_MODULE "GHP"
#include "debug.h"

#include "@@NAME@@.h"

/* Observation and action layout of the training environment (@@ENV_MODULE@@). */
#define GHP_OBS_DIM @@OBS_DIM@@u
#define GHP_ACT_DIM @@ACT_DIM@@u
/* The policy runs at the training rate inside the 1 kHz stabilizer call and holds its output in between. */
#define GHP_POLICY_RATE_HZ @@RATE@@
#define GHP_DEG2RAD @@DEG2RAD@@
/* Tolerance of the embedded self-test: actions of this chip against torch's, in the units of tanh's output. */
#define GHP_SELFTEST_TOL @@SELFTEST_TOL@@

#if @@UNAME@@_OBS_DIM != @@OBS_DIM@@ || @@UNAME@@_ACT_DIM != @@ACT_DIM@@
#error "the policy header does not match the controller's observation / action sizes"
#endif

/* Everything lives in static storage: the stabilizer task's stack is about 1.8 KB. */
static float ghpObs[GHP_OBS_DIM];          /* last observation given to the policy (log ghp.obsN) */
static float ghpAction[GHP_ACT_DIM];       /* last action of the policy, in [-1, 1] (log ghp.actN) */
static float ghpPrevAction[GHP_ACT_DIM];   /* the action the observation reports as "previous" */
static float ghpForces[STABILIZER_NR_OF_MOTORS]; /* normalised motor forces held between policy steps */
static float ghpTarget[3];                 /* position the policy flies to, world frame, m (log ghp.tx/ty/tz) */
static float ghpHold[3];                   /* position when the policy took over, m */
static uint32_t ghpInferUs;                /* duration of the last policy call, microseconds (log ghp.us) */
static uint8_t ghpEnable;                  /* param ghp.enable: 0 = firmware PID (default), 1 = policy */
static uint8_t ghpHoldTarget;              /* param ghp.hold: 1 = ignore setpoints, hold the takeover position */
static uint8_t ghpActive;                  /* log ghp.active: 1 while the policy drives the motors */
static uint8_t ghpStarted;                 /* 1 once the policy has run since it took over */
static uint8_t ghpFault;                   /* log ghp.fault: 1 = a non-finite value was seen, thrust cut */
static uint8_t ghpSelftestOk;              /* log ghp.selftest: 1 = the embedded self-test passed */

static float ghpClamp(const float x, const float lo, const float hi)
{
    /* Written with comparisons, not fminf/fmaxf, so a NaN stays a NaN and is caught by ghpAllFinite. */
    return (x < lo) ? lo : ((x > hi) ? hi : x);
}

static bool ghpAllFinite(const float *x, const uint32_t n)
{
    uint32_t i;
    for (i = 0u; i < n; ++i) {
        if (!isfinite(x[i])) {
            return false;
        }
    }
    return true;
}

/* The observation exactly as the training environment builds it, from the firmware's state in its own units. */
static const float ghpObsLow[GHP_OBS_DIM] = {
@@OBS_LOW@@
};
static const float ghpObsHigh[GHP_OBS_DIM] = {
@@OBS_HIGH@@
};
/* The previous action of a freshly reset episode: what the observation reports before the first policy step. */
static const float ghpInitialPrevAction[GHP_ACT_DIM] = {
@@PREV_INIT@@
};

static void ghpObservation(const state_t *state, const sensorData_t *sensors, const float target[3])
{
    uint32_t i;
@@OBS_CODE@@
    for (i = 0u; i < GHP_OBS_DIM; ++i) {
        ghpObs[i] = ghpClamp(ghpObs[i], ghpObsLow[i], ghpObsHigh[i]);
    }
}

static void ghpReset(void)
{
    uint32_t i;
    for (i = 0u; i < GHP_ACT_DIM; ++i) {
        ghpPrevAction[i] = ghpInitialPrevAction[i];
        ghpAction[i] = 0.0f;
    }
    for (i = 0u; i < STABILIZER_NR_OF_MOTORS; ++i) {
        ghpForces[i] = 0.0f;
    }
    ghpStarted = 0u;
}

static bool ghpSelftest(void)
{
#ifndef @@UNAME@@_NO_SELFTEST
    return @@NAME@@_selftest(GHP_SELFTEST_TOL) == 0;
#else
    return true;
#endif
}

void appMain(void)
{
    /* The self-test runs when the controller is selected (stabilizer.controller = 6), in the stabilizer task:
     * the policy's buffers are static, so it is never called from this task. */
    DEBUG_PRINT("ghp policy @@ARCH@@ loaded: select stabilizer.controller=6, then set ghp.enable=1\n");
    while (1) {
        vTaskDelay(M2T(2000));
    }
}

void controllerOutOfTreeInit(void)
{
    controllerPidInit();
    ghpReset();
    ghpActive = 0u;
    ghpFault = 0u;
    ghpSelftestOk = ghpSelftest() ? 1u : 0u;
    DEBUG_PRINT("ghp policy @@ARCH@@: self-test %s\n", ghpSelftestOk != 0u ? "passed" : "FAILED (the PID keeps flying)");
}

bool controllerOutOfTreeTest(void)
{
    ghpSelftestOk = ghpSelftest() ? 1u : 0u;
    return controllerPidTest() && ghpSelftestOk != 0u;
}

void controllerOutOfTree(control_t *control, const setpoint_t *setpoint, const sensorData_t *sensors,
                         const state_t *state, const stabilizerStep_t stabilizerStep)
{
    uint32_t i;
    const bool policyTick = RATE_DO_EXECUTE(GHP_POLICY_RATE_HZ, stabilizerStep);

    if (ghpEnable == 0u || ghpSelftestOk == 0u) {
        /* Disabled (the default) or a failed self-test: the firmware's own PID controller flies. */
        if (ghpActive != 0u) {
            controllerPidInit(); /* hand back with fresh integrators, not those of before the takeover */
        }
        ghpActive = 0u;
        ghpFault = 0u;
        controllerPid(control, setpoint, sensors, state, stabilizerStep);
        return;
    }
    if (ghpActive == 0u) {
        /* Takeover: remember where we are, start from the environment's initial previous action. */
        ghpReset();
        ghpHold[0] = state->position.x;
        ghpHold[1] = state->position.y;
        ghpHold[2] = state->position.z;
        ghpActive = 1u;
    }
    if (ghpStarted == 0u && !policyTick) {
        /* Until the first policy step on the training rate's grid (at most one period), PID keeps flying. */
        controllerPid(control, setpoint, sensors, state, stabilizerStep);
        return;
    }
    if (policyTick && ghpFault == 0u) {
        const bool absolute = setpoint->mode.x == modeAbs && setpoint->mode.y == modeAbs && setpoint->mode.z == modeAbs;
        uint64_t t0;
        if (absolute && ghpHoldTarget == 0u) {
            ghpTarget[0] = setpoint->position.x;
            ghpTarget[1] = setpoint->position.y;
            ghpTarget[2] = setpoint->position.z;
        } else {
            ghpTarget[0] = ghpHold[0];
            ghpTarget[1] = ghpHold[1];
            ghpTarget[2] = ghpHold[2];
        }
        ghpObservation(state, sensors, ghpTarget);
        if (!ghpAllFinite(ghpObs, GHP_OBS_DIM)) {
            ghpFault = 1u;
        } else {
            t0 = usecTimestamp();
            @@NAME@@_act(ghpObs, ghpAction);
            ghpInferUs = (uint32_t)(usecTimestamp() - t0);
            if (!ghpAllFinite(ghpAction, GHP_ACT_DIM)) {
                ghpFault = 1u;
            } else {
                for (i = 0u; i < GHP_ACT_DIM; ++i) {
@@FORCE_CODE@@
                    ghpPrevAction[i] = ghpAction[i];
                }
                ghpStarted = 1u;
            }
        }
    }
    if (ghpFault != 0u) {
        /* A non-finite state estimate or action: cut thrust (latched until ghp.enable goes back to 0). */
        for (i = 0u; i < STABILIZER_NR_OF_MOTORS; ++i) {
            ghpForces[i] = 0.0f;
        }
    }
    control->controlMode = controlModeForce;
    for (i = 0u; i < STABILIZER_NR_OF_MOTORS; ++i) {
        control->normalizedForces[i] = ghpForces[i];
    }
}

/**
 * The policy's observation and action, its timing and state.
 */
LOG_GROUP_START(ghp)
@@LOG_OBS@@
LOG_ADD(LOG_FLOAT, tx, &ghpTarget[0])
LOG_ADD(LOG_FLOAT, ty, &ghpTarget[1])
LOG_ADD(LOG_FLOAT, tz, &ghpTarget[2])
LOG_ADD(LOG_UINT32, us, &ghpInferUs)
LOG_ADD(LOG_UINT8, active, &ghpActive)
LOG_ADD(LOG_UINT8, fault, &ghpFault)
LOG_ADD(LOG_UINT8, selftest, &ghpSelftestOk)
LOG_GROUP_STOP(ghp)

/**
 * Switching the policy on and off.
 */
PARAM_GROUP_START(ghp)
/**
 * @brief 1: the policy flies (needs a passed self-test); 0: the firmware's PID controller flies (default)
 */
PARAM_ADD(PARAM_UINT8, enable, &ghpEnable)
/**
 * @brief 1: ignore position setpoints and hold the position where the policy took over
 */
PARAM_ADD(PARAM_UINT8, hold, &ghpHoldTarget)
PARAM_GROUP_STOP(ghp)
