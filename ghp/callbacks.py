"""ghp's own SB3 callback: checkpoints, the periodic evaluation and progress reports during ``ghp train``.

A module of its own so that ``ghp.train`` imports no SB3 (nor torch) until a run starts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from ghp.arch import Arch, ArchSpace
from ghp.checkpoint import save
from ghp.envs import EnvSpec
from ghp.periodic import EVAL_LOG, ProgressFn, latest_eval, periodic_eval


class CallbackSettings(Protocol):
    """The fields of :class:`ghp.train.TrainConfig` the callback reads (a protocol, so that this module, which
    ``ghp.train`` imports, does not import ``ghp.train`` back)."""

    @property
    def space(self) -> ArchSpace: ...

    @property
    def algo(self) -> str | None: ...

    @property
    def baseline(self) -> bool: ...

    @property
    def checkpoint_every(self) -> int: ...

    @property
    def eval_every(self) -> int: ...

    @property
    def eval_episodes(self) -> int: ...

    @property
    def seed(self) -> int: ...


class TrainingCallback(BaseCallback):
    """Every ``checkpoint_every`` steps a checkpoint, every ``eval_every`` a quick deterministic evaluation of a
    fixed handful of architectures (TensorBoard ``eval/*`` and ``RUN/eval.jsonl``), and about twice a second a
    progress report.

    Args:
        out: the run directory.
        config: the resolved training config.
        spec: the environment's spec.
        run_id: the run's id (the periodic evaluation loads the live model as a run).
        total: the run's total environment steps (the progress bar never shows more).
        progress: the progress function, or None.
        eval_archs: the architectures of the periodic evaluation.
        evaluators: user callbacks that evaluate (SB3's ``EvalCallback``): their latest mean reward is reported.
    """

    def __init__(
        self,
        out: Path,
        config: CallbackSettings,
        spec: EnvSpec,
        run_id: str,
        total: int,
        progress: ProgressFn | None,
        eval_archs: list[Arch],
        evaluators: list[Any],
    ) -> None:
        super().__init__()
        self.out, self.config, self.spec, self.run_id = out, config, spec, run_id
        self.total, self.progress = total, progress
        self.eval_archs, self.evaluators = eval_archs, evaluators
        self.last_eval: dict[str, Any] | None = None

    def _on_training_start(self) -> None:
        self._t0 = time.perf_counter()
        self._s0 = self.model.num_timesteps
        self._last_report = 0.0
        self._last_ckpt = self.model.num_timesteps
        self._last_eval = self.model.num_timesteps

    def _evaluate(self) -> None:
        from ghp.run import live_run

        c = self.config
        source = live_run(self.model, self.out, self.run_id, self.spec, c.space, str(c.algo), c.baseline)
        ev = periodic_eval(source, self.eval_archs, c.eval_episodes, c.seed)
        self.last_eval = ev
        self.logger.record("eval/mean_return", ev["mean"])
        self.logger.record("eval/best_return", ev["best"])
        if ev["success"] is not None:
            self.logger.record("eval/success_rate", ev["success"])
        for key, ret in ev["archs"].items():
            self.logger.record(f"eval/return_{key}", ret)
        with open(self.out / EVAL_LOG, "a") as f:
            f.write(json.dumps(ev) + "\n")

    def _on_step(self) -> bool:
        c, n = self.config, self.model.num_timesteps
        if c.checkpoint_every and n - self._last_ckpt >= c.checkpoint_every:
            save(self.model, self.out, with_replay=False)
            self._last_ckpt = n
        # The run's last step is evaluated in _on_training_end instead: SB3 still updates the model once after the
        # last environment step, and the evaluation logged for that step must be of the model saved for it.
        if c.eval_every and n - self._last_eval >= c.eval_every and n < self.total:
            self._evaluate()
            self._last_eval = n
        self._report(n)
        return True

    def _on_training_end(self) -> None:
        n = self.model.num_timesteps
        if self.config.eval_every and n - self._last_eval >= self.config.eval_every:
            self._evaluate()
            self._last_eval = n
            self._last_report = 0.0  # the final report carries the final evaluation
            self._report(n)

    def _report(self, n: int) -> None:
        now = time.perf_counter()
        if self.progress is not None and (now - self._last_report > 0.5 or n >= self.total):
            self._last_report = now
            eps = list(self.model.ep_info_buffer or [])
            succ = list(self.model.ep_success_buffer or [])
            self.progress(
                {
                    # n_envs environments step together, so the last step can overshoot a total that is not a
                    # multiple of n_envs (16 of 10 with 8 environments): the bar never shows more than asked.
                    "steps": min(n, self.total),
                    "total": self.total,
                    "steps_per_s": (n - self._s0) / max(now - self._t0, 1e-9),
                    "recent_return": float(np.mean([e["r"] for e in eps])) if eps else None,
                    "success_rate": float(np.mean(succ)) if succ else None,
                    "eval": self.last_eval,
                    "eval_return": latest_eval(self.evaluators),
                }
            )
