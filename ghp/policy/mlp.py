"""Batched execution of many small MLPs, one per architecture of the meta batch (paper, Section III-C).

The rows of an input batch are split into contiguous chunks, chunk ``i`` going through architecture ``i``
(:func:`split_sizes`: ``numpy.array_split`` sizes, so a batch of ``n_envs`` rows gives one row per environment and a
single row goes to architecture 0). Hidden layers use ReLU; the output layer is linear.

Two exact schemes:

- ``loop``: per architecture, per layer, one ``addmm``. No wasted work.
- ``factorised`` (:func:`run_factorised`): for the factorised decoder's ``W = R[:out] M C[:in]^T``, every layer of
  every architecture at once without forming ``W``: ``x W^T = ((x C[:in]) M^T) R[:out]^T``. Activations are kept in
  one ``[B, rows, width]`` tensor zero-padded to the widest layer; columns past a layer's width are multiplied by an
  exact zero mask, padded input columns meet real rows of ``C`` but contribute exact zeros, and architectures
  shallower than the deepest keep their activations through ``where`` until their output layer.
- ``padded``: architectures of equal depth and equal row count are stacked; each layer's weights are zero-padded to
  the group's widest shape and run with one ``baddbmm``. Padded rows and columns are exact zeros (zero weights,
  zero biases, ``relu(0) = 0``), so results match the loop to rounding.

``auto`` pads a depth group only when padding wastes less than ``PAD_WASTE`` of its multiply-adds (measured on
2 CPU cores: meta batch 8 x 32 rows, widths up to 512; see ``docs/train.md``).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class FactorisedSchedule:
    """Per hidden position: input width, output width and zero masks of :func:`run_factorised`."""

    steps: list[tuple[int, int, torch.Tensor, torch.Tensor | None]]
    """``(in_width, out_width, column mask [B, 1, out_width], active [B, 1, 1] or None if all active)``."""
    in_width: int
    """Width of the activations entering the output layer."""
    out_width: int
    """Output layer width."""

    def to(self, device: torch.device | str) -> FactorisedSchedule:
        """The same schedule with its masks on ``device``."""
        steps = [(i, o, m.to(device), None if a is None else a.to(device)) for i, o, m, a in self.steps]
        return FactorisedSchedule(steps, self.in_width, self.out_width)


def factorised_schedule(archs: Sequence, in_dim: int, out_width: int) -> FactorisedSchedule:
    """Masks for running ``archs`` (hidden widths ``arch.hidden``) with :func:`run_factorised`."""
    width = in_dim
    steps = []
    for j in range(max(a.depth for a in archs)):
        ow = [a.hidden[j] if a.depth > j else 0 for a in archs]
        active = [w > 0 for w in ow]
        new_w = max(ow) if all(active) else max(max(ow), width)
        mask = (torch.arange(new_w).unsqueeze(0) < torch.tensor(ow).unsqueeze(1)).float().unsqueeze(1)
        act = None if all(active) else torch.tensor(active).view(-1, 1, 1)
        steps.append((width, new_w, mask, act))
        width = new_w
    return FactorisedSchedule(steps, width, out_width)


def run_factorised(
    x: torch.Tensor,
    rows: torch.Tensor,
    cols: torch.Tensor,
    cores: torch.Tensor,
    biases: torch.Tensor,
    depths: torch.Tensor,
    schedule: FactorisedSchedule,
) -> torch.Tensor:
    """Every architecture's MLP with layer ``j`` weight ``R[:out] cores[b, j] C[:in]^T``, rows split evenly.

    Args:
        x: ``[B * n, in]``, chunk ``b`` of ``n`` rows for architecture ``b``.
        rows, cols: ``R [max_out, k]``, ``C [max_in, k]``.
        cores: ``[B, P, k, k]`` per layer slot (slot ``depth_b`` is the output layer of architecture ``b``).
        biases: ``[B, P, >= widest]`` per layer slot.
        depths: ``[B]`` hidden-layer counts.
        schedule: from :func:`factorised_schedule`.
    """
    b = cores.shape[0]
    h = x.reshape(b, x.shape[0] // b, x.shape[1])
    for j, (w_in, w_out, mask, active) in enumerate(schedule.steps):
        z = torch.bmm(torch.matmul(h, cols[:w_in]), cores[:, j].transpose(1, 2))
        y = torch.relu((torch.matmul(z, rows[:w_out].T) + biases[:, j, :w_out].unsqueeze(1)) * mask)
        if active is not None:
            if h.shape[2] < w_out:
                h = F.pad(h, (0, w_out - h.shape[2]))
            y = torch.where(active, y, h)
        h = y
    ar = torch.arange(b, device=cores.device)
    core_out = cores[ar, depths]
    z = torch.bmm(torch.matmul(h, cols[: schedule.in_width]), core_out.transpose(1, 2))
    y = torch.matmul(z, rows[: schedule.out_width].T) + biases[ar, depths, : schedule.out_width].unsqueeze(1)
    return y.reshape(-1, schedule.out_width)


@functools.lru_cache(maxsize=64)
def _bias_index(
    shapes: tuple[tuple[tuple[int, int], ...], ...], slot: int, width: int
) -> tuple[torch.Tensor, list[int]]:
    """Flat positions of every layer's bias in a ``[B, slot, width]`` tensor, and the per-layer lengths."""
    starts = [(i * slot + j) * width for i, sh in enumerate(shapes) for j in range(len(sh))]
    lengths = [o for sh in shapes for o, _ in sh]
    idx = torch.cat([torch.arange(s, s + o) for s, o in zip(starts, lengths, strict=True)])
    return idx, lengths


