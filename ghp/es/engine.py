"""The ES loop: antithetic perturbations rolled out, ranked and normalised into one update (ARS V2-t, Mania et al.
2018, Algorithm 2), iterated with a checkpoint and a progress report after every iteration.

One iteration (:func:`antithetic`), whatever the search:

1. The search draws ``K`` directions ``delta_k`` and, per direction, the parameter map its pair is rolled out under
   (one map for ``ghp tune``; a sampled colouring per direction for learned chromatic partitions) and the reset
   seeds of its episodes (:class:`Perturbation`).
2. ``theta + sigma delta_k`` and ``theta - sigma delta_k`` (an antithetic pair) are rolled out on the same starting
   states (common random numbers) through :func:`ghp.es.rollout.evaluate_rows`, under the observation statistics
   frozen for the iteration; rows the search wants evaluated besides (the centre) ride in the same batch.
3. The ``top`` directions by ``max(r+, r-)`` are kept and the step divided by the standard deviation of their
   ``2 top`` returns (:func:`ars_update`): ``theta += lr / (top * sigma_R) * sum_k (r+_k - r-_k) delta_k``.
4. The statistics of every observation the perturbed rollouts saw are merged in row order (ARS V2), and a map that
   can (``renormalize``) re-expresses ``theta`` under them, so the update changes the search's geometry but not the
   policy.

:func:`drive` is the loop around it: a :class:`Search` steps, checkpoints (atomically: an interruption loses at most
the iteration in flight) and reports, until the iterations asked for are done. ``ghp tune`` (:mod:`ghp.es.ars`) and
``ghp chromatic`` (:mod:`ghp.es.chromatic`) are searches; what differs between them is only how directions and maps
are drawn, which centre is evaluated when, and what their state files hold.

Determinism: each row's rollout depends only on its parameters and seed, and statistics merge in row order, so
results do not depend on the worker count, and a run resumed from its checkpoint continues exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ghp.es.params import ObsStats, ParamMap
from ghp.es.rollout import RolloutPool, RolloutResult, evaluate_rows
from ghp.io.progress import ProgressEvent, ProgressFn


def seed_of(*parts: int) -> int:
    """A 32-bit seed derived from ``parts`` alone (``numpy.random.SeedSequence``)."""
    return int(np.random.SeedSequence(list(parts)).generate_state(1, np.uint32)[0])


@dataclass(frozen=True)
class Rollouts:
    """Where and on what an ES rolls out: the environment (``ghp.envs.make_env`` id and keyword arguments) and the
    pool."""

    env_id: str
    pool: RolloutPool
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def rows(
        self,
        maps: ParamMap | Sequence[ParamMap],
        thetas: np.ndarray,
        seeds: Sequence[int],
        stats: ObsStats | None,
        collect: bool = False,
    ) -> RolloutResult:
        """One episode per row (row ``i`` from ``seeds[i]``): :func:`ghp.es.rollout.evaluate_rows`."""
        return evaluate_rows(maps, thetas, seeds, self.env_id, self.pool, self.env_kwargs, stats, collect)


@dataclass(frozen=True, eq=False)
class Perturbation:
    """One iteration's antithetic directions: direction ``k`` is rolled out as ``theta +- sigma deltas[k]`` under
    ``maps[k]``, one episode per seed of ``seeds[k]`` (the same starts for + and -)."""

    deltas: np.ndarray
    """``[K, size]`` directions."""
    maps: tuple[ParamMap, ...]
    """Parameter map of each direction's pair."""
    seeds: tuple[tuple[int, ...], ...]
    """Reset seeds of each direction's episodes (every direction has as many)."""


