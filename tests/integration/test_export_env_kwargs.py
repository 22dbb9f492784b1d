"""``ghp export --env-kwargs``: environment options on top of the run's shape the app and its check, so a hover policy
can be built to fly GoTo setpoints (GoTo's error clip in the controller, GoTo's episodes in the software in the loop).
"""

import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.integration.test_export_crazyflie import ENV, export_and_fly, needs_firmware, needs_gcc
from tests.unit.test_export import policy


@pytest.fixture(scope="module")
def hover_run(train_tiny):
    return train_tiny("cf-hover", env_id=ENV, widths=(8,), depths=(1,))


def export_cli(run, out, *extra):
    return CliRunner().invoke(
        cli, ["export", str(run), "--arch", "8", "--target", "crazyflie", "--out", str(out), *extra]
    )


def test_a_hover_run_exported_with_task_goto_gets_gotos_error_clip_and_says_so(hover_run, tmp_path):
    plain = export_cli(hover_run, tmp_path / "hover")
    assert plain.exit_code == 0, plain.output
    assert "No error_clip" in (tmp_path / "hover" / "src" / "ghp_controller.c").read_text()
    r = export_cli(hover_run, tmp_path / "goto", "--env-kwargs", "task=goto")
    assert r.exit_code == 0, r.output
    source = (tmp_path / "goto" / "src" / "ghp_controller.c").read_text()
    assert "if (n > 0.300000012f)" in source and "(error_clip)" in source  # GoTo's default clip, 0.3 m
    assert "(yaw_frame)" in source  # the run's own option stays
    assert "env options   task=goto (ghp export --env-kwargs, on top of the run's)" in source


def test_env_kwargs_that_change_the_observation_size_are_one_line_errors(hover_run, tmp_path):
    r = export_cli(hover_run, tmp_path / "k4", "--env-kwargs", "action_history=4")
    assert r.exit_code != 0
    assert "gives 34 inputs but the policy takes 22" in r.output and "Traceback" not in r.output
    bad = export_cli(hover_run, tmp_path / "bad", "--env-kwargs", "error_clip=-1")
    assert bad.exit_code != 0 and "error_clip must be non-negative" in bad.output


@needs_gcc
@needs_firmware
def test_a_hover_policy_built_for_goto_flies_goto_like_torch(tmp_path):
    # The run's options (the heading frame) with task=goto on top, as ghp export --env-kwargs task=goto merges them:
    # GoTo's starts are up to 1 m away, so the app's 0.3 m clip is active in every episode.
    kwargs = {"yaw_frame": True, "yaw_weight": 0.0, "task": "goto", "episode_steps": 60}
    w = policy("16", obs=22, act=4, seed=11, low=-1.0, high=1.0)
    report, source = export_and_fly(w, tmp_path, "goto", kwargs)
    assert "ghpErrorClip();" in source
    assert report.ok, report.summary()
