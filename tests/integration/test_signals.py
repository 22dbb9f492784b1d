"""SIGTERM (Slurm, Kubernetes, ``timeout``) is an interruption like Ctrl-C: real subprocesses receive it."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--n-envs", "2", "--widths", "4,8", "--depths", "1", "--learning-starts", "50", "--quiet"]


def run_ghp(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", "from cli.main import main; main()", *map(str, args)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(cond, proc, timeout=120.0):
    t0 = time.monotonic()
    while not cond():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < timeout, "timed out"
        time.sleep(0.2)


def test_sigterm_saves_model_checkpoint_and_replay_buffer_and_resume_uses_them(tmp_path):
    out = tmp_path / "run"
    p = run_ghp(
        "train",
        "--env",
        "Pendulum-v1",
        "--out",
        out,
        "--steps",
        "1000000",
        "--checkpoint-every",
        "100",
        "--buffer-size",
        "5000",
        *TINY,
    )
    wait_for(lambda: any((out / "checkpoints").glob("step_*.zip")), p)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 128 + signal.SIGTERM, err
    assert "interrupted (SIGTERM)" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert (out / "checkpoints" / "replay_buffer.pkl").is_file() and (out / "model.zip").is_file()
    from stable_baselines3 import SAC

    import ghp.hypernet.policies  # noqa: F401

    step = SAC.load(out / "model.zip", device="cpu").num_timesteps
    assert (out / "checkpoints" / f"step_{step}.zip").is_file()
    r = run_ghp("train", "--env", "Pendulum-v1", "--out", out, "--resume", "--steps", step + 20, "--quiet")
    _, err = r.communicate(timeout=300)
    assert r.returncode == 0, err
    assert "empty replay buffer" not in err  # it was saved and loaded
    assert json.loads((out / "config.json").read_text())["train"]["steps"] == step + 20
    assert (out / "checkpoints" / f"step_{step + 20}.zip").is_file()


@pytest.fixture(scope="module")
def eval_run(tmp_path_factory):
    from ghp.rl.config import TrainConfig
    from ghp.rl.train import train

    out = tmp_path_factory.mktemp("runs") / "run"
    cfg = TrainConfig(env_id="Pendulum-v1", steps=100, n_envs=2, widths=(4, 8, 16, 32), depths=(1, 2, 3), out=str(out))
    return train(TrainConfig(**{**cfg.__dict__, "learning_starts": 50, "checkpoint_every": 10**6}))


def test_sigterm_keeps_finished_chunks_of_an_evaluation(eval_run):
    db = eval_run / "results.sqlite"

    def rows():
        if not db.exists():
            return 0
        try:
            with sqlite3.connect(db, timeout=5) as c:
                return c.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        except sqlite3.OperationalError:
            return 0

    p = run_ghp("evaluate", eval_run, "--episodes", "10", "--chunk-size", "1", "--workers", "1")
    wait_for(lambda: rows() > 0, p)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 128 + signal.SIGTERM, err
    line = err.strip().splitlines()[-1]
    assert "interrupted (SIGTERM)" in line and "Traceback" not in err
    kept = rows()
    assert 0 < kept < 84 and f"{kept} of 84 architectures are saved" in line
