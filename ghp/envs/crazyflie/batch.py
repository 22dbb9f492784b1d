"""The numpy simulator of N Crazyflies, :class:`CrazyflieBatch`: per-drone episodes (reset, observation noise,
action latency and history, reward, termination, success) over the batched dynamics of :mod:`ghp.envs.quadrotor`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ghp.envs import quadrotor as qr
from ghp.envs.crazyflie.config import SUCCESS_RADIUS, SUCCESS_STEPS, CrazyflieConfig
from ghp.envs.crazyflie.interface import (
    ACT_DIM,
    ANGVEL_CLIP,
    HOVER_ACTION,
    INITIAL_ACTION,
    INTEGRAL_CLIP,
    POLICY_DT,
    VEL_CLIP,
    action_to_forces,
    observe,
)
from ghp.envs.crazyflie.reward import reward
from ghp.envs.crazyflie.sampling import Track, sample_params, sample_start, sample_track

_NOISE_BLOCK = 64
"""Steps of observation noise each drone draws at once (at its reset and every this many steps)."""


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
    integral: np.ndarray = field(init=False)

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
        self.integral = np.zeros((n, 3))  # the position_integral option's accumulator (unused when it is off)
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
        self.integral[rows] = 0.0
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
        integral = self.integral[rows] if self.cfg.position_integral else None
        return observe(
            err,
            rot,
            vel,
            omega,
            self.history[rows],
            integral,
            bool(self.cfg.yaw_frame),
            float(self.cfg.error_clip),  # type: ignore[arg-type]
        )

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
            rew = reward(dist, s.rot, s.vel - self.target_vel, s.omega, da, self.cfg)
            self.prev_action = a
            if self.cfg.position_integral:
                # The leaky integral of the (true) position error, saturating: what a PID's integral term holds.
                leak = 1.0 - POLICY_DT / max(self.cfg.position_integral, POLICY_DT)
                self.integral = np.clip(self.integral * leak + err * POLICY_DT, -INTEGRAL_CLIP, INTEGRAL_CLIP)
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
        return self.observe(), rew, terminated, truncated, success
