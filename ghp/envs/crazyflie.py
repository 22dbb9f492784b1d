"""Crazyflie 2.x tasks ``ghp/CrazyflieHover-v0``, ``ghp/CrazyflieGoTo-v0`` and ``ghp/CrazyflieTrack-v0``, faithful to
what the firmware gives a controller and accepts from it.

**Interface contract** (the firmware exporter reads the module-level constants below; keep them stable):

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

    r = exp(-(2 |e| + 0.2 (1 - R_zz) + 0.05 |v| + 0.002 |w| + 0.02 |a - a_prev|^2))

with ``e`` the position error (m), ``R_zz`` the cosine of the tilt, ``v`` the velocity (m/s; when tracking the
velocity error ``v - v_ref``), ``w`` the body rate
(rad/s) and ``a - a_prev`` the action change. It is positive everywhere, so staying alive always pays and termination
is never a shortcut, and it is steep near the target, where the success criterion lives (0.1 m). ``reward=linear``
gives the first form, ``1 - cost`` with a position weight of 0.5 (``position_weight=0.5``): policies trained on it
fly but rarely hold the 0.1 m box (docs/crazyflie.md measures both).

**Domain randomisation** (on by default, :class:`CrazyflieConfig`; ``nominal=True`` switches all of it off): mass
x[0.9, 1.1], inertia x[0.8, 1.2] (xx = yy, zz separately), thrust-to-weight [1.5, 2.0] (nominal 1.69), motor time
constants x[0.7, 1.5] (covers drone-models' 0.13 s), yaw coefficient x[0.7, 1.3] (covers the thrust kit's 0.0052
and the legacy propellers' 0.0074), per-motor thrust gain x[0.95, 1.05], observation noise (position 2 mm, rotation
0.01 rad, velocity 0.02 m/s, gyro 0.02 rad/s: :data:`NOISE_STD`, times ``obs_noise``, each channel replaceable by
``noise_position`` / ``noise_rotation`` / ``noise_velocity`` / ``noise_gyro``), a constant disturbance force up to 3%
of the weight per axis and torque up to 2e-5 N m per axis per episode, and an optional one-step action latency.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from ghp.envs import quadrotor as qr

POLICY_DT = 0.01
"""Seconds per policy step (100 Hz)."""
EPISODE_STEPS = 500
"""Policy steps per episode (5 s)."""
SUCCESS_RADIUS = 0.1
"""Success: position error norm under this many metres ..."""
SUCCESS_STEPS = 200
"""... for the whole last this many steps (2 s)."""

POS_CLIP = 2.0
"""Position error observation bound, m (per axis)."""
VEL_CLIP = 4.0
"""Linear velocity observation bound, m/s (per axis); also the termination bound."""
ANGVEL_CLIP = float(qr.GYRO_LIMIT)
"""Angular velocity observation bound, rad/s (the gyro's 2000 deg/s); also the termination bound."""
_DIVERGED_COST = 100.0
"""Cost of a non-finite (diverged) state: far above any live drone's (about 6 at the termination limits)."""

OBS_LAYOUT: tuple[tuple[str, int, int, float, str, str], ...] = (
    ("position_error", 0, 3, POS_CLIP, "m, world, p - p_target", "state->position - setpoint->position"),
    ("rotation", 3, 9, 1.0, "body-to-world matrix, row-major", "state->attitudeQuaternion (x, y, z, w)"),
    (
        "velocity",
        12,
        3,
        VEL_CLIP,
        "m/s, world, v - v_target (v_target: the path's velocity when tracking, else 0)",
        "state->velocity - setpoint->velocity",
    ),
    ("angular_velocity", 15, 3, ANGVEL_CLIP, "rad/s, body", "sensors->gyro (deg/s) * pi / 180"),
    ("previous_action", 18, 4, 1.0, "policy output of the previous step, [-1, 1]", "the controller's own memory"),
)
"""Observation entries in order: (name, offset, size, clip bound, unit, firmware source)."""
OBS_DIM = 22
"""Observation size."""
OBS_CLIP = np.concatenate([np.full(size, bound) for _, _, size, bound, _, _ in OBS_LAYOUT]).astype(np.float32)
"""[22] clip bound of each observation entry (the observation is clipped to ``[-OBS_CLIP, OBS_CLIP]``)."""
ACT_DIM = 4
"""Action size: motors M1..M4 in firmware order."""
INITIAL_ACTION = 0.0
"""What every action-history slot holds at reset (before the policy's first action). Zeros, not the hover action:
the default ``action_history=1`` always started from zeros, so saved runs observe what they were trained on; and the
hover action is only the nominal airframe's, no truer than zero on a randomised one (and zero reads as "no action
yet" to the policy and on the drone's log alike)."""
_STATE_LAYOUT = OBS_LAYOUT[:-1]
"""The blocks before the actions (18 values)."""
_STATE_DIM = sum(e[2] for e in _STATE_LAYOUT)


def obs_layout(action_history: int = 1) -> tuple[tuple[str, int, int, float, str, str], ...]:
    """The observation layout with the last ``action_history`` actions (:data:`OBS_LAYOUT` for 1, the default).

    K = 1 keeps the block's name ``previous_action``; any other K > 0 appends one block ``action_history`` of
    ``4 K`` values, the oldest action first (entry ``4 j + i``: motor ``i`` of the action ``K - j`` steps back).
    """
    k = _history_value(action_history)
    if k == 1:
        return OBS_LAYOUT
    if k == 0:
        return _STATE_LAYOUT
    block = (
        "action_history",
        _STATE_DIM,
        ACT_DIM * k,
        1.0,
        f"the last {k} policy outputs, oldest first, [-1, 1]",
        "the controller's own ring buffer",
    )
    return (*_STATE_LAYOUT, block)


def obs_clip(action_history: int = 1) -> np.ndarray:
    """float32 clip bound of each observation entry for ``action_history`` (:data:`OBS_CLIP` for 1)."""
    layout = obs_layout(action_history)
    return np.concatenate([np.full(size, bound) for _, _, size, bound, _, _ in layout]).astype(np.float32)


def _history_value(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int | float | np.integer) or not float(v).is_integer():
        raise ValueError(f"action_history takes a whole number of past actions (0, 1, 16, ...), got {v!r}")
    if v < 0:
        raise ValueError(f"action_history must be 0 or more past actions, got {v!r}")
    return int(v)


HOVER_ACTION = 2.0 * qr.HOVER_FORCE - 1.0
"""Policy action that holds the nominal drone: 2 * 0.029 * 9.81 / (4 * 0.12) - 1 = 0.185."""

REWARD_WEIGHTS = {"position": 2.0, "orientation": 0.2, "velocity": 0.05, "angular_velocity": 0.002, "action": 0.02}
"""Weights of the reward's cost terms (module docstring); ``position`` is the default of ``position_weight``."""


def action_to_forces(action: np.ndarray) -> np.ndarray:
    """Policy action(s) in [-1, 1] -> the firmware's ``normalizedForces`` in [0, 1], motors M1..M4."""
    return (np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0) + 1.0) / 2.0


