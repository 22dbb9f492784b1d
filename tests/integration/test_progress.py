"""Learning progress: `ghp evaluate --checkpoints`, `ghp report --progress`, `--checkpoint best` in search / export."""

import json

from click.testing import CliRunner

from cli.main import cli
from ghp.run.layout import checkpoints, run_facts
from ghp.run.records import best_over_checkpoints
from ghp.run.results import read_progress
from tests.integration.evalfakes import copy_run, tiny_run


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_checkpoints_progress_report_and_best(tmp_path_factory, tmp_path):
    root = tmp_path_factory.mktemp("runs")
    rd = copy_run(tiny_run(root, checkpoint_every=100), tmp_path / "r")
    base = copy_run(tiny_run(root, widths=(256,), depths=(2,), baseline=True, checkpoint_every=100), tmp_path / "b")
    steps = [s for s, _ in checkpoints(rd)]
    assert steps == [100, 200, 300]

    r = run("report", str(rd), "--progress")
    assert r.exit_code == 2 and "--checkpoints all" in r.output

    r = run("evaluate", str(rd), "--archs", "4", "--episodes", "1", "--checkpoints", "all", "--workers", "1")
    assert r.exit_code == 0, r.output
    assert "3 checkpoints" in r.output
    by_step = read_progress(rd, run_facts(rd)[0])
    assert sorted(by_step) == steps
    keys = [sorted(x.arch.key for x in recs) for recs in by_step.values()]
    assert len(keys[0]) == 4 and keys[0] == keys[1] == keys[2]  # the same sample at every checkpoint
    # The latest model is the last checkpoint: nothing new to evaluate.
    r = run("evaluate", str(rd), "--archs", "4", "--episodes", "1", "--workers", "1")
    assert r.exit_code == 0 and "skipped 4" in r.output, r.output
    assert run("evaluate", str(base), "--episodes", "1", "--checkpoints", "step_100,step_300").exit_code == 0

    r = run("report", str(rd), "--progress", "--baseline", str(base), "--json", "--out", str(tmp_path / "rep"))
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert [p["step"] for p in doc["points"]] == steps
    for p in doc["points"]:
        recs = by_step[p["step"]]
        assert p["best"] == max(x.mean_return for x in recs)
        assert [s["label"] for s in p["selection"]] == ["max", "90%", "80%"]
        assert p["selection"][0]["value"] == p["best"]
    assert doc["floor"] == min(x.mean_return for recs in by_step.values() for x in recs)
    assert [b["step"] for b in doc["baseline"]] == [100, 300] and doc["baseline"][0]["params"] > 60000
    with open(doc["plot"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    r = run("report", str(rd), "--progress", "--baseline", str(base), "--no-plots")
    assert r.exit_code == 0 and "learning progress" in r.output and "baseline" in r.output, r.output

    # --checkpoint best: each architecture at its best checkpoint; export picks that pair.
    best = best_over_checkpoints(by_step)
    r = run("search", "--run", str(rd), "--max-params", "100000", "--checkpoint", "best", "--json", "--top", "0")
    assert r.exit_code == 0, r.output
    rows = [x for x in json.loads(r.output) if x["mean_return"] is not None]
    assert len(rows) == 4
    for x in rows:
        assert x["mean_return"] == best[x["key"]].mean_return
        assert x["checkpoint_step"] == best[x["key"]].setting.checkpoint_step
    top = rows[0]
    out = tmp_path / "exp"
    r = run("export", str(rd), "--best", "--max-params", "100000", "--checkpoint", "best", "--target", "numpy",
            "--out", str(out))  # fmt: skip
    assert r.exit_code == 0, r.output
    assert f"exported {top['key']} " in r.output


def test_progress_bad_input(tmp_path_factory, tmp_path):
    rd = copy_run(tiny_run(tmp_path_factory.mktemp("runs"), checkpoint_every=100), tmp_path / "r")
    for args, needle in (
        (["evaluate", str(rd), "--checkpoints", "step_7"], "no checkpoint 'step_7'"),
        (["evaluate", str(rd), "--checkpoints", ","], "--checkpoints"),
        (["evaluate", str(rd), "--checkpoints", "all", "--checkpoint", "step_100"], "--checkpoints alone"),
        (["search", "--env", "Pendulum-v1", "--max-params", "50", "--checkpoint", "best"], "--run"),
        (["search", "--run", str(rd), "--max-params", "500", "--checkpoint", "step_100"], "not evaluated"),
        (["export", str(rd), "--arch", "4", "--checkpoint", "best", "--target", "numpy"], "--checkpoints all"),
    ):
        r = run(*args)
        assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1 and needle in r.output, (args, r.output)
