"""SAC's squashed Gaussian sample and log-probability as one autograd node (SB3's
``SquashedDiagGaussianDistribution.log_prob_from_params``, without the distribution object).

The forward runs SB3's ops in SB3's order, so actions and log-probabilities are the same bits for the same random
state. Recorded op by op, the sample and its log-probability are about thirty small autograd nodes per SAC update
on a ``[256, act]`` batch; the hand-written backward is six products of the same size. The gradients are the
analytic ones: with ``g = mean + eps * std``, the Gaussian term ``-(g - mean)^2 / (2 std^2)`` equals ``-eps^2 / 2``
and contributes nothing, which op-by-op autograd reproduces up to round-off (tests/unit/test_squashed_gaussian.py
compares the two).
"""

from __future__ import annotations

import math
from typing import Any

import torch

LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))
"""The Gaussian log-density's constant, as ``torch.distributions.Normal.log_prob`` computes it."""


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


class SquashedSample(torch.autograd.Function):
    """:func:`sample_log_prob` with the analytic backward (module docstring)."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, mean: torch.Tensor, log_std: torch.Tensor, noise: torch.Tensor, epsilon: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        actions, log_prob = sample_log_prob(mean, log_std, noise, epsilon)
        std = log_std.exp()
        ctx.save_for_backward(actions, std, noise)
        ctx.epsilon = epsilon
        return actions, log_prob

    @staticmethod
    def backward(ctx: Any, g_actions: torch.Tensor | None, g_log_prob: torch.Tensor | None) -> tuple[Any, ...]:
        actions, std, noise = ctx.saved_tensors
        one_minus = 1 - actions * actions  # d tanh / d gaussian
        g_gauss = torch.zeros_like(actions) if g_actions is None else g_actions * one_minus
        g_std = None
        if g_log_prob is not None:
            g_lp = g_log_prob.unsqueeze(1)
            # d/d gaussian of -log(1 - a^2 + eps) through a = tanh(gaussian); d/d std of -log(std)
            g_gauss = g_gauss + g_lp * (2 * actions * one_minus / (one_minus + ctx.epsilon))
            g_std = -g_lp / std
        g_mean = g_gauss if ctx.needs_input_grad[0] else None
        g_log_std = None
        if ctx.needs_input_grad[1]:
            g_noise_path = g_gauss * noise
            g_log_std = (g_noise_path if g_std is None else g_noise_path + g_std) * std
        return g_mean, g_log_std, None, None
