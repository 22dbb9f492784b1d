"""Batched execution of many small MLPs, one per architecture of the meta batch (paper, Section III-C).

The rows of an input batch are split into contiguous chunks, chunk ``i`` going through architecture ``i``
(:func:`split_sizes`: ``numpy.array_split`` sizes, so a batch of ``n_envs`` rows gives one row per environment and a
single row goes to architecture 0). Hidden layers use ReLU; the output layer is linear.

Two exact schemes for explicit weights (the factorised decoder's weights, never formed, run in
:mod:`ghp.policy.factorised`):

- ``loop``: per architecture, per layer, one ``addmm``. No wasted work.
- ``padded``: architectures of equal depth and equal row count are stacked; each layer's weights are zero-padded to
  the group's widest shape and run with one ``baddbmm``. Padded rows and columns are exact zeros (zero weights,
  zero biases, ``relu(0) = 0``), so results match the loop to rounding.

``auto`` pads a depth group only when padding wastes less than ``PAD_WASTE`` of its multiply-adds (measured on
2 CPU cores: meta batch 8 x 32 rows, widths up to 512; see ``docs/train.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

LayerWeights = list[tuple[torch.Tensor, torch.Tensor]]
"""``(W [out, in], b [out])`` per linear layer of one architecture, input to output."""

MODES: tuple[str, ...] = ("auto", "loop", "padded")
PAD_WASTE = 1.5
"""``auto`` pads a group when its padded multiply-adds are at most this multiple of the real ones."""


def split_sizes(rows: int, n: int) -> list[int]:
    """Rows per architecture: ``numpy.array_split`` sizes (the first ``rows % n`` chunks get one extra row)."""
    if n < 1:
        raise ValueError("need at least one architecture")
    q, r = divmod(rows, n)
    return [q + 1 if i < r else q for i in range(n)]


def _loop_one(x: torch.Tensor, layers: LayerWeights) -> torch.Tensor:
    h = x
    last = len(layers) - 1
    for j, (w, b) in enumerate(layers):
        h = torch.addmm(b, h, w.T)
        if j < last:
            h = torch.relu(h)
    return h


def _padded_group(xs: list[torch.Tensor], group: list[LayerWeights]) -> torch.Tensor:
    """Run architectures of equal depth and equal row count as one padded batch: returns ``[G, rows, out]``."""
    h = torch.stack(xs)  # [G, rows, in]
    depth = len(group[0])
    for j in range(depth):
        mo = max(layers[j][0].shape[0] for layers in group)
        mi = h.shape[2]
        ws, bs = [], []
        for layers in group:
            w, b = layers[j]
            o, i = w.shape
            ws.append(F.pad(w, (0, mi - i, 0, mo - o)) if (o, i) != (mo, mi) else w)
            bs.append(F.pad(b, (0, mo - o)) if o != mo else b)
        h = torch.baddbmm(torch.stack(bs).unsqueeze(1), h, torch.stack(ws).transpose(1, 2))
        if j < depth - 1:
            h = torch.relu(h)
    return h


def run_mlps(x: torch.Tensor, weights: Sequence[LayerWeights], mode: str = "auto") -> torch.Tensor:
    """Outputs of every architecture on its chunk of ``x`` (chunks per :func:`split_sizes`), concatenated in order.

    Args:
        x: ``[rows, in]`` inputs.
        weights: per architecture, ``(W [out, in], b [out])`` per layer; every architecture has the same output width.
        mode: ``auto``, ``loop`` or ``padded`` (module docstring).
    """
    if mode not in MODES:
        raise ValueError(f"unknown MLP execution mode {mode!r}: choose one of {', '.join(MODES)}")
    n = len(weights)
    sizes = split_sizes(x.shape[0], n)
    if n == 1:
        return _loop_one(x, weights[0])
    chunks = list(x.split(sizes))
    outs: list[torch.Tensor | None] = [None] * n
    if mode != "loop":
        groups: dict[tuple[int, int], list[int]] = {}
        for i, layers in enumerate(weights):
            if sizes[i] > 0:
                groups.setdefault((len(layers), sizes[i]), []).append(i)
        for members in groups.values():
            if len(members) < 2:
                continue
            if mode == "auto":
                real = sum(sum(w.numel() for w, _ in weights[i]) for i in members)
                padded = len(members) * sum(
                    max(weights[i][j][0].shape[0] for i in members) * max(weights[i][j][0].shape[1] for i in members)
                    for j in range(len(weights[members[0]]))
                )
                if padded > PAD_WASTE * real:
                    continue
            res = _padded_group([chunks[i] for i in members], [weights[i] for i in members])
            out_w = weights[members[0]][-1][0].shape[0]
            for g, i in enumerate(members):
                outs[i] = res[g, :, :out_w]
    for i in range(n):
        if outs[i] is None:
            outs[i] = _loop_one(chunks[i], weights[i])
    return torch.cat([o for o in outs if o is not None])


def sequential_from(layers: Sequence[tuple[Any, Any]], activation: str = "relu") -> torch.nn.Sequential:
    """A plain ``nn.Sequential`` (Linear, act, ..., Linear) holding float32 copies of ``layers`` (tensors or arrays).

    ``activation``: the hidden layers' ``relu`` or ``tanh``. The deployable module (``PolicyWeights.to_module``) and
    the reference in tests are built here.
    """
    mods: list[torch.nn.Module] = []
    for j, (w, b) in enumerate(layers):
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.as_tensor(w, dtype=torch.float32))
            lin.bias.copy_(torch.as_tensor(b, dtype=torch.float32))
        mods.append(lin)
        if j < len(layers) - 1:
            mods.append(torch.nn.Tanh() if activation == "tanh" else torch.nn.ReLU())
    return torch.nn.Sequential(*mods)
