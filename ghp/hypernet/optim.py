"""The ghp policies' optimizers: the hypernetwork's Adam (its own learning-rate ratio, fused where torch can) and
SB3's critic Adam rebuilt with the fused kernel.

Kept apart from :mod:`ghp.hypernet.policies` (which re-exports :class:`HyperAdam`, the class path older code imports):
they are plain torch, with nothing of SB3's policy classes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


class HyperAdam(torch.optim.Adam):
    """Adam whose step uses ``lr_scale`` times the learning rate SB3 writes into its param groups.

    SB3 sets every optimizer's ``lr`` from one schedule before each update; the authors train the hypernetwork with
    its own learning rate (1e-3 vs 3e-4 for the critic), so the actor's rate is kept as a ratio.
    """

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, lr_scale: float = 1.0, **kwargs: Any) -> None:
        params = list(params)
        if {"foreach", "fused"} & kwargs.keys():
            super().__init__(params, lr=lr, **kwargs)
        else:
            try:
                # Fused Adam: about 4x faster than the default on the hypernetwork's tensors on CPU.
                super().__init__(params, lr=lr, fused=True, **kwargs)
            except RuntimeError:
                # No fused kernel for these parameters' device (on CPU: torch < 2.4, which added it in PR #123074).
                super().__init__(params, lr=lr, **kwargs)
        self.lr_scale = lr_scale
        self.on_step: Any = None
        """Called after every step (the policy's architecture resampling). Not a step hook: torch runs those once
        per overridden ``step`` in the class hierarchy, so they would fire twice here."""

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:  # type: ignore[override]
        base = [g["lr"] for g in self.param_groups]
        for g in self.param_groups:
            g["lr"] = g["lr"] * self.lr_scale
        try:
            loss = super().step(closure)
        finally:
            for g, lr in zip(self.param_groups, base, strict=True):
                g["lr"] = lr
        if self.on_step is not None:
            self.on_step()
        return loss


def fused_adam(
    optimizer_class: type[torch.optim.Optimizer],
    params: list[torch.nn.Parameter],
    lr: float,
    optimizer_kwargs: dict[str, Any],
) -> torch.optim.Optimizer | None:
    """SB3's critic Adam rebuilt with the fused kernel, as :class:`HyperAdam` is: the same update up to float
    round-off, in about half the time (Hopper's [256, 256] twin critic on CPU, timed inside SAC's update: 0.6
    instead of 1.2 ms; torch's default Adam runs one kernel per term of the update on each of its twelve
    tensors). None (SB3's optimizer stays) where the optimizer is not Adam/AdamW, where ``optimizer_kwargs`` choose
    ``foreach``/``fused`` themselves, and where torch has no fused kernel for the parameters (CPU before torch
    2.4)."""
    if optimizer_class not in (torch.optim.Adam, torch.optim.AdamW) or {"foreach", "fused"} & optimizer_kwargs.keys():
        return None
    try:
        return optimizer_class(params, lr=lr, fused=True, **optimizer_kwargs)  # type: ignore[call-arg]
    except RuntimeError:
        return None  # no fused kernel for these parameters' device
