"""Configuration of the graph hypernetwork, free of torch so that the command line can build its options from it.

:mod:`ghp.hypernet` re-exports everything here; the CLI (``cli/options.py``) reads these fields and the other
config dataclasses (``TrainConfig``, ``EvalConfig``, ``ExportConfig``) without importing torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

DECODERS: tuple[str, ...] = ("factorised", "dense")
RUN_MODES: tuple[str, ...] = ("auto", "factorised-loop", "factorised", "loop", "padded")
"""How :meth:`GraphHypernet.run` executes the meta batch's MLPs."""
ACTION_PENALTIES: tuple[str, ...] = ("preactivation", "action")
"""What the DDPG actor's ``action_l2`` penalty squares: the pre-tanh output, or the squashed action over its bound."""


@dataclass(frozen=True)
class HypernetConfig:
    """Size and kind of the graph hypernetwork."""

    hidden: int = 32
    """Width of node embeddings, message MLP and GRU."""
    decoder: str = "factorised"
    """``factorised`` (low-rank row/column embeddings modulated per node) or ``dense`` (the paper's map)."""
    rank: int = 16
    """Rank of the factorised decoder's maps (ignored by ``dense``)."""
    bias_scale: float = 0.2
    """Biases are ``tanh(bias_scale * p)`` (authors' code)."""

    def __post_init__(self) -> None:
        if self.decoder not in DECODERS:
            raise ValueError(f"unknown decoder {self.decoder!r}: choose one of {', '.join(DECODERS)}")
        if self.hidden < 1 or self.rank < 1:
            raise ValueError("hypernetwork hidden width and rank must be positive")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HypernetConfig:
        """Inverse of :meth:`to_dict`."""
        return cls(**d)
