"""Small torch modules shared by training, evaluation and export (imports torch: load lazily)."""

from __future__ import annotations

import numpy as np
import torch


class DeterministicPolicy(torch.nn.Module):
    """``action = low + (tanh(mlp(obs)) + 1) / 2 * (high - low)``: SB3's squashed action, unscaled to the env."""

    low: torch.Tensor
    high: torch.Tensor

    def __init__(self, mlp: torch.nn.Module, low: np.ndarray, high: np.ndarray) -> None:
        super().__init__()
        self.mlp = mlp
        self.register_buffer("low", torch.as_tensor(low, dtype=torch.float32))
        self.register_buffer("high", torch.as_tensor(high, dtype=torch.float32))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        u = torch.tanh(self.mlp(obs))
        return self.low + (u + 1.0) * 0.5 * (self.high - self.low)