def observe(
    pos_error: np.ndarray, rot: np.ndarray, vel: np.ndarray, omega: np.ndarray, actions: np.ndarray
) -> np.ndarray:
    """[N, 18 + 4 K] float32 observations from SI quantities ([N, 3] m, [N, 3, 3], [N, 3] m/s, [N, 3] rad/s) and the
    last K actions, oldest first ([N, 4 K] or [N, K, 4]; K = 1 gives the 22 values of :data:`OBS_LAYOUT`)."""
    n = pos_error.shape[0]
    acts = np.asarray(actions, dtype=np.float64).reshape(n, -1)
    obs = np.concatenate([pos_error, rot.reshape(n, 9), vel, omega, acts], axis=1)
    clip = obs_clip(acts.shape[1] // ACT_DIM)
    return np.clip(np.nan_to_num(obs), -clip, clip).astype(np.float32)


def firmware_observation(
    position: Any,
    velocity: Any,
    quaternion_xyzw: Any,
    gyro_deg_s: Any,
    target: Any,
    prev_action: Any,
    target_velocity: Any = (0.0, 0.0, 0.0),
) -> np.ndarray:
    """One [18 + 4 K] float32 observation from the firmware's quantities, in its units ([22] for K = 1).

    Args:
        position: ``state->position`` (x, y, z), m, world.
        velocity: ``state->velocity``, m/s, world.
        quaternion_xyzw: ``state->attitudeQuaternion`` as (x, y, z, w), body to world.
        gyro_deg_s: ``sensors->gyro`` (x, y, z), deg/s, body.
        target: ``setpoint->position``, m, world.
        prev_action: the policy's last K outputs, oldest first, [-1, 1] ([4 K] or [K, 4]; K = 1: the previous
            action; zeros before the first step).
        target_velocity: ``setpoint->velocity``, m/s, world: the path's velocity (feed-forward) when tracking; zero
            for a position setpoint (hover, goto), where the velocity entry is ``state->velocity`` unchanged.
    """
    if np.asarray(prev_action).size % ACT_DIM:
        raise ValueError(f"prev_action takes whole actions of {ACT_DIM} values, got {np.asarray(prev_action).size}")
    p = np.asarray(position, dtype=np.float64).reshape(1, 3)
    t = np.asarray(target, dtype=np.float64).reshape(1, 3)
    rot = qr.quat_to_rot(np.asarray(quaternion_xyzw, dtype=np.float64).reshape(1, 4))
    v = np.asarray(velocity, dtype=np.float64).reshape(1, 3) - np.asarray(target_velocity, np.float64).reshape(1, 3)
    w = np.deg2rad(np.asarray(gyro_deg_s, dtype=np.float64).reshape(1, 3))
    a = np.asarray(prev_action, dtype=np.float64).reshape(1, -1)
    return observe(p - t, rot, v, w, a)[0]


Range = tuple[float, float]

TASKS = ("hover", "goto", "track")
_TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "hover": dict(
        start_pos=0.2, start_tilt_deg=30.0, start_vel=0.5, start_angvel=1.0, start_rest_share=0.2, term_pos=1.0
    ),
    "goto": dict(
        start_pos=1.0, start_tilt_deg=10.0, start_vel=0.2, start_angvel=0.5, start_rest_share=0.0, term_pos=2.0
    ),
    # Near the reference's first point (the start velocity is around the reference's): a path is flown from on it.
    "track": dict(
        start_pos=0.1, start_tilt_deg=10.0, start_vel=0.2, start_angvel=0.5, start_rest_share=0.2, term_pos=1.0
    ),
}
NOISE_STD = {"position": 0.002, "rotation": 0.01, "velocity": 0.02, "angular_velocity": 0.02}
"""Nominal observation noise standard deviations (m, rad, m/s, rad/s), scaled by ``obs_noise``."""
_NOISE_FIELDS = {
    "position": "noise_position",
    "rotation": "noise_rotation",
    "velocity": "noise_velocity",
    "angular_velocity": "noise_gyro",
}
"""The option that replaces each of :data:`NOISE_STD`'s channels."""


