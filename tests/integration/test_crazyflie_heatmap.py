"""benchmarks/crazyflie_heatmap.py, crazyflie_offset.py and crazyflie_goto.py: one policy flown on held-out starts."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ghp.envs.crazyflie.config import CrazyflieConfig
from ghp.envs.crazyflie.sampling import sample_params

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "tests" / "fixtures" / "saved_runs" / "crazyflie-ghp"


def test_wind_is_a_steady_force_along_x_on_top_of_the_random_draws():
    calm = sample_params(CrazyflieConfig(), np.random.default_rng(3))
    windy = sample_params(CrazyflieConfig(wind=0.1), np.random.default_rng(3))
    assert windy.mass == calm.mass  # the same draws
    np.testing.assert_allclose(windy.force - calm.force, [[0.1 * calm.mass[0] * 9.81, 0, 0]], rtol=1e-3)


def test_the_grid_is_written_with_an_interval_per_cell(tmp_path):
    out = tmp_path / "hm"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "crazyflie_heatmap.py"), str(RUN), "--arch", "4-4",
           "--episodes", "2", "--size", "2", "--out", str(out)]  # fmt: skip
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    doc = json.loads((out / "heatmap.json").read_text())
    assert set(doc["grids"]) == {"mass_thrust", "lag_wind"} and (out / "heatmap.png").is_file()
    for g in doc["grids"].values():
        assert len(g["cells"]) == 4
        for c in g["cells"]:
            assert 0 <= c["successes"] <= 2 and c["low"] <= c["success"] <= c["high"]
    assert not (RUN / "results.sqlite").exists()  # nothing written into the run


def test_the_offset_of_a_policy_is_written_per_airframe(tmp_path):
    out = tmp_path / "off"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "crazyflie_offset.py"), str(RUN), "--arch", "4-4",
           "--episodes", "2", "--tw-episodes", "1", "--out", str(out)]  # fmt: skip
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    doc = json.loads((out / "offset.json").read_text())
    for name in ("nominal_airframe", "randomised_task"):
        d = doc[name]
        assert d["episodes"] == 2 and 0 <= d["success"] <= 1 and 0 <= d["full_episodes"] <= 2
        assert d["median_action_change"] is None or d["median_action_change"] >= 0
        # every episode is held, crashed or flown to the end outside the box; each crash says when and on what
        assert d["success"] + d["crashed"] + d["full_but_outside"] == pytest.approx(1.0)
        assert len(d["crashes"]) == round(2 * d["crashed"]) and d["full_episodes"] == 2 - len(d["crashes"])
        assert all(1 <= c["step"] < 500 and 1.5 <= c["thrust_to_weight"] <= 2.0 for c in d["crashes"])
        assert list(d["by_start_heading"]) == ["0-45", "45-90", "90-135", "135-180"]
        assert sum(b["episodes"] for b in d["by_start_heading"].values()) == 2
    assert sorted(map(float, doc["thrust_to_weight"])) == [1.5, 1.6, 1.69, 1.8, 2.0]
    assert all(d["episodes"] == 1 for d in doc["thrust_to_weight"].values())
    assert not (RUN / "results.sqlite").exists()  # nothing written into the run
    bad = subprocess.run(cmd[:2] + [str(RUN), "--arch", "4-4", "--episodes", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--episodes and --tw-episodes must be >= 1" in bad.stderr


def test_goto_flights_are_written_per_clip_and_length(tmp_path):
    # benchmarks/crazyflie_goto.py: a hover run's policy on GoTo episodes, one row per (episode length, error_clip),
    # each with its success interval, crashes and arrival times; a bad option is one usage line.
    out = tmp_path / "goto"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "crazyflie_goto.py"), str(RUN), "--arch", "4-4",
           "--clips", "0,0.3", "--lengths", "60,90", "--episodes", "3", "--out", str(out)]  # fmt: skip
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    doc = json.loads((out / "goto_crazyflie-ghp_4-4.json").read_text())
    assert [(r["episode_steps"], r["error_clip"]) for r in doc["rows"]] == [(60, 0), (60, 0.3), (90, 0), (90, 0.3)]
    for r in doc["rows"]:
        assert r["episodes"] == 3 and 0 <= r["success"] <= 1 and r["wilson_95"][0] <= r["success"] <= r["wilson_95"][1]
        assert 0 <= r["crashed"] <= 1 - r["success"] and r["start_distance_m_quartiles"][-1] <= 1.0 + 1e-9
        assert all(0 < t <= r["episode_steps"] / 100 for t in r["arrival_s_quartiles_p90"])
    assert not (RUN / "results.sqlite").exists()  # nothing written into the run
    bad = subprocess.run(cmd[:3] + ["--arch", "4-4", "--clips", "x"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--clips wants numbers" in bad.stderr
