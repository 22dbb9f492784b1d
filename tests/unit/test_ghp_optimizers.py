"""The ghp policies' optimizers: SB3's critic Adam runs fused (the same update up to round-off), unless asked not to."""

import numpy as np
import pytest
import torch
from gymnasium import spaces

from ghp.hypernet.policies import GHPSACPolicy, GHPTD3Policy

OBS, ACT = spaces.Box(-1, 1, (5,), np.float32), spaces.Box(-1, 1, (2,), np.float32)
GHP = {"space": {"widths": [4, 8], "depths": [1, 2]}, "meta_batch": 2, "hypernet": {"hidden": 8, "rank": 4}}


def _policy(cls, **kwargs):
    torch.manual_seed(0)
    return cls(OBS, ACT, lambda _: 3e-4, ghp=GHP, **kwargs)


@pytest.mark.parametrize("cls", [GHPSACPolicy, GHPTD3Policy])
def test_critic_adam_is_fused_and_steps_as_the_default(cls):
    fused, plain = _policy(cls), _policy(cls, optimizer_kwargs={"fused": False})
    assert fused.critic.optimizer.defaults["fused"] and not plain.critic.optimizer.defaults["fused"]
    # Every critic parameter (and only those) is still optimised, with SB3's learning rate.
    assert [p.shape for g in fused.critic.optimizer.param_groups for p in g["params"]] == [
        p.shape for p in plain.critic.parameters()
    ]
    assert fused.critic.optimizer.param_groups[0]["lr"] == 3e-4
    for policy in (fused, plain):
        for step in range(3):
            for p in policy.critic.parameters():
                p.grad = torch.full_like(p, 0.1 * (step + 1)) + 0.01 * torch.arange(p.numel()).view_as(p).sin()
            policy.critic.optimizer.step()
    for a, b in zip(fused.critic.parameters(), plain.critic.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    fresh = _policy(cls).critic.parameters()  # guards the comparison: the steps moved the parameters
    assert any((a - b).abs().max() > 1e-5 for a, b in zip(fused.critic.parameters(), fresh, strict=True))


def test_critic_optimizer_keeps_the_users_choice():
    assert _policy(GHPSACPolicy, optimizer_kwargs={"foreach": True}).critic.optimizer.defaults["foreach"]
    rms = _policy(GHPSACPolicy, optimizer_class=torch.optim.RMSprop).critic.optimizer
    assert isinstance(rms, torch.optim.RMSprop)


def test_critic_adam_falls_back_without_a_fused_kernel(no_fused_adam):
    policy = _policy(GHPSACPolicy)
    assert not policy.critic.optimizer.defaults["fused"]
    assert len(policy.critic.optimizer.param_groups[0]["params"]) == len(list(policy.critic.parameters()))
