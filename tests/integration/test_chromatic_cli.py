"""``ghp chromatic`` end to end on HalfCheetah-v5 with 10-step episodes: run format, resume, evaluate, bad input."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli

TINY = ["--env", "HalfCheetah-v5", "--max-episode-steps", "10", "--directions", "2", "--eval-every", "1", "--quiet"]


def load_run_id(path):
    return json.loads((path / "config.json").read_text())["run_id"]


def ghp(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def learned_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("chromatic") / "learned"
    r = ghp("chromatic", *TINY, "--iterations", "3", "--colors", "5", "--out", out)
    assert r.exit_code == 0, r.output
    return out


def test_help_lists_the_options():
    r = ghp("chromatic", "--help")
    assert r.exit_code == 0
    for opt in ("--partition", "--colors", "--hidden", "--iterations", "--directions", "--workers", "--resume"):
        assert opt in r.output


def test_run_holds_policy_colouring_counts_and_history(learned_run):
    from ghp.run.load import load_run

    s = json.loads((learned_run / "summary.json").read_text())
    assert s["partition"] == "learned" and s["topology"] == [17, 41, 6] and s["iterations"] == 3
    assert s["edges"] == 943 and s["biases"] == 47 and s["distinct_weights"] <= 5
    assert s["bits"] == 32 * s["params"] + 943 * 3
    hist = [json.loads(line) for line in (learned_run / "history.jsonl").read_text().splitlines()]
    assert [h["iteration"] for h in hist] == [1, 2, 3]
    run = load_run(learned_run)
    [w] = run.emit(list(run.space))
    assert w.activation == "tanh" and w.arch.hidden == (41,)
    z = np.load(learned_run / "chromatic.npz")
    # The stored policy is the colouring's shared values, with the normalisation folded into the first layer.
    w1 = w.layers[1][0].ravel()
    np.testing.assert_array_equal(w1, z["values"][z["colouring"][17 * 41 :]])
    assert len(np.unique(w.layers[0][0].ravel() * np.repeat(z["obs_std"][None, :], 41, 0).ravel())) <= 5 * 17


def test_resume_continues_exactly(tmp_path, learned_run):
    out = tmp_path / "resumed"
    assert ghp("chromatic", *TINY, "--iterations", "2", "--colors", "5", "--out", out).exit_code == 0
    r = ghp("chromatic", *TINY, "--iterations", "3", "--colors", "5", "--out", out, "--resume")
    assert r.exit_code == 0, r.output
    a, b = np.load(learned_run / "state.npz"), np.load(out / "state.npz")
    for key in ("theta", "ctrl_logits", "obs_mean", "best_theta"):
        np.testing.assert_array_equal(a[key], b[key])


def test_evaluate_and_report_read_the_run(learned_run):
    r = ghp("evaluate", learned_run, "--episodes", "2", "--max-episode-steps", "10", "--workers", "1")
    assert r.exit_code == 0, r.output
    assert "evaluated 1 architectures" in r.output
    from ghp.run.results import ResultsStore

    s = json.loads((learned_run / "summary.json").read_text())
    store = ResultsStore.open(learned_run, load_run_id(learned_run))
    try:
        [rec] = store.records()
    finally:
        store.close()
    # Counted as the paper does, not as the dense 17-41-6 network (990 parameters).
    assert rec.params == s["params"] and rec.bytes == -(-s["bits"] // 8)
    # search ranks it under a budget the dense 990-parameter network would not fit.
    r = ghp("search", "--run", learned_run, "--max-params", 100)
    assert r.exit_code == 0, r.output
    assert f" {s['params']} " in r.output
    assert ghp("report", learned_run).exit_code == 0


@pytest.mark.parametrize("partition, values", [("toeplitz", 22), ("none", 102), ("random", 4)])
def test_fixed_partitions_on_the_linear_policy(tmp_path, partition, values):
    out = tmp_path / partition
    r = ghp(
        "chromatic",
        *TINY,
        "--hidden",
        "linear",
        "--partition",
        partition,
        "--colors",
        "4",
        "--iterations",
        "1",
        "--out",
        out,
    )
    assert r.exit_code == 0, r.output
    s = json.loads((out / "summary.json").read_text())
    assert s["topology"] == [17, 6] and s["distinct_weights"] <= values and s["params"] == s["distinct_weights"] + 6


@pytest.mark.parametrize(
    "args, message",
    [
        (["--colors", "1"], "colors must be at least 2"),
        (["--hidden", "4,x"], "--hidden"),
        (["--env", "NoSuchEnv-v0"], "unknown environment"),
        (["--hidden", "linear", "--colors", "200"], "200 colours for 102 edges"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, args, message):
    r = ghp("chromatic", *TINY, "--out", tmp_path / "x", *args)
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1


def test_existing_run_needs_resume(learned_run):
    r = ghp("chromatic", *TINY, "--iterations", "3", "--colors", "5", "--out", learned_run)
    assert r.exit_code == 2 and "--resume" in r.output
    r = ghp("chromatic", *TINY, "--iterations", "3", "--colors", "6", "--out", learned_run, "--resume")
    assert r.exit_code == 2 and "different colors" in r.output


def test_tanh_policy_exports_as_c_that_matches_torch(learned_run, tmp_path):
    from export.api import ExportConfig, export_policy
    from export.toolchain import missing_tools
    from ghp.run.load import load_run

    if missing_tools("gcc"):
        pytest.skip("needs gcc")
    [w] = load_run(learned_run).emit([list(load_run(learned_run).space)[0]])
    res = export_policy(w, ExportConfig(out=tmp_path, name="hc", check=True, qemu=False), env_id="HalfCheetah-v5")
    header = (tmp_path / "hc.h").read_text()
    assert "GHP_ACT_TANH" in header and "tanh hidden layers" in header
    host = [s for s in res.check.steps if s.name == "host"][0]
    assert host.status == "ok", host.detail


def test_learned_policy_exports_as_a_codebook_that_passes_the_check(learned_run, tmp_path):
    from export.api import ExportConfig, export_policy
    from export.toolchain import missing_tools
    from search.choose import policy_from_file

    if missing_tools("gcc"):
        pytest.skip("needs gcc")
    chosen, cb = policy_from_file(learned_run / "policy.npz", learned_run)
    assert cb is not None and cb.scope == "network" and cb.activation == "tanh" and cb.obs_mean is not None
    assert cb.paper_bits == json.loads((learned_run / "summary.json").read_text())["bits"]
    # The codebook is the stored policy: same function, the normalisation kept apart from the shared weights.
    from export.codebook import forward

    obs = np.random.default_rng(0).normal(size=(8, 17)).astype(np.float32)
    np.testing.assert_allclose(forward(cb, obs), chosen.weights.act(obs), atol=1e-5)
    config = ExportConfig(out=tmp_path, name="hcq", dtype="codebook", check=True, qemu=False)
    res = export_policy(chosen.weights, config, chosen.env_id, chosen.source, cb)
    header = (tmp_path / "hcq.h").read_text()
    assert "ghp_normalise(obs" in header and "GHP_ACT_TANH" in header
    assert all(s.status != "failed" for s in res.check.steps), res.check.steps


@pytest.mark.parametrize("partition", ["learned", "toeplitz"])
def test_worker_processes_give_the_same_run(tmp_path, partition):
    outs = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        args = ("chromatic", *TINY, "--iterations", "2", "--hidden", "linear", "--partition", partition)
        r = ghp(*args, "--colors", "4", "--workers", workers, "--out", out)
        assert r.exit_code == 0, r.output
        outs.append(np.load(out / "state.npz"))
    for key in ("theta", "obs_mean", "obs_m2"):
        np.testing.assert_array_equal(outs[0][key], outs[1][key])


def test_sigterm_exits_143_with_one_line_and_resume_continues(tmp_path):
    import signal

    from tests.integration.test_signals import run_ghp, wait_for

    out = tmp_path / "run"
    args = ("chromatic", *TINY, "--hidden", "linear", "--colors", "3", "--out", out)
    p = run_ghp(*args, "--iterations", "100000")
    wait_for(lambda: (out / "state.npz").is_file(), p)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 128 + signal.SIGTERM, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "interrupted (SIGTERM)" in lines[0] and "--resume" in lines[0], err
    done = int(np.load(out / "state.npz")["iteration"])
    assert done >= 1
    r = ghp(*args, "--iterations", done + 1, "--resume")
    assert r.exit_code == 0, r.output
    assert int(np.load(out / "state.npz")["iteration"]) == done + 1
    assert len((out / "history.jsonl").read_text().splitlines()) == done + 1
