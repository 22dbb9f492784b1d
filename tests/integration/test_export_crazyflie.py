"""``ghp export --target crazyflie``: the generated app flies the simulated drone (software in the loop) exactly as
torch does, a wrong mapping is caught, and the app builds into the real firmware.

The firmware is found as ``--firmware`` / ``$CRAZYFLIE_FIRMWARE`` / ``../shared/crazyflie-firmware`` (next to the
repository, where CI keeps it); without it, or without the ARM toolchain, the tests that need it are skipped.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli
from export.api import ExportConfig, export_policy
from export.crazyflie.firmware import build_app, find_firmware, missing_build_tools
from export.crazyflie.layout import task_layout
from export.crazyflie.sil import (
    ACTION_TOL,
    CONTROL_MODE_FORCE,
    FAULT_ACT_NONFINITE,
    FAULT_ACT_RANGE,
    FAULT_INPUTS,
    OBS_TOL,
    SilController,
    SilError,
    build_library,
    fault_checks,
    fly,
)
from tests.unit.test_export import policy

ENV = "ghp/CrazyflieHover-v0"
FIRMWARE, WHERE = find_firmware()
needs_firmware = pytest.mark.skipif(FIRMWARE is None, reason=WHERE)
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="missing gcc (Debian package gcc)")
BUILD_TOOLS = missing_build_tools()
needs_build = pytest.mark.skipif(
    FIRMWARE is None or bool(BUILD_TOOLS), reason=WHERE if FIRMWARE is None else f"missing {', '.join(BUILD_TOOLS)}"
)
SHORT = {"episode_steps": 60}
"""Short episodes keep the flights of the agreement and mutation tests to a second or two."""


@pytest.fixture(scope="module")
def weights():
    # Random weights at the task's sizes: the agreement checks do not need a policy that flies well.
    return policy("16-16", obs=22, act=4, seed=3, low=-1.0, high=1.0)


@pytest.fixture(scope="module")
def app(tmp_path_factory, weights):
    out = tmp_path_factory.mktemp("cf") / "app"
    export_policy(weights, ExportConfig(out=out, name="policy", target="crazyflie"), ENV, ("test policy",))
    return out


def fly_app(app_dir: Path, weights, tmp: Path, episodes: int = 3, env_kwargs=SHORT, dtype="float32"):
    lib, warnings = build_library(app_dir, FIRMWARE, "policy", tmp / "libghp_sil.so")
    assert warnings == "", warnings
    return fly(weights, task_layout(), lib, ENV, episodes, seed=0, env_kwargs=env_kwargs, dtype=dtype)


@needs_gcc
@needs_firmware
def test_generated_controller_flies_like_torch(app, weights, tmp_path):
    report = fly_app(app, weights, tmp_path)
    assert report.ok, report.summary()
    assert report.max_action_diff <= ACTION_TOL and report.max_obs_diff <= OBS_TOL
    assert report.c_success == report.torch_success and report.steps > 3
    assert report.safety == []


@needs_gcc
@needs_firmware
def test_int8_controller_flies_like_its_int8_reference(weights, tmp_path):
    out = tmp_path / "app8"
    config = ExportConfig(out=out, name="policy", target="crazyflie", dtype="int8", firmware=FIRMWARE)
    export_policy(weights, config, ENV)
    assert "policy_q0" in (out / "src" / "policy.h").read_text()
    report = fly_app(out, weights, tmp_path, episodes=2, dtype="int8")
    assert report.ok, report.summary()


HISTORY = {**SHORT, "action_history": 4}
"""The agreement flights with a ring buffer of the last 4 actions in the C (issue 24 item 1)."""


@pytest.fixture(scope="module")
def history_app(tmp_path_factory):
    w = policy("16-16", obs=34, act=4, seed=5, low=-1.0, high=1.0)
    out = tmp_path_factory.mktemp("cfh") / "app"
    export_policy(
        w, ExportConfig(out=out, name="policy", target="crazyflie"), ENV, ("test policy",), env_kwargs=HISTORY
    )
    return w, out


@needs_gcc
@needs_firmware
def test_the_controllers_action_history_flies_like_torch(history_app, tmp_path):
    w, app_dir = history_app
    text = (app_dir / "src" / "ghp_controller.c").read_text()
    assert "#define GHP_HISTORY 4u" in text and "#define GHP_OBS_DIM 34u" in text
    lib, warnings = build_library(app_dir, FIRMWARE, "policy", tmp_path / "libghp_sil.so")
    assert warnings == "", warnings
    report = fly(w, task_layout(HISTORY), lib, ENV, 3, seed=0, env_kwargs=HISTORY)
    # The observation compared entry by entry includes the 16 history entries: C ring buffer == environment.
    assert report.ok, report.summary()
    assert report.max_obs_diff <= OBS_TOL and report.max_action_diff <= ACTION_TOL and report.steps > 3
    # A layout that does not match the run's options is refused before any flight.
    with pytest.raises(SilError, match="action_history=1"):
        fly(w, task_layout(), lib, ENV, 1, seed=0, env_kwargs=HISTORY)


def export_and_fly(w, tmp: Path, name: str, export_kwargs: dict, fly_kwargs: dict | None = None, episodes: int = 2):
    """Export ``w`` as a Crazyflie app for the run options ``export_kwargs``, build its SIL library (no warnings) and
    fly it on the task with ``fly_kwargs`` (the same by default): the report and the controller's source."""
    out = tmp / name
    export_policy(w, ExportConfig(out=out, name="policy", target="crazyflie"), ENV, env_kwargs=export_kwargs)
    lib, warnings = build_library(out, FIRMWARE, "policy", tmp / f"{name}.so")
    assert warnings == "", warnings
    flown = export_kwargs if fly_kwargs is None else fly_kwargs
    report = fly(w, task_layout(flown), lib, ENV, episodes, seed=0, env_kwargs=flown)
    return report, (out / "src" / "ghp_controller.c").read_text()


