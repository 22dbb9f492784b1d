"""Shared test setup: one torch thread (tiny networks, a 2-core CI machine) and tiny trained runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> Iterator[None]:
    """Tiny networks: one torch thread is faster and leaves the other core to the workers and subprocesses."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def train_tiny(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Train a tiny run (300 steps, 2 environments, a handful of architectures) into a fresh directory.

    Keyword arguments override the tiny settings (e.g. ``env_id``, ``widths``).
    """
    from ghp.train import TrainConfig, train

    def make(name: str = "pendulum", **overrides: Any) -> Path:
        settings: dict[str, Any] = dict(
            env_id="Pendulum-v1",
            steps=300,
            n_envs=2,
            widths=(4, 8),
            depths=(1, 2),
            learning_starts=100,
            batch_size=32,
            buffer_size=1000,
            checkpoint_every=10**6,
        )
        out = tmp_path_factory.mktemp("runs") / name
        return train(TrainConfig(out=str(out), **{**settings, **overrides}))

    return make
