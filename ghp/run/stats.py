"""Interval estimates for evaluation figures: one architecture over episodes, one pick over training seeds.

- A mean return over episodes: percentile bootstrap of the mean (episodes resampled with replacement).
- A success rate over episodes: the Wilson score interval (Wilson 1927), which stays inside [0, 1] and is not
  degenerate at 0 or 1 successes, unlike the normal approximation.
- A figure over training seeds: the interquartile mean (the mean of the middle 50% of runs) with a stratified
  bootstrap 95% interval, as recommended by Agarwal et al. 2021, "Deep Reinforcement Learning at the Edge of the
  Statistical Precipice" (rliable): runs are resampled with replacement within each task (the strata), and the
  percentile interval of the IQM is reported. The IQM cuts ``floor(n / 4)`` runs at each end, as rliable's
  ``aggregate_iqm`` (``scipy.stats.trim_mean(x, 0.25)``) does; with fewer than 4 seeds it is the plain mean, and the
  interval (and the count of seeds beside it) is what keeps it honest.

Every function takes an explicit seed, so a report is the same each time it is rendered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
BOOTSTRAP_REPS = 10_000
"""Bootstrap resamples: the 2.5% / 97.5% percentiles of 10,000 means move by well under 1% of the interval between
seeds."""


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval, and what it was computed from."""

    value: float
    low: float
    high: float
    n: int
    """Episodes (or runs) it is computed from."""
    method: str
    """``bootstrap``, ``wilson`` or ``iqm-stratified-bootstrap``."""

    @property
    def half_width(self) -> float:
        """Half the interval's width."""
        return (self.high - self.low) / 2

    def to_dict(self) -> dict[str, float | int | str]:
        """JSON-friendly form."""
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n, "method": self.method}


def _percentiles(stats: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(stats, [alpha, 1 - alpha])
    return float(lo), float(hi)


def mean_interval(
    values: Sequence[float], seed: int = 0, reps: int = BOOTSTRAP_REPS, confidence: float = CONFIDENCE
) -> Estimate:
    """The mean of ``values`` (one per episode) with its percentile-bootstrap interval.

    Raises:
        ValueError: no values.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("an interval needs at least one episode")
    rng = np.random.default_rng(seed)
    means = np.empty(reps)
    block = max(1, 2_000_000 // x.size)  # bound the memory of the resampled indices
    for i in range(0, reps, block):
        n = min(block, reps - i)
        means[i : i + n] = x[rng.integers(0, x.size, size=(n, x.size))].mean(axis=1)
    lo, hi = _percentiles(means, confidence)
    return Estimate(float(x.mean()), lo, hi, int(x.size), "bootstrap")


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> Estimate:
    """The success rate ``successes / n`` with its Wilson score interval.

    Raises:
        ValueError: ``n`` < 1 or ``successes`` outside [0, n].
    """
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"a success rate needs 0 <= successes <= n and n >= 1, got {successes} of {n}")
    z = _z(confidence)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends, not round-off around them
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Estimate(p, low, high, n, "wilson")


def _z(confidence: float) -> float:
    """The standard normal quantile of ``(1 + confidence) / 2`` (1.96 for 95%)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf((1 + confidence) / 2)


def iqm(values: Sequence[float] | np.ndarray) -> float:
    """Interquartile mean: the mean after cutting ``floor(n / 4)`` values at each end (rliable's ``aggregate_iqm``).

    Raises:
        ValueError: no values.
    """
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if x.size == 0:
        raise ValueError("an interquartile mean needs at least one value")
    cut = x.size // 4
    return float(x[cut : x.size - cut].mean())


def iqm_interval(
    runs: Sequence[float] | Sequence[Sequence[float]],
    seed: int = 0,
    reps: int = BOOTSTRAP_REPS,
    confidence: float = CONFIDENCE,
) -> Estimate:
    """The IQM over runs with its stratified-bootstrap interval (Agarwal et al. 2021).

    ``runs``: one value per run (seed) of one task, or one row per run and one column per task (the strata: each
    task's runs are resampled among themselves, as rliable's ``StratifiedBootstrap``).

    Raises:
        ValueError: no runs.
    """
    x = np.asarray(runs, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.size == 0:
        raise ValueError("an interquartile mean needs at least one run")
    n_runs, n_tasks = x.shape
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_runs, size=(reps, n_runs, n_tasks))
    resampled = np.take_along_axis(np.broadcast_to(x, (reps, n_runs, n_tasks)), idx, axis=1).reshape(reps, -1)
    resampled.sort(axis=1)
    cut = resampled.shape[1] // 4
    stats = resampled[:, cut : resampled.shape[1] - cut].mean(axis=1)
    lo, hi = _percentiles(stats, confidence)
    return Estimate(iqm(x), lo, hi, n_runs, "iqm-stratified-bootstrap")