@dataclass(frozen=True)
class CrazyflieConfig:
    """Options of the Crazyflie environments (``gym.make(id, **kwargs)`` / ``--env-kwargs KEY=VALUE``).

    Ranges are (low, high) pairs sampled uniformly per episode; scales multiply the nominal firmware constant.
    Start-state fields left ``None`` take the task's defaults (module docstring).
    """

    task: str = "hover"
    """``hover``, ``goto`` or ``track``."""
    nominal: bool = False
    """Switch every randomisation, noise, disturbance and latency off: the nominal Crazyflie 2.x."""
    mass_range: Range = (0.9, 1.1)
    """Mass scale on CF_MASS (0.029 kg)."""
    inertia_range: Range = (0.8, 1.2)
    """Inertia scale (xx = yy and zz drawn separately)."""
    thrust_to_weight_range: Range = (1.5, 2.0)
    """Thrust-to-weight ratio of the airframe (nominal 1.69); sets its maximum thrust per motor."""
    motor_tau_range: Range = (0.7, 1.5)
    """Scale on both motor time constants (0.055 s rising, 0.25 s falling)."""
    yaw_coef_range: Range = (0.7, 1.3)
    """Scale on THRUST2TORQUE."""
    motor_gain_range: Range = (0.95, 1.05)
    """Per-motor thrust gain."""
    obs_noise: float = 1.0
    """Scale on the observation noise standard deviations (:data:`NOISE_STD`); 0 disables."""
    disturbance_force: float = 0.03
    """Constant disturbance force per episode, up to this fraction of the weight per axis."""
    disturbance_torque: float = 2e-5
    """Constant disturbance torque per episode, up to this many N m per axis."""
    wind: float = 0.0
    """A constant force along world x as a fraction of the weight, on top of the random disturbance (a steady wind:
    ``benchmarks/crazyflie_heatmap.py`` flies policies in it; 0, the default, adds nothing)."""
    action_latency: int = 0
    """Policy steps between an action and its effect (0 or 1)."""
    action_history: int = 1
    """How many of the policy's last actions the observation carries, oldest first (:func:`obs_layout`): 1 (the
    default) is the previous action, 0 none, 16 or 32 let a feed-forward policy infer motor lag and the airframe
    (RLtools' l2f uses 32). Every slot is zero at reset (:data:`INITIAL_ACTION`)."""
    noise_position: float | None = None
    """Position noise standard deviation, m (``None``: 0.002 x ``obs_noise``)."""
    noise_rotation: float | None = None
    """Attitude noise standard deviation, rad, a random rotation vector (``None``: 0.01 x ``obs_noise``)."""
    noise_velocity: float | None = None
    """Velocity noise standard deviation, m/s (``None``: 0.02 x ``obs_noise``)."""
    noise_gyro: float | None = None
    """Gyro noise standard deviation, rad/s (``None``: 0.02 x ``obs_noise``)."""
    start_pos: float | None = None
    """Start position error, uniform in a ball of this radius, m."""
    start_tilt_deg: float | None = None
    """Start tilt, uniform in [0, this] degrees (uniform yaw)."""
    start_vel: float | None = None
    """Start velocity, uniform in a ball of this radius, m/s."""
    start_angvel: float | None = None
    """Start body rate, uniform in a ball of this radius, rad/s."""
    start_rest_share: float | None = None
    """Share of episodes that start at rest on the target, level."""
    term_pos: float | None = None
    """Terminate when the position error exceeds this on any axis, m (at most POS_CLIP)."""
    substeps: int = 5
    """Physics substeps per policy step."""
    episode_steps: int = EPISODE_STEPS
    """Policy steps per episode (truncation)."""
    reward: str = "exp"
    """Reward form: ``exp`` (``exp(-cost)``, the default: positive everywhere, steep near the target) or ``linear``
    (``1 - cost``, the first form, with ``position_weight=0.5``)."""
    position_weight: float = REWARD_WEIGHTS["position"]
    """Weight of the position error ``|e|`` (m) in the cost (2; the linear form was measured with 0.5)."""
    track_amplitude_range: Range = (0.3, 0.6)
    """Track: the figure eight's half width ``A``, m (its other axis spans ``A / 2``)."""
    track_period_range: Range = (4.0, 8.0)
    """Track: seconds per lap ``T`` (at 0.6 m and 4 s the reference moves at up to 0.94 m/s per axis)."""
    track_phase_range: Range = (0.0, 1.0)
    """Track: where on the lap the episode starts, in laps (``phi = 2 pi x``)."""
    track_heading_range: Range = (0.0, 360.0)
    """Track: the figure's heading about the vertical, degrees (the long axis's direction)."""

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown Crazyflie task {self.task!r}: choose one of {', '.join(TASKS)}")
        for k, v in _TASK_DEFAULTS[self.task].items():
            if getattr(self, k) is None:
                object.__setattr__(self, k, v)
        for name in ("mass_range", "inertia_range", "thrust_to_weight_range", "motor_tau_range", "yaw_coef_range"):
            lo, hi = _pair(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name} must be 0 < low <= high, got ({lo}, {hi})")
        lo, hi = _pair(self, "motor_gain_range")
        if not 0 < lo <= hi:
            raise ValueError(f"motor_gain_range must be 0 < low <= high, got ({lo}, {hi})")
        lo, hi = self.thrust_to_weight_range
        if lo <= 1.0:
            raise ValueError(f"thrust_to_weight_range must stay above 1 (the drone could not lift off), got {lo}")
        object.__setattr__(self, "action_history", _history_value(self.action_history))
        for name in _NOISE_FIELDS.values():
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise ValueError(f"{name} is a standard deviation, non-negative, got {getattr(self, name)}")
        for name in ("obs_noise", "disturbance_force", "disturbance_torque", "start_pos", "start_tilt_deg"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be non-negative, got {getattr(self, name)}")
        for name in ("start_vel", "start_angvel"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be non-negative, got {getattr(self, name)}")
        if not -1.0 < self.wind < 1.0:
            raise ValueError(f"wind is a fraction of the weight between -1 and 1, got {self.wind}")
        if self.disturbance_force >= 1.0:
            raise ValueError(f"disturbance_force is a fraction of the weight below 1, got {self.disturbance_force}")
        if not 0 <= float(self.start_rest_share) <= 1:  # type: ignore[arg-type]
            raise ValueError(f"start_rest_share must be in [0, 1], got {self.start_rest_share}")
        if self.action_latency not in (0, 1):
            raise ValueError(f"action_latency must be 0 or 1, got {self.action_latency}")
        if not 0 < float(self.term_pos) <= POS_CLIP:  # type: ignore[arg-type]
            raise ValueError(f"term_pos must be in (0, {POS_CLIP}], got {self.term_pos}")
        if float(self.start_pos) >= float(self.term_pos):  # type: ignore[arg-type]
            raise ValueError(f"start_pos ({self.start_pos}) must be below term_pos ({self.term_pos})")
        if not 0 <= float(self.start_tilt_deg) < 90:  # type: ignore[arg-type]
            raise ValueError(f"start_tilt_deg must be in [0, 90), got {self.start_tilt_deg}")
        if self.reward not in ("linear", "exp"):
            raise ValueError(f"reward must be linear or exp, got {self.reward!r}")
        if self.position_weight < 0:
            raise ValueError(f"position_weight must be non-negative, got {self.position_weight}")
        lo, hi = _pair(self, "track_amplitude_range")
        if not 0 <= lo <= hi or (self.task == "track" and hi >= float(self.term_pos)):  # type: ignore[arg-type]
            raise ValueError(f"track_amplitude_range must be 0 <= low <= high < term_pos m, got ({lo}, {hi})")
        lo, hi = _pair(self, "track_period_range")
        if not 0 < lo <= hi:
            raise ValueError(f"track_period_range must be 0 < low <= high seconds, got ({lo}, {hi})")
        for name in ("track_phase_range", "track_heading_range"):
            lo, hi = _pair(self, name)
            if not lo <= hi:
                raise ValueError(f"{name} must be low <= high, got ({lo}, {hi})")
        if self.substeps < 1 or self.episode_steps < 1:
            raise ValueError(f"substeps and episode_steps must be positive, got {self.substeps}, {self.episode_steps}")

    def noise_std(self) -> np.ndarray:
        """[4] observation noise standard deviations (position m, rotation rad, velocity m/s, gyro rad/s); zeros
        under ``nominal``."""
        if self.nominal:
            return np.zeros(4)
        return np.array(
            [
                NOISE_STD[key] * self.obs_noise if getattr(self, name) is None else float(getattr(self, name))
                for key, name in _NOISE_FIELDS.items()
            ]
        )

    @property
    def obs_dim(self) -> int:
        """Observation size: 18 + 4 ``action_history``."""
        return _STATE_DIM + ACT_DIM * self.action_history

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> CrazyflieConfig:
        """Build from ``gym.make`` keyword arguments; one ``ValueError`` naming an unknown key and the known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ValueError(f"unknown Crazyflie option(s) {', '.join(unknown)}: known are {', '.join(sorted(known))}")
        d = dict(kwargs)
        for name in known:
            if name.endswith("_range") and name in d:
                d[name] = _pair_value(name, d[name])
        for name in ("action_latency", "substeps", "episode_steps"):
            if name in d:
                d[name] = _int_value(name, d[name])
        if "action_history" in d:
            d["action_history"] = _history_value(d["action_history"])
        if "nominal" in d and not isinstance(d["nominal"], bool):
            raise ValueError(f"nominal must be true or false, got {d['nominal']!r}")
        for f in dataclasses.fields(cls):
            if f.name in d and f.type in ("float", "float | None") and d[f.name] is not None:
                d[f.name] = _float_value(f.name, d[f.name])
        return cls(**d)


def _pair(cfg: CrazyflieConfig, name: str) -> Range:
    lo, hi = getattr(cfg, name)
    return float(lo), float(hi)


def _pair_value(name: str, v: Any) -> Range:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v), float(v)
    try:
        lo, hi = v
        return float(lo), float(hi)
    except (TypeError, ValueError):
        raise ValueError(f"{name} takes a pair low,high (or one number), got {v!r}") from None


def _float_value(name: str, v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError(f"{name} takes a number, got {v!r}")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} takes a number, got {v!r}") from None


def _int_value(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int | float) or not float(v).is_integer():
        raise ValueError(f"{name} takes an integer, got {v!r}")
    return int(v)


def sample_params(cfg: CrazyflieConfig, rng: np.random.Generator) -> qr.Params:
    """One drone's parameters for an episode (nominal when ``cfg.nominal``)."""
    p = qr.Params.nominal(1)
    if cfg.nominal:
        return p
    u = rng.uniform
    p.mass *= u(*cfg.mass_range)
    ixy, iz = u(*cfg.inertia_range), u(*cfg.inertia_range)
    p.inertia *= np.array([ixy, ixy, iz])
    p.thrust_max[:] = u(*cfg.thrust_to_weight_range) * p.mass * qr.G / 4
    tau = u(*cfg.motor_tau_range)
    p.tau_up *= tau
    p.tau_down *= tau
    p.yaw_coef *= u(*cfg.yaw_coef_range)
    p.motor_gain[:] = u(*cfg.motor_gain_range, size=(1, 4))
    p.force[:] = u(-1, 1, size=(1, 3)) * cfg.disturbance_force * p.mass[0] * qr.G
    p.torque[:] = u(-1, 1, size=(1, 3)) * cfg.disturbance_torque
    p.force[0, 0] += cfg.wind * p.mass[0] * qr.G  # after every draw: the random streams stay as they were
    return p


def _ball(rng: np.random.Generator, radius: float) -> np.ndarray:
    d = rng.normal(size=3)
    d /= max(float(np.linalg.norm(d)), 1e-12)
    return d * radius * rng.uniform() ** (1 / 3)


def sample_start(cfg: CrazyflieConfig, rng: np.random.Generator) -> tuple[qr.State, np.ndarray]:
    """One drone's start state and its target (world, m); motors at the nominal hover speed.

    For ``track`` the target is the path's centre and the start is relative to it; :class:`CrazyflieBatch` moves both
    onto the path's first point (:func:`sample_track`).
    """
    s = qr.State.zeros(1)
    target = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(0.8, 1.2)])
    rest = rng.uniform() < float(cfg.start_rest_share)  # type: ignore[arg-type]
    err = _ball(rng, float(cfg.start_pos))  # type: ignore[arg-type]
    vel = _ball(rng, float(cfg.start_vel))  # type: ignore[arg-type]
    angvel = _ball(rng, float(cfg.start_angvel))  # type: ignore[arg-type]
    rot = qr.random_rotation(rng, 1, np.deg2rad(float(cfg.start_tilt_deg)))  # type: ignore[arg-type]
    if rest:
        err[:], vel[:], angvel[:] = 0.0, 0.0, 0.0
        rot = qr.random_rotation(rng, 1, 0.0)
    s.pos[0] = target + err
    s.vel[0] = vel
    s.omega[0] = angvel
    s.rot = rot
    s.rotor[:] = np.sqrt(qr.HOVER_FORCE)
    return s, target


