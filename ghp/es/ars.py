"""ARS V2-t over one parameter map (``ghp tune``'s search): the engine's loop with the centre evaluated every
iteration, the best centre kept, and the state saved as one ``.npz``.

Per iteration (:class:`ARSSearch`), on top of :func:`ghp.es.engine.antithetic`: ``K`` directions from a generator
seeded by ``(seed, iteration)`` alone; each direction's ``episodes`` from reset seeds ``(seed, iteration, k,
episode)``; the unperturbed centre on ``eval_episodes`` fixed starts (:func:`eval_seeds`) in the same batch, which
gives the reported return and picks the best iterate. After the last iteration the last centre is evaluated too
(:meth:`ARSSearch.final_eval`). :class:`ESState` is everything a resume needs; :func:`run_es` runs or resumes a search.

Usage::

    pmap = DenseMap.like(policy)                      # every weight and bias is a parameter
    stats = ...                                       # ObsStats from rollouts of ``policy`` (or ObsStats.empty)
    theta0 = pmap.flatten(unfold(policy, stats))
    with RolloutPool(workers=2) as pool:
        state = run_es(pmap, theta0, "Pendulum-v1", ESConfig(iterations=20), pool, stats=stats)
    tuned = state.best_policy(pmap)                   # folded: acts on raw observations
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ghp.es.engine import Extra, Perturbation, Rollouts, antithetic, drive, seed_of
from ghp.es.params import ObsStats, ParamMap
from ghp.es.rollout import RolloutPool
from ghp.io.atomic import write_npz
from ghp.io.progress import ProgressFn
from ghp.policy.normalize import fold
from ghp.policy.weights import PolicyWeights

STATE_VERSION = 1
_EVAL_TAG = 2**32 - 1
"""Seed-sequence tag of the centre's evaluation starts (never an iteration number)."""


