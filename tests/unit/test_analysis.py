from dataclasses import dataclass

import numpy as np
import pytest

from ghp.space.arch import Arch, ArchSpace, parse_arch
from ghp.space.capacity import lossless_memory_dimension
from ghp.space.counting import deploy_params
from search.analysis import pareto_front, select, table_ii


@dataclass(frozen=True)
class R:
    arch: Arch
    params: int
    capacity: int
    mean_return: float


def recs(returns: dict[str, float], obs: int = 3, act: int = 1) -> list[R]:
    out = []
    for key, ret in returns.items():
        a = parse_arch(key)
        out.append(R(a, deploy_params(a, obs, act), lossless_memory_dimension(a, obs, act), ret))
    return out


def test_paper_rule_for_positive_returns():
    rs = recs({"4": 85.0, "8": 95.0, "16": 100.0, "4-4": 50.0, "64-64": 100.0})
    t = select(rs)
    assert t.floor == 0 and t.floor_rule == "zero" and t.best == 100.0
    rows = {r.label: r for r in t.rows}
    # max: the smallest of the two with the best return; 90%: >= 90; 80%: >= 80, smallest by parameters.
    assert rows["max"].arch.key == "16"
    assert rows["90%"].arch.key == "8" and rows["90%"].threshold == pytest.approx(90)
    assert rows["80%"].arch.key == "4" and rows["80%"].params == deploy_params(Arch((4,)), 3, 1) == 21
    assert rows["80%"].params < rows["90%"].params <= rows["max"].params


def test_negative_returns_measured_from_the_worst():
    rs = recs({"4": -1500.0, "8": -300.0, "16": -150.0, "4-4": -260.0, "32": -200.0})
    t = select(rs)
    assert t.floor == -1500.0 and t.floor_rule == "worst"
    rows = {r.label: r for r in t.rows}
    # 90%: -1500 + 0.9 * 1350 = -285, so 8 (-300) misses and 4-4 (-260, 41 params) is the smallest that reaches it.
    assert rows["90%"].threshold == pytest.approx(-285.0)
    assert rows["90%"].arch.key == "4-4"
    # 80%: -420, and 8 (41 params, -300) ties 4-4 in size but has the lower return: the better one wins the tie.
    assert rows["80%"].arch.key == "4-4"
    assert rows["max"].arch.key == "16" and rows["max"].score == 1.0
    fixed = select(rs, floor=-2000.0)
    assert fixed.floor_rule == "given" and {r.label: r for r in fixed.rows}["80%"].threshold == pytest.approx(-520)
    with pytest.raises(ValueError, match="no evaluated"):
        select([])


def brute_force_table_ii(rs, n, low, high, seed, floor):
    cuts = np.random.default_rng(seed).uniform(low, high, size=n)
    cap, big = [], []
    for c in cuts:
        fit = [r for r in rs if r.params <= c]
        if not fit:
            continue
        best = max(r.mean_return for r in fit)
        pc = max(fit, key=lambda r: (r.capacity, -r.params))
        pb = max(fit, key=lambda r: (r.params, r.capacity))
        cap.append((pc.mean_return - floor) / (best - floor))
        big.append((pb.mean_return - floor) / (best - floor))
    return np.mean(cap), np.mean(big), len(cap)


def test_table_ii_matches_brute_force_on_a_random_space():
    rng = np.random.default_rng(3)
    space = ArchSpace(widths=(4, 8, 16, 32, 64), depths=(1, 2, 3))
    rs = recs({a.key: float(rng.uniform(-1000, -100)) for a in space}, obs=11, act=3)
    t = table_ii(rs, n_cutoffs=300, low=50, high=20000, seed=5)
    cap, big, used = brute_force_table_ii(rs, 300, 50, 20000, 5, min(r.mean_return for r in rs))
    assert t.used == used and 0 < used < 300  # some cutoffs fall below the smallest architecture
    assert t.capacity_ratio == pytest.approx(cap) and t.size_ratio == pytest.approx(big)
    assert 0 <= t.capacity_ratio <= 1 and 0 <= t.size_ratio <= 1


def test_capacity_beats_size_when_return_follows_capacity():
    space = ArchSpace(widths=(4, 8, 16, 32, 64, 128), depths=(1, 2, 3, 4))
    rs = recs({a.key: float(lossless_memory_dimension(a, 11, 3)) for a in space}, obs=11, act=3)
    t = table_ii(rs, n_cutoffs=500, low=1000, high=1e5)
    assert t.capacity_ratio == pytest.approx(1.0) and t.size_ratio < 1.0 and t.losses == 0 and t.wins + t.ties == t.used


def test_pareto_front_is_monotone():
    rs = recs({"4": 1.0, "8": 0.5, "16": 2.0, "4-4": 1.5, "64": 1.8})
    front = pareto_front(rs)
    assert [r.arch.key for r in front] == ["4", "4-4", "16"]


def test_table_ii_counts_a_tie_as_a_tie():
    # Under every cutoff the largest architecture is also the capacity choice: no cutoff is a win.
    rs = recs({"4": 1.0, "8": 2.0, "16": 3.0})
    t = table_ii(rs, n_cutoffs=200, low=1, high=1000)
    assert t.used > 0 and (t.wins, t.ties, t.losses) == (0, t.used, 0)
