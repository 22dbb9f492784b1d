"""Interval estimates: Wilson against its closed form, the bootstrap's coverage, IQM against rliable."""

import numpy as np
import pytest

from ghp.run.stats import iqm, iqm_interval, mean_interval, wilson_interval


def test_wilson_matches_the_textbook_values_and_stays_in_range():
    # Wilson (1927) / Newcombe (1998), Table I: 81 of 263 -> 0.2553 to 0.3662.
    e = wilson_interval(81, 263)
    assert e.value == pytest.approx(81 / 263) and (e.low, e.high) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert wilson_interval(0, 10).low == 0.0 and wilson_interval(0, 10).high > 0.2
    assert wilson_interval(10, 10).high == 1.0 and wilson_interval(10, 10).low < 0.8
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_bootstrap_interval_of_a_mean_covers_about_95_percent():
    rng = np.random.default_rng(1)
    hits = 0
    for i in range(200):
        x = rng.normal(10.0, 3.0, size=100)
        e = mean_interval(x, seed=i, reps=2000)
        hits += e.low <= 10.0 <= e.high
        assert e.low < e.value < e.high and e.n == 100
    assert 0.9 <= hits / 200 <= 0.99
    # Deterministic: the same seed, the same interval.
    assert mean_interval([1.0, 5.0, 2.0], seed=3) == mean_interval([1.0, 5.0, 2.0], seed=3)


def test_iqm_cuts_a_quarter_at_each_end():
    assert iqm([1, 2, 3, 4, 100]) == pytest.approx(3.0)  # floor(5 / 4) = 1 cut at each end
    assert iqm([1, 2, 3, 4, 5, 6, 7, 100]) == pytest.approx(4.5)
    assert iqm([2.0, 4.0]) == pytest.approx(3.0)  # too few seeds to cut: the interval must carry the weight
    e = iqm_interval([1.0, 2.0, 3.0, 4.0, 100.0], reps=4000)
    assert e.value == pytest.approx(3.0) and e.low < 3.0 < e.high and e.n == 5


def test_iqm_interval_agrees_with_rliable():
    rly = pytest.importorskip("rliable.library")
    metrics = pytest.importorskip("rliable.metrics")
    scores = np.random.default_rng(0).normal(size=(10, 3)) * [1.0, 2.0, 5.0] + [0.0, 1.0, 2.0]
    point, ci = rly.get_interval_estimates(
        {"m": scores}, lambda s: np.array([metrics.aggregate_iqm(s)]), reps=20000,
        random_state=np.random.RandomState(0),
    )  # fmt: skip
    ours = iqm_interval(scores, reps=20000)
    assert ours.value == pytest.approx(point["m"][0])
    assert (ours.low, ours.high) == pytest.approx((ci["m"][0, 0], ci["m"][1, 0]), abs=0.05)
