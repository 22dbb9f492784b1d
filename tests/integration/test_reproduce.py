"""`benchmarks/reproduce.py` end to end at a smoke budget: runs in parallel, the table, resumable."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "reproduce.py"


def reproduce(out: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(SCRIPT), "--tasks", "Pendulum-v1", "--steps", "300", "--archs", "2", "--episodes", "1"]
    cmd += ["--checkpoint-every", "150", "--out", str(out), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def test_two_runs_at_once_give_the_table_and_rerun_to_nothing(tmp_path):
    p = reproduce(tmp_path, "--methods", "ghp,small", "--small", "4", "--jobs", "2")
    assert p.returncode == 0, p.stderr[-2000:]
    doc = json.loads((tmp_path / "results.json").read_text())
    assert [r["method"] for r in doc["rows"]] == ["ghp", "small"]  # job order, whichever finished first
    ghp, small = doc["rows"]
    assert ghp["step"] == small["step"] == 304  # 300 steps, rounded up to whole steps of the 8 environments
    assert [p["step"] for p in ghp["progress"]] == [152, 304]  # every checkpoint evaluated
    assert small["max"]["arch"] == "4" and small["max"]["params"] == 3 * 4 + 4 + 4 + 1
    assert isinstance(ghp["90%"]["value"], float) and ghp["90%"]["params"] <= ghp["max"]["params"]
    with open(tmp_path / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert {r["method"] for r in table} == {"ghp", "small"} and all(r["value"] for r in table)
    # Finished runs resume to nothing and evaluated checkpoints are skipped: the same table again.
    again = reproduce(tmp_path, "--methods", "ghp,small", "--small", "4", "--jobs", "2")
    assert again.returncode == 0, again.stderr[-2000:]
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert [(r["max"], r["90%"]) for r in rows] == [(r["max"], r["90%"]) for r in doc["rows"]]


def test_confirmation_and_the_iqm_across_seeds(tmp_path):
    p = reproduce(tmp_path, "--methods", "ghp", "--seeds", "0,1", "--confirm", "1", "--confirm-episodes", "2")
    assert p.returncode == 0, p.stderr[-2000:]
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert all(r["max"]["figure"] == "confirmed" and r["max"]["confirmed"]["n"] == 2 for r in rows)
    table = json.loads((tmp_path / "across_seeds.json").read_text())
    assert [t["label"] for t in table] == ["max", "90%", "80%"]
    top = table[0]
    assert top["seeds"] == [0, 1] and top["figures"] == ["confirmed", "confirmed"] and len(top["values"]) == 2
    assert top["iqm"]["low"] <= top["iqm"]["value"] <= top["iqm"]["high"]
    # --summarise rebuilds both tables from results.json alone (as for a reproduction still running): the same ones.
    (tmp_path / "across_seeds.json").unlink()
    (tmp_path / "results.csv").unlink()
    p = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path), "--summarise"], capture_output=True,
                       text=True, timeout=300)  # fmt: skip
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads((tmp_path / "across_seeds.json").read_text()) == table
    assert (tmp_path / "results.csv").is_file()
    p = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "none"), "--summarise"],
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert p.returncode == 2 and "no run has finished there" in p.stderr


def test_bad_options_are_refused(tmp_path):
    for args, needle in ((["--jobs", "0"], "--jobs"), (["--methods", "ghp,dqn"], "unknown method")):
        p = reproduce(tmp_path, *args)
        assert p.returncode == 2 and needle in p.stderr, p.stderr


def test_the_matrix_on_ray_gives_the_same_table(tmp_path):
    """--backend ray: each run one Ray task on a local 2-CPU instance; the table is the local queue's, and a rerun
    resumes to nothing."""
    pytest.importorskip("ray")
    local = reproduce(tmp_path / "local", "--methods", "small", "--small", "4", "--seeds", "0,1", "--jobs", "2")
    assert local.returncode == 0, local.stderr[-2000:]
    p = reproduce(tmp_path / "ray", "--methods", "small", "--small", "4", "--seeds", "0,1", "--backend", "ray",
                  "--jobs", "2")  # fmt: skip
    assert p.returncode == 0, p.stderr[-2000:]
    assert "ray: 2 runs at once" in p.stdout
    rows = json.loads((tmp_path / "ray" / "results.json").read_text())["rows"]
    want = json.loads((tmp_path / "local" / "results.json").read_text())["rows"]
    assert [(r["seed"], r["max"]["value"]) for r in rows] == [(r["seed"], r["max"]["value"]) for r in want]
    assert (tmp_path / "ray" / "across_seeds.json").is_file()
