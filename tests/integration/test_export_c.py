"""Generated C, compiled and run: host gcc against torch, arm-none-eabi-gcc for the Crazyflie, QEMU self-test."""

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from export import check as check_mod
from export import toolchain as toolchain_mod
from export.api import ExportConfig, export_policy
from export.check import check_c
from export.cycles import traced_call_length
from export.reference import check_tolerance, forward, pre_activations, torch_actions
from export.toolchain import CM4_FLAGS, HOST_FLAGS, missing_tools, soft_double_symbols
from export.vectors import test_vectors as make_vectors
from ghp.space.counting import macs
from tests.unit.test_export import policy

HOST = missing_tools("gcc")
ARM = missing_tools("arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm", "newlib")
QEMU = missing_tools("qemu-system-arm")
needs_host = pytest.mark.skipif(bool(HOST), reason=f"missing {', '.join(HOST)}")
needs_arm = pytest.mark.skipif(bool(ARM), reason=f"missing {', '.join(ARM)} (CI: make toolchain)")
needs_qemu = pytest.mark.skipif(bool(ARM or QEMU), reason=f"missing {', '.join(ARM + QEMU)} (CI: make toolchain)")


def steps(report):
    return {s.name: s for s in report.steps}


@needs_host
@pytest.mark.parametrize("target", ["c-header", "c-source"])
@pytest.mark.parametrize("dtype", ["float32", "int8"])
@pytest.mark.parametrize(
    ("arch", "env", "obs", "act", "low", "high"),
    [
        ("linear", None, 4, 2, -1.0, 1.0),
        ("8-4-4-4", "Pendulum-v1", 3, 1, -2.0, 2.0),
        ("32-16", "Hopper-v5", 11, 3, -1.0, 1.0),
        ("16", "FetchReach-v4", 13, 4, -1.0, 1.0),
    ],
)
def test_host_and_cortex_m4_builds_match_torch(tmp_path, target, dtype, arch, env, obs, act, low, high):
    p = policy(arch, obs, act, seed=3, low=low, high=high)
    config = ExportConfig(out=tmp_path, target=target, dtype=dtype, check=True, qemu=False, n_rollout=6)
    result = export_policy(p, config, env_id=env)
    s = steps(result.check)
    assert s["host"].status == "ok", s["host"].detail
    assert result.check.figures["host_max_err"] <= check_tolerance(p)
    if dtype == "int8":
        assert 0 < result.int8_max_err < 0.1
        assert result.check.figures["host_max_err_torch"] == pytest.approx(result.int8_max_err, abs=1e-6)
    if not ARM:
        assert s["cortex-m4"].status == "ok", s["cortex-m4"].detail
        assert result.check.figures["stack_bytes"] < 256
    assert 6 + 4 <= result.n_vectors <= 6 + 6


@needs_qemu
@pytest.mark.parametrize(("target", "dtype"), [("c-header", "float32"), ("c-source", "int8")])
def test_full_check_on_the_emulated_stm32f405(tmp_path, target, dtype):
    p = policy("8-4-4-4", 3, 1, seed=4)
    config = ExportConfig(out=tmp_path, check=True, name="pend", target=target, dtype=dtype)
    result = export_policy(p, config, env_id="Pendulum-v1")
    report = result.check
    assert report.ok and [s.status for s in report.steps] == ["ok", "ok", "ok"], report.steps
    f = report.figures
    assert f["host_max_err"] <= 1e-6 * 2 and f["qemu_vs_host_max_diff"] <= 1e-6 * 2
    assert f["ticks_per_insn"] == pytest.approx(168e6 / 1e9, rel=1e-3)  # 168 MHz SysTick, 1 ns per instruction
    assert macs(p.arch, 3, 1) < f["qemu_insn"] < 100 * macs(p.arch, 3, 1)
    assert 0 < f["qemu_tanhf_insn"] < f["qemu_insn"]
    assert 0 < f["qemu_stack_bytes"] < 1800 and f["stack_bytes"] < 1800
    assert f["flash_bytes"] >= 4 * p.n_params and f["ram_bytes"] >= 4 * (8 + 8 + 1)


@needs_qemu
def test_systick_instruction_count_agrees_with_the_instruction_trace(tmp_path):
    p = policy("16-8", 3, 1, seed=5)
    export_policy(p, ExportConfig(out=tmp_path / "out"), env_id=None)
    obs = make_vectors(p, None, 4).obs
    report = check_c(
        tmp_path / "out",
        "policy",
        "c-header",
        obs,
        torch_actions(p, obs),
        pre_activations(p, obs[:1])[0],
        build_dir=tmp_path / "build",
    )
    assert report.ok, report.steps
    traced = traced_call_length(tmp_path / "build" / "fw.elf")
    # SysTick measures act's call minus an empty call (1 instruction: bx lr); a tick is 5.95 instructions over 4 calls.
    assert abs(report.figures["qemu_insn"] - (traced - 1)) <= 3


