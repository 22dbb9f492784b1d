@@BANNER@@
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "FreeRTOS.h"
#include "task.h"

#include "app.h"
#include "controller.h"
#include "controller_pid.h"
#include "crtp_supervisor.h"
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
/* Actions the observation carries, oldest first (the run's action_history; 1: the previous action, 0: none). */
#define GHP_HISTORY @@HISTORY@@u
/* The policy runs at the training rate inside the 1 kHz stabilizer call and holds its output in between. */
#define GHP_POLICY_RATE_HZ @@RATE@@
#define GHP_DEG2RAD @@DEG2RAD@@
/* Tolerance of the embedded self-test: actions of this chip against torch's, in the units of tanh's output. */
#define GHP_SELFTEST_TOL @@SELFTEST_TOL@@

/* Fault codes of the log variable ghp.fault (0: none); ghp.faultIdx says which entry. Any fault stops the motors and
 * asks the firmware's supervisor for an emergency stop (crtpSupervisorSetEmergencyStop: it locks the supervisor, as
 * the client's emergency stop does, until the drone is restarted). */
#define GHP_FAULT_OBS_NONFINITE 1u /* an observation entry is NaN or +-Inf (a broken state estimate or setpoint) */
#define GHP_FAULT_OBS_RANGE 2u     /* an observation entry lies outside the range the policy was trained on */
#define GHP_FAULT_ACT_NONFINITE 3u /* an action entry is NaN or +-Inf */
#define GHP_FAULT_ACT_RANGE 4u     /* an action entry lies outside the policy's action bounds */

#if @@UNAME@@_OBS_DIM != @@OBS_DIM@@ || @@UNAME@@_ACT_DIM != @@ACT_DIM@@
#error "the policy header does not match the controller's observation / action sizes"
#endif

/* Everything lives in static storage: the stabilizer task's stack is about 1.8 KB. */
static float ghpObs[GHP_OBS_DIM];          /* last observation given to the policy (log ghp.obsN) */
static float ghpAction[GHP_ACT_DIM];       /* last action of the policy, in [-1, 1] (log ghp.actN) */
#if GHP_HISTORY > 0u
/* Ring buffer of the last GHP_HISTORY actions the policy gave (what the observation reports as past actions);
 * ghpHistoryNext is the slot of the oldest one, which the next action overwrites. */
static float ghpHistory[GHP_HISTORY][GHP_ACT_DIM];
static uint32_t ghpHistoryNext;
#endif
static float ghpForces[STABILIZER_NR_OF_MOTORS]; /* normalised motor forces held between policy steps */
static float ghpTarget[3];                 /* position the policy flies to, world frame, m (log ghp.tx/ty/tz) */
static float ghpTargetVel[3];              /* the setpoint's velocity, world frame, m/s (log ghp.tvx/tvy/tvz) */
static float ghpIntegral[3];               /* leaky integral of the position error, world frame, m s (position_integral) */
static float ghpHold[3];                   /* position when the policy took over, m */
static uint32_t ghpInferUs;                /* duration of the last policy call, microseconds (log ghp.us) */
static uint8_t ghpEnable;                  /* param ghp.enable: 0 = firmware PID (default), 1 = policy */
static uint8_t ghpHoldTarget;              /* param ghp.hold: 1 = ignore setpoints, hold the takeover position */
static uint8_t ghpActive;                  /* log ghp.active: 1 while the policy drives the motors */
static uint8_t ghpStarted;                 /* 1 once the policy has run since it took over */
static uint8_t ghpFault;                   /* log ghp.fault: GHP_FAULT_* (0 = none); thrust cut while set */
static uint8_t ghpFaultIdx;                /* log ghp.faultIdx: the observation or action entry that faulted */
static uint8_t ghpSelftestOk;              /* log ghp.selftest: 1 = the embedded self-test passed */

static float ghpClamp(const float x, const float lo, const float hi)
{
    return (x < lo) ? lo : ((x > hi) ? hi : x);
}

/* Checked before any clamp: the fault code of the first entry of x that is not finite (nonFinite) or lies outside
 * [lo[i], hi[i]] (outOfRange), its index in *index; 0 when every entry is finite and inside. */
