"""The actor inside SB3's update: fresh emitted weights after every update, and fair HER minibatches."""

import numpy as np
import pytest
import torch
from stable_baselines3 import DDPG, SAC, HerReplayBuffer
from stable_baselines3.common.envs import BitFlippingEnv

from ghp.hypernet.policies import GHPSACPolicy, GHPTD3Policy, HyperActor, actor_input, row_order
from ghp.policy.mlp import run_mlps
from ghp.space.arch import Arch

SPACE = {"widths": [4, 8], "depths": [1, 2, 3]}


def _fresh_actions(actor: HyperActor, x: torch.Tensor) -> torch.Tensor:
    """Deterministic actions from a new emission of the actor's current parameters (no cache involved)."""
    with torch.no_grad():
        em = actor.hypernet.emit(actor.archs)
        out = actor.hypernet.run(em, x, "loop")
    return torch.tanh(out[:, : actor.act_dim])


def _cached_actions(actor: HyperActor, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return actor(x, deterministic=True) if actor.stochastic else actor(x)


def _pendulum_model(algo: str) -> SAC | DDPG:
    kwargs = dict(space=SPACE, meta_batch=2, resample_every=1000, hypernet={"hidden": 8, "rank": 4})
    cls, policy = (SAC, GHPSACPolicy) if algo == "sac" else (DDPG, GHPTD3Policy)
    model = cls(policy, "Pendulum-v1", learning_starts=50, batch_size=32, policy_kwargs=kwargs, seed=0, device="cpu")
    model.learn(total_timesteps=60)
    return model


@pytest.mark.parametrize("algo", ["sac", "ddpg"])
def test_actions_after_an_update_use_the_updated_weights(algo):
    model = _pendulum_model(algo)
    x = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    actors = [model.policy.actor] + ([model.policy.actor_target] if algo == "ddpg" else [])
    for actor in actors:  # fill every cache with the current weights
        _cached_actions(actor, x)
    model.train(gradient_steps=1, batch_size=32)
    for actor in actors:
        torch.testing.assert_close(_cached_actions(actor, x), _fresh_actions(actor, x), rtol=0, atol=1e-6)


def test_an_update_changes_the_emitted_weights():
    """Guards the test above: one update must move the actor's and the target actor's actions."""
    model = _pendulum_model("ddpg")
    x = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    actors = [model.policy.actor, model.policy.actor_target]
    before = [_fresh_actions(a, x) for a in actors]
    model.train(gradient_steps=1, batch_size=32)
    for a, b in zip(actors, before, strict=True):
        assert (_fresh_actions(a, x) - b).abs().max() > 1e-7


def test_row_order_deals_rows_like_cards():
    assert row_order(3, 8) is None and row_order(8, 8) is None
    perm = row_order(10, 4)
    assert perm is not None and perm.tolist() == [0, 4, 8, 1, 5, 9, 2, 6, 3, 7]


def test_her_minibatch_rows_are_shared_evenly_across_architectures():
    """HerReplayBuffer.sample puts real transitions first; each architecture must still get the overall mix."""
    meta, batch, goals = 8, 256, 4
    env = BitFlippingEnv(n_bits=4, continuous=True, max_steps=4)
    model = DDPG(
        GHPTD3Policy,
        env,
        replay_buffer_class=HerReplayBuffer,
        replay_buffer_kwargs={"n_sampled_goal": goals, "goal_selection_strategy": "future"},
        learning_starts=40,
        batch_size=batch,
        policy_kwargs=dict(space=SPACE, meta_batch=meta, hypernet={"hidden": 8, "rank": 4}),
        seed=0,
        device="cpu",
    )
    model.learn(total_timesteps=50)
    archs = (
        [Arch((w,)) for w in (4, 8)]
        + [Arch((a, b)) for a in (4, 8) for b in (4, 8)]
        + [Arch((8, 4, 4)), Arch((4, 8, 8))]
    )
    model.policy.set_archs(archs)  # distinct architectures: a row's output identifies its architecture
    data = model.replay_buffer.sample(batch)
    n_virtual = int(model.replay_buffer.her_ratio * batch)
    virtual = np.arange(batch) >= batch - n_virtual  # SB3 puts the relabelled rows last
    actor = model.policy.actor
    x = actor_input(data.observations)
    with torch.no_grad():
        out = actor.mlp_out(data.observations)
        # every architecture's MLP on every row; the row's architecture is the one whose output the actor returned
        per_arch = [run_mlps(x, [layers], "loop") for layers in actor.hypernet(actor.archs)]
    owner = np.full(batch, -1)
    for i, y in enumerate(per_arch):
        match = torch.isclose(y, out, atol=1e-6).all(dim=1).numpy() & (owner < 0)
        owner[match] = i
    assert (owner >= 0).all()
    counts = np.bincount(owner, minlength=meta)
    assert counts.min() >= batch // meta and counts.max() <= -(-batch // meta)
    overall = virtual.mean()
    for i in range(meta):
        share = virtual[owner == i].mean()
        assert abs(share - overall) * counts[i] <= 2, (i, share, overall)


def test_policy_settings_are_one_config_and_earlier_keywords_still_load():
    from ghp.hypernet.policies import GHPPolicyConfig

    config = GHPPolicyConfig(space=SPACE, meta_batch=3, hypernet={"hidden": 8, "rank": 4})
    new = SAC(GHPSACPolicy, "Pendulum-v1", policy_kwargs={"ghp": config.to_dict()}, device="cpu").policy
    old = SAC(
        GHPSACPolicy, "Pendulum-v1", policy_kwargs=config.to_dict(), device="cpu"
    ).policy  # runs before the config
    assert new.ghp == old.ghp == config and new.actor.meta_batch == 3
    assert new._get_constructor_parameters()["ghp"] == config.to_dict()
    ddpg = DDPG(GHPTD3Policy, "Pendulum-v1", policy_kwargs={"ghp": {"space": SPACE}}, device="cpu").policy
    assert (ddpg.ghp.resample_every, ddpg.ghp.action_l2) == (4, 1.0)  # DDPG + HER's own defaults