@needs_gcc
@needs_firmware
def test_a_heading_frame_controller_flies_like_torch_and_a_world_frame_one_does_not(tmp_path):
    # yaw_frame: the C controller turns the checked observation into the frame of the heading as the environment
    # does (the starts' headings are uniform, so a controller that skips the turn observes otherwise and fails).
    kwargs = {**SHORT, "yaw_frame": True}
    w = policy("16", obs=22, act=4, seed=7, low=-1.0, high=1.0)
    report, source = export_and_fly(w, tmp_path, "frame", kwargs)
    assert "ghpHeadingFrame();\n            ghpClipObservation();" in source and "(yaw_frame)" in source
    assert report.ok, report.summary()
    world, _ = export_and_fly(w, tmp_path, "world", {**SHORT, "yaw_frame": False}, fly_kwargs=kwargs)
    assert not world.ok


@needs_gcc
@needs_firmware
def test_an_error_clip_controller_flies_like_torch_and_one_without_it_does_not(tmp_path):
    # error_clip: the C controller shortens the checked position error as the environment does (hover starts up to
    # 0.2 m away, so a 0.05 m clip is active; a controller that skips it observes otherwise and fails).
    kwargs = {**SHORT, "error_clip": 0.05}
    w = policy("16", obs=22, act=4, seed=8, low=-1.0, high=1.0)
    report, source = export_and_fly(w, tmp_path, "clip", kwargs)
    assert "ghpErrorClip();\n            ghpHeadingFrame();" in source and "(error_clip)" in source
    assert "if (n > 0.0500000007f)" in source  # float32 0.05, printed exactly
    assert report.ok, report.summary()
    plain, _ = export_and_fly(w, tmp_path, "plain", SHORT, fly_kwargs=kwargs)
    assert not plain.ok


@needs_gcc
@needs_firmware
def test_a_position_integral_controller_flies_like_torch_in_the_heading_frame(tmp_path):
    # position_integral: the C controller accumulates the leaky integral of the position error after every policy step
    # but the first, as the environment does, and turns it with the heading; an app built without it (a controller
    # that never integrates, its 25-value layout otherwise the same) observes otherwise and fails.
    kwargs = {**SHORT, "position_integral": 0.5, "yaw_frame": True}
    w = policy("16", obs=25, act=4, seed=9, low=-1.0, high=1.0)
    report, source = export_and_fly(w, tmp_path, "int", kwargs)
    assert "ghpIntegrate(state);" in source and "(position_integral)" in source
    assert report.ok, report.summary()
    broken = source.replace("ghpIntegrate(state);", "(void)0;")
    out = tmp_path / "int" / "src" / "ghp_controller.c"
    out.write_text(broken)
    lib, _ = build_library(tmp_path / "int", FIRMWARE, "policy", tmp_path / "int-broken.so")
    assert not fly(w, task_layout(kwargs), lib, ENV, 2, seed=0, env_kwargs=kwargs).ok


