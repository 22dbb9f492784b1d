"""The Crazyflie task's observation and action layout, read from the environment module, turned into C.

Nothing here repeats a number of the environment by hand: block order and sizes, clip bounds, the policy period,
the action-to-force mapping, the length of the action history (the run's ``action_history``) and what it holds at
reset all come from :mod:`ghp.envs.crazyflie` and the run's environment options. What this module knows is what
each block *means* in the firmware's terms (which ``state_t`` / ``sensorData_t`` field, which unit conversion); a
block it does not know is refused, so a change of the environment cannot silently produce a wrong controller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..c import c_float

FIRMWARE_RATES_HZ: tuple[int, ...] = (1000, 500, 250, 100, 50, 25)
"""The rates ``RATE_DO_EXECUTE`` accepts (``stabilizer_types.h``: "Do NOT use an arbitrary number")."""
STABILIZER_HZ = 1000
"""The stabilizer loop that calls the controller (``RATE_MAIN_LOOP``)."""


@dataclass(frozen=True)
class ObsBlock:
    """A contiguous slice of the observation."""

    name: str
    """What it is (a key of :data:`C_BLOCKS`)."""
    start: int
    """First index."""
    size: int
    """Number of entries."""


@dataclass(frozen=True, eq=False)
class TaskLayout:
    """What the controller must reproduce of the training environment."""

    module: str
    """The environment module the constants come from."""
    blocks: tuple[ObsBlock, ...]
    """The observation, block by block, in order."""
    obs_low: np.ndarray
    """float32 clip bound below, per entry (``-inf``: none)."""
    obs_high: np.ndarray
    """float32 clip bound above, per entry."""
    act_dim: int
    """Action size (one per motor, M1..M4)."""
    policy_hz: int
    """Policy rate (1 / the environment's control period)."""
    force_offset: float
    """``normalizedForces = (a + force_offset) * force_scale``, clamped to [0, 1]."""
    force_scale: float
    """See :attr:`force_offset`."""
    history: int
    """Actions the observation carries, oldest first (the run's ``action_history``; 1: the previous action)."""
    initial_action: np.ndarray
    """float32 [act_dim]: what every action-history slot holds in a freshly reset episode (the controller's value
    at takeover)."""
    deg2rad: float
    """Gyro conversion (the firmware's gyro is in deg/s)."""
    observation: Callable[..., np.ndarray]
    """The environment's own observation from firmware-unit quantities (the SIL's reference)."""
    env_ids: tuple[str, ...]
    """Environment ids that are this task."""
    yaw_frame: bool = False
    """The run's ``yaw_frame`` option: after the range check, the position error, velocity and attitude are turned
    into the frame of the drone's heading (:func:`frame_c`)."""
    error_clip: float = 0.0
    """The run's ``error_clip`` option, m: after the range check, the position error is shortened to at most this
    length (:func:`error_clip_c`; 0: as it is)."""
    position_integral: float = 0.0
    """The run's ``position_integral`` option, s: the observation carries the leaky integral of the position error
    with this time constant, accumulated by the controller (:func:`integral_c`; 0: no integral)."""
    policy_dt: float = 0.01
    """Policy period, s (the integral's step)."""
    integral_clip: float = 1.0
    """Where the integral saturates, m s per axis."""

    @property
    def obs_dim(self) -> int:
        """Observation size."""
        return int(self.obs_low.shape[0])


def _env_module() -> Any:
    try:
        from ghp.envs import crazyflie
    except ImportError as e:
        raise ValueError(f"this ghp has no Crazyflie environment (ghp.envs.crazyflie: {e})") from e
    return crazyflie


def _force_map(m: Any) -> tuple[float, float]:
    """``(offset, scale)`` of the environment's action-to-force map, checked to be ``(a + offset) * scale``."""
    a = np.linspace(-1.0, 1.0, 9)
    f = np.asarray(m.action_to_forces(a[:, None] * np.ones((1, 4))), np.float64)[:, 0]
    scale = (f[-1] - f[0]) / 2.0
    offset = f[4] / scale
    if not np.allclose(f, (a + offset) * scale, rtol=0, atol=1e-12):
        raise ValueError(f"{m.__name__}.action_to_forces is not affine: the export cannot map it to C")
    return float(offset), float(scale)


def _obs_clip(m: Any, k: int, integral: bool, size: int) -> np.ndarray:
    """The observation's clip bounds for ``k`` past actions (and the integral block), checked against its ``size``."""
    if k == 1 and not integral:
        clip = np.asarray(m.OBS_CLIP, np.float32)
        if clip.shape != (size,) or size != int(m.OBS_DIM):
            raise ValueError(f"{m.__name__}: OBS_CLIP / OBS_DIM do not match OBS_LAYOUT ({size} entries)")
        return clip
    clip = np.asarray(m.obs_clip(k, integral), np.float32)
    if clip.shape != (size,):
        raise ValueError(f"{m.__name__}: obs_clip({k}) does not match obs_layout({k}) ({size} entries)")
    return clip


def task_layout(env_kwargs: dict[str, Any] | None = None) -> TaskLayout:
    """The layout of the task under the run's ``env_kwargs`` (``--env-kwargs``, e.g. ``action_history=16``), from
    :mod:`ghp.envs.crazyflie`'s constants (``OBS_LAYOUT`` / ``obs_layout``, ``OBS_CLIP`` / ``obs_clip``,
    ``POLICY_DT``, ...).

    Raises:
        ValueError: an option the environment refuses, or a layout the export cannot map.
    """
    m = _env_module()
    kwargs = dict(env_kwargs or {})
    config = m.CrazyflieConfig.from_kwargs(**kwargs)
    k = int(config.action_history)
    integral = float(getattr(config, "position_integral", 0.0))
    entries = m.obs_layout(k, integral > 0) if hasattr(m, "obs_layout") else m.OBS_LAYOUT
    blocks = []
    start = 0
    for entry in entries:
        name, offset, size = str(entry[0]), int(entry[1]), int(entry[2])
        if offset != start:
            raise ValueError(f"{m.__name__}.OBS_LAYOUT: block {name!r} starts at {offset}, expected {start}")
        blocks.append(ObsBlock(name, offset, size))
        start += size
    clip = _obs_clip(m, k, integral > 0, start)
    hz = round(1.0 / float(m.POLICY_DT))
    if hz not in FIRMWARE_RATES_HZ or abs(1.0 / hz - float(m.POLICY_DT)) > 1e-9:
        raise ValueError(f"policy period {m.POLICY_DT} s is not one of the firmware's rates {FIRMWARE_RATES_HZ} Hz")
    force_offset, force_scale = _force_map(m)
    acts = [b for b in blocks if b.name in ACTION_BLOCKS]
    if k and (len(acts) != 1 or acts[0].size != k * int(m.ACT_DIM) or acts[0] is not blocks[-1]):
        raise ValueError(f"{m.__name__}: the observation of action_history={k} has no last block of {k} actions")
    if not k and acts:
        raise ValueError(f"{m.__name__}: the observation of action_history=0 still carries actions")
    # What a freshly reset episode observes in each history slot: the environment's own reset, under the run's
    # options, so the controller starts where training started.
    obs0, _ = m.CrazyflieEnv(**kwargs).reset(seed=0)
    if np.asarray(obs0).shape != (start,):
        raise ValueError(
            f"{m.__name__}: the environment gives {np.asarray(obs0).shape} observations, its layout {start}"
        )
    act_dim = int(m.ACT_DIM)
    slots = np.asarray(obs0, np.float32)[start - k * act_dim :].reshape(k, act_dim)
    initial = np.asarray(getattr(m, "INITIAL_ACTION", 0.0), np.float32) * np.ones(act_dim, np.float32)
    if not np.array_equal(slots, np.broadcast_to(initial, slots.shape)):
        raise ValueError(f"{m.__name__}: a reset episode's action history is not {initial.tolist()} in every slot")
    return TaskLayout(
        module=m.__name__,
        blocks=tuple(blocks),
        obs_low=-clip,
        obs_high=clip,
        act_dim=int(m.ACT_DIM),
        policy_hz=hz,
        force_offset=force_offset,
        force_scale=force_scale,
        history=k,
        initial_action=initial,
        deg2rad=float(np.float32(np.pi / 180.0)),
        observation=m.firmware_observation,
        env_ids=tuple(m.ENV_IDS),
        yaw_frame=bool(getattr(config, "yaw_frame", False)),
        error_clip=float(getattr(config, "error_clip", 0.0)),
        position_integral=integral,
        policy_dt=float(m.POLICY_DT),
        integral_clip=float(getattr(m, "INTEGRAL_CLIP", 1.0)),
    )


def is_crazyflie_env(env_id: str) -> bool:
    """True when ``env_id`` is one of the Crazyflie tasks (False when this ghp has none)."""
    try:
        return env_id in task_layout().env_ids
    except ValueError:
        return False


# What each block is in the firmware's terms: C statements filling ghpObs[start + k].
_QUAT = (
    "    /* The environment normalises the quaternion before building the matrix (a zero one gives NaN: fault). */\n"
    "    const float qn = sqrtf(state->attitudeQuaternion.x * state->attitudeQuaternion.x\n"
    "                           + state->attitudeQuaternion.y * state->attitudeQuaternion.y\n"
    "                           + state->attitudeQuaternion.z * state->attitudeQuaternion.z\n"
    "                           + state->attitudeQuaternion.w * state->attitudeQuaternion.w);\n"
    "    const float qx = state->attitudeQuaternion.x / qn;\n"
    "    const float qy = state->attitudeQuaternion.y / qn;\n"
    "    const float qz = state->attitudeQuaternion.z / qn;\n"
    "    const float qw = state->attitudeQuaternion.w / qn;\n"
)
_ROTATION = (
    "1.0f - 2.0f * (qy * qy + qz * qz)",
    "2.0f * (qx * qy - qz * qw)",
    "2.0f * (qx * qz + qy * qw)",
    "2.0f * (qx * qy + qz * qw)",
    "1.0f - 2.0f * (qx * qx + qz * qz)",
    "2.0f * (qy * qz - qx * qw)",
    "2.0f * (qx * qz - qy * qw)",
    "2.0f * (qy * qz + qx * qw)",
    "1.0f - 2.0f * (qx * qx + qy * qy)",
)
C_BLOCKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "position_error": (
        "position error p - p_target, world frame, m (state->position, the target)",
        ("state->position.x - target[0]", "state->position.y - target[1]", "state->position.z - target[2]"),
    ),
    "rotation": (
        "rotation matrix body to world, row-major, from state->attitudeQuaternion (q0..q3 alias x, y, z, w)",
        _ROTATION,
    ),
    "velocity": (
        "linear velocity error v - v_target, world frame, m/s (state->velocity, the setpoint's velocity: the path's"
        " feed-forward when tracking, 0 for a plain position setpoint)",
        (
            "state->velocity.x - targetVel[0]",
            "state->velocity.y - targetVel[1]",
            "state->velocity.z - targetVel[2]",
        ),
    ),
    "position_integral": (
        "leaky integral of the position error, world frame, m s (the controller's accumulator, ghpIntegrate)",
        ("ghpIntegral[0]", "ghpIntegral[1]", "ghpIntegral[2]"),
    ),
    "angular_velocity": (
        "angular velocity, body frame, rad/s (sensors->gyro is in deg/s)",
        ("sensors->gyro.x * GHP_DEG2RAD", "sensors->gyro.y * GHP_DEG2RAD", "sensors->gyro.z * GHP_DEG2RAD"),
    ),
}
"""Per block of the vehicle's state: a comment and one C expression per entry."""
ACTION_BLOCKS: dict[str, str] = {
    "previous_action": "previous action of the policy, in [-1, 1] (the controller's ring buffer of one)",
    "action_history": "the policy's last actions, oldest first, in [-1, 1] (the controller's ring buffer)",
}
"""The action blocks (``previous_action``: K = 1, ``action_history``: any other K), filled from ``ghpHistory``, the
controller's ring buffer of its last ``GHP_HISTORY`` actions (``ghpHistoryNext``: the oldest one's slot)."""


