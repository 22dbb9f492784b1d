"""The architecture space of graph hyper policies (paper, Section III-B).

An architecture is the tuple of hidden-layer widths of a sequential MLP. The paper's space is every MLP with 1 to 4
hidden layers, each width in {4, 8, ..., 512}: 8 + 64 + 512 + 4096 = 4680 architectures. Depth 0 (a linear policy) is
offered as an option beyond the paper.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

PAPER_WIDTHS: tuple[int, ...] = (4, 8, 16, 32, 64, 128, 256, 512)
"""Hidden widths of the paper's space."""

PAPER_DEPTHS: tuple[int, ...] = (1, 2, 3, 4)
"""Hidden-layer counts of the paper's space."""

LINEAR_KEY = "linear"
"""Canonical key of the architecture with no hidden layer."""

SAMPLINGS: tuple[str, ...] = ("uniform", "sweep", "depth")
"""How training draws architectures: :func:`sample_uniform`, :class:`SweepSampler`, :func:`sample_by_depth`."""

_ARCH_RE = re.compile(r"^\s*\[?\s*(\d+\s*([,\-x ]\s*\d+\s*)*)?\]?\s*$")


@dataclass(frozen=True, order=True)
class Arch:
    """Hidden-layer widths of a sequential MLP, e.g. ``Arch((8, 4, 4, 4))``; ``Arch(())`` is a linear policy."""

    hidden: tuple[int, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.hidden, tuple):
            object.__setattr__(self, "hidden", tuple(int(w) for w in self.hidden))
        for w in self.hidden:
            if int(w) != w or w < 1:
                raise ValueError(f"hidden widths must be positive integers, got {list(self.hidden)}")

    @property
    def depth(self) -> int:
        """Number of hidden layers."""
        return len(self.hidden)

    @property
    def key(self) -> str:
        """Canonical string key: ``"8-4-4-4"``, or ``"linear"`` for no hidden layer."""
        return "-".join(str(w) for w in self.hidden) if self.hidden else LINEAR_KEY

    def __str__(self) -> str:
        return self.key

    def to_list(self) -> list[int]:
        """Hidden widths as a JSON-friendly list."""
        return list(self.hidden)


def parse_ints(text: str) -> tuple[int, ...]:
    """Parse comma-separated integers, ``"4, 8,16"`` -> ``(4, 8, 16)``: the one parser of a list of ints in text.

    Spaces are ignored and empty items skipped (``"4,,8,"`` is ``(4, 8)``, ``""`` is ``()``); signs are kept, so a
    caller checks the range it needs. Widths, depths and ``--hidden`` lists all go through it; an architecture's
    own text (dashes, brackets, ``linear``) is :func:`parse_arch`'s.

    Raises:
        ValueError: an item that is not an integer; callers re-raise it with their option's name.
    """
    try:
        return tuple(int(t) for t in str(text).replace(" ", "").split(",") if t != "")
    except ValueError:
        raise ValueError(f"expected comma-separated integers, got {text!r}") from None


def parse_arch(text: str | Sequence[int] | Arch) -> Arch:
    """Parse ``"8,4,4,4"``, ``"8-4-4-4"``, ``"[8, 4]"``, ``"linear"`` or a sequence of ints into an :class:`Arch`.

    The one parser of architecture text: every option and file that names an architecture goes through it. A
    one-layer architecture may also be written ``64-`` (one trailing dash, as ``--archs`` lists document it); the
    linear policy is ``linear``, ``()`` or ``[]``.

    Raises:
        ValueError: with a message saying what a valid architecture looks like.
    """
    if isinstance(text, Arch):
        return text
    if not isinstance(text, str):
        return Arch(tuple(int(w) for w in text))
    s = text.strip()
    if s.lower() == LINEAR_KEY or s.replace(" ", "") in ("()", "[]"):
        return Arch(())
    if s.endswith("-") and not s.endswith("--"):
        s = s[:-1]
    if not s or not _ARCH_RE.match(s):
        raise ValueError(f"malformed architecture {text!r}: give hidden widths like 8-4-4-4 or 8,4,4,4 (or 'linear')")
    widths = tuple(int(t) for t in re.findall(r"\d+", s))
    if not widths:
        raise ValueError(f"malformed architecture {text!r}: give hidden widths like 8-4-4-4 or 8,4,4,4 (or 'linear')")
    if any(w < 1 for w in widths):
        raise ValueError(f"malformed architecture {text!r}: hidden widths must be positive")
    return Arch(widths)


