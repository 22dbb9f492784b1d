"""Evolution strategies over a flat parameter vector, ARS-style (Mania et al. 2018, Augmented Random Search V2-t).

The engine knows nothing about hypernetworks or codebooks: a *parameter map* turns a flat vector ``theta`` into a
:class:`~ghp.policy.weights.PolicyWeights` (the policy acting on *normalised* observations), and the engine improves
``theta`` on the true episode return. One iteration (ARS, Algorithm 2):

1. Draw ``K`` directions ``delta_k ~ N(0, I)`` from a generator seeded by ``(seed, iteration)`` alone.
2. Roll out ``theta + sigma delta_k`` and ``theta - sigma delta_k`` (antithetic pair), each on the same
   ``episodes`` starting states (common random numbers: reset seeds from ``(seed, iteration, k, episode)``), and the
   centre ``theta`` itself on ``eval_episodes`` fixed starting states (the return the progress bar shows).
3. Keep the ``top`` directions by ``max(r+, r-)``; divide the step by the standard deviation of their ``2 top``
   returns (reward normalisation):
   ``theta += lr / (top * sigma_R) * sum_k (r+_k - r-_k) delta_k``.
4. Observation normalisation (ARS V2): the policy sees ``(x - mu) / sd``, where ``mu, sd`` are the running mean and
   standard deviation of every observation seen by the perturbed rollouts so far, frozen during an iteration and
   updated after it. A map that can (``DenseMap.renormalize``) re-expresses ``theta`` under the new statistics, so
   that an update changes the search's geometry but not the policy. For export the normalisation is folded into
   the first layer (:func:`fold`): ``W' = W / sd`` (column-wise), ``b' = b - W (mu / sd)``. When fine-tuning a
   trained policy, seed the statistics from rollouts of that policy and start from :func:`unfold` of its weights,
   so the first iterate acts exactly like it.

Rollouts happen in work units (:class:`RolloutUnit`: a parameter map, parameter rows, the normalisation, an
environment id with its keyword arguments, and one reset seed per row; :func:`rollout` turns one into returns and
per-row observation statistics). Units are plain picklable data and :func:`rollout` is a module-level function, so a
backend only has to map it over a list: :class:`RolloutPool` is the one place that does (this process, or worker
processes); another backend (e.g. Ray) can stand in for it by providing the same ``map``/``close``.

Determinism: every random number derives from ``(seed, iteration, ...)``; each row's rollout depends only on its own
parameters and seed, and statistics are merged in row order, so results do not depend on the worker count, and an
interrupted run resumed from its saved :class:`ESState` continues exactly as if it had not stopped.

Usage::

    pmap = DenseMap.like(policy)                      # every weight and bias is a parameter
    stats = ...                                       # ObsStats from rollouts of ``policy`` (or ObsStats.empty)
    theta0 = pmap.flatten(unfold(policy, stats))
    with RolloutPool(workers=2) as pool:
        state = run_es(pmap, theta0, "Pendulum-v1", ESConfig(iterations=20), pool, stats=stats)
    tuned = state.best_policy(pmap)                   # folded: acts on raw observations
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ghp.io.atomic import write_npz
from ghp.policy.weights import PolicyWeights, obs_vector
from ghp.space.arch import Arch

STATE_VERSION = 1
MIN_STD = 1e-6
"""Observation components whose standard deviation is below this are left unscaled (their ``sd`` is taken as 1)."""
_EVAL_TAG = 2**32 - 1
"""Seed-sequence tag of the centre's evaluation starts (never an iteration number)."""


# --------------------------------------------------------------------------------------------- observation stats


