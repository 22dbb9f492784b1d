"""The factorised decoder's MLPs run without forming their weights (paper, Section III-C).

Layer ``j`` of architecture ``b`` has the weight ``W = R[:out] M C[:in]^T`` (rows ``R``, columns ``C``, a core ``M``
per layer slot), so ``x W^T = ((x C[:in]) M^T) R[:out]^T``: three thin products instead of forming ``W``. Rows are
split over the meta batch as in :mod:`ghp.policy.mlp` (:func:`~ghp.policy.mlp.split_sizes`). Three exact schemes:

- :func:`run_factorised`: every layer of every architecture at once. Activations are kept in one
  ``[B, rows, width]`` tensor zero-padded to the widest layer; columns past a layer's width are multiplied by an
  exact zero mask, padded input columns meet real rows of ``C`` but contribute exact zeros, and architectures
  shallower than the deepest keep their activations through ``where`` until their output layer.
- :func:`run_factorised_loop`: one architecture at a time between the first and the last layer, no padding.
- :func:`run_factorised_rows`: the loop's even case (rows split evenly, every architecture with a hidden layer) as
  one autograd node with a hand-written backward (:class:`_FactorisedLoop`): training's hot loop.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ghp.policy.mlp import split_sizes


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


@functools.lru_cache(maxsize=64)
def _depth_members(
    shapes: tuple[tuple[tuple[int, int], ...], ...],
) -> tuple[tuple[tuple[int, ...], torch.Tensor | None], ...]:
    """Per hidden position ``j >= 1``: the architectures with a hidden layer there, and their indices as a tensor
    (None when it is every architecture)."""
    b = len(shapes)
    out = []
    for j in range(1, max(len(sh) for sh in shapes) - 1):
        members = tuple(i for i, sh in enumerate(shapes) if j < len(sh) - 1)
        out.append((members, None if len(members) == b else torch.tensor(members)))
    return tuple(out)


def _layer_biases(biases: torch.Tensor, shapes: Sequence[Sequence[tuple[int, int]]]) -> list[tuple[torch.Tensor, ...]]:
    """Per architecture, its layers' biases: every layer's bias in one gather (one backward), split into views."""
    key = tuple(tuple(sh) for sh in shapes)
    idx, sizes_b = _bias_index(key, biases.shape[1], biases.shape[2])
    idx = idx.to(biases.device)
    flat = biases.reshape(-1).index_select(0, idx).split(sizes_b)
    starts = list(itertools.accumulate([0, *(len(sh) for sh in shapes)]))
    return [flat[starts[i] : starts[i + 1]] for i in range(len(shapes))]


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
    fused = run_factorised_rows(x, rows, cols, cores, biases, shapes)
    if fused is not None:
        return fused
    b = cores.shape[0]
    sizes = split_sizes(x.shape[0], b)
    core_t = cores.transpose(-1, -2)
    core_rows = core_t.unbind(0)
    out_w = shapes[0][-1][0]
    layer_bias = _layer_biases(biases, shapes)
    even = len(set(sizes)) == 1 and all(len(sh) > 1 for sh in shapes)
    # One slice per distinct width, shared by every use (each slice costs a full-size gradient on the way back).
    sl = _Slices(rows, cols)
    col, row_t = sl.c, sl.rt
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


class _Slices:
    """Views of ``R^T`` and ``C`` (and ``C^T``) by width, each made once per call: a view op costs about as much as a
    small product here."""

    def __init__(self, rows: torch.Tensor, cols: torch.Tensor) -> None:
        self.rows, self.cols = rows, cols
        self.rows_t = rows.T
        self._r: dict[int, torch.Tensor] = {}
        self._rt: dict[int, torch.Tensor] = {}
        self._c: dict[int, torch.Tensor] = {}
        self._ct: dict[int, torch.Tensor] = {}

    def r(self, w: int) -> torch.Tensor:
        if w not in self._r:
            self._r[w] = self.rows[:w]
        return self._r[w]

    def rt(self, w: int) -> torch.Tensor:
        if w not in self._rt:
            self._rt[w] = self.rows_t[:, :w]
        return self._rt[w]

    def c(self, w: int) -> torch.Tensor:
        if w not in self._c:
            self._c[w] = self.cols[:w]
        return self._c[w]

    def ct(self, w: int) -> torch.Tensor:
        if w not in self._ct:
            self._ct[w] = self.c(w).T
        return self._ct[w]


def _loop_forward(
    x: torch.Tensor,
    rows: torch.Tensor,
    cols: torch.Tensor,
    cores: torch.Tensor,
    biases: torch.Tensor,
    shapes: Sequence[Sequence[tuple[int, int]]],
    dealt: bool,
) -> tuple[torch.Tensor, tuple[Any, ...]]:
    """The forward of :class:`_FactorisedLoop` (no autograd); returns the output and what its backward needs."""
    b, p, k, _ = cores.shape
    n = x.shape[0] // b
    sl = _Slices(rows, cols)
    key = tuple(tuple(sh) for sh in shapes)
    idx, sizes_b = _bias_index(key, p, biases.shape[2])
    idx = idx.to(biases.device)
    bias_flat = biases.reshape(-1).index_select(0, idx).split(sizes_b)  # every layer's bias, one gather
    cores_t = cores.transpose(-1, -2)
    a0 = x @ sl.c(x.shape[1])  # the first layer's input projection, every row at once
    a0_b = a0.view(n, b, k).transpose(0, 1) if dealt else a0.view(b, n, k)
    z0 = torch.bmm(a0_b, cores_t[:, 0]).unbind(0)
    saved: list[list[tuple[torch.Tensor, ...]]] = []
    hs, ats = [], []
    at = 0
    for i, sh in enumerate(shapes):
        h = torch.relu_(torch.addmm(bias_flat[at], z0[i], sl.rt(sh[0][0])))
        hs.append(h)
        saved.append([(h,)])
        ats.append(at)
        at += len(sh)
    # The further hidden layers depth by depth: the core products of every architecture at one depth are one bmm
    # (the products into and out of the rank-k space have each architecture's own widths and stay per architecture).
    a_stacks = []
    for j, (members, index) in enumerate(_depth_members(key), 1):
        a_j = torch.stack([hs[i] @ sl.c(shapes[i][j][1]) for i in members])
        c_j = cores_t[:, j] if index is None else cores_t[:, j].index_select(0, index.to(cores.device))
        z_j = torch.bmm(a_j, c_j).unbind(0)
        for q, i in enumerate(members):
            h_new = torch.relu_(torch.addmm(bias_flat[ats[i] + j], z_j[q], sl.rt(shapes[i][j][0])))
            saved[i].append((hs[i], z_j[q], h_new))
            hs[i] = h_new
        a_stacks.append(a_j)
    ends = []
    for i, sh in enumerate(shapes):
        ends.append(hs[i] @ sl.c(sh[-1][1]))
        saved[i].append((hs[i],))
    out_slot = torch.tensor([i * p + len(sh) - 1 for i, sh in enumerate(shapes)], device=cores.device)
    ow = shapes[0][-1][0]
    a_end = torch.stack(ends)
    core_out = cores.reshape(b * p, k, k).index_select(0, out_slot)
    z_end = torch.bmm(a_end, core_out.transpose(1, 2))
    bias_out = biases.reshape(b * p, -1).index_select(0, out_slot)[:, :ow].unsqueeze(1)
    y = torch.baddbmm(bias_out, z_end, sl.rt(ow).expand(b, k, ow))
    out = y.transpose(0, 1).reshape(n * b, ow) if dealt else y.reshape(n * b, ow)
    return out, (a0_b, z0, saved, a_stacks, a_end, z_end, core_out, out_slot, idx, sizes_b)


class _FactorisedLoop(torch.autograd.Function):
    """:func:`run_factorised_loop`'s even case as one autograd node with a hand-written backward.

    Recording every small product of every architecture made the backward cost about four times the forward on CPU
    (one engine node per product, each slice of ``R`` and ``C`` a full-size gradient, every shared slice's gradients
    summed with extra adds). Here each hidden layer's backward is eight products written straight into four gradient
    buffers (rows, columns, cores, biases); the first and the output layer run batched over the meta batch, and the
    core products of the layers in between one batched product per depth, as in the forward. The same products as
    autograd's, so gradients agree to float round-off (tests compare with ``loop``).
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: torch.Tensor,
        rows: torch.Tensor,
        cols: torch.Tensor,
        cores: torch.Tensor,
        biases: torch.Tensor,
        shapes: Sequence[Sequence[tuple[int, int]]],
        dealt: bool,
    ) -> torch.Tensor:
        out, saved = _loop_forward(x, rows, cols, cores, biases, shapes, dealt)
        ctx.save_for_backward(x, rows, cols, cores)
        ctx.saved = saved
        ctx.shapes, ctx.dealt, ctx.bias_shape = shapes, dealt, biases.shape
        return out

    @staticmethod
    def backward(ctx: Any, g_out: torch.Tensor) -> tuple[Any, ...]:
        x, rows, cols, cores = ctx.saved_tensors
        a0_b, z0, saved, a_stacks, a_end, z_end, core_out, out_slot, idx, sizes_b = ctx.saved
        shapes, dealt = ctx.shapes, ctx.dealt
        b, p, k, _ = cores.shape
        ow = shapes[0][-1][0]
        sl = _Slices(rows, cols)
        g_rows, g_cols = torch.zeros_like(rows), torch.zeros_like(cols)
        g_r = _Slices(g_rows, g_cols)  # views of the gradient buffers by width
        g_cores = torch.zeros_like(cores)
        g_bias_flat = torch.empty(int(idx.shape[0]), dtype=cores.dtype, device=cores.device)
        g_bias = g_bias_flat.split(sizes_b)
        g_a_end, g_y_sum = _output_layer_backward(g_out, a_end, z_end, core_out, out_slot, ow, dealt, sl, g_r, g_cores)
        ats = list(itertools.accumulate([0, *(len(sh) for sh in shapes)]))
        g_h = []
        for i, sh in enumerate(shapes):
            g_bias[ats[i] + len(sh) - 1].copy_(g_y_sum[i])
            (h,) = saved[i][-1]
            fan_in = sh[-1][1]
            g_r.c(fan_in).addmm_(h.T, g_a_end[i])
            g_h.append(g_a_end[i] @ sl.ct(fan_in))
        _inner_layers_backward(g_h, shapes, saved, a_stacks, cores, ats, sl, g_r, g_cores, g_bias)
        g_z0 = []
        for i, sh in enumerate(shapes):
            (h1,) = saved[i][0]
            o = sh[0][0]
            g_pre = torch.ops.aten.threshold_backward(g_h[i], h1, 0)
            torch.sum(g_pre, 0, out=g_bias[ats[i]])
            g_r.r(o).addmm_(g_pre.T, z0[i])
            g_z0.append(g_pre @ sl.r(o))
        need = ctx.needs_input_grad
        g_x = _first_layer_backward(torch.stack(g_z0), x, a0_b, cores, dealt, sl, g_r, g_cores, need[0])
        g_biases = None
        if need[4]:
            g_biases = torch.zeros(ctx.bias_shape, dtype=cores.dtype, device=cores.device)
            g_biases.view(-1).index_copy_(0, idx, g_bias_flat)
        return (
            g_x,
            g_rows if need[1] else None,
            g_cols if need[2] else None,
            g_cores if need[3] else None,
            g_biases,
            None,
            None,
        )


