"""Rank the architectures of a space that fit a parameter or byte budget (paper, Section III-D).

Without a trained run, the ranking is by the lossless memory dimension (Equation 5): the paper shows that, under a
parameter cutoff, the capacity-maximising architecture does better than the naive choice of the largest one. Both
are reported: every candidate carries a ``largest`` flag for the naive baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    # The naive choice: most storage under the budget (bytes if the budget is in bytes), ties by capacity.
    size_of = (lambda c: c.bytes) if budget.max_params is None else (lambda c: c.params)
    big = max(fits, key=lambda c: (size_of(c), c.capacity, c.arch.hidden))
    return [Candidate(c.arch, c.params, c.bytes, c.capacity, largest=c is big) for c in fits]


def rank_by_capacity(cands: list[Candidate]) -> list[Candidate]:
    """Highest lossless memory dimension first; ties: fewer parameters, then the canonical key."""
    return sorted(cands, key=lambda c: (-c.capacity, c.params, c.arch.depth, c.arch.hidden))