@dataclass(frozen=True, eq=False)
class ObsStats:
    """Running mean and variance of observations (count, mean, sum of squared deviations), float64."""

    count: int
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def empty(cls, dim: int) -> ObsStats:
        """No observations yet: normalisation is the identity."""
        return cls(0, np.zeros(dim), np.zeros(dim))

    @classmethod
    def of(cls, xs: np.ndarray) -> ObsStats:
        """Statistics of the rows of ``xs`` (``[n, dim]``)."""
        xs = np.asarray(xs, np.float64)
        if len(xs) == 0:
            return cls.empty(xs.shape[1])
        mean = xs.mean(axis=0)
        return cls(len(xs), mean, ((xs - mean) ** 2).sum(axis=0))

    def merge(self, other: ObsStats) -> ObsStats:
        """Statistics of both sets (Chan et al.'s parallel update)."""
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        n = self.count + other.count
        d = other.mean - self.mean
        mean = self.mean + d * (other.count / n)
        m2 = self.m2 + other.m2 + d * d * (self.count * other.count / n)
        return ObsStats(n, mean, m2)

    @property
    def std(self) -> np.ndarray:
        """Standard deviation used for normalisation: 1 where there is no data or (almost) no spread."""
        if self.count < 2:
            return np.ones_like(self.mean)
        sd = np.sqrt(self.m2 / (self.count - 1))
        return np.where(sd < MIN_STD, 1.0, sd)

    @property
    def shift(self) -> np.ndarray:
        """Mean used for normalisation (0 before any data)."""
        return self.mean if self.count > 0 else np.zeros_like(self.mean)


def fold(weights: PolicyWeights, mean: np.ndarray, std: np.ndarray) -> PolicyWeights:
    """The policy on raw observations equal to ``weights`` applied to ``(x - mean) / std``.

    ``W' = W / std`` column-wise and ``b' = b - W (mean / std)`` on the first layer; computed in float64, stored as
    float32 (the other layers are unchanged).
    """
    w, b = weights.layers[0]
    w64 = w.astype(np.float64)
    w_new = w64 / std[None, :]
    b_new = b.astype(np.float64) - w64 @ (mean / std)
    layers = ((w_new.astype(np.float32), b_new.astype(np.float32)), *weights.layers[1:])
    clip = _map_clip(weights, lambda z: mean + z * std)  # a clip of z = (x - mean) / std is one of x
    return dataclasses.replace(weights, layers=layers, clip_low=clip[0], clip_high=clip[1])


