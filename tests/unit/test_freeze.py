"""`--freeze`: named hypernetwork parts stay at initialisation and get no gradient work; the rest trains as before."""

import pytest
import torch

from ghp.hypernet.network import DECODERS, PARTS, GraphHypernet, HypernetConfig
from ghp.space.arch import Arch

ARCHS = [Arch((8, 4)), Arch((16,)), Arch((4, 8, 16)), Arch((32, 32, 4, 8))]


def net(decoder: str, freeze: tuple[str, ...] = ()) -> GraphHypernet:
    torch.manual_seed(0)
    return GraphHypernet(HypernetConfig(decoder=decoder, hidden=16, rank=8, freeze=freeze), 5, 3, 32, 4)


def loss(h: GraphHypernet) -> torch.Tensor:
    x = torch.randn(len(ARCHS) * 3, 5, generator=torch.Generator().manual_seed(1))
    return (h.run(h.emit(ARCHS), x) ** 2).sum()


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("freeze", [("encoder", "message", "decoder", "bias"), ("update",), ("decoder",), ("encoder",)])
def test_frozen_parts_get_no_gradient_and_the_rest_the_same(decoder, freeze):
    full, part = net(decoder), net(decoder, freeze)
    frozen = {n for p in freeze for m in PARTS[p] for n, _ in part.named_parameters() if n.split(".")[0] == m}
    assert frozen
    assert {n for n, p in part.named_parameters() if not p.requires_grad} == frozen
    loss(full).backward()
    loss(part).backward()
    grads = dict(full.named_parameters())
    for n, p in part.named_parameters():
        if n in frozen:
            assert p.grad is None
        else:
            torch.testing.assert_close(p.grad, grads[n].grad, rtol=1e-5, atol=1e-6)


def test_config_round_trip_and_bad_parts():
    c = HypernetConfig(freeze=("message", "encoder", "message"))
    assert c.freeze == ("encoder", "message") and HypernetConfig.from_dict(c.to_dict()) == c
    assert HypernetConfig.from_dict({"hidden": 8, "decoder": "dense", "rank": 4, "bias_scale": 0.2}).freeze == ()
    with pytest.raises(ValueError, match="unknown hypernetwork part 'gnn'"):
        HypernetConfig(freeze=("gnn",))
    with pytest.raises(ValueError, match="nothing to train"):
        HypernetConfig(freeze=tuple(PARTS))
