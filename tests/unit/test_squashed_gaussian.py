"""HyperActor.action_log_prob is SB3's squashed Gaussian without the distribution object: the same actions and
log-probabilities bit for bit, SB3's gradients up to round-off (an analytic backward), the same random draws."""

import numpy as np
import torch
from gymnasium import spaces

from ghp.hypernet.policies import GHPSACPolicy

OBS, ACT = spaces.Box(-1, 1, (5,), np.float32), spaces.Box(-1, 1, (3,), np.float32)
GHP = {"space": {"widths": [4, 8], "depths": [1, 2]}, "meta_batch": 4, "hypernet": {"hidden": 8, "rank": 4}}


def _grads(actor):
    return [p.grad.clone() for p in actor.parameters() if p.grad is not None]


def test_actions_log_probs_and_gradients_match_sb3():
    torch.manual_seed(0)
    actor = GHPSACPolicy(OBS, ACT, lambda _: 3e-4, ghp=GHP).actor
    obs = torch.randn(32, 5) * 3  # some actions near the tanh bounds
    weights = torch.randn(32, 3)
    out = []
    for lean in (True, False):
        actor.zero_grad()
        torch.manual_seed(1)
        if lean:
            actions, log_prob = actor.action_log_prob(obs)
        else:
            mean, log_std, _ = actor.get_action_dist_params(obs)
            actions, log_prob = actor.action_dist.log_prob_from_params(mean, log_std)
        ((actions * weights).sum() + log_prob.sum()).backward()
        out.append((actions.detach(), log_prob.detach(), _grads(actor), torch.randn(1)))
    (a, lp, g, after), (a_ref, lp_ref, g_ref, after_ref) = out
    assert torch.equal(a, a_ref) and torch.equal(lp, lp_ref)
    assert len(g) == len(g_ref) > 0
    for x, y in zip(g, g_ref, strict=True):
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-6 * float(y.abs().max()))
    assert torch.equal(after, after_ref)  # the same random numbers were drawn
    assert a.abs().max() > 0.9 and lp.std() > 0  # not a degenerate comparison


def test_the_analytic_backward_is_the_derivative():
    from ghp.hypernet.squashed import SquashedSample, sample_log_prob, split

    gen = torch.Generator().manual_seed(0)
    out = torch.randn(6, 6, dtype=torch.float64, generator=gen) * 4  # log-stds on both sides of the clamp
    out.requires_grad_()
    noise = torch.randn(6, 3, dtype=torch.float64, generator=gen)
    assert torch.autograd.gradcheck(lambda o: SquashedSample.apply(o, 3, noise, 1e-6), (out,))
    # Against op-by-op autograd of the same forward (split and clamp included), each output alone.
    for pick in (0, 1):
        g_ref = torch.autograd.grad(sample_log_prob(*split(out, 3), noise, 1e-6)[pick].sum(), out)[0]
        g = torch.autograd.grad(SquashedSample.apply(out, 3, noise, 1e-6)[pick].sum(), out)[0]
        torch.testing.assert_close(g, g_ref, rtol=1e-7, atol=1e-9)  # float64; tanh near saturation amplifies round-off
        assert (g[:, 3:] == 0).any() and (g[:, 3:] != 0).any()  # the clamp cut some log-std gradients, not all


def test_the_target_actions_closed_form_equals_sb3s():
    from ghp.hypernet.squashed import sample_log_prob, sample_log_prob_closed, split

    gen = torch.Generator().manual_seed(1)
    out, noise = torch.randn(64, 8, generator=gen) * 3, torch.randn(64, 4, generator=gen)
    a, lp = sample_log_prob_closed(out, 4, noise, 1e-6)
    a_ref, lp_ref = sample_log_prob(*split(out, 4), noise, 1e-6)
    torch.testing.assert_close(a, a_ref, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(lp, lp_ref, rtol=1e-5, atol=1e-4)
