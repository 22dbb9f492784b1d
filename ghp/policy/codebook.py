"""Codebook (weight-sharing) policies: every weight of a layer is one of a few shared values ("colours").

From chromatic networks (Choromanski et al. 2019, ``papers/chromatic-networks.txt``): control policies keep working
when their edges share a handful of distinct weights. A codebook policy stores, per layer, a colour index for every
weight (``ceil(log2 M)`` bits) and the colour values (float32), with float32 biases; its flash is about
``32 (values + biases) + edges ceil(log2 M)`` bits (the paper's count), and a neuron can sum its inputs per colour
and then multiply once per colour.

Colouring: 1-D k-means of the emitted weights (:func:`kmeans_1d`), per layer by default (``scope="layer"``): the
hypernetwork scales each emitted matrix by ``sqrt(2 / fan_in)`` (REFERENCE.md), so layers live on different scales
and one shared codebook spends most of its colours on the widest-spread layer (``docs/tune.md`` measures both
scopes). ``scope="network"`` shares one codebook between all layers (the paper's setting).

ES then trains the colour values and the biases with the colouring fixed (``ghp.es.params.CodebookMap``; this
module knows nothing of ES).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ghp.policy.normalize import fold
from ghp.policy.weights import PolicyWeights
from ghp.space.arch import Arch

SCOPES: tuple[str, ...] = ("layer", "network")
MAX_COLORS = 256
"""Indices are packed in at most 8 bits."""


def kmeans_1d(x: np.ndarray, k: int, iterations: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic 1-D k-means (Lloyd, started at the quantiles). Returns ``(centres [k'], labels)``.

    Centres come out sorted; ``k' < k`` only when ``x`` has fewer than ``k`` distinct values. Assignment is to the
    nearest centre (through the midpoints between sorted centres), so it is exact and O(n log k).
    """
    x = np.asarray(x, np.float64).ravel()
    distinct = np.unique(x)
    if len(distinct) <= k:
        return distinct, np.searchsorted(distinct, x)
    centres = np.quantile(x, (np.arange(k) + 0.5) / k)
    centres = np.unique(centres)
    labels = np.zeros(len(x), np.int64)
    for _ in range(iterations):
        # Refill collapsed centres with the points farthest from their centre.
        while len(centres) < k:
            far = np.argmax(np.abs(x - centres[_assign(x, centres)]))
            centres = np.unique(np.append(centres, x[far]))
        new = _assign(x, centres)
        sums = np.bincount(new, weights=x, minlength=len(centres))
        counts = np.bincount(new, minlength=len(centres))
        keep = counts > 0
        moved = np.where(keep, sums / np.maximum(counts, 1), centres)
        if np.array_equal(new, labels) and np.array_equal(moved, centres):
            break
        labels = new
        centres = np.unique(moved[keep]) if not keep.all() else np.sort(moved)
    labels = _assign(x, centres)
    return centres, labels


