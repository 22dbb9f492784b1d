"""The graph hypernetwork: batched execution == plain MLPs from its emitted weights; fused GNN == autograd."""

import numpy as np
import pytest
import torch

from ghp.hypernet.gnn import GatedPass, gated_pass
from ghp.hypernet.network import (
    DECODERS,
    RUN_MODES,
    GraphHypernet,
    HypernetConfig,
    count_parameters,
)
from ghp.policy.mlp import sequential_from, split_sizes
from ghp.space.arch import Arch, ArchSpace, sample_uniform

ARCHS = [
    Arch(()),
    Arch((4,)),
    Arch((32, 8)),
    Arch((16, 16, 16)),
    Arch((32, 4, 32, 8)),
    Arch((8,)),
    Arch((4, 32, 4, 4)),
    Arch((32, 32, 32, 32)),
]
DEEP = [a for a in ARCHS if a.depth > 0] + [Arch((8, 8))]


def make(decoder, out_width=4, seed=0):
    torch.manual_seed(seed)
    return GraphHypernet(HypernetConfig(decoder=decoder, hidden=16, rank=8), 5, out_width, 32, 4)


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("mode", RUN_MODES)
@pytest.mark.parametrize("archs", [ARCHS, DEEP], ids=["depth0-4", "depth1-4"])
@pytest.mark.parametrize("rows", [8 * 6, 8 * 6 + 3, 1])
def test_batched_output_equals_plain_sequential(decoder, mode, archs, rows):
    hn = make(decoder)
    em = hn.emit(archs)
    x = torch.randn(rows, 5) * 2
    y = hn.run(em, x, mode)
    layers = hn.layers(em)
    chunks = x.split(split_sizes(rows, len(archs)))
    ref = torch.cat([sequential_from(w)(c) for w, c in zip(layers, chunks, strict=False)])
    assert y.shape == (rows, 4)
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=0)
    for a, w in zip(archs, layers, strict=False):  # every layer is the (out, in) crop of the architecture
        assert [tuple(m.shape) for m, _ in w] == hn.weight_shapes(a)


@pytest.mark.parametrize("mode", ["factorised-loop", "factorised"])
def test_implicit_gradients_equal_explicit(mode):
    hn = make("factorised")
    x = torch.randn(8 * 4, 5)
    grads = []
    for m in (mode, "loop"):
        hn.zero_grad()
        hn.run(hn.emit(DEEP), x, m).pow(2).sum().backward()
        grads.append([p.grad.clone() for p in hn.parameters()])
    for a, b in zip(*grads, strict=False):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("rows", [8 * 4, 8, 8 * 4 + 3, 1])
def test_dealt_rows_equal_permuted_rows_and_gradients_equal_loop(rows):
    """The actor's layout (row r -> architecture r mod B) run as it is == the permuted rows through ``loop``, outputs
    and gradients; where the fused scheme does not apply (uneven rows, a linear policy) it says so with None."""
    from ghp.hypernet.policies import row_order

    hn = make("factorised")
    x = torch.randn(rows, 5)
    perm = row_order(rows, len(DEEP))
    hn.zero_grad()
    y = hn.run_dealt(hn.emit(DEEP), x)
    if rows % len(DEEP):
        assert y is None
        return
    y.pow(2).sum().backward()
    got = [p.grad.clone() for p in hn.parameters()]
    hn.zero_grad()
    ref = hn.run(hn.emit(DEEP), x if perm is None else x[perm], "loop")
    ref = ref if perm is None else ref[torch.argsort(perm)]
    ref.pow(2).sum().backward()
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=0)
    for a, b in zip(got, [p.grad for p in hn.parameters()], strict=True):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    assert hn.run_dealt(hn.emit(ARCHS), torch.randn(8, 5)) is None  # a linear policy: the caller permutes


@pytest.mark.parametrize("dealt", [False, True])
def test_fused_factorised_loop_gradcheck(dealt):
    from ghp.policy.factorised import _FactorisedLoop

    gen = torch.Generator().manual_seed(0)
    shapes = [[(4, 3), (2, 4)], [(5, 3), (4, 5), (2, 4)]]  # (out, in) per layer of two architectures
    k = 3
    args = [
        torch.randn(4, 3, dtype=torch.double, generator=gen),  # 2 rows per architecture
        torch.randn(5, k, dtype=torch.double, generator=gen),
        torch.randn(5, k, dtype=torch.double, generator=gen),
        torch.randn(2, 3, k, k, dtype=torch.double, generator=gen),
        torch.randn(2, 3, 5, dtype=torch.double, generator=gen),
    ]
    args = [a.requires_grad_() for a in args]
    assert torch.autograd.gradcheck(lambda *a: _FactorisedLoop.apply(*a, shapes, dealt), args)


@pytest.mark.parametrize("reverse", [False, True])
def test_fused_gnn_pass_matches_autograd(reverse):
    gen = torch.Generator().manual_seed(0)
    n, b, h = 5, 3, 4
    x = torch.randn(n, b, h, dtype=torch.double, generator=gen, requires_grad=True)
    shapes = [(h, h), (h,), (3 * h, h), (3 * h,), (3 * h, h), (3 * h,)]
    params = [torch.randn(*s, dtype=torch.double, generator=gen, requires_grad=True) for s in shapes]
    # chains of length 5, 4 and 3: positions past a chain's end are padding
    masks = [
        None,
        None,
        None,
        torch.tensor([[1.0], [1.0], [0.0]]).double(),
        torch.tensor([[1.0], [0.0], [0.0]]).double(),
    ]
    torch.testing.assert_close(GatedPass.apply(x, *params, masks, reverse), gated_pass(x, *params, masks, reverse))
    assert torch.autograd.gradcheck(lambda *a: GatedPass.apply(*a, masks, reverse), (x, *params))


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("backward", [True, False], ids=["backward", "dropped"])
def test_a_recorded_emission_frees_its_graph(decoder, backward):
    # A recorded emission (the actor loss's) must be freed once dropped: a view of a custom Function's output kept on
    # its ctx forms a cycle the collector cannot see, and every SAC update leaked ~100 KB (1.5 GB over 12k
    # Pendulum steps).
    import gc

    def live_passes():
        gc.collect()
        return sum(type(o).__name__ == "GatedPassBackward" for o in gc.get_objects())

    hn = make(decoder)
    before = live_passes()
    for _ in range(3):
        layers = hn(DEEP)
        assert layers[0][0][0].requires_grad
        if backward:
            sum(t.sum() for ls in layers for wb in ls for t in wb).backward()
        del layers
    assert live_passes() == before