def describe_block(name: str) -> str:
    """What an observation block is in the firmware's terms (the app's README)."""
    return ACTION_BLOCKS[name] if name in ACTION_BLOCKS else C_BLOCKS[name][0]


def _history_c(b: ObsBlock, layout: TaskLayout) -> str:
    """The loop that copies the ring buffer into the observation, oldest action first."""
    if b.size != layout.history * layout.act_dim:
        raise ValueError(f"observation block {b.name!r} has {b.size} entries, not {layout.history} actions")
    return (
        f"    /* [{b.start}..{b.start + b.size - 1}] {ACTION_BLOCKS[b.name]} */\n"
        "    for (i = 0u; i < GHP_HISTORY; ++i) {\n"
        "        const float *past = ghpHistory[(ghpHistoryNext + i) % GHP_HISTORY];\n"
        "        for (k = 0u; k < GHP_ACT_DIM; ++k) {\n"
        f"            ghpObs[{b.start}u + i * GHP_ACT_DIM + k] = past[k];\n"
        "        }\n"
        "    }\n"
    )


def observation_c(layout: TaskLayout) -> str:
    """The body of ``ghpObservation``: one assignment per observation entry."""
    lines = ["    uint32_t i, k;\n"] if layout.history else []
    lines += [_QUAT] if any(b.name == "rotation" for b in layout.blocks) else []
    for b in layout.blocks:
        if b.name in ACTION_BLOCKS:
            lines.append(_history_c(b, layout))
            continue
        if b.name not in C_BLOCKS:
            raise ValueError(f"observation block {b.name!r} of {layout.module} has no firmware mapping in ghp's export")
        comment, exprs = C_BLOCKS[b.name]
        if len(exprs) != b.size:
            raise ValueError(f"observation block {b.name!r} has {b.size} entries; the export maps {len(exprs)}")
        lines.append(f"    /* [{b.start}..{b.start + b.size - 1}] {comment} */\n")
        lines += [f"    ghpObs[{b.start + k}] = {e};\n" for k, e in enumerate(exprs)]
    return "".join(lines).rstrip("\n")


