"""Configuration, free of torch so that the command line can build its options from it.

The graph hypernetwork's config (:mod:`ghp.hypernet.network` re-exports it) and the reading of config files
(``ghp train --config FILE.yml``). The CLI (``cli/options.py``) reads these fields and the other config
dataclasses (``TrainConfig``, ``EvalConfig``, ``ExportConfig``) without importing torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

DECODERS: tuple[str, ...] = ("factorised", "dense")
RUN_MODES: tuple[str, ...] = ("auto", "factorised-loop", "factorised", "loop", "padded")
"""How :meth:`GraphHypernet.run` executes the meta batch's MLPs."""
PARTS: dict[str, tuple[str, ...]] = {
    "encoder": ("encoder",),
    "message": ("msg_fwd", "msg_bwd"),
    "update": ("gru",),
    "decoder": ("core", "rows", "cols", "weight_map", "weight_map_bias"),
    "bias": ("bias_head",),
}
"""Named parts of the hypernetwork (``--freeze``) and the submodules / parameters each holds."""
MAX_EPISODES = 10_000
"""Most episodes per architecture an evaluation runs (``ghp evaluate --episodes``, ``ghp train --eval-episodes``)."""
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
    freeze: tuple[str, ...] = ()
    """Parts (:data:`PARTS`) kept at their initial values: not trained, no gradient computed for them (Snowflake
    freezes a GNN's encoder, message function and decoder and trains only the update)."""

    def __post_init__(self) -> None:
        if self.decoder not in DECODERS:
            raise ValueError(f"unknown decoder {self.decoder!r}: choose one of {', '.join(DECODERS)}")
        if self.hidden < 1 or self.rank < 1:
            raise ValueError("hypernetwork hidden width and rank must be positive")
        object.__setattr__(self, "freeze", tuple(sorted(set(self.freeze))))
        bad = [p for p in self.freeze if p not in PARTS]
        if bad:
            raise ValueError(f"unknown hypernetwork part {bad[0]!r} to freeze: choose from {', '.join(PARTS)}")
        if set(self.freeze) == set(PARTS):
            raise ValueError("freezing every hypernetwork part leaves nothing to train: leave one out")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        d = asdict(self)
        d["freeze"] = list(self.freeze)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HypernetConfig:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["freeze"] = tuple(d.get("freeze", ()))
        return cls(**d)


def read_config_file(path: str | Path, cls: type) -> dict[str, Any]:
    """The settings in a YAML or JSON file, keyed by the fields of the config dataclass ``cls``.

    A run's own ``config.json`` (written by ``ghp train``) is accepted too: its ``train`` section is the config, so
    ``ghp train --config RUN/config.json --out NEW`` replays a run. Values are returned as written (lists stay
    lists); the caller converts them.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a mapping, unreadable, or a key that is not a field of ``cls``.
    """
    import json

    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no config file {path}")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise ValueError(f"cannot read config file {path}: {' '.join(str(e).split())}") from None
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ValueError(f"config file {path} must hold a mapping of settings, not {type(data).__name__}")
    if "format_version" in data and isinstance(data.get("train"), dict):  # a run's config.json
        data = data["train"]
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(map(str, data)) - names)
    if unknown:
        raise ValueError(
            f"unknown setting(s) {', '.join(unknown)} in {path}: use the names of {cls.__name__}'s fields "
            "(the options without --, with _ for -)"
        )
    return dict(data)