def _map_clip(weights: PolicyWeights, to: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The observation clip bounds of ``weights`` (a ``--normalize`` run's) through the increasing map ``to``."""
    if weights.clip_low is None or weights.clip_high is None:
        return None, None
    lo, hi = (to(b.astype(np.float64)).astype(np.float32) for b in (weights.clip_low, weights.clip_high))
    return lo, hi


def unfold(weights: PolicyWeights, stats: ObsStats) -> PolicyWeights:
    """Inverse of :func:`fold` with ``stats``: the policy on normalised observations acting like ``weights``."""
    w, b = weights.layers[0]
    w64 = w.astype(np.float64)
    w_new = w64 * stats.std[None, :]
    b_new = b.astype(np.float64) + w64 @ stats.shift
    layers = ((w_new.astype(np.float32), b_new.astype(np.float32)), *weights.layers[1:])
    clip = _map_clip(weights, lambda x: (x - stats.shift) / stats.std)
    return dataclasses.replace(weights, layers=layers, clip_low=clip[0], clip_high=clip[1])


# --------------------------------------------------------------------------------------------- parameter maps


class ParamMap(Protocol):
    """Turns a flat parameter vector into a policy. Must be picklable (it travels inside every work unit)."""

    @property
    def size(self) -> int:
        """Length of the parameter vector."""
        ...

    def weights(self, theta: np.ndarray) -> PolicyWeights:
        """The policy (on normalised observations) that ``theta`` stands for."""
        ...


# A map may also define ``renormalize(theta, old: ObsStats, new: ObsStats) -> theta``: the parameters under the
# ``new`` statistics of the same raw-observation policy that ``theta`` is under ``old``. The engine then calls it
# after every statistics update, so a new normalisation changes the geometry of the search but never the policy
# (without it, as in plain ARS V2, the policy jumps whenever the statistics move: fine-tuning a trained Pendulum
# policy that way fell from -176 to -1450 within 10 iterations, as the swinging starts of the perturbed rollouts
# moved the statistics away from those of the trained policy's own upright rollouts).


@dataclass(frozen=True, eq=False)
class DenseMap:
    """Every weight and bias of one architecture is a parameter: ``theta = W0.ravel() ++ b0 ++ W1.ravel() ++ ...``."""

    arch: Arch
    shapes: tuple[tuple[int, int], ...]
    """``(out, in)`` per layer."""
    action_low: np.ndarray
    action_high: np.ndarray
    activation: str = "relu"
    """Hidden activation of the policies (``PolicyWeights.activation``)."""
    clip_low: np.ndarray | None = None
    """Observation clip of a ``--normalize`` run's policy (kept, not tuned)."""
    clip_high: np.ndarray | None = None

    @classmethod
    def like(cls, policy: PolicyWeights) -> DenseMap:
        """The map of ``policy``'s architecture, action bounds, layer shapes, activation and observation clip."""
        shapes = tuple((int(w.shape[0]), int(w.shape[1])) for w, _ in policy.layers)
        return cls(
            policy.arch,
            shapes,
            policy.action_low,
            policy.action_high,
            policy.activation,
            policy.clip_low,
            policy.clip_high,
        )

    @property
    def size(self) -> int:
        return sum(o * i + o for o, i in self.shapes)

    def flatten(self, policy: PolicyWeights) -> np.ndarray:
        """The parameter vector of ``policy`` (float64)."""
        return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in policy.layers]).astype(np.float64)

    def renormalize(self, theta: np.ndarray, old: ObsStats, new: ObsStats) -> np.ndarray:
        """The first layer re-expressed for ``new`` statistics: the same raw-observation policy (in float64)."""
        o, i = self.shapes[0]
        theta = np.asarray(theta, np.float64).copy()
        w = theta[: o * i].reshape(o, i)
        w_raw = w / old.std[None, :]
        b_raw = theta[o * i : o * i + o] - w_raw @ old.shift
        theta[: o * i] = (w_raw * new.std[None, :]).ravel()
        theta[o * i : o * i + o] = b_raw + w_raw @ new.shift
        return theta

    def weights(self, theta: np.ndarray) -> PolicyWeights:
        theta = np.asarray(theta)
        if theta.shape != (self.size,):
            raise ValueError(f"expected {self.size} parameters, got shape {theta.shape}")
        layers = []
        k = 0
        for o, i in self.shapes:
            w = theta[k : k + o * i].reshape(o, i).astype(np.float32)
            k += o * i
            layers.append((w, theta[k : k + o].astype(np.float32)))
            k += o
        return PolicyWeights(
            self.arch,
            tuple(layers),
            self.action_low,
            self.action_high,
            activation=self.activation,
            clip_low=self.clip_low,
            clip_high=self.clip_high,
        )


# --------------------------------------------------------------------------------------------- rollouts


