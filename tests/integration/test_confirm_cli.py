"""`ghp evaluate --confirm`, then report / search / export --best: confirmed figures first, the gap shown."""

import json

from click.testing import CliRunner

from cli.main import cli
from ghp.run.layout import run_facts
from ghp.run.results import ArchRecord, ResultsStore, Setting
from ghp.space.arch import parse_arch
from ghp.space.capacity import lossless_memory_dimension
from ghp.space.counting import deploy_bytes, deploy_params
from tests.integration.evalfakes import copy_run, tiny_run


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def store_rows(rd, setting, returns):
    """Rows of ``setting`` in a run's results: ``returns[key]`` are an architecture's episode returns."""
    run_id, spec, space = run_facts(rd)
    with ResultsStore.open(rd, run_id) as st:
        st.add(
            ArchRecord(
                arch=(a := parse_arch(key)),
                arch_index=space.index(a),
                setting=setting,
                returns=tuple(rets),
                lengths=(200,) * len(rets),
                success_rate=None,
                params=deploy_params(a, spec.obs_dim, spec.act_dim),
                bytes=deploy_bytes(a, spec.obs_dim, spec.act_dim),
                capacity=lossless_memory_dimension(a, spec.obs_dim, spec.act_dim),
            )
            for key, rets in returns.items()
        )


SCREEN = Setting(300, 0, 5)
CONFIRM = Setting(300, 0, 40, kind="confirm")


def lucky_run(rd):
    """Screening: 4 wins (-150) by luck; on 40 held-out starts 4 gives -600 and 8-8 (screened -160) -170."""
    store_rows(rd, SCREEN, {"4": [-150.0] * 5, "8-8": [-160.0] * 5, "8": [-300.0] * 5, "4-4": [-900.0] * 5})
    store_rows(rd, CONFIRM, {"4": [-500.0, -700.0] * 20, "8-8": [-150.0, -190.0] * 20})


def test_report_search_and_export_prefer_confirmed_figures(tmp_path_factory, tmp_path):
    rd = copy_run(tiny_run(tmp_path_factory.mktemp("runs")), tmp_path / "r")
    lucky_run(rd)
    r = run("report", rd, "--json", "--no-plots", "--cutoffs", "20")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    top = doc["selection"][0]
    assert doc["figure"] in ("confirmed", "mixed") and top["label"] == "max" and top["key"] == "4"
    assert top["figure"] == "confirmed" and top["kind"] == "confirm" and top["episodes"] == 40
    assert top["mean_return"] == -600.0 and top["screening"]["value"] == -150.0 and top["gap"] == -450.0
    c = top["confirmed"]
    assert c["n"] == 40 and c["method"] == "bootstrap" and c["low"] < -600.0 < c["high"] and c["high"] - c["low"] < 80
    assert "wins" in doc["table_ii"] and "ties" in doc["table_ii"] and "capacity_wins" not in doc["table_ii"]
    r = run("report", rd, "--no-plots", "--cutoffs", "20")
    assert r.exit_code == 0 and "screening" in r.output and "confirmed" in r.output and "-450.0" in r.output

    r = run("search", "--run", rd, "--max-params", "100000", "--json", "--top", "0")
    assert r.exit_code == 0, r.output
    ranked = [(x["key"], x["figure"]) for x in json.loads(r.output) if x["mean_return"] is not None]
    assert ranked[:2] == [("8-8", "confirmed"), ("4", "confirmed")] and ranked[2][1] == "screening"

    r = run("export", rd, "--best", "--max-params", "100000", "--target", "numpy", "--out", tmp_path / "x")
    assert r.exit_code == 0, r.output
    assert "exported 8-8 " in r.output  # the best confirmed policy, not the screening winner 4


def test_evaluate_confirm_on_a_run_and_its_user_errors(tmp_path_factory, tmp_path):
    rd = copy_run(tiny_run(tmp_path_factory.mktemp("runs")), tmp_path / "r")
    r = run("evaluate", rd, "--confirm", "2", "--in-process")
    assert r.exit_code == 2 and "no results" in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert not (rd / "results.sqlite").exists()
    assert run("evaluate", rd, "--episodes", "2", "--in-process", "--max-episode-steps", "30").exit_code == 0
    r = run("evaluate", rd, "--confirm", "2", "--in-process")  # screened with another episode limit
    assert r.exit_code == 2 and "no screening" in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert run("evaluate", rd, "--episodes", "2", "--in-process", "--max-episode-steps", "20").exit_code == 0
    r = run("evaluate", rd, "--confirm", "2", "--archs", "4")
    assert r.exit_code == 2 and "--confirm chooses" in r.output, r.output
    r = run("evaluate", rd, "--confirm", "2", "--confirm-by", "success", "--in-process", "--max-episode-steps", "20")
    assert r.exit_code == 2 and "success rates" in r.output, r.output
    args = ["evaluate", rd, "--confirm", "2", "--confirm-episodes", "6", "--in-process", "--max-episode-steps", "20"]
    r = run(*args)
    assert r.exit_code == 0 and "confirming" in r.output and "held-out" in r.output, r.output
    run_id, _, _ = run_facts(rd)
    with ResultsStore.open(rd, run_id, readonly=True) as st:
        screening = st.records()
        confirmed = st.confirmed(screening[0].setting)
    assert len(screening) == 6 and 2 <= len(confirmed) <= 5
    assert {r.setting.episodes for r in confirmed.values()} == {6}
    assert run(*args).output.count("skipped") == 1  # run again: everything resumes to nothing


def test_report_over_seeds_gives_the_iqm_with_an_interval(tmp_path_factory, tmp_path):
    src = tiny_run(tmp_path_factory.mktemp("runs"))
    dirs = []
    for i, best in enumerate((-150.0, -200.0, -170.0, -160.0, -2000.0)):  # one failed seed: the IQM cuts it
        rd = copy_run(src, tmp_path / f"s{i}")
        store_rows(rd, SCREEN, {"4": [best] * 5, "8": [-3000.0] * 5})
        dirs.append(rd)
    store_rows(dirs[0], CONFIRM, {"4": [-180.0] * 40})
    r = run("report", *dirs, "--json", "--cutoffs", "10")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    top = doc["across_seeds"][0]
    assert top["label"] == "max" and top["values"] == [-180.0, -200.0, -170.0, -160.0, -2000.0]
    assert top["figures"] == ["confirmed"] + ["screening"] * 4 and len(doc["runs"]) == 5
    iqm = top["iqm"]
    assert (
        iqm["value"] == (-180.0 - 170.0 - 200.0) / 3 and iqm["n"] == 5 and iqm["method"] == "iqm-stratified-bootstrap"
    )
    assert iqm["low"] < iqm["value"] < iqm["high"]
    r = run("report", *dirs[:2], "--cutoffs", "10")
    assert r.exit_code == 0 and "IQM" in r.output, r.output
    r = run("report", *dirs[:2], "--progress")
    assert r.exit_code == 2 and "go with one run" in r.output and len(r.output.strip().splitlines()) == 1
