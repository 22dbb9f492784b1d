"""`ghp report`: the max / 90% / 80% table, Table II and plots of an evaluated tiny run, beside a baseline."""

import json

from click.testing import CliRunner

from cli.main import cli
from ghp.run.layout import run_facts
from ghp.run.results import read_records
from search.analysis import select
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


def goal_run(rd, success, returns=None):
    """A fake FetchReach run in ``rd`` with one evaluated record per architecture key (success rate, mean return)."""
    from ghp.envs import EnvSpec
    from ghp.run.results import ArchRecord, ResultsStore, Setting
    from ghp.space.arch import ArchSpace, parse_arch
    from ghp.space.capacity import lossless_memory_dimension
    from ghp.space.counting import deploy_bytes, deploy_params

    spec = EnvSpec("FetchReach-v4", 13, 4, (-1.0,) * 4, (1.0,) * 4, True)
    space = ArchSpace(widths=(4, 8, 16), depths=(1, 2))
    cfg = {"format_version": 1, "run_id": "goal", "env": spec.to_dict(), "space": space.to_dict(), "algo": "ddpg"}
    (rd / "config.json").write_text(json.dumps(cfg))
    with ResultsStore.open(rd, "goal") as st:
        st.add(
            ArchRecord(
                arch=(a := parse_arch(key)),
                arch_index=space.index(a),
                setting=Setting(100, 0, 2),
                returns=(ret := -10.0 * (1 - s) if returns is None else returns[key], ret),
                lengths=(50, 50),
                success_rate=s,
                params=deploy_params(a, 13, 4),
                bytes=deploy_bytes(a, 13, 4),
                capacity=lossless_memory_dimension(a, 13, 4),
            )
            for key, s in success.items()
        )
    return rd


def test_report_metric_success_on_a_goal_run(tmp_path):
    goal_run(tmp_path, {"4": 0.5, "8": 0.95, "4-4": 0.85, "16": 1.0})
    r = run("report", str(tmp_path), "--metric", "success", "--json", "--cutoffs", "50", "--cutoff-range", "80,300")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["metric"] == "success" and doc["floor_rule"] == "zero"
    assert [(s["label"], s["key"]) for s in doc["selection"]] == [("max", "16"), ("90%", "8"), ("80%", "4-4")]
    assert all(p.endswith(("success_vs_params.png", "success_vs_capacity.png")) for p in doc["plots"])


def test_report_metric_success_needs_a_goal_task(tmp_path_factory, tmp_path):
    rd = copy_run(tiny_run(tmp_path_factory.mktemp("runs")), tmp_path / "r")
    assert run("evaluate", str(rd), "--episodes", "1", "--archs", "4,8").exit_code == 0
    r = run("report", str(rd), "--metric", "success")
    assert r.exit_code == 2 and "goal-conditioned" in r.output and len(r.output.strip().splitlines()) == 1


def test_search_and_export_by_success(tmp_path):
    # The return and the success rate disagree: 16 has the best return, 8-8 the best success rate (tie with 8:
    # the better return wins).
    success = {"4": 0.5, "8": 1.0, "8-8": 1.0, "16": 0.9}
    goal_run(tmp_path, success, returns={"4": -30.0, "8": -9.0, "8-8": -8.0, "16": -2.0})
    ranked = {}
    for by in ("return", "success"):
        r = run("search", "--run", str(tmp_path), "--max-params", "1000", "--by", by, "--json", "--top", "0")
        assert r.exit_code == 0, r.output
        ranked[by] = [x["key"] for x in json.loads(r.output) if x["mean_return"] is not None]
    assert ranked["return"] == ["16", "8-8", "8", "4"]
    assert ranked["success"] == ["8-8", "8", "16", "4"]


def test_search_by_success_needs_success_rates(tmp_path_factory, tmp_path):
    rd = copy_run(tiny_run(tmp_path_factory.mktemp("runs")), tmp_path / "r")
    assert run("evaluate", str(rd), "--episodes", "1", "--archs", "4,8").exit_code == 0
    for args in (["search", "--run", str(rd)], ["export", str(rd), "--best", "--target", "numpy"]):
        r = run(*args, "--max-params", "500", "--by", "success")
        assert r.exit_code == 2 and "--by success needs success rates" in r.output, r.output
        assert len(r.output.strip().splitlines()) == 1
    r = run("export", str(rd), "--arch", "4", "--by", "success", "--target", "numpy")
    assert r.exit_code == 2 and "--by goes with --best" in r.output, r.output


