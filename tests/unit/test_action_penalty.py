"""The DDPG actor's action penalty adds exactly the gradient of ``action_l2 * mean(x^2)``, for both forms of x."""

import gymnasium as gym
import pytest
import torch

from ghp.hypernet.policies import HyperActor

SPACE = {"widths": [4, 8], "depths": [1, 2]}


def grads(actor, loss):
    actor.zero_grad()
    loss.backward()
    return [p.grad.clone() for p in actor.hypernet.parameters()]


@pytest.mark.parametrize("form", ["preactivation", "action"])
def test_penalty_gradient_matches_the_explicit_loss(form):
    obs_space = gym.spaces.Box(-1, 1, (3,))
    act_space = gym.spaces.Box(-2, 2, (2,))
    torch.manual_seed(0)
    kw = dict(hypernet={"hidden": 8, "rank": 4}, space=SPACE, meta_batch=2, stochastic=False)
    with_penalty = HyperActor(obs_space, act_space, action_l2=0.7, action_penalty=form, **kw)
    plain = HyperActor(obs_space, act_space, action_l2=0.0, **kw)
    plain.load_state_dict(with_penalty.state_dict())
    obs = torch.randn(6, 3)
    c = torch.randn(6, 2)
    got = grads(with_penalty, (with_penalty(obs) * c).sum())
    pre = plain.mlp_out(obs)
    x = pre if form == "preactivation" else torch.tanh(pre)  # tanh(pre) = action / bound
    want = grads(plain, (torch.tanh(pre) * c).sum() + 0.7 * (x**2).mean())
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-6)


def test_unknown_form_is_refused():
    with pytest.raises(ValueError, match="action penalty"):
        HyperActor(
            gym.spaces.Box(-1, 1, (3,)),
            gym.spaces.Box(-1, 1, (1,)),
            hypernet={},
            space=SPACE,
            meta_batch=1,
            stochastic=False,
            action_penalty="postactivation",
        )
