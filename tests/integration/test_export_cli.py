"""``ghp export`` end to end on a tiny trained run (Pendulum-v1, a few hundred steps)."""

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli
from export.toolchain import missing_tools

TOOLS = missing_tools("gcc", "arm-none-eabi-gcc", "qemu-system-arm")


@pytest.fixture(scope="module")
def run_dir(train_tiny):
    return train_tiny("pendulum")


def ghp(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_c_header_from_a_trained_run_matches_torch_everywhere(run_dir, tmp_path):
    r = ghp("export", run_dir, "--arch", "8-4", "--name", "pend", "--out", tmp_path, "--check")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "pend.h").is_file()
    assert "exported 8-4 (73 params, 292 bytes float32" in r.output
    if not TOOLS:
        assert r.output.count(": ok ") == 3, r.output
        assert "instructions per inference" in r.output and "self-test passed" in r.output


def test_check_with_a_relative_out_dir(run_dir, tmp_path, monkeypatch):
    # `make demo` exports to runs/demo/export: every check step must find the header from any directory.
    monkeypatch.chdir(tmp_path)
    r = ghp("export", run_dir, "--arch", "8", "--name", "pend", "--out", "rel/out", "--check")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rel" / "out" / "pend.h").is_file()
    assert "FAILED" not in r.output
    if not TOOLS:
        assert r.output.count(": ok ") == 3, r.output


@pytest.mark.skipif("gcc" in str(TOOLS), reason="missing gcc (Debian package gcc)")
def test_exported_header_computes_the_runs_policy(run_dir, tmp_path, host_c):
    from ghp.run.load import load_run
    from ghp.space.arch import parse_arch

    assert ghp("export", run_dir, "--arch", "4-8", "--name", "p48", "--out", tmp_path).exit_code == 0
    weights = load_run(run_dir).emit([parse_arch("4-8")])[0]
    obs = np.random.default_rng(0).uniform(-1, 1, (16, 3)).astype(np.float32)
    out = host_c("p48", obs, 'printf("%.9g\\n", (double)a[0]);')
    got = np.array([float(x) for x in out], np.float32)
    np.testing.assert_allclose(got, weights.act(obs)[:, 0], atol=1e-6, rtol=0)


@pytest.mark.skipif(bool(TOOLS), reason=f"missing {', '.join(TOOLS)} (CI: make toolchain)")
@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_trained_policy_matches_torch_to_1e6_on_host_and_in_qemu(run_dir, tmp_path, dtype):
    from export.api import ExportConfig, export_policy
    from search.choose import policy_from_run

    chosen = policy_from_run(run_dir, arch="8-8")
    config = ExportConfig(out=tmp_path, name="pend", check=True, dtype=dtype)
    result = export_policy(chosen.weights, config, chosen.env_id, chosen.source)
    f = result.check.figures
    assert result.check.ok and len(result.check.steps) == 3, result.check.steps
    assert f["host_max_err"] <= 1e-6 and f["qemu_vs_host_max_diff"] <= 1e-6  # QEMU's self-test also passed at 2e-6
    assert f["stack_bytes"] < 1800 and f["qemu_stack_bytes"] < 1800
    text = (tmp_path / "pend.h").read_text()
    assert chosen.source[0] in text and "Pendulum-v1" in text


def test_best_under_a_budget_uses_rank_run(run_dir, tmp_path):
    from search.budget import Budget, rank_run

    best = rank_run(run_dir, Budget(max_params=60))[0]
    r = ghp("export", run_dir, "--best", "--max-params", 60, "--target", "c-source", "--out", tmp_path)
    assert r.exit_code == 0, r.output
    assert f"exported {best.arch.key} " in r.output
    assert (tmp_path / "policy.c").is_file() and (tmp_path / "policy.h").is_file()
    header, source = (tmp_path / "policy.h").read_text(), (tmp_path / "policy.c").read_text()
    assert f" * architecture  {best.arch.key}: " in header and f"#define POLICY_N_PARAMS {best.params}" in header
    # Pendulum: 3 observations, padded to 4 inputs and the rows to a multiple of 4 (ghp_dense_f32's blocks)
    assert f"static const float policy_w0[{4 * ((best.arch.hidden[0] + 3) // 4 * 4)}]" in source


@pytest.mark.parametrize(("target", "files"), [("onnx", ["pol.onnx"]), ("numpy", ["pol.npz"])])
def test_other_targets(run_dir, tmp_path, target, files):
    if target == "onnx":
        pytest.importorskip("onnx")
    from ghp.policy.weights import PolicyWeights
    from ghp.run.load import load_run
    from ghp.space.arch import Arch

    r = ghp("export", run_dir, "--arch", "8", "--target", target, "--name", "pol", "--out", tmp_path, "--check")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [".ghp-export.json", *files]  # and its manifest
    # the file holds the run's policy: same actions as the emitted weights
    expected = load_run(run_dir).emit([Arch((8,))])[0]
    obs = np.random.default_rng(0).uniform(-2, 2, (32, 3)).astype(np.float32)
    if target == "numpy":
        got = PolicyWeights.from_npz(tmp_path / files[0]).act(obs)
    else:
        ort = pytest.importorskip("onnxruntime")
        session = ort.InferenceSession(str(tmp_path / files[0]))
        got = session.run(None, {session.get_inputs()[0].name: obs})[0]
    np.testing.assert_allclose(got, expected.act(obs), atol=1e-6, rtol=0)


