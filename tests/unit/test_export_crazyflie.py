"""The Crazyflie app generator: layout from the environment's constants, the generated C, build-output parsing."""

from pathlib import Path

import numpy as np
import pytest

from export.api import ExportConfig
from export.crazyflie import layout as layout_mod
from export.crazyflie.app import controller_source, write_app
from export.crazyflie.firmware import app_diagnostics, find_firmware, parse_memory
from export.crazyflie.layout import observation_c, task_layout
from ghp.envs import crazyflie as cf
from ghp.envs.crazyflie import interface
from tests.unit.test_export import policy


def test_layout_comes_from_the_environment_constants():
    lay = task_layout()
    assert lay.obs_dim == cf.OBS_DIM == 22 and lay.act_dim == cf.ACT_DIM == 4
    assert [(b.name, b.start, b.size) for b in lay.blocks] == [(e[0], e[1], e[2]) for e in cf.OBS_LAYOUT]
    np.testing.assert_array_equal(lay.obs_high, cf.OBS_CLIP)
    np.testing.assert_array_equal(lay.obs_low, -cf.OBS_CLIP)
    assert lay.policy_hz == round(1 / cf.POLICY_DT) == 100
    a = np.linspace(-1, 1, 7)
    np.testing.assert_allclose((a + lay.force_offset) * lay.force_scale, cf.action_to_forces(a), atol=1e-15)
    assert lay.history == 1 and lay.initial_action.tolist() == [cf.INITIAL_ACTION] * 4
    assert "ghp/CrazyflieHover-v0" in lay.env_ids


@pytest.mark.parametrize("k", [0, 4, 16])
def test_layout_follows_the_runs_action_history(k):
    lay = task_layout({"action_history": k, "nominal": True})
    assert lay.history == k and lay.obs_dim == 18 + 4 * k
    assert [(b.name, b.start, b.size) for b in lay.blocks] == [(e[0], e[1], e[2]) for e in cf.obs_layout(k)]
    np.testing.assert_array_equal(lay.obs_high, cf.obs_clip(k))
    c = controller_source(policy("8", obs=18 + 4 * k, act=4, low=-1.0, high=1.0), lay, "policy")
    assert f"#define GHP_HISTORY {k}u" in c and "static float ghpHistory[GHP_HISTORY][GHP_ACT_DIM];" in c
    assert ("ghpObs[18u + i * GHP_ACT_DIM + k] = past[k];" in c) == (k > 0)
    assert f"LOG_ADD(LOG_FLOAT, obs{17 + 4 * k}, &ghpObs[{17 + 4 * k}])" in c and "malloc" not in c


def test_a_bad_action_history_is_one_value_error():
    with pytest.raises(ValueError, match="action_history must be 0 or more"):
        task_layout({"action_history": -2})
    with pytest.raises(ValueError, match="action_history=16"):
        controller_source(policy("8", obs=22, act=4), task_layout({"action_history": 16}), "policy")


def test_controller_builds_the_observation_in_the_environment_order():
    lay = task_layout()
    w = policy("8", obs=22, act=4, low=-1.0, high=1.0)
    c = controller_source(w, lay, "policy", ("run x",))
    # Every state entry is assigned exactly once, in order; then the previous action from the ring buffer (K = 1).
    lines = [line for line in observation_c(lay).splitlines() if "ghpObs[" in line]
    assert [int(line.split("[")[1].split("]")[0]) for line in lines[:-1]] == list(range(18))
    assert lines[-1].strip() == "ghpObs[18u + i * GHP_ACT_DIM + k] = past[k];"
    assert "#define GHP_HISTORY 1u" in c and "ghpRemember(ghpAction);" in c
    assert "ghpObs[15] = sensors->gyro.x * GHP_DEG2RAD;" in c
    assert "const float qw = state->attitudeQuaternion.w / qn;" in c
    assert "ghpObs[0] = state->position.x - target[0];" in c
    assert "RATE_DO_EXECUTE(GHP_POLICY_RATE_HZ, stabilizerStep)" in c and "#define GHP_POLICY_RATE_HZ RATE_100_HZ" in c
    assert "control->controlMode = controlModeForce;" in c and "controllerPid(control, setpoint" in c
    assert "PARAM_ADD(PARAM_UINT8, enable, &ghpEnable)" in c and "LOG_ADD(LOG_FLOAT, obs21, &ghpObs[21])" in c
    assert "@@" not in c and "double" not in c.split("*/", 1)[1]
    # Re-generating gives the same bytes (no timestamp).
    assert controller_source(w, lay, "policy", ("run x",)) == c