@dataclass(frozen=True, eq=False)
class RolloutUnit:
    """One picklable piece of work: roll out each parameter row for one episode from its own reset seed."""

    param_map: Any
    """A :class:`ParamMap` (picklable)."""
    thetas: np.ndarray
    """``[n, size]`` parameter rows."""
    seeds: tuple[int, ...]
    """Reset seed of each row's episode."""
    env_id: str
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Keyword arguments of ``ghp.envs.make_env`` (``max_episode_steps`` among them, if wanted)."""
    obs_mean: np.ndarray | None = None
    """Normalisation shift (None: the policy sees raw observations)."""
    obs_std: np.ndarray | None = None
    """Normalisation scale (with ``obs_mean``)."""
    collect_stats: bool = True
    """Return per-row observation statistics (the perturbed rollouts feed the running normalisation)."""


@dataclass(frozen=True, eq=False)
class RolloutResult:
    """Per row of a :class:`RolloutUnit`: episode return, length, and observation statistics."""

    returns: np.ndarray
    lengths: np.ndarray
    stats: tuple[ObsStats, ...]
    """Empty when the unit did not collect statistics."""


_ENVS: dict[str, list[Any]] = {}


def _envs(env_id: str, kwargs: Mapping[str, Any], n: int) -> list[Any]:
    from ghp.envs import make_env

    envs = _ENVS.setdefault(repr((env_id, sorted(kwargs.items()))), [])
    while len(envs) < n:
        envs.append(make_env(env_id, **kwargs))
    return envs


def rollout(unit: RolloutUnit) -> RolloutResult:
    """Roll out every row of ``unit`` (all rows share one architecture and hidden activation: one stacked matmul per
    layer per step).

    Each row's arithmetic depends only on its own parameters and observations, so the result of a row does not
    depend on which other rows share its unit.
    """
    n = len(unit.thetas)
    if n != len(unit.seeds):
        raise ValueError("a rollout unit needs one seed per parameter row")
    policies = [unit.param_map.weights(t) for t in unit.thetas]
    if unit.obs_mean is not None and unit.obs_std is not None:
        policies = [fold(p, unit.obs_mean, unit.obs_std) for p in policies]
    layers = [
        (np.stack([p.layers[j][0].T for p in policies]), np.stack([p.layers[j][1][None, :] for p in policies]))
        for j in range(len(policies[0].layers))
    ]
    low, span = policies[0].action_low, policies[0].action_high - policies[0].action_low
    tanh = policies[0].activation == "tanh"
    clip = None
    if policies[0].clip_low is not None:  # a --normalize run's observation clip, per row
        clip = (np.stack([p.clip_low for p in policies]), np.stack([p.clip_high for p in policies]))
    envs = _envs(unit.env_id, unit.env_kwargs, n)[:n]
    first = [obs_vector(env.reset(seed=int(s))[0]) for env, s in zip(envs, unit.seeds, strict=True)]
    obs = np.stack(first).astype(np.float32)
    seen: list[list[np.ndarray]] = [[o] for o in first]
    returns = np.zeros(n)
    lengths = np.zeros(n, np.int64)
    done = np.zeros(n, bool)
    last = len(layers) - 1
    while not done.all():
        h = (obs if clip is None else np.minimum(np.maximum(obs, clip[0]), clip[1]))[:, None, :]
        for j, (wt, b) in enumerate(layers):
            h = np.matmul(h, wt) + b
            if j < last:
                h = np.tanh(h) if tanh else np.maximum(h, np.float32(0))
        acts = low + (np.tanh(h[:, 0, :]) + np.float32(1)) * np.float32(0.5) * span
        for r in range(n):
            if done[r]:
                continue
            o, rew, term, trunc, _ = envs[r].step(acts[r])
            returns[r] += float(rew)
            lengths[r] += 1
            if term or trunc:
                done[r] = True
            else:
                obs[r] = obs_vector(o)
                if unit.collect_stats:
                    seen[r].append(obs[r].copy())
    stats = tuple(ObsStats.of(np.stack(s)) for s in seen) if unit.collect_stats else ()
    return RolloutResult(returns, lengths, stats)


def _rollout(shared: None, unit: RolloutUnit) -> RolloutResult:
    return rollout(unit)


class RolloutPool:
    """Where work units run: this process (``workers=0`` with the local backend), ``workers`` spawned processes
    (one BLAS thread each), or Ray tasks (``backend="ray"``; ``workers=0``: every CPU of the cluster).

    The one backend seam of the ES engine: anything with ``map(units) -> results`` (in order), ``slots`` and
    ``close()`` can replace it. It maps :func:`rollout` over a :mod:`ghp.rollout.backend`, which runs a unit again if
    its
    worker dies; results do not depend on the backend or the worker count.
    """

    def __init__(self, workers: int = 0, backend: str = "local", ray_address: str | None = None) -> None:
        from ghp.rollout.backend import SerialBackend, make_backend

        if workers < 0:
            raise ValueError(f"workers must be 0 (this process) or positive, got {workers}")
        self.workers = workers
        self.backend = (
            SerialBackend() if backend == "local" and workers == 0 else make_backend(backend, workers, ray_address)
        )

    @property
    def slots(self) -> int:
        """How many units run at once (the engine cuts an iteration into this many)."""
        return max(1, self.backend.workers)

    def map(self, units: Sequence[RolloutUnit]) -> list[RolloutResult]:
        """Results of :func:`rollout` for every unit, in order."""
        from ghp.rollout.backend import map_ordered

        return map_ordered(self.backend, _rollout, None, units)

    def close(self) -> None:
        """Stop the workers (terminates work in flight)."""
        self.backend.abort()

    def __enter__(self) -> RolloutPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------- the engine


@dataclass(frozen=True)
class ESConfig:
    """Settings of an ES run (ARS V2-t; ``ghp tune`` and ``ghp chromatic`` options mirror these fields)."""

    iterations: int = 50
    """ES iterations (each: 2 x directions x episodes perturbed episodes + eval_episodes for the centre)."""
    directions: int = 8
    """Random directions per iteration (ARS N); each is tried with + and - sigma."""
    top: int = 4
    """Directions kept for the update, the best by max(r+, r-) (ARS b; at most directions)."""
    sigma: float = 0.03
    """Exploration noise: standard deviation of the parameter perturbation (ARS nu)."""
    lr: float = 0.02
    """Step size (ARS alpha); the step is divided by the standard deviation of the kept returns."""
    episodes: int = 1
    """Episodes per perturbed parameter vector (the same starting states for + and -)."""
    eval_episodes: int = 3
    """Episodes of the unperturbed centre per iteration (fixed starting states): the reported return, and what
    picks the best iterate."""
    obs_norm: bool = True
    """Normalise observations with running statistics (ARS V2); off, the policy sees raw observations."""
    seed: int = 0
    """Seed of the directions and of every reset."""
    max_episode_steps: int | None = None
    """Override of the environment's episode limit (None: its own)."""

    def __post_init__(self) -> None:
        for name in ("iterations", "directions", "top", "episodes", "eval_episodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.replace('_', '-')} must be a positive integer, got {getattr(self, name)}")
        if self.top > self.directions:
            raise ValueError(f"top ({self.top}) cannot exceed directions ({self.directions})")
        if not (self.sigma > 0 and math.isfinite(self.sigma)):
            raise ValueError(f"sigma must be a positive number, got {self.sigma}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed}")
        if self.max_episode_steps is not None and self.max_episode_steps < 1:
            raise ValueError(f"max-episode-steps must be positive, got {self.max_episode_steps}")

    def same_search(self, other: ESConfig) -> bool:
        """True if resuming a run of ``other`` with this config continues the same search (iterations may grow)."""
        a, b = asdict(self), asdict(other)
        a.pop("iterations")
        b.pop("iterations")
        return a == b