@dataclass(frozen=True)
class ESConfig:
    """Settings of an ES run (ARS V2-t; ``ghp tune``'s options mirror these fields)."""

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

    def keep_if_best(self, centre_return: float, iteration: int) -> None:
        """Make the current centre (under the current statistics) the best if ``centre_return`` beats the best."""
        if centre_return > self.best_return:
            self.best_return = centre_return
            self.best_theta = self.theta.copy()
            self.best_mean, self.best_std = self.stats.shift.copy(), self.stats.std.copy()
            self.best_iteration = iteration

    def save(self, path: str | Path) -> None:
        """Write atomically (a temporary file, then rename), so an interruption never leaves a torn state."""
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
        arrays = dict(theta=self.theta, stats_mean=self.stats.mean, stats_m2=self.stats.m2)
        arrays |= dict(best_theta=self.best_theta, best_mean=self.best_mean, best_std=self.best_std)
        write_npz(Path(path), dict(meta=np.asarray(json.dumps(meta)), **arrays))

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
                return cls(
                    config=ESConfig(**{k: v for k, v in meta["config"].items() if k in known}),
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


def eval_seeds(seed: int, episodes: int) -> tuple[int, ...]:
    """Reset seeds of the centre's evaluation episodes (the same every iteration)."""
    return tuple(seed_of(seed, _EVAL_TAG, e) for e in range(episodes))


def directions(config: ESConfig, iteration: int, size: int) -> np.ndarray:
    """The ``[directions, size]`` Gaussian directions of ``iteration`` (from ``(seed, iteration)`` alone)."""
    return np.random.default_rng(np.random.SeedSequence([config.seed, iteration])).standard_normal(
        (config.directions, size)
    )


def env_kwargs_of(config: ESConfig, env_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """``make_env`` keyword arguments: the caller's, plus ``max_episode_steps`` when the config overrides it."""
    kw = dict(env_kwargs or {})
    if config.max_episode_steps is not None:
        kw["max_episode_steps"] = config.max_episode_steps
    return kw


@dataclass
class ARSSearch:
    """ARS V2-t on one parameter map, as a :class:`ghp.es.engine.Search` (saved to ``state_path`` when given)."""

    state: ESState
    param_map: ParamMap
    rollouts: Rollouts
    state_path: Path | None = None

    @property
    def iteration(self) -> int:
        return self.state.iteration

    def step(self) -> None:
        """One iteration: the antithetic update, with the centre's evaluation (before it) in the same batch."""
        state, cfg, it = self.state, self.state.config, self.state.iteration
        pert = Perturbation(
            directions(cfg, it, self.param_map.size),
            (self.param_map,) * cfg.directions,
            tuple(tuple(seed_of(cfg.seed, it, d, j) for j in range(cfg.episodes)) for d in range(cfg.directions)),
        )
        centre = Extra(self.param_map, np.repeat(state.theta[None, :], cfg.eval_episodes, axis=0), self._eval_seeds())
        stats = state.stats if cfg.obs_norm else None
        out = antithetic(state.theta, pert, cfg.sigma, cfg.top, cfg.lr, self.rollouts, stats, centre)
        centre_return = float(out.extra.mean())
        state.keep_if_best(centre_return, it)
        state.theta = out.theta
        if out.stats is not None:
            state.stats = out.stats
        state.env_steps += out.env_steps
        state.iteration = it + 1
        record = {"iteration": it, "return": centre_return, "perturbed": float(out.returns.mean())}
        record |= {"top": float(out.kept.max()), "step_norm": float(np.linalg.norm(out.step))}
        state.history.append({**record, "env_steps": state.env_steps})

    def checkpoint(self) -> None:
        if self.state_path is not None:
            self.state.save(self.state_path)

    def figures(self) -> dict[str, Any]:
        """The progress figures: ``return`` (the last centre's mean evaluation return) and ``best_return``."""
        return {"return": self.state.history[-1]["return"], "best_return": self.state.best_return}

    def _eval_seeds(self) -> tuple[int, ...]:
        return eval_seeds(self.state.config.seed, self.state.config.eval_episodes)

    def final_eval(self) -> None:
        """Evaluate the last centre (the last update has not been rolled out yet) and keep it if best."""
        state, cfg = self.state, self.state.config
        if state.history and state.history[-1].get("final"):
            return
        thetas = state.theta[None, :].repeat(cfg.eval_episodes, 0)
        res = self.rollouts.rows(self.param_map, thetas, self._eval_seeds(), state.stats if cfg.obs_norm else None)
        ret = float(res.returns.mean())
        state.env_steps += int(res.lengths.sum())
        state.keep_if_best(ret, state.iteration)
        state.history.append({"iteration": state.iteration, "return": ret, "final": 1.0, "env_steps": state.env_steps})


def _resumed(state_path: str | Path | None, config: ESConfig, size: int) -> ESState | None:
    """The saved state at ``state_path`` to continue with ``config``, or None when there is none."""
    if state_path is None or not Path(state_path).is_file():
        return None
    state = ESState.load(state_path)
    if not state.config.same_search(config) or state.theta.shape != (size,):
        raise ValueError(
            f"the saved ES state {state_path} was made with other settings or another policy: "
            "repeat the original options (only --iterations may change) or start afresh"
        )
    state.config = config
    if state.history and state.history[-1].get("final") and state.iteration < config.iterations:
        state.history.pop()  # continuing: the final evaluation is redone at the new end
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
        progress: ``ProgressEvent(iterations done, iterations, "iterations", {"return", "best_return"})`` after
            every saved iteration (:meth:`ARSSearch.figures`).

    Raises:
        ValueError: a saved state from other settings or another parameter size.
    """
    state = _resumed(state_path, config, param_map.size)
    if state is None:
        obs_dim = param_map.weights(np.asarray(theta0, np.float64)).obs_dim
        state = ESState.start(config, theta0, stats if stats is not None else ObsStats.empty(obs_dim))
    rollouts = Rollouts(env_id, pool, env_kwargs_of(config, env_kwargs))
    search = ARSSearch(state, param_map, rollouts, None if state_path is None else Path(state_path))
    drive(search, config.iterations, progress)
    search.final_eval()
    search.checkpoint()
    return state


__all__ = ["ARSSearch", "ESConfig", "ESState", "directions", "eval_seeds", "run_es"]
