"""``ghp tune`` end to end on a tiny trained run, and tuned policies flowing on (evaluate, search, export)."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli
from export.toolchain import missing_tools

TOOLS = missing_tools("gcc", "arm-none-eabi-gcc", "qemu-system-arm")
FAST = ["--iterations", "2", "--directions", "2", "--top", "1", "--eval-episodes", "2", "--workers", "0"]
FAST += ["--max-episode-steps", "30"]


@pytest.fixture(scope="module")
def run_dir(train_tiny):
    return train_tiny("pendulum")


def ghp(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def tuned(run_dir):
    r = ghp("tune", run_dir, "--arch", "8-4", *FAST)
    assert r.exit_code == 0, r.output
    return run_dir / "tuned" / "8-4-es.npz"


@pytest.fixture(scope="module")
def tuned_cb(run_dir):
    r = ghp("tune", run_dir, "--arch", "8-4", "--colors", "4", *FAST)
    assert r.exit_code == 0, r.output
    assert "after k-means to 4 colours" in r.output
    return run_dir / "tuned" / "8-4-es-c4-layer.npz"


def test_tune_writes_a_policy_with_provenance(run_dir, tuned):
    from ghp.policy.file import load_policy
    from ghp.run.load import load_run
    from ghp.space.arch import parse_arch

    pf = load_policy(tuned)
    p = pf.provenance
    assert p["kind"] == "tuned" and p["arch"] == "8-4" and p["env_id"] == "Pendulum-v1"
    assert p["iterations"] == 2 and p["method"] == "es-ars-v2t" and p["checkpoint"] == "latest"
    assert p["return_after"] >= p["return_before"] - 1e-3  # the start is a candidate: never worse on these starts
    assert pf.codebook is None and pf.weights.arch == parse_arch("8-4")
    emitted = load_run(run_dir).emit([parse_arch("8-4")])[0]
    assert pf.weights.layers[0][0].shape == emitted.layers[0][0].shape


def test_tune_resumes_and_continues(run_dir, tuned):
    from ghp.es import ESState

    state = ESState.load(run_dir / "tuned" / "8-4-es.state.npz")
    assert state.iteration == 2
    first = [h["return"] for h in state.history if not h.get("final")]
    r = ghp("tune", run_dir, "--arch", "8-4", *FAST[2:], "--iterations", "3", "--name", "cont")
    assert r.exit_code == 0, r.output
    # Same settings from scratch under another name: its first two iterations are the ones saved above.
    again = ESState.load(run_dir / "tuned" / "cont.state.npz")
    assert again.iteration == 3 and [h["return"] for h in again.history[:2]] == first
    r = ghp("tune", run_dir, "--arch", "8-4", *FAST, "--name", "cont", "--sigma", "0.5")
    assert r.exit_code == 2 and "other settings" in r.output


def test_evaluate_policy_keeps_results_apart(run_dir, tuned):
    r = ghp("evaluate", run_dir, "--policy", tuned, "--episodes", "2", "--workers", "1", "--max-episode-steps", "30")
    assert r.exit_code == 0, r.output
    assert "tuned:8-4-es (8-4): mean return" in r.output
    assert (run_dir / "tuned" / "8-4-es.sqlite").is_file()
    assert not (run_dir / "results.sqlite").exists()  # the hypernetwork's store is untouched
    r = ghp("search", "--run", run_dir, "--max-params", "1000", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    tuned_rows = [x for x in rows if x.get("tuned")]
    assert [x["name"] for x in tuned_rows][:1] == ["8-4-es"]  # evaluated first
    assert tuned_rows[0]["mean_return"] is not None and all(x["rank"] is None for x in tuned_rows)
    assert all("tuned" not in x for x in rows if x["rank"] is not None)


def test_export_tuned_policy_float32_int8_codebook(run_dir, tuned, tuned_cb, tmp_path):
    for dtype, path in (("float32", tuned), ("int8", tuned), ("codebook", tuned_cb)):
        r = ghp("export", "--policy", path, "--dtype", dtype, "--name", f"p_{dtype}", "--out", tmp_path, "--check")
        assert r.exit_code == 0, r.output
        assert "FAILED" not in r.output
        if not TOOLS:
            assert r.output.count(": ok ") == 3, r.output
    assert "115 bytes codebook" in ghp("export", "--policy", tuned_cb, "--dtype", "codebook", "--out", tmp_path).output
    # An uncoloured policy is coloured by k-means with --colors; a coloured one keeps its colouring.
    r = ghp("export", run_dir, "--arch", "8-4", "--dtype", "codebook", "--colors", "8", "--out", tmp_path)
    assert r.exit_code == 0, r.output
    r = ghp("export", "--policy", tuned_cb, "--dtype", "codebook", "--colors", "8", "--out", tmp_path)
    assert r.exit_code == 2 and "already coloured with 4 colours" in r.output


@pytest.mark.skipif("gcc" in str(TOOLS), reason="missing gcc (Debian package gcc)")
@pytest.mark.parametrize("colors, scope", [(4, "layer"), (5, "network"), (32, "layer")])
def test_codebook_c_is_bit_exact_with_the_reference(run_dir, tmp_path, host_c, colors, scope):
    from export import codebook as cbref
    from ghp.policy.codebook import quantize
    from ghp.run.load import load_run
    from ghp.space.arch import parse_arch

    w = load_run(run_dir).emit([parse_arch("8-8")])[0]
    cb = quantize(w, colors, scope)
    r = ghp("export", run_dir, "--arch", "8-8", "--dtype", "codebook", "--colors", colors, "--scope", scope,
            "--name", "cbp", "--out", tmp_path)  # fmt: skip
    assert r.exit_code == 0, r.output
    obs = np.random.default_rng(colors).uniform(-8, 8, (32, 3)).astype(np.float32)
    show = 'memcpy(&u, &cbp_z[0], 4); printf("%08x\\n", u);'
    out = host_c("cbp", obs, show, decls="unsigned u; ", includes=("string.h",))
    got = np.array([int(x, 16) for x in out], np.uint32)
    want = cbref.pre_activations(cb, obs)[:, 0].view(np.uint32)
    assert np.array_equal(got, want)


def test_bad_input_is_one_line_exit_2(run_dir, tuned, tmp_path):
    from ghp.policy.file import load_policy, save_policy

    cases = [
        (["tune", run_dir, "--arch", "64-64"], "not in the run's space"),
        (["tune", run_dir, "--arch", "8-4", "--colors", "1"], "at least 2"),
        (["tune", run_dir, "--arch", "8-4", "--colors", "61"], "more than the 60 weights"),
        (["tune", run_dir, "--arch", "8-4", "--colors", "4", "--obs-norm", "on"], "weight sharing"),
        (["tune", run_dir, "--arch", "8-4", "--name", "../x"], "--name"),
        (["tune", tmp_path / "nope", "--arch", "8-4"], "not a ghp run"),
        (["evaluate", run_dir, "--policy", tmp_path / "none.npz"], "no policy file"),
        (["export", "--policy", tuned, "--dtype", "codebook"], "needs a coloured policy"),
        (["export", "--dtype", "float32"], "give the run"),
    ]
    pf = load_policy(tuned)
    other = save_policy(tmp_path / "other.npz", pf.weights, {**pf.provenance, "env_id": "InvertedPendulum-v5"})
    cases.append((["evaluate", run_dir, "--policy", other], "is for InvertedPendulum-v5"))
    cases.append((["export", run_dir, "--policy", other], "is for InvertedPendulum-v5"))
    for args, msg in cases:
        r = ghp(*args)
        assert r.exit_code == 2, (args, r.output)
        assert msg in r.output, (args, r.output)
        assert len(r.output.strip().splitlines()) == 1, r.output
