/* Software-in-the-loop platform for a ghp Crazyflie controller (ghp export --target crazyflie --check).
 *
 * Compiled for the host together with the app's own src/ghp_controller.c, against the firmware's real headers
 * (stabilizer_types.h, controller.h, log.h, param.h, usec_time.h, app.h); this file stands in for what the
 * controller links against in the firmware: FreeRTOS's vTaskDelay, the microsecond timer, the PID controller and the
 * supervisor's emergency stop.
 * It also fills the firmware's structs from flat arrays in the firmware's units, calls the controller as the
 * stabilizer does, and finds LOG and PARAM variables by group and name in their tables, as the firmware does.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "FreeRTOS.h"
#include "task.h"

#include "controller.h"
#include "controller_pid.h"
#include "crtp_supervisor.h"
#include "log.h"
#include "param.h"
#include "stabilizer_types.h"
#include "usec_time.h"

#define DEBUG_MODULE "SIL"
#include "debug.h"

void vTaskDelay(const TickType_t xTicksToDelay)
{
    (void)xTicksToDelay;
}

uint64_t usecTimestamp(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static char silDebug[256];

int ghp_sil_debug_print(const char *fmt, ...)
{
    int n;
    va_list args;
    va_start(args, fmt);
    n = vsnprintf(silDebug, sizeof(silDebug), fmt, args);
    va_end(args);
    return n;
}

/* The last DEBUG_PRINT message. */
const char *ghp_sil_last_debug(void)
{
    return silDebug;
}

/* The supervisor's emergency stop (crtp_supervisor.c): counted, so the harness sees a fault reach the supervisor. */
static int silEmergencyStops;

void crtpSupervisorSetEmergencyStop(void)
{
    ++silEmergencyStops;
}

int ghp_sil_emergency_stops(void)
{
    return silEmergencyStops;
}

/* The PID stand-in marks what it wrote, so the harness can tell who flew a step. */
static int silPidCalls;
static int silPidInits;

void controllerPidInit(void)
{
    ++silPidInits;
}

bool controllerPidTest(void)
{
    return true;
}

void controllerPid(control_t *control, const setpoint_t *setpoint, const sensorData_t *sensors, const state_t *state,
                   const stabilizerStep_t stabilizerStep)
{
    (void)setpoint;
    (void)sensors;
    (void)state;
    (void)stabilizerStep;
    ++silPidCalls;
    memset(control, 0, sizeof(*control));
    control->controlMode = controlModeLegacy;
}

int ghp_sil_pid_calls(void)
{
    return silPidCalls;
}

int ghp_sil_pid_inits(void)
{
    return silPidInits;
}

static control_t silControl;
static setpoint_t silSetpoint;
static sensorData_t silSensors;
static state_t silState;

/* One stabilizer call. Units are the firmware's: position m, velocity m/s (world), quaternion x, y, z, w (body to
 * world), attitude degrees (legacy: pitch inverted), gyro deg/s (body), target m and its velocity m/s (world, as the
 * high-level commander fills setpoint->velocity); absolute != 0 sets the position setpoint's x, y, z modes to
 * modeAbs, else modeDisable. Returns the control mode; forces[4] gets normalizedForces in controlModeForce (NaN
 * otherwise). */
int ghp_sil_call(const float pos[3], const float vel[3], const float quat_xyzw[4], const float attitude_deg[3],
                 const float gyro_dps[3], const float target[3], const float target_vel[3], int absolute,
                 uint32_t step, float forces[4])
{
    int i;
    silState.position.x = pos[0];
    silState.position.y = pos[1];
    silState.position.z = pos[2];
    silState.velocity.x = vel[0];
    silState.velocity.y = vel[1];
    silState.velocity.z = vel[2];
    silState.attitudeQuaternion.x = quat_xyzw[0];
    silState.attitudeQuaternion.y = quat_xyzw[1];
    silState.attitudeQuaternion.z = quat_xyzw[2];
    silState.attitudeQuaternion.w = quat_xyzw[3];
    silState.attitude.roll = attitude_deg[0];
    silState.attitude.pitch = attitude_deg[1];
    silState.attitude.yaw = attitude_deg[2];
    silSensors.gyro.x = gyro_dps[0];
    silSensors.gyro.y = gyro_dps[1];
    silSensors.gyro.z = gyro_dps[2];
    memset(&silSetpoint, 0, sizeof(silSetpoint));
    silSetpoint.position.x = target[0];
    silSetpoint.position.y = target[1];
    silSetpoint.position.z = target[2];
    silSetpoint.velocity.x = target_vel[0];
    silSetpoint.velocity.y = target_vel[1];
    silSetpoint.velocity.z = target_vel[2];
    silSetpoint.mode.x = absolute ? modeAbs : modeDisable;
    silSetpoint.mode.y = absolute ? modeAbs : modeDisable;
    silSetpoint.mode.z = absolute ? modeAbs : modeDisable;
    controllerOutOfTree(&silControl, &silSetpoint, &silSensors, &silState, step);
    for (i = 0; i < 4; ++i) {
        forces[i] = silControl.controlMode == controlModeForce ? silControl.normalizedForces[i] : __builtin_nanf("");
    }
    return (int)silControl.controlMode;
}

extern struct param_s __ghp_param_start[];
extern struct param_s __ghp_param_stop[];
extern const struct log_s __ghp_log_start[];
extern const struct log_s __ghp_log_stop[];

/* The address of parameter group.name, walking the table as the firmware's param.c does (NULL: not found). */
void *ghp_sil_param(const char *group, const char *name)
{
    const struct param_s *p;
    const char *current = "";
    for (p = __ghp_param_start; p < __ghp_param_stop; ++p) {
        if (p->type & PARAM_GROUP) {
            if (p->type & PARAM_START) {
                current = p->name;
            }
        } else if (strcmp(current, group) == 0 && strcmp(p->name, name) == 0) {
            return p->address;
        }
    }
    return NULL;
}

/* The address of log variable group.name (NULL: not found); type receives its LOG_* type. */
void *ghp_sil_log(const char *group, const char *name, int *type)
{
    const struct log_s *v;
    const char *current = "";
    for (v = __ghp_log_start; v < __ghp_log_stop; ++v) {
        if (v->type & LOG_GROUP) {
            if (v->type & LOG_START) {
                current = v->name;
            }
        } else if (strcmp(current, group) == 0 && strcmp(v->name, name) == 0) {
            *type = v->type & 0x0f;
            return v->address;
        }
    }
    return NULL;
}