@dataclass
class ESState:
    """Everything an ES run needs to continue: saved after every iteration (:meth:`save`), restored by :meth:`load`."""

    config: ESConfig
    iteration: int
    """Iterations completed."""
    theta: np.ndarray
    """Current centre (float64)."""
    stats: ObsStats
    """Observation statistics the next iteration normalises with."""
    best_theta: np.ndarray
    """The centre with the best evaluated return so far."""
    best_mean: np.ndarray
    best_std: np.ndarray
    """The normalisation ``best_theta`` was evaluated with (fold with these for export)."""
    best_return: float = -math.inf
    best_iteration: int = -1
    """Iteration whose centre is ``best_theta`` (-1: the start, not yet evaluated)."""
    env_steps: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    """Per iteration: ``iteration``, ``return`` (centre, eval starts), ``perturbed`` (mean of perturbed returns),
    ``top`` (best kept return), ``step_norm``, ``env_steps``."""

    def best_policy(self, param_map: ParamMap) -> PolicyWeights:
        """The best centre as a policy on raw observations (normalisation folded in when it was used)."""
        w = param_map.weights(self.best_theta)
        return fold(w, self.best_mean, self.best_std) if self.config.obs_norm else w

    def current_policy(self, param_map: ParamMap) -> PolicyWeights:
        """The current centre as a policy on raw observations."""
        w = param_map.weights(self.theta)
        return fold(w, self.stats.shift, self.stats.std) if self.config.obs_norm else w

    def save(self, path: str | Path) -> None:
        """Write atomically (a temporary file, then rename), so an interruption never leaves a torn state."""
        path = Path(path)
        meta = {
            "state_version": STATE_VERSION,
            "config": asdict(self.config),
            "iteration": self.iteration,
            "stats_count": self.stats.count,
            "best_return": self.best_return,
            "best_iteration": self.best_iteration,
            "env_steps": self.env_steps,
            "history": self.history,
        }
        write_npz(
            path,
            dict(
                meta=np.asarray(json.dumps(meta)),
                theta=self.theta,
                stats_mean=self.stats.mean,
                stats_m2=self.stats.m2,
                best_theta=self.best_theta,
                best_mean=self.best_mean,
                best_std=self.best_std,
            ),
        )

    @classmethod
    def load(cls, path: str | Path) -> ESState:
        """Read a file written by :meth:`save`.

        Raises:
            ValueError: a corrupt file or one from a newer version.
        """
        try:
            with np.load(path) as z:
                meta = json.loads(str(z["meta"]))
                if int(meta["state_version"]) > STATE_VERSION:
                    raise ValueError(f"ES state {path} is from a newer ghp; upgrade to resume it")
                known = {f.name for f in fields(ESConfig)}
                config = ESConfig(**{k: v for k, v in meta["config"].items() if k in known})
                return cls(
                    config=config,
                    iteration=int(meta["iteration"]),
                    theta=z["theta"].astype(np.float64),
                    stats=ObsStats(int(meta["stats_count"]), z["stats_mean"], z["stats_m2"]),
                    best_theta=z["best_theta"].astype(np.float64),
                    best_mean=z["best_mean"],
                    best_std=z["best_std"],
                    best_return=float(meta["best_return"]),
                    best_iteration=int(meta["best_iteration"]),
                    env_steps=int(meta["env_steps"]),
                    history=list(meta["history"]),
                )
        except (OSError, KeyError, ValueError, TypeError, json.JSONDecodeError) as e:
            if isinstance(e, ValueError) and "newer ghp" in str(e):
                raise
            raise ValueError(f"corrupt ES state {path}: {e}") from None

    @classmethod
    def start(cls, config: ESConfig, theta0: np.ndarray, stats: ObsStats) -> ESState:
        """A fresh state at ``theta0`` with starting statistics ``stats``."""
        theta0 = np.asarray(theta0, np.float64).copy()
        return cls(config, 0, theta0, stats, theta0.copy(), stats.shift.copy(), stats.std.copy())


