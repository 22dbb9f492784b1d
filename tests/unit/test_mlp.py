"""Batched MLP execution equals plain nn.Sequential models, for every depth and every execution scheme."""

import pytest
import torch

from ghp.policy.mlp import MODES, run_mlps, sequential_from, split_sizes


def test_split_sizes_match_array_split():
    assert split_sizes(256, 8) == [32] * 8
    assert split_sizes(10, 4) == [3, 3, 2, 2]
    assert split_sizes(1, 8) == [1, 0, 0, 0, 0, 0, 0, 0]  # a single observation goes to architecture 0
    assert sum(split_sizes(1000, 7)) == 1000
    with pytest.raises(ValueError):
        split_sizes(4, 0)


def random_layers(widths, inp, out, gen):
    dims = [inp, *widths, out]
    return [
        (torch.randn(o, i, generator=gen) / i**0.5, torch.randn(o, generator=gen) * 0.1)
        for i, o in zip(dims, dims[1:], strict=False)
    ]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("rows", [64, 61, 5])
def test_batched_equals_sequential_every_depth(mode, rows):
    gen = torch.Generator().manual_seed(0)
    archs = [(), (8,), (4, 16), (16, 16), (8, 4, 32), (32, 8, 8, 4), (4, 4, 4, 4), (16,), (16,)]
    weights = [random_layers(a, 5, 3, gen) for a in archs]
    x = torch.randn(rows, 5, generator=gen)
    y = run_mlps(x, weights, mode)
    ref = torch.cat(
        [sequential_from(w)(c) for w, c in zip(weights, x.split(split_sizes(rows, len(archs))), strict=False)]
    )
    assert y.shape == (rows, 3)
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=0)


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="choose one of"):
        run_mlps(torch.zeros(2, 3), [[(torch.zeros(1, 3), torch.zeros(1))]], "fast")
