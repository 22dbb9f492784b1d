"""Every tensor of the hypernetwork, its plans and the batched MLP code is created on the parameters' device.

The CPU tests move the hypernetwork to PyTorch's ``meta`` device: any tensor made without a device (on the CPU)
meets a meta tensor and raises, which is what a CUDA run would hit. The CUDA test runs where a GPU exists.
"""

import pytest
import torch

from ghp.hypernet.network import GraphHypernet, HypernetConfig
from ghp.space.arch import Arch

ARCHS = [Arch((4, 8)), Arch((16,)), Arch((8, 8, 4)), Arch((4, 4))]


@pytest.mark.parametrize(
    "decoder, mode",
    [
        ("factorised", "auto"),
        ("factorised", "factorised"),
        ("factorised", "loop"),
        ("factorised", "padded"),
        ("dense", "auto"),
        ("dense", "padded"),
    ],
)
def test_emit_run_and_backward_stay_on_the_parameters_device(decoder, mode):
    h = GraphHypernet(HypernetConfig(hidden=8, decoder=decoder, rank=4), 3, 2, 16, 3).to("meta")
    em = h.emit(ARCHS)
    y = h.run(em, torch.empty(8, 3, device="meta"), mode)
    assert y.device.type == "meta" and y.shape == (8, 2)
    y.sum().backward()
    assert all(p.grad is not None and p.grad.device.type == "meta" for p in h.parameters() if p.requires_grad)
    assert all(w.device.type == "meta" for layers in h(ARCHS) for w, _ in layers)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine (none could be borrowed)")
def test_train_load_and_evaluate_on_cuda(train_tiny):
    import json

    from stable_baselines3 import SAC

    import ghp.hypernet.policies  # noqa: F401
    from ghp.run.load import load_run

    out = train_tiny("cuda", device="cuda")
    assert json.loads((out / "config.json").read_text())["train"]["device"] == "cuda"
    model = SAC.load(out / "model.zip")  # stock load, device auto: CUDA here
    assert next(model.policy.parameters()).device.type == "cuda"
    action, _ = model.predict(model.observation_space.sample(), deterministic=True)
    assert action.shape == (1,)
    run = load_run(out)  # evaluation and export emit on the CPU
    assert next(run.model.policy.parameters()).device.type == "cpu"
    assert run.emit([Arch((8, 4))])[0].layers[0][0].shape == (8, 3)
