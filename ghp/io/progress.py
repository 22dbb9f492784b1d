"""The one progress protocol of ghp's long library calls: a callable taking a :class:`ProgressEvent`.

Training, evaluation, ``ghp tune`` and ``ghp chromatic`` report how far they are in the same shape, so a caller
(the CLI's progress bars, a test, a notebook) adapts to one type: ``done`` of ``total`` units, plus the figures
measured so far under names the producer documents. The library never prints; what to show is the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProgressEvent:
    """How far a long call is, and what it has measured so far."""

    done: int
    """Units finished."""
    total: int | None
    """Units in all (None: not known)."""
    unit: str
    """What a unit is: ``steps`` (training's environment steps), ``archs`` (evaluation), ``iterations`` (ES)."""
    figures: Mapping[str, Any] = field(default_factory=dict)
    """The producer's figures so far, by name (each producer's docstring lists them); None where not measured yet."""


ProgressFn = Callable[[ProgressEvent], None]
"""A progress callback: called by the library with a :class:`ProgressEvent` (training about twice a second,
evaluation after every finished chunk, ES after every saved iteration and once before the first)."""

__all__ = ["ProgressEvent", "ProgressFn"]