def bump_first_literal(text: str, array: str, delta: float) -> str:
    """Add ``delta`` to the first float literal of C array ``array``."""
    start = text.index(f"{array}[")
    m = re.compile(r"(-?[0-9][0-9.e+-]*)f").search(text, text.index("{", start))
    value = np.float32(float(m.group(1)) + delta)
    return text[: m.start()] + f"{float(value):.9g}f" + text[m.end() :]


@needs_host
@pytest.mark.parametrize("corrupt", ["weight", "bias", "test observation", "expected action"])
def test_a_corrupted_weight_or_test_vector_fails_the_self_test(tmp_path, corrupt):
    p = policy("8-8", 3, 1, seed=6)
    out = tmp_path / "out"
    export_policy(p, ExportConfig(out=out, n_rollout=6), env_id="Pendulum-v1")
    header = out / "policy.h"
    array = {
        "weight": "policy_w2",
        "bias": "policy_b2",
        "test observation": "policy_test_obs",
        "expected action": "policy_test_act",
    }[corrupt]
    header.write_text(bump_first_literal(header.read_text(), array, 0.25))
    obs = make_vectors(p, "Pendulum-v1", 6).obs
    report = check_c(out, "policy", "c-header", obs, torch_actions(p, obs), pre_activations(p, obs[:1])[0])
    s = steps(report)
    assert s["host"].status == "failed" and "self-test FAILED" in s["host"].detail
    if not ARM and not QEMU:
        assert s["qemu"].status == "failed" and "self-test failed" in s["qemu"].detail


@needs_host
def test_no_selftest_macro_compiles_the_vectors_out(tmp_path):
    p = policy("8", 3, 1)
    export_policy(p, ExportConfig(out=tmp_path, name="tiny"))
    unit = tmp_path / "unit.c"
    unit.write_text(
        '#include "tiny.h"\nvoid f(const float *o, float *a);\nvoid f(const float *o, float *a) { tiny_act(o, a); }\n'
    )
    sizes = {}
    for flag in ([], ["-DTINY_NO_SELFTEST"]):
        pre = subprocess.run(
            ["gcc", "-E", *flag, f"-I{tmp_path}", str(unit)], capture_output=True, text=True, check=True
        )
        assert ("tiny_test_obs" in pre.stdout) == (not flag)
        obj = tmp_path / f"unit{len(flag)}.o"
        subprocess.run(["gcc", *HOST_FLAGS, *flag, "-c", str(unit), "-o", str(obj)], check=True, cwd=tmp_path)
        sizes[bool(flag)] = obj.stat().st_size
    assert sizes[True] < sizes[False]


@needs_host
def test_reexport_is_byte_identical(tmp_path):
    p = policy("16-8", 11, 3, seed=7)
    for target in ("c-header", "c-source", "numpy", "onnx"):
        for dtype in ("float32", "int8") if target.startswith("c-") else ("float32",):
            a = export_policy(p, ExportConfig(out=tmp_path / "a", target=target, dtype=dtype), env_id="Hopper-v5")
            b = export_policy(p, ExportConfig(out=tmp_path / "b", target=target, dtype=dtype), env_id="Hopper-v5")
            for fa, fb in zip(a.files, b.files, strict=True):
                assert fa.read_bytes() == fb.read_bytes(), fa.name


@needs_arm
def test_software_double_routines_are_detected(tmp_path):
    src = tmp_path / "d.c"
    src.write_text("float f(float x);\nfloat f(float x) { return (float)((double)x * 1.1); }\n")
    obj = tmp_path / "d.o"
    flags = [f for f in CM4_FLAGS if f not in ("-Wdouble-promotion", "-Werror")]
    subprocess.run(["arm-none-eabi-gcc", *flags, "-c", str(src), "-o", str(obj)], check=True)
    assert any(s.startswith("__aeabi_d") for s in soft_double_symbols(obj, undefined_only=True))


def test_missing_tools_are_reported_with_their_package(tmp_path, monkeypatch):
    p = policy("4", 3, 1)
    export_policy(p, ExportConfig(out=tmp_path))
    monkeypatch.setattr(toolchain_mod.shutil, "which", lambda tool: None)
    obs = make_vectors(p, None, 2).obs
    report = check_c(tmp_path, "policy", "c-header", obs, forward(p, obs), pre_activations(p, obs[:1])[0])
    s = steps(report)
    assert [x.status for x in report.steps] == ["skipped"] * 3 and report.ok
    assert "Debian package gcc)" in s["host"].detail
    assert "gcc-arm-none-eabi" in s["cortex-m4"].detail and "libnewlib-arm-none-eabi" in s["cortex-m4"].detail
    assert "Debian package qemu-system-arm" in s["qemu"].detail


