"""A deployable policy: one architecture's MLP weights and the action mapping around them.

This is the hand-off format between stages: training emits it (``Run.emit``), evaluation rolls it out, export turns
it into C / ONNX / NumPy. Only the action-mean head is kept; the log-std half of a SAC output layer never leaves
training.

The deterministic action, for SB3's SAC and TD3/DDPG alike::

    x = obs_vector(obs)                    # Box: the observation; Dict: observation ++ desired_goal
    x = min(max(x, clip_low), clip_high)   # only for a run trained with --normalize (ghp.policy.normalize)
    h = act(W_j h + b_j)                   # hidden layers: act = relu (ghp's default) or tanh (chromatic)
    u = tanh(W_out h + b_out)              # in [-1, 1]
    action = low + (u + 1) / 2 * (high - low)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ghp.space.arch import Arch, parse_arch
from ghp.space.counting import deploy_params

if TYPE_CHECKING:
    import torch

FORMAT_VERSION = 1
ACTIVATIONS: tuple[str, ...] = ("relu", "tanh")
"""Hidden activations a policy may use: ReLU (the paper's hypernetwork policies), tanh (chromatic networks)."""
GOAL_KEYS: tuple[str, str] = ("observation", "desired_goal")
"""Keys of a goal-conditioned Dict observation the actor sees, in concatenation order (paper, Section IV)."""


def obs_vector(obs: np.ndarray | Mapping[str, np.ndarray]) -> np.ndarray:
    """The actor's input: the observation itself, or observation ++ desired_goal for a Dict observation.

    Works on single observations and on batches (the keys' arrays concatenated along the last axis).
    """
    if isinstance(obs, Mapping):
        return np.concatenate([np.asarray(obs[k], np.float32) for k in GOAL_KEYS], axis=-1)
    return np.asarray(obs, np.float32)


@dataclass(frozen=True, eq=False)
class PolicyWeights:
    """Weights of one architecture's deterministic policy, float32, row-major ``W[out, in]``."""

    arch: Arch
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    """``(W, b)`` per linear layer, input to output; the last layer has ``act_dim`` rows (the action mean)."""
    action_low: np.ndarray
    """Lower action bounds, shape ``[act_dim]``."""
    action_high: np.ndarray
    """Upper action bounds, shape ``[act_dim]``."""
    activation: str = "relu"
    """Hidden-layer activation, one of :data:`ACTIVATIONS` (the output is always tanh-squashed)."""
    clip_low: np.ndarray | None = None
    """Lower bounds the raw observation is clipped to before the first layer, shape ``[obs_dim]``, or ``None``.

    A policy trained on normalised observations (``--normalize``) carries the normalisation folded into its first
    layer and VecNormalize's clip of the normalised observation as this clip of the raw one
    (:mod:`ghp.policy.normalize`).
    """
    clip_high: np.ndarray | None = None
    """Upper clip bounds (with :attr:`clip_low`)."""

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}: choose one of {', '.join(ACTIVATIONS)}")
        dims = [self.layers[0][0].shape[1]] if self.layers else []
        for w, b in self.layers:
            if w.ndim != 2 or b.shape != (w.shape[0],) or w.shape[1] != dims[-1]:
                raise ValueError(f"inconsistent layer shapes for {self.arch.key}")
            dims.append(w.shape[0])
        if tuple(dims[1:-1]) != self.arch.hidden:
            raise ValueError(f"layer widths {dims[1:-1]} do not match architecture {self.arch.key}")
        if self.action_low.shape != (dims[-1],) or self.action_high.shape != (dims[-1],):
            raise ValueError("action bounds must have one entry per action")
        if (self.clip_low is None) != (self.clip_high is None):
            raise ValueError("give both observation clip bounds or neither")
        if self.clip_low is not None and self.clip_high is not None:
            if self.clip_low.shape != (dims[0],) or self.clip_high.shape != (dims[0],):
                raise ValueError("observation clip bounds must have one entry per input")
            if not np.all(self.clip_low <= self.clip_high):
                raise ValueError("observation clip bounds must satisfy low <= high")

    @property
    def clipped(self) -> bool:
        """Whether the raw observation is clipped before the first layer."""
        return self.clip_low is not None

    def clip(self, obs: np.ndarray) -> np.ndarray:
        """``obs`` clipped to the observation bounds (unchanged without them), float32."""
        x = np.asarray(obs, np.float32)
        if self.clip_low is None or self.clip_high is None:
            return x
        return np.minimum(np.maximum(x, self.clip_low), self.clip_high)

    @property
    def obs_dim(self) -> int:
        """Input size."""
        return int(self.layers[0][0].shape[1])

    @property
    def act_dim(self) -> int:
        """Action size."""
        return int(self.layers[-1][0].shape[0])

    @property
    def n_params(self) -> int:
        """Deployable parameter count."""
        return deploy_params(self.arch, self.obs_dim, self.act_dim)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic action(s) for ``obs`` of shape ``[obs_dim]`` or ``[n, obs_dim]`` (float32 reference)."""
        h = self.clip(obs)
        for j, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if j < len(self.layers) - 1:
                h = np.tanh(h) if self.activation == "tanh" else np.maximum(h, np.float32(0))
        u = np.tanh(h)
        return (self.action_low + (u + np.float32(1)) * np.float32(0.5) * (self.action_high - self.action_low)).astype(
            np.float32
        )

    def to_module(self) -> torch.nn.Module:
        """A plain torch module ``obs -> deterministic action`` (float32, no hypernetwork inside)."""
        from ghp.policy.mlp import sequential_from
        from ghp.policy.modules import DeterministicPolicy

        net = sequential_from(self.layers, self.activation)
        return DeterministicPolicy(net, self.action_low, self.action_high, self.clip_low, self.clip_high)

    def arrays(self) -> dict[str, Any]:
        """The arrays of a ``.npz`` policy file (:meth:`to_npz`, ``ghp.policy.file``): the format version, the
        architecture, ``W0, b0, W1, b1, ...``, the action bounds, the activation and the observation clip if any."""
        arrays: dict[str, Any] = {"format_version": np.int64(FORMAT_VERSION)}
        arrays["arch"] = np.asarray(self.arch.hidden, np.int64)
        for j, (w, b) in enumerate(self.layers):
            arrays |= {f"W{j}": w, f"b{j}": b}
        arrays |= {"action_low": self.action_low, "action_high": self.action_high}
        arrays["activation"] = np.asarray(self.activation)
        if self.clip_low is not None:
            arrays |= {"clip_low": self.clip_low, "clip_high": self.clip_high}
        return arrays

    def to_npz(self, path: str | Path, extra: Mapping[str, Any] | None = None) -> Path:
        """Write the policy file: :meth:`arrays`, then ``extra`` (provenance, a codebook), atomically and byte-stable.

        The one writer of the policy file format (``ghp tune``, ``ghp chromatic``, ``ghp export --target numpy``).
        """
        from ghp.io.atomic import write_npz

        arrays = self.arrays()
        clash = sorted(set(arrays) & set(extra or {}))
        if clash:
            raise ValueError(f"extra arrays may not replace the policy's own: {', '.join(clash)}")
        return write_npz(path, arrays | dict(extra or {}))

    @classmethod
    def from_npz(cls, path: str | Path) -> PolicyWeights:
        """Read a file written by :meth:`to_npz` (never unpickles: a policy file is always safe to load)."""
        with np.load(path, allow_pickle=False) as z:
            arch = Arch(tuple(int(w) for w in z["arch"]))
            layers = tuple(
                (z[f"W{j}"].astype(np.float32), z[f"b{j}"].astype(np.float32)) for j in range(arch.depth + 1)
            )
            # Files written before the activation field existed are ReLU policies.
            activation = str(z["activation"]) if "activation" in z.files else "relu"
            clip = [z[k].astype(np.float32) if k in z.files else None for k in ("clip_low", "clip_high")]
            return cls(
                arch,
                layers,
                z["action_low"].astype(np.float32),
                z["action_high"].astype(np.float32),
                activation,
                clip_low=clip[0],
                clip_high=clip[1],
            )

    @classmethod
    def from_arrays(
        cls,
        arch: Arch | str,
        weights: Sequence[tuple[Any, Any]],
        action_low: Sequence[float] | np.ndarray,
        action_high: Sequence[float] | np.ndarray,
        activation: str = "relu",
        clip_low: Sequence[float] | np.ndarray | None = None,
        clip_high: Sequence[float] | np.ndarray | None = None,
    ) -> PolicyWeights:
        """Build from array-likes (e.g. torch tensors), converting to contiguous float32."""
        layers = tuple(
            (np.ascontiguousarray(_np(w), np.float32), np.ascontiguousarray(_np(b), np.float32)) for w, b in weights
        )
        return cls(
            parse_arch(arch),
            layers,
            np.asarray(action_low, np.float32),
            np.asarray(action_high, np.float32),
            activation,
            clip_low=None if clip_low is None else np.asarray(clip_low, np.float32),
            clip_high=None if clip_high is None else np.asarray(clip_high, np.float32),
        )


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