@needs_gcc
@needs_firmware
def test_a_controller_without_action_history_flies_like_torch(tmp_path):
    kwargs = {**SHORT, "action_history": 0}
    w = policy("16", obs=18, act=4, seed=6, low=-1.0, high=1.0)
    report, source = export_and_fly(w, tmp_path, "app0", kwargs)
    assert "#define GHP_HISTORY 0u" in source
    assert report.ok, report.summary()


@needs_gcc
@needs_firmware
def test_a_history_read_newest_first_fails_the_software_in_the_loop_check(history_app, tmp_path):
    w, app_dir = history_app
    copy = tmp_path / "app"
    shutil.copytree(app_dir, copy)
    src = copy / "src" / "ghp_controller.c"
    text = src.read_text()
    oldest_first = "ghpHistory[(ghpHistoryNext + i) % GHP_HISTORY]"
    assert text.count(oldest_first) == 1
    src.write_text(text.replace(oldest_first, "ghpHistory[(ghpHistoryNext + GHP_HISTORY - 1u - i) % GHP_HISTORY]"))
    lib, _ = build_library(copy, FIRMWARE, "policy", tmp_path / "lib.so")
    report = fly(w, task_layout(HISTORY), lib, ENV, 2, seed=0, env_kwargs=HISTORY)
    assert not report.ok and report.max_obs_diff > 100 * OBS_TOL, report.summary()


@needs_gcc
@needs_firmware
def test_the_action_history_is_oldest_first_and_cleared_when_the_policy_takes_over(history_app, tmp_path):
    w, app_dir = history_app
    lib, _ = build_library(app_dir, FIRMWARE, "policy", tmp_path / "lib.so")
    ctl = SilController(lib, task_layout(HISTORY))
    ctl.init()
    ctl.enable[0] = 1
    ctl.pos[:], ctl.target[:], ctl.quat[:] = (0, 0, 1), (0, 0, 1), (0, 0, 0, 1)
    actions = []
    for step in range(6):
        ctl.call(10 * step)
        obs = ctl.observation()
        # The observation of this step holds the actions of the 4 steps before it, oldest first (zeros before any).
        past = ([np.zeros(4, np.float32)] * 4 + actions)[-4:]
        np.testing.assert_array_equal(obs[18:], np.concatenate(past))
        actions.append(ctl.action())
    assert np.abs(np.concatenate(actions)).max() > 0.0
    ctl.enable[0] = 0
    ctl.call(60)
    ctl.enable[0] = 1
    ctl.call(70)
    assert not ctl.observation()[18:].any()  # re-enabled: a fresh episode's history


MUTATIONS = {
    # Two observation entries swapped (position error x and y).
    "swap": lambda s: (
        s.replace("ghpObs[0] =", "ghpObs[@] =")
        .replace("ghpObs[1] =", "ghpObs[0] =")
        .replace("ghpObs[@] =", "ghpObs[1] =")
    ),
    # The gyro's deg/s taken as rad/s.
    "deg": lambda s: s.replace(" * GHP_DEG2RAD;", ";"),
    # The quaternion read scalar-first (q0 as w): the union's q0..q3 alias x, y, z, w.
    "quat": lambda s: (
        s.replace("qx = state->attitudeQuaternion.x", "qx = state->attitudeQuaternion.q1")
        .replace("qy = state->attitudeQuaternion.y", "qy = state->attitudeQuaternion.q2")
        .replace("qz = state->attitudeQuaternion.z", "qz = state->attitudeQuaternion.q3")
        .replace("qw = state->attitudeQuaternion.w", "qw = state->attitudeQuaternion.q0")
    ),
}


