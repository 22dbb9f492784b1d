"""SAC's squashed Gaussian sample and log-probability from the actor's raw output (mean and log-std halves, the
log-std clamped): SB3's ``SquashedDiagGaussianDistribution.log_prob_from_params`` without the distribution object.

Two forms, both from one random draw made by the caller:

- :class:`SquashedSample` (with gradients, the actor's loss): the split, the clamp and SB3's ops in SB3's order, so
  actions and log-probabilities are SB3's bits for the same random state, as one autograd node with the analytic
  backward. Recorded op by op they are about thirty small autograd nodes per SAC update on a ``[256, act]`` batch; the
  backward here is a handful of products of the same size. The Gaussian term ``-(g - mean)^2 / (2 std^2)``, with
  ``g = mean + noise * std``, equals ``-noise^2 / 2`` and contributes no gradient, which op-by-op autograd reproduces
  up to round-off (tests/unit/test_squashed_gaussian.py compares the two, and ``gradcheck``).
- :func:`sample_log_prob_closed` (without gradients, SAC's target actions): the same values in the closed form
  ``-noise^2 / 2 - log std - log sqrt(2 pi)`` for the Gaussian term, equal to SB3's up to round-off, in fewer ops.
"""

from __future__ import annotations

import math
from typing import Any

import torch

LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))
"""The Gaussian log-density's constant, as ``torch.distributions.Normal.log_prob`` computes it."""
LOG_STD_MIN, LOG_STD_MAX = -6.0, 0.0
"""Clamp of the log-std half of the SAC output (authors' code)."""


def split(out: torch.Tensor, act_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and clamped log-std halves of the actor's raw output ``[rows, 2 act_dim]``."""
    return out[:, :act_dim], torch.clamp(out[:, act_dim:], LOG_STD_MIN, LOG_STD_MAX)


def sample_log_prob(
    mean: torch.Tensor, log_std: torch.Tensor, noise: torch.Tensor, epsilon: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """``tanh(mean + noise * exp(log_std))`` and its log-probability under the squashed Gaussian, op for op as SB3
    (``epsilon``: SB3's guard in the tanh correction's logarithm)."""
    std = torch.ones_like(mean) * log_std.exp()
    gaussian = mean + noise * std  # Normal.rsample
    actions = torch.tanh(gaussian)
    log_prob = (-((gaussian - mean) ** 2) / (2 * std**2) - std.log() - LOG_SQRT_2PI).sum(dim=1)
    # tanh's change of variables (SB3: the original SAC's squash correction)
    log_prob -= torch.sum(torch.log(1 - actions**2 + epsilon), dim=1)
    return actions, log_prob


def sample_log_prob_closed(
    out: torch.Tensor, act_dim: int, noise: torch.Tensor, epsilon: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`sample_log_prob` of :func:`split` ``(out)`` with the Gaussian term in closed form (module docstring)."""
    mean, log_std = split(out, act_dim)
    actions = torch.tanh(torch.addcmul(mean, noise, log_std.exp()))
    terms = torch.log(1 - actions * actions + epsilon).add_(log_std).add_(0.5 * noise * noise)
    return actions, (-LOG_SQRT_2PI * act_dim) - terms.sum(dim=1)


class SquashedSample(torch.autograd.Function):
    """:func:`sample_log_prob` of :func:`split` ``(out)`` with the analytic backward (module docstring)."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, out: torch.Tensor, act_dim: int, noise: torch.Tensor, epsilon: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = split(out, act_dim)
        actions, log_prob = sample_log_prob(mean, log_std, noise, epsilon)
        raw = out[:, act_dim:]
        inside = (raw >= LOG_STD_MIN) & (raw <= LOG_STD_MAX)  # where torch.clamp passes the gradient through
        ctx.save_for_backward(actions, log_std.exp(), noise, inside)
        ctx.epsilon = epsilon
        return actions, log_prob

    @staticmethod
    def backward(ctx: Any, g_actions: torch.Tensor | None, g_log_prob: torch.Tensor | None) -> tuple[Any, ...]:
        actions, std, noise, inside = ctx.saved_tensors
        one_minus = 1 - actions * actions  # d tanh / d gaussian
        g_gauss = torch.zeros_like(actions) if g_actions is None else g_actions * one_minus
        g_std_lp = None
        if g_log_prob is not None:
            g_lp = g_log_prob.unsqueeze(1)
            # d/d gaussian of -log(1 - a^2 + eps) through a = tanh(gaussian); d/d std of -log(std)
            g_gauss = g_gauss + g_lp * (2 * actions * one_minus / (one_minus + ctx.epsilon))
            g_std_lp = -g_lp / std
        g_std = g_gauss * noise if g_std_lp is None else g_gauss * noise + g_std_lp
        g_log_std = g_std * std * inside
        return torch.cat([g_gauss, g_log_std], dim=1), None, None, None