def integral_c(layout: TaskLayout) -> str:
    """The body of ``ghpIntegrate``: for a ``position_integral`` run, one leaky, saturating step of the integral of the
    position error (world frame, the state estimate against the target), as the environment takes after every step
    (:class:`ghp.envs.crazyflie.batch.CrazyflieBatch`); otherwise nothing."""
    if not layout.position_integral:
        return "    (void)state; /* No position_integral. */"
    leak = 1.0 - layout.policy_dt / max(layout.position_integral, layout.policy_dt)
    dt, clip = c_float(layout.policy_dt), c_float(layout.integral_clip)
    return (
        f"    /* position_integral={layout.position_integral:g} s: I <- I (1 - dt / T) + e dt, saturating. */\n"
        "    const float e[3] = {state->position.x - ghpTarget[0], state->position.y - ghpTarget[1],\n"
        "                        state->position.z - ghpTarget[2]};\n"
        "    uint32_t k;\n"
        "    for (k = 0u; k < 3u; ++k) {\n"
        f"        ghpIntegral[k] = ghpClamp(ghpIntegral[k] * {c_float(leak)} + e[k] * {dt}, -{clip}, {clip});\n"
        "    }"
    )


def error_clip_c(layout: TaskLayout) -> str:
    """The body of ``ghpErrorClip``: for an ``error_clip`` run, the checked observation's position error shortened to
    at most that length (as :func:`ghp.envs.crazyflie.interface.observe`); otherwise nothing."""
    if not layout.error_clip:
        return "    /* No error_clip: the position error as it is. */"
    e = {b.name: b.start for b in layout.blocks}.get("position_error")
    if e is None:
        raise ValueError("error_clip needs the observation block position_error")
    r = c_float(layout.error_clip)
    x, y, z = (f"ghpObs[{e + i}]" for i in range(3))
    return (
        f"    /* error_clip: a target farther than {layout.error_clip:g} m is observed that far, in its direction. */\n"
        f"    const float n = sqrtf({x} * {x} + {y} * {y} + {z} * {z});\n"
        f"    if (n > {r}) {{\n"
        f"        const float s = {r} / n;\n"
        f"        {x} *= s;\n        {y} *= s;\n        {z} *= s;\n"
        "    }"
    )


