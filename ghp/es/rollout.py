"""Rollouts of the ES engine: work units, the function that runs one, and the pool that maps them.

A work unit (:class:`RolloutUnit`: a parameter map, parameter rows, the normalisation, an environment id with its
keyword arguments, and one reset seed per row) is plain picklable data and :func:`rollout` is a module-level
function, so a backend only has to map it over a list: :class:`RolloutPool` is the one place that does (this
process, worker processes, or Ray tasks through :mod:`ghp.rollout.backend`). :func:`evaluate_rows` is the one way the
engine
and the searches built on it roll parameter rows out.

Determinism: each row's rollout depends only on its own parameters and reset seed, and results come back in row
order, so nothing depends on how rows are cut into units or on the worker count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ghp.es.params import ObsStats, ParamMap
from ghp.policy.normalize import fold
from ghp.policy.stack import PolicyStack
from ghp.policy.weights import obs_vector


@dataclass(frozen=True, eq=False)
class RolloutUnit:
    """One picklable piece of work: roll out each parameter row for one episode from its own reset seed."""

    param_map: Any
    """A :class:`~ghp.es.params.ParamMap` (picklable)."""
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


def _stacked(unit: RolloutUnit) -> PolicyStack:
    """The rows' policies (normalisation folded in) as one stack: one batched matmul per layer per step."""
    policies = [unit.param_map.weights(t) for t in unit.thetas]
    if unit.obs_mean is not None and unit.obs_std is not None:
        policies = [fold(p, unit.obs_mean, unit.obs_std) for p in policies]
    return PolicyStack.of(policies, layout="out-in")


def rollout(unit: RolloutUnit) -> RolloutResult:
    """Roll out every row of ``unit`` (all rows share one architecture and hidden activation: one stacked matmul per
    layer per step, ``PolicyStack.actions``).

    Each row's arithmetic depends only on its own parameters and observations, so the result of a row does not
    depend on which other rows share its unit.
    """
    n = len(unit.thetas)
    if n != len(unit.seeds):
        raise ValueError("a rollout unit needs one seed per parameter row")
    policies = _stacked(unit)
    envs = _envs(unit.env_id, unit.env_kwargs, n)[:n]
    first = [obs_vector(env.reset(seed=int(s))[0]) for env, s in zip(envs, unit.seeds, strict=True)]
    obs = np.stack(first).astype(np.float32)
    seen: list[list[np.ndarray]] = [[o] for o in first]
    returns = np.zeros(n)
    lengths = np.zeros(n, np.int64)
    done = np.zeros(n, bool)
    while not done.all():
        acts = policies.actions(obs[:, None, :])  # one row per member
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


def _split(n: int, parts: int) -> list[slice]:
    q, r = divmod(n, parts)
    out, s = [], 0
    for i in range(parts):
        e = s + q + (1 if i < r else 0)
        if e > s:
            out.append(slice(s, e))
        s = e
    return out


def _groups(maps: Sequence[ParamMap], slots: int) -> list[list[int]]:
    """Rows grouped into work units: rows of one map (by identity) share a unit (one stacked matmul per layer per
    step); a single map's rows are cut into ``slots`` units, so every worker gets a share."""
    groups: dict[int, list[int]] = {}
    for i, m in enumerate(maps):
        groups.setdefault(id(m), []).append(i)
    order = list(groups.values())
    if len(order) == 1:
        rows = order[0]
        return [rows[s] for s in _split(len(rows), slots)]
    return order


def evaluate_rows(
    param_map: ParamMap | Sequence[ParamMap],
    thetas: np.ndarray,
    seeds: Sequence[int],
    env_id: str,
    pool: RolloutPool,
    env_kwargs: Mapping[str, Any] | None = None,
    stats: ObsStats | None = None,
    collect_stats: bool = False,
) -> RolloutResult:
    """Roll out parameter rows (one episode each, row ``i`` from ``seeds[i]``) through ``pool``, results in row order.

    Args:
        param_map: the map of every row, or one map per row (rows of one map object share work units).
        stats: normalisation the rows act under (None: raw observations).
        collect_stats: also return each row's observation statistics.
    """
    thetas = np.atleast_2d(thetas)
    n = len(thetas)
    maps = list(param_map) if isinstance(param_map, Sequence) else [param_map] * n
    if len(maps) != n or len(seeds) != n:
        raise ValueError("evaluate_rows needs one map (or a single map) and one seed per parameter row")
    mean, std = (None, None) if stats is None else (stats.shift, stats.std)
    order = _groups(maps, pool.slots)
    kw = dict(env_kwargs or {})
    units = [
        RolloutUnit(maps[r[0]], thetas[r], tuple(int(seeds[i]) for i in r), env_id, kw, mean, std, collect_stats)
        for r in order
    ]
    results = pool.map(units)
    returns, lengths = np.zeros(n), np.zeros(n, np.int64)
    row_stats: list[ObsStats | None] = [None] * n
    for rows, res in zip(order, results, strict=True):
        returns[rows], lengths[rows] = res.returns, res.lengths
        for i, st in zip(rows, res.stats, strict=False):
            row_stats[i] = st
    return RolloutResult(returns, lengths, tuple(st for st in row_stats if st is not None))


__all__ = ["RolloutPool", "RolloutResult", "RolloutUnit", "evaluate_rows", "rollout"]
