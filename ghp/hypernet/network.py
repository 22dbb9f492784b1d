"""The graph hypernetwork: architecture graph -> MLP weights (paper, Section III-B).

Pipeline (the GHN names of the paper and of GHN-2): encode nodes -> gated GNN -> decode -> assign weights.

- **Encode**: a linear map of each node's features (its layer width, the paper's feature, plus kind and layer
  position one-hots) to a ``hidden``-wide embedding.
- **Gated GNN** (:mod:`ghp.hypernet.gnn`): along the chain, one forward pass (input to output) and one
backward pass;
  at every node a message MLP reads the previous node's updated state and a GRU cell updates the node's own state with
  it. The whole meta batch runs each step at once. Two exact savings: the GRU's hidden-side matmul is done for all
  nodes before the pass (a node's own state does not change during the pass), and the message MLP's output layer is
  folded into the GRU's input projection (a linear map followed by a linear map is one linear map).
- **Decode**: every weight node gives its layer's weight matrix as the top-left ``(fan_out, fan_in)`` crop of a
  ``max_out x max_in`` map, and every bias node its bias as the first ``fan_out`` entries of a vector. Only the
  entries inside the crop are computed (the authors' code emits full 512 x 512 maps, 33.8 M parameters).
  Two decoders:

  * ``dense``: the paper's map, a linear function of the embedding per map entry (``max_out * max_in * hidden``
    parameters); the crop selects the rows of that matrix that are needed.
  * ``factorised``: ``W = R[:out] M(e) C[:in]^T`` with learnt row and column embeddings ``R``, ``C`` (rank ``rank``)
    and a ``rank x rank`` core ``M(e)`` computed from the node embedding.

- **Scale** (authors' code): weights times ``sqrt(2 / fan_in)``, biases ``tanh(0.2 p)``.

Execution (:meth:`GraphHypernet.run`): with the factorised decoder the meta batch's MLPs run without forming ``W``:
``x W^T = ((x C[:in]) M^T) R[:out]^T``, all architectures at once, zero-padded to the widest layer with exact zero
masks (:func:`ghp.policy.factorised.run_factorised`). The dense decoder's explicit weights run through
:func:`ghp.policy.mlp.run_mlps`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ghp.hypernet.config import DECODERS, PARTS, RUN_MODES, HypernetConfig  # noqa: F401  (re-exported; torch-free home)
from ghp.hypernet.gnn import GatedPass, gated_pass
from ghp.policy.factorised import (
    FactorisedSchedule,
    factorised_schedule,
    run_factorised,
    run_factorised_loop,
    run_factorised_rows,
)
from ghp.policy.mlp import LayerWeights, run_mlps, split_sizes
from ghp.space.arch import Arch
from ghp.space.counting import layer_shapes
from ghp.space.graph import NODE_BIAS, NODE_WEIGHT, graph_batch


@dataclass(frozen=True)
class _Plan:
    """Index bookkeeping for one tuple of architectures (rebuilt only when the architectures change)."""

    archs: tuple[Arch, ...]
    features: torch.Tensor  # [B, N, F]
    step_masks: list[torch.Tensor | None]  # per position: [B, 1] float mask, None if every chain has the node
    shapes: list[list[tuple[int, int]]]  # per architecture, (out, in) per layer
    depths: torch.Tensor  # [B] long
    scales: torch.Tensor  # [B, P] sqrt(2 / fan_in) per layer slot (1 for slots past the output layer)
    schedule: FactorisedSchedule  # zero-padding masks of the implicit factorised execution


NumpyLayer = tuple[np.ndarray, np.ndarray]
"""``(W [out, in], b [out])`` of one layer, float32 numpy."""


@dataclass
class Emission:
    """What the hypernetwork emitted for a meta batch: enough to run or materialise every MLP."""

    plan: _Plan
    biases: torch.Tensor
    """``[B, P, max_out]`` scaled biases per layer slot (slot ``j`` of architecture ``b``: first ``out`` entries)."""
    cores: torch.Tensor | None = None
    """Factorised: ``[B, P, rank, rank]`` scaled cores ``M``; ``W = R[:out] M C[:in]^T``."""
    dense: list[torch.Tensor] | None = None
    """Dense: every layer's scaled weight, architecture-major."""

    @property
    def archs(self) -> tuple[Arch, ...]:
        """The architectures, in order."""
        return self.plan.archs