def test_an_unknown_observation_block_is_refused(monkeypatch):
    layout = list(cf.OBS_LAYOUT)
    layout[2] = ("velocity_body", *layout[2][1:])
    monkeypatch.setattr(interface, "OBS_LAYOUT", tuple(layout))  # its owner: obs_layout(1) returns it
    with pytest.raises(ValueError, match="velocity_body"):
        observation_c(task_layout())


def test_a_period_the_firmware_cannot_schedule_is_refused(monkeypatch):
    monkeypatch.setattr(cf, "POLICY_DT", 0.003)
    with pytest.raises(ValueError, match="firmware's rates"):
        task_layout()


def test_a_policy_of_other_sizes_is_refused():
    with pytest.raises(ValueError, match="22 and 4"):
        controller_source(policy("8", obs=3, act=1), task_layout(), "policy")


def test_app_files(tmp_path):
    w = policy("8", obs=22, act=4, low=-1.0, high=1.0)
    files = write_app(tmp_path, w, task_layout(), "policy", ("run x",))
    assert {f.relative_to(tmp_path).as_posix() for f in files} == {
        "Makefile",
        "app-config",
        "Kbuild",
        "src/Kbuild",
        "src/ghp_controller.c",
        "README.md",
    }
    make = (tmp_path / "Makefile").read_text()
    assert "CRAZYFLIE_BASE ?= ../crazyflie-firmware" in make and "include $(CRAZYFLIE_BASE)/tools/make/oot.mk" in make
    cfg = (tmp_path / "app-config").read_text()
    assert "CONFIG_APP_ENABLE=y" in cfg and "CONFIG_CONTROLLER_OOT=y" in cfg and "CONFIG_APP_STACKSIZE=" in cfg
    assert "obj-y += ghp_controller.o" in (tmp_path / "src" / "Kbuild").read_text()
    readme = (tmp_path / "README.md").read_text()
    assert "ghp.enable" in readme and "not been" in readme and "`ghp.obs15`..`ghp.obs17`" in readme


def test_memory_lines_and_app_diagnostics_are_parsed(tmp_path):
    out = """Flash |  308256/1032192 (30%),  723936 free | text: 299404, data: 8852, ccmdata: 0
RAM   |   94584/131072  (72%),   36488 free | bss: 85732, data: 8852
CCM   |   64984/65536   (99%),     552 free | ccmbss: 64984, ccmdata: 0"""
    assert parse_memory(out) == {"Flash": (308256, 1032192), "RAM": (94584, 131072), "CCM": (64984, 65536)}
    app = tmp_path / "app"
    log = (
        f"{app}/src/ghp_controller.c:12:5: warning: conversion from 'double' to 'float' [-Wfloat-conversion]\n"
        "src/modules/src/stabilizer.c:3:1: warning: something in the firmware\n"
        f"{app}/src/policy.h:1:1: error: unknown type name\n"
    )
    diags = app_diagnostics(log, app)
    assert len(diags) == 2 and "ghp_controller.c:12:5: warning" in diags[0] and "policy.h" in diags[1]


def test_firmware_is_found_explicitly_by_environment_or_not_at_all(tmp_path, monkeypatch):
    fake = tmp_path / "fw"
    (fake / "tools" / "make").mkdir(parents=True)
    (fake / "tools" / "make" / "oot.mk").write_text("")
    (fake / "src" / "modules").mkdir(parents=True)
    assert find_firmware(fake) == (fake.resolve(), "--firmware")
    with pytest.raises(ValueError, match="not a crazyflie-firmware tree"):
        find_firmware(tmp_path)
    monkeypatch.setenv("CRAZYFLIE_FIRMWARE", str(fake))
    assert find_firmware() == (fake.resolve(), "$CRAZYFLIE_FIRMWARE")
    monkeypatch.setenv("CRAZYFLIE_FIRMWARE", str(tmp_path / "missing"))
    path, why = find_firmware()
    assert path is None and "CRAZYFLIE_FIRMWARE" in why


def test_export_config_crazyflie_options():
    ExportConfig(out=Path("x"), target="crazyflie", dtype="int8", firmware=Path("fw"), sil_episodes=3)
    with pytest.raises(ValueError, match="--firmware goes with --target crazyflie"):
        ExportConfig(out=Path("x"), target="c-header", firmware=Path("fw"))
    with pytest.raises(ValueError, match="at least 1"):
        ExportConfig(out=Path("x"), target="crazyflie", sil_episodes=0)


def test_is_crazyflie_env():
    assert layout_mod.is_crazyflie_env("ghp/CrazyflieHover-v0")
    assert not layout_mod.is_crazyflie_env("Pendulum-v1")