def test_onnx_export_matches_onnxruntime_and_torch(tmp_path):
    pytest.importorskip("onnxruntime")
    from export.onnx import run_onnx

    p = policy("16-8", 11, 3, seed=8, low=-0.4, high=0.4)
    result = export_policy(p, ExportConfig(out=tmp_path, target="onnx", name="hop", check=True), env_id="Hopper-v5")
    assert result.files == [tmp_path / "hop.onnx"] and "onnxruntime" in result.notes[0]
    obs = make_vectors(p, "Hopper-v5", 8).obs
    np.testing.assert_allclose(run_onnx(tmp_path / "hop.onnx", obs), torch_actions(p, obs), atol=1e-6, rtol=0)


def test_numpy_export_reloads_exactly(tmp_path):
    from ghp.policy.weights import PolicyWeights

    p = policy("8-4", 5, 2)
    result = export_policy(p, ExportConfig(out=tmp_path, target="numpy", name="p"))
    back = PolicyWeights.from_npz(result.files[0])
    obs = np.random.default_rng(0).standard_normal((5, 5)).astype(np.float32)
    assert back.arch == p.arch and np.array_equal(back.act(obs), p.act(obs))
    assert Path(result.files[0]).name == "p.npz"


def _dropping_a_row(monkeypatch, stream):
    """Make the harness's output lose its last action row (a truncated run, a lost semihosting line)."""
    real = subprocess.run

    def run(cmd, *args, **kwargs):
        p = real(cmd, *args, **kwargs)
        text = getattr(p, stream)
        if isinstance(text, str) and " out " in " " + text:
            lines = text.splitlines(keepends=True)
            last = max(i for i, line in enumerate(lines) if line.startswith("out "))
            setattr(p, stream, "".join(lines[:last] + lines[last + 1 :]))
        return p

    monkeypatch.setattr(check_mod.subprocess, "run", run)


@pytest.mark.skipif(bool(HOST), reason=f"missing {HOST}")
def test_host_check_fails_when_a_row_is_missing(tmp_path, monkeypatch):
    p = policy("4", 3, 1)
    export_policy(p, ExportConfig(out=tmp_path))
    obs = make_vectors(p, None, 3).obs
    _dropping_a_row(monkeypatch, "stdout")
    report = check_c(tmp_path, "policy", "c-header", obs, forward(p, obs), pre_activations(p, obs[:1])[0], qemu=False)
    host = steps(report)["host"]
    assert host.status == "failed" and f"{len(obs) - 1} action rows for {len(obs)} test vectors" in host.detail


@pytest.mark.skipif(bool(ARM or QEMU), reason=f"missing {ARM + QEMU}")
def test_qemu_check_fails_when_a_row_is_missing(tmp_path, monkeypatch):
    p = policy("4", 3, 1)
    export_policy(p, ExportConfig(out=tmp_path))
    obs = make_vectors(p, None, 3).obs
    _dropping_a_row(monkeypatch, "stderr")  # QEMU's semihosting output
    report = check_c(tmp_path, "policy", "c-header", obs, forward(p, obs), pre_activations(p, obs[:1])[0])
    q = steps(report)["qemu"]
    assert q.status == "failed" and f"{len(obs) - 1} action rows for {len(obs)} test vectors" in q.detail


def test_a_tool_that_cannot_start_is_a_failed_step_not_a_traceback(tmp_path, monkeypatch):
    p = policy("4", 3, 1)
    export_policy(p, ExportConfig(out=tmp_path))
    obs = make_vectors(p, None, 2).obs

    def gone(cmd, *args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", cmd[0])

    monkeypatch.setattr(toolchain_mod.shutil, "which", lambda tool: "/usr/bin/" + tool)  # found, then gone
    monkeypatch.setattr(check_mod.subprocess, "run", gone)
    report = check_c(tmp_path, "policy", "c-header", obs, forward(p, obs), pre_activations(p, obs[:1])[0])
    s = steps(report)
    assert s["host"].status == "failed" and "cannot run gcc" in s["host"].detail
    assert s["cortex-m4"].status == "skipped" and "libnewlib-arm-none-eabi" in s["cortex-m4"].detail
    with pytest.raises(toolchain_mod.CheckFailed, match="qemu-system-arm"):
        monkeypatch.setattr(toolchain_mod.shutil, "which", lambda tool: None)
        traced_call_length(tmp_path / "fw.elf")