def _assign(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    mids = (centres[1:] + centres[:-1]) / 2
    return np.searchsorted(mids, x)


def index_bits(m: int) -> int:
    """Bits per colour index: ``ceil(log2 m)`` (at least 1)."""
    return max(1, math.ceil(math.log2(m)))


@dataclass(frozen=True, eq=False)
class CodebookPolicy:
    """A policy whose layer ``j`` has weights ``values[book(j)][colors[j]]`` and float32 biases."""

    arch: Arch
    colors: tuple[np.ndarray, ...]
    """Per layer, ``[out, in]`` colour indices (uint8)."""
    values: tuple[np.ndarray, ...]
    """Colour values (float32): one array per layer (``scope="layer"``) or a single shared one (``"network"``)."""
    biases: tuple[np.ndarray, ...]
    """Per layer, float32 biases."""
    action_low: np.ndarray
    action_high: np.ndarray
    m: int
    """Colours asked for (index width ``ceil(log2 m)`` bits)."""
    scope: str = "layer"
    activation: str = "relu"
    """Hidden activation (``PolicyWeights.activation``): relu, or tanh for chromatic networks."""
    obs_mean: np.ndarray | None = None
    """Input normalisation ``x' = (x - obs_mean) * obs_inv_std`` before the first layer (float32), or None. Folding
    it into the first layer's weights (as float32 / int8 exports do) would break the weight sharing, so a codebook
    policy trained on normalised observations (``ghp chromatic``) keeps it apart: 2 x obs_dim floats more."""
    obs_inv_std: np.ndarray | None = None
    """Reciprocal standard deviations of the input normalisation (float32), with ``obs_mean``."""

    def __post_init__(self) -> None:
        if (self.obs_mean is None) != (self.obs_inv_std is None):
            raise ValueError("an input normalisation needs both obs_mean and obs_inv_std")
        if self.scope not in SCOPES:
            raise ValueError(f"unknown codebook scope {self.scope!r}: choose one of {', '.join(SCOPES)}")
        if len(self.values) != (len(self.colors) if self.scope == "layer" else 1):
            raise ValueError("a layer-scope codebook has one value array per layer, a network-scope one exactly one")
        for j, c in enumerate(self.colors):
            if c.size and int(c.max()) >= len(self.book(j)):
                raise ValueError(f"layer {j} uses a colour its codebook does not have")
            if len(self.book(j)) > self.m:
                raise ValueError(f"layer {j} has more than {self.m} colours")

    def book(self, j: int) -> np.ndarray:
        """Colour values of layer ``j``."""
        return self.values[j if self.scope == "layer" else 0]

    @property
    def bits(self) -> int:
        """Bits per colour index."""
        return index_bits(self.m)

    def dense(self) -> PolicyWeights:
        """The same function as ordinary float32 weights (rollouts, torch, float32 exports); an input normalisation
        is folded into the first layer (``W / std``, ``b - W mean / std``, float64 math)."""
        layers = tuple(
            (self.book(j)[c].astype(np.float32), b)
            for j, (c, b) in enumerate(zip(self.colors, self.biases, strict=True))
        )
        w = PolicyWeights(self.arch, layers, self.action_low, self.action_high, self.activation)
        if self.obs_mean is None or self.obs_inv_std is None:
            return w
        return fold(w, self.obs_mean.astype(np.float64), 1.0 / self.obs_inv_std.astype(np.float64))

    def packed(self, j: int) -> bytes:
        """Layer ``j``'s indices, row-major, ``bits`` each, packed least significant bit first."""
        return pack_indices(self.colors[j].ravel(), self.bits)

    @property
    def n_bytes(self) -> int:
        """Flash bytes of the parameters: packed indices (each layer byte-aligned), colour values, biases."""
        idx = sum(len(self.packed(j)) for j in range(len(self.colors)))
        norm = 0 if self.obs_mean is None else 8 * len(self.obs_mean)
        return idx + 4 * sum(len(v) for v in self.values) + 4 * sum(len(b) for b in self.biases) + norm

    @property
    def paper_bits(self) -> int:
        """The chromatic-networks count: ``32 (distinct weights + biases) + edges ceil(log2 M)``."""
        edges = sum(c.size for c in self.colors)
        return 32 * (sum(len(v) for v in self.values) + sum(len(b) for b in self.biases)) + edges * self.bits


def pack_indices(idx: np.ndarray, bits: int) -> bytes:
    """Pack non-negative integers below ``2**bits`` into bytes, least significant bit first."""
    idx = np.asarray(idx, np.int64).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= 1 << bits):
        raise ValueError(f"indices do not fit in {bits} bits")
    bitarr = ((idx[:, None] >> np.arange(bits)) & 1).astype(np.uint8).ravel()
    return np.packbits(bitarr, bitorder="little").tobytes()


def unpack_indices(data: bytes, bits: int, n: int) -> np.ndarray:
    """Inverse of :func:`pack_indices` for ``n`` indices."""
    bitarr = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")[: n * bits].reshape(n, bits)
    return (bitarr.astype(np.int64) << np.arange(bits)).sum(axis=1)


def n_weights(policy: PolicyWeights) -> int:
    """Edges (weights without biases) of a policy."""
    return sum(w.size for w, _ in policy.layers)