def _inner_layers_backward(
    g_h: list[torch.Tensor],
    shapes: Sequence[Sequence[tuple[int, int]]],
    saved: Sequence[Sequence[tuple[torch.Tensor, ...]]],
    a_stacks: Sequence[torch.Tensor],
    cores: torch.Tensor,
    ats: Sequence[int],
    sl: _Slices,
    g_r: _Slices,
    g_cores: torch.Tensor,
    g_bias: Sequence[torch.Tensor],
) -> None:
    """The backward of the hidden layers after the first, depth by depth, deepest first, as in the forward: layer
    ``j``'s ``h_out = relu((h_in C) M_j^T R^T + bias)`` (``C``, ``R``: the column and row embeddings at its widths,
    ``M_j``: its core), the core products of every architecture at one depth one batched product.

    ``g_h`` enters as each architecture's gradient of its last hidden output and leaves as that of its first hidden
    layer's output (updated in place); adds into the gradient buffers of ``R`` and ``C`` (``g_r``), writes the
    cores' gradients into ``g_cores`` and the biases' into ``g_bias`` (flat, layer ``ats[i] + j`` of architecture
    ``i``)."""
    depths = _depth_members(tuple(tuple(sh) for sh in shapes))
    for j in range(len(depths), 0, -1):
        members, index = depths[j - 1]
        g_z = []
        for i in members:
            _, z, h_out = saved[i][j]
            o = shapes[i][j][0]
            g_pre = torch.ops.aten.threshold_backward(g_h[i], h_out, 0)
            torch.sum(g_pre, 0, out=g_bias[ats[i] + j])
            g_r.r(o).addmm_(g_pre.T, z)
            g_z.append(g_pre @ sl.r(o))
        g_z_j = torch.stack(g_z)
        g_c = torch.bmm(g_z_j.transpose(1, 2), a_stacks[j - 1])
        if index is None:
            g_cores[:, j] = g_c
            c_j = cores[:, j]
        else:
            index = index.to(cores.device)
            g_cores[:, j].index_copy_(0, index, g_c)
            c_j = cores[:, j].index_select(0, index)
        g_a = torch.bmm(g_z_j, c_j).unbind(0)
        for q, i in enumerate(members):
            h_in = saved[i][j][0]
            fan_in = shapes[i][j][1]
            g_r.c(fan_in).addmm_(h_in.T, g_a[q])
            g_h[i] = g_a[q] @ sl.ct(fan_in)