def test_fused_and_reference_embeddings_agree():
    hn = make("factorised")
    e1, _ = hn.embed(ARCHS)
    e2, _ = hn.embed(ARCHS, fused=False)
    torch.testing.assert_close(e1, e2)


def test_padding_does_not_leak_into_real_nodes():
    hn = make("factorised")
    alone = hn(ARCHS[1:2])[0]
    together = hn(ARCHS)[1]
    for (w1, b1), (w2, b2) in zip(alone, together, strict=False):
        torch.testing.assert_close(w1, w2, atol=1e-6, rtol=0)
        torch.testing.assert_close(b1, b2, atol=1e-6, rtol=0)


@pytest.mark.parametrize("decoder", DECODERS)
def test_authors_scaling_by_hand(decoder):
    """Biases are tanh(0.2 p) and weights carry sqrt(2 / fan_in), recomputed here from the node embeddings."""
    hn = make(decoder)
    with torch.no_grad():
        for p in hn.parameters():  # non-zero biases everywhere, so a missing term shows
            p.add_(0.05 * torch.randn_like(p))
        emb, _ = hn.embed(DEEP)
        out = hn(DEEP)
    for i, (a, layers) in enumerate(zip(DEEP, out, strict=True)):
        for j, ((w, b), (o, fan_in)) in enumerate(zip(layers, hn.weight_shapes(a), strict=True)):
            e_w, e_b = emb[i, 1 + 2 * j], emb[i, 2 + 2 * j]  # chain: input node, then weight and bias node per layer
            pre = hn.bias_head.weight[:o] @ e_b + hn.bias_head.bias[:o]
            torch.testing.assert_close(b, torch.tanh(0.2 * pre), atol=1e-6, rtol=0)
            if decoder == "dense":
                raw = hn.weight_map[:o, :fan_in] @ e_w + hn.weight_map_bias[:o, :fan_in]
            else:
                k = hn.config.rank
                raw = hn.rows[:o] @ hn.core(e_w).view(k, k) @ hn.cols[:fan_in].T
            torch.testing.assert_close(w, raw * (2.0 / fan_in) ** 0.5, atol=1e-5, rtol=1e-5)


def test_same_seed_same_weights():
    a = make("factorised", seed=3)(ARCHS)
    b = make("factorised", seed=3)(ARCHS)
    c = make("factorised", seed=4)(ARCHS)
    for la, lb, lc in zip(a, b, c, strict=False):
        for (wa, _), (wb, _), (wc, _) in zip(la, lb, lc, strict=False):
            assert torch.equal(wa, wb)
            assert not torch.equal(wa, wc)


def test_parameter_counts_and_limits():
    space = ArchSpace()
    dense = GraphHypernet(HypernetConfig(decoder="dense"), 11, 6, space.max_width, space.max_depth)
    fact = GraphHypernet(HypernetConfig(decoder="factorised"), 11, 6, space.max_width, space.max_depth)
    assert count_parameters(dense) > 512 * 512 * HypernetConfig().hidden  # the paper's map: one linear map per entry
    assert count_parameters(fact) < 250_000
    with pytest.raises(ValueError, match="exceeds"):
        fact([Arch((1024,))])
    with pytest.raises(ValueError, match="exceeds"):
        fact([Arch((4, 4, 4, 4, 4))])
    with pytest.raises(ValueError, match="decoder"):
        HypernetConfig(decoder="sparse")


def test_many_architectures_in_one_emission():
    space = ArchSpace(widths=(4, 8, 16, 32), depths=(1, 2, 3, 4))
    archs = sample_uniform(space, 64, np.random.default_rng(0))
    hn = make("factorised")
    with torch.no_grad():
        layers = hn(archs)
    assert len(layers) == 64 and all(len(layer) == a.depth + 1 for layer, a in zip(layers, archs, strict=True))


@pytest.mark.parametrize("decoder", ["factorised", "dense"])
def test_numpy_layers_of_a_subset_are_the_bits_of_the_whole(decoder):
    # ``keep`` decodes a few of the architectures emitted together: their layers are those of decoding all of them,
    # bit for bit, in the order asked, with the output layer's rows cut to ``out_rows`` alike.
    archs = sample_uniform(ArchSpace(widths=(4, 8, 16, 32), depths=(1, 2, 3, 4)), 48, np.random.default_rng(1))
    hn = make(decoder)
    whole = hn.numpy_layers(archs, out_rows=1)
    keep = [40, 3, 17, 4]
    part = hn.numpy_layers(archs, out_rows=1, keep=keep)
    assert len(part) == len(keep)
    for i, layers in zip(keep, part, strict=True):
        assert len(layers) == archs[i].depth + 1 and layers[-1][0].shape[0] == 1
        for (w1, b1), (w2, b2) in zip(whole[i], layers, strict=True):
            assert np.array_equal(w1, w2) and np.array_equal(b1, b2)
