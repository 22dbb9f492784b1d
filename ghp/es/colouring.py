"""Chromatic networks' search space: topologies, colourings (weight-sharing partitions), their counts, the parameter
map of a coloured policy, and the controller that learns colourings (chromatic-networks paper, Sections 3-4).

A fixed topology ``obs -> hidden... -> act`` has its edges (every entry of every weight matrix) coloured with at most
``M`` colours; edges of one colour share one weight, so the policy is the vector of ``M`` shared values plus the
biases (the compactification does not act on biases). Counting (paper, Table 2): parameters = distinct weights +
biases; bits = ``32 x (distinct weights + biases) + edges x ceil(log2 M)`` for a coloured policy (one ``ceil(log2
M)``-bit index per edge), ``32 x (weights + biases)`` for Toeplitz and unstructured policies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ghp.policy.weights import PolicyWeights
from ghp.space.arch import Arch

PARTITIONS: tuple[str, ...] = ("learned", "random", "toeplitz", "none")
"""learned (a controller proposes colourings), random (one fixed random colouring), toeplitz (weights shared along
diagonals), none (every weight trained)."""


@dataclass(frozen=True)
class Topology:
    """Layer sizes ``obs, hidden..., act`` of a chromatic network; edges are numbered layer by layer, row-major
    within ``W[out, in]``."""

    dims: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.dims) < 2 or any(d < 1 for d in self.dims):
            raise ValueError(f"a topology needs an input and an output size, all positive, got {list(self.dims)}")

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """``(out, in)`` of every weight matrix, input to output."""
        return list(zip(self.dims[1:], self.dims[:-1], strict=True))

    @property
    def n_edges(self) -> int:
        """Weights of the dense network (edges of the graph)."""
        return sum(o * i for o, i in self.shapes)

    @property
    def n_biases(self) -> int:
        """Biases (one per non-input unit)."""
        return sum(self.dims[1:])

    @property
    def arch(self) -> Arch:
        """The hidden widths as an :class:`~ghp.space.arch.Arch`."""
        return Arch(tuple(self.dims[1:-1]))


def random_colouring(top: Topology, colors: int, rng: np.random.Generator) -> np.ndarray:
    """Every edge an independent uniform colour in ``[0, colors)`` (int64, ``[n_edges]``)."""
    return rng.integers(0, colors, size=top.n_edges).astype(np.int64)


def toeplitz_colouring(top: Topology) -> tuple[np.ndarray, int]:
    """Colouring that shares weights along the diagonals of every matrix, and the number of values it uses.

    Entry ``W[r, c]`` of an ``a x b`` matrix takes value ``c - r + a - 1`` of that layer's ``a + b - 1`` (paper,
    Appendix E); layers use consecutive ranges.
    """
    out, offset = [], 0
    for o, i in top.shapes:
        r, c = np.meshgrid(np.arange(o), np.arange(i), indexing="ij")
        out.append((c - r + o - 1 + offset).ravel())
        offset += o + i - 1
    return np.concatenate(out).astype(np.int64), offset


def identity_colouring(top: Topology) -> np.ndarray:
    """Every edge its own value (the unstructured network)."""
    return np.arange(top.n_edges, dtype=np.int64)


def n_values(top: Topology, partition: str, colors: int) -> int:
    """Length of the shared-value vector a partition trains."""
    if partition in ("learned", "random"):
        return colors
    if partition == "toeplitz":
        return toeplitz_colouring(top)[1]
    if partition == "none":
        return top.n_edges
    raise ValueError(f"unknown partition {partition!r}: choose one of {', '.join(PARTITIONS)}")


@dataclass(frozen=True)
class Counts:
    """Size of a chromatic policy as the paper's Table 2 counts it."""

    edges: int
    """Weights of the dense network."""
    distinct_weights: int
    """Distinct weight values actually used (colours present in the colouring)."""
    biases: int
    params: int
    """distinct_weights + biases."""
    bits: int
    """32 x params, plus edges x ceil(log2 M) index bits for a learned / random colouring."""


def count(top: Topology, partition: str, colouring: np.ndarray, colors: int) -> Counts:
    """Parameters and bits of a policy with ``colouring`` (see the module docstring)."""
    distinct = int(len(np.unique(colouring)))
    params = distinct + top.n_biases
    bits = 32 * params
    if partition in ("learned", "random"):
        bits += top.n_edges * math.ceil(math.log2(colors))
    return Counts(top.n_edges, distinct, top.n_biases, params, bits)


def layers_of(top: Topology, colouring: np.ndarray, values: np.ndarray, biases: np.ndarray) -> list[tuple[Any, Any]]:
    """``(W[out, in], b[out])`` per layer of one policy: ``W.flat[e] = values[colouring[e]]``."""
    w = np.asarray(values, np.float32)[colouring]
    out, e0, b0 = [], 0, 0
    for o, i in top.shapes:
        out.append((w[e0 : e0 + o * i].reshape(o, i), np.asarray(biases[b0 : b0 + o], np.float32)))
        e0 += o * i
        b0 += o
    return out


