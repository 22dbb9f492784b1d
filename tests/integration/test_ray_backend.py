"""The Ray backend on a local 2-CPU instance (one start for the module): same rows as local, dead workers retried,
a lost head reported in one line and resumed."""

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from ghp.rollout.backend import SerialBackend, WorkerLost, make_backend, map_ordered
from ghp.rollout.evaluate import EvalConfig, evaluate
from ghp.run.results import ResultsStore
from ghp.space.arch import ArchSpace
from tests.integration import faultenv
from tests.integration.evalfakes import FakeRun, copy_run, tiny_run
from tests.unit.test_backend import always_die, die_once, fail, square_plus

ray = pytest.importorskip("ray")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ray_instance(tmp_path_factory):
    """One local Ray instance (2 CPUs) for the module; workers find this checkout and the fault switch."""
    fault_dir = tmp_path_factory.mktemp("fault")
    env = {
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "GHP_TEST_FAULT_DIR": str(fault_dir),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    yield fault_dir
    ray.shutdown()


@pytest.fixture
def fault_dir(ray_instance, monkeypatch):
    """The fault switch, disarmed, for local workers (environment) and Ray workers (set at the instance's start)."""
    for name in ("armed", "died"):
        (ray_instance / name).unlink(missing_ok=True)
    monkeypatch.setenv("GHP_TEST_FAULT_DIR", str(ray_instance))
    yield ray_instance
    for name in ("armed", "died"):
        (ray_instance / name).unlink(missing_ok=True)


def table(db: Path) -> list[tuple]:
    """Every stored column but the time of evaluation, in key order."""
    con = sqlite3.connect(db)
    try:
        cols = [r[1] for r in con.execute("PRAGMA table_info(results)") if r[1] != "evaluated_at"]
        return con.execute(f"SELECT {', '.join(cols)} FROM results ORDER BY arch, eval_seed, episodes").fetchall()
    finally:
        con.close()


def test_ray_backend_maps_retries_and_propagates(ray_instance, tmp_path):
    with make_backend("ray", workers=2) as b:
        assert b.workers == 2
        assert map_ordered(b, square_plus, 7, range(20)) == map_ordered(SerialBackend(), square_plus, 7, range(20))
        got = list(b.run(die_once, str(tmp_path), ((i, i) for i in range(8))))
        assert (tmp_path / "died").exists() and sorted(got) == [(i, 10 * i) for i in range(8)]
        with pytest.raises(ValueError, match="unit 2 is bad"):
            list(b.run(fail, None, ((i, i) for i in range(5))))
    with make_backend("ray", max_retries=1) as b, pytest.raises(WorkerLost):
        list(b.run(always_die, None, ((i, i) for i in range(3))))
    assert ray.is_initialized()  # a backend does not shut down an instance it did not start


def _evaluate_into(db_dir: Path, config: EvalConfig, run=None):
    run = run or FakeRun(faultenv.ENV_ID, ArchSpace(widths=(4, 8, 64), depths=(1, 2, 3)))
    calls = []
    db_dir.mkdir()
    with ResultsStore.open(db_dir, run.run_id) as store:
        summary, _ = evaluate(
            run, list(run.space.archs), config, store, lambda e: calls.append((e.done, e.total, e.figures["env_steps"]))
        )
    return summary, calls, table(db_dir / "results.sqlite")


def test_same_rows_for_every_backend_and_worker_count_and_a_killed_worker_is_retried(fault_dir, tmp_path):
    base = dict(episodes=2, seed=3, max_episode_steps=60)
    ref_summary, _, ref = _evaluate_into(tmp_path / "serial", EvalConfig(**base, in_process=True))
    n = ref_summary.evaluated
    assert n == len(ref) == 39
    variants = {
        "local1": EvalConfig(**base, workers=1),
        "ray2": EvalConfig(**base, backend="ray", chunk_size=5, envs_per_worker=6),
        "ray1": EvalConfig(**base, backend="ray", workers=1, chunk_size=64),
    }
    for name, cfg in variants.items():
        summary, _, rows = _evaluate_into(tmp_path / name, cfg)
        assert rows == ref, name
        assert summary.env_steps == ref_summary.env_steps
    # A worker SIGKILLs itself in the middle of a chunk: the chunk runs again, every
    # architecture is stored once, and progress and summary count what was stored, not what was lost.
    for name, cfg in {
        "local-fault": EvalConfig(**base, workers=2, chunk_size=4),
        "ray-fault": EvalConfig(**base, backend="ray", chunk_size=4),
    }.items():
        (fault_dir / "died").unlink(missing_ok=True)
        (fault_dir / "armed").touch()
        summary, calls, rows = _evaluate_into(tmp_path / name, cfg)
        assert (fault_dir / "died").exists(), f"{name}: no worker was killed"
        assert rows == ref, name
        assert summary.evaluated == n and summary.env_steps == ref_summary.env_steps
        assert calls[0] == (0, n, 0) and calls[-1] == (n, n, ref_summary.env_steps)
        assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_cli_ray_backend_stores_the_rows_local_stores(ray_instance, tmp_path_factory, tmp_path):
    trained = tiny_run(tmp_path_factory.mktemp("runs"))
    a = copy_run(trained, tmp_path / "a")
    b = copy_run(trained, tmp_path / "b")
    args = ["--episodes", "2", "--seed", "5", "--chunk-size", "2"]
    r = CliRunner().invoke(cli, ["evaluate", str(a), *args, "--workers", "1"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["evaluate", str(b), *args, "--backend", "ray"])
    assert r.exit_code == 0, r.output
    assert "2 worker(s)" in r.output
    assert table(a / "results.sqlite") == table(b / "results.sqlite") and len(table(a / "results.sqlite")) == 6
    r = CliRunner().invoke(cli, ["evaluate", str(a), "--ray-address", "auto"])
    assert r.exit_code == 2 and "needs --backend ray" in r.output


def test_es_gives_the_same_result_on_ray_as_locally(ray_instance, tmp_path):
    import numpy as np

    from ghp.es import RolloutPool
    from tests.unit.test_es import _small_run

    _, local = _small_run(tmp_path, 2, workers=0, name="l.npz")
    pm, on_ray = _small_run(tmp_path, 2, workers=0, name="r.npz", pool=RolloutPool(backend="ray"))
    assert np.array_equal(local.theta, on_ray.theta)
    assert local.history == on_ray.history


def test_tune_gives_the_same_policy_on_ray_as_locally(ray_instance, tmp_path_factory, tmp_path):
    import numpy as np

    from tests.integration.test_tune import FAST

    rd = copy_run(tiny_run(tmp_path_factory.mktemp("runs")), tmp_path / "r")
    args = ["tune", str(rd), "--arch", "8-4", *FAST, "--workers", "2"]
    for name, extra in (("loc", []), ("ray", ["--backend", "ray"])):
        r = CliRunner().invoke(cli, [*args, "--name", name, *extra])
        assert r.exit_code == 0, r.output
    a, b = np.load(rd / "tuned" / "loc.npz"), np.load(rd / "tuned" / "ray.npz")
    weights = [k for k in a.files if k.startswith(("w", "b", "W"))]
    assert weights and all(np.array_equal(a[k], b[k]) for k in weights), a.files
    r = CliRunner().invoke(cli, [*args, "--ray-address", "auto"])
    assert r.exit_code == 2 and "needs --backend ray" in r.output


def test_chromatic_gives_the_same_run_on_ray_as_locally(ray_instance, tmp_path):
    import numpy as np

    from tests.integration.test_chromatic_cli import TINY

    args = ["chromatic", *TINY, "--iterations", "2", "--colors", "5", "--workers", "2"]
    for name, extra in (("local", []), ("ray", ["--backend", "ray"])):
        r = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / name), *extra])
        assert r.exit_code == 0, r.output
    a, b = np.load(tmp_path / "local" / "state.npz"), np.load(tmp_path / "ray" / "state.npz")
    for key in ("theta", "ctrl_logits", "obs_mean", "best_theta"):
        np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.slow
