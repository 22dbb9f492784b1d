"""Small torch modules shared by training, evaluation and export (imports torch: load lazily)."""

from __future__ import annotations

import numpy as np
import torch


class DeterministicPolicy(torch.nn.Module):
    """``action = low + (tanh(mlp(obs)) + 1) / 2 * (high - low)``: SB3's squashed action, unscaled to the env.

    With ``clip_low`` / ``clip_high`` the observation is first clipped to them (a ``--normalize`` run's folded clip).
    """

    low: torch.Tensor
    high: torch.Tensor
    clip_low: torch.Tensor | None
    clip_high: torch.Tensor | None

    def __init__(
        self,
        mlp: torch.nn.Module,
        low: np.ndarray,
        high: np.ndarray,
        clip_low: np.ndarray | None = None,
        clip_high: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.mlp = mlp
        self.register_buffer("low", torch.as_tensor(low, dtype=torch.float32))
        self.register_buffer("high", torch.as_tensor(high, dtype=torch.float32))
        for name, bound in (("clip_low", clip_low), ("clip_high", clip_high)):
            self.register_buffer(name, None if bound is None else torch.as_tensor(bound, dtype=torch.float32))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if self.clip_low is not None and self.clip_high is not None:
            obs = torch.minimum(torch.maximum(obs, self.clip_low), self.clip_high)
        u = torch.tanh(self.mlp(obs))
        return self.low + (u + 1.0) * 0.5 * (self.high - self.low)
