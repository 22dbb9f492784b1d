"""The periodic evaluation during training and the progress report: what :mod:`ghp.train` and its SB3 callback
(:mod:`ghp.callbacks`) share, in a module below both so that neither imports the other."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ghp.arch import Arch, ArchSpace

ProgressFn = Callable[[dict[str, Any]], None]
"""Called about twice a second with ``steps``, ``total``, ``steps_per_s``, ``recent_return``, ``success_rate``, and
``eval`` (the latest periodic evaluation, :func:`periodic_eval`'s dict, or None before the first) and
``eval_return`` (the latest mean reward of a user callback that evaluates, SB3's ``EvalCallback``, else None)."""

EVAL_LOG = "eval.jsonl"
"""One JSON line per periodic evaluation (:attr:`TrainConfig.eval_every`)."""


def eval_archs(space: ArchSpace, n: int, obs_dim: int, act_dim: int) -> list[Arch]:
    """The periodic evaluation's fixed architectures: ``n`` evenly spaced in the space sorted by parameter count."""
    import numpy as np

    from ghp.counting import deploy_params

    ordered = sorted(space.archs, key=lambda a: (deploy_params(a, obs_dim, act_dim), a.depth, a.hidden))
    idx = np.unique(np.linspace(0, len(ordered) - 1, min(n, len(ordered))).round().astype(int))
    return [ordered[i] for i in idx]


def periodic_eval(source: Any, archs: list[Arch], episodes: int, seed: int) -> dict[str, Any]:
    """Roll out ``archs`` of ``source`` (an :class:`ghp.evaluate.EvalSource`) deterministically, in this process.

    Returns ``step``, ``mean`` and ``best`` return, ``success`` (mean success rate, goal tasks; else None) and
    ``archs`` (key -> mean return).
    """
    from ghp.evaluate import EvalConfig, evaluate

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


def latest_eval(evaluators: list[Any]) -> float | None:
    """The latest deterministic evaluation's mean return (SB3's ``EvalCallback.last_mean_reward`` convention)."""
    for cb in evaluators:
        value = float(cb.last_mean_reward)
        if math.isfinite(value):  # -inf until the first evaluation
            return value
    return None