ProgressFn = Callable[[ESState], None]
"""Called after every completed (and saved) iteration with the current state."""


def seed_of(*parts: int) -> int:
    """A 32-bit seed derived from ``parts`` alone (``numpy.random.SeedSequence``)."""
    return int(np.random.SeedSequence(list(parts)).generate_state(1, np.uint32)[0])


def eval_seeds(seed: int, episodes: int) -> tuple[int, ...]:
    """Reset seeds of the centre's evaluation episodes (the same every iteration)."""
    return tuple(seed_of(seed, _EVAL_TAG, e) for e in range(episodes))


def directions(config: ESConfig, iteration: int, size: int) -> np.ndarray:
    """The ``[directions, size]`` Gaussian directions of ``iteration`` (from ``(seed, iteration)`` alone)."""
    return np.random.default_rng(np.random.SeedSequence([config.seed, iteration])).standard_normal(
        (config.directions, size)
    )


def _split(n: int, parts: int) -> list[slice]:
    q, r = divmod(n, parts)
    out, s = [], 0
    for i in range(parts):
        e = s + q + (1 if i < r else 0)
        if e > s:
            out.append(slice(s, e))
        s = e
    return out


def ars_update(
    r_plus: np.ndarray, r_minus: np.ndarray, deltas: np.ndarray, top: int, lr: float
) -> tuple[np.ndarray, np.ndarray]:
    """The ARS V2-t step (Algorithm 2, steps 3-4) from the returns of ``theta +- sigma delta_k``, and the returns it
    used.

    The ``top`` directions by ``max(r+, r-)`` (stable order), the step ``lr / (top * sigma_R) * sum_k (r+_k - r-_k)
    delta_k`` with ``sigma_R`` the standard deviation of their ``2 top`` returns (1 when they are all equal).
    """
    order = np.argsort(-np.maximum(r_plus, r_minus), kind="stable")[:top]
    kept = np.concatenate([r_plus[order], r_minus[order]])
    sigma_r = float(kept.std())
    if sigma_r < 1e-12:
        sigma_r = 1.0  # every kept return equal: no signal, and no division by zero
    return lr / (top * sigma_r) * ((r_plus[order] - r_minus[order]) @ deltas[order]), kept