def test_lost_head_one_line_then_the_same_command_resumes(tmp_path):
    """`ghp evaluate --backend ray` in its own process with its own local instance, whose head is killed."""
    from ghp.rl.config import TrainConfig
    from ghp.rl.train import train

    # A tiny run on Pendulum whose steps can be slowed down (same results): the evaluation outlasts the kill.
    cfg = TrainConfig(
        env_id=faultenv.ENV_ID, steps=300, n_envs=2, widths=(4, 8), depths=(1, 2), learning_starts=100, batch_size=32
    )
    rd = train(dataclasses.replace(cfg, out=str(tmp_path / "run")), force=True)
    args = ["evaluate", str(rd), "--episodes", "8", "--chunk-size", "1", "--backend", "ray", "--workers", "2"]
    cmd = [sys.executable, "-c", "from cli.main import main; main()", *args]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("GHP_TEST_FAULT_DIR", None)
    # 6 architectures x 8 episodes x 200 steps x 5 ms / 2 workers: 24 s at least; each stop comes after a new row.
    slow = {**env, "GHP_TEST_SLOW_STEP": "0.005"}
    db = rd / "results.sqlite"

    def start_then_wait_for_rows(n: int) -> subprocess.Popen:
        proc = subprocess.Popen(cmd, env=slow, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 180
        while time.time() < deadline and proc.poll() is None:
            try:
                if db.exists() and len(table(db)) >= n:
                    break
            except sqlite3.OperationalError:
                pass  # the schema is being created
            time.sleep(0.05)
        return proc

    # SIGTERM saves like Ctrl-C (Ray's own SIGTERM handler would end the process; cancelling crashed Ray once).
    proc = start_then_wait_for_rows(1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert len([ln for ln in err.splitlines() if ln.startswith("ghp:")]) == 1 and "SIGTERM" in err, err
    first = table(db)
    # The same command continues; its head is killed.
    proc = start_then_wait_for_rows(len(first) + 1)
    gcs = subprocess.run(["pgrep", "-P", str(proc.pid), "-f", "gcs_server"], capture_output=True, text=True)
    assert gcs.stdout.split(), "no head process found"
    for pid in gcs.stdout.split():
        os.kill(int(pid), signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    ours = [ln for ln in err.splitlines() if ln.startswith("ghp:")]
    assert len(ours) == 1 and "lost the Ray cluster" in ours[0] and "resume" in ours[0], err
    partial = table(db)
    assert set(first) < set(partial) and len(partial) < 6
    # The same command, with a fresh local instance, keeps what was stored and finishes the table.
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and f"skipped {len(partial)}" in proc.stderr + proc.stdout, proc.stderr
    full = table(db)
    assert len(full) == 6 and set(partial) <= set(full)
