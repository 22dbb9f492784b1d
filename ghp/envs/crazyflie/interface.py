"""The Crazyflie tasks' interface contract with the firmware: the policy period, the observation layout and its
bounds, the action-to-force map, and the observation built from firmware-unit quantities (:func:`firmware_observation`).

The firmware exporter (``export/crazyflie/layout.py``) reads these constants through :mod:`ghp.envs.crazyflie`; keep
them stable (the package docstring states the contract).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ghp.envs import quadrotor as qr

POLICY_DT = 0.01
"""Seconds per policy step (100 Hz)."""

POS_CLIP = 2.0
"""Position error observation bound, m (per axis)."""
VEL_CLIP = 4.0
"""Linear velocity observation bound, m/s (per axis); also the termination bound."""
ANGVEL_CLIP = float(qr.GYRO_LIMIT)
"""Angular velocity observation bound, rad/s (the gyro's 2000 deg/s); also the termination bound."""

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
STATE_DIM = sum(e[2] for e in _STATE_LAYOUT)
"""Observation values before the actions (18)."""


INTEGRAL_DIM = 3
"""Size of the optional position-error integral block (``position_integral > 0``)."""
INTEGRAL_CLIP = 1.0
"""Bound of the position-error integral, m s per axis (the accumulator saturates there: anti-windup)."""


def obs_layout(
    action_history: int = 1, position_integral: bool = False
) -> tuple[tuple[str, int, int, float, str, str], ...]:
    """The observation layout with the last ``action_history`` actions (:data:`OBS_LAYOUT` for 1, the default).

    K = 1 keeps the block's name ``previous_action``; any other K > 0 appends one block ``action_history`` of
    ``4 K`` values, the oldest action first (entry ``4 j + i``: motor ``i`` of the action ``K - j`` steps back).
    ``position_integral``: a block of :data:`INTEGRAL_DIM` values, the leaky integral of the position error, sits
    between the state and the actions (an experimental option; the firmware app accumulates it too).
    """
    k = history_value(action_history)
    blocks = list(_STATE_LAYOUT)
    offset = STATE_DIM
    if position_integral:
        blocks.append(
            (
                "position_integral",
                offset,
                INTEGRAL_DIM,
                INTEGRAL_CLIP,
                "m s, world, leaky integral of p - p_target",
                "the controller's own accumulator",
            )
        )
        offset += INTEGRAL_DIM
    if k == 1 and not position_integral:
        return OBS_LAYOUT
    if k == 1:
        blocks.append(("previous_action", offset, ACT_DIM, 1.0, *OBS_LAYOUT[-1][4:]))
    elif k > 1:
        blocks.append(
            (
                "action_history",
                offset,
                ACT_DIM * k,
                1.0,
                f"the last {k} policy outputs, oldest first, [-1, 1]",
                "the controller's own ring buffer",
            )
        )
    return tuple(blocks)


def obs_clip(action_history: int = 1, position_integral: bool = False) -> np.ndarray:
    """float32 clip bound of each observation entry for ``action_history`` (:data:`OBS_CLIP` for 1)."""
    layout = obs_layout(action_history, position_integral)
    return np.concatenate([np.full(size, bound) for _, _, size, bound, _, _ in layout]).astype(np.float32)


def history_value(v: Any) -> int:
    """``action_history`` as a whole number of past actions, or one ``ValueError`` saying what it takes."""
    if isinstance(v, bool) or not isinstance(v, int | float | np.integer) or not float(v).is_integer():
        raise ValueError(f"action_history takes a whole number of past actions (0, 1, 16, ...), got {v!r}")
    if v < 0:
        raise ValueError(f"action_history must be 0 or more past actions, got {v!r}")
    return int(v)


HOVER_ACTION = 2.0 * qr.HOVER_FORCE - 1.0
"""Policy action that holds the nominal drone: 2 * 0.029 * 9.81 / (4 * 0.12) - 1 = 0.185."""


def action_to_forces(action: np.ndarray) -> np.ndarray:
    """Policy action(s) in [-1, 1] -> the firmware's ``normalizedForces`` in [0, 1], motors M1..M4."""
    return (np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0) + 1.0) / 2.0


