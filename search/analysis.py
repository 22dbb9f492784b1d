"""The paper's analyses of an evaluated run (Section IV-A and Table II).

Selection rules (Section IV-A): **max** is the smallest architecture with the best mean return; **90%** and **80%**
are the smallest architectures whose mean return reaches 90% / 80% of the best. "Smallest" means fewest
deployable parameters (ties: higher return, then the canonical key).

"X% of the best" for returns that can be negative. The paper's tasks have non-negative returns, where the
threshold is ``X * best``. Pendulum's returns are all negative (about -1600 to -120), where ``X * best`` would be
*above* the best. ghp therefore measures every return from a floor::

    score(r) = (r - floor) / (best - floor)          threshold: score >= X

with ``floor = 0`` when every evaluated return is >= 0 (exactly the paper's rule) and otherwise the worst
evaluated mean return (so the worst architecture scores 0 and the best 1). A fixed floor can be given instead, e.g.
a random policy's return. Table II's ratios use the same score, with ``best`` the best architecture under the cutoff.

Table II: ``n`` parameter cutoffs are drawn uniformly from ``[low, high]`` (the paper: 5000 in [1000, 1e6]). Under
each cutoff, among the evaluated architectures that fit, the capacity-maximising choice (lossless memory dimension,
Equation 5; ties fewer parameters) and the largest choice (most parameters; ties higher capacity) are each scored
against the best architecture under that cutoff; the means over the cutoffs are reported, with the cutoffs where
the capacity choice scores higher (wins), the same (ties: often both rules pick one architecture) and lower
(losses). Cutoffs under which no evaluated architecture fits are skipped and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ghp.space.arch import Arch


class Evaluated(Protocol):
    """An evaluated architecture (``ghp.run.records.ArchRecord`` is one)."""

    @property
    def arch(self) -> Arch: ...
    @property
    def params(self) -> int: ...
    @property
    def capacity(self) -> int: ...
    @property
    def mean_return(self) -> float: ...


@dataclass(frozen=True)
class Selection:
    """One row of the max / 90% / 80% table."""

    label: str
    """``max``, ``90%`` or ``80%``."""
    fraction: float
    """Required score (1.0 for max)."""
    threshold: float
    """Mean return an architecture needed."""
    arch: Arch
    params: int
    capacity: int
    mean_return: float
    score: float
    """``(mean_return - floor) / (best - floor)``."""


@dataclass(frozen=True)
class SelectionTable:
    """The max / 90% / 80% selection of one evaluated run."""

    rows: tuple[Selection, ...]
    best: float
    """Best mean return."""
    floor: float
    """Reference the fractions are measured from (see the module docstring)."""
    floor_rule: str
    """How the floor was chosen: ``zero``, ``worst`` or ``given``."""
    n_archs: int


@dataclass(frozen=True)
class TableII:
    """The architecture-prediction analysis of Table II."""

    cutoffs: int
    """Cutoffs drawn."""
    used: int
    """Cutoffs under which at least one evaluated architecture fits."""
    capacity_ratio: float
    """Mean score of the capacity-maximising choice relative to the best under the cutoff."""
    size_ratio: float
    """Mean score of the largest choice relative to the best under the cutoff."""
    wins: int
    """Used cutoffs where the capacity choice scores strictly higher than the largest one."""
    ties: int
    """Used cutoffs where the two score the same (often the same architecture): a tie, not a win."""
    losses: int
    """Used cutoffs where the largest choice scores higher."""
    low: float
    high: float
    seed: int
    floor: float
    capacity_ratios: np.ndarray = field(repr=False)
    size_ratios: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Scored:
    """An architecture with another metric in place of its mean return (e.g. the success rate)."""

    arch: Arch
    params: int
    capacity: int
    mean_return: float


def success_view(records: Sequence[Any]) -> list[Scored]:
    """The records with their success rate as the metric (goal tasks: the paper's Fetch results are success rates).

    Raises:
        ValueError: a record has no success rate (not a goal-conditioned task).
    """
    if any(r.success_rate is None for r in records):
        raise ValueError("--metric success needs success rates: only goal-conditioned (Fetch) runs record them")
    return [Scored(r.arch, r.params, r.capacity, float(r.success_rate)) for r in records]


def choose_floor(returns: Sequence[float], floor: float | None = None) -> tuple[float, str]:
    """The floor fractions are measured from: ``floor`` if given, else 0 (all returns >= 0) or the worst return."""
    if floor is not None:
        return float(floor), "given"
    worst = float(min(returns))
    return (0.0, "zero") if worst >= 0 else (worst, "worst")


def _score(r: float, best: float, floor: float) -> float:
    span = best - floor
    return 1.0 if span <= 0 else (r - floor) / span


def select(
    records: Sequence[Evaluated], fractions: Sequence[float] = (0.9, 0.8), floor: float | None = None
) -> SelectionTable:
    """The paper's max / 90% / 80% architectures (module docstring: the rule for negative returns).

    Raises:
        ValueError: no records, or a fraction outside (0, 1].
    """
    if not records:
        raise ValueError("no evaluated architectures: run 'ghp evaluate RUN' first")
    for f in fractions:
        if not 0 < f <= 1:
            raise ValueError(f"fractions must be in (0, 1], got {f}")
    rets = [r.mean_return for r in records]
    best = max(rets)
    fl, rule = choose_floor(rets, floor)
    if fl > best:
        raise ValueError(f"the floor {fl} is above the best mean return {best}")
    by_size = sorted(records, key=lambda r: (r.params, -r.mean_return, r.arch.depth, r.arch.hidden))
    rows = []
    for label, frac in (("max", 1.0), *((f"{round(f * 100):g}%", f) for f in fractions)):
        thr = best if frac == 1.0 else fl + frac * (best - fl)
        pick = next(r for r in by_size if r.mean_return >= thr)
        rows.append(
            Selection(
                label=label,
                fraction=frac,
                threshold=thr,
                arch=pick.arch,
                params=pick.params,
                capacity=pick.capacity,
                mean_return=pick.mean_return,
                score=_score(pick.mean_return, best, fl),
            )
        )
    return SelectionTable(rows=tuple(rows), best=best, floor=fl, floor_rule=rule, n_archs=len(records))


def table_ii(
    records: Sequence[Evaluated],
    n_cutoffs: int = 5000,
    low: float = 1000,
    high: float = 1e6,
    seed: int = 0,
    floor: float | None = None,
) -> TableII:
    """Table II: capacity-maximising vs largest architecture under random parameter cutoffs.

    Raises:
        ValueError: no records, a non-positive count or an empty range.
    """
    if not records:
        raise ValueError("no evaluated architectures: run 'ghp evaluate RUN' first")
    if n_cutoffs < 1:
        raise ValueError(f"--cutoffs must be positive, got {n_cutoffs}")
    if not 0 < low < high:
        raise ValueError(f"the cutoff range must satisfy 0 < low < high, got [{low}, {high}]")
    fl, _ = choose_floor([r.mean_return for r in records], floor)
    # Sorted by parameters, the candidates under a cutoff are a prefix; running maxima answer each cutoff in O(1).
    recs = sorted(records, key=lambda r: (r.params, r.arch.depth, r.arch.hidden))
    params = np.array([r.params for r in recs])
    best_so_far, cap_pick, big_pick = [], [], []
    b = c = g = None
    for r in recs:
        b = r if b is None or r.mean_return > b.mean_return else b
        c = r if c is None or r.capacity > c.capacity else c
        # recs ascend in params, so the latest is the largest; ties in params: the higher capacity.
        g = r if g is None or r.params > g.params or (r.params == g.params and r.capacity > g.capacity) else g
        best_so_far.append(b)
        cap_pick.append(c)
        big_pick.append(g)
    cuts = np.random.default_rng(seed).uniform(low, high, size=n_cutoffs)
    k = np.searchsorted(params, cuts, side="right") - 1
    k = k[k >= 0]
    cap_r = np.array([_score(cap_pick[i].mean_return, best_so_far[i].mean_return, fl) for i in k])
    big_r = np.array([_score(big_pick[i].mean_return, best_so_far[i].mean_return, fl) for i in k])
    used = len(k)
    return TableII(
        cutoffs=n_cutoffs,
        used=used,
        capacity_ratio=float(cap_r.mean()) if used else float("nan"),
        size_ratio=float(big_r.mean()) if used else float("nan"),
        wins=int((cap_r > big_r).sum()),
        ties=int((cap_r == big_r).sum()),
        losses=int((cap_r < big_r).sum()),
        low=low,
        high=high,
        seed=seed,
        floor=fl,
        capacity_ratios=cap_r,
        size_ratios=big_r,
    )


def pareto_front(records: Sequence[Evaluated]) -> list[Evaluated]:
    """Architectures no smaller architecture beats: ascending parameters, strictly rising mean return."""
    front: list[Evaluated] = []
    for r in sorted(records, key=lambda r: (r.params, -r.mean_return)):
        if not front or r.mean_return > front[-1].mean_return:
            front.append(r)
    return front
