"""The ghp policies' critic skips the actor loss's critic weight gradients and changes nothing else, bit for bit."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import SAC, TD3
from stable_baselines3.common.policies import ContinuousCritic

from ghp.hypernet.critic import ActionGradCritic
from ghp.hypernet.policies import GHPSACPolicy, GHPTD3Policy

GHP = {"space": {"widths": [4, 8], "depths": [1, 2]}, "meta_batch": 2, "hypernet": {"hidden": 8, "rank": 4}}


def _trained(algo, policy, short_path: bool, updates: int = 12):
    env = gym.make("Pendulum-v1")
    model = algo(policy, env, learning_starts=64, batch_size=32, seed=3, device="cpu", policy_kwargs={"ghp": GHP})
    assert isinstance(model.critic, ActionGradCritic)
    model.critic._flat = short_path  # False: SB3's own forward, every weight gradient computed
    model.learn(64 + updates)
    return model


@pytest.mark.parametrize(("algo", "policy"), [(SAC, GHPSACPolicy), (TD3, GHPTD3Policy)])
def test_the_short_path_trains_bit_identically(algo, policy):
    short, full = _trained(algo, policy, True), _trained(algo, policy, False)
    short_state, full_state = short.policy.state_dict(), full.policy.state_dict()
    start = algo(policy, gym.make("Pendulum-v1"), seed=3, device="cpu", policy_kwargs={"ghp": GHP}).policy.state_dict()
    moved = [k for k, v in full_state.items() if torch.is_tensor(v) and not torch.equal(v, start[k])]
    assert any(k.startswith("actor.") for k in moved) and any(k.startswith("critic.") for k in moved)
    for k, v in full_state.items():
        if torch.is_tensor(v):
            assert torch.equal(short_state[k], v), k


def test_only_the_actions_get_gradients_on_the_short_path():
    critic = _trained(SAC, GHPSACPolicy, True, updates=0).critic
    obs, act = torch.randn(5, 3), torch.randn(5, 1, requires_grad=True)
    q1, q2 = critic(obs, act)
    (q1.sum() + q2.sum()).backward()
    assert act.grad is not None and all(p.grad is None for p in critic.parameters())
    # The critic's own loss (replayed actions, no gradient on them) still trains its weights.
    critic(obs, act.detach())[0].sum().backward()
    assert all(p.grad is not None for p in critic.q_networks[0].parameters())


def test_same_values_as_sb3s_critic():
    critic = _trained(SAC, GHPSACPolicy, True, updates=0).critic
    plain = ContinuousCritic(critic.observation_space, critic.action_space, [256, 256], critic.features_extractor, 3)
    plain.load_state_dict(critic.state_dict())
    obs, act = torch.randn(7, 3), torch.randn(7, 1, requires_grad=True)
    for a, b in zip(critic(obs, act), plain(obs, act), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(critic.q1_forward(obs, act), plain.q1_forward(obs, act))
    assert np.isfinite(critic(obs, act)[0].detach().numpy()).all()
