"""`ghp play`: deterministic episodes whose returns match evaluation, a video, a trajectory plot, one-line errors."""

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli
from ghp.envs import env_spec, parse_env_kwargs
from ghp.rollout.play import PlayConfig, RenderError, play
from tests.integration.evalfakes import copy_run, tiny_run
from tests.integration.test_evaluate import reference_returns
from tests.unit.test_export import policy


def ghp(*args):
    return CliRunner().invoke(cli, ["play", *map(str, args)])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return tiny_run(tmp_path_factory.mktemp("runs"))


def test_returns_are_the_evaluation_returns_and_the_video_is_written(tmp_path):
    p = policy("8", obs=4, act=1, low=-3, high=3)
    try:
        result = play(p, "InvertedPendulum-v5", PlayConfig(episodes=2, seed=5, video=tmp_path / "ip.mp4"))
    except RenderError as e:  # no OpenGL here: the one line says what to install
        assert "MUJOCO_GL" in str(e) or "moviepy" in str(e)
        result = play(p, "InvertedPendulum-v5", PlayConfig(episodes=2, seed=5))
    else:
        assert [v.name for v in result.videos] == ["ip.mp4", "ip-episode-1.mp4"]
        assert all(v.stat().st_size > 1000 and b"ftyp" in v.read_bytes()[:16] for v in result.videos)
    rets, lens, _ = reference_returns(p, 2, 5, "InvertedPendulum-v5")
    assert [e.ret for e in result.episodes] == pytest.approx(rets) and [e.length for e in result.episodes] == lens


def test_crazyflie_trajectory_plot_has_position_and_attitude(tmp_path):
    spec = env_spec("ghp/CrazyflieHover-v0")
    p = policy("16", obs=spec.obs_dim, act=spec.act_dim, low=-1, high=1)
    result = play(p, "ghp/CrazyflieHover-v0", PlayConfig(episodes=2, plot=tmp_path / "cf.png"))
    assert result.plot.is_file() and result.plot.read_bytes()[:4] == b"\x89PNG"
    for ep, t in zip(result.episodes, result.traces, strict=True):
        assert t["pos"].shape == (ep.length, 3) and t["rpy"].shape == (ep.length, 3)
        assert np.ptp(t["pos"], axis=0).max() > 0  # the drone moves: one row per step, not one array reused
        assert np.all(np.abs(t["rpy"]) <= 180)


def test_cli_arch_and_policy_file_play_the_same_episodes(run_dir, tmp_path):
    r = ghp(run_dir, "--arch", "8-4", "--episodes", "2", "--max-episode-steps", "30", "--plot", tmp_path / "p.png")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith("playing 8-4") and lines[1].startswith("episode 0: return") and "30 steps" in lines[1]
    assert (tmp_path / "p.png").is_file()
    exported = CliRunner().invoke(
        cli, ["export", str(run_dir), "--arch", "8-4", "--target", "numpy", "--out", str(tmp_path / "export")]
    )
    assert exported.exit_code == 0, exported.output
    r2 = ghp(run_dir, "--policy", tmp_path / "export" / "policy.npz", "--episodes", "2", "--max-episode-steps", "30")
    assert r2.exit_code == 0, r2.output
    assert r2.output.splitlines()[1:3] == lines[1:3]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--arch", "8", "--policy", "x.npz"], "one of them"),
        ([], "--arch"),
        (["--arch", "16-16"], "not in the run's space"),
        (["--arch", "8", "--video", "x.avi"], ".mp4"),
        (["--arch", "8", "--env-kwargs", "mass"], "KEY=VALUE"),
        (["--arch", "8", "--episodes", "0"], "0"),
    ],
)
def test_bad_input_is_one_line_exit_2(run_dir, args, message):
    r = ghp(run_dir, *args)
    assert r.exit_code == 2, r.output
    assert message in r.output and len(r.output.strip().splitlines()) == 1


def test_env_kwargs_parse_as_train_does():
    # One syntax for every command: space-separated KEY=VALUE items (repeatable), or a JSON object.
    assert parse_env_kwargs(["mass=0.0325 substeps=2", "name=hover"]) == {
        "mass": 0.0325,
        "substeps": 2,
        "name": "hover",
    }
    assert parse_env_kwargs(["mass_range=0.9,1.1"]) == {"mass_range": [0.9, 1.1]}
    assert parse_env_kwargs(['{"mass": 0.03}', "substeps=2"]) == {"mass": 0.03, "substeps": 2}
    for bad in ("[1, 2]", "{1: 2}", '{"a": 1', "nominal"):
        with pytest.raises(ValueError):
            parse_env_kwargs([bad])


def test_help():
    r = CliRunner().invoke(cli, ["play", "--help"])
    assert r.exit_code == 0 and "--video" in r.output and "--plot" in r.output and "--env-kwargs" in r.output


def test_cli_plays_with_the_runs_env_kwargs(run_dir, tmp_path):
    import json

    rd = copy_run(run_dir, tmp_path / "r")
    cfg = json.loads((rd / "config.json").read_text())
    cfg["env"]["env_kwargs"] = {"g": 0.0}  # as if trained with --env-kwargs g=0.0 (Pendulum without gravity)
    (rd / "config.json").write_text(json.dumps(cfg))
    out = {}
    for extra in ([], ["--env-kwargs", "g=9.81"]):
        r = ghp(rd, "--arch", "8-4", "--episodes", "1", "--max-episode-steps", "20", *extra)
        assert r.exit_code == 0, r.output
        out[len(extra)] = r.output.splitlines()
    assert "on Pendulum-v1 (g=0.0)," in out[0][0] and "on Pendulum-v1 (g=9.81)," in out[2][0]
    assert out[0][1] != out[2][1]  # gravity changes the episode: the options reach the environment
