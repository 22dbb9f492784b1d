import torch

from ghp.space.arch import Arch
from ghp.space.graph import NODE_BIAS, NODE_INPUT, NODE_WEIGHT, arch_graph, graph_batch, n_nodes


def test_chain_graph():
    w, k, lay = arch_graph(Arch((8, 4)), out_width=6)
    assert w.tolist() == [0, 8, 8, 4, 4, 6, 6]
    assert k.tolist() == [NODE_INPUT, NODE_WEIGHT, NODE_BIAS, NODE_WEIGHT, NODE_BIAS, NODE_WEIGHT, NODE_BIAS]
    assert lay.tolist() == [-1, 0, 0, 1, 1, 2, 2]
    assert n_nodes(Arch((8, 4))) == 7 == len(w)
    assert arch_graph(Arch(()), 2)[0].tolist() == [0, 2, 2]


def test_graph_batch_pads_with_mask():
    g = graph_batch([Arch((8,)), Arch((4, 4, 4, 4))], out_width=2)
    assert g.widths.shape == (2, 11) and g.widths.dtype == torch.float32
    assert g.lengths.tolist() == [5, 11]
    assert g.mask[0].tolist() == [True] * 5 + [False] * 6
    assert g.widths[0, 5:].abs().sum() == 0 and (g.layers[0, 5:] == -1).all()
