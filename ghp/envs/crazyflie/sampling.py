"""What each Crazyflie episode draws from its drone's generator: the airframe's parameters (domain randomisation),
the start state and target, and the tracked path; in this order, so every task's random stream stays as it was."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ghp.envs import quadrotor as qr
from ghp.envs.crazyflie.config import CrazyflieConfig, pair


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
        amplitude=np.array([u(*pair(cfg, "track_amplitude_range"))]),
        omega=np.array([2.0 * np.pi / u(*pair(cfg, "track_period_range"))]),
        phase=np.array([2.0 * np.pi * u(*pair(cfg, "track_phase_range"))]),
        heading=np.array([np.deg2rad(u(*pair(cfg, "track_heading_range")))]),
    )
