"""Graph encoding of an architecture (paper, Section III-B).

An MLP with ``k`` hidden layers is a chain of ``2k + 3`` nodes: the input node, then a weight node and a bias node
for each hidden layer, then a weight node and a bias node for the output layer (the authors' code). Each node's
feature is the width of the layer it belongs to: 0 for the input node, ``out_width`` for the output layer
(``2 * act_dim`` for a stochastic policy that emits mean and log-std, ``act_dim`` for a deterministic one).

Besides the width, each node carries its kind (input / weight / bias) and the index of the layer it belongs to,
which the hypernetwork may embed; the paper's encoder uses the width alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ghp.space.arch import Arch

if TYPE_CHECKING:
    import torch

NODE_INPUT, NODE_WEIGHT, NODE_BIAS = 0, 1, 2


def n_nodes(arch: Arch) -> int:
    """Number of graph nodes: ``2k + 3`` for ``k`` hidden layers."""
    return 2 * arch.depth + 3


def arch_graph(arch: Arch, out_width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node features of one architecture's chain graph.

    Returns:
        ``(widths, kinds, layers)``: int64 arrays of length ``2k + 3``; ``layers`` is -1 for the input node and the
        0-based index of the linear layer (output layer = ``k``) for weight and bias nodes.
    """
    if out_width < 1:
        raise ValueError(f"out_width must be positive, got {out_width}")
    widths = [0]
    kinds = [NODE_INPUT]
    layers = [-1]
    for j, w in enumerate([*arch.hidden, out_width]):
        widths += [w, w]
        kinds += [NODE_WEIGHT, NODE_BIAS]
        layers += [j, j]
    return np.asarray(widths, np.int64), np.asarray(kinds, np.int64), np.asarray(layers, np.int64)


@dataclass(frozen=True)
class GraphBatch:
    """Chain graphs of a meta batch, padded to the longest chain.

    Padding nodes have width 0, kind 0, layer -1 and ``mask`` False.
    """

    widths: torch.Tensor
    """``[B, N]`` float32 layer widths."""
    kinds: torch.Tensor
    """``[B, N]`` int64 node kinds (input / weight / bias)."""
    layers: torch.Tensor
    """``[B, N]`` int64 layer index of each node (-1 for input and padding)."""
    mask: torch.Tensor
    """``[B, N]`` bool, True for real nodes."""
    lengths: torch.Tensor
    """``[B]`` int64 number of real nodes."""


def graph_batch(archs: Sequence[Arch], out_width: int) -> GraphBatch:
    """Batch the chain graphs of ``archs`` into padded tensors."""
    import torch

    if not archs:
        raise ValueError("graph_batch needs at least one architecture")
    graphs = [arch_graph(a, out_width) for a in archs]
    n = max(len(g[0]) for g in graphs)
    b = len(archs)
    widths = np.zeros((b, n), np.float32)
    kinds = np.zeros((b, n), np.int64)
    layers = np.full((b, n), -1, np.int64)
    mask = np.zeros((b, n), bool)
    for i, (w, k, lay) in enumerate(graphs):
        widths[i, : len(w)] = w
        kinds[i, : len(k)] = k
        layers[i, : len(lay)] = lay
        mask[i, : len(w)] = True
    return GraphBatch(
        widths=torch.from_numpy(widths),
        kinds=torch.from_numpy(kinds),
        layers=torch.from_numpy(layers),
        mask=torch.from_numpy(mask),
        lengths=torch.from_numpy(mask.sum(1).astype(np.int64)),
    )
