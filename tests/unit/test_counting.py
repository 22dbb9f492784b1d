import numpy as np
import pytest
import torch

from ghp.hypernet.network import GraphHypernet, HypernetConfig
from ghp.space.arch import Arch, ArchSpace, sample_uniform
from ghp.space.capacity import lossless_memory_dimension
from ghp.space.counting import deploy_bytes, deploy_params, macs, n_bytes, train_params


def emitted_params(arch: Arch, inp: int, out: int) -> int:
    """Parameters of the MLP a hypernetwork emits for ``arch`` (independent of ``ghp.space.counting``)."""
    hn = GraphHypernet(HypernetConfig(hidden=4, rank=2), inp, out, max(arch.hidden, default=4), max(arch.depth, 1))
    with torch.no_grad():
        (layers,) = hn([arch])
    return sum(w.numel() + b.numel() for w, b in layers)


def test_table_one_counts():
    # Paper Table I (Hopper: obs 11, act 3; FetchReach: 10 + 3 goal inputs, act 4; FetchPush: 25 + 3, act 4).
    assert deploy_params(Arch((8, 4, 4, 4)), 11, 3) == 187
    assert deploy_params(Arch((256, 256)), 11, 3) == 69635
    assert deploy_params(Arch((4, 8)), 13, 4) == 132
    assert deploy_params(Arch((32, 32, 8, 16)), 28, 4) == 2460


def test_counts_match_torch_over_sampled_archs():
    space = ArchSpace(depths=(0, 1, 2, 3, 4))
    rng = np.random.default_rng(0)
    for arch in sample_uniform(space, 200, rng):
        inp, act = int(rng.integers(1, 40)), int(rng.integers(1, 8))
        deployed = emitted_params(arch, inp, act)
        training = emitted_params(arch, inp, 2 * act)
        assert deploy_params(arch, inp, act) == deployed
        assert train_params(arch, inp, act) == training
        assert train_params(arch, inp, act, stochastic=False) == deployed
        assert deploy_bytes(arch, inp, act) == 4 * deployed


def test_int8_bytes_rule():
    # [8] on 11 -> 3: weights 88 + 24 bytes, 8 + 3 rows each with a float scale and a float bias.
    assert n_bytes(Arch((8,)), 11, 3, "int8") == (88 + 24) + 8 * (8 + 3)
    assert n_bytes(Arch(()), 4, 1, "int8") == 4 + 8
    with pytest.raises(ValueError, match="dtype"):
        n_bytes(Arch((8,)), 11, 3, "float16")


def test_macs_and_bad_sizes():
    assert macs(Arch((64, 64)), 11, 3) == 11 * 64 + 64 * 64 + 64 * 3
    with pytest.raises(ValueError):
        deploy_params(Arch((4,)), 0, 3)


@pytest.mark.parametrize(
    "hidden,inp,out,expected",
    [
        ((8, 4, 4, 4), 11, 3, 13 * 8 + 4 + 4 + 4 + 3),  # 119
        ((256, 256), 11, 3, 13 * 256 + 256 + 3),
        ((4, 64), 3, 1, 5 * 4 + 4 + 1),  # a wide layer after a narrow one adds only the running minimum
        ((64,), 3, 8, 5 * 64 + 8),
        ((16, 8, 32, 8), 17, 6, 19 * 16 + 8 + 8 + 8 + 6),
        ((), 11, 3, 12),  # linear policy: inp + 1 (ghp's extension)
    ],
)
def test_lossless_memory_dimension(hidden, inp, out, expected):
    assert lossless_memory_dimension(Arch(hidden), inp, out) == expected