static uint8_t ghpCheck(const float *x, const float *lo, const float *hi, const uint32_t n, const uint8_t nonFinite,
                        const uint8_t outOfRange, uint8_t *index)
{
    uint32_t i;
    for (i = 0u; i < n; ++i) {
        if (!isfinite(x[i])) {
            *index = (uint8_t)i;
            return nonFinite;
        }
        if (!(x[i] >= lo[i] && x[i] <= hi[i])) {
            *index = (uint8_t)i;
            return outOfRange;
        }
    }
    return 0u;
}

/* A fault: motors off now, the fault latched, and the supervisor told (it locks, as on the client's emergency stop). */
static void ghpSetFault(const uint8_t code, const uint8_t index)
{
    uint32_t i;
    if (ghpFault == 0u) {
        ghpFault = code;
        ghpFaultIdx = index;
        crtpSupervisorSetEmergencyStop();
        DEBUG_PRINT("ghp fault %u at entry %u: motors stopped, emergency stop requested\n", (unsigned)code,
                    (unsigned)index);
    }
    for (i = 0u; i < STABILIZER_NR_OF_MOTORS; ++i) {
        ghpForces[i] = 0.0f;
    }
}

/* The observation exactly as the training environment builds it, from the firmware's state in its own units. */
static const float ghpObsLow[GHP_OBS_DIM] = {
@@OBS_LOW@@
};
static const float ghpObsHigh[GHP_OBS_DIM] = {
@@OBS_HIGH@@
};
/* The range an observation entry may take before the clip: the bounds above widened by @@RANGE_MARGIN@@ of themselves
 * (float rounding of the rotation matrix); beyond them the state is one the policy never saw (the environment
 * terminates its episodes there), and the controller faults instead of flying on a saturated input. */
static const float ghpObsFaultLow[GHP_OBS_DIM] = {
@@OBS_FAULT_LOW@@
};
static const float ghpObsFaultHigh[GHP_OBS_DIM] = {
@@OBS_FAULT_HIGH@@
};
/* The action's range: the policy's action bounds widened by @@RANGE_MARGIN@@ of their span. */
static const float ghpActFaultLow[GHP_ACT_DIM] = {
@@ACT_FAULT_LOW@@
};
static const float ghpActFaultHigh[GHP_ACT_DIM] = {
@@ACT_FAULT_HIGH@@
};
#if GHP_HISTORY > 0u
/* What every history slot holds in a freshly reset episode: what the observation reports before the first step. */
static const float ghpInitialAction[GHP_ACT_DIM] = {
@@HISTORY_INIT@@
};
#endif

/* The raw observation, not clipped yet (ghpClipObservation clips it once it has been checked). targetVel: the
 * setpoint's velocity (the feed-forward of a path; 0 for a plain position setpoint, the observation of hover). */
static void ghpObservation(const state_t *state, const sensorData_t *sensors, const float target[3],
                           const float targetVel[3])
{
@@OBS_CODE@@
}

/* One step of the position error's integral (a position_integral run), before each policy step but the first after a
 * takeover: the environment accumulates it after every step and observes 0 at reset. */
static void ghpIntegrate(const state_t *state)
{
@@INTEGRAL_CODE@@
}

/* The checked observation's position error as the policy was trained to see it (an error_clip run: at most that
 * long; the range check above reads the true error). */
static void ghpErrorClip(void)
{
@@ERROR_CLIP_CODE@@
}

/* The checked observation in the frame the policy was trained in (a yaw_frame run: turned by the heading; the range
 * check above reads the world frame, as the environment's termination does). */
static void ghpHeadingFrame(void)
{
@@FRAME_CODE@@
}

static void ghpClipObservation(void)
{
    uint32_t i;
    for (i = 0u; i < GHP_OBS_DIM; ++i) {
        ghpObs[i] = ghpClamp(ghpObs[i], ghpObsLow[i], ghpObsHigh[i]);
    }
}

/* The newest action into the ring buffer, over the oldest. */
static void ghpRemember(const float action[GHP_ACT_DIM])
{
#if GHP_HISTORY > 0u
    uint32_t k;
    for (k = 0u; k < GHP_ACT_DIM; ++k) {
        ghpHistory[ghpHistoryNext][k] = action[k];
    }
    ghpHistoryNext = (ghpHistoryNext + 1u) % GHP_HISTORY;
#else
    (void)action;
#endif
}