def observe(
    pos_error: np.ndarray,
    rot: np.ndarray,
    vel: np.ndarray,
    omega: np.ndarray,
    actions: np.ndarray,
    integral: np.ndarray | None = None,
    yaw_frame: bool = False,
    error_clip: float = 0.0,
) -> np.ndarray:
    """[N, 18 + 4 K] float32 observations from SI quantities ([N, 3] m, [N, 3, 3], [N, 3] m/s, [N, 3] rad/s) and the
    last K actions, oldest first ([N, 4 K] or [N, K, 4]; K = 1 gives the 22 values of :data:`OBS_LAYOUT`);
    ``integral`` ([N, 3] m s, the ``position_integral`` option) goes between the state and the actions.
    ``yaw_frame`` (the option of that name): the position error, the rotation, the velocity and the integral are
    expressed in the world frame turned by the drone's heading about the vertical (:func:`yaw_frame_of`).
    ``error_clip`` (the option of that name, m; 0: off): the position error is first shortened to at most this length.
    """
    n = pos_error.shape[0]
    if error_clip:
        norm = np.linalg.norm(pos_error, axis=1, keepdims=True)
        pos_error = pos_error * np.minimum(1.0, error_clip / np.maximum(norm, 1e-12))
    if yaw_frame:
        turn = yaw_frame_of(rot)  # [N, 3, 3], world -> heading frame
        pos_error, vel = np.einsum("nij,nj->ni", turn, pos_error), np.einsum("nij,nj->ni", turn, vel)
        rot = turn @ rot
        integral = None if integral is None else np.einsum("nij,nj->ni", turn, integral)
    acts = np.asarray(actions, dtype=np.float64).reshape(n, -1)
    parts = [pos_error, rot.reshape(n, 9), vel, omega] + ([] if integral is None else [integral]) + [acts]
    obs = np.concatenate(parts, axis=1)
    clip = obs_clip(acts.shape[1] // ACT_DIM, integral is not None)
    return np.clip(np.nan_to_num(obs), -clip, clip).astype(np.float32)


def yaw_frame_of(rot: np.ndarray) -> np.ndarray:
    """[N, 3, 3] rotations ``R_z(-psi)`` that undo the heading ``psi = atan2(R_yx, R_xx)`` of body-to-world
    rotations [N, 3, 3]: the frame of the ``yaw_frame`` option, whose observation is the same at every heading.
    ``cos psi`` and ``sin psi`` are ``R_xx`` and ``R_yx`` over their norm (no trigonometry, as a microcontroller
    would compute them); a body x axis pointing straight up or down has no heading and keeps the world frame."""
    h = np.hypot(rot[:, 0, 0], rot[:, 1, 0])
    level = h > 1e-9
    c = np.where(level, rot[:, 0, 0] / np.where(level, h, 1.0), 1.0)
    s = np.where(level, rot[:, 1, 0] / np.where(level, h, 1.0), 0.0)
    out = np.zeros(rot.shape)
    out[:, 0, 0], out[:, 0, 1], out[:, 1, 0], out[:, 1, 1], out[:, 2, 2] = c, s, -s, c, 1.0
    return out


def firmware_observation(
    position: Any,
    velocity: Any,
    quaternion_xyzw: Any,
    gyro_deg_s: Any,
    target: Any,
    prev_action: Any,
    target_velocity: Any = (0.0, 0.0, 0.0),
    yaw_frame: bool = False,
    error_clip: float = 0.0,
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
        yaw_frame: the run's ``yaw_frame`` option (the state turned into the frame of the drone's heading).
        error_clip: the run's ``error_clip`` option (the position error shortened to at most this many m; 0: off).
    """
    if np.asarray(prev_action).size % ACT_DIM:
        raise ValueError(f"prev_action takes whole actions of {ACT_DIM} values, got {np.asarray(prev_action).size}")
    p = np.asarray(position, dtype=np.float64).reshape(1, 3)
    t = np.asarray(target, dtype=np.float64).reshape(1, 3)
    rot = qr.quat_to_rot(np.asarray(quaternion_xyzw, dtype=np.float64).reshape(1, 4))
    v = np.asarray(velocity, dtype=np.float64).reshape(1, 3) - np.asarray(target_velocity, np.float64).reshape(1, 3)
    w = np.deg2rad(np.asarray(gyro_deg_s, dtype=np.float64).reshape(1, 3))
    a = np.asarray(prev_action, dtype=np.float64).reshape(1, -1)
    return observe(p - t, rot, v, w, a, yaw_frame=yaw_frame, error_clip=error_clip)[0]
