"""Many policies of one shape as stacked arrays, and their batched numpy forward: ``PolicyWeights.act`` for a stack.

Evaluation stacks the architectures of one shape class (zero-padded up to it), several episodes each
(``ghp.rollout.engine``); ES stacks many weight vectors of one architecture, one episode each (``ghp.es.rollout``).
Both step their environments with :meth:`PolicyStack.actions`, so the forward pass has one batched form: one
``matmul`` per layer for the whole stack, with the arithmetic of :meth:`ghp.policy.weights.PolicyWeights.act`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ghp.policy.weights import PolicyWeights


@dataclass(frozen=True, eq=False)
class PolicyStack:
    """``G`` policies of one depth, activation and action range, stacked (member ``g``: index ``g`` of each array)."""

    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    """Per layer: transposed weights ``[G, in, out]`` (a copy or a view, see :meth:`of`) and biases ``[G, 1, out]``."""
    clip: tuple[np.ndarray, np.ndarray] | None
    """Per member observation clip ``[G, 1, obs_dim]`` low and high (a ``--normalize`` run's), or None."""
    tanh: bool
    """Hidden activation: tanh (True) or ReLU."""
    low: np.ndarray
    """Action lower bounds ``[act_dim]``, shared by the members."""
    span: np.ndarray
    """``action_high - action_low``."""

    @classmethod
    def of(
        cls, weights: Sequence[PolicyWeights], hidden: Sequence[int] | None = None, layout: str = "in-out"
    ) -> PolicyStack:
        """Stack ``weights`` (one depth, activation and action range), each zero-padded to ``hidden`` widths.

        Args:
            hidden: the stack's hidden widths, each at least every member's (None: the first member's own). Padded
                rows and columns are exact zeros and ``relu(0) = tanh(0) = 0``, so a member's actions do not change.
            layout: how a member's weights lie in memory. ``in-out``: a C-order ``[in, out]`` copy, which can be
                padded (evaluation). ``out-in``: each ``W [out, in]`` as ``PolicyWeights`` stores it, multiplied
                through a transposed view, no padding (ES). BLAS sums the two layouts in different orders, so a
                result differs in the last bit between them; each caller keeps the one its recorded results came
                from (evaluation's results store, ES's fingerprint ``benchmarks/es_fingerprint.py``).
        """
        first = weights[0]
        dims = [first.obs_dim, *(first.arch.hidden if hidden is None else hidden), first.act_dim]
        if layout not in ("in-out", "out-in"):
            raise ValueError(f"unknown weights layout {layout!r}: in-out or out-in")
        if layout == "out-in" and tuple(dims[1:-1]) != first.arch.hidden:
            raise ValueError("the out-in layout stacks weights as they are: it cannot pad")
        layers = []
        for j in range(len(dims) - 1):
            if layout == "out-in":
                wt = np.stack([pw.layers[j][0] for pw in weights]).transpose(0, 2, 1)
                b = np.stack([pw.layers[j][1][None, :] for pw in weights])
                layers.append((wt, b))
                continue
            wt = np.zeros((len(weights), dims[j], dims[j + 1]), np.float32)
            b = np.zeros((len(weights), 1, dims[j + 1]), np.float32)
            for g, pw in enumerate(weights):
                w, bias = pw.layers[j]
                wt[g, : w.shape[1], : w.shape[0]] = w.T
                b[g, 0, : bias.shape[0]] = bias
            layers.append((wt, b))
        clip = None
        if first.clip_low is not None:
            lo, hi = (np.stack([getattr(w, k)[None, :] for w in weights]) for k in ("clip_low", "clip_high"))
            clip = (lo, hi)
        span = first.action_high - first.action_low
        return cls(tuple(layers), clip, first.activation == "tanh", first.action_low, span)

    def __len__(self) -> int:
        return int(self.layers[0][0].shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes of the stacked weights and biases."""
        return sum(wt.nbytes + b.nbytes for wt, b in self.layers)

    def select(self, members: np.ndarray) -> PolicyStack:
        """The stack of ``members`` (indices) only, e.g. once the others' episodes have ended."""
        clip = None if self.clip is None else (self.clip[0][members], self.clip[1][members])
        layers = tuple((wt[members], b[members]) for wt, b in self.layers)
        return PolicyStack(layers, clip, self.tanh, self.low, self.span)

    def actions(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic actions ``[G * rows, act_dim]`` for observations ``[G, rows, obs_dim]`` (member-major).

        The arithmetic of ``PolicyWeights.act``, in place after the first product; ``obs`` is not modified.
        """
        h = obs if self.clip is None else np.minimum(np.maximum(obs, self.clip[0]), self.clip[1])
        last = len(self.layers) - 1
        for j, (wt, b) in enumerate(self.layers):
            h = np.matmul(h, wt)
            h += b
            if j < last:
                if self.tanh:
                    np.tanh(h, out=h)
                else:
                    np.maximum(h, np.float32(0), out=h)
        np.tanh(h, out=h)
        # low + (u + 1) * 0.5 * span, in place, in the same order of operations.
        h += np.float32(1)
        h *= np.float32(0.5)
        h *= self.span
        h += self.low
        return h.reshape(-1, h.shape[-1])


__all__ = ["PolicyStack"]
