"""`ghp report`: the max / 90% / 80% table, Table II and plots of an evaluated tiny run, beside a baseline."""

import json

from click.testing import CliRunner

from cli.main import cli
from ghp.results import read_records
from search.analysis import select
from search.budget import run_facts
from tests.integration.evalfakes import copy_run, tiny_run


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_report_table_plots_and_baseline(tmp_path_factory, tmp_path):
    root = tmp_path_factory.mktemp("runs")
    rd = copy_run(tiny_run(root), tmp_path / "r")
    base = copy_run(tiny_run(root, widths=(256,), depths=(2,), baseline=True), tmp_path / "base")

    r = run("report", str(rd))
    assert r.exit_code == 2 and "ghp evaluate" in r.output  # nothing evaluated yet

    assert run("evaluate", str(rd), "--episodes", "2").exit_code == 0
    r = run("evaluate", str(base), "--episodes", "2")
    assert r.exit_code == 0, r.output
    r = run("report", str(rd), "--baseline", str(base), "--cutoffs", "200", "--cutoff-range", "21,120", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    records = read_records(rd, run_facts(rd)[0])
    expected = select(records)
    assert [s["key"] for s in doc["selection"]] == [row.arch.key for row in expected.rows]
    assert [s["label"] for s in doc["selection"]] == ["max", "90%", "80%"]
    assert doc["best"] == max(x.mean_return for x in records) and doc["floor_rule"] == "worst"
    assert doc["baseline"]["key"] == "256-256" and doc["baseline"]["params"] == 3 * 256 + 256 + 256 * 257 + 257
    t2 = doc["table_ii"]
    assert t2["used"] == 200 and 0 <= t2["capacity_ratio"] <= 1 and 0 <= t2["size_ratio"] <= 1
    assert len(doc["plots"]) == 2
    for p in doc["plots"]:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"

    out = tmp_path / "plots"
    r = run("report", str(rd), "--baseline", str(base), "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "max" in r.output and "90%" in r.output and "baseline" in r.output and "Table II" in r.output
    assert (out / "return_vs_params.png").stat().st_size > 1000 and (out / "return_vs_capacity.png").exists()


def test_report_bad_input(tmp_path_factory, tmp_path):
    root = tmp_path_factory.mktemp("runs")
    rd = copy_run(tiny_run(root), tmp_path / "r")
    assert run("evaluate", str(rd), "--episodes", "1", "--archs", "4,8").exit_code == 0
    for args, needle in (
        (["report", str(tmp_path / "nope")], "not a ghp run directory"),
        (["report", str(rd), "--cutoff-range", "5"], "--cutoff-range"),
        (["report", str(rd), "--baseline", str(rd / "nope")], "not a ghp run directory"),
        (["report", str(rd), "--floor", "1e9"], "floor"),
    ):
        r = run(*args)
        assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1 and needle in r.output, r.output