@dataclass(frozen=True)
class ArchSpace:
    """A space of sequential MLPs: every sequence of ``depths`` hidden layers drawn from ``widths``.

    Enumeration order is deterministic: by depth, then lexicographically by widths (in the order given).
    """

    widths: tuple[int, ...] = PAPER_WIDTHS
    """Allowed hidden widths."""
    depths: tuple[int, ...] = PAPER_DEPTHS
    """Allowed numbers of hidden layers; 0 adds the linear policy."""
    fixed: tuple[int, ...] | None = None
    """Hidden widths of the only architecture of a one-architecture space (:meth:`single`: a plain SB3 run)."""

    @classmethod
    def single(cls, arch: Arch) -> ArchSpace:
        """The space holding ``arch`` alone (``()`` is the linear policy)."""
        return cls(widths=tuple(dict.fromkeys(arch.hidden)) or (1,), depths=(arch.depth,), fixed=arch.hidden)

    def __post_init__(self) -> None:
        widths = tuple(int(w) for w in self.widths)
        depths = tuple(sorted(set(int(d) for d in self.depths)))
        if not widths or any(w < 1 for w in widths):
            raise ValueError(f"widths must be positive integers, got {list(self.widths)}")
        if len(set(widths)) != len(widths):
            raise ValueError(f"widths must be distinct, got {list(self.widths)}")
        if not depths or any(d < 0 for d in depths):
            raise ValueError(f"depths must be non-negative integers, got {list(self.depths)}")
        object.__setattr__(self, "widths", widths)
        object.__setattr__(self, "depths", depths)
        if self.fixed is not None:
            fixed = tuple(int(w) for w in self.fixed)
            if any(w not in widths for w in fixed) or depths != (len(fixed),):
                raise ValueError(f"architecture {list(fixed)} is not in widths {list(widths)}, depths {list(depths)}")
            object.__setattr__(self, "fixed", fixed)

    @cached_property
    def archs(self) -> tuple[Arch, ...]:
        """Every architecture of the space, in enumeration order."""
        if self.fixed is not None:
            return (Arch(self.fixed),)
        out: list[Arch] = []
        for d in self.depths:
            out.extend(Arch(tuple(c)) for c in itertools.product(self.widths, repeat=d))
        return tuple(out)

    @cached_property
    def _positions(self) -> dict[Arch, int]:
        return {a: i for i, a in enumerate(self.archs)}

    @property
    def max_width(self) -> int:
        """Widest hidden layer in the space."""
        return max(self.widths)

    @property
    def max_depth(self) -> int:
        """Deepest architecture in the space."""
        return max(self.depths)

    def __len__(self) -> int:
        return len(self.archs)

    def __iter__(self) -> Iterator[Arch]:
        return iter(self.archs)

    def __contains__(self, arch: object) -> bool:
        return arch in self._positions

    def index(self, arch: Arch) -> int:
        """Position of ``arch`` in enumeration order.

        Raises:
            ValueError: if the architecture is outside the space.
        """
        try:
            return self._positions[arch]
        except KeyError:
            raise ValueError(
                f"architecture {arch.key} is outside the space (widths {list(self.widths)}, depths {list(self.depths)})"
            ) from None

    def to_dict(self) -> dict[str, list[int]]:
        """JSON-friendly description, the inverse of :meth:`from_dict`."""
        d = {"widths": list(self.widths), "depths": list(self.depths)}
        if self.fixed is not None:
            d["fixed"] = list(self.fixed)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Iterable[int]]) -> ArchSpace:
        """Rebuild a space from :meth:`to_dict`."""
        fixed = d.get("fixed")
        return cls(widths=tuple(d["widths"]), depths=tuple(d["depths"]), fixed=None if fixed is None else tuple(fixed))


def sample_uniform(space: ArchSpace, n: int, rng: np.random.Generator) -> list[Arch]:
    """Draw ``n`` architectures uniformly, with replacement (the paper's early runs)."""
    idx = rng.integers(0, len(space), size=n)
    return [space.archs[i] for i in idx]


def sample_by_depth(space: ArchSpace, n: int, rng: np.random.Generator) -> list[Arch]:
    """Draw ``n`` architectures with a uniform depth, then uniform widths (with replacement).

    Uniform draws over the paper's space give depth 1 only 8 / 4680 = 0.17% of the samples, so the hypernetwork
    barely learns the shallow architectures; drawing the depth first gives each depth an equal share.
    """
    depths = rng.choice(np.asarray(space.depths), size=n)
    return [Arch(tuple(int(w) for w in rng.choice(np.asarray(space.widths), size=int(d)))) for d in depths]


def sweep_order(space: ArchSpace, rng: np.random.Generator) -> list[Arch]:
    """One shuffled pass over the whole space: every architecture exactly once (the authors' later runs)."""
    return [space.archs[i] for i in rng.permutation(len(space))]


class SweepSampler:
    """Hands out architectures as consecutive shuffled sweeps over the space; reshuffles when a sweep ends.

    Every architecture is drawn once before any is drawn twice, so training covers the whole space evenly.
    """

    def __init__(self, space: ArchSpace, rng: np.random.Generator) -> None:
        self.space = space
        self.rng = rng
        self._order: list[Arch] = []

    def take(self, n: int) -> list[Arch]:
        """Next ``n`` architectures of the sweep."""
        out: list[Arch] = []
        while len(out) < n:
            if not self._order:
                self._order = sweep_order(self.space, self.rng)
            out.append(self._order.pop())
        return out
