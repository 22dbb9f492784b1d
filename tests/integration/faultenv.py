"""Pendulum-v1 whose worker process kills itself once, mid-chunk, when a test arms it (fault-tolerance tests).

``gym.make("tests.integration.faultenv:KillOncePendulum-v0")`` imports this module in any worker process (local
or Ray), which registers the id. The environment is Pendulum-v1 itself; the only difference: while the directory
named by ``GHP_TEST_FAULT_DIR`` holds a file ``armed`` and no file ``died``, the next step taken in a process whose
step count is a multiple of ``EVERY`` (so, in the middle of a chunk) creates ``died`` and SIGKILLs that process, as
an out-of-memory kill or a lost node would. Worker processes live on between evaluations, hence the count.
With ``GHP_TEST_SLOW_STEP`` set (seconds), every step also sleeps that long: an evaluation that takes a known
minimum time on any machine, with the same results.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
from gymnasium.envs.classic_control.pendulum import PendulumEnv

ENV_ID = "tests.integration.faultenv:KillOncePendulum-v0"
EVERY = 100
_SLOW = float(os.environ.get("GHP_TEST_SLOW_STEP") or 0)
_steps = 0


class KillOncePendulum(PendulumEnv):
    def step(self, action: Any) -> Any:
        global _steps
        _steps += 1
        if _steps % EVERY == 0:
            _maybe_die()
        if _SLOW:
            time.sleep(_SLOW)
        return super().step(action)


def _maybe_die() -> None:
    root = os.environ.get("GHP_TEST_FAULT_DIR")
    if not root or not (Path(root) / "armed").exists():
        return
    try:
        os.close(os.open(Path(root) / "died", os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


if "KillOncePendulum-v0" not in gym.registry:
    gym.register("KillOncePendulum-v0", entry_point=KillOncePendulum, max_episode_steps=200)