class GraphHypernet(nn.Module):
    """Graph hypernetwork for MLPs ``in_dim -> hidden... -> out_width`` with hidden widths up to ``max_width``."""

    def __init__(self, config: HypernetConfig, in_dim: int, out_width: int, max_width: int, max_depth: int) -> None:
        super().__init__()
        self.config = config
        self.in_dim = in_dim
        self.out_width = out_width
        self.max_width = max_width
        self.max_depth = max_depth
        self.max_out = max(max_width, out_width)
        self.max_in = max(max_width, in_dim)
        h = config.hidden
        # Node features: width / max, log-width, 3 kind one-hots, layer-position one-hots, is-output flag.
        self.n_features = 2 + 3 + (max_depth + 1) + 1
        self.encoder = nn.Linear(self.n_features, h)
        # Message MLP hidden layers (one per pass direction); their output layer is the GRU's input projection.
        self.msg_fwd = nn.Linear(h, h)
        self.msg_bwd = nn.Linear(h, h)
        self.gru = nn.GRUCell(h, h)
        self.bias_head = nn.Linear(h, self.max_out)
        if config.decoder == "dense":
            # One linear map per entry of the max_out x max_in matrix (paper); init gives unit-variance entries.
            self.weight_map = nn.Parameter(torch.randn(self.max_out, self.max_in, h) / math.sqrt(h))
            self.weight_map_bias = nn.Parameter(torch.zeros(self.max_out, self.max_in))
        else:
            k = config.rank
            self.rows = nn.Parameter(torch.randn(self.max_out, k))
            self.cols = nn.Parameter(torch.randn(self.max_in, k))
            self.core = nn.Linear(h, k * k)
            # Entries of R M C^T have variance k^2 var(M): aim for unit variance before the He-style scaling.
            nn.init.normal_(self.core.weight, std=1.0 / (k * math.sqrt(h)))
            nn.init.zeros_(self.core.bias)
        self._plans: dict[tuple[tuple[Arch, ...], torch.device], _Plan] = {}
        for part in config.freeze:
            for name in PARTS[part]:
                obj = getattr(self, name, None)  # the decoder part names both decoders' members
                if isinstance(obj, (nn.Parameter, nn.Module)):
                    obj.requires_grad_(False)

    def extra_repr(self) -> str:
        return (
            f"decoder={self.config.decoder}, hidden={self.config.hidden}, in_dim={self.in_dim}, "
            f"out_width={self.out_width}, max_width={self.max_width}, max_depth={self.max_depth}"
        )

    def weight_shapes(self, arch: Arch) -> list[tuple[int, int]]:
        """Shape ``(out, in)`` of every emitted weight matrix of ``arch``, output layer last (the training network's
        output layer: ``out_width`` rows, e.g. SAC's mean and log-std). :func:`ghp.space.counting.layer_shapes` gives
        the
        same layers as ``(in, out)``."""
        return [(o, i) for i, o in layer_shapes(arch, self.in_dim, self.out_width)]

    def check(self, arch: Arch) -> None:
        """Refuse architectures this hypernetwork cannot decode."""
        if arch.depth > self.max_depth or any(w > self.max_width for w in arch.hidden):
            raise ValueError(
                f"architecture {arch.key} exceeds the hypernetwork (max width {self.max_width}, "
                f"max depth {self.max_depth})"
            )

    def _plan(self, archs: tuple[Arch, ...]) -> _Plan:
        device = self.encoder.weight.device
        plan = self._plans.get((archs, device))
        if plan is not None:
            return plan
        for a in archs:
            self.check(a)
        g = graph_batch(list(archs), self.out_width)
        b, n = g.widths.shape
        w = g.widths
        kinds = torch.nn.functional.one_hot(g.kinds, 3).float()
        layer_pos = torch.nn.functional.one_hot((g.layers + 1).clamp(max=self.max_depth + 1), self.max_depth + 2)
        depths = torch.tensor([a.depth for a in archs])
        is_out = ((g.layers == depths.unsqueeze(1)) & g.mask).float().unsqueeze(-1)
        feats = torch.cat(
            [
                (w / self.max_out).unsqueeze(-1),
                (torch.log2(w + 1) / math.log2(self.max_out + 1)).unsqueeze(-1),
                kinds,
                layer_pos[..., 1:].float(),
                is_out,
            ],
            -1,
        ) * g.mask.unsqueeze(-1)
        masks: list[torch.Tensor | None] = []
        for t in range(n):
            col = g.mask[:, t]
            masks.append(None if bool(col.all()) else col.float().unsqueeze(1))
        p = (n - 1) // 2  # layer slots: weight nodes sit at 1, 3, ..., bias nodes at 2, 4, ...
        shapes = [self.weight_shapes(a) for a in archs]
        # Filled in numpy (the same float32 roundings as tensor item assignment, at a fraction of the cost), then
        # the node kinds checked at every layer's weight and bias slot at once.
        scale_rows = np.ones((b, p), np.float32)
        at_arch = np.repeat(np.arange(b), [len(sh) for sh in shapes])
        at_slot = np.concatenate([np.arange(len(sh)) for sh in shapes])
        for i, sh in enumerate(shapes):
            for j, (_, fan_in) in enumerate(sh):
                scale_rows[i, j] = math.sqrt(2.0 / fan_in)
        scales = torch.from_numpy(scale_rows)
        kinds_np = g.kinds.numpy()
        assert (kinds_np[at_arch, 1 + 2 * at_slot] == NODE_WEIGHT).all()
        assert (kinds_np[at_arch, 2 + 2 * at_slot] == NODE_BIAS).all()
        # Built on the CPU (index bookkeeping), used on the parameters' device.
        plan = _Plan(
            archs,
            feats.to(device),
            [None if m is None else m.to(device) for m in masks],
            shapes,
            depths.to(device),
            scales.to(device),
            factorised_schedule(archs, self.in_dim, self.out_width).to(device),
        )
        if len(self._plans) > 64:
            self._plans.clear()
        self._plans[(archs, device)] = plan
        return plan

    def embed(self, archs: Sequence[Arch], fused: bool = True) -> tuple[torch.Tensor, _Plan]:
        """Node embeddings ``[B, N, hidden]`` after the encoder and both GNN passes.

        ``fused`` runs each pass as one autograd node with a hand-written backward (:class:`GatedPass`), about twice
        as fast on CPU as recording every small op; ``fused=False`` is the plain-autograd reference.
        """
        plan = self._plan(tuple(archs))
        x = self.encoder(plan.features).transpose(0, 1).contiguous()  # [N, B, h]: contiguous keeps ops fast
        g = self.gru
        for msg, reverse in ((self.msg_fwd, False), (self.msg_bwd, True)):
            args = (msg.weight, msg.bias, g.weight_ih, g.bias_ih, g.weight_hh, g.bias_hh)
            if fused:
                x = GatedPass.apply(x, *args, plan.step_masks, reverse)
            else:
                x = gated_pass(x, *args, plan.step_masks, reverse)
        return x.transpose(0, 1), plan

    def emit(self, archs: Sequence[Arch]) -> Emission:
        """Run encoder, GNN and decoder for a meta batch; only the entries inside each crop are computed."""
        emb, plan = self.embed(archs)
        ew = emb[:, 1::2]  # [B, P, h] weight nodes (slot j = layer j; slots past the output layer are padding)
        eb = emb[:, 2::2]
        mo = max(o for sh in plan.shapes for o, _ in sh)
        biases = torch.tanh(
            self.config.bias_scale
            * torch.nn.functional.linear(eb, self.bias_head.weight[:mo], self.bias_head.bias[:mo])
        )
        if self.config.decoder == "dense":
            p = ew.shape[1]
            idx = torch.tensor(
                [i * p + j for i, sh in enumerate(plan.shapes) for j in range(len(sh))], device=ew.device
            )
            nodes = ew.reshape(-1, ew.shape[-1]).index_select(0, idx)
            shapes = [s for sh in plan.shapes for s in sh]
            scales = [math.sqrt(2.0 / fan_in) for sh in plan.shapes for _, fan_in in sh]  # as plan.scales
            dense = _DenseCrop.apply(self.weight_map, self.weight_map_bias, nodes, shapes, scales)
            return Emission(plan, biases, dense=list(dense))
        kr = self.config.rank
        cores = self.core(ew).view(ew.shape[0], ew.shape[1], kr, kr) * plan.scales.view(*plan.scales.shape, 1, 1)
        return Emission(plan, biases, cores=cores)

    def layers(self, emission: Emission) -> list[LayerWeights]:
        """Explicit ``(W, b)`` per layer of every architecture: ``W`` is the top-left crop of the map."""
        plan = emission.plan
        out: list[LayerWeights] = []
        k = 0
        bias_rows = emission.biases.unbind(0)
        cores = emission.cores.unbind(0) if emission.cores is not None else None
        for i, sh in enumerate(plan.shapes):
            layers = []
            slot_bias = bias_rows[i].unbind(0)
            slot_core = cores[i].unbind(0) if cores is not None else None
            for j, (o, fan_in) in enumerate(sh):
                if emission.dense is not None:
                    w = emission.dense[k]
                else:
                    assert slot_core is not None
                    w = self.rows[:o] @ slot_core[j] @ self.cols[:fan_in].T
                layers.append((w, slot_bias[j][:o]))
                k += 1
            out.append(layers)
        return out

    def forward(self, archs: Sequence[Arch]) -> list[LayerWeights]:
        """Scaled weights and biases of every architecture: ``out[i][j] = (W [out, in], b [out])``."""
        return self.layers(self.emit(archs))

    @torch.no_grad()
    def numpy_layers(
        self, archs: Sequence[Arch], out_rows: int | None = None, keep: Sequence[int] | None = None
    ) -> list[list[NumpyLayer]]:
        """:meth:`forward` as float32 numpy arrays, for deployment (evaluation, export): no autograd, and the layers of
        one shape computed together.

        :meth:`layers` materialises every layer with its own small matrix product, which for the 4680 architectures
        of the paper's space is about 14k products and as many tensor-to-numpy conversions: most of the emission
        time. Here the factorised layers of equal ``(out, in)`` are one batched product ``R[:out] M C[:in]^T`` and one
        conversion, each layer a view into it (C-contiguous). The batched product computes each member on its own
        (``torch.bmm``), so a layer's bits do not depend on which others are decoded with it: ``keep`` decodes a
        few. The values are those of :meth:`layers` up to float32 round-off (same operands, same association).

        Args:
            out_rows: keep only the first ``out_rows`` rows of each output layer (the action mean of a SAC layer
                that also emits log-stds); None keeps all.
        """
        emission = self.emit(archs)
        plan = emission.plan
        biases = emission.biases.float().cpu().numpy()
        picked = list(range(len(archs))) if keep is None else [int(i) for i in keep]
        shapes = [[(o if j < len(plan.shapes[i]) - 1 or out_rows is None else min(o, out_rows), fan_in)
                   for j, (o, fan_in) in enumerate(plan.shapes[i])] for i in picked]  # fmt: skip
        out: list[list[NumpyLayer]] = []
        if emission.cores is None:
            first = np.cumsum([0, *(len(sh) for sh in plan.shapes)])
            for i, sh in zip(picked, shapes, strict=True):
                dense = emission.dense[first[i] : first[i] + len(sh)]  # type: ignore[index]
                out.append([(w[:o].float().cpu().numpy(), biases[i, j, :o])
                            for j, ((o, _), w) in enumerate(zip(sh, dense, strict=True))])  # fmt: skip
            return out
        # Every kept layer as one entry (architecture-major), grouped by shape with one stable sort, so that each
        # group's cores are one contiguous slice of a single gather and its layers one batched product.
        n_layers = [len(sh) for sh in shapes]
        arch_of = np.repeat(np.asarray(picked, dtype=np.int64), n_layers)
        slot_of = np.concatenate([np.arange(n) for n in n_layers])
        flat_shapes = np.array([shape for sh in shapes for shape in sh], dtype=np.int64).reshape(-1, 2)
        key = flat_shapes[:, 0] * (int(flat_shapes[:, 1].max()) + 1) + flat_shapes[:, 1]
        order = np.argsort(key, kind="stable")
        starts = np.flatnonzero(np.r_[True, key[order][1:] != key[order][:-1]])
        ends = np.r_[starts[1:], len(order)]
        p, k = emission.cores.shape[1], emission.cores.shape[2]
        gather = torch.from_numpy(arch_of[order] * p + slot_of[order])
        cores = emission.cores.reshape(-1, k, k).index_select(0, gather.to(emission.cores.device))
        stacked: list[np.ndarray] = [None] * len(order)  # type: ignore[list-item]
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            o, fan_in = flat_shapes[order[s]].tolist()
            # Batched products, one per member: a member's bits do not depend on how many share its shape (a folded
            # product's kernel changes with its row count, which changed the last bits of small output layers).
            n = e - s
            left = torch.bmm(self.rows[:o].expand(n, o, k), cores[s:e])
            w = torch.bmm(left, self.cols[:fan_in].T.expand(n, k, fan_in)).float().cpu().numpy()
            for m, entry in enumerate(order[s:e].tolist()):
                stacked[entry] = w[m]
        at = 0
        for i, sh in zip(picked, shapes, strict=True):
            out.append([(stacked[at + j], biases[i, j, :o]) for j, (o, _) in enumerate(sh)])
            at += len(sh)
        return out

    def run(self, emission: Emission, x: torch.Tensor, mode: str = "auto") -> torch.Tensor:
        """Outputs of the meta batch's MLPs on ``x``, rows split across architectures
        (:func:`ghp.policy.mlp.split_sizes`).

        Modes (:data:`RUN_MODES`): ``auto`` runs a factorised emission implicitly one architecture at a time
        (``factorised-loop``, fastest measured) and dense weights with ``ghp.policy.mlp.run_mlps``; ``factorised`` is
        the
        zero-padded implicit scheme; ``loop`` / ``padded`` materialise the weights first.
        """
        if mode not in RUN_MODES:
            raise ValueError(f"unknown MLP execution mode {mode!r}: choose one of {', '.join(RUN_MODES)}")
        if emission.cores is not None:
            if mode in ("auto", "factorised-loop"):
                return run_factorised_loop(
                    x, self.rows, self.cols, emission.cores, emission.biases, emission.plan.shapes
                )
            sizes = split_sizes(x.shape[0], len(emission.archs))
            if mode == "factorised" and len(set(sizes)) == 1:
                plan = emission.plan
                return run_factorised(
                    x, self.rows, self.cols, emission.cores, emission.biases, plan.depths, plan.schedule
                )
        return run_mlps(x, self.layers(emission), mode if mode in ("loop", "padded") else "auto")

    def run_dealt(self, emission: Emission, x: torch.Tensor) -> torch.Tensor | None:
        """:meth:`run` (``factorised-loop``) with row ``r`` of ``x`` going to architecture ``r mod B`` (the actor's
        layout, ``ghp.hypernet.policies.row_order``), without permuting rows; None where that scheme does not apply (a
        dense
        emission, rows that do not split evenly, a linear policy in the meta batch): permute and call :meth:`run`."""
        if emission.cores is None:
            return None
        return run_factorised_rows(
            x, self.rows, self.cols, emission.cores, emission.biases, emission.plan.shapes, dealt=True
        )


