"""The Crazyflie tasks (hover, goto, track) and their options, :class:`CrazyflieConfig`: randomisation ranges, noise,
disturbances, start states, termination, reward form and the tracked path's ranges, checked once at construction."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ghp.envs.crazyflie.interface import ACT_DIM, INTEGRAL_DIM, POS_CLIP, STATE_DIM, history_value
from ghp.envs.crazyflie.reward import REWARD_WEIGHTS

EPISODE_STEPS = 500
"""Policy steps per episode (5 s)."""
SUCCESS_RADIUS = 0.1
"""Success: position error norm under this many metres ..."""
SUCCESS_STEPS = 200
"""... for the whole last this many steps (2 s)."""

Range = tuple[float, float]

TASKS = ("hover", "goto", "track")
_TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    # The heading frame is hover's default: measured there (docs/crazyflie-results.md), not yet on goto or track.
    "hover": dict(
        start_pos=0.2, start_tilt_deg=30.0, start_vel=0.5, start_angvel=1.0, start_rest_share=0.2, term_pos=1.0,
        yaw_frame=True, error_clip=0.0, episode_steps=EPISODE_STEPS, position_weight=8.0,
    ),
    # GoTo observes a far target as hover observes a near one (error_clip), so the drone approaches at a hover
    # policy's pace: its 8 s leave 6 s to arrive from 1 m away and 2 s to hold (docs/crazyflie-results.md).
    "goto": dict(
        start_pos=1.0, start_tilt_deg=10.0, start_vel=0.2, start_angvel=0.5, start_rest_share=0.0, term_pos=2.0,
        yaw_frame=True, error_clip=0.3, episode_steps=800, position_weight=REWARD_WEIGHTS["position"],
    ),
    # Near the reference's first point (the start velocity is around the reference's): a path is flown from on it.
    "track": dict(
        start_pos=0.1, start_tilt_deg=10.0, start_vel=0.2, start_angvel=0.5, start_rest_share=0.2, term_pos=1.0,
        yaw_frame=False, error_clip=0.0, episode_steps=EPISODE_STEPS, position_weight=REWARD_WEIGHTS["position"],
    ),
}  # fmt: skip
PINNED = ("yaw_weight", "yaw_frame")
"""Options whose default changed after runs were saved: a run records its value (:func:`pinned_kwargs`), and a run
saved without it had :data:`LEGACY_DEFAULTS`'s (:func:`legacy_kwargs`)."""
TASK_PINNED: dict[str, tuple[str, ...]] = {"goto": ("error_clip", "episode_steps"), "hover": ("position_weight",)}
"""Options pinned on one task only (their default changed there; the other tasks' runs record nothing new)."""
LEGACY_DEFAULTS: dict[str, Any] = {
    "yaw_weight": 0.0,
    "yaw_frame": False,
    "error_clip": 0.0,
    "episode_steps": 500,
    "position_weight": REWARD_WEIGHTS["position"],
}
"""What every run saved before a :data:`PINNED` option existed in its record was trained with (the world frame, a
free heading)."""
NOISE_STD = {"position": 0.002, "rotation": 0.01, "velocity": 0.02, "angular_velocity": 0.02}
"""Nominal observation noise standard deviations (m, rad, m/s, rad/s), scaled by ``obs_noise``."""
_NOISE_FIELDS = {
    "position": "noise_position",
    "rotation": "noise_rotation",
    "velocity": "noise_velocity",
    "angular_velocity": "noise_gyro",
}
"""The option that replaces each of :data:`NOISE_STD`'s channels."""
_NON_NEGATIVE = (
    "obs_noise", "disturbance_force", "disturbance_torque", "start_pos", "start_tilt_deg", "start_vel", "start_angvel",
    "position_weight", "yaw_weight", "action_weight", "error_clip",
)  # fmt: skip
"""Options that must be 0 or more."""


