"""Software in the loop: fly the simulated Crazyflie with the exact ``ghp_controller.c`` of a generated app.

The app's ``src/ghp_controller.c`` and ``src/NAME.h`` are compiled for the host into a shared library, with the
firmware's real headers (``stabilizer_types.h``, ``controller.h``, ``controller_pid.h``, ``log.h``, ``param.h``,
``usec_time.h``, ``app.h``: they compile on the host) and minimal stand-ins for the rest (``host/``: FreeRTOS's
``vTaskDelay``, the microsecond timer, ``DEBUG_PRINT``, and a PID controller that marks the steps it flew). A small
linker script gathers the firmware's LOG and PARAM tables as the firmware's own linker script does, so the harness
sets ``ghp.enable`` and reads ``ghp.obsN`` by group and name, as a ground station would.

Each policy period (10 ms) the harness fills ``state_t``, ``sensorData_t`` and ``setpoint_t`` from the simulator in
the firmware's units (position m, velocity m/s, quaternion x, y, z, w, attitude in degrees with the legacy pitch
sign, gyro in deg/s, the target as an absolute position setpoint with the reference's velocity in
``setpoint->velocity``, as the high-level commander fills it: zero for hover and goto, the path's for tracking) and
calls ``controllerOutOfTree`` ten times with
consecutive stabilizer steps, as the 1 kHz stabilizer does; the simulator then advances one period under the motor
forces the C wrote. The simulator's sensor noise is switched off (``obs_noise=0``) so that the C and the environment
observe the same state; the randomised airframe and disturbances stay.

The run's environment options (``env_kwargs``) come along: with ``action_history=K`` the C's ring buffer of its last K
actions must reproduce the environment's history entry by entry (it is part of the observation compared).

Checked, on the same seeds: the observation the C builds against the environment's, the C's action against the
torch policy's on the same state (<= 1e-5), and success episode by episode against torch-driven rollouts of the
same episodes; and the safety paths (PID until ``ghp.enable``, thrust cut on a NaN state, held output between
policy steps).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ghp.policy.weights import PolicyWeights

from .layout import STABILIZER_HZ, TaskLayout

SIL_DIR = Path(__file__).parent / "host"
"""The host stand-ins and linker script (package data)."""
FIRMWARE_INCLUDES: tuple[str, ...] = (
    "src/modules/interface",
    "src/modules/interface/controller",
    "src/hal/interface",
    "src/utils/interface/lighthouse",
)
"""Firmware header folders the host build uses (the headers that compile on the host)."""
SIL_FLAGS: tuple[str, ...] = (
    "-std=gnu11",
    "-O2",
    "-fPIC",
    "-shared",
    "-ffp-contract=off",
    "-fno-math-errno",
    "-Wall",
    "-Wextra",
    "-Wno-unused-parameter",
    "-DCONFIG_CONTROLLER_OOT=1",
)
"""Host compiler flags (no fast-math: the controller's isfinite checks must stay)."""
ACTION_TOL = 1e-5
"""Largest allowed |C action - torch action| (tanh-output units)."""
OBS_TOL = 1e-4
"""Largest allowed |C observation - environment observation| (float32 rounding of the firmware's float state)."""
CONTROL_MODE_FORCE = 2
"""``controlModeForce`` in ``stabilizer_types.h``."""
CONTROL_MODE_LEGACY = 0
"""``controlModeLegacy``: what the PID stand-in writes."""

_F = ctypes.POINTER(ctypes.c_float)


class SilError(RuntimeError):
    """The software-in-the-loop library could not be built or loaded."""


def build_library(app: Path, firmware: Path, name: str, out: Path) -> tuple[Path, str]:
    """Compile ``app/src/ghp_controller.c`` with the SIL platform into ``out`` (a shared library).

    Returns:
        the library and the compiler's warnings (empty when none).
    """
    if shutil.which("gcc") is None:
        raise SilError("missing gcc (Debian package gcc)")
    app = Path(app).resolve()
    inc = [f"-I{SIL_DIR}", f"-I{app / 'src'}"] + [f"-I{Path(firmware) / d}" for d in FIRMWARE_INCLUDES]
    cmd = [
        "gcc",
        *SIL_FLAGS,
        *inc,
        str(app / "src" / "ghp_controller.c"),
        str(SIL_DIR / "sil_platform.c"),
        f"-Wl,-T,{SIL_DIR / 'sil.ld'}",
        "-Wl,-Bsymbolic",
        "-lm",
        "-o",
        str(out),
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise SilError(f"host build of ghp_controller.c failed: {(p.stderr or p.stdout).strip()[:1500]}")
    return Path(out), p.stderr.strip()


class SilController:
    """The compiled controller, called as the firmware's stabilizer calls it."""

    def __init__(self, library: Path, layout: TaskLayout) -> None:
        self.lib = ctypes.CDLL(str(Path(library).resolve()))
        self.layout = layout
        lib = self.lib
        lib.ghp_sil_call.argtypes = [_F, _F, _F, _F, _F, _F, _F, ctypes.c_int, ctypes.c_uint32, _F]
        lib.ghp_sil_call.restype = ctypes.c_int
        lib.ghp_sil_param.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        lib.ghp_sil_param.restype = ctypes.c_void_p
        lib.ghp_sil_log.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
        lib.ghp_sil_log.restype = ctypes.c_void_p
        lib.controllerOutOfTreeTest.restype = ctypes.c_bool
        lib.ghp_sil_pid_calls.restype = ctypes.c_int
        lib.ghp_sil_emergency_stops.restype = ctypes.c_int
        lib.ghp_sil_last_debug.restype = ctypes.c_char_p
        # Inputs in the firmware's units, filled in place (their pointers are made once).
        self.pos = np.zeros(3, np.float32)
        self.vel = np.zeros(3, np.float32)
        self.quat = np.array([0, 0, 0, 1], np.float32)
        self.att = np.zeros(3, np.float32)
        self.gyro = np.zeros(3, np.float32)
        self.target = np.zeros(3, np.float32)
        self.target_vel = np.zeros(3, np.float32)
        self.forces = np.zeros(4, np.float32)
        arrays = (self.pos, self.vel, self.quat, self.att, self.gyro, self.target, self.target_vel)
        self._ptrs = [a.ctypes.data_as(_F) for a in arrays]
        self._out = self.forces.ctypes.data_as(_F)
        self.enable = self._param("enable")
        self.hold = self._param("hold")
        self._obs = [self._log_float(f"obs{i}") for i in range(layout.obs_dim)]
        self._act = [self._log_float(f"act{k}") for k in range(layout.act_dim)]
        self.fault = self._log_u8("fault")
        self.fault_index = self._log_u8("faultIdx")
        self.active = self._log_u8("active")
        self.selftest = self._log_u8("selftest")

    def _param(self, name: str) -> Any:
        addr = self.lib.ghp_sil_param(b"ghp", name.encode())
        if not addr:
            raise SilError(f"parameter ghp.{name} is not in the controller's PARAM table")
        return ctypes.cast(addr, ctypes.POINTER(ctypes.c_uint8))

    def _log(self, name: str, want: int) -> int:
        t = ctypes.c_int(-1)
        addr = self.lib.ghp_sil_log(b"ghp", name.encode(), ctypes.byref(t))
        if not addr:
            raise SilError(f"log variable ghp.{name} is not in the controller's LOG table")
        if t.value != want:
            raise SilError(f"log variable ghp.{name} has LOG type {t.value}, expected {want}")
        return int(addr)

    def _log_float(self, name: str) -> Any:
        return ctypes.cast(self._log(name, 7), _F)  # LOG_FLOAT

    def _log_u8(self, name: str) -> Any:
        return ctypes.cast(self._log(name, 1), ctypes.POINTER(ctypes.c_uint8))  # LOG_UINT8

    def init(self) -> None:
        """``controllerOutOfTreeInit()`` (what the firmware calls when the controller is selected)."""
        self.lib.controllerOutOfTreeInit()

    def self_test(self) -> bool:
        """``controllerOutOfTreeTest()``: the embedded self-test."""
        return bool(self.lib.controllerOutOfTreeTest())

    def last_debug(self) -> str:
        """The last ``DEBUG_PRINT`` message of the controller."""
        return bytes(self.lib.ghp_sil_last_debug()).decode(errors="replace")

    def emergency_stops(self) -> int:
        """How many times the controller asked the supervisor for an emergency stop."""
        return int(self.lib.ghp_sil_emergency_stops())

    def pid_calls(self) -> int:
        """How many times the controller handed a step to the PID stand-in."""
        return int(self.lib.ghp_sil_pid_calls())

    def call(self, step: int, absolute: bool = True) -> int:
        """One stabilizer call with the current inputs; returns the control mode (forces in :attr:`forces`)."""
        return int(self.lib.ghp_sil_call(*self._ptrs, int(absolute), step & 0xFFFFFFFF, self._out))

    def observation(self) -> np.ndarray:
        """The controller's last observation, read through its LOG variables."""
        return np.array([p[0] for p in self._obs], np.float32)

    def action(self) -> np.ndarray:
        """The controller's last action, read through its LOG variables."""
        return np.array([p[0] for p in self._act], np.float32)


def firmware_quantities(env: Any) -> dict[str, np.ndarray]:
    """The simulator's true state in the firmware's units (what the state estimator hands the controller)."""
    from ghp.envs import quadrotor as qr

    batch = env.unwrapped.batch
    s = batch.state
    rot = np.asarray(s.rot[0], np.float64)
    quat = qr.rot_to_quat(rot)
    # state->attitude: degrees, with the legacy CF2 convention that pitch is inverted.
    roll = np.degrees(np.arctan2(rot[2, 1], rot[2, 2]))
    pitch = np.degrees(np.arcsin(np.clip(-rot[2, 0], -1.0, 1.0)))
    yaw = np.degrees(np.arctan2(rot[1, 0], rot[0, 0]))
    return {
        "position": np.asarray(s.pos[0], np.float64),
        "velocity": np.asarray(s.vel[0], np.float64),
        "quaternion": quat,
        "attitude": np.array([roll, -pitch, yaw]),
        "gyro": np.degrees(np.asarray(s.omega[0], np.float64)),
        "target": np.asarray(batch.target[0], np.float64),
        "target_velocity": np.asarray(batch.target_vel[0], np.float64),
    }


@dataclass
class SilReport:
    """What the software-in-the-loop flight measured."""

    seeds: list[int]
    """Episode seeds, one per episode."""
    c_success: list[bool]
    """Success of each episode flown by the C controller."""
    torch_success: list[bool]
    """Success of each episode (same seed) flown by the torch policy."""
    max_action_diff: float
    """Largest |C action - torch action| on the states the C flew through."""
    max_obs_diff: float
    """Largest |C observation - environment observation|."""
    steps: int
    """Policy steps flown by the C controller (ten stabilizer calls each)."""
    safety: list[str] = field(default_factory=list)
    """Safety checks that failed (empty: all passed)."""

    @property
    def ok(self) -> bool:
        """Actions and observations within tolerance, success equal on every seed, safety checks passed."""
        return (
            self.max_action_diff <= ACTION_TOL
            and self.max_obs_diff <= OBS_TOL
            and self.c_success == self.torch_success
            and not self.safety
        )

    def summary(self) -> str:
        """One line."""
        n = len(self.seeds)
        same = sum(a == b for a, b in zip(self.c_success, self.torch_success, strict=True))
        line = (
            f"C success {sum(self.c_success)}/{n}, torch {sum(self.torch_success)}/{n} (same outcome on {same}/{n} "
            f"seeds), max |C - torch action| {self.max_action_diff:.3g}, max |C - env observation| "
            f"{self.max_obs_diff:.3g}, {self.steps} policy steps x {STABILIZER_HZ // 100} stabilizer calls"
        )
        if self.safety:
            line += "; safety: " + "; ".join(self.safety)
        return line


def reference_policy(w: PolicyWeights, dtype: str = "float32") -> Callable[[np.ndarray], np.ndarray]:
    """What the C must compute: the torch policy (float32), or the int8 arithmetic's own reference (int8)."""
    if dtype == "int8":
        from ..reference import forward, quantize_int8

        layers = quantize_int8(w)
        return lambda obs: forward(w, np.asarray(obs, np.float32)[None, :], layers)[0]
    return _torch_policy(w)


def _torch_policy(w: PolicyWeights) -> Callable[[np.ndarray], np.ndarray]:
    import torch

    module = w.to_module()

    def act(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(np.asarray(obs, np.float32)[None, :])).numpy()[0].astype(np.float32)

    return act


def reference_rollout(act: Callable[[np.ndarray], np.ndarray], env: Any, seed: int) -> bool:
    """One episode flown by the reference policy ``act`` (torch); its success."""
    obs, _ = env.reset(seed=seed)
    info: dict[str, Any] = {}
    while True:
        obs, _, term, trunc, info = env.step(act(obs))
        if term or trunc:
            return bool(info.get("is_success", False))


def _fill(ctl: SilController, q: dict[str, np.ndarray]) -> None:
    ctl.pos[:] = q["position"]
    ctl.vel[:] = q["velocity"]
    ctl.quat[:] = q["quaternion"]
    ctl.att[:] = q["attitude"]
    ctl.gyro[:] = q["gyro"]
    ctl.target[:] = q["target"]
    ctl.target_vel[:] = q["target_velocity"]


def sil_rollout(
    act_ref: Callable[[np.ndarray], np.ndarray], ctl: SilController, env: Any, seed: int, tick0: int, safety: list[str]
) -> tuple[bool, float, float, int, int]:
    """One episode flown by the C controller.

    Returns:
        success, largest action difference to torch, largest observation difference, policy steps, next tick.
    """
    layout = ctl.layout
    per = STABILIZER_HZ // layout.policy_hz
    obs, _ = env.reset(seed=seed)
    ctl.init()
    # Before ghp.enable the firmware's PID flies.
    ctl.enable[0] = 0
    _fill(ctl, firmware_quantities(env))
    before = ctl.pid_calls()
    if ctl.call(tick0 - 1) != CONTROL_MODE_LEGACY or ctl.pid_calls() != before + 1:
        safety.append("with ghp.enable = 0 the controller did not hand the step to the PID controller")
    ctl.enable[0] = 1
    tick = tick0
    max_da = max_do = 0.0
    steps = 0
    info: dict[str, Any] = {}
    while True:
        _fill(ctl, firmware_quantities(env))
        held = []
        for k in range(per):
            mode = ctl.call(tick + k)
            if mode != CONTROL_MODE_FORCE:
                safety.append(f"step {steps}: control mode {mode} instead of controlModeForce")
            held.append(ctl.forces.copy())
            if k == 0:
                c_obs = ctl.observation()
        tick += per
        if any(not np.array_equal(h, held[0]) for h in held[1:]):
            safety.append(f"step {steps}: the forces changed between policy steps (not held)")
        forces = held[0]
        # The action the motors receive, in policy units (the inverse of normalizedForces = (a + o) * s).
        a_c = forces.astype(np.float64) / layout.force_scale - layout.force_offset
        a_t = act_ref(obs)
        max_da = max(max_da, float(np.max(np.abs(a_c - a_t))))
        max_do = max(max_do, float(np.max(np.abs(c_obs.astype(np.float64) - obs))))
        obs, _, term, trunc, info = env.step(a_c)
        steps += 1
        if term or trunc:
            break
    return bool(info.get("is_success", False)), max_da, max_do, steps, tick


FAULT_OBS_NONFINITE, FAULT_OBS_RANGE, FAULT_ACT_NONFINITE, FAULT_ACT_RANGE = 1, 2, 3, 4
"""The controller's ``ghp.fault`` codes (``GHP_FAULT_*`` in ``ghp_controller.c``)."""
FAULT_INPUTS: tuple[tuple[str, int], ...] = (
    *(("pos", k) for k in range(3)),
    *(("vel", k) for k in range(3)),
    *(("quat", k) for k in range(4)),
    *(("gyro", k) for k in range(3)),
    *(("target", k) for k in range(3)),
    *(("target_vel", k) for k in range(3)),
)
"""Every firmware input the observation is built from (``state->attitude`` is not one: the controller reads the
quaternion), as (:class:`SilController` array, index)."""
OUT_OF_RANGE: tuple[tuple[str, int, float], ...] = (("pos", 0, 2.5), ("vel", 2, -4.5), ("gyro", 1, 2100.0))
"""Finite inputs beyond the trained range: a 2.5 m position error, -4.5 m/s, 2100 deg/s (the clip bounds are 2 m,
4 m/s and 2000 deg/s)."""


def _hover(ctl: SilController) -> None:
    """A drone at rest on its target, 1 m up: every observation entry well inside its range."""
    ctl.pos[:] = (0.0, 0.0, 1.0)
    ctl.vel[:] = 0.0
    ctl.quat[:] = (0.0, 0.0, 0.0, 1.0)
    ctl.att[:] = 0.0
    ctl.gyro[:] = 0.0
    ctl.target[:] = (0.0, 0.0, 1.0)
    ctl.target_vel[:] = 0.0


def fault_checks(ctl: SilController) -> list[str]:
    """NaN, +Inf and -Inf on every input, and finite inputs beyond the trained range: on the very policy step that sees
    them, all forces 0, ``ghp.fault`` set with the entry, one emergency stop asked of the supervisor; held after."""
    bad = []
    cases = [(arr, k, v, FAULT_OBS_NONFINITE) for arr, k in FAULT_INPUTS for v in (np.nan, np.inf, -np.inf)]
    cases += [(arr, k, v, FAULT_OBS_RANGE) for arr, k, v in OUT_OF_RANGE]
    for arr, k, value, code in cases:
        what = f"{value} on {arr}[{k}]"
        ctl.init()
        ctl.enable[0] = 1
        _hover(ctl)
        if ctl.call(0) != CONTROL_MODE_FORCE or ctl.fault[0] != 0 or not np.all(ctl.forces > 0.0):
            bad.append(f"{what}: the policy did not fly the hover state before the fault (fault {ctl.fault[0]})")
            continue
        stops = ctl.emergency_stops()
        getattr(ctl, arr)[k] = value
        mode = ctl.call(10)
        if mode != CONTROL_MODE_FORCE or not np.all(ctl.forces == 0.0) or ctl.fault[0] != code:
            forces = ctl.forces.tolist()
            bad.append(f"{what} did not stop the motors (forces {forces}, fault {ctl.fault[0]}, expected {code})")
        if ctl.emergency_stops() != stops + 1:
            bad.append(f"{what} did not ask the supervisor for an emergency stop")
        _hover(ctl)
        for step in range(11, 31):
            ctl.call(step)
            if not np.all(ctl.forces == 0.0):
                bad.append(f"{what}: thrust came back at stabilizer step {step} (the fault must stay latched)")
                break
        ctl.enable[0] = 0
        ctl.call(40)
    return bad


def safety_checks(ctl: SilController) -> list[str]:
    """Faults (:func:`fault_checks`) cut thrust and stay latched; back to PID on ghp.enable = 0."""
    bad = fault_checks(ctl)
    ctl.init()
    ctl.enable[0] = 1
    _hover(ctl)
    ctl.call(0)
    ctl.pos[0] = np.nan
    ctl.call(10)
    if not (np.all(ctl.forces == 0.0) and ctl.fault[0] == FAULT_OBS_NONFINITE):
        bad.append(f"a NaN position did not cut thrust (forces {ctl.forces.tolist()}, fault {ctl.fault[0]})")
    ctl.pos[0] = 0.0
    ctl.call(20)
    if not (np.all(ctl.forces == 0.0) and ctl.fault[0] == FAULT_OBS_NONFINITE):
        bad.append("the fault did not stay latched after the state became finite again")
    ctl.enable[0] = 0
    before = ctl.pid_calls()
    if ctl.call(30) != CONTROL_MODE_LEGACY or ctl.pid_calls() != before + 1 or ctl.fault[0] != 0:
        bad.append("ghp.enable = 0 did not hand control back to the PID controller and clear the fault")
    ctl.quat[:] = 0.0  # a zero quaternion has no rotation: the observation is not finite
    ctl.enable[0] = 1
    ctl.call(40)
    if not (np.all(ctl.forces == 0.0) and ctl.fault[0] == FAULT_OBS_NONFINITE):
        bad.append("a zero quaternion did not cut thrust")
    ctl.enable[0] = 0
    ctl.call(50)
    return bad


def fly(
    w: PolicyWeights,
    layout: TaskLayout,
    library: Path,
    env_id: str,
    episodes: int = 10,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    dtype: str = "float32",
) -> SilReport:
    """Fly ``episodes`` episodes with the C controller in ``library`` and with torch, on seeds ``seed + i``.

    With ``dtype="int8"`` the yardstick is the int8 arithmetic's reference (:func:`reference_policy`) instead of torch.
    """
    from ghp.envs import make_env

    kwargs = {**(env_kwargs or {}), "obs_noise": 0.0}
    ctl = SilController(library, layout)
    act_ref = reference_policy(w, dtype)
    safety: list[str] = []
    ctl.init()
    if "self-test passed" not in ctl.last_debug():
        safety.append(f"controllerOutOfTreeInit() printed {ctl.last_debug().strip()!r}")
    if not ctl.self_test() or ctl.selftest[0] != 1:
        safety.append("controllerOutOfTreeTest() failed: the embedded self-test does not pass on the host")
    seeds = [seed + i for i in range(episodes)]
    c_env = make_env(env_id, **kwargs)
    t_env = make_env(env_id, **kwargs)
    if c_env.observation_space.shape != (layout.obs_dim,):
        c_env.close()
        t_env.close()
        raise SilError(
            f"{env_id} with {env_kwargs or {}} observes {c_env.observation_space.shape[0]} values, the controller's "
            f"layout {layout.obs_dim} (action_history={layout.history}): build both from the run's env kwargs"
        )
    c_success, t_success = [], []
    max_da = max_do = 0.0
    steps = 0
    tick = 1000
    try:
        for s in seeds:
            ok, da, do, n, tick = sil_rollout(act_ref, ctl, c_env, s, tick, safety)
            c_success.append(ok)
            max_da, max_do, steps = max(max_da, da), max(max_do, do), steps + n
            t_success.append(reference_rollout(act_ref, t_env, s))
    finally:
        c_env.close()
        t_env.close()
    safety += safety_checks(ctl)
    return SilReport(seeds, c_success, t_success, max_da, max_do, steps, sorted(set(safety)))
