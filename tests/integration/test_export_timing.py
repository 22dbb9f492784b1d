"""Every Crazyflie export states its inference cost against the control loop and refuses one that does not fit
(issue 26 item 5, issue 27 item 5); the estimate needs no QEMU and agrees with QEMU's count."""

import pytest
from click.testing import CliRunner

from cli.main import cli
from export.api import ExportConfig, export_policy
from export.check import check_c
from export.cost import estimate_cycles, inference_cost
from export.reference import forward, pre_activations
from export.toolchain import missing_tools
from export.vectors import test_vectors as make_vectors
from ghp.policy.file import save_policy
from tests.unit.test_export import policy

CF = "ghp/CrazyflieHover-v0"
QEMU = missing_tools("gcc", "arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm", "newlib", "qemu-system-arm")


def test_a_256_256_crazyflie_export_is_refused_without_qemu(tmp_path, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda tool: None)  # no toolchain, no QEMU: the estimate decides
    w = policy("256-256", obs=22, act=4, low=-1.0, high=1.0)
    with pytest.raises(ValueError, match=r"over the 500 us .* --allow-slow"):
        export_policy(w, ExportConfig(out=tmp_path / "app", target="crazyflie"), CF)
    assert not (tmp_path / "app").exists()  # refused before anything is written


def test_the_refusal_is_one_line_and_allow_slow_exports_it_anyway(tmp_path):
    pol = tmp_path / "big.npz"
    save_policy(pol, policy("256-256", obs=22, act=4, low=-1.0, high=1.0), {"env_id": CF})
    r = CliRunner().invoke(cli, ["export", "--policy", str(pol), "--target", "crazyflie", "--out", str(tmp_path / "a")])
    assert r.exit_code == 2 and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert "us per inference" in r.output and "--allow-slow" in r.output
    r = CliRunner().invoke(
        cli, ["export", "--policy", str(pol), "--target", "crazyflie", "--out", str(tmp_path / "a"), "--allow-slow"]
    )
    assert r.exit_code == 0, r.output
    assert "over the limit: exported because of --allow-slow" in r.output
    r = CliRunner().invoke(cli, ["export", "--policy", str(pol), "--out", str(tmp_path / "b"), "--allow-slow"])
    assert r.exit_code == 2 and "--allow-slow goes with --target crazyflie" in r.output
    assert "--allow-slow" in CliRunner().invoke(cli, ["export", "--help"]).output


def test_every_crazyflie_export_states_its_cost_against_the_period(tmp_path):
    w = policy("16-16", obs=22, act=4, low=-1.0, high=1.0)
    result = export_policy(w, ExportConfig(out=tmp_path / "app", target="crazyflie"), CF)
    [note] = [n for n in result.notes if n.startswith("inference:")]
    assert "instructions per inference (estimated from" in note and "us at 168 MHz" in note
    assert "of the 10 ms control period" in note and "of the 1 ms stabilizer call" in note
    assert " * cost          " in (tmp_path / "app" / "src" / "ghp_controller.c").read_text()
    assert "## Inference cost" in (tmp_path / "app" / "README.md").read_text()


@pytest.mark.skipif(bool(QEMU), reason=f"missing {', '.join(QEMU)}")
@pytest.mark.parametrize("arch", ["8-4-4-4", "32-16", "64-64"])
@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_the_estimate_without_qemu_is_within_15_percent_of_qemus_count(tmp_path, arch, dtype):
    from export.c import CSpec, render
    from export.reference import quantize_int8

    p = policy(arch, obs=11, act=3, seed=2)
    obs = make_vectors(p, None, 2).obs
    int8 = quantize_int8(p) if dtype == "int8" else None
    expected, z = forward(p, obs, int8), pre_activations(p, obs, int8)
    for name, text in render(CSpec("t", p, dtype, int8, obs, expected), "c-header").items():
        (tmp_path / name).write_text(text)
    report = check_c(tmp_path, "t", "c-header", obs, expected, z[0], tol=1e-5)
    assert report.ok, report.steps
    measured = report.figures["qemu_insn"]
    estimate = inference_cost(p.arch, 11, 3, dtype).instructions
    assert abs(estimate - measured) <= 0.15 * measured, (estimate, measured)
    # The cycles: the model without QEMU against the traced call priced with the M4's timings.
    traced = report.figures["qemu_cycles"]
    assert abs(estimate_cycles(p.arch, 11, 3, dtype) - traced) <= 0.15 * traced
    assert abs(report.figures["qemu_traced_insn"] - measured) <= 6  # the call SysTick counted (a tick: 5.95)
    assert measured < traced < 4 * measured


@pytest.mark.skipif(bool(QEMU), reason=f"missing {', '.join(QEMU)}")
def test_an_int8_64_64_policy_takes_at_most_two_instructions_per_mac(tmp_path):
    """Issue 27's target for int8 (the benchmark of record measures the same policy size)."""
    from export.c import CSpec, render
    from export.reference import quantize_int8
    from ghp.space.counting import macs

    p = policy("64-64", obs=11, act=3, seed=3)
    obs = make_vectors(p, None, 2).obs
    int8 = quantize_int8(p)
    expected, z = forward(p, obs, int8), pre_activations(p, obs, int8)
    for name, text in render(CSpec("t", p, "int8", int8, obs, expected), "c-header").items():
        (tmp_path / name).write_text(text)
    report = check_c(tmp_path, "t", "c-header", obs, expected, z[0], tol=1e-5)
    assert report.ok and report.figures["host_max_err"] <= 1e-6 and report.figures["qemu_vs_host_max_diff"] <= 1e-6
    assert report.figures["qemu_insn"] <= 2.0 * macs(p.arch, 11, 3)
    assert report.figures["qemu_mul_insn"] >= 5120 / 2  # an SMLAD and an SMLALD per 4 padded MACs