def _output_layer_backward(
    g_out: torch.Tensor,
    a_end: torch.Tensor,
    z_end: torch.Tensor,
    core_out: torch.Tensor,
    out_slot: torch.Tensor,
    ow: int,
    dealt: bool,
    sl: _Slices,
    g_r: _Slices,
    g_cores: torch.Tensor,
) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """The output layer's backward, every architecture at once: ``y = z_end R[:ow]^T + bias``, ``z_end = a_end M^T``.

    Adds into the gradient buffers of ``R`` (``g_r``) and writes the output cores' gradients into ``g_cores``; returns
    per architecture the gradient of the output layer's input projection ``a_end`` and of its bias."""
    b, n, k = a_end.shape
    p = g_cores.shape[1]
    g_y = (g_out.view(n, b, ow).transpose(0, 1) if dealt else g_out.view(b, n, ow)).contiguous()
    g_r.r(ow).addmm_(g_y.reshape(b * n, ow).T, z_end.reshape(b * n, k))
    g_z = torch.matmul(g_y, sl.r(ow))
    g_cores.view(b * p, k, k).index_copy_(0, out_slot, torch.bmm(g_z.transpose(1, 2), a_end))
    return torch.bmm(g_z, core_out).unbind(0), g_y.sum(1).unbind(0)


