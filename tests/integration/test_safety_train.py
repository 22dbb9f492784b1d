"""ghp train destroys nothing it should not, refuses bad input in one line, and says truly what it saved
(issue 26, items 2, 7 and 9)."""

import json

import pytest
from click.testing import CliRunner

from cli.main import cli
from ghp.rl.config import TrainConfig
from ghp.rl.train import TrainingInterrupted, train

TINY = ["--steps", "200", "--n-envs", "2", "--widths", "4,8", "--depths", "1", "--learning-starts", "100", "--quiet"]


def ghp(*args):
    return CliRunner().invoke(cli, ["train", *map(str, args)])


def snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def run(tmp_path):
    out = tmp_path / "run"
    assert ghp("--env", "Pendulum-v1", "--out", out, *TINY).exit_code == 0
    (out / "results.sqlite").write_bytes(b"results of the old run")
    (out / "notes.txt").write_text("mine")
    return out


@pytest.mark.parametrize(
    "bad",
    [["--seed", "-1"], ["--lr", "nan"], ["--lr", "0"], ["--gamma", "5"], ["--tau", "-3"], ["--env", "this:Foo-v0"]],
)
def test_force_with_a_bad_setting_leaves_the_run_intact(run, bad):
    before = snapshot(run)
    args = ["--env", "Pendulum-v1", "--out", run, "--force", *TINY, *bad]
    r = ghp(*args)
    assert r.exit_code == 2 and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert snapshot(run) == before
    assert sorted(p.name for p in run.parent.iterdir()) == ["run"]  # no temporary directory left


def test_force_onto_the_run_the_config_comes_from_is_refused(run):
    before = snapshot(run)
    r = ghp("--config", run / "config.json", "--force", "--quiet")
    assert r.exit_code == 2 and "comes from" in r.output and "--out" in r.output, r.output
    assert snapshot(run) == before
    r = ghp("--config", run / "config.json", "--out", run.parent / "again", "--quiet", "--steps", "200")
    assert r.exit_code == 0, r.output  # replaying it elsewhere works


def test_force_swaps_the_new_run_in_and_keeps_what_train_did_not_write(run):
    old_id = json.loads((run / "config.json").read_text())["run_id"]
    r = ghp("--env", "Pendulum-v1", "--out", run, "--force", *TINY)
    assert r.exit_code == 0, r.output
    assert json.loads((run / "config.json").read_text())["run_id"] != old_id
    assert not (run / "notes.txt").exists() and not (run / "results.sqlite").exists()
    (kept,) = run.parent.glob("run.replaced-*")
    assert kept.name == f"run.replaced-{old_id[:8]}" and str(kept) in r.output
    assert sorted(p.name for p in kept.iterdir()) == ["notes.txt", "results.sqlite"]
    assert (kept / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in run.parent.iterdir()) == ["run", kept.name]


def test_force_that_fails_while_training_leaves_the_old_run(run, tmp_path):
    before = snapshot(run)

    def crash(locals_, globals_):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        train(
            TrainConfig(env_id="Pendulum-v1", out=str(run), steps=200, n_envs=2, widths=(4, 8), depths=(1,)),
            force=True,
            callback=crash,
        )
    assert snapshot(run) == before
    assert sorted(p.name for p in run.parent.iterdir()) == ["run"]


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("env_kwargs: 5", "env_kwargs"),
        ("freeze: 5", "freeze"),
        ("steps: 1e400", "steps"),
        ("steps: 1.0e+400", "steps"),
        ("seed: 1.7", "seed"),
        ("widths: [4, x]", "widths"),
        ("n_envs: true", "n_envs"),
        ("lr: .nan", "--lr"),
    ],
)
def test_bad_config_file_values_are_one_line(tmp_path, yaml_text, message):
    cfg = tmp_path / "c.yml"
    cfg.write_text(f"env_id: Pendulum-v1\n{yaml_text}\n")
    out = tmp_path / "run"
    r = ghp("--config", cfg, "--out", out, "--quiet")
    assert r.exit_code == 2 and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert message in r.output
    assert not out.exists()


def test_config_file_lists_and_whole_floats_still_work(tmp_path):
    cfg = tmp_path / "c.yml"
    cfg.write_text("env_id: Pendulum-v1\nsteps: 2.0e+2\nfreeze: [bias]\nwidths: [4, 8]\ndepths: [1]\nn_envs: 2\n")
    r = ghp("--config", cfg, "--print-config")
    assert r.exit_code == 0, r.output
    assert "steps: 200" in r.output and "freeze: [bias]" in r.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--widths", "100000000"], "at most"),
        (["--depths", "8"], "architectures"),
        (["--eval-episodes", "5000000"], "--eval-episodes"),
        (["--actor-lr", "-1"], "--actor-lr"),
    ],
)
def test_sizes_are_checked_before_allocation(tmp_path, args, message):
    r = ghp("--env", "Pendulum-v1", "--out", tmp_path / "run", "--quiet", *args)
    assert r.exit_code == 2 and message in r.output and len(r.output.strip().splitlines()) == 1, r.output


def test_evaluate_episodes_are_bounded(run):
    r = CliRunner().invoke(cli, ["evaluate", str(run), "--episodes", "5000000"])
    assert r.exit_code == 2 and "--episodes must be at most" in r.output, r.output


def test_an_interruption_before_training_says_nothing_was_saved(tmp_path, monkeypatch):
    import ghp.rl.train as train_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "build_model", interrupted)
    r = ghp("--env", "Pendulum-v1", "--out", tmp_path / "run", *TINY)
    assert r.exit_code == 130
    assert "nothing was saved" in r.output and "replay buffer" not in r.output, r.output


def test_an_interruption_while_training_says_what_was_saved(tmp_path):
    def stop(locals_, globals_):
        if locals_["self"].num_timesteps >= 150:
            raise KeyboardInterrupt
        return True

    out = tmp_path / "run"
    with pytest.raises(TrainingInterrupted) as e:
        train(
            TrainConfig(env_id="Pendulum-v1", out=str(out), steps=400, n_envs=2, widths=(4,), depths=(1,)),
            callback=stop,
        )
    assert e.value.saved[0] == "model.zip" and e.value.saved[-1] == "the replay buffer"
    assert e.value.saved[1].startswith("checkpoint checkpoints/step_")
    assert (out / "model.zip").is_file() and (out / "checkpoints" / "replay_buffer.pkl").is_file()


def test_a_second_evaluation_of_a_run_is_refused_while_one_writes(run):
    from ghp.io.lock import run_lock

    (run / "results.sqlite").unlink()  # the fixture's stand-in for a user's file
    with run_lock(run, "evaluate", resource="results"):
        r = CliRunner().invoke(cli, ["evaluate", str(run), "--archs", "4", "--episodes", "1"])
    assert r.exit_code == 2 and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert "evaluate" in r.output
    r = CliRunner().invoke(cli, ["evaluate", str(run), "--archs", "1", "--episodes", "1", "--workers", "1"])
    assert r.exit_code == 0, r.output  # released: the next evaluation runs
