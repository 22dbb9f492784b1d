"""The lower bounds in pyproject.toml hold the features ghp uses, and a missing fused Adam kernel has a fallback."""

import re
import tomllib
from pathlib import Path

import torch

from ghp.hypernet.policies import HyperAdam

FLOORS = {
    "torch": (2, 4),  # fused Adam on CPU (pytorch PR #123074, first in 2.4); HyperAdam falls back without it
    "stable-baselines3": (2, 4),  # first release supporting gymnasium 1.0 (2.3 pins gymnasium < 0.30)
    "gymnasium": (1, 0),  # the v5 MuJoCo environments (Hopper-v5, InvertedPendulum-v5)
    "gymnasium-robotics": (1, 4),  # first release with FetchReach-v4 (1.3.1 has only v3)
}


def floors() -> dict[str, tuple[int, ...]]:
    deps = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]["dependencies"]
    out = {}
    for d in deps:
        m = re.match(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*>=\s*([0-9.]+)", d)
        if m:
            out[m.group(1).lower()] = tuple(int(x) for x in m.group(3).split("."))
    return out


def test_floors_hold_the_features_used():
    got = floors()
    for name, need in FLOORS.items():
        assert got[name] >= need, f"{name} >= {'.'.join(map(str, got[name]))} lacks what ghp uses"


def test_hyper_adam_falls_back_without_a_fused_kernel(no_fused_adam):
    p = torch.nn.Parameter(torch.ones(3))
    opt = HyperAdam((q for q in [p]), lr=0.1)  # a generator, as module.parameters() is
    assert not opt.defaults["fused"] and opt.param_groups[0]["params"] == [p]
    p.grad = torch.ones(3)
    opt.step()
    assert bool((p < 1).all())