class Controller:
    """A factorised categorical over colourings: one softmax over ``colors`` per edge, trained with REINFORCE.

    The ENAS update of the paper (Section 3): maximise ``E[(R - baseline) log p(P)] + entropy x H``, with a moving
    average of the rewards as the baseline, by Adam on the logits.
    """

    def __init__(self, n_edges: int, colors: int, lr: float, entropy: float, decay: float) -> None:
        self.logits = np.zeros((n_edges, colors))
        self.lr, self.entropy_weight, self.decay = lr, entropy, decay
        self.m = np.zeros_like(self.logits)
        self.v = np.zeros_like(self.logits)
        self.t = 0
        self.baseline: float | None = None

    def probs(self) -> np.ndarray:
        """``[n_edges, colors]`` softmax of the logits."""
        z = self.logits - self.logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` colourings ``[n, n_edges]`` (Gumbel-max sampling)."""
        g = rng.gumbel(size=(n, *self.logits.shape))
        return np.argmax(self.logits[None] + g, axis=2).astype(np.int64)

    def mode(self) -> np.ndarray:
        """The most likely colouring."""
        return np.argmax(self.logits, axis=1).astype(np.int64)

    def entropy(self) -> float:
        """Mean per-edge entropy (nats); ``log(colors)`` when uniform."""
        p = self.probs()
        return float(-(p * np.log(p + 1e-12)).sum(axis=1).mean())

    def update(self, colourings: np.ndarray, rewards: np.ndarray) -> None:
        """One REINFORCE step from ``colourings [n, n_edges]`` and the rewards they reached ``[n]``."""
        rewards = np.asarray(rewards, np.float64)
        mean = float(rewards.mean())
        self.baseline = mean if self.baseline is None else self.decay * self.baseline + (1 - self.decay) * mean
        adv = (rewards - self.baseline) / (rewards.std() + 1e-8)
        p = self.probs()
        n, n_edges = colourings.shape
        # d/dlogits of mean_k adv_k log p(P_k) = mean_k adv_k (onehot(P_k) - p).
        grad = -adv.sum() / n * p
        rows = np.arange(n_edges)
        for k in range(n):
            grad[rows, colourings[k]] += adv[k] / n
        # d/dlogits of the per-edge entropy H_e: -p (log p + H_e).
        logp = np.log(p + 1e-12)
        h = -(p * logp).sum(axis=1, keepdims=True)
        grad += self.entropy_weight * (-p * (logp + h))
        # Adam ascent.
        self.t += 1
        b1, b2 = 0.9, 0.999
        self.m = b1 * self.m + (1 - b1) * grad
        self.v = b2 * self.v + (1 - b2) * grad**2
        mhat = self.m / (1 - b1**self.t)
        vhat = self.v / (1 - b2**self.t)
        self.logits += self.lr * mhat / (np.sqrt(vhat) + 1e-8)

    def state(self) -> dict[str, Any]:
        """Arrays to save."""
        return {
            "ctrl_logits": self.logits,
            "ctrl_m": self.m,
            "ctrl_v": self.v,
            "ctrl_t": np.int64(self.t),
            "ctrl_baseline": np.float64(np.nan if self.baseline is None else self.baseline),
        }

    def load(self, z: Any) -> None:
        """Restore from :meth:`state`'s arrays."""
        self.logits, self.m, self.v = (np.array(z[k], np.float64) for k in ("ctrl_logits", "ctrl_m", "ctrl_v"))
        self.t = int(z["ctrl_t"])
        b = float(z["ctrl_baseline"])
        self.baseline = None if math.isnan(b) else b


@dataclass(frozen=True, eq=False)
class ChromaticMap:
    """ES parameters of a chromatic policy with a fixed colouring: ``theta = shared values ++ biases``
    (a ``ghp.es.ParamMap``, picklable, so it travels in the engine's work units)."""

    top: Topology
    colouring: np.ndarray
    """``[n_edges]`` value index of every edge."""
    nv: int
    """Length of the shared-value vector."""
    action_low: np.ndarray
    action_high: np.ndarray

    @property
    def size(self) -> int:
        return self.nv + self.top.n_biases

    def weights(self, theta: np.ndarray) -> PolicyWeights:
        """The tanh policy (on normalised observations) that ``theta`` stands for."""
        theta = np.asarray(theta)
        if theta.shape != (self.size,):
            raise ValueError(f"expected {self.size} parameters, got shape {theta.shape}")
        layers = layers_of(self.top, self.colouring, theta[: self.nv], theta[self.nv :])
        return PolicyWeights.from_arrays(self.top.arch, layers, self.action_low, self.action_high, activation="tanh")