def test_int8_reports_its_error(run_dir, tmp_path):
    r = ghp("export", run_dir, "--arch", "8-8", "--dtype", "int8", "--out", tmp_path)
    assert r.exit_code == 0, r.output
    assert "int8: largest action error against float32 on the test vectors" in r.output
    # 8 rows x 3 inputs padded to 8 x 4 int8 weights, packed four to a uint32_t word (ghp_dense_i8)
    assert "static const uint32_t policy_q0[8]" in (tmp_path / "policy.h").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{missing}", "--arch", "8"], "no ghp run at"),
        (["{run}", "--arch", "16-16"], "not in the run's space"),
        (["{run}", "--arch", "8", "--name", "static"], "reserved word"),
        (["{run}", "--arch", "8", "--name", "my-policy"], "not a C identifier"),
        (["{run}", "--arch", "8", "--out", "{file}/sub"], "output directory"),
        (["{run}", "--arch", "8", "--best", "--max-params", "50"], "either --arch or --best"),
        (["{run}", "--best"], "--best needs a budget"),
        (["{run}"], "choose the policy"),
        (["{run}", "--arch", "8", "--target", "onnx", "--dtype", "int8"], "C targets only"),
        (["{run}", "--best", "--max-params", "3"], "no architecture"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run_dir, tmp_path, args, message):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    subs = {"{missing}": str(tmp_path / "nope"), "{run}": str(run_dir), "{file}": str(blocker)}
    argv = [next((arg.replace(k, v) for k, v in subs.items() if k in arg), arg) for arg in args]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "o")]
    r = ghp("export", *argv)
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_a_failed_check_exits_1(run_dir, tmp_path, monkeypatch):
    import export.cwrite
    from export.check import CheckReport

    def failing(*args, **kwargs):
        report = CheckReport()
        report.add("host", "failed", "max |C - expected| = 0.5")
        return report

    monkeypatch.setattr(export.cwrite, "check_c", failing)
    r = ghp("export", run_dir, "--arch", "8", "--out", tmp_path, "--check")
    assert r.exit_code == 1
    assert "check host: FAILED" in r.output and "its check failed (host)" in r.output
    assert (tmp_path / "policy.h").is_file()


def test_help_is_instant_and_documented():
    r = ghp("export", "--help")
    assert r.exit_code == 0 and "--best" in r.output and "c-header" in r.output


def test_export_writes_only_its_own_files(run_dir, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "keep.c").write_text("int x;")
    r = ghp("export", run_dir, "--arch", "8", "--target", "c-source", "--name", "pend", "--out", tmp_path)
    assert r.exit_code == 2 and "ghp did not write" in r.output, r.output
    out = tmp_path / "sub" / "new"
    r = ghp("export", run_dir, "--arch", "8", "--target", "c-source", "--name", "pend", "--out", out)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "sub"]
    assert sorted(p.name for p in out.iterdir()) == [".ghp-export.json", "pend.c", "pend.h"]
    assert (tmp_path / "notes.txt").read_text() == "mine" and (tmp_path / "sub" / "keep.c").read_text() == "int x;"


def test_export_play_and_evaluate_take_the_same_policy_and_print_json(run_dir, tmp_path):
    import json
    import shutil

    from search.budget import Budget, rank_run
    from search.choose import PolicyChoice, choose_policy

    by_arch = choose_policy(run_dir, PolicyChoice(arch="8-4"))
    best = choose_policy(run_dir, PolicyChoice(best=True, max_params=80))
    assert best.arch == rank_run(run_dir, Budget(max_params=80))[0].arch and best.weights.n_params <= 80
    assert "--best" in best.source[1]
    same = choose_policy(run_dir, PolicyChoice(arch=best.arch.key))
    np.testing.assert_array_equal(best.weights.layers[0][0], same.weights.layers[0][0])
    r = ghp("export", run_dir, "--arch", "8-4", "--target", "numpy", "--out", tmp_path / "e", "--json")
    assert r.exit_code == 0, r.output
    exported = json.loads(r.output)
    assert (
        exported["arch"] == "8-4"
        and exported["n_params"] == 73
        and (exported["obs_dim"], exported["act_dim"]) == (3, 1)
    )
    from_file = choose_policy(run_dir, PolicyChoice(policy_file=tmp_path / "e" / "policy.npz"))
    np.testing.assert_array_equal(
        from_file.weights.act(np.zeros((1, 3), np.float32)), by_arch.weights.act(np.zeros((1, 3), np.float32))
    )
    assert from_file.env_kwargs == by_arch.env_kwargs and from_file.env_id == by_arch.env_id
    r = ghp("play", run_dir, "--arch", "8-4", "--episodes", "1", "--max-episode-steps", "20", "--json")
    assert r.exit_code == 0, r.output
    played = json.loads(r.output)
    assert played["policy"]["arch"] == "8-4" and played["episodes"][0]["length"] == 20
    rd = tmp_path / "run"
    shutil.copytree(run_dir, rd)
    args = ["--episodes", "1", "--workers", "1", "--max-episode-steps", "20", "--json"]
    r = ghp("evaluate", rd, "--policy", tmp_path / "e" / "policy.npz", *args)
    assert r.exit_code == 0, r.output
    evaluated = json.loads(r.output.strip().splitlines()[-1])
    assert evaluated["kind"] == "policy" and evaluated["evaluated"] == 1
    assert evaluated["policy"]["mean_return"] == pytest.approx(played["mean_return"], rel=1e-5)
    assert evaluated["results"] == str(tmp_path / "e" / "policy.sqlite")
    with pytest.raises(ValueError, match="--max-params / --max-bytes go with --best"):
        PolicyChoice(arch="8", max_params=10)
