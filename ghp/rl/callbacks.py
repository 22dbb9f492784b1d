"""ghp's own SB3 callback: checkpoints, the periodic evaluation and progress reports during ``ghp train``.

The settings live in :mod:`ghp.rl.config` (no SB3, no torch), so the command line builds its options without loading
either; this module and :mod:`ghp.rl.train` load SB3.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from ghp.envs import EnvSpec
from ghp.io.progress import ProgressEvent, ProgressFn
from ghp.rl.config import TrainConfig
from ghp.rl.save import save_checkpoint
from ghp.space.arch import Arch, ArchSpace


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
        progress: the progress function, or None: about twice a second a ``ProgressEvent`` in environment steps
            whose figures are ``steps_per_s``, ``recent_return``, ``success_rate``, ``eval`` (the latest periodic
            evaluation, :func:`periodic_eval`'s dict, or None before the first) and ``eval_return`` (the latest mean
            reward of a user callback that evaluates, SB3's ``EvalCallback``, else None).
        eval_archs: the architectures of the periodic evaluation.
        evaluators: user callbacks that evaluate (SB3's ``EvalCallback``): their latest mean reward is reported.
    """

    def __init__(
        self,
        out: Path,
        config: TrainConfig,
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
        from ghp.run.load import live_run

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
            save_checkpoint(self.model, self.out, with_replay=False)
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
            figures = {
                "steps_per_s": (n - self._s0) / max(now - self._t0, 1e-9),
                "recent_return": float(np.mean([e["r"] for e in eps])) if eps else None,
                "success_rate": float(np.mean(succ)) if succ else None,
                "eval": self.last_eval,
                "eval_return": latest_eval(self.evaluators),
            }
            # n_envs environments step together, so the last step can overshoot a total that is not a multiple of
            # n_envs (16 of 10 with 8 environments): the bar never shows more than asked.
            self.progress(ProgressEvent(min(n, self.total), self.total, "steps", figures))


EVAL_LOG = "eval.jsonl"
"""One JSON line per periodic evaluation (:attr:`TrainConfig.eval_every`)."""


def eval_archs(space: ArchSpace, n: int, obs_dim: int, act_dim: int) -> list[Arch]:
    """The periodic evaluation's fixed architectures: ``n`` evenly spaced in the space sorted by parameter count."""
    import numpy as np

    from ghp.space.counting import deploy_params

    ordered = sorted(space.archs, key=lambda a: (deploy_params(a, obs_dim, act_dim), a.depth, a.hidden))
    idx = np.unique(np.linspace(0, len(ordered) - 1, min(n, len(ordered))).round().astype(int))
    return [ordered[i] for i in idx]


def periodic_eval(source: Any, archs: list[Arch], episodes: int, seed: int) -> dict[str, Any]:
    """Roll out ``archs`` of ``source`` (an :class:`ghp.rollout.evaluate.EvalSource`) deterministically, in this
    process.

    Returns ``step``, ``mean`` and ``best`` return, ``success`` (mean success rate, goal tasks; else None) and
    ``archs`` (key -> mean return).
    """
    from ghp.rollout.evaluate import EvalConfig, evaluate

    _, recs = evaluate(source, archs, EvalConfig(episodes=episodes, seed=seed, in_process=True, envs_per_worker=1))
    rets = {r.arch.key: r.mean_return for r in recs}
    succ = [r.success_rate for r in recs if r.success_rate is not None]
    return {
        "step": int(source.timesteps),
        "mean": sum(rets.values()) / len(rets),
        "best": max(rets.values()),
        "success": sum(succ) / len(succ) if succ else None,
        "archs": rets,
        "success_by_arch": {r.arch.key: r.success_rate for r in recs} if succ else None,
    }


def make_callback(
    out: Path,
    c: TrainConfig,
    spec: EnvSpec,
    run_id: str,
    total: int,
    progress: ProgressFn | None,
    others: list[Any] | None = None,
) -> Any:

    archs = eval_archs(c.space, c.eval_archs, spec.obs_dim, spec.act_dim)
    evaluators = [cb for cb in _flatten(others or []) if hasattr(cb, "last_mean_reward")]
    return TrainingCallback(out, c, spec, run_id, total, progress, archs, evaluators)


def _flatten(callbacks: list[Any]) -> list[Any]:
    """Every callback, those inside SB3 ``CallbackList`` s and ``EvalCallback`` children included."""
    out = []
    for cb in callbacks:
        out.append(cb)
        out += _flatten(list(getattr(cb, "callbacks", []) or []))
    return out


def latest_eval(evaluators: list[Any]) -> float | None:
    """The latest deterministic evaluation's mean return (SB3's ``EvalCallback.last_mean_reward`` convention)."""
    for cb in evaluators:
        value = float(cb.last_mean_reward)
        if math.isfinite(value):  # -inf until the first evaluation
            return value
    return None
