"""The one progress protocol (``ghp.io.progress``): ES, tune, chromatic, evaluation and training report
``ProgressEvent``s, and no module defines a progress callback type of its own again."""

import re
from pathlib import Path

import numpy as np

from ghp.es import DenseMap, ESConfig, RolloutPool, run_es
from ghp.io.progress import ProgressEvent
from ghp.policy.weights import PolicyWeights
from ghp.space.arch import Arch

ROOT = Path(__file__).resolve().parents[2]


def test_es_and_chromatic_report_progress_events(tmp_path):
    from ghp.es.chromatic import ChromaticConfig, train_chromatic

    rng = np.random.default_rng(0)
    layers = [(rng.standard_normal((4, 3)) * 0.3, np.zeros(4)), (rng.standard_normal((1, 4)) * 0.3, np.zeros(1))]
    p = PolicyWeights.from_arrays(Arch((4,)), layers, [-2.0], [2.0])
    pm = DenseMap.like(p)
    events: list[ProgressEvent] = []
    cfg = ESConfig(iterations=2, directions=2, top=1, eval_episodes=1, max_episode_steps=20)
    with RolloutPool(0) as pool:
        state = run_es(pm, pm.flatten(p), "Pendulum-v1", cfg, pool, progress=events.append)
    assert [(e.done, e.total, e.unit) for e in events] == [(1, 2, "iterations"), (2, 2, "iterations")]
    assert events[-1].figures["best_return"] == max(h["return"] for h in state.history[:-1])

    events.clear()
    chrom = ChromaticConfig("Pendulum-v1", hidden=(4,), colors=2, iterations=2, directions=2, max_episode_steps=20)
    train_chromatic(chrom, tmp_path / "c", progress=events.append)
    assert [(e.done, e.total, e.unit) for e in events] == [(1, 2, "iterations"), (2, 2, "iterations")]
    assert {"mean_return", "best_return", "eval_return"} <= set(events[-1].figures)


def test_one_progress_callback_type():
    """Every library function that reports progress takes ``ghp.io.progress.ProgressFn``: no module defines its own
    callback type (there were five: training's dict, evaluation's counters, tune's numbers, ES state, chromatic's
    record)."""
    own = re.compile(r"^\s*\w*Progress\w* = Callable|progress: Callable\[")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for pkg in ("ghp", "search", "export", "cli")
        for path in sorted((ROOT / pkg).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if (own.search(line) or ("import" in line and "ProgressFn" in line and "ghp.io.progress" not in line))
        and path != ROOT / "ghp/io/progress.py"
    ]
    assert not found, f"progress callback types outside ghp.io.progress: {found}"