def _first_layer_backward(
    g_z0_b: torch.Tensor,
    x: torch.Tensor,
    a0_b: torch.Tensor,
    cores: torch.Tensor,
    dealt: bool,
    sl: _Slices,
    g_r: _Slices,
    g_cores: torch.Tensor,
    need_x: bool,
) -> torch.Tensor | None:
    """The first layer's backward, batched: ``z0 = a0 M0^T``, ``a0 = x C[:in]``; ``g_z0_b`` is ``[B, n, k]``.

    Writes the first cores' gradients into ``g_cores`` and adds into the gradient buffer of ``C`` (``g_r``); returns
    the input's gradient when ``need_x``, else None."""
    b, n, k = g_z0_b.shape
    g_cores[:, 0] = torch.bmm(g_z0_b.transpose(1, 2), a0_b)
    g_a0 = torch.bmm(g_z0_b, cores[:, 0])
    g_a0 = g_a0.transpose(0, 1).reshape(n * b, k) if dealt else g_a0.reshape(n * b, k)
    in_dim = x.shape[1]
    g_r.c(in_dim).addmm_(x.T, g_a0)
    return g_a0 @ sl.ct(in_dim) if need_x else None


def run_factorised_rows(
    x: torch.Tensor,
    rows: torch.Tensor,
    cols: torch.Tensor,
    cores: torch.Tensor,
    biases: torch.Tensor,
    shapes: Sequence[Sequence[tuple[int, int]]],
    dealt: bool = False,
) -> torch.Tensor | None:
    """:func:`run_factorised_loop`'s even case through :class:`_FactorisedLoop`; None where it does not apply.

    It applies when the rows split evenly and every architecture has a hidden layer. ``dealt``: row ``r`` goes to
    architecture ``r mod B`` (the actor's layout, ``ghp.hypernet.policies.row_order``) instead of contiguous chunks; the
    batched first and output layers read and write that layout through views, so no row permutation is needed.
    """
    b = cores.shape[0]
    if x.shape[0] % b or x.shape[0] == 0 or not all(len(sh) > 1 for sh in shapes):
        return None
    if torch.is_grad_enabled() and any(t.requires_grad for t in (x, rows, cols, cores, biases)):
        return _FactorisedLoop.apply(x, rows, cols, cores, biases, shapes, dealt)
    return _loop_forward(x, rows, cols, cores, biases, shapes, dealt)[0]
