"""What the ES engine searches over: parameter maps (flat vector -> policy) and the observation statistics.

A *parameter map* turns a flat vector ``theta`` into a :class:`~ghp.policy.weights.PolicyWeights`, the policy acting on
*normalised* observations; the engine knows nothing else about what ``theta`` means. :class:`DenseMap` (every weight
and bias, ``ghp tune``), :class:`CodebookMap` (shared colour values and biases of a fixed colouring, ``ghp
tune --colors``) and ``ghp.es.colouring.ChromaticMap`` (``ghp chromatic``) are the maps of the project.

Observation normalisation (ARS V2): the policy sees ``(x - mu) / sd``, where ``mu, sd`` are the running mean and
standard deviation (:class:`ObsStats`) of every observation seen by the perturbed rollouts so far. For export the
normalisation is folded into the first layer (``ghp.policy.normalize.fold``); :func:`unfold` is its inverse, so a
fine-tune starts from a vector that acts exactly like the trained policy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ghp.policy.codebook import CodebookPolicy
from ghp.policy.normalize import fold, map_clip
from ghp.policy.weights import PolicyWeights
from ghp.space.arch import Arch

MIN_STD = 1e-6
"""Observation components whose standard deviation is below this are left unscaled (their ``sd`` is taken as 1)."""


@dataclass(frozen=True, eq=False)
class ObsStats:
    """Running mean and variance of observations (count, mean, sum of squared deviations), float64."""

    count: int
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def empty(cls, dim: int) -> ObsStats:
        """No observations yet: normalisation is the identity."""
        return cls(0, np.zeros(dim), np.zeros(dim))

    @classmethod
    def of(cls, xs: np.ndarray) -> ObsStats:
        """Statistics of the rows of ``xs`` (``[n, dim]``)."""
        xs = np.asarray(xs, np.float64)
        if len(xs) == 0:
            return cls.empty(xs.shape[1])
        mean = xs.mean(axis=0)
        return cls(len(xs), mean, ((xs - mean) ** 2).sum(axis=0))

    def merge(self, other: ObsStats) -> ObsStats:
        """Statistics of both sets (Chan et al.'s parallel update)."""
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        n = self.count + other.count
        d = other.mean - self.mean
        mean = self.mean + d * (other.count / n)
        m2 = self.m2 + other.m2 + d * d * (self.count * other.count / n)
        return ObsStats(n, mean, m2)

    def merge_all(self, others: tuple[ObsStats, ...] | list[ObsStats]) -> ObsStats:
        """Statistics of this set and every one of ``others``, merged in order (the order fixes the rounding)."""
        merged = self
        for s in others:
            merged = merged.merge(s)
        return merged

    @property
    def std(self) -> np.ndarray:
        """Standard deviation used for normalisation: 1 where there is no data or (almost) no spread."""
        if self.count < 2:
            return np.ones_like(self.mean)
        sd = np.sqrt(self.m2 / (self.count - 1))
        return np.where(sd < MIN_STD, 1.0, sd)

    @property
    def shift(self) -> np.ndarray:
        """Mean used for normalisation (0 before any data)."""
        return self.mean if self.count > 0 else np.zeros_like(self.mean)


def unfold(weights: PolicyWeights, stats: ObsStats) -> PolicyWeights:
    """Inverse of :func:`ghp.policy.normalize.fold` with ``stats``: the policy on normalised observations acting like
    ``weights``."""
    w, b = weights.layers[0]
    w64 = w.astype(np.float64)
    w_new = w64 * stats.std[None, :]
    b_new = b.astype(np.float64) + w64 @ stats.shift
    layers = ((w_new.astype(np.float32), b_new.astype(np.float32)), *weights.layers[1:])
    lo, hi = map_clip(weights, lambda x: (x - stats.shift) / stats.std)
    return dataclasses.replace(weights, layers=layers, clip_low=lo, clip_high=hi)


class ParamMap(Protocol):
    """Turns a flat parameter vector into a policy. Must be picklable (it travels inside every work unit)."""

    @property
    def size(self) -> int:
        """Length of the parameter vector."""
        ...

    def weights(self, theta: np.ndarray) -> PolicyWeights:
        """The policy (on normalised observations) that ``theta`` stands for."""
        ...


# A map may also define ``renormalize(theta, old: ObsStats, new: ObsStats) -> theta``: the parameters under the
# ``new`` statistics of the same raw-observation policy that ``theta`` is under ``old``. The engine then calls it
# after every statistics update, so a new normalisation changes the geometry of the search but never the policy
# (without it, as in plain ARS V2, the policy jumps whenever the statistics move: fine-tuning a trained Pendulum
# policy that way fell from -176 to -1450 within 10 iterations, as the swinging starts of the perturbed rollouts
# moved the statistics away from those of the trained policy's own upright rollouts).


@dataclass(frozen=True, eq=False)
class DenseMap:
    """Every weight and bias of one architecture is a parameter: ``theta = W0.ravel() ++ b0 ++ W1.ravel() ++ ...``."""

    arch: Arch
    shapes: tuple[tuple[int, int], ...]
    """``(out, in)`` per layer."""
    action_low: np.ndarray
    action_high: np.ndarray
    activation: str = "relu"
    """Hidden activation of the policies (``PolicyWeights.activation``)."""
    clip_low: np.ndarray | None = None
    """Observation clip of a ``--normalize`` run's policy (kept, not tuned)."""
    clip_high: np.ndarray | None = None

    @classmethod
    def like(cls, policy: PolicyWeights) -> DenseMap:
        """The map of ``policy``'s architecture, action bounds, layer shapes, activation and observation clip."""
        shapes = tuple((int(w.shape[0]), int(w.shape[1])) for w, _ in policy.layers)
        return cls(
            policy.arch,
            shapes,
            policy.action_low,
            policy.action_high,
            policy.activation,
            policy.clip_low,
            policy.clip_high,
        )

    @property
    def size(self) -> int:
        return sum(o * i + o for o, i in self.shapes)

    def flatten(self, policy: PolicyWeights) -> np.ndarray:
        """The parameter vector of ``policy`` (float64)."""
        return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in policy.layers]).astype(np.float64)

    def renormalize(self, theta: np.ndarray, old: ObsStats, new: ObsStats) -> np.ndarray:
        """The first layer re-expressed for ``new`` statistics: the same raw-observation policy (in float64)."""
        o, i = self.shapes[0]
        theta = np.asarray(theta, np.float64).copy()
        w = theta[: o * i].reshape(o, i)
        w_raw = w / old.std[None, :]
        b_raw = theta[o * i : o * i + o] - w_raw @ old.shift
        theta[: o * i] = (w_raw * new.std[None, :]).ravel()
        theta[o * i : o * i + o] = b_raw + w_raw @ new.shift
        return theta

    def weights(self, theta: np.ndarray) -> PolicyWeights:
        theta = np.asarray(theta)
        if theta.shape != (self.size,):
            raise ValueError(f"expected {self.size} parameters, got shape {theta.shape}")
        layers = []
        k = 0
        for o, i in self.shapes:
            w = theta[k : k + o * i].reshape(o, i).astype(np.float32)
            k += o * i
            layers.append((w, theta[k : k + o].astype(np.float32)))
            k += o
        return PolicyWeights(
            self.arch,
            tuple(layers),
            self.action_low,
            self.action_high,
            activation=self.activation,
            clip_low=self.clip_low,
            clip_high=self.clip_high,
        )