def quantize(policy: PolicyWeights, m: int, scope: str = "layer") -> CodebookPolicy:
    """Colour ``policy``'s weights with ``m`` shared values by 1-D k-means (per layer or over the whole network).

    Raises:
        ValueError: ``m < 2``, more colours than weights, more than 256 colours, or an unknown scope.
    """
    total = n_weights(policy)
    if m < 2:
        raise ValueError(f"--colors must be at least 2, got {m}")
    if m > total:
        raise ValueError(f"--colors {m} is more than the {total} weights of {policy.arch.key}: choose at most {total}")
    if m > MAX_COLORS:
        raise ValueError(f"--colors must be at most {MAX_COLORS} (indices are packed in at most 8 bits), got {m}")
    if scope not in SCOPES:
        raise ValueError(f"unknown codebook scope {scope!r}: choose one of {', '.join(SCOPES)}")
    biases = tuple(b.astype(np.float32) for _, b in policy.layers)
    if scope == "network":
        flat = np.concatenate([w.ravel() for w, _ in policy.layers])
        centres, labels = kmeans_1d(flat, m)
        colors, k = [], 0
        for w, _ in policy.layers:
            colors.append(labels[k : k + w.size].reshape(w.shape).astype(np.uint8))
            k += w.size
        values: tuple[np.ndarray, ...] = (centres.astype(np.float32),)
    else:
        colors, vals = [], []
        for w, _ in policy.layers:
            centres, labels = kmeans_1d(w.ravel(), m)
            colors.append(labels.reshape(w.shape).astype(np.uint8))
            vals.append(centres.astype(np.float32))
        values = tuple(vals)
    low, high = policy.action_low, policy.action_high
    return CodebookPolicy(policy.arch, tuple(colors), values, biases, low, high, m, scope, policy.activation)


def codebook_arrays(cb: CodebookPolicy) -> dict[str, Any]:
    """The extra arrays a policy file carries for a codebook policy (see :func:`codebook_from_arrays`)."""
    out: dict[str, Any] = {
        "codebook_m": np.int64(cb.m),
        "codebook_scope": np.asarray(cb.scope),
        "codebook_n_books": np.int64(len(cb.values)),
    }
    for j, c in enumerate(cb.colors):
        out[f"colors{j}"] = c
    for j, v in enumerate(cb.values):
        out[f"book{j}"] = v
    if cb.obs_mean is not None and cb.obs_inv_std is not None:
        # The dense weights have the normalisation folded in; the codebook keeps it, and its own first-layer bias.
        out |= {"codebook_obs_mean": cb.obs_mean, "codebook_obs_inv_std": cb.obs_inv_std, "codebook_b0": cb.biases[0]}
    return out


def codebook_from_arrays(z: Mapping[str, Any], policy: PolicyWeights) -> CodebookPolicy | None:
    """The codebook of a policy file's arrays (``np.load`` result), or None when it holds none.

    Raises:
        ValueError: the colouring does not reproduce the file's dense weights.
    """
    if "codebook_m" not in z:
        return None
    get = z.__getitem__
    n_layers = len(policy.layers)
    norm = "codebook_obs_mean" in z
    biases = [b for _, b in policy.layers]
    if norm:
        biases[0] = np.asarray(get("codebook_b0"), np.float32)
    cb = CodebookPolicy(
        policy.arch,
        tuple(np.asarray(get(f"colors{j}"), np.uint8) for j in range(n_layers)),
        tuple(np.asarray(get(f"book{j}"), np.float32) for j in range(int(get("codebook_n_books")))),
        tuple(biases),
        policy.action_low,
        policy.action_high,
        int(get("codebook_m")),
        str(get("codebook_scope")),
        policy.activation,
        np.asarray(get("codebook_obs_mean"), np.float32) if norm else None,
        np.asarray(get("codebook_obs_inv_std"), np.float32) if norm else None,
    )
    for (w, b), (w2, b2) in zip(policy.layers, cb.dense().layers, strict=True):
        if not (np.array_equal(w, w2) and np.array_equal(b, b2)):
            raise ValueError("the policy file's colouring does not reproduce its weights: the file is corrupt")
    return cb
