"""`ghp evaluate` on real (tiny) trained runs: results, resumption, bad input."""

import json
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
from tests.integration.evalfakes import copy_run, tiny_run


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def one_line_error(r, needle: str) -> None:
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.output.strip().splitlines() if ln]
    assert len(lines) == 1 and needle in lines[0], r.output
    assert "Traceback" not in r.output


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    return tiny_run(tmp_path_factory.mktemp("runs"))


def rows(run_dir: Path) -> list[tuple]:
    con = sqlite3.connect(run_dir / "results.sqlite")
    try:
        sql = "SELECT arch, mean_return, std_return, params, episodes FROM results ORDER BY arch"
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_evaluate_all_then_rerun_skips(trained, tmp_path):
    rd = copy_run(trained, tmp_path / "r")
    r = run("evaluate", str(rd), "--episodes", "2", "--workers", "1")
    assert r.exit_code == 0, r.output
    first = rows(rd)
    assert len(first) == 6 and {row[4] for row in first} == {2}
    assert {row[0] for row in first} == {"4", "8", "4-4", "4-8", "8-4", "8-8"}
    r = run("evaluate", str(rd), "--episodes", "2", "--workers", "2")
    assert r.exit_code == 0 and "skipped 6" in r.output and rows(rd) == first
    # A different setting adds rows beside the first ones.
    r = run("evaluate", str(rd), "--episodes", "1", "--archs", "4-4,8")
    assert r.exit_code == 0, r.output
    assert len(rows(rd)) == 8
    r = run("search", "--run", str(rd), "--max-params", "1000", "--json", "--top", "0")
    ranked = json.loads(r.output)
    assert [x["mean_return"] for x in ranked] == sorted((x["mean_return"] for x in ranked), reverse=True)


def test_same_results_with_workers(trained, tmp_path):
    a = copy_run(trained, tmp_path / "a")
    b = copy_run(trained, tmp_path / "b")
    assert run("evaluate", str(a), "--episodes", "2", "--workers", "1", "--seed", "5").exit_code == 0
    r = run("evaluate", str(b), "--episodes", "2", "--workers", "2", "--seed", "5", "--chunk-size", "1")
    assert r.exit_code == 0, r.output
    assert rows(a) == rows(b)


def test_sigint_midway_then_resume_gives_the_same_table(tmp_path_factory, tmp_path):
    big = tiny_run(tmp_path_factory.mktemp("runs"), widths=(4, 8, 16), depths=(1, 2, 3))
    a = copy_run(big, tmp_path / "a")
    b = copy_run(big, tmp_path / "b")
    args = ["evaluate", "--episodes", "8", "--workers", "1", "--chunk-size", "1", "--envs-per-worker", "8"]
    assert run(args[0], str(a), *args[1:]).exit_code == 0
    full = rows(a)
    assert len(full) == 39

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    cmd = [sys.executable, "-c", "from cli.main import main; main()", args[0], str(b), *args[1:]]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = b / "results.sqlite"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        try:
            if db.exists() and len(rows(b)) >= 3:
                break
        except sqlite3.OperationalError:
            pass  # the schema is being created
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    partial = rows(b)
    assert 3 <= len(partial) < 39 and "resume" in err.decode()
    r = run(args[0], str(b), *args[1:])
    assert r.exit_code == 0 and f"skipped {len(partial)}" in r.output
    assert rows(b) == full


def test_bad_input_one_line_exit_2_nothing_destroyed(trained, tmp_path, tmp_path_factory):
    one_line_error(run("evaluate", str(tmp_path / "missing")), "not a ghp run directory")
    rd = copy_run(trained, tmp_path / "r")
    one_line_error(run("evaluate", str(rd), "--archs", "16-16"), "outside the space")
    one_line_error(run("evaluate", str(rd), "--archs", "4-x"), "malformed --archs")
    one_line_error(run("evaluate", str(rd), "--archs", "0"), "count")
    one_line_error(run("evaluate", str(rd), "--checkpoint", "step_99"), "no checkpoint")
    assert not (rd / "results.sqlite").exists()

    # Results of another run are refused and left as they were.
    other = copy_run(tiny_run(tmp_path_factory.mktemp("runs"), seed=1), tmp_path / "other")
    assert run("evaluate", str(other), "--archs", "4", "--episodes", "1").exit_code == 0
    (rd / "results.sqlite").write_bytes((other / "results.sqlite").read_bytes())
    before = (rd / "results.sqlite").read_bytes()
    one_line_error(run("evaluate", str(rd)), "belongs to run")
    one_line_error(run("report", str(rd)), "belongs to run")
    one_line_error(run("search", "--run", str(rd), "--max-params", "100"), "belongs to run")
    assert (rd / "results.sqlite").read_bytes() == before

    # An older schema is refused.
    con = sqlite3.connect(other / "results.sqlite")
    with con:
        con.execute("UPDATE meta SET value='0' WHERE key='schema_version'")
    con.close()
    one_line_error(run("evaluate", str(other)), "schema version 0")

    # A corrupt run: garbage config, garbage model.
    bad = copy_run(trained, tmp_path / "bad")
    (bad / "model.zip").write_bytes(b"not a zip")
    one_line_error(run("evaluate", str(bad)), "corrupt model")
    (bad / "config.json").write_text("{not json")
    one_line_error(run("evaluate", str(bad)), "corrupt run config")
    one_line_error(run("report", str(bad)), "corrupt run config")


def test_sample_seed_draws_the_sample_apart_from_the_rollout_seed(trained, tmp_path):
    from ghp.rollout.evaluate import parse_arch_selection
    from ghp.run.layout import run_facts

    rd = copy_run(trained, tmp_path / "r")
    space = run_facts(rd)[2]
    assert parse_arch_selection("3", space, 1) != parse_arch_selection("3", space, 2)  # --seed alone would differ
    for seed in ("1", "2"):
        r = run("evaluate", str(rd), "--archs", "3", "--sample-seed", "7", "--seed", seed, "--episodes", "1")
        assert r.exit_code == 0, r.output
    con = sqlite3.connect(rd / "results.sqlite")
    by_seed = {}
    for arch, seed in con.execute("SELECT arch, eval_seed FROM results"):
        by_seed.setdefault(seed, set()).add(arch)
    con.close()
    want = {a.key for a in parse_arch_selection("3", space, 7)}
    assert by_seed == {1: want, 2: want}