def run_factorised_loop(
    x: torch.Tensor,
    rows: torch.Tensor,
    cols: torch.Tensor,
    cores: torch.Tensor,
    biases: torch.Tensor,
    shapes: Sequence[Sequence[tuple[int, int]]],
) -> torch.Tensor:
    """:func:`run_factorised` one architecture at a time between the first and the last layer: no padding.

    With an even row split, the input projection ``x C[:in]`` and the output layer's core and row projection (the
    same widths for every architecture) run for the whole meta batch at once; the hidden layers run per architecture.
    """
    b = cores.shape[0]
    sizes = split_sizes(x.shape[0], b)
    core_t = cores.transpose(-1, -2)
    core_rows = core_t.unbind(0)
    out_w = shapes[0][-1][0]
    # Every layer's bias in one gather (one backward), then split into per-layer views.
    key = tuple(tuple(sh) for sh in shapes)
    idx, sizes_b = _bias_index(key, biases.shape[1], biases.shape[2])
    idx = idx.to(biases.device)
    flat = biases.reshape(-1).index_select(0, idx).split(sizes_b)
    starts = list(itertools.accumulate([0, *(len(sh) for sh in shapes)]))
    layer_bias = [flat[starts[i] : starts[i + 1]] for i in range(b)]
    even = len(set(sizes)) == 1 and all(len(sh) > 1 for sh in shapes)
    # One slice per distinct width, shared by every use (each slice costs a full-size gradient on the way back).
    rows_t = rows.T
    col_cache: dict[int, torch.Tensor] = {}
    row_cache: dict[int, torch.Tensor] = {}

    def col(w: int) -> torch.Tensor:
        if w not in col_cache:
            col_cache[w] = cols[:w]
        return col_cache[w]

    def row_t(w: int) -> torch.Tensor:
        if w not in row_cache:
            row_cache[w] = rows_t[:, :w]
        return row_cache[w]

    if even:
        # First layer: one projection of every row, one batched core product.
        n = sizes[0]
        z0 = torch.bmm((x @ col(x.shape[1])).view(b, n, -1), core_t[:, 0]).unbind(0)
    ends = []
    outs = []
    for i, chunk in enumerate(x.split(sizes)):
        cs, bs = core_rows[i].unbind(0), layer_bias[i]
        last = len(shapes[i]) - 1
        h = chunk
        for j, (o, fan_in) in enumerate(shapes[i]):
            if j == 0 and even:
                z = z0[i]
            else:
                z = h @ col(fan_in)
                if j == last and even:
                    ends.append(z)
                    break
                z = z @ cs[j]
            h = torch.addmm(bs[j], z, row_t(o))
            if j < last:
                h = torch.relu(h)
        else:
            outs.append(h)
    if not even:
        return torch.cat(outs)
    # Output layer of every architecture at once: cores at slot depth_b, biases likewise.
    depth = torch.tensor([len(sh) - 1 for sh in shapes], device=cores.device)
    z = torch.bmm(torch.stack(ends), core_t[torch.arange(b, device=cores.device), depth])
    y = torch.baddbmm(torch.stack([lb[-1] for lb in layer_bias]).unsqueeze(1), z, row_t(out_w).expand(b, -1, -1))
    return y.reshape(-1, out_w)