@needs_gcc
@needs_firmware
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_wrong_mapping_fails_the_software_in_the_loop_check(app, weights, tmp_path, mutation):
    copy = tmp_path / "app"
    shutil.copytree(app, copy)
    src = copy / "src" / "ghp_controller.c"
    text = src.read_text()
    mutated = MUTATIONS[mutation](text)
    assert mutated != text
    src.write_text(mutated)
    report = fly_app(copy, weights, tmp_path)
    assert not report.ok
    assert report.max_obs_diff > 100 * OBS_TOL, report.summary()
    assert report.max_action_diff > ACTION_TOL, report.summary()


TRACK = "ghp/CrazyflieTrack-v0"
TRACK_AS_HOVER = {**SHORT, "yaw_frame": True}
"""Track in hover's default heading frame (track's own default is the world frame): one controller flies both."""


@needs_gcc
@needs_firmware
def test_a_tracking_controller_flies_the_moving_setpoint_like_torch(app, weights, tmp_path):
    """Issue 24 item 3: the app reads setpoint->velocity as the path's feed-forward; the SIL hands it the reference's
    position and velocity every step. Hover and track share one controller (the same 22 inputs)."""
    out = tmp_path / "track"
    cfg = ExportConfig(out=out, name="policy", target="crazyflie")
    export_policy(weights, cfg, TRACK, ("test policy",), env_kwargs={"yaw_frame": True})
    hover_c = (app / "src" / "ghp_controller.c").read_text()
    assert (out / "src" / "ghp_controller.c").read_text() == hover_c
    assert "state->velocity.x - targetVel[0]" in hover_c and "ghpTargetVel[0] = setpoint->velocity.x;" in hover_c
    lib, warnings = build_library(out, FIRMWARE, "policy", tmp_path / "libghp_sil.so")
    assert warnings == "", warnings
    report = fly(weights, task_layout(), lib, TRACK, 3, seed=0, env_kwargs=TRACK_AS_HOVER)
    assert report.ok, report.summary()
    assert report.steps > 3
    # The setpoint's velocity reaches the observation (logged as ghp.tvx/tvy/tvz); with ghp.hold it is 0.
    ctl = SilController(lib, task_layout())
    ctl.init()
    ctl.enable[0] = 1
    ctl.pos[:], ctl.target[:], ctl.quat[:] = (0, 0, 1), (0, 0, 1), (0, 0, 0, 1)
    ctl.vel[:], ctl.target_vel[:] = (0.5, 0.0, 0.0), (0.25, -0.5, 0.0)
    ctl.call(0)
    np.testing.assert_array_equal(ctl.observation()[12:15], [0.25, 0.5, 0.0])
    assert ctl._log_float("tvy")[0] == -0.5
    ctl.hold[0] = 1
    ctl.call(10)
    np.testing.assert_array_equal(ctl.observation()[12:15], [0.5, 0.0, 0.0])
    ctl.hold[0] = 0


@needs_gcc
@needs_firmware
def test_a_controller_that_ignores_the_setpoint_velocity_passes_hover_and_fails_tracking(app, weights, tmp_path):
    copy = tmp_path / "app"
    shutil.copytree(app, copy)
    src = copy / "src" / "ghp_controller.c"
    text = src.read_text()
    mutated = text.replace(" - targetVel[0];", ";").replace(" - targetVel[1];", ";").replace(" - targetVel[2];", ";")
    assert mutated != text
    src.write_text(mutated)
    lib, _ = build_library(copy, FIRMWARE, "policy", tmp_path / "lib.so")
    # Hover's setpoint velocity is 0: the flights agree (only the fault checks on the velocity input notice).
    hover = fly(weights, task_layout(), lib, ENV, 2, seed=0, env_kwargs=SHORT)
    assert hover.max_obs_diff <= OBS_TOL and hover.max_action_diff <= ACTION_TOL, hover.summary()
    assert hover.c_success == hover.torch_success
    assert hover.safety and all("on target_vel[" in line for line in hover.safety)
    track = fly(weights, task_layout(), lib, TRACK, 2, seed=0, env_kwargs=TRACK_AS_HOVER)
    assert not track.ok and track.max_obs_diff > 100 * OBS_TOL, track.summary()