@dataclass(frozen=True, eq=False)
class CodebookMap:
    """ES parameters of a codebook policy with its colouring fixed: ``theta = values ++ biases`` (a
    :class:`ParamMap`)."""

    template: CodebookPolicy

    @property
    def size(self) -> int:
        t = self.template
        return sum(len(v) for v in t.values) + sum(len(b) for b in t.biases)

    def flatten(self, cb: CodebookPolicy) -> np.ndarray:
        """The parameter vector of ``cb`` (float64)."""
        return np.concatenate([*cb.values, *cb.biases]).astype(np.float64)

    def codebook(self, theta: np.ndarray) -> CodebookPolicy:
        """The codebook policy ``theta`` stands for."""
        t = self.template
        theta = np.asarray(theta)
        if theta.shape != (self.size,):
            raise ValueError(f"expected {self.size} parameters, got shape {theta.shape}")
        k = 0
        values = []
        for v in t.values:
            values.append(theta[k : k + len(v)].astype(np.float32))
            k += len(v)
        biases = []
        for b in t.biases:
            biases.append(theta[k : k + len(b)].astype(np.float32))
            k += len(b)
        return CodebookPolicy(
            t.arch,
            t.colors,
            tuple(values),
            tuple(biases),
            t.action_low,
            t.action_high,
            t.m,
            t.scope,
            t.activation,
            t.obs_mean,
            t.obs_inv_std,
        )

    def weights(self, theta: np.ndarray) -> PolicyWeights:
        return self.codebook(theta).dense()


__all__ = ["CodebookMap", "DenseMap", "ObsStats", "ParamMap", "fold", "unfold"]