def env_kwargs_of(config: ESConfig, env_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """``make_env`` keyword arguments: the caller's, plus ``max_episode_steps`` when the config overrides it."""
    kw = dict(env_kwargs or {})
    if config.max_episode_steps is not None:
        kw["max_episode_steps"] = config.max_episode_steps
    return kw


def evaluate_rows(
    param_map: ParamMap,
    thetas: np.ndarray,
    seeds: Sequence[int],
    env_id: str,
    pool: RolloutPool,
    env_kwargs: Mapping[str, Any] | None = None,
    stats: ObsStats | None = None,
    collect_stats: bool = False,
) -> RolloutResult:
    """Roll out parameter rows (one episode each, row ``i`` from ``seeds[i]``) through ``pool``, merged in order."""
    thetas = np.atleast_2d(thetas)
    mean, std = (None, None) if stats is None else (stats.shift, stats.std)
    units = [
        RolloutUnit(param_map, thetas[s], tuple(seeds[s]), env_id, dict(env_kwargs or {}), mean, std, collect_stats)
        for s in _split(len(thetas), pool.slots)
    ]
    results = pool.map(units)
    return RolloutResult(
        np.concatenate([r.returns for r in results]),
        np.concatenate([r.lengths for r in results]),
        tuple(s for r in results for s in r.stats),
    )


def es_step(
    state: ESState,
    param_map: ParamMap,
    env_id: str,
    pool: RolloutPool,
    env_kwargs: Mapping[str, Any] | None = None,
) -> ESState:
    """One ARS iteration from ``state`` (which is updated in place and returned)."""
    cfg = state.config
    it = state.iteration
    k, e = cfg.directions, cfg.episodes
    deltas = directions(cfg, it, param_map.size)
    plus = state.theta + cfg.sigma * deltas
    minus = state.theta - cfg.sigma * deltas
    # Rows: + of every direction, - of every direction (each repeated per episode), then the centre's eval rows.
    rows = np.concatenate([np.repeat(plus, e, axis=0), np.repeat(minus, e, axis=0)])
    pert_seeds = [seed_of(cfg.seed, it, d, j) for d in range(k) for j in range(e)] * 2
    ev_seeds = list(eval_seeds(cfg.seed, cfg.eval_episodes))
    stats = state.stats if cfg.obs_norm else None
    kw = env_kwargs_of(cfg, env_kwargs)
    # One batch for the perturbed rows and the centre's rows, so no worker waits for a second round trip.
    n_pert = len(rows)
    both = np.concatenate([rows, np.repeat(state.theta[None, :], cfg.eval_episodes, axis=0)])
    res = evaluate_rows(param_map, both, pert_seeds + ev_seeds, env_id, pool, kw, stats, collect_stats=cfg.obs_norm)
    pert_returns, centre_returns = res.returns[:n_pert], res.returns[n_pert:]
    r = pert_returns.reshape(2, k, e).mean(axis=2)
    step, kept = ars_update(r[0], r[1], deltas, cfg.top, cfg.lr)
    centre_return = float(centre_returns.mean())
    if centre_return > state.best_return:
        state.best_return = centre_return
        state.best_theta = state.theta.copy()
        state.best_mean, state.best_std = state.stats.shift.copy(), state.stats.std.copy()
        state.best_iteration = it
    state.theta = state.theta + step
    if cfg.obs_norm:
        merged = state.stats
        for s in res.stats[:n_pert]:  # the perturbed rollouts only (ARS V2); the centre's starts are fixed
            merged = merged.merge(s)
        renormalize = getattr(param_map, "renormalize", None)
        if renormalize is not None:
            state.theta = renormalize(state.theta, state.stats, merged)
        state.stats = merged
    steps = int(res.lengths.sum())
    state.env_steps += steps
    state.iteration = it + 1
    state.history.append(
        {
            "iteration": it,
            "return": centre_return,
            "perturbed": float(pert_returns.mean()),
            "top": float(kept.max()),
            "step_norm": float(np.linalg.norm(step)),
            "env_steps": state.env_steps,
        }
    )
    return state


def final_eval(
    state: ESState, param_map: ParamMap, env_id: str, pool: RolloutPool, env_kwargs: Mapping[str, Any] | None = None
) -> ESState:
    """Evaluate the last centre (the update of the last iteration has not been rolled out yet) and keep it if best."""
    cfg = state.config
    if state.history and state.history[-1].get("final"):
        return state
    stats = state.stats if cfg.obs_norm else None
    seeds = list(eval_seeds(cfg.seed, cfg.eval_episodes))
    res = evaluate_rows(
        param_map,
        state.theta[None, :].repeat(cfg.eval_episodes, 0),
        seeds,
        env_id,
        pool,
        env_kwargs_of(cfg, env_kwargs),
        stats,
    )
    ret = float(res.returns.mean())
    state.env_steps += int(res.lengths.sum())
    if ret > state.best_return:
        state.best_return = ret
        state.best_theta = state.theta.copy()
        state.best_mean, state.best_std = state.stats.shift.copy(), state.stats.std.copy()
        state.best_iteration = state.iteration
    state.history.append({"iteration": state.iteration, "return": ret, "final": 1.0, "env_steps": state.env_steps})
    return state


def run_es(
    param_map: ParamMap,
    theta0: np.ndarray,
    env_id: str,
    config: ESConfig,
    pool: RolloutPool,
    stats: ObsStats | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    state_path: str | Path | None = None,
    progress: ProgressFn | None = None,
) -> ESState:
    """Run (or resume) ES from ``theta0`` until ``config.iterations`` iterations are done, then evaluate the last
    centre.

    Args:
        param_map: flat vector -> policy on normalised observations.
        theta0: starting parameters (``param_map.size``).
        env_id: environment to roll out (``ghp.envs.make_env``), with ``env_kwargs``.
        config: ES settings.
        pool: where rollouts run.
        stats: starting observation statistics (None: none yet).
        state_path: save the state here after every iteration, and resume from it when it exists (same search
            settings required; ``iterations`` may be raised to continue).
        progress: called after every saved iteration.

    Raises:
        ValueError: a saved state from other settings or another parameter size.
    """
    obs_dim = param_map.weights(np.asarray(theta0, np.float64)).obs_dim
    start = stats if stats is not None else ObsStats.empty(obs_dim)
    state: ESState | None = None
    if state_path is not None and Path(state_path).is_file():
        state = ESState.load(state_path)
        if not state.config.same_search(config) or state.theta.shape != (param_map.size,):
            raise ValueError(
                f"the saved ES state {state_path} was made with other settings or another policy: "
                "repeat the original options (only --iterations may change) or start afresh"
            )
        state.config = config
        if state.history and state.history[-1].get("final") and state.iteration < config.iterations:
            state.history.pop()  # continuing: the final evaluation is redone at the new end
    if state is None:
        state = ESState.start(config, theta0, start)
    while state.iteration < config.iterations:
        es_step(state, param_map, env_id, pool, env_kwargs)
        if state_path is not None:
            state.save(state_path)
        if progress is not None:
            progress(state)
    final_eval(state, param_map, env_id, pool, env_kwargs)
    if state_path is not None:
        state.save(state_path)
    return state


__all__ = [
    "DenseMap",
    "ESConfig",
    "ESState",
    "ObsStats",
    "ParamMap",
    "RolloutPool",
    "RolloutResult",
    "RolloutUnit",
    "ars_update",
    "directions",
    "es_step",
    "eval_seeds",
    "evaluate_rows",
    "final_eval",
    "fold",
    "rollout",
    "run_es",
    "seed_of",
    "unfold",
]
