"""SB3's twin-Q critic, with the actor's loss backpropagating to the actions only.

In SB3's SAC and TD3 updates the actor's loss runs the critic on the actor's actions and backpropagates through it.
The actor's optimizer steps only the actor, but autograd also computes the critic's weight gradients on the way:
for Hopper's [256, 256] twin critic about a seventh of every update's arithmetic. They are never read: the critic
optimizer's ``zero_grad`` clears them before the critic's own loss backpropagates in the next update.

:class:`ActionGradCritic` is SB3's :class:`ContinuousCritic` (same modules, same state dict, so every saved run loads
as before) whose forward, when the actions carry gradients (the actor's loss: the critic's own loss feeds it replayed
actions, the TD target runs without gradients), runs its linear layers with detached weights. The actor receives
the same gradient, bit for bit: the products that reach the actions are the same; only the unused weight products
are skipped (tests/unit/test_critic.py).
"""

from __future__ import annotations

from typing import Any

import torch
from stable_baselines3.common.policies import ContinuousCritic
from torch import nn


def _run_detached(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``net(x)`` with every ``nn.Linear``'s parameters detached (other modules, SB3's activations, as they are)."""
    for layer in net.children():  # an nn.Sequential: its layers in order
        if isinstance(layer, nn.Linear):
            x = nn.functional.linear(x, layer.weight.detach(), None if layer.bias is None else layer.bias.detach())
        else:
            x = layer(x)
    return x


class ActionGradCritic(ContinuousCritic):
    """:class:`ContinuousCritic` whose actor-loss calls skip the critic's own weight gradients (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only flat features and Q-networks whose parameters all sit in linear layers (SB3's MLPs, any activation)
        # take the short path; a features extractor with parameters (images) keeps SB3's forward.
        self._flat = not any(True for _ in self.features_extractor.parameters()) and all(
            isinstance(m, nn.Linear) or not any(True for _ in m.parameters(recurse=False))
            for q in self.q_networks
            for m in q.children()
        )

    def _actions_only(self, actions: torch.Tensor) -> bool:
        return self._flat and actions.requires_grad and torch.is_grad_enabled()

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if not self._actions_only(actions):
            return super().forward(obs, actions)
        with torch.no_grad():
            features = self.extract_features(obs, self.features_extractor)
        x = torch.cat([features, actions], dim=1)
        return tuple(_run_detached(q_net, x) for q_net in self.q_networks)

    def q1_forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        if not self._actions_only(actions):
            return super().q1_forward(obs, actions)
        with torch.no_grad():
            features = self.extract_features(obs, self.features_extractor)
        return _run_detached(self.q_networks[0], torch.cat([features, actions], dim=1))
