"""Rank the architectures of a space that fit a parameter or byte budget (paper, Section III-D).

Without a trained run, the ranking is by the lossless memory dimension (Equation 5): the paper shows that, under a
parameter cutoff, the capacity-maximising architecture does better than the naive choice of the largest one. Both
are reported: every candidate carries a ``largest`` flag for the naive baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghp.arch import Arch, ArchSpace
from ghp.capacity import lossless_memory_dimension
from ghp.counting import DTYPES, deploy_bytes, deploy_params


@dataclass(frozen=True)
class Budget:
    """A memory budget for the deployable policy; at least one of the two limits is set."""

    max_params: int | None = None
    """Largest allowed parameter count (weights + biases of the action-mean MLP)."""
    max_bytes: int | None = None
    """Largest allowed parameter storage in bytes, at ``dtype``."""
    dtype: str = "float32"
    """Storage type the byte budget and the reported bytes refer to: float32 or int8."""

    def __post_init__(self) -> None:
        if self.max_params is None and self.max_bytes is None:
            raise ValueError("give a budget: --max-params N or --max-bytes B")
        for name, v in (("max-params", self.max_params), ("max-bytes", self.max_bytes)):
            if v is not None and v < 1:
                raise ValueError(f"--{name} must be a positive integer, got {v}")
        if self.dtype not in DTYPES:
            raise ValueError(f"unknown dtype {self.dtype!r}: choose one of {', '.join(DTYPES)}")

    def admits(self, params: int, nbytes: int) -> bool:
        """True if a policy with these counts fits."""
        return (self.max_params is None or params <= self.max_params) and (
            self.max_bytes is None or nbytes <= self.max_bytes
        )

    def describe(self) -> str:
        """Human-readable form, e.g. ``<= 500 params``."""
        parts = []
        if self.max_params is not None:
            parts.append(f"<= {self.max_params} params")
        if self.max_bytes is not None:
            parts.append(f"<= {self.max_bytes} bytes ({self.dtype})")
        return ", ".join(parts)


@dataclass(frozen=True)
class Candidate:
    """One architecture that fits the budget, with its counts."""

    arch: Arch
    params: int
    bytes: int
    capacity: int
    largest: bool = False
    """True for the largest architecture under the budget: the paper's naive baseline."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form; ``arch`` is a list of hidden widths."""
        return {
            "arch": self.arch.to_list(),
            "key": self.arch.key,
            "params": self.params,
            "bytes": self.bytes,
            "capacity": self.capacity,
            "largest": self.largest,
        }


def candidates(space: ArchSpace, obs_dim: int, act_dim: int, budget: Budget) -> list[Candidate]:
    """Every architecture of ``space`` under ``budget``, in enumeration order, the largest one flagged.

    Raises:
        ValueError: if the sizes are not positive or nothing fits (the message gives the smallest size).
    """
    if obs_dim < 1 or act_dim < 1:
        raise ValueError(f"observation and action sizes must be positive, got {obs_dim} and {act_dim}")
    fits: list[Candidate] = []
    smallest: tuple[int, int] | None = None
    for a in space:
        p = deploy_params(a, obs_dim, act_dim)
        b = deploy_bytes(a, obs_dim, act_dim, budget.dtype)
        smallest = (p, b) if smallest is None or p < smallest[0] else smallest
        if budget.admits(p, b):
            fits.append(Candidate(a, p, b, lossless_memory_dimension(a, obs_dim, act_dim)))
    if not fits:
        assert smallest is not None
        raise ValueError(
            f"no architecture fits {budget.describe()}: the smallest in the space needs {smallest[0]} params "
            f"({smallest[1]} bytes at {budget.dtype})"
        )
    # The naive choice: most storage under the budget, ties by capacity.
    big = max(fits, key=lambda c: (_size(budget, c), c.capacity, c.arch.hidden))
    return [Candidate(c.arch, c.params, c.bytes, c.capacity, largest=c is big) for c in fits]


def _size(budget: Budget, c: Candidate | RankedArch) -> int:
    """What "largest" means under ``budget``: bytes for a byte-only budget, parameters otherwise."""
    return c.bytes if budget.max_params is None else c.params


def _capacity_key(c: Candidate | RankedArch) -> tuple[Any, ...]:
    """Highest lossless memory dimension first; ties: fewer parameters, then the canonical key."""
    return (-c.capacity, c.params, c.arch.depth, c.arch.hidden)


def rank_by_capacity(cands: list[Candidate]) -> list[Candidate]:
    """Highest lossless memory dimension first; ties: fewer parameters, then the canonical key."""
    return sorted(cands, key=_capacity_key)