/* Back to a freshly reset episode (at init and at every takeover): the history as the environment's reset fills it. */
static void ghpReset(void)
{
    uint32_t i;
#if GHP_HISTORY > 0u
    uint32_t k;
    for (i = 0u; i < GHP_HISTORY; ++i) {
        for (k = 0u; k < GHP_ACT_DIM; ++k) {
            ghpHistory[i][k] = ghpInitialAction[k];
        }
    }
    ghpHistoryNext = 0u;
#endif
    for (i = 0u; i < GHP_ACT_DIM; ++i) {
        ghpAction[i] = 0.0f;
    }
    for (i = 0u; i < STABILIZER_NR_OF_MOTORS; ++i) {
        ghpForces[i] = 0.0f;
    }
    for (i = 0u; i < 3u; ++i) {
        ghpIntegral[i] = 0.0f;
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
    ghpFaultIdx = 0u;
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
        ghpFaultIdx = 0u;
        controllerPid(control, setpoint, sensors, state, stabilizerStep);
        return;
    }
    if (ghpActive == 0u) {
        /* Takeover: remember where we are, start from the environment's reset action history. */
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
            /* The high-level commander (trajectories, go_to, takeoff, land) and full-state setpoints fill the
             * velocity along the path; a plain position setpoint leaves it 0 (the commander zeroes every setpoint). */
            ghpTarget[0] = setpoint->position.x;
            ghpTarget[1] = setpoint->position.y;
            ghpTarget[2] = setpoint->position.z;
            ghpTargetVel[0] = setpoint->velocity.x;
            ghpTargetVel[1] = setpoint->velocity.y;
            ghpTargetVel[2] = setpoint->velocity.z;
        } else {
            ghpTarget[0] = ghpHold[0];
            ghpTarget[1] = ghpHold[1];
            ghpTarget[2] = ghpHold[2];
            ghpTargetVel[0] = 0.0f;
            ghpTargetVel[1] = 0.0f;
            ghpTargetVel[2] = 0.0f;
        }
        uint8_t index = 0u;
        uint8_t fault;
        if (ghpStarted != 0u) {
            ghpIntegrate(state);
        }
        ghpObservation(state, sensors, ghpTarget, ghpTargetVel);
        /* Checked before the clip: a clip would turn +-Inf or a runaway estimate into a plausible bound. */
        fault = ghpCheck(ghpObs, ghpObsFaultLow, ghpObsFaultHigh, GHP_OBS_DIM, GHP_FAULT_OBS_NONFINITE,
                         GHP_FAULT_OBS_RANGE, &index);
        if (fault != 0u) {
            ghpSetFault(fault, index);
        } else {
            ghpErrorClip();
            ghpHeadingFrame();
            ghpClipObservation();
            t0 = usecTimestamp();
            @@NAME@@_act(ghpObs, ghpAction);
            ghpInferUs = (uint32_t)(usecTimestamp() - t0);
            /* Checked before the force clamp, for the same reason. */
            fault = ghpCheck(ghpAction, ghpActFaultLow, ghpActFaultHigh, GHP_ACT_DIM, GHP_FAULT_ACT_NONFINITE,
                             GHP_FAULT_ACT_RANGE, &index);
            if (fault != 0u) {
                ghpSetFault(fault, index);
            } else {
                for (i = 0u; i < GHP_ACT_DIM; ++i) {
@@FORCE_CODE@@
                }
                ghpRemember(ghpAction);
                ghpStarted = 1u;
            }
        }
    }
    if (ghpFault != 0u) {
        /* Latched until ghp.enable goes back to 0; the supervisor stays locked until the drone restarts. */
        ghpSetFault(ghpFault, ghpFaultIdx);
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
LOG_ADD(LOG_FLOAT, tvx, &ghpTargetVel[0])
LOG_ADD(LOG_FLOAT, tvy, &ghpTargetVel[1])
LOG_ADD(LOG_FLOAT, tvz, &ghpTargetVel[2])
LOG_ADD(LOG_UINT32, us, &ghpInferUs)
LOG_ADD(LOG_UINT8, active, &ghpActive)
LOG_ADD(LOG_UINT8, fault, &ghpFault)
LOG_ADD(LOG_UINT8, faultIdx, &ghpFaultIdx)
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