@dataclass
class Track:
    """Figure-eight references of N drones (:meth:`at`): ``centre + H (A sin th, (A / 2) sin 2 th, 0)``,
    ``th = omega t + phase``, ``H`` the heading's rotation about the vertical."""

    centre: np.ndarray
    """[N, 3] m, world."""
    amplitude: np.ndarray
    """[N] m."""
    omega: np.ndarray
    """[N] rad/s (2 pi / period)."""
    phase: np.ndarray
    """[N] rad."""
    heading: np.ndarray
    """[N] rad."""

    def at(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Reference position [N, 3] and velocity [N, 3] at times ``t`` [N] (s)."""
        th = self.omega * t + self.phase
        a = self.amplitude
        u, w = a * np.sin(th), 0.5 * a * np.sin(2.0 * th)
        du, dw = a * self.omega * np.cos(th), a * self.omega * np.cos(2.0 * th)
        c, s = np.cos(self.heading), np.sin(self.heading)
        zero = np.zeros_like(th)
        pos = self.centre + np.stack([c * u - s * w, s * u + c * w, zero], axis=-1)
        vel = np.stack([c * du - s * dw, s * du + c * dw, zero], axis=-1)
        return pos, vel


def sample_track(cfg: CrazyflieConfig, rng: np.random.Generator, centre: np.ndarray) -> Track:
    """One drone's reference path around ``centre`` (the start's target), drawn from the ``track_*`` ranges."""
    u = rng.uniform
    return Track(
        centre=np.asarray(centre, np.float64).reshape(1, 3).copy(),
        amplitude=np.array([u(*_pair(cfg, "track_amplitude_range"))]),
        omega=np.array([2.0 * np.pi / u(*_pair(cfg, "track_period_range"))]),
        phase=np.array([2.0 * np.pi * u(*_pair(cfg, "track_phase_range"))]),
        heading=np.array([np.deg2rad(u(*_pair(cfg, "track_heading_range")))]),
    )


_NOISE_BLOCK = 64


@dataclass
class CrazyflieBatch:
    """N Crazyflies stepped together: the state, the episode bookkeeping and the per-drone random streams.

    Drone ``i`` draws everything (parameters, start state, noise) from its own generator, seeded at its reset, so a
    drone's episode does not depend on which batch it runs in (batched == single for the same seeds).
    """

    n: int
    cfg: CrazyflieConfig
    state: qr.State = field(init=False)
    params: qr.Params = field(init=False)
    target: np.ndarray = field(init=False)
    target_vel: np.ndarray = field(init=False)
    track: Track = field(init=False)
    distance: np.ndarray = field(init=False)
    prev_action: np.ndarray = field(init=False)
    history: np.ndarray = field(init=False)
    pending: np.ndarray = field(init=False)
    steps: np.ndarray = field(init=False)
    good: np.ndarray = field(init=False)
    rngs: list[np.random.Generator] = field(init=False)
    noise: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n = self.n
        self.state = qr.State.zeros(n)
        self.params = qr.Params.nominal(n)
        self.target = np.zeros((n, 3))
        # The setpoint's velocity: the path's (feed-forward) when tracking, zero (and never written) otherwise.
        self.target_vel = np.zeros((n, 3))
        self.track = Track(np.zeros((n, 3)), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n))
        self.distance = np.zeros(n)
        self.prev_action = np.zeros((n, ACT_DIM))
        self.history = np.full((n, self.cfg.action_history, ACT_DIM), INITIAL_ACTION)
        self.pending = np.zeros((n, ACT_DIM))
        self.steps = np.zeros(n, dtype=np.int64)
        self.good = np.zeros(n, dtype=np.int64)
        self.rngs = [np.random.default_rng(i) for i in range(n)]
        self.noise = np.zeros((n, _NOISE_BLOCK, 12))
        self._noise_std = np.repeat(self.cfg.noise_std(), 3)

    def reset(self, rows: Any, seeds: Any = None) -> np.ndarray:
        """Start new episodes on drones ``rows`` (seeding each drone's generator when ``seeds`` is given).

        Returns:
            [len(rows), 18 + 4 K] observations.
        """
        rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        for j, i in enumerate(rows):
            if seeds is not None and seeds[j] is not None:
                self.rngs[i] = np.random.default_rng(int(seeds[j]))
            rng = self.rngs[i]
            self.params.set_rows(slice(i, i + 1), sample_params(self.cfg, rng))
            s, t = sample_start(self.cfg, rng)
            if self.cfg.task == "track":
                # Drawn after the start, so hover and goto draw exactly what they drew before the task existed.
                tr = sample_track(self.cfg, rng, t)
                for name in ("centre", "amplitude", "omega", "phase", "heading"):
                    getattr(self.track, name)[i] = getattr(tr, name)[0]
                p0, v0 = tr.at(np.zeros(1))
                s.pos += p0 - t
                s.vel += v0
                t = p0[0]
                self.target_vel[i] = v0[0]
            self.state.set_rows(slice(i, i + 1), s)
            self.target[i] = t
            self.distance[i] = np.linalg.norm(s.pos[0] - t)
            self._refill(i)
        self.prev_action[rows] = 0.0
        self.history[rows] = INITIAL_ACTION
        self.pending[rows] = HOVER_ACTION
        self.steps[rows] = 0
        self.good[rows] = 0
        return self.observe(rows)

    def _refill(self, i: int) -> None:
        if self._noise_std.any():
            self.noise[i] = self.rngs[i].standard_normal((_NOISE_BLOCK, 12)) * self._noise_std

    def observe(self, rows: Any = slice(None)) -> np.ndarray:
        """Noisy observations of drones ``rows`` at their current step."""
        s = self.state
        err, rot, omega = s.pos[rows] - self.target[rows], s.rot[rows], s.omega[rows]
        vel = s.vel[rows] - self.target_vel[rows]  # exactly s.vel when the setpoint's velocity is 0 (hover, goto)
        if self._noise_std.any():
            idx = np.arange(self.n)[rows]
            nz = self.noise[idx, self.steps[rows] % _NOISE_BLOCK]
            err = err + nz[:, 0:3]
            rot = rot @ qr.expm_so3(nz[:, 3:6])
            vel = vel + nz[:, 6:9]
            omega = omega + nz[:, 9:12]
        return observe(err, rot, vel, omega, self.history[rows])

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step every drone with actions [N, 4] in [-1, 1].

        Returns:
            observations [N, 18 + 4 K], rewards [N], terminated [N], truncated [N], success [N] (meaningful at an end).
        """
        a = np.clip(np.asarray(action, dtype=np.float64).reshape(self.n, ACT_DIM), -1.0, 1.0)
        if self.cfg.action_latency and not self.cfg.nominal:
            applied, self.pending = self.pending, a.copy()
        else:
            applied = a
        # A drone that has diverged (ends this step as terminated) may overflow on its way out: the episode's end,
        # not a warning on the user's console, reports it.
        with np.errstate(over="ignore", invalid="ignore"):
            qr.step(self.state, self.params, action_to_forces(applied), POLICY_DT, self.cfg.substeps)
            s = self.state
            if self.cfg.task == "track":
                # The setpoint moves on: the reference at the time the next observation is taken.
                self.target, self.target_vel = self.track.at((self.steps + 1) * POLICY_DT)
            err = s.pos - self.target
            dist = np.linalg.norm(err, axis=1)
            da = a - self.prev_action
            w = REWARD_WEIGHTS
            cost = (
                self.cfg.position_weight * dist
                + w["orientation"] * (1.0 - s.rot[:, 2, 2])
                + w["velocity"] * np.linalg.norm(s.vel - self.target_vel, axis=1)
                + w["angular_velocity"] * np.linalg.norm(s.omega, axis=1)
                + w["action"] * np.einsum("ij,ij->i", da, da)
            )
            # Only a drone stepped on after its episode ended gets here (a live one is bounded by the termination
            # limits): a finite cost keeps NaN out of anything that reads the reward.
            cost = np.nan_to_num(cost, nan=_DIVERGED_COST, posinf=_DIVERGED_COST)
            reward = np.exp(-cost) if self.cfg.reward == "exp" else 1.0 - cost
            self.prev_action = a
            if self.cfg.action_history:
                # Oldest first: shift one slot towards the front, the newest action into the last slot.
                self.history[:, :-1] = self.history[:, 1:]
                self.history[:, -1] = a
            self.steps += 1
            self.good = np.where(dist < SUCCESS_RADIUS, self.good + 1, 0)
            self.distance = dist
            terminated = (
                (np.abs(err) > self.cfg.term_pos).any(axis=1)
                | (np.abs(s.vel) > VEL_CLIP).any(axis=1)
                | (np.abs(s.omega) > ANGVEL_CLIP).any(axis=1)
                | (s.rot[:, 2, 2] < 0.0)
                | ~np.isfinite(s.pos).all(axis=1)
            )
        truncated = (self.steps >= self.cfg.episode_steps) & ~terminated
        success = (self.good >= SUCCESS_STEPS) & ~terminated
        refill = np.flatnonzero(self.steps % _NOISE_BLOCK == 0)
        for i in refill:
            self._refill(int(i))
        return self.observe(), reward, terminated, truncated, success


def _spaces(cfg: CrazyflieConfig) -> tuple[Any, Any]:
    clip = obs_clip(cfg.action_history)
    obs = spaces.Box(-clip, clip, dtype=np.float32)
    act = spaces.Box(-1.0, 1.0, shape=(ACT_DIM,), dtype=np.float32)
    return obs, act


class CrazyflieEnv(gym.Env):  # type: ignore[misc]
    """One Crazyflie 2.x (a :class:`CrazyflieBatch` of one drone); options are :class:`CrazyflieConfig`'s fields."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.config = CrazyflieConfig.from_kwargs(**kwargs)
        self.observation_space, self.action_space = _spaces(self.config)
        self.batch = CrazyflieBatch(1, self.config)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is None:
            seed = int(self.np_random.integers(2**63))
        obs = self.batch.reset([0], [seed])
        return obs[0], {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, rew, term, trunc, succ = self.batch.step(np.asarray(action).reshape(1, ACT_DIM))
        info: dict[str, Any] = {"is_success": bool(succ[0])}
        if self.config.task == "track":
            info["tracking_error"] = float(self.batch.distance[0])
        return obs[0], float(rew[0]), bool(term[0]), bool(trunc[0]), info

    def vectorised(self, n: int) -> CrazyflieVectorEnv:
        """The vectorised form of this environment (same options), :data:`ghp.envs.VECTORISED` protocol."""
        return CrazyflieVectorEnv(num_envs=n, **dataclasses.asdict(self.config))


class CrazyflieVectorEnv(VectorEnv):  # type: ignore[misc]
    """N Crazyflies as a gymnasium ``VectorEnv`` (autoreset on the next step, gymnasium's default).

    ``gym.make_vec("ghp/CrazyflieHover-v0", num_envs=N)`` builds it through the spec's ``vector_entry_point``.
    Besides the VectorEnv API it offers :meth:`reset_rows` and :meth:`step_batch`, the batched protocol
    ``ghp evaluate`` uses (no autoreset: the caller resets the rows it wants).
    """

    metadata: dict[str, Any] = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        kwargs.pop("render_mode", None)
        self.config = CrazyflieConfig.from_kwargs(**kwargs)
        self.num_envs = num_envs
        self.single_observation_space, self.single_action_space = _spaces(self.config)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.batch = CrazyflieBatch(num_envs, self.config)
        self._autoreset = np.zeros(num_envs, dtype=bool)
        self._seed_rng = np.random.default_rng()

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None) -> Any:
        if isinstance(seed, int):
            seeds: list[int | None] = [seed + i for i in range(self.num_envs)]
        elif seed is None:
            seeds = [int(x) for x in self._seed_rng.integers(2**63, size=self.num_envs)]
        else:
            seeds = list(seed)
        if isinstance(seed, int):
            self._seed_rng = np.random.default_rng(seed)
        obs = self.batch.reset(np.arange(self.num_envs), seeds)
        self._autoreset[:] = False
        return obs, {}

    def step(self, actions: Any) -> Any:
        obs, rew, term, trunc, succ = self.batch.step(np.asarray(actions))
        dist = self.batch.distance.copy()
        rows = np.flatnonzero(self._autoreset)
        if rows.size:
            seeds = [int(x) for x in self._seed_rng.integers(2**63, size=rows.size)]
            obs[rows] = self.batch.reset(rows, seeds)
            rew[rows], term[rows], trunc[rows], succ[rows], dist[rows] = 0.0, False, False, False, 0.0
        self._autoreset = term | trunc
        info: dict[str, Any] = {"is_success": succ}
        if self.config.task == "track":
            info["tracking_error"] = dist
        return obs, rew, term, trunc, info

    def reset_rows(self, rows: Any, seeds: Any) -> np.ndarray:
        """Start new episodes on drones ``rows`` with ``seeds`` (one per row); their [len(rows), 18 + 4 K]
        observations."""
        return self.batch.reset(rows, seeds)

    def step_batch(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step every drone, no autoreset: observations, rewards, terminated, truncated, success."""
        return self.batch.step(np.asarray(actions))


ENV_IDS = {"ghp/CrazyflieHover-v0": "hover", "ghp/CrazyflieGoTo-v0": "goto", "ghp/CrazyflieTrack-v0": "track"}
"""Registered ids and their task."""


def register() -> None:
    """Register the Crazyflie ids with gymnasium (idempotent)."""
    from gymnasium.envs.registration import register as gym_register
    from gymnasium.envs.registration import registry

    for env_id, task in ENV_IDS.items():
        if env_id in registry:
            continue
        gym_register(
            id=env_id,
            entry_point="ghp.envs.crazyflie:CrazyflieEnv",
            vector_entry_point="ghp.envs.crazyflie:CrazyflieVectorEnv",
            kwargs={"task": task},
            disable_env_checker=True,
        )
