"""Crazyflie 2.x tasks ``ghp/CrazyflieHover-v0``, ``ghp/CrazyflieGoTo-v0`` and ``ghp/CrazyflieTrack-v0``, faithful to
what the firmware gives a controller and accepts from it.

**Interface contract** (the firmware exporter reads these names from this package; keep them stable):

- Policy period :data:`POLICY_DT` = 0.01 s (the stabilizer's ``RATE_100_HZ``), episodes of :data:`EPISODE_STEPS` steps.
- Observation: :data:`OBS_DIM` = 22 float32 values, laid out as :data:`OBS_LAYOUT` (name, offset, size, clip bound,
  unit, firmware source); each entry is clipped to ``+-bound`` (:data:`OBS_CLIP` holds the 22 bounds in order).
  That is the default ``action_history=1``: the last block is the previous action. With ``action_history=K`` the
  last block holds the last K actions instead, oldest first (``18 + 4 K`` values; K = 0: no action at all), laid out
  by :func:`obs_layout` / :func:`obs_clip`. At reset every slot holds zeros (:data:`INITIAL_ACTION`).
  :func:`firmware_observation` builds one observation from firmware-unit quantities (``state->position`` m,
  ``state->velocity`` m/s, ``state->attitudeQuaternion`` x, y, z, w, ``sensors->gyro`` deg/s, ``setpoint->position``
  m, ``setpoint->velocity`` m/s and the action history), which is what an exported controller computes on the drone.
  The velocity entry is ``v - v_setpoint``: the setpoint's velocity is the reference's feed-forward when tracking a
  path and zero for hover and goto, whose observation is therefore exactly ``v``.
- Action: the policy outputs ``a`` in [-1, 1]^4; :func:`action_to_forces` maps it to the firmware's
  ``control->normalizedForces[i] = (a_i + 1) / 2`` in motor order M1..M4 (``controlModeForce``). Nominal hover is
  :data:`HOVER_ACTION` = 0.185 on every motor; the action is never re-centred on a randomised airframe's hover.

**Tasks.** Hover: start near the target (position error in a ball of 0.2 m, up to 30 degrees of tilt, up to
0.5 m/s and 1 rad/s; 20% of episodes start at rest on the target) and hold it. GoTo: start up to 1 m from the target
(up to 10 degrees, 0.2 m/s, 0.5 rad/s), fly there and hold it. Motors start at the nominal hover speed. Termination:
a position error beyond ``term_pos`` on any axis (hover 1 m, goto 2 m), a speed beyond 4 m/s on any axis, a body rate
beyond the gyro's 2000 deg/s, or upside down (body z pointing below the horizon). ``info["is_success"]``: the position
error stayed under :data:`SUCCESS_RADIUS` for the whole last :data:`SUCCESS_STEPS` steps (2 s) and the episode was not
terminated. There is no floor (as in l2f): targets sit 1 m up and the termination bounds keep the drone above it.
Track: the setpoint moves along a figure eight (a Lissajous curve ``u = A sin(th)``, ``w = (A / 2) sin(2 th)``,
``th = 2 pi t / T + phi``, in a horizontal plane turned by a heading, around a centre drawn as hover's target), with
amplitude ``A``, period ``T``, phase ``phi`` and heading drawn per episode (``track_*`` options); the observation's
position error is ``p - p_ref(t)`` and its velocity entry ``v - v_ref(t)`` (the feed-forward). The drone starts near
the reference's first point (0.1 m, 10 degrees, 0.2 m/s around ``v_ref(0)``; 20% exactly on it) and succeeds as in
hover, the position error under 0.1 m for the whole last 2 s; ``info["tracking_error"]`` is ``|p - p_ref|`` per step.

**Reward** (dense, after RLtools' l2f: position, orientation, velocity and action-change terms), per step::

    r = exp(-(P |e| + 0.2 (1 - R_zz) + 0.05 |v| + 0.002 |w| + 0.02 |a - a_prev|^2 + W (1 - (R_xx + R_yy) / 2)))

with ``e`` the position error (m), ``R_zz`` the cosine of the tilt, ``v`` the velocity (m/s; when tracking the
velocity error ``v - v_ref``), ``w`` the body rate (rad/s), ``a - a_prev`` the action change and ``R_xx + R_yy`` the
heading's cosine term (``P = position_weight``, 8 for hover and 2 for goto and track by default; ``W =
yaw_weight``, 0 by default: the heading is free; hover observes in the frame of its
heading, ``yaw_frame``). It is positive everywhere, so staying alive always pays and termination is never a shortcut,
and it is steep near the target, where the success criterion lives (0.1 m). ``reward=linear`` gives the first form,
``1 - cost`` with a position weight of 0.5 (``position_weight=0.5``): policies trained on it fly but rarely hold the
0.1 m box (docs/crazyflie-results.md measures both).

**Domain randomisation** (on by default, :class:`CrazyflieConfig`; ``nominal=True`` switches all of it off): mass
x[0.9, 1.1], inertia x[0.8, 1.2] (xx = yy, zz separately), thrust-to-weight [1.5, 2.0] (nominal 1.69), motor time
constants x[0.7, 1.5] (covers drone-models' 0.13 s), yaw coefficient x[0.7, 1.3] (covers the thrust kit's 0.0052
and the legacy propellers' 0.0074), per-motor thrust gain x[0.95, 1.05], observation noise (position 2 mm, rotation
0.01 rad, velocity 0.02 m/s, gyro 0.02 rad/s: :data:`NOISE_STD`, times ``obs_noise``, each channel replaceable by
``noise_position`` / ``noise_rotation`` / ``noise_velocity`` / ``noise_gyro``), a constant disturbance force up to 3%
of the weight per axis and torque up to 2e-5 N m per axis per episode, and an optional one-step action latency.

**Modules** (their public names are re-exported here, the contract's one address; repository code imports each
from its owner):
:mod:`.interface` (the firmware contract: period, observation layout and bounds, action map, ``observe`` and
``firmware_observation``), :mod:`.config` (the tasks and :class:`CrazyflieConfig`), :mod:`.reward` (the reward),
:mod:`.sampling` (per-episode parameters, start state and tracked path), :mod:`.batch` (the numpy simulator of N
drones, :class:`CrazyflieBatch`) and :mod:`.env` (the gymnasium environments and their registration). The dynamics
are :mod:`ghp.envs.quadrotor`'s.
"""

