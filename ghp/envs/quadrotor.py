"""Batched rigid-body dynamics of N quadrotors in numpy: the one source of truth for every Crazyflie environment.

Frames: world z up (gravity ``-G`` on z), body FLU (x forward, y left, z up). ``R`` maps body to world. Motors in the
firmware's order M1..M4 sit at (+x,-y), (-x,-y), (-x,+y), (+x,+y), each ``0.707 * ARM_LENGTH`` from the centre on
both axes, with yaw reaction torque -k, +k, -k, +k times their thrust: exactly the inverse of the firmware's
force-torque mixer (``powerDistributionForceTorque`` in ``power_distribution_quadrotor.c``; the physics tests check
the signs against its formulas).

Motors: the command of motor i is a normalised force ``u_i`` in [0, 1] (the firmware's ``normalizedForces``). Below
``THRUST_MIN / THRUST_MAX`` the firmware's battery compensation returns 0 (``motorsCompensateBatteryVoltage``), so the
motor is off. Each rotor's normalised speed ``w_i`` (thrust ~ speed squared) follows ``sqrt(u_i)`` with a first-order
lag whose time constant differs rising and falling (brushed motors spin up under power but only coast down on drag);
thrust is ``gain_i * thrust_max * w_i^2``, where ``thrust_max`` is the airframe's (randomised through its
thrust-to-weight ratio), not the firmware's nominal ``THRUST_MAX``.

Integration: per substep, the motor lag is integrated exactly (``1 - exp(-dt / tau)``), then positions and
velocities under the substep's constant acceleration (exact for it), the body rate by the midpoint rule, and the
rotation by the exponential of the mean body rate over the substep (Rodrigues), pulled back onto SO(3) by one Newton
step ``R <- R (3 I - R^T R) / 2`` so it stays orthonormal over any episode.
Everything is float64 and vectorised over the leading drone axis; one drone is the batch of size 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

G = 9.81
"""Gravity, m/s^2."""
CF_MASS = 0.029
"""Crazyflie 2.x mass, kg (``CF_MASS`` in ``platform_defaults_cf2.h``)."""
ARM_LENGTH = 0.046
"""Arm length, m (``ARM_LENGTH``)."""
ARM = 0.707 * ARM_LENGTH
"""Rotor offset on x and y, m (the firmware's ``0.707f * ARM_LENGTH`` in ``powerDistributionForceTorque``)."""
THRUST_MAX = 0.12
"""Maximum thrust per motor, N (``THRUST_MAX``, CF2.1+ and legacy propellers)."""
THRUST_MIN = 0.012817578393224994
"""Below this thrust per motor the firmware turns the motor off, N (``THRUST_MIN``)."""
THRUST2TORQUE = 0.0069928948992470565
"""Yaw reaction torque per newton of thrust, m (``THRUST2TORQUE``, CF2.1+ propellers)."""
INERTIA = (16.6e-6, 16.6e-6, 29.3e-6)
"""Diagonal inertia, kg m^2 (Foerster 2015, the identification Bitcraze's own simulation uses)."""
MOTOR_TAU_UP = 0.055
"""Rotor-speed time constant while speeding up, s (RLtools' l2f Crazyflie model)."""
MOTOR_TAU_DOWN = 0.25
"""Rotor-speed time constant while slowing down, s (l2f: brushed motors coast down on propeller drag alone)."""
GYRO_LIMIT = np.deg2rad(2000.0)
"""The gyro's range, rad/s (+-2000 deg/s): a faster body rate cannot be observed."""
MOTOR_POS = np.array([[ARM, -ARM], [-ARM, -ARM], [-ARM, ARM], [ARM, ARM]])
"""(x, y) of motors M1..M4 in the body frame, m."""
YAW_SIGN = np.array([-1.0, 1.0, -1.0, 1.0])
"""Sign of each motor's yaw reaction torque (M1, M3 clockwise propellers push the body's yaw negative)."""
NOMINAL_THRUST_TO_WEIGHT = 4 * THRUST_MAX / (CF_MASS * G)
"""4 x 0.12 / (0.029 x 9.81) = 1.687."""
HOVER_FORCE = CF_MASS * G / (4 * THRUST_MAX)
"""Normalised force per motor that holds the nominal drone (0.5926)."""


@dataclass
class Params:
    """Physical parameters of N drones (arrays with a leading drone axis)."""

    mass: np.ndarray
    """[N] kg."""
    inertia: np.ndarray
    """[N, 3] diagonal inertia, kg m^2."""
    thrust_max: np.ndarray
    """[N] thrust per motor at full command, N (before the per-motor gain)."""
    motor_gain: np.ndarray
    """[N, 4] per-motor thrust gain (1 nominal)."""
    tau_up: np.ndarray
    """[N] rising rotor-speed time constant, s."""
    tau_down: np.ndarray
    """[N] falling rotor-speed time constant, s."""
    yaw_coef: np.ndarray
    """[N] yaw torque per newton of thrust, m."""
    force: np.ndarray
    """[N, 3] constant disturbance force, world frame, N."""
    torque: np.ndarray
    """[N, 3] constant disturbance torque, body frame, N m."""

    @classmethod
    def nominal(cls, n: int) -> Params:
        """N copies of the nominal Crazyflie 2.x, no disturbance."""
        return cls(
            mass=np.full(n, CF_MASS),
            inertia=np.tile(np.array(INERTIA), (n, 1)),
            thrust_max=np.full(n, THRUST_MAX),
            motor_gain=np.ones((n, 4)),
            tau_up=np.full(n, MOTOR_TAU_UP),
            tau_down=np.full(n, MOTOR_TAU_DOWN),
            yaw_coef=np.full(n, THRUST2TORQUE),
            force=np.zeros((n, 3)),
            torque=np.zeros((n, 3)),
        )

    def set_rows(self, rows: np.ndarray | slice, other: Params) -> None:
        """Overwrite the drones ``rows`` with ``other``'s (as many drones as rows)."""
        for name in self.__dataclass_fields__:
            getattr(self, name)[rows] = getattr(other, name)


@dataclass
class State:
    """State of N drones."""

    pos: np.ndarray
    """[N, 3] position, world, m."""
    vel: np.ndarray
    """[N, 3] linear velocity, world, m/s."""
    rot: np.ndarray
    """[N, 3, 3] rotation body -> world."""
    omega: np.ndarray
    """[N, 3] angular velocity, body, rad/s."""
    rotor: np.ndarray
    """[N, 4] normalised rotor speed (thrust = gain * thrust_max * rotor^2)."""

    @classmethod
    def zeros(cls, n: int) -> State:
        """N drones at the origin, level, at rest, motors stopped."""
        return cls(
            pos=np.zeros((n, 3)),
            vel=np.zeros((n, 3)),
            rot=np.tile(np.eye(3), (n, 1, 1)),
            omega=np.zeros((n, 3)),
            rotor=np.zeros((n, 4)),
        )

    def set_rows(self, rows: np.ndarray | slice, other: State) -> None:
        """Overwrite the drones ``rows`` with ``other``'s."""
        for name in self.__dataclass_fields__:
            getattr(self, name)[rows] = getattr(other, name)


def motor_target(command: np.ndarray) -> np.ndarray:
    """Normalised rotor speed a command asks for: ``sqrt(u)``, 0 below the firmware's THRUST_MIN cut-off."""
    u = np.clip(command, 0.0, 1.0)
    return np.where(u * THRUST_MAX < THRUST_MIN, 0.0, np.sqrt(u))


def motor_forces(state: State, params: Params) -> np.ndarray:
    """[N, 4] thrust of each motor, N."""
    return params.motor_gain * params.thrust_max[:, None] * state.rotor**2


def body_wrench(forces: np.ndarray, yaw_coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Collective thrust [N] and body torque [N, 3] of motor forces [N, 4] (the inverse of the firmware's mixer)."""
    thrust = forces.sum(axis=1)
    tau = np.stack(
        [
            forces @ MOTOR_POS[:, 1],
            -(forces @ MOTOR_POS[:, 0]),
            yaw_coef * (forces @ YAW_SIGN),
        ],
        axis=1,
    )
    return thrust, tau


def mixer(thrust: float, torque: tuple[float, float, float]) -> np.ndarray:
    """The firmware's ``powerDistributionForceTorque`` before capping: motor forces M1..M4 (N) for a wrench.

    Written from the firmware's formulas (``arm = 0.707 * ARM_LENGTH``; roll = tau_x / (4 arm), pitch = tau_y /
    (4 arm), yaw = tau_z / (4 THRUST2TORQUE)) so the tests can check :func:`body_wrench` against it.
    """
    roll = torque[0] / (4 * ARM)
    pitch = torque[1] / (4 * ARM)
    yaw = torque[2] / (4 * THRUST2TORQUE)
    t = thrust / 4
    return np.array([t - roll - pitch - yaw, t - roll + pitch + yaw, t + roll + pitch - yaw, t + roll - pitch + yaw])


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross product of [N, 3] arrays (``np.cross`` spends most of its time on axis bookkeeping)."""
    a0, a1, a2 = a[:, 0], a[:, 1], a[:, 2]
    b0, b1, b2 = b[:, 0], b[:, 1], b[:, 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=1)


def expm_so3(phi: np.ndarray) -> np.ndarray:
    """Rodrigues: [N, 3] rotation vectors -> [N, 3, 3] rotation matrices.

    ``R = I + a K + b K^2`` with ``K = hat(phi)``, ``a = sin(t) / t``, ``b = (1 - cos t) / t^2``, and
    ``K^2 = phi phi^T - t^2 I``.
    """
    theta2 = np.einsum("ij,ij->i", phi, phi)
    theta = np.sqrt(theta2)
    small = theta < 1e-6
    safe = np.where(small, 1.0, theta)
    a = np.where(small, 1.0 - theta2 / 6.0, np.sin(safe) / safe)
    b = np.where(small, 0.5 - theta2 / 24.0, (1.0 - np.cos(safe)) / (safe * safe))
    x, y, z = phi[:, 0] * a, phi[:, 1] * a, phi[:, 2] * a
    r = (b[:, None, None] * phi[:, :, None]) * phi[:, None, :]
    diag = 1.0 - b * theta2
    r[:, 0, 0] += diag
    r[:, 1, 1] += diag
    r[:, 2, 2] += diag
    r[:, 0, 1] -= z
    r[:, 1, 0] += z
    r[:, 0, 2] += y
    r[:, 2, 0] -= y
    r[:, 1, 2] -= x
    r[:, 2, 1] += x
    return r


def step(state: State, params: Params, command: np.ndarray, dt: float, substeps: int) -> None:
    """Advance every drone by ``dt`` seconds (``substeps`` equal substeps) under constant motor commands, in place.

    Args:
        state: the drones, updated in place.
        params: their parameters.
        command: [N, 4] normalised forces M1..M4 (clipped to [0, 1]).
        dt: seconds.
        substeps: integration substeps.
    """
    target = motor_target(command)
    h = dt / substeps
    a_up = 1.0 - np.exp(-h / params.tau_up)[:, None]
    a_down = 1.0 - np.exp(-h / params.tau_down)[:, None]
    inertia = params.inertia
    gravity = np.array([0.0, 0.0, -G])
    for _ in range(substeps):
        rotor = state.rotor
        rotor += np.where(target > rotor, a_up, a_down) * (target - rotor)
        thrust, tau = body_wrench(motor_forces(state, params), params.yaw_coef)
        tau += params.torque
        # World acceleration: R e_z * T / m + g + disturbance / m.
        acc = state.rot[:, :, 2] * (thrust / params.mass)[:, None] + gravity + params.force / params.mass[:, None]
        w = state.omega
        # Euler's equations by the midpoint rule: explicit Euler on the gyroscopic term w x Jw gains energy (it
        # diverged within seconds of tumbling at 50 rad/s of yaw); the midpoint rule is stable at the gyro's range.
        w_mid = w + 0.5 * h * (tau - _cross(w, inertia * w)) / inertia
        w_dot = (tau - _cross(w_mid, inertia * w_mid)) / inertia
        # Exact for the substep's constant acceleration, so free fall is g t^2 / 2 to rounding.
        state.pos += (state.vel + 0.5 * h * acc) * h
        state.vel += acc * h
        r = state.rot @ expm_so3((w + 0.5 * h * w_dot) * h)
        w += w_dot * h
        state.rot = 0.5 * r @ (3.0 * np.eye(3) - np.swapaxes(r, 1, 2) @ r)


def quat_to_rot(q_xyzw: np.ndarray) -> np.ndarray:
    """[..., 4] unit quaternions (x, y, z, w: ``attitudeQuaternion`` order) -> [..., 3, 3] body to world."""
    q = np.asarray(q_xyzw, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    x, y, z, w = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], axis=-1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], axis=-1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], axis=-1),
        ],
        axis=-2,
    )


def rot_to_quat(rot: np.ndarray) -> np.ndarray:
    """[..., 3, 3] rotation matrices -> [..., 4] quaternions (x, y, z, w) with w >= 0."""
    r = np.asarray(rot, dtype=np.float64)
    w = 0.5 * np.sqrt(np.maximum(0.0, 1 + r[..., 0, 0] + r[..., 1, 1] + r[..., 2, 2]))
    x = 0.5 * np.sqrt(np.maximum(0.0, 1 + r[..., 0, 0] - r[..., 1, 1] - r[..., 2, 2]))
    y = 0.5 * np.sqrt(np.maximum(0.0, 1 - r[..., 0, 0] + r[..., 1, 1] - r[..., 2, 2]))
    z = 0.5 * np.sqrt(np.maximum(0.0, 1 - r[..., 0, 0] - r[..., 1, 1] + r[..., 2, 2]))
    x = np.copysign(x, r[..., 2, 1] - r[..., 1, 2])
    y = np.copysign(y, r[..., 0, 2] - r[..., 2, 0])
    z = np.copysign(z, r[..., 1, 0] - r[..., 0, 1])
    return np.stack([x, y, z, w], axis=-1)


def random_rotation(rng: np.random.Generator, n: int, max_tilt: float) -> np.ndarray:
    """[n, 3, 3] rotations with a uniform yaw and a tilt (angle of body z from world z) uniform in [0, max_tilt]."""
    yaw = rng.uniform(-np.pi, np.pi, n)
    tilt = rng.uniform(0.0, max_tilt, n)
    axis_angle = rng.uniform(-np.pi, np.pi, n)
    tilt_axis = np.stack([np.cos(axis_angle), np.sin(axis_angle), np.zeros(n)], axis=1)
    return expm_so3(tilt_axis * tilt[:, None]) @ expm_so3(np.stack([np.zeros(n), np.zeros(n), yaw], axis=1))