class _DenseCrop(torch.autograd.Function):
    """Crops of the dense map, each ``W = (map[:o, :i] @ e) + bias[:o, :i]`` times a scale.

    The backward accumulates into one gradient of the map instead of one full-size gradient per crop.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        weight_map: torch.Tensor,
        map_bias: torch.Tensor,
        emb: torch.Tensor,
        shapes: list[tuple[int, int]],
        scales: list[float],
    ) -> tuple[torch.Tensor, ...]:
        ctx.save_for_backward(weight_map, emb)
        ctx.shapes, ctx.scales = shapes, scales
        return tuple(
            (torch.matmul(weight_map[:o, :i], emb[k]) + map_bias[:o, :i]) * scales[k] for k, (o, i) in enumerate(shapes)
        )

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor) -> tuple[Any, ...]:
        weight_map, emb = ctx.saved_tensors
        need_map, need_bias, need_emb = ctx.needs_input_grad[:3]  # a frozen decoder (--freeze decoder) needs no map
        g_map = torch.zeros_like(weight_map) if need_map else None
        g_bias = (
            torch.zeros(weight_map.shape[:2], dtype=weight_map.dtype, device=weight_map.device) if need_bias else None
        )
        g_emb = torch.zeros_like(emb) if need_emb else None
        for k, (o, i) in enumerate(ctx.shapes):
            g = grads[k] * ctx.scales[k]
            if g_bias is not None:
                g_bias[:o, :i] += g
            if g_map is not None:
                g_map[:o, :i].addcmul_(g.unsqueeze(-1), emb[k].view(1, 1, -1))  # in place: no [o, i, h] temporary
            if g_emb is not None:
                g_emb[k] = torch.einsum("rch,rc->h", weight_map[:o, :i], g)
        return g_map, g_bias, g_emb, None, None


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