from ghp.envs.crazyflie.batch import CrazyflieBatch
from ghp.envs.crazyflie.config import (
    EPISODE_STEPS,
    NOISE_STD,
    SUCCESS_RADIUS,
    SUCCESS_STEPS,
    TASKS,
    CrazyflieConfig,
    Range,
)
from ghp.envs.crazyflie.env import ENV_IDS, CrazyflieEnv, CrazyflieVectorEnv, register
from ghp.envs.crazyflie.interface import (
    ACT_DIM,
    ANGVEL_CLIP,
    HOVER_ACTION,
    INITIAL_ACTION,
    OBS_CLIP,
    OBS_DIM,
    OBS_LAYOUT,
    POLICY_DT,
    POS_CLIP,
    VEL_CLIP,
    action_to_forces,
    firmware_observation,
    obs_clip,
    obs_layout,
    observe,
)
from ghp.envs.crazyflie.reward import REWARD_WEIGHTS
from ghp.envs.crazyflie.sampling import Track, sample_params, sample_start, sample_track

__all__ = [
    "ACT_DIM",
    "ANGVEL_CLIP",
    "ENV_IDS",
    "EPISODE_STEPS",
    "HOVER_ACTION",
    "INITIAL_ACTION",
    "NOISE_STD",
    "OBS_CLIP",
    "OBS_DIM",
    "OBS_LAYOUT",
    "POLICY_DT",
    "POS_CLIP",
    "REWARD_WEIGHTS",
    "SUCCESS_RADIUS",
    "SUCCESS_STEPS",
    "TASKS",
    "VEL_CLIP",
    "CrazyflieBatch",
    "CrazyflieConfig",
    "CrazyflieEnv",
    "CrazyflieVectorEnv",
    "Range",
    "Track",
    "action_to_forces",
    "firmware_observation",
    "obs_clip",
    "obs_layout",
    "observe",
    "register",
    "sample_params",
    "sample_start",
    "sample_track",
]
