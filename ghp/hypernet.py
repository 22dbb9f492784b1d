"""The graph hypernetwork: architecture graph -> MLP weights (paper, Section III-B).

Pipeline (the GHN names of the paper and of GHN-2): encode nodes -> gated GNN -> decode -> assign weights.

- **Encode**: a linear map of each node's features (its layer width, the paper's feature, plus kind and layer
  position one-hots) to a ``hidden``-wide embedding.
- **Gated GNN**: along the chain, one forward pass (input to output) and one backward pass; at every node a message
  MLP reads the previous node's updated state and a GRU cell updates the node's own state with it. The whole meta
  batch runs each step at once; the GRU's hidden-side matmul is done for all nodes before the pass, because a
  node's own state does not depend on the pass.
- **Decode**: every weight node gives its layer's weight matrix as the top-left ``(fan_out, fan_in)`` crop of a
  ``max_out x max_in`` map, and every bias node its bias as the first ``fan_out`` entries of a vector. Only the
  entries inside the crop are computed (the authors' code emits full 512 x 512 maps, 33.8 M parameters).
  Two decoders:

  * ``dense``: the paper's map, a linear function of the embedding per map entry (``max_out * max_in * hidden``
    parameters); the crop selects the rows of that matrix that are needed.
  * ``factorised``: ``W = R[:out] M(e) C[:in]^T`` with learnt row and column embeddings ``R``, ``C`` (rank ``rank``)
    and a ``rank x rank`` core ``M(e)`` computed from the node embedding.

- **Scale** (authors' code): weights times ``sqrt(2 / fan_in)``, biases ``tanh(0.2 p)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from ghp.arch import Arch
from ghp.graph import NODE_BIAS, NODE_WEIGHT, graph_batch

DECODERS: tuple[str, ...] = ("factorised", "dense")

LayerWeights = list[tuple[torch.Tensor, torch.Tensor]]
"""``(W [out, in], b [out])`` per linear layer of one architecture, input to output."""


@dataclass(frozen=True)
class HypernetConfig:
    """Size and kind of the graph hypernetwork."""

    hidden: int = 64
    """Width of node embeddings, message MLP and GRU."""
    decoder: str = "factorised"
    """``factorised`` (low-rank row/column embeddings modulated per node) or ``dense`` (the paper's map)."""
    rank: int = 32
    """Rank of the factorised decoder's maps (ignored by ``dense``)."""
    bias_scale: float = 0.2
    """Biases are ``tanh(bias_scale * p)`` (authors' code)."""

    def __post_init__(self) -> None:
        if self.decoder not in DECODERS:
            raise ValueError(f"unknown decoder {self.decoder!r}: choose one of {', '.join(DECODERS)}")
        if self.hidden < 1 or self.rank < 1:
            raise ValueError("hypernetwork hidden width and rank must be positive")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HypernetConfig:
        """Inverse of :meth:`to_dict`."""
        return cls(**d)


@dataclass(frozen=True)
class _Plan:
    """Index bookkeeping for one tuple of architectures (rebuilt only when the architectures change)."""

    features: torch.Tensor  # [B, N, F]
    step_masks: list[torch.Tensor | None]  # per position: [B, 1] float mask, None if every chain has the node
    weight_idx: torch.Tensor  # flat node indices (b * N + pos) of weight nodes, arch-major, layer order
    bias_idx: torch.Tensor
    shapes: list[tuple[int, int]]  # (out, in) per weight node
    scales: torch.Tensor  # sqrt(2 / fan_in) per weight node
    counts: list[int]  # linear layers per architecture
    max_out: int


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
        self.msg_fwd = nn.Sequential(nn.Linear(h, h), nn.ReLU(), nn.Linear(h, h))
        self.msg_bwd = nn.Sequential(nn.Linear(h, h), nn.ReLU(), nn.Linear(h, h))
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
        self._plans: dict[tuple[Arch, ...], _Plan] = {}

    def extra_repr(self) -> str:
        return (
            f"decoder={self.config.decoder}, hidden={self.config.hidden}, in_dim={self.in_dim}, "
            f"out_width={self.out_width}, max_width={self.max_width}, max_depth={self.max_depth}"
        )

    def layer_shapes(self, arch: Arch) -> list[tuple[int, int]]:
        """``(out, in)`` of every linear layer of ``arch`` (output layer last)."""
        dims = [self.in_dim, *arch.hidden, self.out_width]
        return [(dims[j + 1], dims[j]) for j in range(len(dims) - 1)]

    def check(self, arch: Arch) -> None:
        """Refuse architectures this hypernetwork cannot decode."""
        if arch.depth > self.max_depth or any(w > self.max_width for w in arch.hidden):
            raise ValueError(
                f"architecture {arch.key} exceeds the hypernetwork (max width {self.max_width}, "
                f"max depth {self.max_depth})"
            )

    def _plan(self, archs: tuple[Arch, ...]) -> _Plan:
        plan = self._plans.get(archs)
        if plan is not None:
            return plan
        for a in archs:
            self.check(a)
        g = graph_batch(list(archs), self.out_width)
        b, n = g.widths.shape
        w = g.widths
        kinds = torch.nn.functional.one_hot(g.kinds, 3).float()
        layer_pos = torch.nn.functional.one_hot((g.layers + 1).clamp(max=self.max_depth + 1), self.max_depth + 2)
        depth = torch.tensor([a.depth for a in archs]).unsqueeze(1)
        is_out = ((g.layers == depth) & g.mask).float().unsqueeze(-1)
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
        weight_idx, bias_idx, shapes, counts = [], [], [], []
        for i, a in enumerate(archs):
            sh = self.layer_shapes(a)
            counts.append(len(sh))
            for j, s in enumerate(sh):
                weight_idx.append(i * n + 1 + 2 * j)
                bias_idx.append(i * n + 2 + 2 * j)
                shapes.append(s)
        assert all(int(g.kinds.view(-1)[k]) == NODE_WEIGHT for k in weight_idx)
        assert all(int(g.kinds.view(-1)[k]) == NODE_BIAS for k in bias_idx)
        plan = _Plan(
            features=feats,
            step_masks=masks,
            weight_idx=torch.tensor(weight_idx),
            bias_idx=torch.tensor(bias_idx),
            shapes=shapes,
            scales=torch.tensor([math.sqrt(2.0 / i) for _, i in shapes]),
            counts=counts,
            max_out=max(o for o, _ in shapes),
        )
        if len(self._plans) > 64:
            self._plans.clear()
        self._plans[archs] = plan
        return plan

    def _gnn_pass(self, states: list[torch.Tensor], msg: nn.Module, order: range, masks: list[Any]) -> None:
        """One gated-GNN pass along the chain in ``order``, updating ``states`` in place (per position)."""
        h = self.config.hidden
        gh = torch.nn.functional.linear(torch.stack(states), self.gru.weight_hh, self.gru.bias_hh).unbind(0)
        prev: torch.Tensor | None = None
        prev_t = -1
        for t in order:
            if prev is None:
                gi = self.gru.bias_ih.expand(states[t].shape[0], 3 * h)
            else:
                m = msg(prev)
                if masks[prev_t] is not None:  # the previous position is padding for some chains
                    m = m * masks[prev_t]
                gi = torch.nn.functional.linear(m, self.gru.weight_ih, self.gru.bias_ih)
            i_r, i_z, i_n = gi.chunk(3, 1)
            h_r, h_z, h_n = gh[t].chunk(3, 1)
            r = torch.sigmoid(i_r + h_r)
            z = torch.sigmoid(i_z + h_z)
            cand = torch.tanh(i_n + r * h_n)
            new = cand + z * (states[t] - cand)
            states[t] = new
            prev, prev_t = new, t

    def embed(self, archs: Sequence[Arch]) -> tuple[torch.Tensor, _Plan]:
        """Node embeddings ``[B * N, hidden]`` after the encoder and both GNN passes."""
        plan = self._plan(tuple(archs))
        x = self.encoder(plan.features)  # [B, N, h]
        states = list(x.unbind(1))
        n = len(states)
        self._gnn_pass(states, self.msg_fwd, range(n), plan.step_masks)
        self._gnn_pass(states, self.msg_bwd, range(n - 1, -1, -1), plan.step_masks)
        return torch.stack(states, 1).reshape(-1, self.config.hidden), plan

    def forward(self, archs: Sequence[Arch]) -> list[LayerWeights]:
        """Scaled weights and biases of every architecture: ``out[i][j] = (W [out, in], b [out])``."""
        emb, plan = self.embed(archs)
        ew = emb.index_select(0, plan.weight_idx)
        eb = emb.index_select(0, plan.bias_idx)
        mo = plan.max_out
        biases = torch.tanh(
            self.config.bias_scale
            * torch.nn.functional.linear(eb, self.bias_head.weight[:mo], self.bias_head.bias[:mo])
        )
        weights = self._decode_weights(ew, plan)
        bias_rows = biases.unbind(0)  # unbind's backward is one stack, unlike per-row indexing
        out: list[LayerWeights] = []
        k = 0
        for c in plan.counts:
            layers = []
            for _ in range(c):
                o = plan.shapes[k][0]
                layers.append((weights[k], bias_rows[k][:o]))
                k += 1
            out.append(layers)
        return out

    def _decode_weights(self, ew: torch.Tensor, plan: _Plan) -> list[torch.Tensor]:
        if self.config.decoder == "dense":
            out = []
            rows = ew.unbind(0)
            for k, (o, i) in enumerate(plan.shapes):
                # Only the crop's rows of the decoder are touched: [o, i, h] @ [h].
                w = torch.matmul(self.weight_map[:o, :i], rows[k]) + self.weight_map_bias[:o, :i]
                out.append(w * plan.scales[k])
            return out
        kr = self.config.rank
        cores = (self.core(ew).view(-1, kr, kr) * plan.scales.view(-1, 1, 1)).unbind(0)
        return [self.rows[:o] @ cores[k] @ self.cols[:i].T for k, (o, i) in enumerate(plan.shapes)]


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