@dataclass(frozen=True, eq=False)
class Extra:
    """Rows rolled out in the same batch as the perturbed ones (one map, one seed per row), not used by the update."""

    param_map: ParamMap
    thetas: np.ndarray
    seeds: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Outcome:
    """What one antithetic iteration measured and the update it made."""

    theta: np.ndarray
    """The updated parameters (re-expressed under ``stats`` when the map renormalises)."""
    stats: ObsStats | None
    """The statistics after the iteration: the input ones merged with the perturbed rollouts' (None without)."""
    r_plus: np.ndarray
    """``[K]`` mean return of ``theta + sigma delta_k`` over its episodes."""
    r_minus: np.ndarray
    returns: np.ndarray
    """Every perturbed row's return: the + rows (direction-major, then episode), then the - rows."""
    step: np.ndarray
    kept: np.ndarray
    """The ``2 top`` returns the step was normalised by."""
    env_steps: int
    """Environment steps of every row rolled out (extra rows included)."""
    extra: np.ndarray
    """Returns of the extra rows (empty without)."""


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


def antithetic(
    theta: np.ndarray,
    pert: Perturbation,
    sigma: float,
    top: int,
    lr: float,
    rollouts: Rollouts,
    stats: ObsStats | None,
    extra: Extra | None = None,
) -> Outcome:
    """One ES iteration from ``theta`` (steps 2-4 of the module docstring).

    Args:
        stats: the normalisation of this iteration, updated from the perturbed rollouts; None: raw observations and
            no statistics.
        extra: rows to roll out in the same batch (no worker waits for a second round trip), under ``stats``.
    """
    k, e = len(pert.deltas), len(pert.seeds[0])
    rows = np.concatenate(
        [np.repeat(theta + sigma * pert.deltas, e, axis=0), np.repeat(theta - sigma * pert.deltas, e, axis=0)]
    )
    maps = [m for m in pert.maps for _ in range(e)] * 2
    seeds = [s for ss in pert.seeds for s in ss] * 2
    n_pert = len(rows)
    if extra is not None:
        rows = np.concatenate([rows, extra.thetas])
        maps += [extra.param_map] * len(extra.thetas)
        seeds += list(extra.seeds)
    res = rollouts.rows(maps, rows, seeds, stats, collect=stats is not None)
    r = res.returns[:n_pert].reshape(2, k, e).mean(axis=2)
    step, kept = ars_update(r[0], r[1], pert.deltas, top, lr)
    new_theta, new_stats = theta + step, stats
    if stats is not None:
        new_stats = stats.merge_all(res.stats[:n_pert])  # the perturbed rollouts only (ARS V2)
        renormalize = getattr(pert.maps[0], "renormalize", None)
        if renormalize is not None:
            new_theta = renormalize(new_theta, stats, new_stats)
    return Outcome(
        theta=new_theta,
        stats=new_stats,
        r_plus=r[0],
        r_minus=r[1],
        returns=res.returns[:n_pert],
        step=step,
        kept=kept,
        env_steps=int(res.lengths.sum()),
        extra=res.returns[n_pert:],
    )


class Search(Protocol):
    """A search the engine drives: each step is one :func:`antithetic` iteration plus the search's own bookkeeping."""

    @property
    def iteration(self) -> int:
        """Iterations completed."""
        ...

    def step(self) -> None:
        """Run one iteration."""
        ...

    def checkpoint(self) -> None:
        """Save everything a resume needs, atomically."""
        ...

    def figures(self) -> Mapping[str, Any]:
        """What the progress report after an iteration carries (``ProgressEvent.figures``)."""
        ...


def drive(search: Search, iterations: int, progress: ProgressFn | None = None) -> None:
    """The ES loop: step, checkpoint, report, until ``iterations`` are done (a resumed search starts where its
    checkpoint left it). An interruption (``KeyboardInterrupt``) loses at most the iteration in flight.

    ``progress`` gets ``ProgressEvent(iterations done, iterations, "iterations", search.figures())`` after every
    saved iteration.
    """
    while search.iteration < iterations:
        search.step()
        search.checkpoint()
        if progress is not None:
            progress(ProgressEvent(search.iteration, iterations, "iterations", search.figures()))


__all__ = [
    "Extra",
    "Outcome",
    "Perturbation",
    "Rollouts",
    "Search",
    "antithetic",
    "ars_update",
    "drive",
    "seed_of",
]