@needs_gcc
@needs_firmware
def test_a_corrupted_policy_fails_the_embedded_self_test(app, weights, tmp_path):
    copy = tmp_path / "app"
    shutil.copytree(app, copy)
    header = copy / "src" / "policy.h"
    text = header.read_text()
    start = text.index("policy_b0[16] = {\n") + len("policy_b0[16] = {\n")
    end = text.index(",", start)
    header.write_text(text[:start] + "    1.5f" + text[end:])
    report = fly_app(copy, weights, tmp_path, episodes=1)
    assert any("self-test" in s for s in report.safety), report.summary()
    assert not report.ok


@needs_gcc
@needs_firmware
def test_nan_and_inf_on_every_input_stop_the_motors_before_any_clamp(app, tmp_path):
    """Issue 26 item 4: +-Inf used to be clamped to the bound and flown; now every input x {NaN, +Inf, -Inf}, and
    finite inputs beyond the trained range, stop the motors on that policy step and reach the supervisor."""
    lib, _ = build_library(app, FIRMWARE, "policy", tmp_path / "lib.so")
    ctl = SilController(lib, task_layout())
    assert len(FAULT_INPUTS) == 19  # position, velocity, quaternion, gyro, target, the target's velocity
    assert fault_checks(ctl) == []
    # The faulted entry is logged: +Inf on the position's y is observation entry 1, out of range on nothing else.
    ctl.init()
    ctl.enable[0] = 1
    ctl.pos[:], ctl.target[:], ctl.quat[:] = (0, 0, 1), (0, 0, 1), (0, 0, 0, 1)
    ctl.call(0)
    ctl.pos[1] = np.inf
    ctl.call(10)
    assert (ctl.fault[0], ctl.fault_index[0]) == (1, 1)
    assert "emergency stop requested" in ctl.last_debug()


@needs_gcc
@needs_firmware
@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("NAN", FAULT_ACT_NONFINITE),
        ("INFINITY", FAULT_ACT_NONFINITE),
        ("-INFINITY", FAULT_ACT_NONFINITE),
        ("1.5f", FAULT_ACT_RANGE),
    ],
)
def test_a_bad_action_stops_the_motors_before_the_force_clamp(app, tmp_path, value, code):
    copy = tmp_path / "app"
    shutil.copytree(app, copy)
    src = copy / "src" / "ghp_controller.c"
    text = src.read_text()
    call = "policy_act(ghpObs, ghpAction);"
    assert text.count(call) == 1
    src.write_text(text.replace(call, call + f" ghpAction[2] = {value};"))
    lib, _ = build_library(copy, FIRMWARE, "policy", tmp_path / "lib.so")
    ctl = SilController(lib, task_layout())
    ctl.init()
    ctl.enable[0] = 1
    ctl.pos[:], ctl.target[:], ctl.quat[:] = (0, 0, 1), (0, 0, 1), (0, 0, 0, 1)
    stops = ctl.emergency_stops()
    assert ctl.call(0) == CONTROL_MODE_FORCE
    assert np.all(ctl.forces == 0.0) and (ctl.fault[0], ctl.fault_index[0]) == (code, 2)
    assert ctl.emergency_stops() == stops + 1


@pytest.fixture(scope="module")
def cf_run(train_tiny):
    return train_tiny("cf", env_id=ENV, widths=(8, 16))


@pytest.mark.slow
@needs_gcc
@needs_build
def test_export_check_builds_the_firmware_and_flies_in_the_loop(cf_run, tmp_path):
    out = tmp_path / "cf"
    r = CliRunner().invoke(
        cli,
        ["export", str(cf_run), "--best", "--max-params", "2000", "--target", "crazyflie", "--out", str(out)]
        + ["--check", "--firmware", str(FIRMWARE), "--sil-episodes", "2"],
    )
    assert r.exit_code == 0, r.output
    assert (out / "build" / "cf2.bin").is_file()
    for name in ("Makefile", "app-config", "Kbuild", "src/Kbuild", "src/policy.h", "src/ghp_controller.c", "README.md"):
        assert (out / name).is_file(), name
    assert f"check firmware: ok built {out.resolve()}/build/cf2.bin" in r.output
    assert "Flash " in r.output and "RAM " in r.output
    assert "check sil: ok C success" in r.output
    assert "| sil | ok | C success" in (out / "README.md").read_text()
    # A warning in the app's own file fails the build (an incremental rebuild: one file and the link).
    src = out / "src" / "ghp_controller.c"
    src.write_text(
        src.read_text() + "\nint ghp_unused_conversion(double x);\nint ghp_unused_conversion(double x) { return x; }\n"
    )
    build = build_app(out, FIRMWARE)
    assert not build.ok
    assert build.app_warnings and "ghp_controller.c" in build.app_warnings[0]