@dataclass(frozen=True)
class CrazyflieConfig:
    """Options of the Crazyflie environments (``gym.make(id, **kwargs)`` / ``--env-kwargs KEY=VALUE``).

    Ranges are (low, high) pairs sampled uniformly per episode; scales multiply the nominal firmware constant.
    Start-state fields left ``None`` take the task's defaults (the package docstring).
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
    position_integral: float = 0.0
    """Experimental: the observation carries a leaky integral of the position error with this time constant, s
    (``I <- I (1 - dt / T) + e dt``, saturating at 1 m s per axis), the memory a PID's integral term gives a
    controller against a steady offset (wind, a thrust mismatch, the policy's own bias). 0 (the default) leaves it
    out. The firmware app accumulates the same integral from its state estimate (``ghpIntegrate``)."""
    error_clip: float | None = None
    """The position error the policy observes is shortened to at most this length, m (0: as it is; ``None`` takes
    the task's: 0.3 for goto, 0 for hover and track; goto runs saved before 2026-12-07 record none and had 0). A
    target farther away then looks like one this far in its direction, so a policy that holds a point flies toward a
    far one at a pace it knows, as a position controller saturates its setpoint error; reward and success still use
    the true error. The firmware app shortens its error the same way."""
    yaw_frame: bool | None = None
    """The observation's position error, velocity, attitude (and integral) are expressed in the frame turned by the
    drone's heading about the vertical, so a policy sees the same state at every heading: it need neither turn to one
    nor rotate its corrections through one, and the heading is left free (``yaw_weight=0``). ``None`` takes the
    task's: true for hover and goto (docs/crazyflie-results.md), false (the world frame, not yet measured in the
    heading frame) for track. The firmware app (``ghp export --target crazyflie``) turns its observation the same
    way, after its range check on the world-frame values. Runs saved before this default record none and observed
    the world frame (:data:`LEGACY_DEFAULTS`)."""
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
    episode_steps: int | None = None
    """Policy steps per episode (truncation); ``None`` takes the task's: 500 (5 s) for hover and track, 800 (8 s) for
    goto (goto runs saved before 2026-12-07 record none and had 500)."""
    reward: str = "exp"
    """Reward form: ``exp`` (``exp(-cost)``, the default: positive everywhere, steep near the target) or ``linear``
    (``1 - cost``, the first form, with ``position_weight=0.5``)."""
    position_weight: float | None = None
    """Weight of the position error ``|e|`` (m) in the cost; ``None`` takes the task's: 8 for hover (measured on 3
    seeds: its confirmed 90% picks held the box in 0.98, 0.92 and 1.00 of held-out episodes, against 0.94, 0.81 and
    1.00 with 4 and 0.61-0.95 with 2, docs/crazyflie-results.md), 2 for goto and track. Every hover run records its
    weight; one saved before 2026-12-08 records none and had 2. The linear form was measured with 0.5."""
    yaw_weight: float = 0.0
    """Weight of a heading cost ``1 - (R_xx + R_yy) / 2`` (``1 - cos(yaw)`` when level), which asks the policy to turn
    to and hold yaw 0 (the setpoint's heading) instead of hovering at whatever heading it drifts to. 0 (the default)
    leaves the heading free. In the world frame, 0.5 lifted the hover's confirmed success from 0.15-0.43 to
    0.42-0.55 on 3 seeds, but turning from far headings crashes; the heading frame (``yaw_frame``) does better with
    the heading free (docs/crazyflie-results.md)."""
    action_weight: float = REWARD_WEIGHTS["action"]
    """Weight of the squared action change ``|a_t - a_(t-1)|^2`` in the cost (0.02). At 0.02 a policy that flips its
    motor commands every step (``|da|`` about 0.7 per motor, chatter that the motors' lag averages out) pays only
    about 0.04 per step, and trained policies do chatter; a larger weight asks for smooth commands."""
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
            lo, hi = pair(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name} must be 0 < low <= high, got ({lo}, {hi})")
        lo, hi = pair(self, "motor_gain_range")
        if not 0 < lo <= hi:
            raise ValueError(f"motor_gain_range must be 0 < low <= high, got ({lo}, {hi})")
        lo, hi = self.thrust_to_weight_range
        if lo <= 1.0:
            raise ValueError(f"thrust_to_weight_range must stay above 1 (the drone could not lift off), got {lo}")
        object.__setattr__(self, "action_history", history_value(self.action_history))
        for name in _NOISE_FIELDS.values():
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise ValueError(f"{name} is a standard deviation, non-negative, got {getattr(self, name)}")
        for name in _NON_NEGATIVE:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be non-negative, got {getattr(self, name)}")
        if not -1.0 < self.wind < 1.0:
            raise ValueError(f"wind is a fraction of the weight between -1 and 1, got {self.wind}")
        if self.disturbance_force >= 1.0:
            raise ValueError(f"disturbance_force is a fraction of the weight below 1, got {self.disturbance_force}")
        if not 0 <= float(self.start_rest_share) <= 1:  # type: ignore[arg-type]
            raise ValueError(f"start_rest_share must be in [0, 1], got {self.start_rest_share}")
        if not self.position_integral >= 0:
            raise ValueError(
                f"position_integral is a time constant in seconds, 0 (off) or more, got {self.position_integral}"
            )
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
        lo, hi = pair(self, "track_amplitude_range")
        if not 0 <= lo <= hi or (self.task == "track" and hi >= float(self.term_pos)):  # type: ignore[arg-type]
            raise ValueError(f"track_amplitude_range must be 0 <= low <= high < term_pos m, got ({lo}, {hi})")
        lo, hi = pair(self, "track_period_range")
        if not 0 < lo <= hi:
            raise ValueError(f"track_period_range must be 0 < low <= high seconds, got ({lo}, {hi})")
        for name in ("track_phase_range", "track_heading_range"):
            lo, hi = pair(self, name)
            if not lo <= hi:
                raise ValueError(f"{name} must be low <= high, got ({lo}, {hi})")
        if self.substeps < 1 or int(self.episode_steps) < 1:  # type: ignore[arg-type]
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
        """Observation size: 18 (+ 3 with ``position_integral``) + 4 ``action_history``."""
        return STATE_DIM + (INTEGRAL_DIM if self.position_integral else 0) + ACT_DIM * self.action_history

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
            d["action_history"] = history_value(d["action_history"])
        for name in ("nominal", "yaw_frame"):
            if name in d and not isinstance(d[name], bool):
                raise ValueError(f"{name} must be true or false, got {d[name]!r}")
        for f in dataclasses.fields(cls):
            if f.name in d and f.type in ("float", "float | None") and d[f.name] is not None:
                d[f.name] = _float_value(f.name, d[f.name])
        return cls(**d)


def pair(cfg: CrazyflieConfig, name: str) -> Range:
    """The (low, high) range option ``name`` of ``cfg`` as floats."""
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


def pinned_kwargs(task: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with every :data:`PINNED` option written out at its value on ``task`` (what a run records, so a later
    change of default never changes the task a saved run was trained on)."""
    cfg = CrazyflieConfig.from_kwargs(**{"task": task, **kwargs})
    return {**kwargs, **{name: getattr(cfg, name) for name in PINNED + TASK_PINNED.get(task, ())}}


def legacy_kwargs(kwargs: dict[str, Any], task: str = "hover") -> dict[str, Any]:
    """A saved run's ``kwargs`` with :data:`LEGACY_DEFAULTS` for every option pinned on ``task`` (:data:`PINNED`,
    :data:`TASK_PINNED`) it does not record (it was saved before the option was pinned, so it trained with the
    default of then)."""
    names = PINNED + TASK_PINNED.get(task, ())
    return {**{k: LEGACY_DEFAULTS[k] for k in names if k not in kwargs}, **kwargs}
