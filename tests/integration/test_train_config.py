"""`ghp train --config FILE.yml` / `--print-config`: file settings, command-line overrides, replaying a run."""

import json

import pytest
import yaml
from click.testing import CliRunner

from cli.main import cli

SETTINGS = {"env_id": "Pendulum-v1", "n_envs": 2, "widths": [4, 8], "depths": [1], "learning_starts": 100}


def ghp(*args):
    return CliRunner().invoke(cli, ["train", *map(str, args)])


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "cfg.yml"
    path.write_text(yaml.safe_dump({**SETTINGS, "steps": 5000, "mlp_mode": "loop"}))
    return path


def test_print_config_resolves_the_file_with_command_line_overrides(cfg):
    r = ghp("--config", cfg, "--steps", "2000", "--n-envs", "4", "--print-config")
    assert r.exit_code == 0, r.output
    got = yaml.safe_load(r.output)
    assert (got["steps"], got["n_envs"]) == (2000, 4)  # the options win
    assert (got["widths"], got["depths"], got["mlp_mode"], got["learning_starts"]) == ([4, 8], [1], "loop", 100)
    assert got["algo"] == "sac" and got["lr"] == 1e-3  # per-environment defaults filled in (resolved)
    # The printed config is itself a config file.
    printed = cfg.with_name("printed.yml")
    printed.write_text(r.output)
    again = ghp("--config", printed, "--print-config")
    assert again.exit_code == 0 and yaml.safe_load(again.output) == got


def test_training_from_a_file_then_replaying_its_config_json(cfg, tmp_path):
    out = tmp_path / "run"
    r = ghp("--config", cfg, "--steps", "300", "--out", out, "--quiet")
    assert r.exit_code == 0, r.output
    train = json.loads((out / "config.json").read_text())["train"]
    assert (train["steps"], train["n_envs"], train["widths"], train["mlp_mode"]) == (300, 2, [4, 8], "loop")
    r = ghp("--config", out / "config.json", "--out", tmp_path / "again", "--print-config")
    assert r.exit_code == 0, r.output
    assert yaml.safe_load(r.output) == {**train, "out": str(tmp_path / "again")}
    r = ghp("--config", out / "config.json", "--quiet")  # same --out: refused, nothing touched
    assert r.exit_code == 2 and "--resume" in r.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{env_id: Pendulum-v1, n_env: 2}", "unknown setting(s) n_env"),
        ("{env_id: Pendulum-v1, mlp_mode: fast}", "mlp_mode in"),
        ("{env_id: Pendulum-v1, widths: '4,x'}", "comma-separated"),
        ("[1, 2]", "mapping"),
        ("{env_id: [unclosed", "cannot read"),
        ("{n_envs: 2}", "Missing option '--env'"),
    ],
)
def test_bad_files_are_one_line_exit_2(tmp_path, content, message):
    path = tmp_path / "bad.yml"
    path.write_text(content)
    r = ghp("--config", path, "--print-config")
    assert r.exit_code == 2, r.output
    assert message in r.output and len(r.output.strip().splitlines()) == 1


def test_a_missing_file_is_one_line(tmp_path):
    r = ghp("--config", tmp_path / "nope.yml", "--print-config")
    assert r.exit_code == 2 and "nope.yml" in r.output and len(r.output.strip().splitlines()) == 1


def test_env_kwargs_in_a_file_and_on_the_command_line(tmp_path):
    f = tmp_path / "cf.yml"
    f.write_text("env_id: ghp/CrazyflieHover-v0\nenv_kwargs: {nominal: true, start_tilt_deg: 5}\n")
    r = ghp("--config", f, "--print-config")
    assert r.exit_code == 0, r.output
    heading = {"yaw_weight": 0.0, "yaw_frame": True, "position_weight": 8.0}  # pinned: recorded by every hover run
    assert yaml.safe_load(r.output)["env_kwargs"] == {"nominal": True, "start_tilt_deg": 5, **heading}
    r = ghp("--config", f, "--env-kwargs", "start_tilt_deg=10", "--print-config")  # the option replaces the file's
    assert r.exit_code == 0, r.output
    assert yaml.safe_load(r.output)["env_kwargs"] == {"start_tilt_deg": 10, **heading}


def test_a_her_warmup_shorter_than_one_episode_per_environment_is_one_line(tmp_path):
    # SB3's HER raised a RuntimeError traceback on its first update when no episode had finished by then.
    pytest.importorskip("gymnasium_robotics")
    args = [
        "train",
        "--env",
        "FetchReach-v4",
        "--steps",
        "500",
        "--learning-starts",
        "32",
        "--out",
        str(tmp_path / "r"),
    ]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2 and "--learning-starts must be at least 400" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "r").exists()