def frame_c(layout: TaskLayout) -> str:
    """The body of ``ghpHeadingFrame``: for a ``yaw_frame`` run, the position error, velocity, rotation (and integral)
    of the checked observation turned by ``R_z(-psi)``, ``cos psi`` and ``sin psi`` being ``R_xx`` and ``R_yx`` over
    their norm (as :func:`ghp.envs.crazyflie.interface.yaw_frame_of`); otherwise nothing (the world frame)."""
    if not layout.yaw_frame:
        return "    /* The world frame: nothing to turn. */"
    where = {b.name: b.start for b in layout.blocks}
    missing = {"position_error", "rotation", "velocity"} - set(where)
    if missing:
        raise ValueError(f"yaw_frame needs the observation blocks {', '.join(sorted(missing))}")
    r = where["rotation"]
    pairs = [(where["position_error"], where["position_error"] + 1), (where["velocity"], where["velocity"] + 1)]
    if "position_integral" in where:
        pairs.append((where["position_integral"], where["position_integral"] + 1))
    pairs += [(r + j, r + 3 + j) for j in range(3)]  # rows x and y of the rotation matrix, column by column
    lines = [
        "    /* yaw_frame: the position error, velocity, attitude (and integral) turned by the heading psi. */\n",
        f"    const float h = sqrtf(ghpObs[{r}] * ghpObs[{r}] + ghpObs[{r + 3}] * ghpObs[{r + 3}]);\n",
        f"    const float c = h > 1e-9f ? ghpObs[{r}] / h : 1.0f;\n",
        f"    const float s = h > 1e-9f ? ghpObs[{r + 3}] / h : 0.0f;\n",
        "    float x, y;\n",
    ]
    for i, j in pairs:
        lines.append(f"    x = ghpObs[{i}];\n    y = ghpObs[{j}];\n")
        lines.append(f"    ghpObs[{i}] = c * x + s * y;\n    ghpObs[{j}] = c * y - s * x;\n")
    return "".join(lines).rstrip("\n")


def log_names(layout: TaskLayout) -> list[str]:
    """LOG variable names of the observation entries (``obs0`` ...)."""
    return [f"obs{i}" for i in range(layout.obs_dim)]
