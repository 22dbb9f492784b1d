import json
import subprocess
import sys

from click.testing import CliRunner

from cli.main import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_search_json_lists_paper_arch_at_187():
    r = run("search", "--obs-dim", "11", "--act-dim", "3", "--max-params", "187", "--top", "0", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    hit = [row for row in rows if row["arch"] == [8, 4, 4, 4]]
    assert hit and hit[0]["params"] == 187
    assert all(row["params"] <= 187 for row in rows)
    assert {"arch", "params", "bytes", "capacity"} <= set(rows[0])
    caps = [row["capacity"] for row in rows]
    assert caps == sorted(caps, reverse=True)
    assert sum(row["largest"] for row in rows) == 1


def test_search_table_and_top():
    r = run("search", "--obs-dim", "11", "--act-dim", "3", "--max-params", "500", "--top", "3")
    assert r.exit_code == 0, r.output
    assert "32" in r.output and "capacity" in r.output


def test_search_bytes_budget_int8():
    r = run(
        "search", "--obs-dim", "11", "--act-dim", "3", "--max-bytes", "400", "--dtype", "int8", "--json", "--top", "0"
    )
    rows = json.loads(r.output)
    assert r.exit_code == 0 and rows and all(row["bytes"] <= 400 for row in rows)


def test_search_env_reads_dims():
    r = run("search", "--env", "Pendulum-v1", "--max-params", "40", "--top", "0", "--json", "--depths", "0,1")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    # Pendulum: obs 3, act 1, so [4] has 3*4 + 4 + 4*1 + 1 = 21 parameters and the linear policy 4.
    assert [row["params"] for row in rows if row["arch"] == [4]] == [21]
    assert [row["params"] for row in rows if row["arch"] == []] == [4]


def test_search_goal_env_appends_goal():
    r = run("search", "--env", "FetchReach-v4", "--max-params", "132", "--top", "0", "--json")
    assert r.exit_code == 0, r.output
    assert [row["params"] for row in json.loads(r.output) if row["arch"] == [4, 8]] == [132]


def one_line_error(r, needle: str) -> None:
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.output.strip().splitlines() if ln]
    assert len(lines) == 1 and needle in lines[0], r.output
    assert "Traceback" not in r.output


def test_bad_inputs_are_one_line_exit_2():
    one_line_error(run("search", "--env", "NoSuchEnv-v0", "--max-params", "100"), "unknown environment")
    one_line_error(run("search", "--env", "CartPole-v1", "--max-params", "100"), "Discrete")
    one_line_error(run("search", "--obs-dim", "11", "--act-dim", "3", "--max-params", "10"), "smallest")
    one_line_error(run("search", "--obs-dim", "0", "--act-dim", "3", "--max-params", "10"), "--obs-dim")
    one_line_error(run("search", "--obs-dim", "11", "--act-dim", "3", "--max-params", "-5"), "--max-params")
    one_line_error(run("search", "--obs-dim", "11", "--act-dim", "3"), "budget")
    one_line_error(
        run("search", "--obs-dim", "11", "--act-dim", "3", "--max-params", "99", "--widths", "4,x"), "--widths"
    )


def test_help_is_fast_and_imports_no_torch():
    code = "import sys; from cli.main import cli; assert 'torch' not in sys.modules and 'numpy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    r = run("--help")
    assert r.exit_code == 0 and "search" in r.output


def test_search_run_by_capacity_then_by_measured_return(tmp_path_factory, tmp_path):
    from tests.integration.evalfakes import copy_run, tiny_run

    rd = copy_run(tiny_run(tmp_path_factory.mktemp("runs")), tmp_path / "r")
    # No results yet: the run's sizes (Pendulum 3 -> 1) and space, ranked by capacity like the offline form.
    r = run("search", "--run", str(rd), "--max-params", "70", "--top", "0", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    offline = json.loads(
        run("search", "--obs-dim", "3", "--act-dim", "1", "--max-params", "70", "--widths", "4,8", "--depths", "1,2",
            "--top", "0", "--json").output
    )  # fmt: skip
    assert [x["key"] for x in rows] == [x["key"] for x in offline]
    assert all(x["mean_return"] is None for x in rows)
    one_line_error(run("search", "--run", str(rd), "--max-params", "70", "--by", "return"), "ghp evaluate")
    one_line_error(run("search", "--run", str(rd), "--env", "Pendulum-v1", "--max-params", "70"), "--run")
    one_line_error(run("search", "--run", str(tmp_path / "nope"), "--max-params", "70"), "not a ghp run")

    assert run("evaluate", str(rd), "--episodes", "2").exit_code == 0
    rows = json.loads(run("search", "--run", str(rd), "--max-params", "70", "--top", "0", "--json").output)
    rets = [x["mean_return"] for x in rows]
    assert None not in rets and rets == sorted(rets, reverse=True)
    assert all(x["params"] <= 70 for x in rows) and {"std_return", "bytes", "capacity"} <= set(rows[0])
    by_size = json.loads(run("search", "--run", str(rd), "--max-params", "70", "--by", "size", "--json").output)
    assert by_size[0]["largest"] and by_size[0]["params"] == max(x["params"] for x in rows)
    by_cap = json.loads(run("search", "--run", str(rd), "--max-params", "70", "--by", "capacity", "--json").output)
    assert [x["capacity"] for x in by_cap] == sorted((x["capacity"] for x in by_cap), reverse=True)
    r = run("search", "--run", str(rd), "--max-bytes", "300", "--top", "2")
    assert r.exit_code == 0 and "±" in r.output and "ranked by return" in r.output