def test_export_refuses_a_run_that_is_not_a_crazyflie_task(tmp_path):
    w = policy("8", obs=3, act=1)
    with pytest.raises(ValueError, match="needs a run trained on a Crazyflie task"):
        export_policy(w, ExportConfig(out=tmp_path, target="crazyflie"), "Pendulum-v1")


def test_cli_help_lists_the_crazyflie_options():
    r = CliRunner().invoke(cli, ["export", "--help"])
    assert r.exit_code == 0
    for text in ("crazyflie", "--firmware", "--sil-episodes", "--jobs"):
        assert text in r.output


def test_cli_firmware_without_the_crazyflie_target_is_one_line_exit_2(tmp_path):
    (tmp_path / "run").mkdir()
    r = CliRunner().invoke(cli, ["export", str(tmp_path / "run"), "--arch", "8", "--firmware", str(tmp_path)])
    assert r.exit_code == 2 and "--firmware goes with --target crazyflie" in r.output


def test_without_a_firmware_the_build_and_sil_steps_are_skipped_with_the_reason(weights, tmp_path, monkeypatch):
    monkeypatch.setenv("CRAZYFLIE_FIRMWARE", str(tmp_path / "nowhere"))
    monkeypatch.setattr("export.crazyflie.firmware.repo_firmware", lambda: tmp_path / "nowhere")
    config = ExportConfig(out=tmp_path / "app", target="crazyflie", check=True, qemu=False)
    result = export_policy(weights, config, ENV)
    steps = {s.name: s for s in result.check.steps}
    assert steps["firmware"].status == "skipped" and "CRAZYFLIE_FIRMWARE" in steps["firmware"].detail
    assert steps["sil"].status == "skipped"
    assert "| firmware | skipped |" in (tmp_path / "app" / "README.md").read_text()


needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="missing make (Debian package make)")


@needs_make
@pytest.mark.parametrize("folder", ["app;touch PWNED", "my app", "app$(touch PWNED)", "app`touch PWNED`", "app'q"])
def test_the_app_makefile_never_runs_its_folder_name(weights, tmp_path, folder):
    """Issue 26 item 6: the folder's path went to the shell unquoted (``app;touch X`` ran ``touch X``; a space broke
    the build). The Makefile quotes its own shell calls and stops, before the firmware's build (which passes the path
    on unquoted) runs anything, on a path that build cannot take."""
    import subprocess

    out = tmp_path / folder
    result = export_policy(weights, ExportConfig(out=out, name="policy", target="crazyflie"), ENV)
    assert any("cannot take" in n for n in result.notes), result.notes
    base = FIRMWARE if FIRMWARE is not None else tmp_path / "no-firmware"
    if FIRMWARE is not None and not BUILD_TOOLS:
        build = build_app(out, FIRMWARE)  # the real firmware, as the check builds it
        assert not build.ok and "cannot take" in build.detail, build.detail
    p = subprocess.run(["make", f"CRAZYFLIE_BASE={base}"], cwd=out, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "has characters the firmware's build cannot take" in p.stderr, p.stderr
    assert not [f for f in tmp_path.rglob("PWNED*")] and not Path("PWNED").exists()
    assert not (out / "build" / "build.ninja").exists() and not (out / "build" / ".config").exists()


@needs_make
def test_the_app_makefile_quotes_the_paths_it_hands_the_shell(weights, tmp_path):
    import subprocess

    out = tmp_path / "safe_app-1.0+x"
    export_policy(weights, ExportConfig(out=out, name="policy", target="crazyflie"), ENV)
    text = (out / "Makefile").read_text()
    assert "$(shell mkdir -p $(call ghp_quote,$(CURDIR)/build)" in text
    p = subprocess.run(["make", f"CRAZYFLIE_BASE={tmp_path / 'none'}"], cwd=out, capture_output=True, text=True)
    assert "cannot take" not in p.stderr  # a plain path passes the check and reaches the firmware's include
    assert (out / "build" / "build_info.json").read_text().strip() == '{"tag": "2026.08"}'
