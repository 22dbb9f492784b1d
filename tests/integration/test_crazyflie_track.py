"""``benchmarks/crazyflie_track.py``: held-out tracking episodes of one architecture, with and without the C in the
loop, written to a JSON whose figures are the episodes' own."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from benchmarks.crazyflie_track import HELD_OUT, main
from export.crazyflie.firmware import find_firmware
from ghp.run.stats import wilson_interval

FIRMWARE, WHERE = find_firmware()


@pytest.fixture(scope="module")
def track_run(train_tiny):
    short = {"episode_steps": 60}
    return train_tiny("track", env_id="ghp/CrazyflieTrack-v0", widths=(8,), depths=(1,), env_kwargs=short)


def test_held_out_tracking_figures(track_run, tmp_path):
    res = main([str(track_run), "--arch", "8", "--episodes", "6", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "track_8.json").read_text())
    assert saved["rms_error_m"] == res["rms_error_m"] and saved["env_id"] == "ghp/CrazyflieTrack-v0"
    eps = saved["per_episode"]
    assert [e["seed"] for e in eps] == [HELD_OUT + i for i in range(6)]
    assert saved["rms_error_m"]["value"] == pytest.approx(np.mean([e["rms_error_m"] for e in eps]))
    assert all(0 < e["rms_error_m"] < 2 and 1 <= e["steps"] <= 60 for e in eps)
    assert saved["success"] == wilson_interval(sum(e["success"] for e in eps), 6).to_dict()
    assert saved["env_kwargs"] == {"episode_steps": 60, "yaw_weight": 0.0, "yaw_frame": False}  # recorded


@pytest.mark.skipif(FIRMWARE is None or shutil.which("gcc") is None, reason=WHERE)
def test_the_c_controller_in_the_loop_flies_the_same_episodes(track_run, tmp_path):
    args = ["--arch", "8", "--episodes", "3", "--sil", "--sil-episodes", "2", "--out", str(tmp_path)]
    res = main([str(track_run), *args])
    sil = res["sil"]
    assert sil["episodes"] == 2 and sil["same_outcome"] == 2 and sil["safety"] == []
    assert sil["max_action_difference"] <= 1e-5 and sil["max_rms_difference_m"] < 1e-3


@pytest.fixture(scope="module")
def hover_run(train_tiny):
    return train_tiny(
        "hover", env_id="ghp/CrazyflieHover-v0", widths=(8,), depths=(1,), env_kwargs={"episode_steps": 60}
    )


def test_a_hover_run_flies_the_path_with_task_track(hover_run, tmp_path):
    # --env-kwargs task=track flies the figure eight (the run's own task is only the default): on the same seeds the
    # episodes differ from the hover's, and the moving setpoint is recorded.
    base = ["--arch", "8", "--episodes", "3"]
    hover = main([str(hover_run), *base, "--out", str(tmp_path / "hover")])
    track = main([str(hover_run), *base, "--env-kwargs", "task=track", "--out", str(tmp_path / "track")])
    assert track["env_kwargs"]["task"] == "track" and "task" not in hover["env_kwargs"]
    assert [e["rms_error_m"] for e in track["per_episode"]] != [e["rms_error_m"] for e in hover["per_episode"]]