def test_report_and_search_choose_the_evaluation_by_env_kwargs_and_checkpoint(tmp_path_factory, tmp_path):
    rd = copy_run(tiny_run(tmp_path_factory.mktemp("runs")), tmp_path / "r")
    assert run("evaluate", str(rd), "--episodes", "1", "--archs", "4,8,4-4,8-8").exit_code == 0
    r = run("evaluate", str(rd), "--episodes", "1", "--archs", "4,8", "--env-kwargs", "g=2.0")
    assert r.exit_code == 0, r.output
    reports = {}
    for extra in ([], ["--env-kwargs", "g=2.0"], ["--checkpoint", "step_300", "--env-kwargs", "g=2.0"]):
        r = run("report", str(rd), "--json", "--no-plots", *extra)
        assert r.exit_code == 0, r.output
        reports[len(extra)] = json.loads(r.output)
    assert reports[0]["n_archs"] == 4 and reports[0]["setting"]["env_kwargs"] == {}  # default: the most archs
    assert reports[2]["n_archs"] == 2 and reports[2]["setting"]["env_kwargs"] == {"g": 2.0}
    assert reports[4]["selection"] == reports[2]["selection"]
    r = run("search", "--run", str(rd), "--max-params", "100000", "--env-kwargs", "g=2.0", "--json", "--top", "0")
    assert r.exit_code == 0, r.output
    rows = {x["key"]: x["mean_return"] for x in json.loads(r.output) if x["mean_return"] is not None}
    assert rows.keys() == {"4", "8"} and max(rows.values()) == reports[2]["best"]
    for args, needle in (
        (["report", str(rd), "--env-kwargs", "g=3.0"], "no evaluation of"),
        (["report", str(rd), "--checkpoint", "step_7"], "no evaluation of"),
        (["report", str(rd), "--checkpoint", "last"], "step_20000"),
        (["report", str(rd), "--progress", "--checkpoint", "step_300"], "leave out --checkpoint"),
        (["search", "--run", str(rd), "--max-params", "500", "--env-kwargs", "g=3.0"], "no evaluation of"),
        (["search", "--env", "Pendulum-v1", "--max-params", "500", "--env-kwargs", "g=3.0"], "go with --run"),
    ):
        r = run(*args)
        assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1 and needle in r.output, (args, r.output)


def test_report_reads_the_runs_own_setting_by_default(tmp_path_factory, tmp_path):
    """A later evaluation in other env kwargs, even of more architectures, is not what ``ghp report RUN`` reads: the
    run's own setting is, and a line says so and lists the other one (it used to read the later one)."""
    rd = copy_run(tiny_run(tmp_path_factory.mktemp("runs")), tmp_path / "r")
    assert run("evaluate", str(rd), "--episodes", "1", "--archs", "4,8").exit_code == 0
    r = run("evaluate", str(rd), "--episodes", "1", "--archs", "4,8,4-4", "--env-kwargs", "g=2.0")
    assert r.exit_code == 0, r.output
    r = run("report", str(rd), "--json", "--no-plots")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["n_archs"] == 2 and rep["setting"]["env_kwargs"] == {}
    assert len(rep["other_settings"]) == 1 and '"g":2.0' in rep["other_settings"][0]
    other = json.loads(run("report", str(rd), "--json", "--no-plots", "--env-kwargs", "g=2.0").output)
    assert other["n_archs"] == 3 and other["setting"]["env_kwargs"] == {"g": 2.0}
    r = run("report", str(rd), "--no-plots")
    assert r.exit_code == 0, r.output
    note = [line for line in r.output.splitlines() if line.startswith("read step")]
    assert len(note) == 1 and "the run's own env kwargs" in note[0], r.output
    assert '1 other evaluated setting, in env {"g":2.0}' in note[0], r.output
    # search ranks the same evaluations by default
    r = run("search", "--run", str(rd), "--max-params", "100000", "--json", "--top", "0")
    assert {x["key"] for x in json.loads(r.output) if x["mean_return"] is not None} == {"4", "8"}