RANK_BY: tuple[str, ...] = ("auto", "return", "capacity", "size")
"""Orders :func:`rank_run` knows."""


@dataclass(frozen=True)
class RankedArch:
    """A candidate of a trained run, with its measured return when the run's results hold it."""

    arch: Arch
    params: int
    bytes: int
    capacity: int
    mean_return: float | None
    """Mean evaluation return, None if the architecture was not evaluated."""
    std_return: float | None
    success_rate: float | None
    """Goal tasks only."""
    largest: bool
    """The largest architecture under the budget (the naive choice)."""
    checkpoint_step: int | None = None
    """Environment steps of the checkpoint the measurement comes from (None: not evaluated)."""

    @property
    def checkpoint(self) -> str | None:
        """Name of that checkpoint (``step_<N>``), what ``load_run`` and ``--checkpoint`` take."""
        return None if self.checkpoint_step is None else f"step_{self.checkpoint_step}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form; ``arch`` is a list of hidden widths."""
        return {
            "arch": self.arch.to_list(),
            "key": self.arch.key,
            "params": self.params,
            "bytes": self.bytes,
            "capacity": self.capacity,
            "mean_return": self.mean_return,
            "std_return": self.std_return,
            "success_rate": self.success_rate,
            "largest": self.largest,
            "checkpoint_step": self.checkpoint_step,
        }


def rank_run(run_dir: str | Path, budget: Budget, by: str = "auto", checkpoint: str | None = None) -> list[RankedArch]:
    """Rank the architectures of a trained run that fit ``budget`` (paper, Section III-D).

    ``checkpoint``: whose measurements to use: None (the latest evaluated checkpoint), ``best`` (each
    architecture's best evaluated checkpoint: ``RankedArch.checkpoint`` says which), or a name (``step_20000``).

    Orders: ``return`` (measured mean return, best first; ties fewer parameters; unevaluated candidates follow,
    by capacity), ``capacity`` (lossless memory dimension), ``size`` (largest first: the naive choice), ``auto``
    (``return`` when the run's results hold any candidate, else ``capacity``).

    Raises:
        ValueError: unknown order, nothing fits, ``by="return"`` without results, or a results file that is not
            this run's.
    """
    from ghp.results import best_over_checkpoints, read_progress, read_records, records_by_key
    from ghp.run import run_facts

    if by not in RANK_BY:
        raise ValueError(f"unknown order {by!r}: choose one of {', '.join(RANK_BY)}")
    run_id, spec, space = run_facts(run_dir)
    cands = candidates(space, spec.obs_dim, spec.act_dim, budget)
    if checkpoint is None:
        recs = records_by_key(read_records(run_dir, run_id))
    else:
        by_step = read_progress(run_dir, run_id)
        if checkpoint == "best":
            recs = best_over_checkpoints(by_step)
        else:
            step = checkpoint.removeprefix("step_").removesuffix(".zip")
            if not step.isdigit() or int(step) not in by_step:
                done = ", ".join(f"step_{s}" for s in by_step) or "none"
                raise ValueError(f"checkpoint {checkpoint!r} of {run_dir} was not evaluated; evaluated: {done}")
            recs = records_by_key(by_step[int(step)])
    ranked = [
        RankedArch(
            arch=c.arch,
            params=c.params,
            bytes=c.bytes,
            capacity=c.capacity,
            mean_return=recs[c.arch.key].mean_return if c.arch.key in recs else None,
            std_return=recs[c.arch.key].std_return if c.arch.key in recs else None,
            success_rate=recs[c.arch.key].success_rate if c.arch.key in recs else None,
            largest=c.largest,
            checkpoint_step=recs[c.arch.key].setting.checkpoint_step if c.arch.key in recs else None,
        )
        for c in cands
    ]
    measured = any(r.mean_return is not None for r in ranked)
    if by == "auto":
        by = "return" if measured else "capacity"
    if by == "return" and not measured:
        raise ValueError(
            f"no evaluated architecture fits {budget.describe()}: run 'ghp evaluate {run_dir}' or use --by capacity"
        )

    def return_key(r: RankedArch) -> tuple[Any, ...]:
        if r.mean_return is None:
            return (1, *_capacity_key(r))
        return (0, -r.mean_return, r.params, r.arch.depth, r.arch.hidden)

    if by == "return":
        return sorted(ranked, key=return_key)
    if by == "capacity":
        return sorted(ranked, key=_capacity_key)
    return sorted(ranked, key=lambda r: (-_size(budget, r), -r.capacity, r.arch.depth, r.arch.hidden))
