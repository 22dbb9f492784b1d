"""search.progress: the selection at every checkpoint, one floor for the run, the baseline's curve."""

from dataclasses import dataclass

import pytest

from ghp.space.arch import Arch
from search.progress import baseline_curve, progress, steps_to_reach


@dataclass(frozen=True)
class Rec:
    arch: Arch
    params: int
    capacity: int
    mean_return: float
    success_rate: float | None = None


def recs(values: dict[int, float], success: dict[int, float] | None = None) -> list[Rec]:
    return [Rec(Arch((w,)), 10 * w, w, v, None if success is None else success[w]) for w, v in sorted(values.items())]


def test_progress_uses_one_floor_and_picks_per_step():
    by_step = {
        1000: recs({4: -1500.0, 8: -1200.0, 16: -900.0}),
        2000: recs({4: -300.0, 8: -160.0, 16: -150.0}),
    }
    p = progress(by_step)
    assert p.floor == -1500.0 and p.floor_rule == "worst"
    first, second = p.points
    assert [r.arch.key for r in first.rows] == ["16", "16", "16"]  # 80%: -1500 + 0.8 * 600 = -1020
    # The run's floor (-1500), not this step's worst (-300): 90% is -285 (a per-step floor would give -165: "16").
    assert [r.arch.key for r in second.rows] == ["16", "8", "4"]
    assert second.frac_at["max"] == pytest.approx(1 / 3)
    assert first.mean == pytest.approx(-1200.0)


def test_success_metric_and_nothing_learnt_yet():
    zero = recs({4: -50.0, 8: -50.0}, {4: 0.0, 8: 0.0})
    learnt = recs({4: -10.0, 8: -3.0}, {4: 0.6, 8: 1.0})
    p = progress({2000: zero, 8000: learnt}, metric="success")
    assert p.floor == 0.0 and p.points[0].frac_at == {"max": 0.0, "90%": 0.0, "80%": 0.0}
    assert [r.arch.key for r in p.points[1].rows] == ["8", "8", "8"] and p.points[1].frac_at["90%"] == 0.5
    with pytest.raises(ValueError, match="success rates"):
        progress({1: recs({4: 1.0})}, metric="success")
    with pytest.raises(ValueError, match="--checkpoints all"):
        progress({})


def test_baseline_curve_and_steps_to_reach():
    base = {2000: [Rec(Arch((256, 256)), 70000, 1, -40.0, 0.0)], 8000: [Rec(Arch((256, 256)), 70000, 1, -4.0, 0.9)]}
    curve = baseline_curve(base, "success")
    assert curve == [(2000, 0.0, 70000), (8000, 0.9, 70000)]
    assert steps_to_reach([(s, v) for s, v, _ in curve], 0.9) == 8000
    assert steps_to_reach([(1, 0.1)], 0.9) is None
