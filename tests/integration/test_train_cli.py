"""`ghp train` through the CLI: a tiny run, resume, and one-line errors (exit 2, nothing overwritten)."""

import json

import pytest
from click.testing import CliRunner

from cli.main import cli

TINY = ["--steps", "200", "--n-envs", "2", "--widths", "4,8", "--depths", "1", "--learning-starts", "100", "--quiet"]


def ghp(*args):
    return CliRunner().invoke(cli, ["train", *args])


def test_help_lists_the_options():
    r = CliRunner().invoke(cli, ["train", "--help"])
    assert r.exit_code == 0
    for opt in ("--env", "--algo", "--steps", "--n-envs", "--seed", "--out", "--baseline", "--resume", "--force"):
        assert opt in r.output


def test_train_resume_and_refuse_to_overwrite(tmp_path):
    out = tmp_path / "run"
    r = ghp("--env", "Pendulum-v1", "--out", str(out), *TINY)
    assert r.exit_code == 0, r.output
    assert (out / "model.zip").is_file()
    cfg_before = (out / "config.json").read_text()
    model_before = (out / "model.zip").stat().st_mtime_ns

    r = ghp("--env", "Pendulum-v1", "--out", str(out), *TINY)
    assert r.exit_code == 2 and "--resume" in r.output and "Traceback" not in r.output
    assert (out / "config.json").read_text() == cfg_before
    assert (out / "model.zip").stat().st_mtime_ns == model_before

    r = ghp("--env", "Pendulum-v1", "--out", str(out), "--resume", "--steps", "300", "--quiet")
    assert r.exit_code == 0, r.output
    assert json.loads((out / "config.json").read_text())["run_id"] == json.loads(cfg_before)["run_id"]
    assert (out / "checkpoints" / "step_300.zip").is_file()

    cfg_before = (out / "config.json").read_text()
    r = ghp("--env", "Pendulum-v1", "--out", str(out), "--resume", "--steps", "400", "--seed", "3", "--quiet")
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert "--seed (saved 0, given 3)" in r.output and "Traceback" not in r.output
    assert (out / "config.json").read_text() == cfg_before


@pytest.mark.parametrize(
    "args, message",
    [
        (["--env", "NoSuchEnv-v0"], "unknown environment"),
        (["--env", "CartPole-v1"], "continuous"),
        (["--env", "Pendulum-v1", "--n-envs", "0"], "--n-envs"),
        (["--env", "Pendulum-v1", "--resume"], "nothing to resume"),
        (["--env", "Pendulum-v1", "--widths", "4,x"], "comma-separated"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, args, message):
    out = tmp_path / "run"
    r = ghp(*args, "--out", str(out), "--quiet")
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    assert not out.exists()


def test_unwritable_out_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    r = ghp("--env", "Pendulum-v1", "--out", str(blocker / "run"), "--quiet")
    assert r.exit_code == 2 and "cannot" in r.output
    assert blocker.read_text() == "not a directory"


@pytest.mark.parametrize(
    "contents",
    [
        {"notes.txt": "my thesis"},
        {"config.json": '{"some": "other tool"}', "data.csv": "1,2"},
        {"model.zip": "not ours"},
    ],
)
def test_force_replaces_only_a_ghp_run(tmp_path, contents):
    out = tmp_path / "folder"
    out.mkdir()
    for name, text in contents.items():
        (out / name).write_text(text)
    r = ghp("--env", "Pendulum-v1", "--out", str(out), "--force", *TINY)
    assert r.exit_code == 2, r.output
    assert "--force" in r.output and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == sorted(contents)
    for name, text in contents.items():
        assert (out / name).read_text() == text


def test_force_replaces_a_ghp_run(tmp_path):
    out = tmp_path / "run"
    assert ghp("--env", "Pendulum-v1", "--out", str(out), *TINY).exit_code == 0
    run_id = json.loads((out / "config.json").read_text())["run_id"]
    r = ghp("--env", "Pendulum-v1", "--out", str(out), "--force", *TINY)
    assert r.exit_code == 0, r.output
    assert json.loads((out / "config.json").read_text())["run_id"] != run_id
